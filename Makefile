# Two commands on a fresh machine: `make train` and `make test` (each sets up .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=
RUN ?=

.PHONY: train test test-fast eval tensorboard lint format bench clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -e '.[dev]'
	touch $(STAMP)

train: $(STAMP)  ## train the default experiment (override with ARGS="model=dncnn ...")
	$(BIN)/regenlab-train $(ARGS)

test: $(STAMP)  ## run the whole test suite
	$(BIN)/pytest $(ARGS)

test-fast: $(STAMP)  ## skip the tests marked slow
	$(BIN)/pytest -m "not slow" $(ARGS)

eval: $(STAMP)  ## re-evaluate a finished run: make eval RUN=outputs/train/<date>/<time>
	@test -n "$(RUN)" || { echo "usage: make eval RUN=<run dir> [ARGS='degradation.sigma=50']"; exit 2; }
	$(BIN)/regenlab-eval run_dir=$(RUN) $(ARGS)

tensorboard: $(STAMP)  ## browse every run under outputs/
	$(BIN)/tensorboard --logdir outputs

lint: $(STAMP)  ## ruff check + format check
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)  ## ruff fix + format
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

bench: $(STAMP)  ## speed benchmarks (ratios, same process) -> outputs/bench/
	$(BIN)/python benchmarks/degradations.py
	$(BIN)/python benchmarks/data_wait.py

clean:  ## remove the venv, caches and run outputs (keeps outputs/.gitkeep)
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist
	find outputs -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
