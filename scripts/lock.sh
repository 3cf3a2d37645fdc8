#!/usr/bin/env bash
# Regenerate requirements.lock from pyproject.toml: every dependency of govgraph and of its
# dev extra, pinned to one version with the hashes of its files, for every platform and
# Python 3.11 or newer. Run it after changing a dependency; scripts/venv.sh installs from it.
# Usage: scripts/lock.sh [--upgrade]   (without --upgrade, versions already locked are kept)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
uv=.venv/bin/uv
if [ ! -x "$uv" ]; then
  uv=$(command -v uv || true)
fi
if [ -z "$uv" ]; then
  echo "scripts/lock.sh needs uv: run scripts/venv.sh (the dev extra installs it) or pip install uv" >&2
  exit 1
fi
"$uv" pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
  --generate-hashes --quiet --custom-compile-command scripts/lock.sh \
  --output-file requirements.lock "$@"
