# latentlab — the commands the README documents. Everything runs inside .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Stage commands in dvc.yaml call `python`: make it the project's interpreter.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup repro test ui tracking-init check-params bench clean-venv

# Headless Chromium for the report's browser test (tests/e2e/test_report_browser.py): Debian's
# `chromium` package, installed with apt-get only where `chromium` is not on the PATH yet
# (through sudo when not root). Elsewhere, install Chromium yourself or set CHROMIUM.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

setup: $(VENV)/.installed  ## .venv with the pinned requirements, and Chromium for the tests
	@command -v chromium >/dev/null 2>&1 || command -v "$$CHROMIUM" >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "setup: installing chromium (apt-get) for the report's browser test"; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "setup: no chromium and no apt-get: install Chromium or set CHROMIUM" \
	         "(the report's browser test needs it)" >&2; \
	  fi; }

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

check-params: setup  ## validate params.yaml without running anything
	$(PY) -m latentlab.params validate params.yaml

bench: setup  ## issue 7 measurements, < 10 min: prints a table, writes benchmarks/results.json
	$(PY) benchmarks/run_all.py --out benchmarks/results.json

.PHONY: bench-large
bench-large: setup  ## opt-in: the whole pipeline on 70 000 synthetic 28x28 images (10+ min)
	$(PY) benchmarks/large_pipeline.py --out benchmarks/results_large.json

tracking-init: setup  ## create the MLflow database once (before parallel queue workers)
	$(PY) -m latentlab.tracking init

repro: setup check-params tracking-init  ## install everything, then run the whole pipeline
	$(PY) -m latentlab.pipeline_run repro  # `dvc repro` under one parent MLflow run

test: setup  ## the whole test suite (unit + a real `dvc repro` on tiny params)
	$(PY) -m pytest

ui: setup  ## browse the runs at http://127.0.0.1:5000
	mlflow ui --backend-store-uri "$$($(PY) -m latentlab.tracking uri)" \
		--host 127.0.0.1 --port 5000 --workers 1

clean-venv:
	rm -rf $(VENV)
