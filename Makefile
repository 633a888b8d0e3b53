# Tavoli: `make run` starts a local server on SQLite, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM := /usr/bin/chromium

.PHONY: run test test-fast test-newest-uvicorn lint typecheck pytest migrate links browser-deps messages vendor bench bench-duplicates clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tavoli needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

migrate: $(VENV)/.installed
	$(BIN)/alembic upgrade head

links: $(VENV)/.installed
	@$(BIN)/python -m app.cli links --base-url http://$(HOST):$(PORT)

run: migrate links
	$(BIN)/uvicorn --factory app.main:create_app --host $(HOST) --port $(PORT) --proxy-headers \
		--http app.protocol:HttpProtocol --ws app.live.wire:WebSocketProtocol \
		--ws-per-message-deflate false --ws-ping-interval 10 --ws-ping-timeout 10 --ws-max-size 4096

# Browser tests drive Debian's chromium; install it when missing and we may (root).
browser-deps:
	@if [ -x $(CHROMIUM) ] && command -v pdftotext >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing chromium and fonts with apt-get..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu poppler-utils >/dev/null; \
	else \
		echo "NOTE: $(CHROMIUM) is missing and this user cannot apt-get install it;"; \
		echo "      run 'sudo apt-get install chromium fonts-dejavu poppler-utils' to enable the browser tests."; \
	fi

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# Two processes: most tests wait on servers, browsers and databases (9 min in one, 5 in two).
pytest: $(VENV)/.installed-test browser-deps
	$(BIN)/pytest -q -n 2

# tests/test_wire.py against the newest uvicorn on the package index, in a throwaway directory
# (scripts/test_newest_uvicorn.sh): a release that changes what app/live/wire.py and
# app/protocol.py extend fails here the day it lands. Offline: "skipped: no registry".
test-newest-uvicorn: $(VENV)/.installed-test
	PYTHON=$(BIN)/python ./scripts/test_newest_uvicorn.sh

# The checks run side by side (pytest waits on servers and browsers more than it computes:
# ruff and mypy fit beside it, 35 s less in all); pytest's progress shows as it goes.
test: $(VENV)/.installed-test browser-deps
	@$(MAKE) --no-print-directory -j 4 lint typecheck pytest test-newest-uvicorn

# The edit loop: every test but the browser's, those needing PostgreSQL or Redis and those
# starting server processes (markers set in tests/conftest.py): 130-140 s of CPU, 88 s on two
# idle cores (4.6 min beside a load of 8-9). `make test` stays the whole suite, and CI runs it.
test-fast: $(VENV)/.installed-test
	$(BIN)/pytest -q -n 2 -m "not browser and not services and not postgresql and not slow" \
		--ignore tests/browser

messages: $(VENV)/.installed-test
	$(BIN)/pybabel extract -F babel.cfg -k Invalid -k Conflict -k StaleVote -k NotFound -k Forbidden -k Unauthorized -k N_ -o app/locales/messages.pot --no-location --sort-output --omit-header app
	$(BIN)/pybabel update -i app/locales/messages.pot -d app/locales --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date

vendor:
	./scripts/vendor_htmx.sh
	./scripts/vendor_swagger.sh

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/ws_votes.py --clients 200
	$(BIN)/python benchmarks/ws_votes.py --clients 1000
	$(BIN)/python benchmarks/fanout.py --scenario json500,json1000,quiet,burst

# Duplicate suggestions: recall@1, AP, P@10/P@30 beside plain TF-IDF, and the cost on one core.
# DUPLICATES_DATA=path/to/set.jsonl measures another labelled set (the held-out one).
DUPLICATES_DATA ?= ../shared/data/duplicates-dev.jsonl
bench-duplicates: $(VENV)/.installed
	$(BIN)/python benchmarks/duplicates.py --data $(DUPLICATES_DATA)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache screenshots
