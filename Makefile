# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

## make run: install, migrate, seed the demo CRM on first run, index kb/, start the bot.
run: $(STAMP)
	$(PY) -m bot migrate
	$(PY) -m bot seed-demo --if-empty
	$(PY) -m bot kb-reindex
	$(PY) -m bot run

## make test: install and run the whole suite on SQLite and on PostgreSQL (127.0.0.1:5432).
test: $(STAMP)
	$(PY) -m pytest -q

## make bench: the performance figures, written to bench/results/*.json and docs/benchmarks.md.
bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) var .pytest_cache
