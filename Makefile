# mmrag: every target sets up what it needs on a fresh machine (venv, packages, services).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# The venv lives outside the checkout so that torch (large) is installed once per machine.
VENV ?= $(HOME)/.cache/mmrag/venv
BIN := $(VENV)/bin
DEPS_STAMP := $(VENV)/.deps-$(shell sha256sum pyproject.toml | cut -c1-16)
PYTEST_ARGS ?=
DEMO_FOLDER ?= examples

.PHONY: help system-deps install lint format typecheck test test-unit demo stack-up stack-down clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(DEPS_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[ml,ocr,dev]'
	@rm -f $(VENV)/.deps-*
	@touch $@

system-deps: ## Debian packages: maven, JDKs, setpriv, chromium + chromedriver, docker-compose
	@bash scripts/system-deps.sh

install: $(DEPS_STAMP) ## Create the venv and install mmrag with every extra
	@$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .

lint: install ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install ## mypy (strict)
	$(BIN)/mypy

test: system-deps install ## All tests; starts a real Kafka + Elasticsearch (local stack) when needed
	HF_HUB_OFFLINE=1 $(BIN)/pytest $(PYTEST_ARGS)

test-unit: install ## Unit tests only: no services, seconds
	HF_HUB_OFFLINE=1 $(BIN)/pytest -m unit $(PYTEST_ARGS)

demo: system-deps install ## The main job: stack, worker, API, index examples/, query; then watch
	BIN=$(BIN) bash compose/demo.sh $(DEMO_FOLDER)

stack-up: install ## Start the local Kafka + Elasticsearch
	$(BIN)/mmrag stack up

stack-down: install ## Stop them
	$(BIN)/mmrag stack down

clean: ## Remove caches in the checkout (not the venv, not the stack)
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
