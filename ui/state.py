"""One model per browser session: the data, model, trainer and wanted settings every page reads.

The sidebar writes the *wanted* settings (``Session.wanted``, a ``RunConfig.to_dict()``-shaped
dict); :func:`sync` compares them with the configuration the model was built from
(``Session.run``) and rebuilds or re-optimises as needed. A trainable model is never shared
between sessions (``st.session_state`` is per browser tab), but deterministic work is: the
quick-trained model of a configuration and every :func:`memo`-ised picture of a model come from the
server-wide ``ui.shared_cache``, keyed by everything that determines them (the configuration, the
data, the weights), so a class opening one link computes them once. Each session trains a copy.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import streamlit as st
import torch

from deqnet import Dataset, RunConfig, StepRecord, Trainer, build_model
from deqnet.config import LIMITS, repair_run
from deqnet.live import LiveState
from deqnet.models import DeqModel
from deqnet.presets import Preset
from deqnet.sharing import DrawnPoints, QueryResult
from deqnet.sweep import SweepCell
from ui.shared_cache import digest, shared_cache, weights_digest
from ui.slots import busy_turn

_STATE_KEY = "deqnet"
T = TypeVar("T")

MODEL_RESET_NOTE = "Model settings changed — the model was reset to its initial weights."
DATA_RESET_NOTE = "The data changed — the model was reset to its initial weights."
OPTIMISER_NOTE = (
    "Training settings changed — the weights were kept and the optimiser was rebuilt "
    "(its internal state, e.g. Adam's moments, starts afresh)."
)


@dataclass(eq=False)
class Link:
    """What a link sets besides the configuration (``Session.link``; change it through
    :func:`open_link`, :func:`set_classroom` and :func:`set_view`).

    Attributes:
        parsed: the URL was read (first run of the session).
        classroom: classroom mode is on; ``hidden`` are the control keys not rendered.
        from_url: classroom mode came from the link (then the Classroom panel is hidden).
        view: view flags kept in the link: the Playground's ("showtest", "discrete") and
            presentation mode ("present", for every page).
        notices: markdown-safe notices about the link's rejected or clamped values, shown once.
    """

    parsed: bool = False
    classroom: bool = False
    hidden: frozenset[str] = frozenset()
    from_url: bool = False
    view: dict[str, bool] = field(
        default_factory=lambda: {"showtest": False, "discrete": False, "present": False}
    )
    notices: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Upload:
    """The last uploaded file handled (``Session.upload``; see :func:`record_upload`).

    Attributes:
        file_id: the uploader's id of that file, or None when the uploader is empty.
        error: why it was refused (markdown-safe), or None.
    """

    file_id: str | None = None
    error: str | None = None


@dataclass(eq=False)
class Stream:
    """How this session's live panel gets its frames (``ui.live_panel``).

    Attributes:
        token: the secret the panel's websocket presents (``ui.live_route``); "" until the
            Playground first needs one.
        fallback: why the stream could not be used in this browser ("" while it can): the
            panel then polls with Streamlit reruns instead (``ui.live``).
    """

    token: str = ""
    fallback: str = ""


@dataclass(eq=False)
class Drawing:
    """Points drawn on the Playground's chart (``ui.drawing``): what it shows, what the link
    carries and, once there are enough of them, the session's data (``Session.custom_data``).

    Attributes:
        points: the drawn set ((n, 2) on the 0.01 grid, (n,) classes, the number of classes).
        applied: the number of the browser's last drawing edit applied (edits are numbered).
        message: what the last edits did, shown once beside the drawing tools.
    """

    points: DrawnPoints
    applied: int = 0
    message: str = ""


@dataclass(eq=False)
class Session:
    """Everything one browser session trains and shows.

    Attributes:
        run: the configuration ``data``, ``model`` and ``trainer`` were built from.
        data: the dataset (generated from ``run.data``, or ``custom_data`` when one was uploaded).
        model: the trained model.
        trainer: its Trainer (history, status, divergence message).
        initial_weights: the weights right after ``build_model`` (Reset restores them).
        version: bumped whenever the model is rebuilt or trained further; pages memoise on it.
        wanted: the settings the sidebar shows, ``RunConfig.to_dict()`` shaped.
        custom_data: an uploaded (or drawn) dataset that replaces the generated one.
        drawing: points drawn on the Playground's chart (the link carries them), or None.
        notes: one-shot messages shown at the top of the next full run (add with :func:`note`).
        push_widgets: True when ``wanted`` must be copied into the sidebar widgets.
        link: what the link set beyond the configuration (classroom mode, view flags, notices).
        upload: the last uploaded file handled.
        lock: held while weights change, so a download (served from another thread) sees a
            consistent model and history.
        model_key: ``(version, digest)``, the newest :func:`model_digest` and its version.
        cache: results :func:`memo` keeps for this session only (``shared=False``).
        live: the Playground's live training (its switch and newest picture), which the
            server's live trainer (``ui.live_trainer``) reads and writes.
        stream: how the live panel receives it.
    """

    run: RunConfig
    data: Dataset
    model: DeqModel
    trainer: Trainer
    initial_weights: dict[str, torch.Tensor]
    version: int = 0
    wanted: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_data: Dataset | None = None
    drawing: Drawing | None = None
    notes: list[str] = field(default_factory=list)
    push_widgets: bool = True
    link: Link = field(default_factory=Link)
    upload: Upload = field(default_factory=Upload)
    lock: threading.Lock = field(default_factory=threading.Lock)
    model_key: tuple[int, str] = (-1, "")
    cache: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    live: LiveState = field(default_factory=LiveState)
    stream: Stream = field(default_factory=Stream)

    @property
    def steps_done(self) -> int:
        return self.trainer.steps_done

    @property
    def budget(self) -> int:
        return self.run.train.train_steps

    @property
    def budget_reached(self) -> bool:
        return self.trainer.steps_done >= self.run.train.train_steps

    @property
    def diverged(self) -> bool:
        return self.trainer.status != "ok"


def presenting(session: Session) -> bool:
    """Presentation mode is on (the link's ``present=1`` or the Classroom panel's switch)."""
    return session.link.view["present"]


def uses_own_data(session: Session) -> bool:
    """The session's points are its own (uploaded or drawn), not generated from the settings."""
    return session.custom_data is not None or session.drawing is not None


