# deqnet developer tasks. Recipes use tabs. CI entry point: .ci/run -> `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RUFF   := $(VENV)/bin/ruff
STAMP  := $(VENV)/.stamp
TORCH  := torch==2.13.0
CHROMIUM := /usr/bin/chromium

# Keep torch/BLAS single-threaded, as in production (deqnet/_process.py sets one torch thread).
run test loadtest: export OMP_NUM_THREADS := 1
run test loadtest: export MKL_NUM_THREADS := 1

.PHONY: help venv run test lint format bench loadtest clean chromium

help:
	@echo "make run       start the Streamlit app (http://localhost:8501)"
	@echo "make test      ruff check + ruff format --check + pytest (installs chromium via apt if root)"
	@echo "make lint      ruff check + ruff format --check"
	@echo "make format    ruff format + ruff check --fix"
	@echo "make bench     python -m bench"
	@echo "make loadtest  full load test (tests/test_load.py -m load --full-load)"
	@echo "make clean     remove .venv and caches"

# Internal: (re)install only when a requirements file changed.
venv: $(STAMP)

# torch first, from the pinned CPU wheel; an unpinned resolve would pull the multi-GB CUDA build.
$(STAMP): requirements.txt requirements-dev.txt requirements-ray.txt
	@test -x $(PY) || { echo "==> creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q $(TORCH)
	@# requirements.txt names PyTorch's CPU index for Community Cloud; offline it is unreachable
	@# (pip would retry it for every package), and torch is installed already: use a copy without it.
	grep -v '^--extra-index-url' requirements.txt > $(VENV)/requirements-offline.txt
	$(PY) -m pip install -q -r $(VENV)/requirements-offline.txt -r requirements-dev.txt \
		-r requirements-ray.txt
	@touch $@

run: venv
	$(PY) -m streamlit run app.py

# Browser tests need Chromium from Debian (never `playwright install`).
chromium:
	@if [ -x $(CHROMIUM) ]; then \
		echo "==> chromium present: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "==> installing chromium via apt-get"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else \
		echo "==> WARNING: $(CHROMIUM) missing and not root; browser tests will not run"; \
	fi

test: venv chromium
	@echo "==> ruff check"
	$(RUFF) check .
	@echo "==> ruff format --check"
	$(RUFF) format --check .
	@echo "==> pytest (OMP_NUM_THREADS=$$OMP_NUM_THREADS)"
	$(PY) -m pytest

lint: venv
	$(RUFF) check .
	$(RUFF) format --check .

format: venv
	$(RUFF) format .
	$(RUFF) check --fix .

bench: venv
	$(PY) -m bench

loadtest: venv
	$(PY) -m pytest tests/test_load.py -m load --full-load -s

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
