# The two commands: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WORK ?= work
KEEP ?=
BENCH_ARGS ?=
PYTEST_ARGS ?=

.PHONY: all setup system demo test unit integration compat chaos bench docs clean

all: test

$(STAMP): setup.cfg setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,dev]'
	touch $(STAMP)

# Debian packages the real servers need (memcached: one per dev cluster;
# rsync: Swift's container sharder copies shard DBs between nodes with it).
SYSTEM_PACKAGES := memcached rsync
system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; fi

setup: $(STAMP) system

demo: setup
	$(PY) -m swiftsync.devcluster.tour --workdir $(WORK)/demo $(if $(KEEP),--keep)

# includes the short subset of the chaos suite (test/chaos, SWIFTSYNC_CHAOS=short)
# and Swift's own functional suite through our filters (test/compat)
test: setup
	$(PY) -m pytest -q test/unit test/integration test/chaos test/compat $(PYTEST_ARGS)

unit: setup
	$(PY) -m pytest -q test/unit $(PYTEST_ARGS)

integration: setup
	$(PY) -m pytest -q test/integration $(PYTEST_ARGS)

# Swift's functional suite (the sdist of the installed swift, cached in
# work/swift-sdist) through every filter, against a bare pipeline
compat: setup
	$(PY) -m pytest -q test/compat $(PYTEST_ARGS)

# the whole chaos suite at the sizes of doc/reliability.md (under 20 minutes)
chaos: setup
	SWIFTSYNC_CHAOS=full $(PY) -m pytest -q test/chaos $(PYTEST_ARGS)
	@echo "figures: $${SWIFTSYNC_CHAOS_REPORT:-work/chaos/report.json}"

# every script of bench/ that runs on its own (the others are shared helpers)
bench: setup
	@set -e; for f in $$(grep -l "^if __name__ == '__main__':" bench/*.py); do \
	  echo "== $$f"; $(PY) $$f $(BENCH_ARGS); done

docs: setup
	$(PY) -m pip install -q -e '.[doc]'
	$(VENV)/bin/sphinx-build -q -W -b html doc doc/_build/html

clean:
	rm -rf $(VENV) $(WORK) doc/_build *.egg-info
