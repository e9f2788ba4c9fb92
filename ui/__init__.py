"""Streamlit helpers shared by the script and the pages: state, sidebar, live training, display.

Everything Streamlit-specific lives here (``deqnet`` never imports streamlit). Pages import
``ui.state``, ``ui.show`` and ``ui.pages``; only ``streamlit_app.py`` uses ``ui.frame``, and
only the launcher ``app.py`` uses ``ui.live_route``.
"""
