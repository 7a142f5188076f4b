# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
CHROMIUM := /usr/bin/chromium
PROMTOOL := /usr/bin/promtool
DEV_PORT ?= 3000
# The browser tests drive Debian's Chromium; Playwright's own browser download is never wanted.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test bench install clean chromium promtool

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

## make run: install, migrate, seed the demo CRM on first run, index kb/, start the bot: connected
## to Slack when SLACK_BOT_TOKEN is set, else in the local workspace in the browser (`bot dev`).
run: $(STAMP)
	$(PY) -m bot migrate
	$(PY) -m bot seed-demo --if-empty
	$(PY) -m bot kb-reindex
	@if [ -n "$$SLACK_BOT_TOKEN" ]; then exec $(PY) -m bot run; else exec $(PY) -m bot dev --port $(DEV_PORT); fi

## make test: install and run the whole suite on SQLite and on PostgreSQL (127.0.0.1:5432), the
## browser tests in headless Chromium, and the alert rules through promtool.
test: $(STAMP) chromium promtool
	$(PY) -m pytest -q

## Debian's chromium for the browser tests, installed when missing (as root, with apt-get). If that
## cannot be done the suite still runs, and the browser tests fail saying what to install.
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests"; \
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji; } >/dev/null \
		|| echo "warning: could not install chromium; the browser tests will fail until it is installed"; \
	else \
		echo "warning: $(CHROMIUM) is missing: install Debian's chromium package (needs root); the browser tests will fail until then"; \
	fi

## Debian's prometheus package for its promtool, which checks and unit-tests deploy/prometheus/alerts.yml,
## installed when missing (as root, with apt-get; the tests use only promtool). If that cannot
## be done the suite still runs, and the alert-rule tests fail saying what to install.
promtool:
	@if [ -x $(PROMTOOL) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's prometheus package for promtool (the alert-rule tests)"; \
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; } >/dev/null \
		|| echo "warning: could not install prometheus; the alert-rule tests will fail until it is installed"; \
	else \
		echo "warning: $(PROMTOOL) is missing: install Debian's prometheus package (needs root); the alert-rule tests will fail until then"; \
	fi

## make bench: the performance figures, written to bench/results/*.json and docs/benchmarks.md.
bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) var .pytest_cache
