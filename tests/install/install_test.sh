#!/usr/bin/env bash
# `meson install` into a temporary DESTDIR, then build and run a small program against what was
# installed, as a user would: `pkg-config --cflags --libs strata` (shared library) and
# `pkg-config --static` (static library). Also checks the rest of the install: binaries, man
# pages, the systemd unit, bash completion, the license.
# Env: BUILD_ROOT (meson's build directory), CXX (default clang++-19).
set -euo pipefail
: "${BUILD_ROOT:?}"
CXX=${CXX:-clang++-19}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

meson install -C "$BUILD_ROOT" --no-rebuild --quiet --destdir "$dest" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log"
  exit 1
}
prefix=$(meson introspect "$BUILD_ROOT" --buildoptions | python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
root=$dest$prefix
fail() {
  echo "install_test: $*" >&2
  exit 1
}

for f in bin/strata-server bin/strata bin/strata-tool include/strata/db.h include/strata/options.h \
  include/strata/types.h share/man/man1/strata-server.1 share/man/man1/strata.1 share/man/man1/strata-tool.1 \
  lib/systemd/system/strata.service share/bash-completion/completions/strata \
  share/bash-completion/completions/strata-server share/bash-completion/completions/strata-tool \
  share/doc/strata/LICENSE; do
  [[ -e $root/$f ]] || fail "missing $prefix/$f"
done
pc=$(find "$root" -name strata.pc | head -1)
[[ -n $pc ]] || fail "no strata.pc installed"
libdir=$(dirname "$(dirname "$pc")")
[[ -e $libdir/libstrata.a ]] || fail "no libstrata.a in $libdir"
ls "$libdir"/libstrata.so* >/dev/null 2>&1 || fail "no libstrata.so in $libdir"
# Public headers must not reach into the tree's internals.
if grep -l '#include "lib/\|#include "net/' "$root"/include/strata/*.h; then fail "a public header includes an internal one"; fi
grep -q "ExecStart=$prefix/bin/strata-server" "$root/lib/systemd/system/strata.service" || fail "unit's ExecStart"
grep -q "^\.SH" "$root/share/man/man1/strata-server.1" || fail "man page has no sections"
grep -q 'data\\-dir' "$root/share/man/man1/strata-server.1" || fail "man page lacks the flags"

export PKG_CONFIG_PATH=$(dirname "$pc")
pcflags=(--define-variable=prefix="$root")  # the .pc as if installed at its prefix, here under DESTDIR

# Shared library.
# shellcheck disable=SC2046
"$CXX" -o "$tmp/hello" "$here/hello_strata.cc" $(pkg-config "${pcflags[@]}" --cflags --libs strata)
LD_LIBRARY_PATH=$libdir "$tmp/hello" "$tmp/db-shared" | tee "$tmp/out"
grep -qx "hello, strata" "$tmp/out" || fail "the shared-library program did not read its value back"
libs=$(ldd "$tmp/hello")  # captured: grep -q closing a pipe early fails it under pipefail
[[ $libs == *libstrata.so* ]] || fail "the program is not linked to libstrata.so"

# Static library.
# shellcheck disable=SC2046
"$CXX" -o "$tmp/hello-static" "$here/hello_strata.cc" $(pkg-config "${pcflags[@]}" --cflags strata) \
  "$libdir/libstrata.a" $(pkg-config "${pcflags[@]}" --static --libs-only-l strata | sed 's/-lstrata//')
"$tmp/hello-static" "$tmp/db-static" >"$tmp/out-static"
grep -qx "hello, strata" "$tmp/out-static" || fail "the static program did not read its value back"
libs=$(ldd "$tmp/hello-static")
if [[ $libs == *libstrata* ]]; then fail "the static program links libstrata.so"; fi

# The systemd unit: valid (systemd-analyze verify, with the installed binary and man page) and
# hardened (systemd-analyze security: exposure below 2.0, "OK").
if command -v systemd-analyze >/dev/null; then
  sed "s|^ExecStart=$prefix|ExecStart=$root|" "$root/lib/systemd/system/strata.service" >"$tmp/strata.service"
  MANPATH=$root/share/man systemd-analyze verify "$tmp/strata.service" || fail "systemd-analyze verify"
  exposure=$(systemd-analyze security --offline=yes "$tmp/strata.service" 2>&1 | sed -n 's/.*Overall exposure level for strata.service: \([0-9.]*\).*/\1/p')
  python3 -c "import sys; sys.exit(0 if float('$exposure') < 2.0 else 1)" || fail "unit exposure $exposure (want < 2.0)"
fi

# Bash completion: the flags come from the binary's --help.
out=$(bash -c "source '$root/share/bash-completion/completions/strata-server'
  COMP_WORDS=('$root/bin/strata-server' --data-d); COMP_CWORD=1; _strata_server; printf '%s\n' \"\${COMPREPLY[@]}\"")
[[ $out == "--data-dir" ]] || fail "strata-server completion gave: $out"
out=$(bash -c "source '$root/share/bash-completion/completions/strata'
  COMP_WORDS=('$root/bin/strata' che); COMP_CWORD=1; _strata; printf '%s\n' \"\${COMPREPLY[@]}\"")
[[ $out == "checkpoint" ]] || fail "strata completion gave: $out"
out=$(bash -c "source '$root/share/bash-completion/completions/strata-tool'
  COMP_WORDS=('$root/bin/strata-tool' ver); COMP_CWORD=1; _strata_tool; printf '%s\n' \"\${COMPREPLY[@]}\"")
[[ $out == "verify" ]] || fail "strata-tool completion gave: $out"
out=$(bash -c "source '$root/share/bash-completion/completions/strata-tool'
  COMP_WORDS=('$root/bin/strata-tool' ''); COMP_CWORD=1; _strata_tool; printf '%s ' \"\${COMPREPLY[@]}\"")
[[ $out == "manifest raft-log sst verify wal " ]] || fail "strata-tool completion of the commands gave: $out"
grep -q 'raft\\-log' "$root/share/man/man1/strata-tool.1" || fail "strata-tool man page lacks its commands"
echo "install_test: installed under $prefix, built and ran a program against the shared and the static library"
