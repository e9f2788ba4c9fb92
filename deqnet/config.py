"""Frozen, validated, hashable configuration for models and training.

Every value a user can set (through a widget, a URL or an uploaded run file) ends up in one of these
dataclasses, and every bound lives in ``LIMITS`` so the app, the URL parser and the tests agree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from deqnet.datasets import (
    DATASETS,
    N_MIN,
    Dataset,
    check_dataset_args,
    make_dataset,
    n_classes_range,
    task_of,
)
from deqnet.families import (
    CONTINUOUS_FAMILIES,
    DISCRETE_FAMILIES,
    FAMILIES,
    FAMILY_TABLE,
    TIME_MODES,
)

ACTIVATIONS = ("tanh", "relu", "softplus", "sigmoid")
NONLINEARITIES = ("cubic", "sine")
SOLVERS = ("euler", "midpoint", "rk4", "dopri5")
FIXED_STEP_SOLVERS = ("euler", "midpoint", "rk4")
OPTIMIZERS = ("adam", "sgd")
LOSSES = ("cross_entropy", "mse")
GRAD_MODES = ("backprop", "adjoint")

# Every time mode some family accepts, in TIME_MODES order.
TIME_MODE_NAMES = tuple(dict.fromkeys(mode for modes in TIME_MODES.values() for mode in modes))

# Inclusive (low, high) bounds. They are caps for a shared server as much as sanity checks.
LIMITS: dict[str, tuple[float, float]] = {
    "augment": (0, 3),
    "T": (0.05, 10.0),
    "width": (1, 64),
    "segments": (1, 200),
    "gamma": (0.0, 10.0),
    "steps": (1, 1000),
    "rtol": (1e-10, 1e-1),
    "atol": (1e-10, 1e-1),
    "max_steps": (10, 20000),
    "layers": (1, 200),
    "lr": (1e-6, 10.0),
    "batch_size": (0, 10000),
    "weight_decay": (0.0, 1.0),
    "grad_clip": (0.0, 1e6),
    "momentum": (0.0, 0.999),
    "seed": (0, 2**31 - 1),
    "train_steps": (1, 5000),
}


class ConfigError(ValueError):
    """A configuration value is unknown or out of range; the message lists what is allowed."""


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not allowed; choose one of {', '.join(allowed)}")


def _check_range(name: str, value: Any, *, integer: bool = False) -> None:
    low, high = LIMITS[name]
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(
            f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}"
        )
    if not math.isfinite(value) or not low <= value <= high:
        raise ConfigError(f"{name}={value!r} is out of range; allowed {low:g} to {high:g}")


class _ConfigMixin:
    """Dictionary round trip and validated copies, shared by the config dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        """Build from a mapping; unknown keys raise ConfigError naming them."""
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} keys {unknown}; allowed {sorted(known)}")
        return cls(**values)

    def replace(self, **changes: Any):
        """A validated copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class ModelConfig(_ConfigMixin):
    """Everything that defines a model's architecture and how its flow is computed.

    Attributes:
        family: "node", "ruseckas", "resnet" or "feedforward" (see ``FAMILIES``).
        augment: extra zero dimensions; the state has D = 2 + augment components.
        T: depth (end time). Discrete families use dt = T / layers.
        width: hidden width of the MLP field (node, resnet).
        activation: MLP activation (node, resnet).
        time_mode: "autonomous", "time" or "piecewise" (see ``TIME_MODES``).
        segments: number K of weight sets for "piecewise".
        gamma: strength of the small nonlinearity g (ruseckas, feedforward).
        nonlinearity: g(x) = -gamma x^3 ("cubic") or -gamma sin(x) ("sine").
        solver: torchdiffeq method for continuous families.
        steps: fixed-step solvers take this many equal steps over [0, T].
        rtol, atol: tolerances of the adaptive solver (dopri5).
        max_steps: bound on the number of adaptive steps; exceeding it is reported as divergence.
        layers: number of layers L of the discrete families.
    """

    family: str = "node"
    augment: int = 0
    T: float = 1.0
    width: int = 16
    activation: str = "tanh"
    time_mode: str = "autonomous"
    segments: int = 4
    gamma: float = 0.1
    nonlinearity: str = "cubic"
    solver: str = "rk4"
    steps: int = 10
    rtol: float = 1e-3
    atol: float = 1e-4
    max_steps: int = 1000
    layers: int = 10

    def __post_init__(self) -> None:
        _check_choice("family", self.family, FAMILIES)
        _check_choice(f"time_mode for {self.family}", self.time_mode, TIME_MODES[self.family])
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("nonlinearity", self.nonlinearity, NONLINEARITIES)
        _check_choice("solver", self.solver, SOLVERS)
        for name in ("augment", "width", "segments", "steps", "max_steps", "layers"):
            _check_range(name, getattr(self, name), integer=True)
        for name in ("T", "gamma", "rtol", "atol"):
            _check_range(name, getattr(self, name))
        if self.discrete and self.time_mode == "piecewise" and self.segments > self.layers:
            raise ConfigError(
                f"segments={self.segments} exceeds layers={self.layers}; "
                "a discrete network has at most one weight set per layer"
            )

    @property
    def dim(self) -> int:
        """State dimension D = 2 + augment."""
        return 2 + self.augment

    @property
    def continuous(self) -> bool:
        return self.family in CONTINUOUS_FAMILIES

    @property
    def discrete(self) -> bool:
        return self.family in DISCRETE_FAMILIES

    @property
    def n_segments(self) -> int:
        """Number of weight sets: ``segments`` for piecewise time mode, otherwise 1."""
        return self.segments if self.time_mode == "piecewise" else 1

    @property
    def adaptive(self) -> bool:
        return self.continuous and self.solver not in FIXED_STEP_SOLVERS

    @property
    def steps_per_segment(self) -> int:
        """Equal fixed solver steps in each weight segment: ceil(steps / K), at least 1."""
        return max(1, math.ceil(self.steps / self.n_segments))

    @property
    def dt(self) -> float | None:
        """The step in t: T / layers (discrete), the fixed solver step T / (K ceil(steps / K))
        (continuous, fixed-step), or None for an adaptive solver (its steps vary)."""
        if self.discrete:
            return self.T / self.layers
        if self.adaptive:
            return None
        return self.T / (self.n_segments * self.steps_per_segment)


@dataclass(frozen=True)
class TrainConfig(_ConfigMixin):
    """How a model is trained.

    Attributes:
        optimizer: "adam" or "sgd" (SGD uses ``momentum``).
        lr: learning rate.
        batch_size: 0 for full batch, otherwise the mini-batch size.
        weight_decay: L2 penalty passed to the optimiser.
        loss: "cross_entropy" on the logits, or "mse" between softmax and one-hot labels.
        grad_mode: "backprop" through the solver, or "adjoint" (torchdiffeq's odeint_adjoint).
        grad_clip: maximum gradient norm; 0 disables clipping.
        momentum: SGD momentum.
        seed: seed of the mini-batch sampler.
        train_steps: the step budget the app and ``sweep`` train for.
    """

    optimizer: str = "adam"
    lr: float = 0.02
    batch_size: int = 0
    weight_decay: float = 0.0
    loss: str = "cross_entropy"
    grad_mode: str = "backprop"
    grad_clip: float = 5.0
    momentum: float = 0.9
    seed: int = 0
    train_steps: int = 300

    def __post_init__(self) -> None:
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("grad_mode", self.grad_mode, GRAD_MODES)
        for name in ("lr", "weight_decay", "grad_clip", "momentum"):
            _check_range(name, getattr(self, name))
        for name in ("batch_size", "seed", "train_steps"):
            _check_range(name, getattr(self, name), integer=True)


@dataclass(frozen=True)
class DataConfig(_ConfigMixin):
    """Arguments of ``make_dataset``; validated by the same checks (raises DatasetError).

    The task follows from the name (``task``): a regression data set ignores the ``n_classes``
    it is given and holds 1, its one output.
    """

    name: str = "moons"
    n: int = 512
    noise: float = 0.1
    test_fraction: float = 0.3
    seed: int = 0
    n_classes: int = 2

    def __post_init__(self) -> None:
        check_dataset_args(
            self.name, self.n, self.noise, self.test_fraction, self.seed, self.n_classes
        )
        if self.task == "regression":  # one real output, whatever the class setting said
            object.__setattr__(self, "n_classes", 1)

    @property
    def task(self) -> str:
        """ "classification" or "regression" (``deqnet.datasets.task_of`` the name)."""
        return task_of(self.name)

    def make(self) -> Dataset:
        return make_dataset(**self.to_dict())


@dataclass(frozen=True)
class RunConfig:
    """A whole reproducible run: data, model and training. ``train.seed`` also seeds the weights."""

    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {
            "data": self.data.to_dict(),
            "model": self.model.to_dict(),
            "train": self.train.to_dict(),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """Inverse of ``to_dict``; missing sections default, unknown ones raise ConfigError."""
        unknown = sorted(set(values) - {"data", "model", "train"})
        if unknown:
            raise ConfigError(f"unknown run sections {unknown}; allowed data, model, train")
        return cls(
            data=DataConfig.from_dict(values.get("data", {})),
            model=ModelConfig.from_dict(values.get("model", {})),
            train=TrainConfig.from_dict(values.get("train", {})),
        )


# --------------------------------------------------------------------------------------------
# Cross-field repairs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repair:
    """One value ``repair_run`` changed: ``values[section][field]``, and why.

    ``reason`` is a sentence that does not name the field (the caller prefixes its own name for
    it, e.g. the URL key), such as "moons has 2 classes, not 4; using 2.".
    """

    section: str
    field: str
    reason: str


def repair_run(
    values: dict[str, dict[str, Any]], *, base: RunConfig | None = None
) -> tuple[dict[str, dict[str, Any]], list[Repair]]:
    """Fix the combinations of values that each field's own check cannot exclude.

    The one home of these rules: the sidebar (``ui.state.coerce_run``) and the URL codec
    (``deqnet.sharing.run_from_query``) both call it, so a link decodes to what the sidebar shows.

    - the number of classes is clamped to what the dataset supports, and n raised to at least
      ``max(N_MIN, 2 * classes)``;
    - a time mode the family lacks becomes ``base``'s time mode if the family has it, else the
      family's first (``TIME_MODES``);
    - a discrete piecewise network's segments are capped at its layer count.

    Args:
        values: ``RunConfig.to_dict()``-shaped; missing fields take ``base``'s values (default
            ``RunConfig()``). It is not modified.
        base: where missing values and the time-mode fallback come from.

    Returns:
        The sections with every field filled in and repaired (other keys are passed through, so
        ``RunConfig.from_dict`` still rejects unknown ones), and the repairs made, in order.
        Values the rules cannot judge (an unknown dataset or family) are left for the configs'
        own validation to reject.
    """
    base = RunConfig() if base is None else base
    out = dict(values)
    for name in ("data", "model", "train"):
        out[name] = {**getattr(base, name).to_dict(), **values.get(name, {})}
    repairs: list[Repair] = []
    _repair_data(out["data"], repairs)
    _repair_model(out["model"], base.model, repairs)
    return out, repairs


def _repair_data(data: dict[str, Any], repairs: list[Repair]) -> None:
    if data["name"] not in DATASETS or task_of(data["name"]) == "regression":
        return  # a regression data set ignores the class count (one real target)
    lo, hi = n_classes_range(data["name"])
    k = int(data["n_classes"])
    if not lo <= k <= hi:
        fixed = min(max(k, lo), hi)
        allowed = str(lo) if lo == hi else f"{lo} to {hi}"
        repairs.append(
            Repair(
                "data",
                "n_classes",
                f"{data['name']} has {allowed} classes, not {k}; using {fixed}.",
            )
        )
        k = fixed
    data["n_classes"] = k
    n_min = max(N_MIN, 2 * k)
    if data["n"] < n_min:
        repairs.append(
            Repair(
                "data",
                "n",
                f"{k} classes need at least {n_min} points, not {data['n']}; using {n_min}.",
            )
        )
        data["n"] = n_min


def _repair_model(model: dict[str, Any], base: ModelConfig, repairs: list[Repair]) -> None:
    family = model["family"]
    if family not in TIME_MODES:
        return
    allowed = TIME_MODES[family]
    if model["time_mode"] not in allowed:
        fixed = base.time_mode if base.time_mode in allowed else allowed[0]
        repairs.append(
            Repair(
                "model",
                "time_mode",
                f"{family} does not support {model['time_mode']} "
                f"(allowed: {', '.join(allowed)}); using {fixed}.",
            )
        )
        model["time_mode"] = fixed
    layers = int(model["layers"])
    if (
        family in DISCRETE_FAMILIES
        and model["time_mode"] == "piecewise"
        and model["segments"] > layers
    ):
        repairs.append(
            Repair(
                "model",
                "segments",
                f"{model['segments']} weight sets exceed the {layers} layers; using {layers}.",
            )
        )
        model["segments"] = layers


# --------------------------------------------------------------------------------------------
# Server budget for one training step
# --------------------------------------------------------------------------------------------

# LIMITS bound each value alone, but their product can still ask for tens of GB: 9,500 training
# points x 1000 rk4 steps x width 64 keeps a ~28 GB autograd tape for ONE step, enough to kill a
# shared server. The app therefore also caps the memory of one training step (README "Hosting").
STEP_MEMORY_LIMIT = 256 * 2**20  # bytes
_STAGES = {"euler": 1, "midpoint": 2, "rk4": 4}


def evaluations_per_pass(model: ModelConfig) -> int | None:
    """Evaluations of F (or of a layer) in one forward pass; None for an adaptive solver
    (its step count depends on the weights)."""
    if model.discrete:
        return model.layers
    if model.adaptive:
        return None
    return _STAGES[model.solver] * model.n_segments * model.steps_per_segment


def step_memory(run: RunConfig, n_train: int, evaluations: int | None = None) -> int | None:
    """Estimated bytes the autograd tape of one training step holds; None if unknown.

    Backprop keeps every evaluation's activations: about 4 bytes x (3 width + 6 D + 16) per
    point per evaluation for the MLP families (``uses_mlp``) and 4 x (4 D + 16) for the others
    (measured with VmHWM, torch 2.13 CPU, float32; a slight over-estimate). The adjoint method
    keeps only the segment boundaries. ``evaluations`` overrides :func:`evaluations_per_pass`
    (pass a measured NFE for an adaptive solver).
    """
    model, train = run.model, run.train
    evaluations = evaluations_per_pass(model) if evaluations is None else evaluations
    if evaluations is None:
        return None
    if model.continuous and train.grad_mode == "adjoint":
        evaluations = min(evaluations, model.n_segments + 1)
    points = train.batch_size if 0 < train.batch_size < n_train else n_train
    if FAMILY_TABLE[model.family].uses_mlp:
        per_eval = 3 * model.width + 6 * model.dim + 16
    else:
        per_eval = 4 * model.dim + 16
    return 4 * points * evaluations * per_eval
