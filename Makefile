# The two quick-start commands: `make serve` and `make test`. Both build the
# virtualenv from the lock (requirements/test.txt: exact versions with hashes)
# on first use, and again whenever the lock changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
LOCK := requirements/test.txt
RUNTIME_LOCK := requirements/runtime.txt
# Newest versions the ranges allow, for `make test-latest`.
LATEST_VENV ?= .venv-latest
# `make lock LOCK_FLAGS=` keeps the current pins and only resolves what changed.
LOCK_FLAGS ?= --upgrade
PIP_COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --all-build-deps $(LOCK_FLAGS)
PYTEST_ARGS ?=

.PHONY: serve test test-latest lint typecheck lock check soak clean

# A new lock means a new virtualenv, so nothing left over from the old one is imported.
$(VENV)/.locked: $(LOCK)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	touch $@

# feedsvc itself, editable, built by the locked setuptools; its dependencies are the lock's.
$(VENV)/.installed: $(VENV)/.locked pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

serve: $(VENV)/.installed  ## serve content/ on http://127.0.0.1:$(PORT)/
	HOST=127.0.0.1 PORT=$(PORT) $(BIN)/feedsvc serve --content content

test: $(VENV)/.installed  ## run the test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-latest:  ## the suite against the newest versions pyproject.toml's ranges allow
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[test]'
	@echo "Versions that differ from $(LOCK):"
	@$(LATEST_VENV)/bin/python -m pip freeze --all --exclude-editable | sed 's/==/ /' | \
		while read -r name version; do name=$$(echo "$$name" | tr '_.' '--'); \
		grep -iq "^$$name==$$version " $(LOCK) || echo "  $$name $$version"; done
	$(LATEST_VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed  ## ruff's checks and its formatting, as CI runs them
	$(BIN)/ruff check feedsvc tests bench
	$(BIN)/ruff format --check feedsvc tests bench

typecheck: $(VENV)/.installed  ## mypy on feedsvc/, configured in pyproject.toml
	$(BIN)/mypy

lock: $(VENV)/.installed  ## refresh the lock from pyproject.toml's ranges
	$(PIP_COMPILE) --extra test -o $(LOCK) pyproject.toml
	$(PIP_COMPILE) -c $(LOCK) -o $(RUNTIME_LOCK) pyproject.toml

check: $(VENV)/.installed  ## list bad files in content/
	$(BIN)/feedsvc check content

soak: $(VENV)/.installed  ## a minute of load and store churn; see docs/reliability.md
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) $(LATEST_VENV) .pytest_cache .ruff_cache .mypy_cache build *.egg-info
