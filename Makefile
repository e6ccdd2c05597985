# The two commands of the README: `make demo` (offline demo on the local catalogue) and
# `make test` (lint + the test suite). Both set up the virtual environment first.
VENV ?= .venv
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin

.PHONY: demo test lint serve fuzz clean

$(STAMP): pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh $(VENV)
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/xstac demo

serve: $(STAMP)
	$(BIN)/xstac demo serve

lint: $(STAMP)
	$(BIN)/ruff check xstac_access tests

test: lint
	$(BIN)/pytest

# The full bad-input run: 2,000 generated cases per parser (CI runs 300 each).
fuzz: $(STAMP)
	XSTAC_FUZZ_EXAMPLES=2000 $(BIN)/pytest tests/test_fuzz.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
