#!/usr/bin/env bash
# Make sure headless Chromium is there for the tests that open the gateway's pages in a
# browser (Debian's chromium package), installing it when it is missing.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
    echo "Chromium is not installed and this user cannot install it: install the chromium package." >&2
    exit 1
  fi
fi
echo "installing chromium"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium </dev/null \
  || { $sudo apt-get update -q </dev/null && \
       $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium </dev/null; }
