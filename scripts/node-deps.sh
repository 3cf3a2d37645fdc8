#!/usr/bin/env bash
# Install the Node tools (reference composer, peer gateways, audit) exactly as locked.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: install Node.js 20 or newer (with npm) and run make again." >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
