#!/usr/bin/env bash
# Crash safety: SIGKILLs `carbon ingest file` on a large synthetic load at
# pseudo-random moments, restarts it, and checks the store equals a clean run
# (nothing acknowledged lost, nothing duplicated). Usage: scripts/crash-test.sh [TRIALS]
# (default 20; CI runs 3 as part of scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_rust
CARBON_CRASH_TRIALS="${1:-20}" cargo test --locked -p carbon --test it crash -- --nocapture
