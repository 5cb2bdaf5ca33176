#!/usr/bin/env bash
# Runs the benchmarks. They use the dev profile, in which DuckDB's C++ and the
# hot Rust crates are compiled with -O3 (see Cargo.toml), so no second DuckDB
# build is needed. Usage: scripts/bench.sh [store]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_rust
which="${1:-store}"
case "$which" in
  store) cargo bench --locked --profile dev -p carbon-store --bench store ;;
  *) echo "unknown benchmark: $which (known: store)" >&2; exit 2 ;;
esac
