# Two commands for a fresh machine: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check -q
DEMO_SCALE ?= national
export DEMO_SCALE

.PHONY: run test install install-dev demo index bench-engine clean

## run: install, generate the demo data, index it and serve on PORT (default 8000)
run: install
	$(VENV)/bin/lba run

## test: install test dependencies and run the whole suite
test: install-dev
	$(PY) -m pytest

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	$(PIP) --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $@

## demo / index: the two halves of `make run` on their own
demo: install
	$(VENV)/bin/lba demo

index: install
	$(VENV)/bin/lba index demo

## bench-engine: in-process latency of the embedded engine on the national demo data
bench-engine: install
	$(PY) scripts/bench_engine.py

clean:
	rm -rf var $(VENV)
