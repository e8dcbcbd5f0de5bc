# The few verbs a newcomer needs. Everything runs from the virtualenv in .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
ECO    := $(VENV)/bin/eco
STAMP  := $(VENV)/.installed

.PHONY: demo test test-unit test-integration kafka kafka-stop bench bench-soak lint install clean stop

$(STAMP): pyproject.toml
	bash deploy/system/install-packages.sh $(if $(filter test%,$(MAKECMDGOALS)),--test,)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,lint]'
	touch $(STAMP)

# The demo and test OpenID provider (deploy/oidc): oidc-provider from the npm registry.
OIDC   := deploy/oidc/node_modules/.package-lock.json
$(OIDC): deploy/oidc/package-lock.json
	npm ci --prefix deploy/oidc --no-audit --no-fund

install: $(STAMP) $(OIDC)

demo: $(STAMP) $(OIDC)
	$(ECO) demo

stop: $(STAMP)
	$(ECO) demo --stop

test: $(STAMP) $(OIDC)
	bash deploy/system/install-packages.sh --test
	$(PY) -m pytest -q

test-unit: $(STAMP)
	$(PY) -m pytest -q -m "not integration"

test-integration: $(STAMP) $(OIDC)
	$(PY) -m pytest -q -m integration

kafka: $(STAMP)
	$(ECO) kafka start

kafka-stop: $(STAMP)
	$(ECO) kafka stop

bench: $(STAMP)
	$(ECO) bench

bench-soak: $(STAMP)
	$(ECO) bench --soak $${SOAK_SECONDS:-600}

lint: $(STAMP)
	$(VENV)/bin/ruff check pipeline agents connectors tests
	$(VENV)/bin/mypy

clean:
	-$(ECO) kafka stop
	rm -rf .eco
