"""Links, classroom mode, downloads and uploads, on top of ``deqnet.sharing``.

The URL is handled manually with the sharing codec rather than ``bind="query-params"``: the codec
clamps bad values and says so in a visible notice (bound widgets drop them silently), and it keeps
the values of controls that are not rendered (other families' knobs, classroom-hidden controls).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from deqnet import DatasetError, RunConfig
from deqnet.presets import PRESETS
from deqnet.sharing import (
    HIDEABLE,
    MAX_CSV_BYTES,
    MAX_LINK_POINTS,
    RunFileError,
    check_loaded_run_behaves,
    dataset_to_csv,
    load_csv,
    reproduce_script,
    run_from_json,
    run_from_query,
    run_to_json,
    run_to_query,
    safe_text,
)
from ui.controls import hideable_in_sidebar_order, label_of
from ui.drawing import fits_link, open_drawing
from ui.state import (
    Session,
    coerce_run,
    load_trained,
    note,
    open_link,
    presenting,
    record_upload,
    set_classroom,
    set_view,
    use_custom_data,
)

MAX_UPLOAD_MB = max(1, MAX_CSV_BYTES // 1_000_000)


def _presets() -> Mapping[str, RunConfig]:
    """Preset name -> RunConfig: what a ``?preset=<name>`` link may open."""
    return {name: preset.run for name, preset in PRESETS.items()}


def read_url(session: Session) -> None:
    """On the session's first run: settings, view flags and classroom mode from the link."""
    if session.link.parsed:
        return
    query = {key: st.query_params.get_all(key) for key in st.query_params}
    link = run_from_query(query, presets=_presets()) if query else None
    open_link(session, link)
    if link is not None and link.points is not None:
        open_drawing(session, link.points)


def link_query(session: Session) -> dict[str, str]:
    """The query parameters of a link to the current setup (only non-default values, and the
    drawn points if a link can carry them)."""
    view: dict[str, Any] = dict(session.link.view)
    if session.link.classroom:
        view.update(classroom=True, hide=tuple(session.link.hidden))
    points = session.drawing.points if fits_link(session) else None
    return run_to_query(coerce_run(session.wanted), view, points=points)


def write_url(session: Session) -> None:
    """Mirror the current setup in the browser's address bar (only when it changed)."""
    wanted = link_query(session)
    if wanted != st.query_params.to_dict():
        st.query_params.from_dict(wanted)


def share_link(session: Session) -> str:
    """The full link to this setup (just the query string when the app URL is unknown)."""
    query = urlencode(link_query(session))
    base = st.context.url or ""
    return f"{base}?{query}" if query else base or "(the app's address: all settings are defaults)"


# --------------------------------------------------------------------------------------------
# Classroom mode
# --------------------------------------------------------------------------------------------


def _classroom_changed(session: Session) -> None:
    set_classroom(
        session, bool(st.session_state.get("cls_on")), st.session_state.get("cls_hide") or ()
    )


def classroom_panel(session: Session) -> None:
    """Sidebar expander where a teacher picks controls to hide and gets the classroom link."""
    if session.link.from_url:
        return
    if "cls_hide" not in st.session_state:
        st.session_state["cls_hide"] = [k for k in HIDEABLE if k in session.link.hidden]
    if "cls_on" not in st.session_state:
        st.session_state["cls_on"] = session.link.classroom
    with st.expander("Classroom", icon=":material/school:"):
        st.caption(
            "Pick the controls students should not see, switch classroom mode on and share the "
            "link. Train, Pause and Reset always stay."
        )
        st.pills(
            "Controls to hide",
            hideable_in_sidebar_order(HIDEABLE),
            selection_mode="multi",
            format_func=label_of,
            key="cls_hide",
            on_change=_classroom_changed,
            args=(session,),
        )
        st.toggle(
            "Classroom mode",
            key="cls_on",
            on_change=_classroom_changed,
            args=(session,),
            help="Hides the picked controls here and in the link (classroom=1&hide=…).",
        )
        if "cls_present" not in st.session_state:
            st.session_state["cls_present"] = presenting(session)
        st.toggle(
            "Presentation mode",
            key="cls_present",
            on_change=lambda: set_view(session, "present", st.session_state["cls_present"]),
            help="For a projector: the sidebar folds away, charts fit a 1280×720 screen and text "
            "is larger (present=1 in the link). Open the sidebar with the arrow at the top left.",
        )
        if session.link.classroom:
            st.caption("Classroom link (copy it with the button on the right):")
            st.code(share_link(session), language=None, wrap_lines=True)


# --------------------------------------------------------------------------------------------
# Downloads and uploads
# --------------------------------------------------------------------------------------------


def _run_json(session: Session) -> str:
    with session.lock:
        return run_to_json(session.run, session.model, list(session.trainer.history))