def hidden_controls(session: Session) -> frozenset[str]:
    """The keys of the controls classroom mode hides (none while it is off)."""
    return session.link.hidden if session.link.classroom else frozenset()


def note(session: Session, text: str) -> None:
    """A one-shot message for the top of the next full run."""
    session.notes.append(text)


def take_messages(session: Session) -> tuple[list[str], list[str]]:
    """The link's notices (shown on the first run only) and the pending notes, both emptied."""
    notices, notes = session.link.notices, session.notes
    session.link.notices, session.notes = [], []
    return notices, notes


def open_link(session: Session, link: QueryResult | None) -> None:
    """Mark the link as read (on the session's first run) and take the settings, view flags
    and classroom mode from it (None: the URL had no parameters); a link to a preset says so
    in a note. Rebuilds the model if the link's run differs from the session's."""
    session.link.parsed = True
    if link is None:
        return
    session.link.notices = list(link.notices)
    session.link.view = {key: bool(link.view[key]) for key in session.link.view}
    session.link.classroom = session.link.from_url = bool(link.view["classroom"])
    session.link.hidden = frozenset(link.view["hide"])
    session.wanted = link.run.to_dict()
    session.push_widgets = True
    if link.view["preset"]:
        note(session, f"Opened the lesson preset {link.view['preset']}.")
    if link.run != session.run:
        rebuild(session, link.run)


def set_classroom(session: Session, on: bool, hidden: Iterable[str]) -> None:
    """Classroom mode on or off, hiding the controls ``hidden`` while it is on."""
    session.link.classroom = on
    session.link.hidden = frozenset(hidden)


def set_view(session: Session, key: str, value: bool) -> None:
    """A view flag ("showtest", "discrete" or "present"), kept in the link."""
    if key not in session.link.view:
        raise KeyError(f"{key!r} is not a view flag ({', '.join(session.link.view)})")
    session.link.view[key] = value


def record_upload(session: Session, file_id: str | None, error: str | None = None) -> None:
    """Remember the uploaded file handled last (None: the uploader is empty) and why it was
    refused, if it was."""
    session.upload = Upload(file_id, error)


