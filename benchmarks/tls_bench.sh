#!/usr/bin/env bash
# TLS on against TLS off on the client port, same binary, same run (issue 18's benchmark):
# PUT (durable, a new key each) and GET of a 100-byte value with wrk at 1, 16, 64 and 256
# keep-alive connections, against one strata-server started plain and one started with
# --cert-file/--key-file (a P-256 certificate made here with openssl). Prints a markdown table
# with the ratio TLS / plain per row (target: at least 0.8x).
#
#   benchmarks/tls_bench.sh [BUILD_DIR] [SECONDS]
#
# wrk and the server share the machine: on a 2-core VM the figures are the sum of both; only the
# ratio between the two columns of one run means anything.
set -euo pipefail
build=${1:-build}
secs=${2:-5}
server=$build/apps/strata-server
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pid=
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/key.pem" \
  -out "$work/cert.pem" -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null

# start MODE PORT: a fresh node, plain or tls, on 127.0.0.1:PORT.
start() {
  local mode=$1 port=$2 extra=()
  [[ $mode == tls ]] && extra=(--cert-file "$work/cert.pem" --key-file "$work/key.pem")
  rm -rf "$work/data"
  "$server" --listen "127.0.0.1:$port" --data-dir "$work/data" --sync always --threads 2 "${extra[@]}" \
    >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/server.log" && return 0; sleep 0.1; done
  echo "server did not start:" >&2; cat "$work/server.log" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" || true; pid=; }

# rate URL CONNS [wrk args...]: requests per second.
rate() {
  local url=$1 c=$2; shift 2
  local t=$((c < 2 ? 1 : 2))
  wrk -t"$t" -c"$c" -d"${secs}s" "$@" "$url" | awk '/Requests\/sec/ {print int($2)}'
}

declare -A result
port=18443
for mode in plain tls; do
  start "$mode" "$port"
  scheme=http; [[ $mode == tls ]] && scheme=https
  base="$scheme://127.0.0.1:$port"
  curl -sk -X PUT -H 'Content-Type: application/octet-stream' --data-binary "$(printf 'v%.0s' $(seq 100))" \
    "$base/v1/kv/bench-key" >/dev/null
  for c in 1 16 64 256; do
    result[$mode,put,$c]=$(rate "$base" "$c" -s "$here/wrk_put.lua")
    result[$mode,get,$c]=$(rate "$base/v1/kv/bench-key" "$c")
  done
  stop
done

echo "| request | connections | plain req/s | TLS req/s | TLS / plain |"
echo "| --- | ---: | ---: | ---: | ---: |"
for op in put get; do
  for c in 1 16 64 256; do
    p=${result[plain,$op,$c]} t=${result[tls,$op,$c]}
    printf "| %s | %d | %s | %s | %s |\n" "$op" "$c" "$p" "$t" "$(awk -v a="$t" -v b="$p" 'BEGIN {printf "%.2fx", a / b}')"
  done
done
