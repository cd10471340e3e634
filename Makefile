# parley — two commands: `make serve` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=
# The suite mostly waits on real-time audio and browsers: pytest workers (one test file each at a time, so a
# file's module-scoped servers stay in one process) overlap that waiting. On 2 cores three workers keep both cores
# busy (5 min 26 s against 6 min 39 s with two; docs/benchmarks.md "The suite"). TEST_WORKERS=0 runs one process.
TEST_WORKERS ?= 3

.PHONY: install install-test serve test fuzz lint bench clean system-deps

# uv installs from PyPI like pip, with the same resolution (checked: identical versions), in 18-22 s instead of
# pip's 74 s for a fresh venv (2-core AMD EPYC, 2026-12-08; it downloads and unpacks in parallel). Byte-compiling
# stays on: where PYTHONDONTWRITEBYTECODE is set (this CI's machines) nothing compiled at import is kept, so without
# it every server process the suite starts compiled every module it imports (with pip's --no-compile a fresh
# `.ci/run` took 8 min 52 s against 7 min 59 s, 2-core Xeon). The test extras install in one step with the package.
UV := $(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==0.13.10

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(UV) -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(UV) -e '.[test]'
	@touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

serve: install
	$(BIN)/parley serve $(ARGS)

# Debian packages the suite drives: Chromium for the browser tests (never a downloaded browser build), coturn
# for the TURN relay test, and Caddy for the Compose stack's proxy configuration. Installed only where missing.
system-deps:
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	  command -v turnserver >/dev/null 2>&1 || missing="$$missing coturn"; \
	  command -v caddy >/dev/null 2>&1 || missing="$$missing caddy"; \
	  if [ -n "$$missing" ]; then echo "installing Debian packages for the tests:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

test: install-test system-deps
	$(BIN)/ruff check src tests bench harness
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile) $(ARGS)

# The fuzz suites with many random examples each (minutes); `make test` runs them with a few fixed ones.
fuzz: install-test
	PARLEY_FUZZ_PROFILE=long $(BIN)/python -m pytest tests/fuzz $(ARGS)

lint: install-test
	$(BIN)/ruff check src tests bench harness

bench: install-test
	$(BIN)/python bench/control_plane.py

clean:
	rm -rf $(VENV) .parley .pytest_cache
