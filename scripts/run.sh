#!/usr/bin/env bash
# Seed the demo data when it is absent, then run the whole stack in the foreground.
# GOVGRAPH_DATA_DIR and GOVGRAPH_SEED_SCALE choose the data; GOVGRAPH_*_PORT the ports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
govgraph=.venv/bin/govgraph
data_dir=${GOVGRAPH_DATA_DIR:-data}
provinces=31

present=0
if [ -d "$data_dir/provinces" ]; then
  present=$(find "$data_dir/provinces" -maxdepth 1 -name '[0-9][0-9][0-9][0-9][0-9][0-9].db' | wc -l)
fi
if [ ! -f "$data_dir/national.db" ] || [ "$present" -lt "$provinces" ]; then
  echo "seeding demo data into $data_dir"
  "$govgraph" seed --data-dir "$data_dir" ${GOVGRAPH_SEED_SCALE:+--scale "$GOVGRAPH_SEED_SCALE"}
fi

exec "$govgraph" run --data-dir "$data_dir"
