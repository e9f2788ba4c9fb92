"""One server-wide cache of deterministic work, shared by every browser session.

A class that opens the same link asks for the same quick-trained model and the same pictures of
it thirty times over. Each of those results is a pure function of its key (the configuration, the
weights' digest, the page's parameters), so the first session computes it and every other session
reads it from memory: a second student gets it at once, and thirty students arriving together
wait for one computation instead of queueing for thirty.

- Bounded: at most ``max_entries`` results, the least recently used evicted first.
- Computed once per key: while one thread computes a key, others asking for it wait for that
  result instead of starting the same work. If the computing thread raises (an error, or
  Streamlit stopping its run for a rerun or a closed tab), nothing is stored and one of the
  waiting threads computes it instead.

Values are shared between threads: never mutate what ``get`` returns (copy it first).
This module imports no Streamlit; ``shared_cache()`` is the server's one instance.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
ENV_ENTRIES = "DEQNET_SHARED_CACHE_ENTRIES"
# A page's pictures of one model are a few hundred kB to a few MB of figures; 128 entries keep
# every page of a handful of links without growing past a few hundred MB.
DEFAULT_ENTRIES = 128


class SharedCache:
    """A bounded LRU cache whose values are each computed once, also under concurrency."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._computing: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()
        self.computed = 0  # how many computations ran (for tests and the load bench)

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._values

    def get(
        self, key: Hashable, compute: Callable[[], T], keep: Callable[[T], bool] | None = None
    ) -> T:
        """The value stored under ``key``, computing it with ``compute()`` if it is missing.

        Only one thread computes a given key at a time; the others block until it is done.
        ``keep(value)`` False: return the value without storing it (a result that is not a pure
        function of the key, such as training cut short by a time box); a waiting thread then
        computes its own.
        """
        while True:
            with self._lock:
                if key in self._values:
                    self._values.move_to_end(key)
                    return self._values[key]
                done = self._computing.get(key)
                owner = done is None
                if owner:
                    done = self._computing[key] = threading.Event()
            if not owner:
                done.wait()
                continue  # stored now, or the owner failed and this thread may compute it
            try:
                value = compute()
            except BaseException:
                with self._lock:
                    del self._computing[key]
                done.set()
                raise
            with self._lock:
                if keep is None or keep(value):
                    self._values[key] = value
                    self._values.move_to_end(key)
                    while len(self._values) > self.max_entries:
                        self._values.popitem(last=False)
                del self._computing[key]
                self.computed += 1
            done.set()
            return value

    def peek(self, key: Hashable) -> Any | None:
        """The value stored under ``key``, or None; never computes and never waits."""
        with self._lock:
            return self._values.get(key)

    def clear(self) -> None:
        """Forget every stored value (computations under way still finish and store theirs)."""
        with self._lock:
            self._values.clear()


def digest(*parts: Any) -> str:
    """A SHA-256 hex digest of parts, in order: arrays and tensors (dtype, shape and bytes), and
    anything JSON can write (dicts with their keys sorted; other objects by ``str``)."""
    hasher = hashlib.sha256()
    for part in parts:
        if hasattr(part, "detach"):  # a torch tensor
            part = part.detach().cpu().contiguous().numpy()
        if hasattr(part, "tobytes"):
            hasher.update(f"{part.dtype}{part.shape}".encode())
            hasher.update(part.tobytes())
        else:
            hasher.update(json.dumps(part, sort_keys=True, default=str).encode())
    return hasher.hexdigest()


def weights_digest(module: Any, *parts: Any) -> str:
    """:func:`digest` of ``parts`` and then of a torch module's weights, in ``state_dict`` name
    order: the key of anything computed from a model."""
    weights = module.state_dict()
    return digest(*parts, *(weights[name] for name in sorted(weights)))


def _max_entries() -> int:
    text = os.environ.get(ENV_ENTRIES, "").strip()
    return int(text) if text.isdigit() and int(text) >= 1 else DEFAULT_ENTRIES


_SERVER_CACHE = SharedCache(_max_entries())


def shared_cache() -> SharedCache:
    """The server's one cache (a module-level singleton: every script run of every session and
    the launcher's warm-up share this process, hence this object)."""
    return _SERVER_CACHE


__all__ = [
    "DEFAULT_ENTRIES",
    "ENV_ENTRIES",
    "SharedCache",
    "digest",
    "shared_cache",
    "weights_digest",
]
