#!/usr/bin/env bash
# scripts/cluster as a developer uses it (issue 16): start three nodes on base ports from the
# environment, a status table with one leader, logs N, kill N shown as down, restart N back up,
# bad arguments refused (exit 2), wipe. Env: STRATA_SERVER (the binary), REPO (the source tree).
set -euo pipefail
work=$(mktemp -d)
export STRATA_CLUSTER_DIR=$work/data
# Base ports well away from the defaults and from each other, varied by pid.
export STRATA_CLUSTER_HTTP_PORT=$((21000 + ($$ % 2000) * 3))
export STRATA_CLUSTER_PEER_PORT=$((STRATA_CLUSTER_HTTP_PORT + 7000))
cleanup() { "$REPO/scripts/cluster" wipe >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cluster() { "$REPO/scripts/cluster" "$@"; }

cluster start
leader_rows() { cluster status | awk 'NR > 1 && $4 == "up" && $5 == "leader"' | wc -l; }
for _ in $(seq 1 100); do [[ $(leader_rows) == 1 ]] && break; sleep 0.1; done
status=$(cluster status)
echo "$status"
[[ $(echo "$status" | head -1) == "NODE  PID"* ]] || fail "no table header"
[[ $(leader_rows) == 1 ]] || fail "expected exactly one leader"
[[ $(echo "$status" | grep -c "127.0.0.1:$STRATA_CLUSTER_HTTP_PORT ") == 1 ]] || fail "node 1 not on the base port"
# (Outputs are captured before grep -q: with pipefail, grep's early exit would fail the pipe.)
logs=$(cluster logs 1 5)
[[ $logs == *INFO* ]] || fail "logs 1 shows no log line"
[[ $(cluster logs 2 3 | wc -l) == 3 ]] || fail "logs 2 3 is not 3 lines"
cluster kill 3
row=$(cluster status | awk '$1 == 3')
[[ $row == *" down "* ]] || fail "a killed node is not shown down: $row"
cluster restart 3
for _ in $(seq 1 100); do row=$(cluster status | awk '$1 == 3'); [[ $row == *" up "* ]] && break; sleep 0.1; done
[[ $row == *" up "* ]] || fail "a restarted node is not up: $row"
raw=$(cluster status --json)
[[ $raw == *'"role"'* ]] || fail "status --json has no /status answer"
set +e
cluster logs 9 >/dev/null 2>&1; [[ $? == 2 ]] || fail "logs 9 is not refused with exit 2"
cluster status extra >/dev/null 2>&1; [[ $? == 2 ]] || fail "status extra is not refused with exit 2"
STRATA_CLUSTER_HTTP_PORT=http "$REPO/scripts/cluster" status >/dev/null 2>&1; [[ $? == 2 ]] || fail "a bad base port is not refused"
set -e
cluster wipe
[[ ! -d $STRATA_CLUSTER_DIR ]] || fail "wipe left the data directory"
echo "cluster script: ok"
