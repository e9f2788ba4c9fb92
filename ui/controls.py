"""The sidebar's controls: one entry per URL key of the sharing codec, with label, help and widget.

Which controls a configuration uses is derived from the engine, not from a family list:
``ModelConfig`` properties (continuous, discrete, adaptive, time_mode) and the family table
``deqnet.families`` (``uses_mlp``: width and activation matter; ``uses_gamma``: gamma and g do).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from deqnet import FAMILIES, LIMITS, TIME_MODES, RunConfig
from deqnet.config import ACTIVATIONS, GRAD_MODES, LOSSES, NONLINEARITIES, OPTIMIZERS, SOLVERS
from deqnet.datasets import (
    CLASSIFICATION_DATASETS,
    REGRESSION_DATASETS,
    n_classes_range,
    task_of,
)
from deqnet.families import FAMILY_TABLE
from deqnet.sharing import FIELD_SPECS


def _powers(low: float, high: float, mantissas: Sequence[float] = (1.0,)) -> list[float]:
    """Log-spaced round numbers m * 10^e within [low, high]."""
    out = []
    for e in range(-12, 8):
        for m in mantissas:
            v = float(f"{m}e{e}")
            if low <= v <= high:
                out.append(v)
    return out


def _fmt_number(v: Any) -> str:
    return format(v, "g") if isinstance(v, float) else str(v)


_MODE_LABELS_CONTINUOUS = {
    "autonomous": "autonomous: F(x)",
    "time": "time-dependent: F(x, t)",
    "piecewise": "piecewise-constant weights",
}
_MODE_LABELS_DISCRETE = {
    "autonomous": "tied: one layer function",
    "time": "shared layer fed t = l·Δt",
    "piecewise": "K weight sets (K = L: untied)",
}


def _mode_labels(run: RunConfig) -> Callable[[Any], str]:
    """Time-mode labels, worded for continuous or discrete families."""
    labels = _MODE_LABELS_DISCRETE if run.model.discrete else _MODE_LABELS_CONTINUOUS
    return lambda v: labels.get(v, v)


@dataclass(frozen=True)
class Control:
    """One sidebar widget.

    Attributes:
        key: the URL key (also the widget key).
        label, help: what the user sees; help is one sentence.
        kind: "select" (selectbox), "radio" (horizontal), "slider", "steps" (select_slider over
            ``options``, the current value always added) or "number" (integer input).
        options: run -> allowed values (select/radio/steps); slider: run -> (low, high, step).
        applies: run -> whether the control matters for this configuration.
        fmt: value -> label; ``fmt_run`` (run -> fmt) when the wording depends on the run.
    """

    key: str
    label: str
    help: str
    kind: str
    options: Callable[[RunConfig], Sequence[Any]]
    applies: Callable[[RunConfig], bool] = lambda run: True
    fmt: Callable[[Any], str] = _fmt_number
    fmt_run: Callable[[RunConfig], Callable[[Any], str]] | None = None

    @property
    def section(self) -> str:
        return FIELD_SPECS[self.key].section

    @property
    def field(self) -> str:
        return FIELD_SPECS[self.key].field

    def formatter(self, run: RunConfig) -> Callable[[Any], str]:
        return self.fmt if self.fmt_run is None else self.fmt_run(run)

    def value(self, run: RunConfig) -> Any:
        return getattr(getattr(run, self.section), self.field)


def _fixed(values: Sequence[Any]) -> Callable[[RunConfig], Sequence[Any]]:
    return lambda run: tuple(values)


def _ints(*values: int) -> Callable[[RunConfig], Sequence[int]]:
    return _fixed(values)


_STEP_COUNTS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25, 32, 40, 50, 64, 80, 100, 128, 160, 200)


def _segment_options(run: RunConfig) -> Sequence[int]:
    cap = run.model.layers if run.model.discrete else LIMITS["segments"][1]
    return tuple(k for k in _STEP_COUNTS if k <= cap) or (1,)


def _class_range(run: RunConfig) -> tuple[int, int, int]:
    lo, hi = n_classes_range(run.data.name)
    return (lo, hi, 1)


def task_datasets(task: str) -> tuple[str, ...]:
    """The data sets the selector offers for a task ("classification" or "regression")."""
    return REGRESSION_DATASETS if task == "regression" else CLASSIFICATION_DATASETS


DATA: tuple[Control, ...] = (
    Control(
        "dataset",
        "Dataset",
        "The 2-D problem to learn: points of classes, or (regression) a real number at each point.",
        "select",
        lambda run: task_datasets(task_of(run.data.name)),
        fmt=lambda v: v.capitalize(),
    ),
    Control(
        "noise",
        "Noise",
        "Standard deviation of the Gaussian jitter added to every point.",
        "slider",
        lambda run: (0.0, 1.0, 0.01),
    ),
    Control(
        "n",
        "Points",
        "Total number of points, train and test together.",
        "steps",
        _ints(16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 10000),
    ),
    Control(
        "test",
        "Test fraction",
        "Share of the points held out to measure test accuracy.",
        "slider",
        lambda run: (0.05, 0.9, 0.05),
    ),
    Control(
        "classes",
        "Classes",
        "Number of classes (spiral arms or Gaussian blobs).",
        "slider",
        _class_range,
        applies=lambda run: n_classes_range(run.data.name)[1] > n_classes_range(run.data.name)[0],
    ),
    Control(
        "dseed",
        "Data seed",
        "Seed of the random points; Regenerate data picks a new one.",
        "number",
        lambda run: LIMITS["seed"],
    ),
)

MODEL: tuple[Control, ...] = (
    Control(
        "family",
        "Model",
        "Neural ODE (MLP field), the paper's ODE w(t)x + b(t) + g(x), a ResNet or a plain "
        "feed-forward net whose layers stay close to the identity.",
        "select",
        _fixed(FAMILIES),
        fmt=lambda v: FAMILY_TABLE[v].label,
    ),
    Control(
        "T",
        "Depth T",
        "End time of the flow; discrete nets use the step Δt = T / layers.",
        "steps",
        _fixed((0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0)),
    ),
    Control(
        "mode",
        "Weights over time",
        "Whether the weights are constant, see the time t, or change from segment to segment.",
        "select",
        lambda run: TIME_MODES[run.model.family],
        fmt_run=lambda run: _mode_labels(run),
    ),
    Control(
        "K",
        "Segments K",
        "Number of weight sets, each used on an equal share of [0, T] (or of the layers).",
        "steps",
        _segment_options,
        applies=lambda run: run.model.time_mode == "piecewise",
    ),
    Control(
        "layers",
        "Layers L",
        "Number of layers of the discrete network.",
        "steps",
        _fixed(_STEP_COUNTS),
        applies=lambda run: run.model.discrete,
    ),
    Control(
        "width",
        "Hidden width",
        "Neurons in the hidden layer of the MLP that defines the field or residual block.",
        "slider",
        lambda run: (*LIMITS["width"], 1),
        applies=lambda run: FAMILY_TABLE[run.model.family].uses_mlp,
    ),
    Control(
        "act",
        "Activation",
        "Nonlinearity of the hidden layer.",
        "select",
        _fixed(ACTIVATIONS),
        applies=lambda run: FAMILY_TABLE[run.model.family].uses_mlp,
    ),
    Control(
        "gamma",
        "Nonlinearity γ",
        "Strength of the small nonlinearity g in the paper's equation.",
        "steps",
        _fixed((0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)),
        applies=lambda run: FAMILY_TABLE[run.model.family].uses_gamma,
    ),
    Control(
        "g",
        "g(x)",
        "Shape of the small nonlinearity: −γx³ or −γ sin x.",
        "select",
        _fixed(NONLINEARITIES),
        fmt=lambda v: {"cubic": "−γ x³", "sine": "−γ sin x"}.get(v, v),
        applies=lambda run: FAMILY_TABLE[run.model.family].uses_gamma,
    ),
    Control(
        "augment",
        "Extra dimensions",
        "Zero-padded extra state components (augmented ODE); lets flows untangle rings.",
        "slider",
        lambda run: (*LIMITS["augment"], 1),
    ),
    Control(
        "solver",
        "ODE solver",
        "Integration method: fixed-step Euler, midpoint, RK4, or adaptive Dormand–Prince.",
        "select",
        _fixed(SOLVERS),
        applies=lambda run: run.model.continuous,
    ),
    Control(
        "steps",
        "Solver steps",
        "Number of equal steps the fixed-step solver takes over [0, T].",
        "steps",
        _fixed(_STEP_COUNTS),
        applies=lambda run: run.model.continuous and not run.model.adaptive,
    ),
    Control(
        "rtol",
        "Relative tolerance",
        "Error the adaptive solver allows per step, relative to the state.",
        "steps",
        lambda run: _powers(*LIMITS["rtol"]),
        applies=lambda run: run.model.adaptive,
    ),
    Control(
        "atol",
        "Absolute tolerance",
        "Error the adaptive solver allows per step, in absolute terms.",
        "steps",
        lambda run: _powers(*LIMITS["atol"]),
        applies=lambda run: run.model.adaptive,
    ),
    Control(
        "maxsteps",
        "Max solver steps",
        "The adaptive solver gives up (and training stops) beyond this many steps.",
        "steps",
        lambda run: [int(v) for v in _powers(*LIMITS["max_steps"], (1.0, 2.0, 5.0))],
        applies=lambda run: run.model.adaptive,
    ),
)

TRAIN: tuple[Control, ...] = (
    Control(
        "lr",
        "Learning rate",
        "Step size of the optimiser; too large diverges, too small crawls.",
        "steps",
        lambda run: _powers(1e-5, LIMITS["lr"][1], (1.0, 2.0, 5.0)),
    ),
    Control(
        "budget",
        "Step budget",
        "Training stops after this many optimiser steps.",
        "steps",
        _ints(25, 50, 100, 200, 300, 500, 1000, 2000, 3000, 5000),
    ),
    Control(
        "opt",
        "Optimiser",
        "Adam adapts the step per weight; SGD uses plain momentum.",
        "radio",
        _fixed(OPTIMIZERS),
        fmt=lambda v: {"adam": "Adam", "sgd": "SGD"}.get(v, v),
    ),
    Control(
        "mom",
        "Momentum",
        "Fraction of the previous update SGD keeps.",
        "steps",
        _fixed((0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999)),
        applies=lambda run: run.train.optimizer == "sgd",
    ),
    Control(
        "batch",
        "Batch size",
        "Points per step; full batch uses all training points every step.",
        "steps",
        _ints(0, 8, 16, 32, 64, 128, 256, 512, 1024),
        fmt=lambda v: "full" if v == 0 else str(v),
    ),
    Control(
        "loss",
        "Loss",
        "Cross-entropy on the logits, or squared error between softmax and one-hot labels "
        "(regression always uses the squared error of the output).",
        "radio",
        _fixed(LOSSES),
        # Regression's loss is fixed: (output - target)^2 (deqnet.losses).
        applies=lambda run: task_of(run.data.name) == "classification",
        fmt=lambda v: {"cross_entropy": "cross-entropy", "mse": "squared error"}.get(v, v),
    ),
    Control(
        "grad",
        "Gradients",
        "Backpropagate through the solver, or solve the adjoint ODE backwards (slower).",
        "radio",
        _fixed(GRAD_MODES),
        applies=lambda run: run.model.continuous,
    ),
    Control(
        "wd",
        "Weight decay",
        "L2 penalty that pulls the weights toward zero.",
        "steps",
        lambda run: [0.0, *_powers(1e-6, LIMITS["weight_decay"][1])],
    ),
    Control(
        "clip",
        "Gradient clip",
        "Largest gradient norm allowed per step; off disables clipping.",
        "steps",
        _fixed((0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0)),
        fmt=lambda v: "off" if v == 0 else _fmt_number(v),
    ),
    Control(
        "seed",
        "Weight seed",
        "Seed of the initial weights and of the mini-batch order.",
        "number",
        lambda run: LIMITS["seed"],
    ),
)

GROUPS: dict[str, tuple[Control, ...]] = {"Data": DATA, "Model": MODEL, "Training": TRAIN}
CONTROLS: dict[str, Control] = {c.key: c for group in GROUPS.values() for c in group}

# Playground controls a teacher can hide besides the sidebar (the codec's extra HIDEABLE names).
EXTRA_LABELS: dict[str, str] = {
    "regen": "Regenerate data",
    "upload": "Upload",
    "export": "Downloads",
}


def hideable_in_sidebar_order(hideable: Sequence[str]) -> list[str]:
    """The hideable control names in the order the page shows them (sidebar first)."""
    return [key for key in (*CONTROLS, *EXTRA_LABELS) if key in hideable]


def label_of(key: str) -> str:
    """Human label of a hideable control key."""
    return CONTROLS[key].label if key in CONTROLS else EXTRA_LABELS.get(key, key)


def describe_model(run: RunConfig) -> str:
    """The model in words, for the line above a page's main figure: e.g. "Neural ODE · depth
    T = 1 · 2-D state · width 16 tanh · RK4, 10 steps" or "ResNet · 10 layers (T = 1) · …"."""
    model = run.model
    family = FAMILY_TABLE[model.family]
    depth = (
        f"{model.layers} layers (T = {model.T:g})" if model.discrete else f"depth T = {model.T:g}"
    )
    parts = [family.label, depth, f"{model.dim}-D state"]
    if model.time_mode == "time":
        parts.append("layers fed t" if model.discrete else "time-dependent")
    elif model.time_mode == "piecewise":
        untied = model.discrete and model.segments >= model.layers
        parts.append("untied weights" if untied else f"{model.segments} weight sets")
    if family.uses_mlp:
        parts.append(f"width {model.width} {model.activation}")
    if family.uses_gamma:
        g = "γx³" if model.nonlinearity == "cubic" else "γ sin x"
        parts.append(f"g = −{g}, γ = {model.gamma:g}")
    if model.continuous:
        solver = model.solver.upper() if model.solver != "dopri5" else "Dopri5 (adaptive)"
        parts.append(solver if model.adaptive else f"{solver}, {model.steps} steps")
    return " · ".join(parts)
