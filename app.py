"""deqnet's launcher: ``streamlit run app.py`` (``make run``) serves the app and its live stream.

Streamlit finds ``app`` below, an ``st.App``: for every browser tab it runs the Streamlit script
``streamlit_app.py``, and beside its own routes it serves the websocket route that streams live
training to the Playground's panel (``ui.live_route``). As it starts, it trains in the background
what the pages open on (``ui.warm_up``), so the first class to arrive does not wait for it.
Running ``streamlit_app.py`` directly also works, without the stream (the panel then falls back
to polling) and without the warm-up.
"""

import streamlit as st

from ui.live_route import LIVE_ROUTE
from ui.plotly_js import install_plotly_js
from ui.warm_up import start_warm_up

install_plotly_js()  # before the server starts: static serving looks for its folder then
app = st.App("streamlit_app.py", routes=[LIVE_ROUTE])
start_warm_up()
