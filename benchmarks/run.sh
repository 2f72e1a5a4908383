#!/usr/bin/env bash
# One command on a fresh machine: install nginx, curl, aria2 and the Python contenders, then run
# the benchmarks and write docs/benchmarks.md (and its charts).
#
#   benchmarks/run.sh                 both: one host (bench.py), then many hosts (many_hosts.py)
#   benchmarks/run.sh --one-host      only the one-host benchmark
#   benchmarks/run.sh --many-hosts    only the many-hosts benchmark (needs root: ip netns)
#
# Other options go to the scripts: --quick (a short smoke run), --runs N, --million (one host only).
# Each script rewrites only its own part of docs/benchmarks.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

only=""
args=()
for arg in "$@"; do
  case "$arg" in
    --many-hosts) only=many ;;
    --one-host) only=one ;;
    *) args+=("$arg") ;;
  esac
done

missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
command -v curl >/dev/null || missing+=(curl)
command -v aria2c >/dev/null || missing+=(aria2)
command -v taskset >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || missing+=(iproute2)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

venv="$here/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
# Editable: the benchmark always measures the working tree. aiodns: the hand-written aiohttp
# contender resolves with it (and aiohttp, fetchcli's transport included, uses it when present).
"$venv/bin/pip" install -q -e "$here/.." aiohttp aiodns httpx httpx-aiohttp uvloop matplotlib trustme httpie

if [ "$only" != many ]; then
  "$venv/bin/python" "$here/bench.py" "${args[@]}"
fi
if [ "$only" != one ]; then
  many_args=()
  for arg in "${args[@]}"; do
    [ "$arg" = --million ] || many_args+=("$arg")
  done
  "$venv/bin/python" "$here/many_hosts.py" "${many_args[@]}"
fi
