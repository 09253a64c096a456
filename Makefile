# Two commands for a fresh machine: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check -q
DEMO_SCALE ?= national
export DEMO_SCALE

.PHONY: run test lint install install-dev assets browser bench-pages bench-seo-pages demo index bench-engine bench-engines opensearch-prepare opensearch-start \
	opensearch-stop clean

## run: install, generate the demo data, index it and serve on PORT (default 8000)
run: install
	LBA_DEMO=1 $(VENV)/bin/lba run

## test: install test dependencies, resolve the OpenSearch test node (Maven), run the gates (`make lint`),
## then the whole suite under coverage (floor: fail_under in setup.cfg [coverage:report]);
## the engine tests start the node themselves (or reuse one started by `make opensearch-start`)
test: install-dev opensearch-prepare system-deps lint
	$(PY) -m pytest --cov --cov-report=term

## lint: ruff (lint and import order, settings in pyproject.toml), mypy (setup.cfg [mypy]: app, indexers,
## mappings, ranking) and the layer contracts (setup.cfg [importlinter]); each fails the build
lint: install-dev
	$(VENV)/bin/ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

## system-deps: the Debian packages the tests start for real (PostgreSQL 15 for the store, redis-server for
## shared rate limits, nginx in front of gunicorn, Chromium and its driver for the browser tests); installed once
.PHONY: system-deps db-upgrade worker
PG_BIN ?= /usr/lib/postgresql/15/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PACKAGES := postgresql-15 redis-server nginx chromium chromium-driver
system-deps:
	@test -x $(PG_BIN)/initdb && command -v redis-server >/dev/null 2>&1 && test -x /usr/sbin/nginx \
	  && command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES); }
## test-cluster: only the 3-node OpenSearch cluster test (a node SIGKILLed under load); `make test` runs it too
.PHONY: test-cluster
test-cluster: install-dev opensearch-prepare
	$(PY) -m pytest -m cluster

## opensearch-*: the single-node OpenSearch of the tests, from Maven Central artifacts (cached in ~/.m2)
opensearch-prepare: install-dev
	$(PY) scripts/opensearch_node.py prepare --if-tools

opensearch-start: install-dev
	$(PY) scripts/opensearch_node.py start

opensearch-stop: install-dev
	$(PY) scripts/opensearch_node.py stop

install: $(VENV)/.installed assets
install-dev: $(VENV)/.installed-dev assets browser

## assets: the site's npm packages (DSFR, Leaflet, axe-core; `npm ci` only when the lock changed) and the
## files scripts/build_assets.py copies from them into app/web/static/vendor
assets: app/web/static/vendor/.stamp

node_modules/.package-lock.json: package.json package-lock.json
	command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

app/web/static/vendor/.stamp: node_modules/.package-lock.json scripts/build_assets.py $(VENV)/.installed
	$(PY) scripts/build_assets.py

## browser: Debian's Chromium for the browser tests (tests/web), driven by Playwright without its own download (system-deps installs it too)
browser:
	test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

$(VENV)/.installed: requirements.txt setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	$(PIP) --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $@

## db-upgrade / worker: migrate the store; deliver the outbox's e-mails (SMTP_* settings)
db-upgrade: install
	$(VENV)/bin/lba db upgrade

worker: install
	$(VENV)/bin/lba worker

## demo / index: the two halves of `make run` on their own
demo: install
	$(VENV)/bin/lba demo

index: install
	$(VENV)/bin/lba index demo

## bench-engine: in-process latency of the embedded engine on the national demo data
bench-engine: install
	$(PY) scripts/bench_engine.py

## bench-engines: embedded and OpenSearch in one run on the national demo data, one JSON line per engine
bench-engines: install-dev opensearch-prepare
	$(PY) scripts/bench_engines.py

## bench-pages: p50/p95 of the results page through HTTP (1,000 queries) on the DEMO_SCALE demo data
bench-pages: install
	$(PY) scripts/bench_pages.py

## bench-seo-pages: p50/p95 of the job-in-a-city, statistics and guidance pages through HTTP on the DEMO_SCALE demo data
bench-seo-pages: install
	$(PY) scripts/bench_seo_pages.py

clean:
	rm -rf var $(VENV) scripts/opensearch/target node_modules app/web/static/vendor
