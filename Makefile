# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck samples bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	@touch $@

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $@

## make run: install into .venv and serve on http://127.0.0.1:8000 (SQLite + ./data)
run: $(STAMP)
	$(BIN)/imagerepo serve

## make test: dev dependencies, lint, types, then the whole suite with coverage on the embedded
## profile (SQLite, blobs in the data folder, in-process cache), then the API (ingest, search)
## and end-to-end tests again on the scaled profile (PostgreSQL, S3 on SeaweedFS, Redis, and
## job workers as processes of their own beside the end-to-end servers: the tests start them
## on loopback; docs/deploy.md)
test: $(DEV_STAMP) lint typecheck
	$(BIN)/python -m pytest --cov --cov-report= -q
	$(BIN)/python -m pytest --profile=scaled --cov --cov-append --cov-report=term -q tests/api tests/e2e

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

## make samples: (re)generate the sample photos under client/
samples: $(STAMP)
	$(BIN)/python scripts/make_sample_images.py

## make bench: benchmarks, run on purpose (never part of `make test`)
bench: $(DEV_STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage

## make lock: re-pin constraints.txt from a fresh venv resolved against pyproject.toml
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade "pip>=24"
	.venv-lock/bin/python -m pip install --quiet -e ".[dev]"
	{ sed -n '1,2p' constraints.txt; .venv-lock/bin/pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .venv-lock
