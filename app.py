"""deqnet: train small 2-D networks live and see them as differential equations.

Run with ``make run`` (``streamlit run app.py``). This file is only the frame: page config, the
shared sidebar and the navigation live in ``ui.frame``; each page is a file in ``app_pages/``.
"""

from ui.frame import run

run()
