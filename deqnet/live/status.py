"""The words and numbers above the live boundary: the status line and the metrics row.

One implementation for both places they are drawn: the page (Streamlit, on every page run) and
the browser component (each streamed frame carries these texts), so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deqnet.training import StepRecord

# "ms per step" averages this many of the newest steps.
MS_WINDOW = 20
# The metrics row: data-metric name -> label, in display order.
METRICS = {
    "step": "Step",
    "train-accuracy": "Train accuracy",
    "test-accuracy": "Test accuracy",
    "loss": "Loss",
    "nfe": "NFE per step",
    "ms-per-step": "ms per step",
}
# Regression shows R² where classification shows accuracy (the same StepRecord fields, the same
# data-metric names) and names its loss.
_REGRESSION_LABELS = {
    "train-accuracy": "Train R²",
    "test-accuracy": "Test R²",
    "loss": "Loss (MSE)",
}


def metric_labels(task: str = "classification") -> dict[str, str]:
    """The metrics row's labels by ``METRICS`` name, for "classification" or "regression"."""
    return {**METRICS, **_REGRESSION_LABELS} if task == "regression" else dict(METRICS)


def _score_text(value: float, task: str) -> str:
    """Accuracy in per cent, or R² (at most 1, unbounded below) with three decimals."""
    return f"{value:.3f}" if task == "regression" else f"{100 * value:.1f} %"


def metric_texts(
    history: Sequence[StepRecord], budget: int, task: str = "classification"
) -> dict[str, str]:
    """The metrics row's values as shown, by ``METRICS`` name ("–" before the first step);
    regression: R² in the accuracy slots."""
    last = history[-1] if history else None
    recent = history[-MS_WINDOW:]
    ms = 1000 * sum(r.seconds for r in recent) / len(recent) if recent else None
    dash = "–"
    return {
        "step": f"{len(history)} / {budget}",
        "train-accuracy": _score_text(last.train_acc, task) if last else dash,
        "test-accuracy": _score_text(last.test_acc, task) if last else dash,
        "loss": f"{last.loss:.4f}" if last else dash,
        "nfe": f"{last.nfe_forward} / {last.nfe_backward}" if last else dash,
        "ms-per-step": f"{ms:.1f}" if ms is not None else dash,
    }


def status_text(done: int, budget: int, *, running: bool, diverged: bool) -> str:
    """One line of progress toward the step budget (what the progress bar says)."""
    if diverged:
        return f"Stopped at step {done} of {budget}: press Reset, or change a setting and Train."
    if running:
        return f"Training… step {done} of {budget}"
    if done >= budget:
        return (
            f"Trained for the full budget of {budget} steps. Raise *Step budget* in Training to "
            "continue, or press Reset."
        )
    if done:
        return f"Paused at step {done} of {budget}."
    return f"Ready: press Train to take up to {budget} steps."


__all__ = ["METRICS", "metric_labels", "metric_texts", "status_text"]
