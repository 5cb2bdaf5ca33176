#!/usr/bin/env bash
# A self-contained `carbon` for people who ship one file: DuckDB compiled in from
# source (the `bundled` feature of the `carbon` crate → the duckdb crate's own C++ build
# of the same DuckDB version the default build links) and the web hub embedded.
# Then a smoke test of that file. Not part of the everyday gate
# (scripts/test.sh): DuckDB's C++ takes ~40 minutes on 2 cores the first time
# (ccache makes later builds minutes). Usage: scripts/release.sh [--skip-build]
# Output: dist/carbon-<version>-linux-<arch> and its .sha256.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARBON_DUCKDB_BUNDLED=1
source scripts/env.sh
# Its own target directory: other compiler flags than the everyday build (no
# rpath), so the two never invalidate each other's artifacts.
export CARGO_TARGET_DIR="$CARBON_CACHE/target-release"
ensure_rust

if [ "${1:-}" != "--skip-build" ]; then
  build_web
  start=$(date +%s)
  cargo build --release --locked -p carbon --bin carbon --features bundled
  echo "release: built in $(($(date +%s) - start)) s"
fi

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
mkdir -p dist
out="dist/carbon-$version-linux-$(uname -m)"
cp "$CARGO_TARGET_DIR/release/carbon" "$out"
(cd dist && sha256sum "$(basename "$out")" >"$(basename "$out").sha256")

# ---- smoke test: the copied file alone, from a directory with nothing else in it
fail() { echo "release smoke test FAILED: $*" >&2; exit 1; }
fixtures="$(cd ../shared/fixtures/iso 2>/dev/null && pwd)" || fail "../shared/fixtures/iso not found"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
cp "$out" "$work/carbon"
if ldd "$work/carbon" | grep -q 'libduckdb'; then
  fail "$out needs libduckdb.so: $(ldd "$work/carbon" | grep libduckdb)"
fi
cd "$work"
export -n DUCKDB_LIB_DIR CARGO_ENCODED_RUSTFLAGS
run() { env -u LD_LIBRARY_PATH -u DUCKDB_LIB_DIR ./carbon --data-dir "$work/data" "$@"; }
run --version | tee version.txt
grep -q 'DuckDB v' version.txt || fail "--version does not name the DuckDB library"
run init >/dev/null
run ingest file "$fixtures/miso" "$fixtures/caiso" | tail -3
# Hand-checked against the raw file: INDIANA.HUB, 2026-07-14 HE 1 LMP (row "INDIANA.HUB,Hub,LMP" in da_expost_lmp_20260714_3hubs.csv).
want="$(awk -F, '$1=="INDIANA.HUB" && $3=="LMP" {print $4; exit}' "$fixtures/miso/da_expost_lmp_20260714_3hubs.csv")"
got="$(run query prices -i MISO.INDIANA.HUB --start 2026-07-14 --end 2026-07-15 --components lmp --format csv |
  awk -F, 'NR==2 {print $5}')"
awk -v a="$want" -v b="$got" 'BEGIN { exit !(a + 0 == b + 0) }' ||
  fail "INDIANA.HUB HE1 LMP: file says $want, carbon says $got"
echo "release: INDIANA.HUB 2026-07-14 HE1 LMP $got (file: $want)"
port=$((20000 + RANDOM % 20000))
run serve --offline --no-schedule --bind "127.0.0.1:$port" >serve.log 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/" | grep -qi '<html' || fail "the hub is not served (serve.log: $(tail -3 serve.log))"
pass="$(awk '$1=="admin" {print $3}' data/initial-credentials.txt)"
# Sign in as the hub does (the session is a cookie), then download as the hub would.
curl -sf -c jar -o /dev/null "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$pass\"}" || fail "admin could not sign in"
curl -sf -b jar -o prices.parquet \
  "http://127.0.0.1:$port/api/v1/exports/prices?instrument_id=MISO.INDIANA.HUB&start=2026-07-14&end=2026-07-15&format=parquet" ||
  fail "the Parquet export failed"
[ "$(head -c 4 prices.parquet)" = "PAR1" ] && [ "$(tail -c 4 prices.parquet)" = "PAR1" ] ||
  fail "the export is not a Parquet file"
echo "release: Parquet export $(wc -c <prices.parquet) bytes"
echo "release: $out ($(du -h "$OLDPWD/$out" | cut -f1)) passed the smoke test"
