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

.PHONY: run test supergraph bench clean

$(PYTHON_DEPS): pyproject.toml
	scripts/venv.sh $(VENV)
	touch $@

$(NODE_DEPS): package-lock.json package.json
	scripts/node-deps.sh
	touch $@

run: $(PYTHON_DEPS)
	scripts/run.sh

test: $(PYTHON_DEPS) $(NODE_DEPS)
	scripts/redis.sh
	$(VENV)/bin/pytest -q </dev/null

supergraph: $(PYTHON_DEPS) $(NODE_DEPS)
	scripts/supergraph.sh schema/supergraph.graphql

bench: $(PYTHON_DEPS) $(NODE_DEPS)
	@if [ -x bench/run ]; then bench/run; else echo "bench/run is missing: there is no benchmark to run" >&2; exit 1; fi

clean:
	rm -rf build data .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -path ./node_modules -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
