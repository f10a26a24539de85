# fangkong — two commands: `make demo` (set up + serve the demo town) and `make test`.
# Needs only python3.11, make and git; uv is bootstrapped into .tools/ when absent.

SHELL := /bin/bash
PYTHON ?= python3.11
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen --no-sync
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo setup test lint fmt bench bench-phone bench-load bench-recheck messages clean

.tools/bin/uv:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11"; exit 1; }
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

setup: .venv/.synced
	$(RUN) fangkong migrate --no-input -v 0
	$(RUN) fangkong collectstatic --no-input -v 0

demo: setup
	$(RUN) fangkong demo-town --if-missing
	@echo ""
	@echo "fangkong command center: http://$(HOST):$(PORT)/   (Ctrl-C to stop)"
	@echo "background jobs (escalation, report deadlines, dashboard counts, bulletins, messages): fangkong jobs"
	@# The scheduler + task worker runs beside the web server and stops with it.
	$(RUN) fangkong jobs & JOBS=$$!; trap "kill $$JOBS 2>/dev/null" EXIT INT TERM; \
	$(RUN) fangkong runserver --noreload $(HOST):$(PORT)

# On SQLite by default; set DATABASE_URL=postgres://... to run on PostgreSQL. The tests run
# in one process per core (pytest-xdist); PYTEST_ARGS="-n 0 -k ..." runs a selection serially.
PYTEST_ARGS ?= -n auto
# Browser tests need Debian's chromium; without it they are skipped and the run says so
# (FANGKONG_REQUIRE_BROWSER=1 turns the skip into a failure, as CI does).
test: .venv/.synced
	@$(RUN) python -m tests.preflight
	$(RUN) pytest $(PYTEST_ARGS)

lint: .venv/.synced
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy fangkong tests bench tools

fmt: .venv/.synced
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

bench: .venv/.synced
	$(RUN) python -m bench.subtree

# Phone pages on throttled 3G (chromium): bytes and first paint, cold and warm.
bench-phone: .venv/.synced
	$(RUN) python -m bench.phone_3g

# The re-check of 1,000,000 arrivals after an area change, fast path against the
# per-person loop (bench/README.md, "Re-check"); DATABASE_URL=postgres://... for PostgreSQL.
bench-recheck: .venv/.synced
	$(RUN) python -m bench.recheck

# `fangkong serve` against runserver under load, on PostgreSQL (bench/README.md, "Load").
# LOAD_ARGS="--small" for a quick run on a small scratch database.
LOAD_ARGS ?=
bench-load: .venv/.synced
	$(RUN) fangkong collectstatic --no-input -v 0
	$(RUN) python -m bench.load $(LOAD_ARGS)

# Re-extract the translatable strings (needs GNU gettext) and compile the catalogues.
messages: .venv/.synced
	cd fangkong && ../$(RUN) fangkong makemessages -l zh_Hans -l zh_Hant -l en --no-obsolete --no-location
	cd fangkong && ../$(RUN) fangkong compilemessages

clean:
	rm -rf .venv .tools var .pytest_cache .mypy_cache .ruff_cache