QUICK_STEPS = 300  # the default step budget: quick training stops at the budget or here
# A time box for configurations whose steps are slow (a fine adaptive solver): training cut short
# by it depends on the machine's speed, so it is kept for the session, not shared.
QUICK_SECONDS = 8.0


def _data_digest(run: RunConfig, custom: Dataset | None) -> str:
    if custom is None:
        return digest("generated", run.data.to_dict())
    return digest("uploaded", custom.x_train, custom.y_train, custom.x_test, custom.y_test)


def data_digest(session: Session) -> str:
    """What determines the session's points: the data settings, or an upload's arrays."""
    return _data_digest(session.run, session.custom_data)


def model_digest(session: Session) -> str:
    """What determines every picture of the model: configuration, data, weights, steps taken and
    status; computed once per model version (under the session's lock, so never of weights
    half-way through a live step)."""
    with session.lock:
        if session.model_key[0] != session.version:
            key = weights_digest(
                session.model,
                session.run.to_dict(),
                data_digest(session),
                session.steps_done,
                session.trainer.status,
            )
            session.model_key = (session.version, key)
        return session.model_key[1]


def _memo_key(session: Session, name: str, per_version: bool) -> tuple[str, str, str]:
    return ("memo", name, model_digest(session) if per_version else data_digest(session))


def memo(
    session: Session,
    name: str,
    compute: Callable[[], T],
    *,
    per_version: bool = True,
    shared: bool = True,
) -> T:
    """``compute()`` memoised per model (or, if not ``per_version``, per dataset).

    ``shared``: in the server-wide cache, so every session with the same model gets the same
    object: ``compute`` must then depend only on the model, the data and what ``name`` says, and
    callers must not mutate the result. Otherwise in this session only, per model version.
    """
    if shared:
        return shared_cache().get(_memo_key(session, name, per_version), compute)
    version = session.version if per_version else data_digest(session)
    hit = session.cache.get(name)
    if hit is not None and hit[0] == version:
        return hit[1]
    value = compute()
    session.cache[name] = (version, value)
    return value


def memo_peek(session: Session, name: str, *, per_version: bool = True) -> Any | None:
    """What the shared :func:`memo` holds under ``name`` for the current model (or dataset), or
    None if it has not been computed for it yet; never computes."""
    return shared_cache().peek(_memo_key(session, name, per_version))


def coerce_run(wanted: dict[str, dict[str, Any]]) -> RunConfig:
    """A valid RunConfig from sidebar values, fixing combinations the widgets cannot exclude.

    Each widget alone only offers valid values; the cross-field repairs are
    ``deqnet.config.repair_run``'s, the same the URL codec applies (here without notices: the
    sidebar shows the repaired values).
    """
    values, _ = repair_run(wanted)
    return RunConfig.from_dict(values)


def open_sweep_cell(cell: SweepCell, *, note: str) -> None:
    """Show a sweep cell's settings in every sidebar widget and rebuild its model (untrained).

    A cell of generated data is applied like a preset (:func:`apply_run`); a cell trained on
    uploaded data keeps that data and takes only its model and training settings. As with
    :func:`apply_run`, follow it with ``st.switch_page`` / ``st.rerun``.
    """
    if cell.spec.run_config is not None:
        apply_run(cell.spec.run_config, note=note)
        return
    session = get_session()
    run = RunConfig(
        data=coerce_run(session.wanted).data,
        model=cell.spec.model_config,
        train=cell.spec.train_config,
    )
    session.wanted = run.to_dict()
    session.push_widgets = True
    rebuild(session, run, note=note)


def _build(run: RunConfig, custom: Dataset | None) -> tuple[Dataset, DeqModel, Trainer, dict]:
    data = custom if custom is not None else run.data.make()
    model = build_model(run.model, data.n_classes, seed=run.train.seed)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return data, model, Trainer(model, data, run.train), initial


def new_session(run: RunConfig) -> Session:
    """A fresh, untrained session for ``run``."""
    data, model, trainer, initial = _build(run, None)
    return Session(run, data, model, trainer, initial, wanted=run.to_dict())


