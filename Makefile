# The two quick-start commands: `make serve` and `make test`. Both create the
# virtualenv and install feedsvc into it on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: serve test lint check soak clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

serve: $(VENV)/.installed  ## serve content/ on http://127.0.0.1:$(PORT)/
	HOST=127.0.0.1 PORT=$(PORT) $(BIN)/feedsvc serve --content content

test: $(VENV)/.installed  ## run the test suite
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check feedsvc tests bench
	$(BIN)/ruff format --check feedsvc tests bench

check: $(VENV)/.installed  ## list bad files in content/
	$(BIN)/feedsvc check content

soak: $(VENV)/.installed  ## a minute of load and store churn; see docs/reliability.md
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
