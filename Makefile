# openspm: every target sets up what it needs, so each works as the first command on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-engine format serve clean docs

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $(STAMP)

demo: $(STAMP)  ## Generate the demo company, run its plans for every month, serve the web app
	$(BIN)/openspm demo --reset
	$(BIN)/openspm run --all
	$(BIN)/openspm serve

test: $(STAMP)  ## Run the test suite (SQLite; also PostgreSQL when OPENSPM_TEST_DATABASE_URL is set; Spark parity needs Java)
	$(BIN)/python -m pytest -q

lint: $(STAMP)  ## ruff format check, ruff check, mypy strict, import-linter layer contract
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(STAMP)  ## Import benchmark: 1,000,000 transaction rows from CSV (ROWS=... to change)
	$(BIN)/python benchmarks/import_bench.py --rows $${ROWS:-1000000}

bench-engine: $(STAMP)  ## Engine benchmark against a hand-written DuckDB floor (SCALE=1M or 10M)
	$(BIN)/python benchmarks/engine_bench.py --scale $${SCALE:-1M}

docs: $(STAMP)  ## Regenerate docs/import.md and docs/plan.schema.json from the code
	$(BIN)/python -m openspm.ingest.docs > docs/import.md
	$(BIN)/openspm plan schema > docs/plan.schema.json

serve: $(STAMP)
	$(BIN)/openspm serve

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
