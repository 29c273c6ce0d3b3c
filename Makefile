# triplet: the two set-up commands are `make demo` and `make test`.
# Both find a Python >= 3.12 by themselves, create .venv and install the package (editable).
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT   ?= out
# Tests use both cores; slow MCMC tests are skipped here (see `make test-slow`).
PYTEST_ARGS ?= -n 2 -m "not slow"

.PHONY: demo test test-slow lint format bench docs clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@set -e; \
	if [ ! -x $(PY) ]; then \
	  py=$$(scripts/find-python); \
	  echo "Creating $(VENV) with $$py"; \
	  "$$py" -m venv $(VENV); \
	fi; \
	$(PY) -m pip install --quiet --upgrade pip; \
	$(PY) -m pip install --quiet -e '.[dev]'; \
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m triplet.demo --out $(OUT)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -n 2 -m slow

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(STAMP)
	$(PY) -m bench

docs: $(STAMP)
	$(PY) -m triplet.docs docs

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
