# Two commands on a fresh machine: `make train` and `make test` (each sets up .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
# TORCH_INDEX=<url>: torch and torchvision from that index instead of PyPI, e.g. pytorch's CPU
# wheels (~200 MB instead of ~4 GB of CUDA libraries): see README.md, Install
TORCH_INDEX ?=
TORCH_PINS := $(shell grep -oE '^torch(vision)?==[^ ]+' $(LOCK))
ARGS ?=
RUN ?=
NOW := $(shell date +%Y-%m-%d_%H-%M-%S)
PAPER := outputs/paper/$(NOW)

.PHONY: venv lock train test test-fast eval compare tensorboard lint format bench gpu-check clean help \
	paper-denoise paper-generation paper-inpainting paper-dncnn

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# Exactly the versions in requirements.lock, each checked against its hash (--no-deps: the lock
# is complete, nothing else comes in; pip check confirms it), then regenlab itself (built with
# the locked hatchling).
# With TORCH_INDEX, the lock less torch's own stack (torch, torchvision, triton, nvidia-*,
# cuda-*), then torch and torchvision at the locked versions from that index, their other
# dependencies already there: checked by pip's HTTPS only (that index's files have other
# hashes than PyPI's, which the lock holds).
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
ifeq ($(TORCH_INDEX),)
	$(BIN)/pip install --no-deps --require-hashes -r $(LOCK)
else
	awk '/^[a-z0-9]/ { skip = /^(torch|torchvision|triton)==|^(nvidia|cuda)-/ } !skip' \
		$(LOCK) > $(VENV)/no-torch.lock
	$(BIN)/pip install --no-deps --require-hashes -r $(VENV)/no-torch.lock
	$(BIN)/pip install --index-url $(TORCH_INDEX) $(TORCH_PINS)
endif
	$(BIN)/pip install --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $(STAMP)

venv: $(STAMP)  ## set up .venv only (a fresh one takes TORCH_INDEX=<url>: see README)

# Every platform and Python >= 3.10 (pyproject's requires-python); pins already in the lock stay
# unless ARGS="--upgrade" or ARGS="--upgrade-package rich"
lock: $(STAMP)  ## re-resolve requirements.lock from pyproject.toml (needs PyPI)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.10 \
		--generate-hashes --custom-compile-command "make lock" -q -o $(LOCK) $(ARGS)

train: $(STAMP)  ## train the default experiment (override with ARGS="model=dncnn ...")
	$(BIN)/regenlab-train $(ARGS)

test: $(STAMP)  ## run the whole test suite
	$(BIN)/pytest $(ARGS)

test-fast: $(STAMP)  ## skip the tests marked slow
	$(BIN)/pytest -m "not slow" $(ARGS)

eval: $(STAMP)  ## re-evaluate a finished run: make eval RUN=outputs/train/<date>/<time>
	@test -n "$(RUN)" || { echo "usage: make eval RUN=<run dir> [ARGS='degradation.sigma=50']"; exit 2; }
	$(BIN)/regenlab-eval run_dir=$(RUN) $(ARGS)

compare: $(STAMP)  ## tables and plots from runs: make compare RUN="<dirs>" ARGS="columns=..."
	@test -n "$(RUN)" || { echo "usage: make compare RUN='<run or sweep dirs>' [ARGS='rows=model columns=degradation.sigma']"; exit 2; }
	$(BIN)/regenlab-compare $(RUN) $(ARGS)

paper-denoise: $(STAMP)  ## DnCNN vs U-Net vs TV/NLM/BM3D, sigma 15/25/50, 3 seeds (CPU ~1 h)
	$(BIN)/regenlab-train experiment=paper_denoise hydra.sweep.dir=$(PAPER)/denoise/nets $(ARGS)
	$(BIN)/regenlab-train experiment=paper_denoise_baselines hydra.sweep.dir=$(PAPER)/denoise/classical
	$(BIN)/regenlab-compare $(PAPER)/denoise columns=degradation.sigma curves=val/psnr out=$(PAPER)/denoise/compare

GENERATION_METRICS := test/fid,test/kid,test/precision,test/recall,test/density,test/coverage,test/class_coverage

paper-generation: $(STAMP)  ## DCGAN vs WGAN-GP vs VAE on shapes, 3 seeds (real digits, the CPU recipes: DATA=<dir with MNIST/raw/>, ~3 h)
ifdef DATA
	test -f data/feature_nets/mnist_digits.pt || $(BIN)/regenlab-train experiment=feature_net data=mnist_digits paths.mnist_root=$(DATA)
	$(BIN)/regenlab-train -m experiment=dcgan_mnist,wgan_gp_mnist,vae_mnist,real_digits_floor seed=1,2,3 paths.mnist_root=$(DATA) hydra.sweep.dir=$(PAPER)/generation_mnist $(ARGS)
	$(BIN)/regenlab-compare $(PAPER)/generation_mnist metrics=$(GENERATION_METRICS),test/nll_iw50 reference=generation_mnist images=images/samples out=$(PAPER)/generation_mnist/compare
else
	test -f data/feature_nets/shapes.pt || $(BIN)/regenlab-train experiment=feature_net_shapes
	$(BIN)/regenlab-train experiment=paper_generation hydra.sweep.dir=$(PAPER)/generation $(ARGS)
	$(BIN)/regenlab-compare $(PAPER)/generation metrics=$(GENERATION_METRICS) images=images/samples out=$(PAPER)/generation/compare
endif

