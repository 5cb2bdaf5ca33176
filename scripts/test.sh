#!/usr/bin/env bash
# The test command: set-up on a fresh machine (DuckDB's prebuilt library,
# scripts/env.sh), then the whole gate — formatting, the DuckDB set-up's own
# checks, the web hub's build and unit tests, clippy with warnings as
# errors, every test of the workspace, Python checks by independent readers
# (S3 server, poppler), the hub end to end in a real browser,
# and schemathesis against the OpenAPI document.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_rust

start=$(date +%s)
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== DuckDB library set-up on bad input (scripts/test-duckdb-setup.sh)"
scripts/test-duckdb-setup.sh
echo "== web hub: npm ci, type check + production build (embedded by cargo), vitest"
build_web
(cd web && npx vitest run --reporter=dot)
echo "== cargo clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test (PostgreSQL on 127.0.0.1:5432 for the scale-out metadata checks)"
ensure_postgres
cargo test --workspace --locked
echo "== independent readers against the real binary and servers (scripts/it/run.sh)"
scripts/it/run.sh
echo "== web hub end to end: playwright-core drives Debian's chromium against carbon serve"
need chromium "apt-get update -qq && apt-get install -y -qq chromium >/dev/null"
(cd web && node e2e/run.mjs)
echo "== schemathesis against the generated /openapi.json (all checks)"
scripts/schemathesis.sh 20
echo "== done in $(( $(date +%s) - start )) s (target dir: $CARGO_TARGET_DIR)"
