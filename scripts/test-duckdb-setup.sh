#!/usr/bin/env bash
# Tests scripts/env.sh's DuckDB set-up (ensure_duckdb) on bad input: each case
# runs it in a subshell with a fresh cache and checks that it stops with one
# clear line, or accepts the right library. Cases: the registry unreachable;
# a tarball whose sha512 is not the lock's; DUCKDB_LIB_DIR holding a damaged
# library, a real DuckDB library of another version (v1.5.5 from the same
# registry), or nothing; and the locked library accepted with the rpath set.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
source scripts/duckdb.lock
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0

# expect NAME WANT-EXIT PATTERN [VAR=VALUE...]: runs ensure_duckdb with a fresh
# cache and the given environment; checks the exit code and that stderr's last
# line matches PATTERN (grep -E).
expect() {
  local name="$1" want="$2" pattern="$3" code=0
  shift 3
  env -u DUCKDB_LIB_DIR -u CARGO_ENCODED_RUSTFLAGS "$@" CARBON_CACHE="$work/cache-$name" bash -c \
    "source '${SCRIPTS:-$repo/scripts}/env.sh' && ensure_duckdb && echo \"ok \$DUCKDB_LIB_DIR \$CARGO_ENCODED_RUSTFLAGS\"" \
    >"$work/$name.out" 2>"$work/$name.err" || code=$?
  local last
  last="$( (cat "$work/$name.err"; cat "$work/$name.out") | tail -1)"
  if [ "$code" = "$want" ] && grep -Eq -- "$pattern" <<<"$last"; then
    echo "ok    $name: $last"
  else
    echo "FAIL  $name: exit $code (wanted $want), last line: $last (wanted /$pattern/)"
    failures=$((failures + 1))
  fi
}

# The registry is unreachable (a closed port on 127.0.0.1).
expect offline 1 "could not fetch @duckdb/node-bindings-.*@$DUCKDB_NPM_VERSION .*DUCKDB_LIB_DIR=" \
  npm_config_registry=http://127.0.0.1:9/ npm_config_cache="$work/npm-cache"

# The tarball is not the one locked: a copy of the scripts whose lock names another sha512.
mkdir -p "$work/scripts"
cp scripts/env.sh "$work/scripts/"
sed 's/^\(DUCKDB_NPM_INTEGRITY_[a-z0-9_]*\)=sha512-./\1=sha512-X/' scripts/duckdb.lock >"$work/scripts/duckdb.lock"
SCRIPTS="$work/scripts" expect integrity 1 "tarball sha512 .* does not match scripts/duckdb.lock"

# A library provided by hand: nothing there, a damaged file, another version.
mkdir -p "$work/empty" "$work/damaged" "$work/other"
expect missing 1 "holds no libduckdb.so" DUCKDB_LIB_DIR="$work/empty"
good="$(env -u DUCKDB_LIB_DIR CARBON_CACHE="$work/cache-good" bash -c "source scripts/env.sh && ensure_duckdb && echo \$DUCKDB_LIB_DIR" 2>/dev/null | tail -1)"
head -c 5000000 "$good/libduckdb.so" >"$work/damaged/libduckdb.so"
expect damaged 1 "is not a loadable DuckDB library for this machine; refusing it" DUCKDB_LIB_DIR="$work/damaged"
arch="$(uname -m)"
pkg="DUCKDB_NPM_PACKAGE_$arch"
(cd "$work/other" && npm pack "${!pkg}@1.5.5-r.5" --silent >/dev/null 2>&1 && tar -xzf ./*.tgz package/libduckdb.so &&
  mv package/libduckdb.so .)
expect other-version 1 "is DuckDB v1\.5\.5, but the duckdb crate in Cargo.toml needs $DUCKDB_VERSION; refusing it" \
  DUCKDB_LIB_DIR="$work/other"

# The locked library, fetched and checked, with the rpath flags set.
expect fetched 0 "^ok .*/duckdb/$DUCKDB_NPM_VERSION-$arch -Clink-arg=-Wl,-rpath,.*/duckdb/$DUCKDB_NPM_VERSION-$arch.*-rpath,\\\$ORIGIN"
# The same library provided by hand.
expect by-hand 0 "^ok $good " DUCKDB_LIB_DIR="$good"

[ "$failures" = 0 ] || { echo "duckdb set-up: $failures case(s) failed" >&2; exit 1; }
echo "duckdb set-up: all cases passed"