paper-inpainting: $(STAMP)  ## biharmonic vs L1 U-Net vs cGAN per mask-ratio bin, 3 seeds (CPU ~1 h)
	$(BIN)/regenlab-train experiment=paper_inpainting hydra.sweep.dir=$(PAPER)/inpainting $(ARGS)
	$(BIN)/regenlab-compare $(PAPER)/inpainting "metrics=test/hole_mae*,test/psnr*" out=$(PAPER)/inpainting/compare

# paper-dncnn: the rows that are a function of the data (noisy input, classical baselines,
# bicubic, JPEG, the authors' published weights) and the <= 30-minute CPU recipes
# (experiment=set12_denoise_cpu, set5_sr_x4_cpu, classic5_jpeg_q10_cpu), next to the paper's
# rows, with bootstrap intervals against the reported row each recipe must beat.
DNCNN = $(PAPER)/dncnn
DNCNN_DATA = paths.benchmarks=$(abspath $(DATA))
HAS_BM3D = $(shell $(BIN)/python -c "import bm3d" 2>/dev/null && echo yes)
DNCNN_CLASSICAL = classical/identity,classical/tv,classical/nlm,classical/wavelet$(if $(HAS_BM3D),$(comma)classical/bm3d)
DNCNN_NOTE = note="unet / unet_sr rows: the <= 30-minute CPU recipes (conf/experiment/*_cpu.yaml)"
comma := ,

paper-dncnn: $(STAMP)  ## the DnCNN paper's tables on its own sets: make paper-dncnn DATA=<dir> (2-core CPU: ~2 h)
	@test -n "$(DATA)" || { echo "usage: make paper-dncnn DATA=<dir holding train400/ set12/ set5/ classic5/ weights/dncnn_sigma25.pt> [ARGS=...]; see README, 'The DnCNN paper on its own test sets'"; exit 2; }
	@for d in train400 set12 set5 classic5 weights/dncnn_sigma25.pt; do test -e "$(DATA)/$$d" || { echo "paper-dncnn: $(DATA)/$$d is missing; DATA must hold train400/ set12/ set5/ classic5/ weights/dncnn_sigma25.pt (see README)"; exit 2; }; done
	$(BIN)/regenlab-train experiment=paper_dncnn_denoise $(DNCNN_DATA) train=false "model=$(DNCNN_CLASSICAL)" hydra.sweep.dir=$(DNCNN)/runs/denoise/classical $(ARGS)
	$(BIN)/regenlab-train experiment=paper_dncnn_denoise $(DNCNN_DATA) train=false model=pretrained/dncnn_sigma25 degradation.sigma=25 hydra.sweep.dir=$(DNCNN)/runs/denoise/published $(ARGS)
	$(BIN)/regenlab-train experiment=set12_denoise_cpu $(DNCNN_DATA) hydra.run.dir=$(DNCNN)/runs/denoise/recipe $(ARGS)
	$(BIN)/regenlab-train experiment=paper_dncnn_sr $(DNCNN_DATA) train=false model=classical/identity hydra.sweep.dir=$(DNCNN)/runs/sr/classical $(ARGS)
	$(BIN)/regenlab-train experiment=set5_sr_x4_cpu $(DNCNN_DATA) hydra.run.dir=$(DNCNN)/runs/sr/recipe $(ARGS)
	$(BIN)/regenlab-train experiment=paper_dncnn_jpeg $(DNCNN_DATA) train=false model=classical/identity hydra.sweep.dir=$(DNCNN)/runs/jpeg/classical $(ARGS)
	$(BIN)/regenlab-train experiment=classic5_jpeg_q10_cpu $(DNCNN_DATA) hydra.run.dir=$(DNCNN)/runs/jpeg/recipe $(ARGS)
	$(BIN)/regenlab-compare $(DNCNN)/runs/denoise columns=degradation.sigma metrics=test/set12/psnr,test/set12/ssim reference=dncnn_paper "baseline=BM3D (reported)" $(DNCNN_NOTE) out=$(DNCNN)/denoise
	$(BIN)/regenlab-compare $(DNCNN)/runs/sr columns=degradation.scale metrics=test/set5/psnr,test/set5/ssim reference=dncnn_paper "baseline=SRCNN (reported)" $(DNCNN_NOTE) out=$(DNCNN)/sr
	$(BIN)/regenlab-compare $(DNCNN)/runs/jpeg columns=degradation.quality metrics=test/classic5/psnr,test/classic5/ssim reference=dncnn_paper "baseline=ARCNN (reported)" $(DNCNN_NOTE) out=$(DNCNN)/jpeg

tensorboard: $(STAMP)  ## browse every run under outputs/
	$(BIN)/tensorboard --logdir outputs

lint: $(STAMP)  ## ruff check + format check
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks notebooks

format: $(STAMP)  ## ruff fix + format
	$(BIN)/ruff check --fix src tests benchmarks notebooks
	$(BIN)/ruff format src tests benchmarks notebooks

bench: $(STAMP)  ## speed benchmarks (ratios, same process) -> outputs/bench/*.json, *.md (~15-25 min)
	$(BIN)/python benchmarks/degradations.py
	$(BIN)/python benchmarks/data_wait.py
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/speed_options.py
	$(BIN)/python benchmarks/inference.py $(if $(RUN),--run $(RUN))
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/recipe_nets.py

gpu-check: $(STAMP)  ## on one GPU: every experiment x precision + speed -> outputs/bench/gpu_check.* (< 8 min)
	$(BIN)/python benchmarks/gpu_check.py --device cuda $(ARGS)

clean:  ## remove the venv, caches and run outputs (keeps outputs/.gitkeep)
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist
	find outputs -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
