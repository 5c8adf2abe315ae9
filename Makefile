# Developer entry points. Every target sets up .venv first, so each works on a fresh clone;
# the set-up runs once and again only when a pyproject.toml (or the set-up script) changed.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYPROJECTS := pyproject.toml $(wildcard plugins/*/pyproject.toml examples/*/pyproject.toml)
SOURCES := $(wildcard lstarb_sdk lstarb_runtime plugins examples tests benchmarks scripts)

.PHONY: dev run test lint typecheck imports pytest docs wheels bench clean

dev:
	./scripts/dev-setup.sh
	touch $(STAMP)

$(STAMP): $(PYPROJECTS) scripts/dev-setup.sh
	./scripts/dev-setup.sh
	touch $@

run: $(STAMP)
	$(BIN)/lstarb run

test: $(STAMP)
	$(MAKE) lint typecheck imports pytest docs wheels

lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -q

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

# Every install command of the README and the docs, on fresh virtual environments, and the
# plugin template copied out of the repository passing its own tests.
wheels: $(STAMP)
	./scripts/check-wheels.sh

bench: $(STAMP)
	mkdir -p build
	$(BIN)/pytest benchmarks plugins/*/benchmarks --benchmark-enable -q --benchmark-json=build/bench.json
	$(BIN)/python benchmarks/targets.py build/bench.json
	$(BIN)/python benchmarks/events_table.py
	$(BIN)/python benchmarks/bus_latency.py
	$(BIN)/python benchmarks/scanner_pass.py
	$(BIN)/python benchmarks/bench_strategy_latency.py
	$(BIN)/python benchmarks/executor_build.py
	$(BIN)/python benchmarks/planner_latency.py
	$(BIN)/python benchmarks/tape_readers.py
	$(BIN)/python benchmarks/e2e_latency.py 20

clean:
	rm -rf $(VENV) build dist site .lstarb
