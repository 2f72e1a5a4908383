#!/usr/bin/env bash
# One command on a fresh machine: install nginx, curl, aria2 and the Python contenders, then run
# the benchmark and write docs/benchmarks.md. Options go to bench.py (--quick, --runs N, --million).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v nginx >/dev/null || ! command -v aria2c >/dev/null || ! command -v curl >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nginx-light curl aria2 >/dev/null
fi
command -v taskset >/dev/null || { apt-get update -qq && apt-get install -y -qq util-linux >/dev/null; }
venv="$here/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "$here/.." aiohttp httpx httpx-aiohttp uvloop matplotlib
exec "$venv/bin/python" "$here/bench.py" "$@"