def _downloads(session: Session) -> None:
    run = session.run
    st.markdown("**Download**")
    # (label, contents or a function making them, file name, MIME type, icon, help)
    files = (
        (
            "Config",
            json.dumps(run.to_dict(), indent=2),
            "deqnet-config.json",
            "application/json",
            "settings",
            "The settings (data, model, training) as JSON.",
        ),
        (
            "Run",
            lambda: _run_json(session),
            "deqnet-run.json",
            "application/json",
            "model_training",
            "Settings, trained weights and the loss history; upload it later to continue.",
        ),
        (
            "Data",
            lambda: dataset_to_csv(session.data),
            f"deqnet-{session.data.name}.csv",
            "text/csv",
            "table",
            "The train and test points as CSV (x1, x2, label, split).",
        ),
        (
            "Script",
            reproduce_script(run),
            "reproduce_run.py",
            "text/x-python",
            "code",
            "A short Python script that trains the same model with deqnet.",
        ),
    )
    for column, (label, contents, file_name, mime, icon, text) in zip(
        st.columns(len(files)), files, strict=True
    ):
        # on_click="ignore": a download must not rerun the page (it would interrupt training).
        column.download_button(
            label,
            contents,
            file_name=file_name,
            mime=mime,
            on_click="ignore",
            icon=f":material/{icon}:",
            help=text,
            key=f"pg_dl_{label.lower()}",
        )


def _load_upload(session: Session, name: str, raw: bytes) -> str | None:
    """Apply an uploaded run (.json) or dataset (.csv); returns a markdown-safe error or None.

    Everything is parsed and checked first, so a bad file leaves the session untouched.
    """
    if name.lower().endswith(".csv"):
        try:
            data = load_csv(
                raw, test_fraction=session.run.data.test_fraction, seed=session.run.data.seed
            )
        except DatasetError as err:
            return safe_text(f"That CSV file cannot be used: {err}", None)
        use_custom_data(session, data)
        note(
            session,
            f"Loaded your data ({data.n_train + data.n_test} points, {data.n_classes} classes); "
            "the model was reset. Uploaded data is not part of the shareable link.",
        )
        return None
    try:
        loaded = run_from_json(raw, max_bytes=MAX_UPLOAD_MB * 1_000_000)
    except RunFileError as err:
        return str(err)  # already markdown-safe
    try:
        data = loaded.run.data.make()
    except DatasetError as err:
        return safe_text(f"The run's data cannot be generated: {err}", None)
    problem = check_loaded_run_behaves(loaded, data)
    if problem:
        return problem
    load_trained(session, loaded.run, loaded.state_dict, loaded.history)
    note(
        session,
        f"Loaded the run ({len(loaded.history)} training steps); the sidebar shows its settings.",
    )
    return None


def _uploads(session: Session) -> None:
    st.markdown("**Upload**")
    upload = st.file_uploader(
        "A run file (.json) or a dataset (.csv with columns x1, x2, label[, split])",
        type=["json", "csv"],
        max_upload_size=MAX_UPLOAD_MB,
        key="pg_upload",
        help="A bad file is refused with a message and changes nothing. Whole-number labels "
        "are classes; a label that is not a whole number (0.37), or a column named target "
        "instead of label, makes every label a real target: regression data.",
    )
    if upload is None:
        record_upload(session, None)
        return
    if upload.file_id != session.upload.file_id:
        error = _load_upload(session, upload.name, upload.getvalue())
        record_upload(session, upload.file_id, error)
        if error is None:
            st.rerun()  # the sidebar was drawn before the upload: redraw it with the new settings
    if session.upload.error:
        st.error(session.upload.error, icon=":material/error:")
    st.caption("Uploaded data stays in this browser session; it is not part of the link.")


def export_panel(session: Session, hidden: frozenset[str]) -> None:
    """The Playground's "Share, download and upload" expander (parts may be classroom-hidden)."""
    show_export, show_upload = "export" not in hidden, "upload" not in hidden
    if not (show_export or show_upload):
        return
    with st.expander("Share, download and upload", icon=":material/share:"):
        if show_export:
            st.markdown("**Link to this setup** (data, seed, model and training settings):")
            st.code(share_link(session), language=None, wrap_lines=True)
            if session.drawing is not None and fits_link(session):
                st.caption("The link carries your drawn points.")
            elif session.drawing is not None:
                st.warning(
                    f"Your drawing has {len(session.drawing.points)} points, more than a link "
                    f"carries ({MAX_LINK_POINTS}): the link regenerates the data from its "
                    "settings. Download the data (CSV) below and upload it to share your points.",
                    icon=":material/link_off:",
                )
            elif session.custom_data is not None:
                st.caption("The link regenerates the data from its settings, not your upload.")
            _downloads(session)
        if show_upload:
            _uploads(session)
