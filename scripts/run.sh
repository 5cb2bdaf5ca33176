#!/usr/bin/env bash
# The run command: builds `carbon` and starts the platform on its embedded
# default (a DuckDB file under ./data, or $CARBON_DATA_DIR): `carbon serve`
# polls the live MISO and CAISO endpoints on the configured schedule, after a
# first-start backfill of the hubs' last 7 days. Offline (or with --offline) it
# keeps running and records the sources as unreachable. Extra arguments go to
# `carbon serve` (e.g. --offline). The web hub (web/, built with npm and
# embedded in the binary) is served at / on the same port. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_rust

build_web
cargo build --locked -p carbon --bin carbon
carbon="$CARGO_TARGET_DIR/debug/carbon"
"$carbon" init
echo "carbon is at $carbon — try: $carbon --help"
exec "$carbon" --log "${CARBON_LOG:-info}" serve "$@"
