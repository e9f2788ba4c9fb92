"""Sharing a run: the URL codec, run files (JSON), data files (CSV), a reproduce script, and
markdown-safe text.

Everything that arrives from a link or an upload is untrusted; these functions validate it and
report problems as short sentences that are safe to show in Streamlit markdown.
"""

from deqnet.sharing.csvfile import CSV_COLUMNS, MAX_CSV_BYTES, dataset_to_csv, load_csv
from deqnet.sharing.points import (
    MAX_LINK_POINTS,
    DrawnPoints,
    PointsError,
    decode_points,
    encode_points,
    on_grid,
)
from deqnet.sharing.query import (
    FIELD_SPECS,
    HIDEABLE,
    MAX_NOTICES,
    QUERY_FIELDS,
    VIEW_FIELDS,
    FieldSpec,
    QueryResult,
    ViewField,
    default_view,
    run_from_query,
    run_to_query,
)
from deqnet.sharing.runfile import (
    LoadedRun,
    RunFileError,
    check_loaded_run_behaves,
    run_from_json,
    run_to_json,
)
from deqnet.sharing.script import reproduce_script
from deqnet.sharing.text import clip_text, safe_text

__all__ = [
    "CSV_COLUMNS",
    "FIELD_SPECS",
    "HIDEABLE",
    "MAX_CSV_BYTES",
    "MAX_LINK_POINTS",
    "MAX_NOTICES",
    "QUERY_FIELDS",
    "VIEW_FIELDS",
    "DrawnPoints",
    "FieldSpec",
    "LoadedRun",
    "PointsError",
    "QueryResult",
    "RunFileError",
    "ViewField",
    "check_loaded_run_behaves",
    "clip_text",
    "dataset_to_csv",
    "decode_points",
    "default_view",
    "encode_points",
    "load_csv",
    "on_grid",
    "reproduce_script",
    "run_from_json",
    "run_from_query",
    "run_to_json",
    "run_to_query",
    "safe_text",
]