def get_session() -> Session:
    """This browser session's Session (created with default settings on first use)."""
    if _STATE_KEY not in st.session_state:
        st.session_state[_STATE_KEY] = new_session(RunConfig())
    return st.session_state[_STATE_KEY]


def current_run() -> RunConfig:
    """The configuration the sidebar shows now (may differ from the model's until :func:`sync`)."""
    return coerce_run(get_session().wanted)


def rebuild(session: Session, run: RunConfig, *, note: str | None = None) -> None:
    """Build data, model and trainer for ``run`` (untrained); keeps any uploaded dataset."""
    data, model, trainer, initial = _build(run, session.custom_data)
    with session.lock:
        session.run, session.data, session.model = run, data, model
        session.trainer, session.initial_weights = trainer, initial
    session.live.running = False
    session.version += 1
    if note:
        session.notes.append(note)


def sync(session: Session) -> None:
    """Bring the model in line with the wanted settings.

    Data, model or seed changes rebuild the model (a link must reproduce the run from its initial
    weights); other training changes keep the weights and rebuild the optimiser; a new step budget
    alone changes nothing else.
    """
    run = coerce_run(session.wanted)
    old = session.run
    if run == old:
        return
    data_changed = session.custom_data is None and run.data != old.data
    if data_changed or run.model != old.model or run.train.seed != old.train.seed:
        rebuild(session, run, note=DATA_RESET_NOTE if data_changed else MODEL_RESET_NOTE)
        return
    if run.train.replace(train_steps=old.train.train_steps) != old.train:
        trainer = Trainer(session.model, session.data, run.train)
        with session.lock:
            trainer.history.extend(session.trainer.history)
            session.trainer = trainer
        note(session, OPTIMISER_NOTE)
    session.run = run
    session.version += 1


def reset(session: Session) -> None:
    """Back to the initial weights of this configuration, with an empty history."""
    with session.lock:
        session.model.load_state_dict(session.initial_weights)
        session.trainer = Trainer(session.model, session.data, session.run.train)
    session.live.running = False
    session.version += 1


def train_chunk(session: Session, max_seconds: float) -> list[StepRecord]:
    """Train toward the step budget for at most about ``max_seconds`` (at least one step)."""
    remaining = session.run.train.train_steps - session.trainer.steps_done
    if remaining <= 0 or session.diverged:
        return []
    with session.lock:
        records = session.trainer.step(remaining, max_seconds=max_seconds)
    session.version += 1
    return records


def step_once(session: Session) -> None:
    """One optimiser step (the Step button; not limited by the step budget)."""
    with session.lock:
        session.trainer.step(1)
    session.live.running = False
    session.version += 1


def trained_summary(session: Session) -> str:
    """The caption "Model after 120 of 300 training steps, train accuracy 97 %" (regression:
    "train R² 0.95")."""
    trainer = session.trainer
    last = trainer.history[-1] if trainer.history else None
    accuracy = ""
    if last and trainer.data.task == "regression":
        accuracy = f", train R² {last.train_acc:.2f}"
    elif last:
        accuracy = f", train accuracy {100 * last.train_acc:.0f} %"
    return (
        f"Model after {trainer.steps_done} of {session.run.train.train_steps} training steps"
        f"{accuracy}"
    )


def quick_trained(run: RunConfig, custom: Dataset | None = None) -> Trainer:
    """A model of ``run`` trained for ``min(budget, QUICK_STEPS)`` steps on its generated data
    (or on ``custom``, an upload), from the server-wide cache: the first caller trains it, in its
    turn at the CPU (``ui.slots``); the others wait for that result. Training the time box cut
    short is not shared. Do not train the result: ``Trainer.copy`` it."""

    def train() -> Trainer:
        data = custom if custom is not None else run.data.make()
        with busy_turn():
            model = build_model(run.model, data.n_classes, seed=run.train.seed)
            trainer = Trainer(model, data, run.train)
            trainer.step(min(run.train.train_steps, QUICK_STEPS), max_seconds=QUICK_SECONDS)
        return trainer

    def complete(trainer: Trainer) -> bool:
        return trainer.status != "ok" or trainer.steps_done >= min(
            run.train.train_steps, QUICK_STEPS
        )

    key = ("quick", digest(run.to_dict(), _data_digest(run, custom)))
    return shared_cache().get(key, train, keep=complete)


