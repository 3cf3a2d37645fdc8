# The two commands a user needs: `make run` (the whole stack on this machine) and
# `make test` (the whole test suite). The logic lives in scripts/.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := run

VENV := .venv
# Reinstall only when the project's dependencies change.
PYTHON_DEPS := $(VENV)/.govgraph-installed
# npm ci writes this file last; it is newer than the lock file after a good install.
NODE_DEPS := node_modules/.package-lock.json

.PHONY: run test supergraph bench clean conformance lock reliability

$(PYTHON_DEPS): pyproject.toml requirements.lock
	scripts/venv.sh $(VENV)
	touch $@

$(NODE_DEPS): package-lock.json package.json
	scripts/node-deps.sh
	touch $@

run: $(PYTHON_DEPS)
	scripts/run.sh

test: $(PYTHON_DEPS) $(NODE_DEPS)
	scripts/redis.sh
	scripts/chromium.sh
	$(VENV)/bin/pytest -q </dev/null

# govgraph against Hive Gateway (Rust query planner) on random schemas and queries;
# writes tests/conformance/RESULTS.md (see tests/conformance/README.md).
CONFORMANCE_SCHEMAS ?= 200
CONFORMANCE_QUERIES ?= 100
CONFORMANCE_BUDGET_S ?= 3600
conformance: $(PYTHON_DEPS) $(NODE_DEPS)
	$(VENV)/bin/python -m tests.conformance.random run --schemas $(CONFORMANCE_SCHEMAS) \
		--queries $(CONFORMANCE_QUERIES) --budget-s $(CONFORMANCE_BUDGET_S) </dev/null

# pin every Python dependency again after a change in pyproject.toml (requirements.lock)
lock: $(PYTHON_DEPS)
	scripts/lock.sh

supergraph: $(PYTHON_DEPS) $(NODE_DEPS)
	scripts/supergraph.sh schema/supergraph.graphql

bench: $(PYTHON_DEPS) $(NODE_DEPS)
	@if [ -x bench/run ]; then bench/run; else echo "bench/run is missing: there is no benchmark to run" >&2; exit 1; fi
bench-planning: $(PYTHON_DEPS) $(NODE_DEPS) ; $(VENV)/bin/python -m bench.planning --tree 81ee4cc --tree HEAD </dev/null

# the demo stack under load with distinct variables through faults (about five minutes,
# loopback only); writes bench/RELIABILITY.md. RELIABILITY_SECONDS sets each phase's length.
reliability: $(PYTHON_DEPS)
	$(VENV)/bin/python -m bench.reliability </dev/null

clean:
	rm -rf build data .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -path ./node_modules -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
