"""The model families and their facts, in one table every other module reads.

A leaf module (it imports nothing of deqnet), so configs, models, the engine, the sweep, the UI
and the tests can all read it without import cycles.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """What a family is, as far as everything outside its model class needs to know.

    Attributes:
        name: the config value ("node", ...).
        label: its name in the UI.
        continuous: the flow is an ODE solve (else L discrete layers).
        uses_mlp: the field or layer is an MLP, so ``width`` and ``activation`` matter.
        uses_gamma: the small nonlinearity g is in it, so ``gamma`` and ``nonlinearity`` matter.
        time_modes: the time modes it accepts. Discrete families reuse the names: "autonomous"
            means tied weights, "piecewise" K weight sets over the layers (K = layers is fully
            untied), "time" feeds t_l = l dt to a shared layer.
    """

    name: str
    label: str
    continuous: bool
    uses_mlp: bool
    uses_gamma: bool
    time_modes: tuple[str, ...]


_ALL_MODES = ("autonomous", "time", "piecewise")
_UNTIMED = ("autonomous", "piecewise")  # linear families: no time input

FAMILY_TABLE: dict[str, Family] = {
    f.name: f
    for f in (
        Family("node", "Neural ODE", True, True, False, _ALL_MODES),
        Family("ruseckas", "Paper's ODE (P1)", True, False, True, _UNTIMED),
        Family("resnet", "ResNet", False, True, False, _ALL_MODES),
        Family("feedforward", "Feed-forward, near identity", False, False, True, _UNTIMED),
    )
}
FAMILIES = tuple(FAMILY_TABLE)
CONTINUOUS_FAMILIES = tuple(name for name, f in FAMILY_TABLE.items() if f.continuous)
DISCRETE_FAMILIES = tuple(name for name, f in FAMILY_TABLE.items() if not f.continuous)
TIME_MODES = {name: f.time_modes for name, f in FAMILY_TABLE.items()}
