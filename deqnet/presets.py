"""Lesson presets: one-click setups (data, model, training) that demonstrate the paper's equations.

Each ``Preset`` names the equations it illustrates, the page that shows them and a ``RunConfig``
small enough to train well in a few seconds on one thread. The lesson texts that explain the
equations, and list the presets under them by their labels, are the app's (``ui.lessons``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from deqnet.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from deqnet.sharing import run_to_query


@dataclass(frozen=True)
class Preset:
    """A prepared run that demonstrates some equations on one page.

    Attributes:
        name: URL-safe identifier (``?preset=<name>``).
        title: short headline shown on the Lessons page.
        equations: labels it illustrates, e.g. ("M7", "M8"); the first one decides the lesson
            it is listed under.
        page: the key of the app page that shows it (checked by :func:`check_preset_pages`).
        run: data, model and training configuration.
        explanation: one plain-language paragraph.
        what_to_look_at: one sentence pointing at the picture that matters.
    """

    name: str
    title: str
    equations: tuple[str, ...]
    page: str
    run: RunConfig
    explanation: str
    what_to_look_at: str

    def __post_init__(self) -> None:
        if not self.equations:
            raise ValueError(f"preset {self.name!r} names no equations")

    @property
    def equation(self) -> str:
        """The main equation label (the first of ``equations``)."""
        return self.equations[0]


_MOONS = DataConfig(name="moons", n=256, noise=0.1)
_RINGS = DataConfig(name="concentric", n=512, noise=0.0)
# A small autonomous neural ODE: fixed-step rk4 keeps training fast and H visibly flat.
_NODE = ModelConfig(family="node", width=16, T=1.0, solver="rk4", steps=10)


def _run(data: DataConfig, model: ModelConfig, *, lr: float, steps: int, **train) -> RunConfig:
    return RunConfig(data=data, model=model, train=TrainConfig(lr=lr, train_steps=steps, **train))


_ALL = (
    Preset(
        name="ode-flow",
        title="A network is a flow",
        equations=("M1",),
        page="trajectories",
        run=_run(_MOONS, _NODE, lr=0.05, steps=100),
        explanation=(
            "A neural ODE moves every input point along a smooth path from depth 0 to depth T; "
            "the velocity at each place is a small neural network. Training shapes that velocity "
            "so that, at the end, the two moons lie on opposite sides of a straight line, because "
            "the final classifier is linear."
        ),
        what_to_look_at=(
            "Press play on the animation and watch the grid of the input square bend until one "
            "straight line separates the two colours."
        ),
    ),
    Preset(
        name="resnet-euler",
        title="A ResNet is an Euler step",
        equations=("M1",),
        page="layers",
        run=_run(_MOONS, _NODE, lr=0.05, steps=100),
        explanation=(
            "A residual layer adds a small step Δt·F(x) to its input, which is exactly one step of "
            "Euler's method for the ODE. Cut the trained flow into L layers: layer l lands close "
            "to the point the continuous path reaches at time l·Δt, and the gap shrinks as the "
            "layers get thinner."
        ),
        what_to_look_at=(
            "The numbered layer dots sit on the continuous paths, and on the log-log plot the "
            "error falls with slope −1: twice the layers, half the error."
        ),
    ),
    Preset(
        name="adjoint-is-backprop",
        title="Back-propagation is an ODE run backwards",
        equations=("M3", "M2", "M4"),
        page="momentum",
        run=_run(DataConfig(name="xor", n=256, noise=0.05), _NODE, lr=0.05, steps=100),
        explanation=(
            "The gradient of the loss with respect to the hidden state, a(t) = ∂L/∂x(t), obeys its "
            "own differential equation that starts at the output and runs from T back to 0. "
            "Solving it backwards gives the same numbers that back-propagation computes."
        ),
        what_to_look_at=(
            "The checks panel: a(0) from the backward ODE agrees with autograd's gradient to many "
            "digits, and the arrows show which way each point would have to move to lower its loss."
        ),
    ),
    Preset(
        name="adjoint-cost",
        title="Training with the adjoint method",
        equations=("M4", "M3"),
        page="playground",
        run=_run(
            _MOONS,
            _NODE.replace(solver="dopri5", rtol=1e-3, atol=1e-4),
            lr=0.05,
            steps=50,
            grad_mode="adjoint",
            seed=2,
        ),
        explanation=(
            "Here the gradients come from solving the adjoint equation backwards with the "
            "adaptive dopri5 solver (torchdiffeq's odeint_adjoint), collecting the parameter "
            "gradient (M4) as an integral along the way, instead of back-propagating through the "
            "solver's stored steps. The backward solve has to evaluate F again on the way back."
        ),
        what_to_look_at=(
            "The NFE per step readout (forward / backward): the backward pass costs about as "
            "many evaluations of F as the forward pass, both grow as training bends the flow, "
            "and with Gradients set to backprop the backward count drops to 0."
        ),
    ),
    Preset(
        name="backprop-hamiltonian",
        title="Backprop is a Hamiltonian flow",
        equations=("M7", "M5", "M6", "M8"),
        page="momentum",
        run=_run(_MOONS, _NODE, lr=0.05, steps=100),
        explanation=(
            "The loss gradient a is the momentum of the hidden state x, and H = a·F is the energy. "
            "The weights here are the same at every depth, so, just as in mechanics, the energy "
            "of every point stays constant along its path, and its final value tells how much "
            "the loss would change if the network were a little deeper."
        ),
        what_to_look_at=(
            "The H(t) curves are flat lines, and the checks panel compares H(T) with a finite "
            "difference of the loss in T and the phase-space determinant with 1."
        ),
    ),
    Preset(
        name="time-breaks-energy",
        title="Weights that change with depth break energy conservation",
        equations=("M7", "M8"),
        page="momentum",
        run=_run(
            _MOONS, _NODE.replace(time_mode="piecewise", segments=4, steps=12), lr=0.05, steps=100
        ),
        explanation=(
            "This flow has four sets of weights, each used on a quarter of the depth. Energy is "
            "only conserved while the rules stay the same, so H is constant inside each quarter "
            "and jumps where the weights switch."
        ),
        what_to_look_at="The H(t) curves are staircases with steps at t = T/4, T/2 and 3T/4.",
    ),
    Preset(
        name="time-input-drift",
        title="A field that depends on t lets the energy drift",
        equations=("M8", "M7"),
        page="momentum",
        run=_run(_MOONS, _NODE.replace(time_mode="time"), lr=0.05, steps=100, seed=1),
        explanation=(
            "Now the velocity F(x, t) is given the depth t as an extra input, so the rules change "
            "continuously with depth. The energy then changes at the rate dH/dt = ∂H/∂t instead "
            "of staying fixed."
        ),
        what_to_look_at="The H(t) curves are no longer flat: they drift smoothly with t.",
    ),
    Preset(
        name="ruseckas-equation",
        title="The paper's equation: a linear flow plus a small cubic",
        equations=("P1", "P2"),
        page="trajectories",
        run=_run(
            _MOONS,
            ModelConfig(family="ruseckas", augment=1, T=3.0, gamma=0.5, solver="rk4", steps=10),
            lr=0.05,
            steps=100,
        ),
        explanation=(
            "The velocity is a trainable linear map w x + b plus a fixed small nonlinearity −γx³ "
            "on each coordinate. One extra zero dimension gives the flow room to move the moons "
            "apart. The cubic term always pulls far-away points back, so paths stay bounded, and "
            "it always shrinks volumes: the divergence is Tr w − 3γ|x|²."
        ),
        what_to_look_at=(
            "The divergence panel: the mean divergence of F and the cloud's log-volume show how "
            "much the flow contracts the cloud of points over depth."
        ),
    ),
    Preset(
        name="feedforward-near-identity",
        title="A plain feed-forward net near the identity",
        equations=("P4", "P3"),
        page="layers",
        run=_run(
            _MOONS,
            ModelConfig(
                family="feedforward",
                layers=20,
                T=2.0,
                gamma=0.5,
                time_mode="piecewise",
                segments=20,
            ),
            lr=0.005,
            steps=200,
        ),
        explanation=(
            "Twenty ordinary layers x → h(W x + B), with no skip connection, whose weight matrices "
            "start close to the identity and whose activation h(y) = y − γΔt y³ is almost a "
            "straight line. Read with w = (W − I)/Δt and b = B/Δt, the net is a discretised ODE "
            "of the paper's form."
        ),
        what_to_look_at=(
            "The per-layer ‖W_l − I‖ stays below 1, so every layer is invertible and only "
            "nudges the state, and h(y) drawn next to the identity shows how small a bend each "
            "layer adds."
        ),
    ),
    Preset(
        name="rings-2d",
        title="Why a 2-D ODE cannot separate rings",
        equations=("topology",),
        page="trajectories",
        run=_run(_RINGS, _NODE, lr=0.05, steps=100),
        explanation=(
            "A disk inside a ring, and a flow in the plane. A flow can bend the plane but never "
            "tear it or let paths cross, so it cannot carry the disk out of the ring. Training "
            "pushes anyway: the accuracy climbs far more slowly than the augmented model's, and "
            "whatever it scores on the sample points it gets by stretching the plane into thin "
            "tendrils between them."
        ),
        what_to_look_at=(
            "The deformed grid at t = T: cells stretched into thin tendrils where the flow tries "
            "to drag the disk past the ring; compare the gentle flow of the 3-D preset."
        ),
    ),
    Preset(
        name="rings-augmented",
        title="One extra dimension fixes it",
        equations=("topology",),
        page="trajectories",
        run=_run(_RINGS, _NODE.replace(augment=1), lr=0.05, steps=100),
        explanation=(
            "The same data and model, with the state padded by one extra zero coordinate. In 3-D "
            "the flow can lift the disk above the ring, and a plane then separates them, with a "
            "gentle flow."
        ),
        what_to_look_at=(
            "The 3-D final features: the two classes end on opposite sides of a plane."
        ),
    ),
    Preset(
        name="rings-coarse-fold",
        title="Coarse layers can fold the plane",
        equations=("topology",),
        page="trajectories",
        run=_run(
            _RINGS,
            ModelConfig(
                family="feedforward", layers=4, T=2.0, gamma=2.0, time_mode="piecewise", segments=4
            ),
            lr=0.05,
            steps=100,
        ),
        explanation=(
            "Back to two dimensions, but now with only four plain layers and a big step: "
            "γΔt = 1, so the activation h(y) = y − y³ is no longer monotone (h(1) = 0, "
            "h(1.5) = −1.875). A finite-step network need not be invertible, so it can fold the "
            "plane over itself, which no ODE flow can do, and separate the disk from the ring."
        ),
        what_to_look_at=(
            "The layer-by-layer paths and grid: points cross and the grid folds over itself "
            "between layers."
        ),
    ),
    Preset(
        name="slides-100-layers",
        title="The slides' example: 100 plain layers are a path",
        equations=("P3", "P4"),
        page="layers",
        run=_run(
            _RINGS,
            ModelConfig(
                family="feedforward",
                layers=100,
                T=2.0,
                gamma=0.5,
                time_mode="piecewise",
                segments=100,
            ),
            lr=0.01,
            steps=200,
        ),
        explanation=(
            "A 2-D network of the paper's type, x → h(W x + B) with 100 layers and no skip "
            "connection, trained on a disk inside a ring. Each layer moves a point only a "
            "little, so the hundred layer states of one input trace out a smooth path, the "
            "solution of an ODE, numbered 0 to 100. Being close to a flow in the plane, it "
            "cannot tear the ring open, so the accuracy stays well short of 100 %."
        ),
        what_to_look_at=(
            "The numbered dots: consecutive layers sit close together along one smooth curve, "
            "and the continuous path of the same flow runs through them."
        ),
    ),
    Preset(
        name="slides-3d-line",
        title="The slides' 3-D example: final features on a line, ordered by class",
        equations=("topology",),
        page="trajectories",
        run=_run(
            _RINGS,
            ModelConfig(
                family="feedforward",
                augment=1,
                layers=20,
                T=2.0,
                gamma=0.5,
                time_mode="piecewise",
                segments=20,
            ),
            lr=0.01,
            steps=150,
        ),
        explanation=(
            "The same kind of plain network with 20 layers, on a state with one extra zero "
            "coordinate. In three dimensions the layers can lift the disk off the ring. The "
            "final linear classifier reads the state along one direction only, and training "
            "lays the final features out along that line: one class at one end, the other at "
            "the other end."
        ),
        what_to_look_at=(
            "The readout line: each point's final state projected on the classifier's "
            "direction, one row per class, the rows side by side with a gap at the dashed "
            "boundary."
        ),
    ),
    Preset(
        name="information-resolution",
        title="The information is all there; training makes it readable",
        equations=("I1", "I2"),
        page="trajectories",
        run=_run(_MOONS, _NODE, lr=0.05, steps=100),
        explanation=(
            "A neural ODE on the two moons. Its flow is invertible, so the state at every depth "
            "still tells the label exactly as well as the input did. What training changes is "
            "how coarse a grid is enough to read it: at the start a 2×2 grid of cells mixes "
            "the moons, at the end each class has cells of its own."
        ),
        what_to_look_at=(
            "The information panel: the fine-resolution line stays on the H(y) ceiling at "
            "every depth, the 2×2 line climbs from about a quarter of a bit to the ceiling."
        ),
    ),
)

PRESETS: dict[str, Preset] = {preset.name: preset for preset in _ALL}


def preset_query(name: str) -> dict[str, str]:
    """Query parameters of a link that opens preset ``name`` (its settings plus ``preset``)."""
    return {**run_to_query(PRESETS[name].run), "preset": name}


def check_preset_pages(pages: Collection[str]) -> None:
    """Raise ValueError if a preset names a page not in ``pages`` (the app's page keys).

    The app's page registry (``ui.pages``) calls this when it is imported: the backend names
    the page a preset is shown on, but does not know which pages exist.
    """
    unknown = {name: preset.page for name, preset in PRESETS.items() if preset.page not in pages}
    if unknown:
        listing = ", ".join(f"{name} -> {page!r}" for name, page in sorted(unknown.items()))
        raise ValueError(f"presets name unknown pages ({listing}); pages: {', '.join(pages)}")


__all__ = [
    "PRESETS",
    "Preset",
    "check_preset_pages",
    "preset_query",
]
