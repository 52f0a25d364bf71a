# dropscore — the front door. Every target works on a fresh clone: it builds .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: install demo test test-fast serve bench bench-quality bench-drift package infra-check lint clean

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	$(PIP) install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

# checkov lives in its own environment: its pinned dependencies conflict with the project's.
INFRA_VENV := .venv-infra

$(INFRA_VENV)/.installed: infra/requirements-checks.txt
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --upgrade pip
	$(INFRA_VENV)/bin/pip install --quiet -r infra/requirements-checks.txt
	touch $@

infra-check: $(INFRA_VENV)/.installed
	$(INFRA_VENV)/bin/checkov -d infra --framework terraform --quiet --compact --skip-download

demo: install
	$(VENV)/bin/dropscore demo

test: install $(INFRA_VENV)/.installed
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check shared functions tests

serve: install
	$(VENV)/bin/dropscore serve

package: install
	$(PY) -m shared.packaging --out dist/functions

clean:
	rm -rf .dropscore dist .pytest_cache
