# Everything a fresh machine needs is installed by these targets (Python venv, control-plane binaries).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STATE ?= .dev-env

.PHONY: venv lint test test-unit dev-env dev-env-down demo bench manifests clean

$(VENV)/.installed: pyproject.toml testground/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e ./testground
	touch $@

venv: $(VENV)/.installed

lint: venv
	$(BIN)/ruff check operator testground tests bench hack
	$(BIN)/mypy
	$(BIN)/lint-imports

# The README's test command: lint, type checks, layer contracts, then every test layer.
test: lint
	bash hack/install-tools.sh
	bash hack/build-control-plane.sh >/dev/null
	$(BIN)/pytest

test-unit: venv
	$(BIN)/pytest tests/unit

dev-env: venv
	@$(BIN)/python -m credcheck_testground up --state $(STATE)

dev-env-down: venv
	@$(BIN)/python -m credcheck_testground down --state $(STATE)

demo: venv
	@bash hack/demo.sh

# Re-render deploy/manifests from the Helm chart (a test keeps them equal).
manifests: venv
	$(BIN)/python -c 'from credcheck_testground import chart; chart.write_plain_manifests()'

bench: venv
	$(BIN)/python bench/run.py

clean: dev-env-down
	rm -rf $(VENV) $(STATE)
