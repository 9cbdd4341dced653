# Two commands on a fresh machine:  `make demo`  and  `make test`  (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --disable-pip-version-check -q -c requirements/constraints.txt
LOGDIR ?= ./seetrain_logs
PORT   ?= 5092
PYTEST := $(PY) -m pytest -p no:cacheprovider -q -rs

.PHONY: demo setup-core setup test test-core test-integrations test-e2e test-ultralytics test-vision lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Core only: enough for the SDK, the demo and the dashboard (no torch, no frameworks).
$(VENV)/.core: $(PY) requirements/core.txt pyproject.toml
	$(PIP) -r requirements/core.txt
	$(PIP) --no-deps -e .
	touch $@

# Everything the tests drive: torch 2.13.0 CPU (pinned in the same pip command), every framework,
# the LLM clients, Playwright (driving Debian's chromium) and pytest.
$(VENV)/.full: $(VENV)/.core requirements/*.txt
	$(PIP) -r requirements/core.txt -r requirements/llm.txt -r requirements/frameworks.txt -r requirements/test.txt
	touch $@

setup-core: $(VENV)/.core
setup: $(VENV)/.full

demo: setup-core
	$(VENV)/bin/seetrain demo --logdir $(LOGDIR)
	$(VENV)/bin/seetrain ui --logdir $(LOGDIR) --port $(PORT)

# Core tests first (no framework needed), then the real frameworks, then browser and PostgreSQL.
test: setup
	bash scripts/install_system_deps.sh
	$(PYTEST) tests/unit
	$(PYTEST) tests/integrations
	$(PYTEST) tests/e2e

test-core: setup-core
	$(PIP) -r requirements/test.txt
	$(PYTEST) tests/unit

test-integrations: setup
	$(PYTEST) tests/integrations

test-e2e: setup
	bash scripts/install_system_deps.sh
	$(PYTEST) tests/e2e

# Ultralytics needs torchvision, which does not install beside torch 2.13.0: its own venv.
test-ultralytics:
	bash scripts/test_ultralytics.sh

# fastai and timm need torchvision too: their own venv (.venv-vision, ~180 s and 6.2 GB to build).
test-vision:
	bash scripts/test_vision.sh

# ruff, then mypy over seetrain/, integrations/ and resolvers/ (settings in pyproject.toml [tool.mypy]).
lint: setup
	$(VENV)/bin/ruff check seetrain integrations resolvers tests benchmarks examples
	$(PY) -m mypy

bench: setup
	$(PY) benchmarks/log_overhead.py
	$(PY) benchmarks/dashboard.py

clean:
	rm -rf $(VENV) build *.egg-info
