# VIPER developer commands. Each target sets up .venv on first use and is quick afterwards.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
# The dashboard's chart library: installed from npm (package-lock.json pins it) and copied
# into the package, which serves it; the copy is build output (gitignored).
NODE_STAMP := node_modules/.installed
VENDOR := viper/web/static/vendor/lightweight-charts.js
CHARTS_BUILD := node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.mjs
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help run test bench lint fmt cov clean vendor chromium

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	@touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e . --group bench
	@touch $(BENCH_STAMP)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || (echo "npm is needed to vendor the dashboard's chart library (Node 20+)" && exit 1)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

$(VENDOR): $(NODE_STAMP)
	@mkdir -p $(@D)
	cp $(CHARTS_BUILD) $@

vendor: $(VENDOR)  ## install the dashboard's chart library from npm and copy it into the package

chromium:  ## Debian's chromium for the browser tests (installed with apt-get when missing)
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium not installed: the browser tests will be skipped (and fail under CI=true)"

run: $(STAMP) $(VENDOR)  ## start the bot on the embedded default (http://127.0.0.1:8000/)
	$(BIN)/viper run

test: $(STAMP) $(VENDOR) chromium  ## run the unit, integration and browser tests
	$(BIN)/pytest -q

bench: $(BENCH_STAMP) $(VENDOR)  ## run the benchmarks in tests/performance and print the figures
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) || echo "wrk not installed: HTTP load figures will be skipped"
	$(BIN)/pytest tests/performance -q -s -p no:randomly

lint: $(STAMP)  ## ruff, ruff format --check and mypy
	$(BIN)/ruff check viper tests
	$(BIN)/ruff format --check viper tests
	$(BIN)/mypy

fmt: $(STAMP)  ## format and autofix
	$(BIN)/ruff format viper tests
	$(BIN)/ruff check --fix viper tests

cov: $(STAMP) $(VENDOR) chromium  ## tests with a coverage report (htmlcov/index.html)
	$(BIN)/pytest -q --cov --cov-report=term-missing:skip-covered --cov-report=html

clean:  ## remove the virtualenv, node_modules, vendored files and caches (keeps data/ and logs/)
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache htmlcov .coverage node_modules \
		viper/web/static/vendor test-artifacts
