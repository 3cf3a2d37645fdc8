#!/usr/bin/env bash
# Make sure a Redis answers on 127.0.0.1:6379 for the tests: start a throw-away,
# non-persistent one when none answers, installing it first if it is missing.
set -euo pipefail
port=6379

answers() {
  [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]
}

install_redis() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
      echo "Redis is not installed and this user cannot install it: install redis-server and redis-tools." >&2
      exit 1
    fi
  fi
  echo "installing redis-server and redis-tools"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server redis-tools </dev/null \
    || { $sudo apt-get update -q </dev/null && \
         $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server redis-tools </dev/null; }
}

if ! command -v redis-cli >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1; then
  install_redis
fi
if answers; then
  exit 0
fi

echo "starting redis-server on 127.0.0.1:$port"
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no >/dev/null
for _ in $(seq 1 50); do
  if answers; then
    exit 0
  fi
  sleep 0.2
done
echo "redis-server was started but does not answer on 127.0.0.1:$port" >&2
exit 1
