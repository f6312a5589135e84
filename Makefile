# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test bench smoke clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/perftrack dev

test: $(STAMP)
	$(BIN)/python -m pytest

smoke: $(STAMP)
	bash deploy/smoke.sh

bench: $(STAMP)
	$(BIN)/python bench/import.py
	$(BIN)/python bench/reporting.py
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/scoring.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis test-artifacts
