# Every target bootstraps .venv from the project's own files; nothing depends on a hand install.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test check lint types docs ci bench clean format

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@if [ -d examples/third_party_connector ]; then $(BIN)/python -m pip install --quiet -e examples/third_party_connector; fi
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/erpsa demo

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src connectors tests bench examples
	$(BIN)/ruff format --check src connectors tests bench examples

types: $(STAMP)
	$(BIN)/mypy src $(wildcard connectors/erpsa_*)

check: lint types

format: $(STAMP)
	$(BIN)/ruff format src connectors tests bench examples
	$(BIN)/ruff check --fix src connectors tests bench examples

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir .site

ci: check test docs

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .site .mypy_cache .ruff_cache
