# Developer entry points. Every target sets up .venv first, so each works on a fresh clone.
VENV ?= .venv
BIN := $(VENV)/bin
SOURCES := $(wildcard lstarb_sdk lstarb_runtime plugins examples tests benchmarks scripts)

.PHONY: dev run test lint typecheck imports pytest docs wheels bench clean

dev:
	./scripts/dev-setup.sh

run: dev
	$(BIN)/lstarb run --plugins raydium,meteora

test: dev lint typecheck imports pytest docs wheels

lint:
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)

typecheck:
	$(BIN)/mypy

imports:
	$(BIN)/lint-imports

pytest:
	$(BIN)/pytest -q

docs:
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

wheels:
	./scripts/check-wheels.sh

bench: dev
	mkdir -p build
	$(BIN)/pytest benchmarks plugins/*/benchmarks --benchmark-enable -q --benchmark-json=build/bench.json
	$(BIN)/python benchmarks/targets.py build/bench.json
	$(BIN)/python benchmarks/events_table.py
	$(BIN)/python benchmarks/bus_latency.py
	$(BIN)/python plugins/lst/benchmarks/bench_strategy_latency.py

clean:
	rm -rf $(VENV) build dist site .lstarb
