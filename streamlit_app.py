"""deqnet's Streamlit script: train small 2-D networks live and see them as differential equations.

``app.py`` serves it (``streamlit run app.py``, with the live stream's route); AppTest runs it
directly. This file is only the frame: page config, the shared sidebar and the navigation live
in ``ui.frame``; each page is a file in ``app_pages/``.
"""

from ui.frame import run

run()
