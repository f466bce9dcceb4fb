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
	bash .ci/install-browser
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

# Every suite with repeated runs (bench/run.py): parsing, a sandbox day from scrape to digest,
# dedupe/screening/scoring at 10k, 100k and 1M listings beside a plain pandas script, and the
# 30-million-row Price Paid load. Well over 15 minutes on 2 cores; results in bench/results/.
bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(DAGSTER_HOME) data .pytest_cache .ruff_cache
