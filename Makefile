# cxloop: `make run` serves all three services; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install openapi bench clean
.DEFAULT_GOAL := run

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/cxloop migrate all
	$(BIN)/cxloop serve all

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy shared services cxloop
	$(BIN)/pytest -n 2

bench: $(STAMP)
	$(BIN)/python -m bench.export_memory --rows 100000

openapi: $(STAMP)
	$(BIN)/cxloop openapi export

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
