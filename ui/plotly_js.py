"""plotly.js for the live panel, from plotly.py's own package data: nothing from the internet.

Copied into ``static/`` and served by Streamlit's static file serving
(``server.enableStaticServing``, which looks for that folder when the server starts: the
launcher ``app.py`` installs it before). The browser caches it.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import plotly

_LOG = logging.getLogger("deqnet.ui")
APP_DIR = Path(__file__).resolve().parents[1]
STATIC_PLOTLY = APP_DIR / "static" / "plotly.min.js"
PACKAGE_PLOTLY = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def install_plotly_js() -> bool:
    """Copy plotly.py's plotly.min.js to ``static/`` (once per version); False if impossible.

    Written to a temporary name and renamed, so a browser never gets half a file.
    """
    try:
        if STATIC_PLOTLY.exists() and STATIC_PLOTLY.stat().st_size == PACKAGE_PLOTLY.stat().st_size:
            return True
        STATIC_PLOTLY.parent.mkdir(exist_ok=True)
        partial = STATIC_PLOTLY.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(PACKAGE_PLOTLY, partial)
        partial.replace(STATIC_PLOTLY)
        return True
    except OSError:
        _LOG.exception("cannot install plotly.js for the live panel; the page will poll")
        return False
