#!/usr/bin/env bash
# Create the project's virtual environment (Python 3.11 or newer) and install govgraph
# with its development extras into it, every dependency at the version and hash that
# requirements.lock pins (scripts/lock.sh regenerates it). Usage: scripts/venv.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=${1:-.venv}

is_supported() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}

usable_venv() {
  [ -x "$venv/bin/python" ] && is_supported "$venv/bin/python" \
    && "$venv/bin/python" -m pip --version >/dev/null 2>&1
}

if ! usable_venv; then
  python=""
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && is_supported "$candidate"; then
      python=$candidate
      break
    fi
  done
  if [ -z "$python" ]; then
    echo "govgraph needs Python 3.11 or newer: install python3.11 (with its venv module) and run make again." >&2
    exit 1
  fi
  echo "creating $venv with $("$python" --version 2>&1)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi

"$venv/bin/python" -m pip install --disable-pip-version-check --quiet --require-hashes \
  -r requirements.lock
# the project itself: its dependencies are all installed above, exactly as locked
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet --no-deps -e .
