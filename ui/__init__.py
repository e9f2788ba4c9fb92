"""Streamlit helpers shared by app.py and the pages: state, sidebar, live training, display.

Everything Streamlit-specific lives here (``deqnet`` never imports streamlit). Pages import
``ui.state``, ``ui.show`` and ``ui.pages``; only ``app.py`` uses ``ui.frame``.
"""
