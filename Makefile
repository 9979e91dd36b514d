# Pouls — `make run` starts everything, `make test` tests everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
PORT   ?= 8000
HOST   ?= 127.0.0.1
export PORT HOST
export PATH := $(BIN):$(PATH)

.PHONY: install run setup test test-fast bench lint messages clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $@

## Migrate, load the starting data, then start web + worker + beat (Ctrl-C stops all three).
run: install
	@$(BIN)/python manage.py preflight --host $(HOST) --port $(PORT)
	@$(MAKE) --no-print-directory setup
	@echo ""
	@echo "  Site            http://$(HOST):$(PORT)/"
	@echo "  Administration  http://$(HOST):$(PORT)/admin/"
	@echo "  Santé           http://$(HOST):$(PORT)/healthz"
	@echo ""
	@POULS_WEB_PORT=$(PORT) exec $(BIN)/honcho --procfile platform/Procfile --app-root . start --port $(PORT)

setup: install
	@$(BIN)/python manage.py migrate --noinput -v 0
	@$(BIN)/python manage.py collectstatic --noinput -v 0
	@$(BIN)/python manage.py bootstrap

## The whole suite (PostgreSQL and Redis when DATABASE_URL/REDIS_URL are set).
test: install
	@$(BIN)/python -m pytest tests --ignore=tests/perf

## Benchmarks: each prints its figure next to a baseline measured in the same run,
## with the fast paths on, then off (POULS_FASTPATHS, config/fastpaths.py; the off pass
## leaves out the benchmarks no fast path is on: SAME_EITHER_WAY in tests/perf/report.py),
## then one table of both passes' headline figures (kept in var/bench/).
BENCH_RESULTS := $(CURDIR)/var/bench
bench: install
	@command -v wrk >/dev/null || echo "wrk is not installed (apt-get install wrk): the page benchmark loads every target with tests/perf/loadgen.py, whose Python clients cap the figures"
	@mkdir -p $(BENCH_RESULTS)
	@status=0; \
	echo "== fast paths on (POULS_FASTPATHS=1)"; \
	rm -f $(BENCH_RESULTS)/fastpaths-on.jsonl; \
	BENCH_RESULTS=$(BENCH_RESULTS) POULS_FASTPATHS=1 $(BIN)/python -m pytest tests/perf -s \
		-p no:randomly || status=1; \
	echo "== fast paths off (POULS_FASTPATHS=0)"; \
	rm -f $(BENCH_RESULTS)/fastpaths-off.jsonl; \
	BENCH_RESULTS=$(BENCH_RESULTS) POULS_FASTPATHS=0 $(BIN)/python -m pytest tests/perf -s \
		-p no:randomly $$($(BIN)/python -m tests.perf.report --off-pass-deselect) || status=1; \
	echo "== summary"; \
	$(BIN)/python -m tests.perf.report $(BENCH_RESULTS) || status=1; \
	exit $$status

lint: install
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/python manage.py makemigrations --check --dry-run

## Refresh the translation catalogues (needs gettext) and compile them.
messages: install
	@$(BIN)/python manage.py makemessages --all --ignore '.venv/*' --ignore 'var/*' --no-obsolete
	@$(BIN)/python manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf var/cache var/cache-pages var/broker var/static
