# deqnet in a container, following Streamlit's Docker convention (docs: deploy/tutorials/docker).
#   docker build -t deqnet .
#   docker run --rm -p 8501:8501 --memory=2g --cpus=2 deqnet      # then open http://localhost:8501
# Resource numbers and the load-balancer setup for a class: README, "Hosting".
FROM python:3.11-slim

WORKDIR /app

# curl is only for the HEALTHCHECK below.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

# One BLAS/OpenMP thread: the models are tiny, and deqnet also calls torch.set_num_threads(1).
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_NUM_THREADS=1 \
    MKL_NUM_THREADS=1

# CPU-only torch first, from PyTorch's CPU index (the PyPI Linux wheel pulls GBs of CUDA
# libraries), at the version requirements.txt pins; then the rest (torch is then satisfied).
COPY requirements.txt .
RUN pip install --index-url https://download.pytorch.org/whl/cpu "$(grep -E '^torch==' requirements.txt)" \
    && pip install -r requirements.txt

COPY . .
# The production settings (XSRF on, 5 MB uploads, no error details, no file watcher) replace the
# development config.
COPY .streamlit/config.production.toml .streamlit/config.toml

# plotly.js for the live charts, from plotly.py's package data into static/ (the app user
# cannot write to /app).
RUN python -c "from ui.plotly_js import install_plotly_js; assert install_plotly_js()"

RUN useradd --create-home --uid 10001 deqnet
USER deqnet

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD curl --fail --silent http://localhost:8501/_stcore/health || exit 1

ENTRYPOINT ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true", "--server.fileWatcherType=none", "--browser.gatherUsageStats=false"]
