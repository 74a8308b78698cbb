# latentlab — the commands the README documents. Everything runs inside .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Stage commands in dvc.yaml call `python`: make it the project's interpreter.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup setup-test setup-chromium setup-postgres repro test ui compare tracking-init \
        check-params bench clean-venv

# `make setup` (and so `make repro`) needs no root: only the .venv. The test suite's system
# programs come from `make setup-test` (run by `make test`), the one place apt-get/sudo is used:
# headless Chromium for the report's browser test (tests/e2e/test_report_browser.py): Debian's
# `chromium` package, installed with apt-get only where `chromium` is not on the PATH yet
# (through sudo when not root). Elsewhere, install Chromium yourself or set CHROMIUM.
# PostgreSQL for shared tracking (make team-server, team-tracking-check and their test): Debian's
# `postgresql` package, installed the same way where `python -m latentlab.team bindir` finds no
# initdb/pg_ctl/postgres (Debian keeps them off the PATH, in /usr/lib/postgresql/<ver>/bin).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# $(call apt_install,PACKAGE,WHAT NEEDS IT,WHAT TO DO WITHOUT apt-get): one shell command
define apt_install
{ if command -v apt-get >/dev/null 2>&1; then \
    echo "setup-test: installing $(1) (apt-get) for $(2)"; \
    $(SUDO) apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(1) >/dev/null; \
  else \
    echo "setup-test: no $(1) and no apt-get: $(3) ($(2) needs it)" >&2; \
  fi; }
endef

setup: $(VENV)/.installed  ## .venv with the pinned requirements and this package (no root needed)

setup-test: setup setup-chromium setup-postgres  ## what `make test` needs beyond .venv

setup-chromium:
	@command -v chromium >/dev/null 2>&1 || command -v "$$CHROMIUM" >/dev/null 2>&1 || \
	  $(call apt_install,chromium,the report's browser test,install Chromium or set CHROMIUM)

setup-postgres: setup
	@$(PY) -m latentlab.team bindir >/dev/null 2>&1 || \
	  $(call apt_install,postgresql,shared tracking and its test,install PostgreSQL or set LATENTLAB_PG_BIN)

# Python 3.11 exactly (README; pyproject.toml's requires-python is >=3.11, but pinned wheels such
# as openTSNE 1.0.4 exist for cp311 only). Checked once, when .venv is created.
$(VENV)/.installed: requirements.txt pyproject.toml
	@v="$$($(PYTHON) -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)"; \
	  case "$$v" in 3.11.*) ;; \
	  *) echo "setup: Python 3.11 is required, but $(PYTHON) is $${v:-missing}: install 3.11 and run e.g. \`make repro PYTHON=python3.11\`" >&2; exit 1;; \
	  esac
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@echo "setup: installing requirements.txt into $(VENV): the first time, torch and its CUDA libraries are a ~5.5 GB download (a few minutes)"
	$(PY) -m pip install --progress-bar on -r requirements.txt
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

repro: setup check-params tracking-init  ## .venv, then the whole pipeline (no root needed)
	$(PY) -m latentlab.pipeline.run repro  # `dvc repro` under one parent MLflow run, then changes

.PHONY: changes
changes: setup  ## what changed since the last commit (params, data, code, metrics beyond noise)
	$(PY) -m latentlab.report.changes  # prints it; writes the git-ignored reports/changes.md

.PHONY: vendor-vega
vendor-vega: setup  ## refetch from npm the vega libraries inlined in .dvc/plots/offline.html
	$(PY) scripts/vendor_vega.py  # the versions DVC's own page asks for; the page records sha256s

compare: setup  ## experiments side by side in ~120 columns: params that differ, headline metrics
	$(PY) -m latentlab.pipeline.compare  # add `dvc exp show` options by hand, e.g. -A: every commit

test: setup-test  ## the whole test suite (unit + a real `dvc repro` on tiny params)
	$(PY) -m pytest

UI_PORT ?= 5000
ui: setup  ## mlflow ui on http://127.0.0.1:5000, opened on the runs table (prints its URL)
	$(PY) -m latentlab.tracking ui --port $(UI_PORT)  # on a tracking server: prints its URL

.PHONY: team-server team-tracking-check bench-device
team-server: setup-postgres  ## PostgreSQL + an MLflow server on it until Ctrl-C; prints the export line
	$(PY) -m latentlab.team serve

team-tracking-check: setup-postgres  ## the pipeline (tiny params, a throwaway copy) through such a server
	$(PY) -m latentlab.team check

bench-device: setup  ## issue 11: fit vs pytorch/examples' loop, large batch, bf16, IWAE (any device)
	$(PY) benchmarks/device_training.py --out benchmarks/results_device.json

clean-venv:
	rm -rf $(VENV)
