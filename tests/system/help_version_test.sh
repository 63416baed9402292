#!/usr/bin/env bash
# Every binary answers --help on stdout (exit 0), --version with "<name> <version>" (exit 0), and
# refuses an unknown flag with exit 2 (issue 16: strict inputs, --help on stdout for every binary).
#   help_version_test.sh VERSION BINARY...
set -uo pipefail
version=$1
shift
fail=0
for bin in "$@"; do
  name=$(basename "$bin")
  out=$("$bin" --help 2>/dev/null)
  rc=$?
  if ((rc != 0)) || [[ -z $out ]]; then
    echo "FAIL: $name --help: exit $rc, ${#out} bytes on stdout"
    fail=1
  fi
  out=$("$bin" --version 2>/dev/null)
  rc=$?
  if ((rc != 0)) || [[ $out != "$name $version" ]]; then
    echo "FAIL: $name --version: exit $rc, printed '$out' (want '$name $version')"
    fail=1
  fi
  "$bin" --no-such-flag >/dev/null 2>&1
  rc=$?
  if ((rc != 2)); then
    echo "FAIL: $name --no-such-flag: exit $rc (want 2)"
    fail=1
  fi
  ((fail == 0)) && echo "ok: $name"
done
exit $fail
