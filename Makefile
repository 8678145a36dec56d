# The two commands a new user needs: `make demo` and `make test`. Both set up .venv themselves.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint format install clean soak bench scenarios clients eval

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing luthien-proxy and its dev tools into $(VENV) ..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,eval]'
	@touch $(STAMP)

install: $(STAMP)

## Run the whole stack locally on the embedded default (SQLite, in-process bus): no keys, no servers.
## Choose a policy with POLICY=config/all_caps.yaml (default: LUTHIEN_POLICY_CONFIG, else NoOp).
demo: $(STAMP)
	$(BIN)/luthien up --demo $(if $(POLICY),--policy $(POLICY))

## The pinned real clients the end-to-end tests drive (the Claude Code CLI, from npm, into .cache/clients/).
clients: $(STAMP)
	@$(BIN)/python -c "from tests.support.claude_code import claude_code_binary; from tests.support.codex import codex_binary; print('claude code:', claude_code_binary()); print('codex:', codex_binary())"

## Lint, type-check, then run the whole test suite (Postgres/Redis tests need the local servers).
test: $(STAMP) lint clients
	$(BIN)/python -m pytest

## Benchmark upstream vs LiteLLM vs Luthien (NoOp, AllCaps, tool guard; all three native-door APIs; a realistic
## upstream) side by side, 3 rounds, the goals as PASS/FAIL (~7 min on 2 quiet cores); rewrites docs/benchmarks.md.
bench: $(STAMP)
	$(BIN)/luthien bench --output docs/benchmarks.md

## Benign and attack episodes against every control protocol on real stacks; prints the table.
scenarios: $(STAMP)
	$(BIN)/luthien scenarios

## The shipped command monitor (config/tool_guard.yaml) on the shipped test split: the table, then
## .luthien/eval/eval.png and eval.html (docs/evaluation.md). Another policy: POLICY=config/....yaml
eval: $(STAMP)
	$(BIN)/luthien eval --dataset command_monitor/test --policy $(or $(POLICY),config/tool_guard.yaml)

## 200 concurrent streams through each front door for 5 minutes; writes docs/reliability.md.
soak: $(STAMP)
	$(BIN)/luthien soak --streams 200 --seconds 300 --output docs/reliability.md

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/pyright

format: $(STAMP)
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

clean:
	rm -rf $(VENV) .luthien .pytest_cache .ruff_cache
