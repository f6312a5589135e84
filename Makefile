# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements-dev.lock | sha1sum | cut -c1-12)
# Both lock files come from pyproject.toml: `make lock` after editing its dependencies (existing
# pins are kept where they still fit), `make lock LOCK_FLAGS=--upgrade` to move to the newest.
COMPILE := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet

.PHONY: run test test-fast lint format lock bench smoke wheel-check clean

$(STAMP): pyproject.toml requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check; echo "requirements-dev.lock does not fit pyproject.toml: run 'make lock'"; exit 1; }
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/perftrack dev

# Two processes (pytest-xdist; each has its own PostgreSQL and Redis); tests marked with an
# xdist_group run in the same process.  Bytecode is cached (__pycache__, ignored by git) even where
# PYTHONDONTWRITEBYTECODE is set: otherwise every process compiles the code and rewrites the test modules'
# assertions afresh (collecting took 17 s a process without the cache, 7 s with it, on 2 cores).
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n 2 --dist loadgroup

test: $(STAMP)
	$(PYTEST)

# The inner loop: the pure and quick SQLite tests; no PostgreSQL, browser, child processes, LibreOffice
# renders or whole-year walkthroughs (`make test` runs those too).
test-fast: $(STAMP)
	$(PYTEST) -m "not postgres and not browser and not processes and not print and not slow"

# ruff (lint and format) and mypy, as configured in pyproject.toml, all three reporting before it
# fails; `make format` applies ruff's fixes and formatting.
lint: $(STAMP)
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check . || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Not on $(STAMP): that refuses a lock which no longer fits pyproject.toml, which is what this repairs.
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/pip install --quiet "uv==$$(sed -n 's/^uv==\([^ ]*\).*/\1/p' requirements-dev.lock)"
	$(COMPILE) $(LOCK_FLAGS) --extra dev -o requirements-dev.lock
	$(COMPILE) -c requirements-dev.lock -o requirements.lock

smoke: $(STAMP)
	bash deploy/smoke.sh

# What the Dockerfile installs: the wheel, not editable, in a fresh venv outside the repository.
wheel-check:
	bash deploy/wheel-check.sh

# Each bench prints its figures for people; `make bench BENCH_FLAGS=--json` prints one JSON object per bench.
bench: $(STAMP)
	$(BIN)/python bench/import.py $(BENCH_FLAGS)
	$(BIN)/python bench/reporting.py $(BENCH_FLAGS)
	$(BIN)/python bench/sweep.py $(BENCH_FLAGS)
	$(BIN)/python bench/scoring.py $(BENCH_FLAGS)
	$(BIN)/python bench/monitoring.py $(BENCH_FLAGS)
	$(BIN)/python bench/load.py $(BENCH_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache test-artifacts
