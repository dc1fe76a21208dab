# Joinedup: the two commands of the quick start, and the ones developers use every day.
#   make demo   set up everything on a fresh machine and run the demo federation
#   make demo-scale  the same demo as a small cluster (PostgreSQL, Redis, nginx, two of each)
#   make demo-federation  three nodes of the exchange (federal, Ontario, Quebec) on this machine
#   make test   set up what is missing and run the whole test suite (SQLite and PostgreSQL)
#   make lint   ruff, formatting and the import order between apps
#   make bench  the benchmarks in bench/, each beside its reference

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .make
APT_PACKAGES := gettext chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0

.PHONY: demo demo-scale demo-federation test lint bench install assets system messages format clean

demo: install assets messages
	$(BIN)/joinedup demo

# The cluster demo runs Redis and nginx (Debian packages) as this user's own processes, on
# the local PostgreSQL server (a database of its own); see src/joinedup/demo/cluster.py.
demo-scale: APT_PACKAGES += nginx redis-server
demo-scale: install assets system messages
	$(BIN)/python -m joinedup.demo.cluster

# Three nodes of the exchange, each its own deployment (src/joinedup/demo/federation.py):
# SQLite by default, FEDERATION_ARGS=--postgres for PostgreSQL databases.
FEDERATION_ARGS ?=
demo-federation: install assets messages
	$(BIN)/python -m joinedup.demo.federation $(FEDERATION_ARGS)

# The slow test of the cluster (tests/web/test_demo_scale.py) needs nginx and Redis too.
test: APT_PACKAGES += nginx redis-server
test: install assets system messages
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests bench
	scripts/run-tests

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# The benchmarks load the server with wrk (Debian package), installed by `system` when missing.
bench: APT_PACKAGES += wrk
bench: install assets system messages
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

install: $(STAMPS)/python

$(STAMPS)/python: pyproject.toml
	@mkdir -p $(STAMPS)
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

assets: $(STAMPS)/assets

$(STAMPS)/assets: package.json package-lock.json
	@mkdir -p $(STAMPS)
	@command -v npm >/dev/null || $(MAKE) --no-print-directory APT_PACKAGES="nodejs npm" system
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# System packages from Debian: gettext compiles the translations, Chromium runs the browser
# tests, the fonts render documents. Installed only when something is missing.
system:
	@missing=""; for pkg in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

messages: install
	@command -v msgfmt >/dev/null || $(MAKE) --no-print-directory APT_PACKAGES=gettext system
	@mkdir -p src/joinedup/locale
	cd src/joinedup && ../../$(BIN)/joinedup compilemessages --verbosity 0

clean:
	rm -rf $(VENV) node_modules $(STAMPS) var
