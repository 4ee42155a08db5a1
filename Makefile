# procmine: two commands do everything on a fresh machine with Python 3.11 and make.
#   make run    set up, build the demo workspace if absent, serve the dashboard on :8501
#   make test   set up, lint, type-check and run every test
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-stamp
PORT ?= 8501
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: setup run test lint bench constraints clean demo-workspace system-deps

setup: $(STAMP) system-deps

# The browser tests drive Debian's Chromium; Chinese text needs the Noto CJK fonts; the Spark
# engine needs a Java runtime; the app database's tests start a PostgreSQL server of their own
# from Debian's binaries (tests/pg.py).
system-deps:
	@command -v java >/dev/null || { echo "installing a Java runtime for Spark"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq openjdk-17-jre-headless \
	    >/dev/null; }
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  echo "installing Debian's chromium and fonts-noto-cjk"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk \
	    >/dev/null; \
	fi
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "installing Debian's postgresql server for the app database's tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; \
	fi

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "procmine needs Python 3.11, found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dashboard,dev,spark,maps]'
	touch $(STAMP)

demo-workspace: setup
	$(BIN)/procmine demo-workspace

run: demo-workspace
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

# mypy (one core, about a minute from a clean clone) runs beside the tests instead of before
# them; either failing fails the target, and mypy's report is printed after the tests'.
test: setup
	$(BIN)/ruff check .
	@$(BIN)/mypy > $(VENV)/mypy.log 2>&1 & typing=$$!; \
	echo "$(BIN)/mypy (beside the tests)"; \
	$(BIN)/python -m pytest $(PYTEST_ARGS); tests=$$?; \
	wait $$typing; typed=$$?; cat $(VENV)/mypy.log; \
	exit $$(( tests != 0 || typed != 0 ))

bench: setup
	$(BIN)/python bench/run.py

# Re-pin every installed version after changing a dependency in pyproject.toml.
constraints: setup
	{ echo '# Every package version procmine installs, pinned (pip install -c constraints.txt).'; \
	  echo '# Regenerate with: make constraints'; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^procmine'; } > constraints.txt

clean:
	rm -rf $(VENV) workspace tests/artifacts bench/out .pytest_cache .mypy_cache .ruff_cache
