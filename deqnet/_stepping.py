"""``twin``: the copy a session trains when a trained model comes from the shared cache."""

from __future__ import annotations

import copy
from typing import TypeVar

Twin = TypeVar("Twin")


def twin(trainer: Twin) -> Twin:
    """An independent deep copy of a trainer (model, optimiser state, batch generator, history,
    last-good snapshot) that shares its dataset and input tensors, which are never written."""
    keep = [getattr(trainer, name) for name in ("data", "x_train", "y_train", "x_test", "y_test")]
    return copy.deepcopy(trainer, {id(item): item for item in keep})
