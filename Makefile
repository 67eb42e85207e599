# Everything a fresh machine needs is installed by these targets (Python venv, control-plane binaries).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STATE ?= .dev-env

.PHONY: venv lint test test-unit dev-env dev-env-down demo bench manifests clean lock audit image

$(VENV)/.installed: pyproject.toml testground/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e ./testground
	touch $@

venv: $(VENV)/.installed

lint: venv
	$(BIN)/ruff check operator testground tests bench hack
	$(BIN)/mypy
	$(BIN)/mypy tests/helpers  # the shared fakes against the Protocols they stand in for (kube/ports.py, engine/aws/ports.py)
	$(BIN)/lint-imports
	bash hack/vulture.sh

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

# The runtime dependencies, locked with hashes by a pinned pip-tools in a venv of its own (the image installs them
# with --require-hashes; a test keeps the lock in step with pyproject.toml).
TOOLS := .tools
$(TOOLS)/lock/.installed:
	$(PYTHON) -m venv $(TOOLS)/lock
	$(TOOLS)/lock/bin/pip install --quiet pip-tools==7.5.2 pip-audit==2.9.0
	touch $@

lock: $(TOOLS)/lock/.installed
	env -u PIP_FIND_LINKS $(TOOLS)/lock/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-find-links --no-emit-index-url --output-file requirements.lock pyproject.toml

# Known vulnerabilities in the locked versions (PyPI's advisory data).
audit: $(TOOLS)/lock/.installed
	$(TOOLS)/lock/bin/pip-audit --requirement requirements.lock --require-hashes --disable-pip --vulnerability-service pypi --strict

# The image, built with buildah (no Docker engine needed; installed where missing): BASE defaults to python:3.11-slim;
# `make image BASE=local` builds on the local Debian base of hack/build-base-image.sh where no registry can be
# reached (the tests do). IMAGE names the result.
IMAGE ?= localhost/credcheck:dev
BASE ?= python:3.11-slim
image:
	BASE=$(BASE) IMAGE=$(IMAGE) bash hack/build-image.sh
