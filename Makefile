# latentlab — the commands the README documents. Everything runs inside .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Stage commands in dvc.yaml call `python`: make it the project's interpreter.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup repro test ui tracking-init check-params bench clean-venv

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

check-params: setup  ## validate params.yaml without running anything
	$(PY) -m latentlab.params validate params.yaml

bench: setup  ## measure the pipeline's wall times in a throwaway copy (prints a table)
	$(PY) benchmarks/pipeline_timing.py --out benchmarks/pipeline_timing.json

tracking-init: setup  ## create the MLflow database once (before parallel queue workers)
	$(PY) -m latentlab.tracking init

repro: setup check-params tracking-init  ## install everything, then run the whole pipeline
	dvc repro

test: setup  ## the whole test suite (unit + a real `dvc repro` on tiny params)
	$(PY) -m pytest

ui: setup  ## browse the runs at http://127.0.0.1:5000
	mlflow ui --backend-store-uri "$$($(PY) -m latentlab.tracking uri)" \
		--host 127.0.0.1 --port 5000 --workers 1

clean-venv:
	rm -rf $(VENV)
