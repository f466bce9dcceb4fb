# Two commands to start: `make demo` and `make test`. Both create .venv and install on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME := $(CURDIR)/.dagster_home
PYTEST_ARGS ?=

.PHONY: install demo test dev sandbox lint format validate bench clean

install: $(STAMP) $(DAGSTER_HOME)/dagster.yaml

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	ln -sf ../dagster.yaml $@

demo: install
	$(BIN)/property-pipeline demo

test: install
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

dev: install
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

sandbox: install
	$(BIN)/property-pipeline sandbox --port 8765 --listings 20000

validate: install
	$(BIN)/dagster definitions validate -w workspace.yaml

lint: install
	$(BIN)/ruff check property_pipeline property_pipeline_tests
	$(BIN)/ruff format --check property_pipeline property_pipeline_tests

format: install
	$(BIN)/ruff format property_pipeline property_pipeline_tests
	$(BIN)/ruff check --fix property_pipeline property_pipeline_tests

# About 11 minutes on 2 cores, nearly all of it the million-listing dedupe_screen run (results
# in bench/results/); `$(BIN)/python bench/dedupe_screen.py --quick` takes under 3.
bench: install
	$(BIN)/python bench/dedupe_screen.py
	$(BIN)/python bench/sandbox_ppd.py
	$(BIN)/python bench/screening_extract.py

clean:
	rm -rf $(VENV) $(DAGSTER_HOME) data .pytest_cache .ruff_cache
