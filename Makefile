# The two commands of the README: `make demo` (offline demo on the local catalogue) and
# `make test` (lint + the test suite). Both set up the virtual environment first.
VENV ?= .venv
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin

# Compiled modules are cached under the venv even where PYTHONDONTWRITEBYTECODE is set (as in
# container images, whose venvs ship no bytecode): the tests start dozens of Python processes
# (servers, examples, the demo, dask workers), and each one compiling every module it imports
# from source costs about as much as its work. Nothing is written into the source tree.
export PYTHONDONTWRITEBYTECODE :=
export PYTHONPYCACHEPREFIX := $(abspath $(VENV))/pycache

.PHONY: demo test test-lowest lint serve fuzz clean bench bench-quick

$(STAMP): pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh $(VENV)
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/xstac demo

serve: $(STAMP)
	$(BIN)/xstac demo serve

lint: $(STAMP)
	$(BIN)/ruff check xstac_access tests benchmarks examples docs
	$(BIN)/mypy xstac_access

test: lint
	$(BIN)/pytest

# The core alone on the oldest releases pyproject.toml allows (uv's lowest-direct resolution), in
# a venv of its own: the tests that need nothing but the core prove its lower bounds true. CI runs
# it after `make test`; it needs the network to install (about 25 s, then 10 s of tests).
PY ?= python3
LOWEST ?= .venv-lowest
CORE_TESTS := tests/test_extras.py tests/test_import_graph.py tests/test_dispatch.py \
	tests/test_multiscales_forms.py tests/test_reader_contract.py tests/test_portable.py

test-lowest: $(STAMP)
	$(PY) -m uv venv --quiet --allow-existing -p $(PY) $(LOWEST)
	$(PY) -m uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct \
		--reinstall-package xstac-access ".[test-core]"
	$(LOWEST)/bin/pytest -p no:cacheprovider $(CORE_TESTS)

# The full bad-input run: 2,000 generated cases per parser (CI runs 300 each).
fuzz: $(STAMP)
	XSTAC_FUZZ_EXAMPLES=2000 $(BIN)/pytest tests/test_fuzz.py

# Benchmarks of ../shared/docs/PERFORMANCE.md against the local world: `bench` writes
# benchmarks/results/latest.json and benchmarks/RESULTS.md (tens of minutes); `bench-quick` is
# the small smoke run (a couple of minutes) into benchmarks/results/quick/.
# B5 compares against the packages of the bench extra (pyproject.toml).
BENCH_EXTRA = $(PY) -m uv pip install --quiet --python $(BIN)/python -e ".[test,bench]"

bench: $(STAMP)
	$(BENCH_EXTRA)
	$(BIN)/python benchmarks/run.py

bench-quick: $(STAMP)
	$(BENCH_EXTRA)
	$(BIN)/python benchmarks/run.py --quick

# The documentation site (docs/, mkdocs.yml): pictures from the local replica (one local world,
# every example's workflow), then a strict build (any warning fails) into site/.
.PHONY: docs
docs: $(STAMP)
	$(BIN)/python docs/_pictures.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) $(LOWEST) .pytest_cache .ruff_cache .mypy_cache
