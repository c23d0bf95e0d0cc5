# The single entry point for humans and CI. `make run` and `make test` install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: install run test test-fast lint format check bench clean screenshots loadtest soak faults

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

run: install
	PORT=$(PORT) $(PY) manage.py serve

test: install
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest tests/unit -q

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

check: lint test

# The fault-injection suite alone (it also runs inside `make test`).
faults: install
	LEGATO_REQUIRE_SERVICES=1 $(PY) -m pytest tests/faults $(PYTEST_ARGS)

# Release soak: the same fault suite, larger and longer (not part of `make test` or CI).
# SOAK_SCALE multiplies executions, kills and time limits (docs/reliability.md).
SOAK_SCALE ?= 10
soak: install
	LEGATO_REQUIRE_SERVICES=1 LEGATO_FAULT_SCALE=$(SOAK_SCALE) \
	  LEGATO_FAULT_REPORT=data/soak-report.json $(PY) -m pytest tests/faults $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache

screenshots: install
	$(PY) scripts/screenshots.py

bench: install
	$(PY) scripts/bench.py
	$(PY) scripts/bench_runtime.py

loadtest: install
	$(PY) scripts/loadtest.py $(LOADTEST_ARGS)
