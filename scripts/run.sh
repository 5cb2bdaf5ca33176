#!/usr/bin/env bash
# The run command: builds `carbon` and starts the platform on its embedded
# default (a DuckDB file under ./data, or $CARBON_DATA_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_rust

cargo build --locked -p carbon-cli --bin carbon
carbon="$CARGO_TARGET_DIR/debug/carbon"
"$carbon" init
"$carbon" db stats
echo
echo "carbon is at $carbon — try: $carbon --help"
