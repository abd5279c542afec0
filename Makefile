# The two commands: `make run` (set up, then run the main job) and `make test` (set up, then test).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.silkwatch-installed
# Quiet, offline-friendly Prefect for command-line use (no telemetry, no INFO chatter).
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: setup run test lint docs golden eval bench reliability clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "silkwatch needs Python >= 3.11; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing silkwatch and its pinned dependencies into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/python -m pip install -c constraints.txt -e '.[dev]' > $(VENV)/install.log 2>&1 \
		|| { tail -n 30 $(VENV)/install.log; echo "install failed; full log: $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)

run: setup
	$(BIN)/silkwatch run --config silkwatch.toml

test: setup
	$(BIN)/python -m pytest

eval: setup
	$(BIN)/python -m evaluation.extraction $(CORPUS)
	$(BIN)/python -m evaluation.topics
	$(BIN)/python -m evaluation.dedupe
	$(BIN)/python -m evaluation.search
	$(BIN)/python -m evaluation.stories
	$(BIN)/python -m evaluation.dates  # needs $$SILKWATCH_EVAL_DATA (evaluation/external.py); says so when absent

# every part, then the summary of every figure (`make bench BENCH="ingest load"` runs only those parts)
bench: setup
	$(BIN)/python -m bench $(BENCH)

# The reliability suite alone (hostile input, network safety, crashes, concurrency, injection),
# then its table: cases tried, survived and data lost per category.
reliability: setup
	$(BIN)/python -m pytest -m reliability --reliability-report -q -rfE  # -rfE: the table, not 29 skip lines, ends the output

# the documentation site (docs/, mkdocs.yml) into site/; --strict: a broken link or a page outside the nav fails.
# make test builds it too (tests/test_docs.py), with every example in it checked.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# regenerate the extraction golden files (tests/golden/) on purpose, then review them with git diff
golden: setup
	$(BIN)/python -m pytest tests/test_golden.py --regen-golden -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) data reports site .pytest_cache
