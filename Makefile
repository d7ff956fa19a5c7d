# One virtual environment, .venv, rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format bench bench-all clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: install
	$(BIN)/skstack demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Two pytest-xdist workers: the suite is TensorFlow-bound and single-threaded per
# test, so two processes use both cores of the CI machines.
test: lint
	$(BIN)/python -m pytest -n 2

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python benchmarks/wrapper_overhead.py

# The harness: skstack next to scikit-learn's and mlxtend's stacking (~15 min).
bench-all: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
