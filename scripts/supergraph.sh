#!/usr/bin/env bash
# Compose the built-in subgraphs into a supergraph with the reference composer.
# Usage: scripts/supergraph.sh [OUT]   (default: schema/supergraph.graphql)
# The SDLs are exported into $GOVGRAPH_BUILD_DIR/supergraph (default build/supergraph).
set -euo pipefail
out=$(realpath -m "${1:-$(dirname "${BASH_SOURCE[0]}")/../schema/supergraph.graphql}")
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python=${GOVGRAPH_PYTHON:-.venv/bin/python}
build=$(realpath -m "${GOVGRAPH_BUILD_DIR:-build}/supergraph")
mkdir -p "$build"

specs=()
for spec in national=http://127.0.0.1:4001/graphql provincial=http://127.0.0.1:4002/graphql; do
  name=${spec%%=*}
  url=${spec#*=}
  "$python" -m gateway.cli subgraph sdl "$name" >"$build/$name.graphql"
  specs+=("$name=$url=$build/$name.graphql")
done

node scripts/compose-supergraph.mjs "$out" "${specs[@]}"
echo "wrote $out"
