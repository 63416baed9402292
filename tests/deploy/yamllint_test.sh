#!/usr/bin/env bash
# yamllint in strict mode (warnings fail too) over deploy/: compose.yaml, the Kubernetes manifests
# and the kustomization, with deploy/.yamllint. Usage: yamllint_test.sh DEPLOY_DIR
set -euo pipefail
deploy=$1
if ! command -v yamllint >/dev/null; then
  echo "FAIL: yamllint is not installed: scripts/setup must install the Debian package yamllint" >&2
  exit 1
fi
files=$(find "$deploy" -name '*.yaml' -o -name '*.yml' -o -name '.yamllint' | sort)
[[ -n $files ]] || { echo "FAIL: no YAML under $deploy" >&2; exit 1; }
# shellcheck disable=SC2086 # one argument per file
yamllint -s -c "$deploy/.yamllint" $files
echo "yamllint: $(wc -w <<<"$files") files clean"
