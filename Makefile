# cxloop: `make run` serves all three services; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LOCK := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --no-emit-index-url --no-emit-find-links \
	--no-emit-trusted-host --strip-extras $(LOCK_FLAGS)

.PHONY: run test install lock openapi bench soak clean
.DEFAULT_GOAL := run

# Exact versions from requirements-dev.lock (the runtime's requirements.lock plus the dev tools), then the
# project itself without resolving anything again.
$(STAMP): pyproject.toml requirements.lock requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Refresh the lock files from pyproject.toml (keeps current pins that still fit; `make lock LOCK_FLAGS=--upgrade`
# moves everything to the newest allowed versions). Commit both files.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/pip-compile || $(BIN)/python -m pip install --quiet --disable-pip-version-check pip-tools
	$(LOCK) -o requirements.lock pyproject.toml
	$(LOCK) --extra dev -c requirements.lock -o requirements-dev.lock pyproject.toml

run: $(STAMP)
	$(BIN)/cxloop migrate all
	$(BIN)/cxloop serve all

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy shared services cxloop bench
	$(BIN)/pytest -n 2

# Benchmarks against floors on this machine's PostgreSQL (not part of `make test`); needs wrk (installed here
# from Debian's packages when run as root). Writes bench/results/<date>.md.
bench: $(STAMP)
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.run

# The soak (bench/soak.py): MINUTES of mixed load while a random service is SIGKILLed every 30 s, then exact checks;
# writes bench/results/soak-<date>.md.
MINUTES ?= 10
soak: $(STAMP)
	$(BIN)/python -m bench.soak --minutes $(MINUTES)

openapi: $(STAMP)
	$(BIN)/cxloop openapi export

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
