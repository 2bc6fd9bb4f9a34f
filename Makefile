# Two commands from a fresh clone: `make demo` (sample data, every asset, a summary) and
# `make test`. Both create the virtual environment in .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Where the embedded default keeps everything; override any of these in the environment.
export PLATFORM_HOME ?= $(CURDIR)/.platform
export DAGSTER_HOME ?= $(PLATFORM_HOME)/dagster_home
export PLATFORM_LANDING_DIR ?= $(PLATFORM_HOME)/landing
export PLATFORM_DATA_DIR ?= $(PLATFORM_HOME)/data

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install browser demo test dev bench home clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

# Debian's Chromium for the browser tests: Playwright drives it by executable_path, nothing
# downloads a browser.
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

home:
	@mkdir -p "$(DAGSTER_HOME)" "$(PLATFORM_LANDING_DIR)" "$(PLATFORM_DATA_DIR)"
	@cp dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"

demo: install home
	$(BIN)/platform-assets demo

test: install browser
	$(BIN)/pytest $(PYTEST_ARGS)

dev: install home
	$(BIN)/dagster dev -h 127.0.0.1 -p $${PORT:-3000}

# Bytecode compiled first, as an installed package has it: with PYTHONDONTWRITEBYTECODE set (as on
# this machine) every run process and forkserver would otherwise compile the platform's source again.
bench: install
	$(BIN)/python -m compileall -q platform_assets benchmarks
	$(BIN)/python -m benchmarks $(if $(ONLY),--only $(ONLY),)

clean:
	rm -rf "$(PLATFORM_HOME)"
