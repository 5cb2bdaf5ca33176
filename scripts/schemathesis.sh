#!/usr/bin/env bash
# Property-based API check: schemathesis 4 (from PyPI, in a venv) generates
# requests from the generated /openapi.json and sends them, with a valid API
# key, to a real `carbon serve` on 127.0.0.1 loaded with the real fixtures,
# with every check on: no 5xx, status codes, content types, headers and
# bodies conform to the document, schema-violating requests are refused,
# schema-valid ones accepted (per-operation allowances with their reasons
# in scripts/schemathesis.toml), auth not ignored, undocumented methods 405.
# Bounded: --max-examples per operation (default 30) and a 15-minute cap.
# Usage: scripts/schemathesis.sh [MAX_EXAMPLES]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_rust
examples="${1:-30}"
venv="$CARBON_CACHE/venv-st4"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  if ! "$venv/bin/pip" install -q "schemathesis==4.32.5"; then
    rm -rf "$venv"
    echo "schemathesis: cannot install from PyPI; not run" >&2
    exit "${CARBON_SCHEMATHESIS_REQUIRED:-1}"
  fi
fi
cargo build --locked --workspace
bin="$CARGO_TARGET_DIR/debug/carbon"
data="$(mktemp -d)"
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
"$bin" --data-dir "$data" init >/dev/null
"$bin" --data-dir "$data" ingest file ../shared/fixtures/iso/miso ../shared/fixtures/iso/caiso >/dev/null
# The key belongs to the admin user, so the admin routes are exercised too.
key="$("$bin" --data-dir "$data" admin key create --tenant platform --owner admin --name schemathesis 2>/dev/null | sed -n 's/^\(ck_.*\)$/\1/p')"
port=$(( 20000 + RANDOM % 20000 ))
# Rate limits raised so the run tests behaviour, not the limiter.
cat > "$data/carbon.toml" <<TOML
data_dir = "$data"
offline = true
[api.rate_limits]
general = 100000.0
data = 100000.0
exports = 100000.0
TOML
"$bin" --config "$data/carbon.toml" serve --bind "127.0.0.1:$port" --no-schedule >"$data/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
timeout 900 "$venv/bin/schemathesis" --config-file scripts/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
  --header "X-API-Key: $key" \
  --checks all \
  --max-examples "$examples" \
  --seed 254 --generation-deterministic \
  --exclude-path-regex '^/api/v1/stream' \
  --request-timeout 30 --no-color ${ST_EXTRA:-}
echo "schemathesis: every check passed"