def ensure_trained() -> Session:
    """The session, quick-trained toward its step budget if it has no steps yet.

    The weights, optimiser state and history are a copy of the server's one quick training of
    this configuration and data (:func:`quick_trained`), so they are the same as training alone,
    and a class opening the same link trains once.
    """
    session = get_session()
    if session.trainer.steps_done == 0 and not session.diverged:
        with st.spinner("Quick training…", show_time=True):
            trainer = quick_trained(session.run, session.custom_data).copy()
        with session.lock:
            session.trainer, session.model = trainer, trainer.model
        session.version += 1
    return session


def apply_run(run: RunConfig, *, note: str) -> None:
    """Show ``run`` in every sidebar widget and rebuild data and model (untrained).

    The widgets are updated at the start of the next script run, so call this from a widget
    callback or follow it with ``st.switch_page`` / ``st.rerun``. Uploaded data is dropped: a
    preset or a sweep cell means its own generated data.
    """
    session = get_session()
    session.custom_data = session.drawing = None
    session.wanted = run.to_dict()
    session.push_widgets = True
    rebuild(session, run, note=note)


def apply_preset(preset: Preset) -> None:
    """Load a lesson preset (see :func:`apply_run`) with a note saying what to look at."""
    note = f"Loaded lesson preset: {preset.title}. Look at: {preset.what_to_look_at}"
    apply_run(preset.run, note=note)


def want(session: Session, section: str, name: str, value: Any) -> None:
    """Change one wanted setting as its sidebar widget would; the widgets show it when the
    sidebar is next drawn (call from a widget callback), and :func:`sync` then applies it."""
    session.wanted[section][name] = value
    session.push_widgets = True


def regenerate_data(session: Session) -> None:
    """New random points: a fresh data seed, drawn from the OS within the link's limits."""
    want(session, "data", "seed", secrets.randbelow(int(LIMITS["seed"][1]) + 1))


def use_custom_data(session: Session, data: Dataset) -> None:
    """Replace the generated dataset by ``data`` for this session and reset the model."""
    session.custom_data, session.drawing = data, None
    rebuild(session, coerce_run(session.wanted), note=None)


def drop_custom_data(session: Session, name: str | None = None) -> None:
    """Go back to the dataset generated from the sidebar settings (of data set ``name``, if
    given: the sidebar shows it)."""
    session.custom_data = session.drawing = None
    if name is not None:
        want(session, "data", "name", name)
    rebuild(session, coerce_run(session.wanted), note=DATA_RESET_NOTE)


def load_trained(
    session: Session,
    run: RunConfig,
    weights: dict[str, torch.Tensor],
    history: list[StepRecord],
) -> None:
    """Install an uploaded run: its settings, its generated data, its weights and history.

    Everything is built and checked before the session is touched, so a failure leaves the
    session as it was (raises ConfigError, DatasetError or RuntimeError from load_state_dict).
    """
    data, model, trainer, initial = _build(run, None)
    model.load_state_dict(weights)
    trainer.history.extend(history)
    session.custom_data = session.drawing = None
    with session.lock:
        session.run, session.data, session.model = run, data, model
        session.trainer, session.initial_weights = trainer, initial
    session.wanted = run.to_dict()
    session.push_widgets = True
    session.live.running = False
    session.version += 1


__all__ = [
    "Drawing",
    "Link",
    "Session",
    "Stream",
    "Upload",
    "apply_preset",
    "apply_run",
    "coerce_run",
    "current_run",
    "drop_custom_data",
    "ensure_trained",
    "trained_summary",
    "get_session",
    "hidden_controls",
    "presenting",
    "load_trained",
    "data_digest",
    "memo",
    "memo_peek",
    "model_digest",
    "quick_trained",
    "note",
    "open_link",
    "record_upload",
    "regenerate_data",
    "new_session",
    "open_sweep_cell",
    "rebuild",
    "set_classroom",
    "set_view",
    "reset",
    "step_once",
    "sync",
    "take_messages",
    "train_chunk",
    "use_custom_data",
    "uses_own_data",
    "want",
]
