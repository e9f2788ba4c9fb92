"""The top-level deqnet API: the contract of design §3, and nothing that belongs in a namespace."""

from __future__ import annotations

import deqnet
import deqnet.analysis

# design.md §3: names tests and notebook users rely on.
CONTRACT = (
    "DATASETS", "Dataset", "make_dataset", "ModelConfig", "TrainConfig", "build_model", "Trainer",
    "evaluate", "per_sample_loss", "trajectory", "momentum", "discretize", "continuize", "sweep",
)  # fmt: skip


def test_the_contract_is_exported_and_every_export_resolves() -> None:
    assert set(CONTRACT) <= set(deqnet.__all__)
    for name in deqnet.__all__:
        assert getattr(deqnet, name) is not None


def test_analysis_and_figures_stay_namespaced() -> None:
    at_top = set(deqnet.__all__) & set(deqnet.analysis.__all__)
    assert at_top == {"Momentum", "Trajectory", "momentum", "per_sample_loss", "trajectory"}
    assert not any(name.endswith("_figure") for name in deqnet.__all__)
    assert deqnet.analysis.decision_grid is not None and not hasattr(deqnet, "decision_grid")
