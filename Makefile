# The two set-up commands of the README: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint typecheck unit bench bench-check clean

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

demo: $(VENV)/.core
	$(BIN)/python examples/quickstart.py

lint: $(VENV)/.test
	$(BIN)/ruff check eventlog views storage tests bench examples
	$(BIN)/mypy

unit: $(VENV)/.test
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test: lint unit

bench: $(VENV)/.test
	$(BIN)/python -m bench

bench-check: $(VENV)/.test
	$(BIN)/python -m bench --check

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
