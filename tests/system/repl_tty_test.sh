#!/usr/bin/env bash
# The strata REPL on a real terminal (tmux), as a person uses it (issue 16): the target in the
# prompt, the up arrow recalls history, Tab completes a command, a stored escape sequence is shown
# as \x1b rather than sent to the terminal, and the history is kept in ~/.strata_history.
# Env: STRATA_CLI (the binary).
set -euo pipefail
work=$(mktemp -d)
session=strata-repl-$$
cleanup() { tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- screen:" >&2; tmux capture-pane -t "$session" -p >&2 || true; exit 1; }
screen() { tmux capture-pane -t "$session" -p; }
# Waits (up to 10 s) until the screen holds `text`.
wait_for() {
  for _ in $(seq 1 100); do
    if [[ $(screen) == *"$1"* ]]; then return 0; fi
    sleep 0.1
  done
  fail "the screen never showed: $1"
}
count() { screen | grep -cxF -- "$1" || true; }

db=$work/db
printf 'red\033[31malert' > "$work/value"
"$STRATA_CLI" put esc - --data-dir "$db" < "$work/value"
HOME=$work tmux new-session -d -s "$session" -x 150 -y 40 "HOME=$work $STRATA_CLI repl --data-dir $db"
wait_for "strata $db>"
tmux send-keys -t "$session" 'SET a 1' Enter
wait_for "OK"
tmux send-keys -t "$session" 'GET a' Enter
wait_for $'GET a\n1'
# Up twice: SET a 1 again.
tmux send-keys -t "$session" Up Up Enter
for _ in $(seq 1 100); do [[ $(count "OK") == 2 ]] && break; sleep 0.1; done
[[ $(count "OK") == 2 ]] || fail "the up arrow did not recall SET a 1"
# Tab completes "sc" to SCAN.
tmux send-keys -t "$session" 'sc' Tab
wait_for "strata $db> SCAN"
tmux send-keys -t "$session" '"" "" 5' Enter
wait_for "(2 items)"
[[ $(screen) == *"a = 1"* ]] || fail "SCAN did not list a"
# The stored ESC byte is shown escaped, not interpreted.
tmux send-keys -t "$session" 'GET esc' Enter
wait_for 'red\x1b[31malert'
tmux send-keys -t "$session" 'EXIT' Enter
for _ in $(seq 1 50); do tmux has-session -t "$session" 2>/dev/null || break; sleep 0.1; done
grep -q 'GET\\040a' "$work/.strata_history" || { cat "$work/.strata_history" >&2; fail "no history file"; }
echo "repl on a terminal: ok"
