# Sequencer: the four commands a newcomer needs. See README.md.
PYTHON ?= python3.11
VENV   := .venv
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
STAMP  := $(VENV)/.installed

.PHONY: setup run test bench lint lock clean

setup: $(STAMP)

# uv is bootstrapped into its own small venv (the system Python is externally managed),
# then installs the hash-pinned lock file into .venv.
$(UV):
	@$(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/pip install --quiet --disable-pip-version-check 'uv>=0.9,<1'

# llama-cpp-python has no wheel for this platform: uv compiles llama.cpp once (a few
# minutes on 2 cores) and keeps the wheel in its cache. The build is portable (AVX2, no
# -march=native): a native build uses AMX tiles on CPUs that announce them, and a
# virtual machine that announces AMX without enabling it crashes on the first token.
# The multimodal library (LLAVA_BUILD) is not needed for text and is skipped.
LLAMA_BUILD := --config-settings-package llama-cpp-python:cmake.define.GGML_NATIVE=OFF \
	--config-settings-package llama-cpp-python:cmake.define.LLAVA_BUILD=OFF

$(STAMP): requirements.lock pyproject.toml $(UV)
	@test -x $(VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	@VIRTUAL_ENV=$(VENV) $(UV) pip sync --quiet --require-hashes $(LLAMA_BUILD) requirements.lock
	@VIRTUAL_ENV=$(VENV) $(UV) pip install --quiet --no-deps -e .
	@touch $(STAMP)

run: setup
	@$(VENV)/bin/sequencer migrate
	@$(VENV)/bin/sequencer serve

test: setup
	@bash scripts/test.sh

bench: setup
	@bash scripts/bench.sh

lint: setup
	@$(VENV)/bin/ruff check src tests bench
	@$(VENV)/bin/ruff format --check src tests bench
	@$(VENV)/bin/mypy src

# Re-resolve the lock file after changing dependencies in pyproject.toml.
lock: $(UV)
	@$(UV) pip compile pyproject.toml --group dev --generate-hashes --python-version 3.11 \
		--universal --quiet -o requirements.lock

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
