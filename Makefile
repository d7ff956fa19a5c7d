# One virtual environment, .venv, rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-min test-jax test-torch lint docs format bench bench-all clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
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

# The declared minimum versions (.ci/min-versions.txt, a pip constraints file)
# in their own environment, on a representative part of the suite: stacking,
# the wrappers, fold fusion, the meta-learner, save/load and scikit-learn's own
# stacking tests.
MIN_VENV ?= .venv-min
MIN_TESTS ?= tests/ensemble/test_classifier.py tests/keras/test_wrappers.py \
	tests/keras/test_fused.py tests/keras/test_fused_inputs.py \
	tests/ensemble/test_meta_learner.py tests/ensemble/test_strategy.py \
	tests/keras/test_keras_wrappers.py tests/keras/test_targets.py \
	tests/keras/test_early_stopping.py \
	tests/test_persistence.py tests/peer
test-min: $(MIN_VENV)/.installed
	$(MIN_VENV)/bin/python -m pytest -n 2 -p no:cacheprovider $(MIN_TESTS)

$(MIN_VENV)/.installed: pyproject.toml .ci/min-versions.txt
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MIN_VENV)/bin/python -m pip install --quiet -c .ci/min-versions.txt \
		-e . "pytest>=8" "pytest-xdist>=3" "pandas>=2"
	touch $@

# The suite's core on Keras's JAX backend, in its own environment (skstack[jax]):
# stacking, the wrappers, fold fusion, logits, the meta-learner, save/load (an
# archive from each backend), the ONNX export and scikit-learn's stacking tests.
JAX_VENV ?= .venv-jax
JAX_TESTS ?= $(MIN_TESTS) tests/keras/test_outputs.py tests/test_backends.py
test-jax: $(JAX_VENV)/.installed
	KERAS_BACKEND=jax $(JAX_VENV)/bin/python -m pytest -n 2 -p no:cacheprovider \
		$(JAX_TESTS)

$(JAX_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(JAX_VENV)
	$(JAX_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(JAX_VENV)/bin/python -m pip install --quiet -e ".[test,jax]"
	touch $@

# A smoke run on Keras's torch backend (skstack[torch]): a fused stack, seeding,
# archives across backends and every export format. torch==2.13.0 is the CPU
# build pip takes from this machine's disk; a plain "torch" would download a
# CUDA build of several GB.
TORCH_VENV ?= .venv-torch
test-torch: $(TORCH_VENV)/.installed
	KERAS_BACKEND=torch $(TORCH_VENV)/bin/python -m pytest -n 2 -p no:cacheprovider \
		tests/test_backends.py

$(TORCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TORCH_VENV)/bin/python -m pip install --quiet "torch==2.13.0" -e ".[test,torch]"
	touch $@

# The HTML docs in docs/_build/html: user guide, API reference, and the gallery,
# whose examples run during the build. Any warning fails it.
docs: install
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python benchmarks/wrapper_overhead.py

# The harness: skstack next to scikit-learn's and mlxtend's stacking (~15 min).
bench-all: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(MIN_VENV) $(JAX_VENV) $(TORCH_VENV) .pytest_cache .ruff_cache docs/_build docs/generated docs/auto_examples docs/_generated
