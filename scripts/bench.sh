#!/usr/bin/env bash
# Runs the benchmarks. `cargo bench` builds them with the `bench` profile (the
# release profile's optimisation for every crate, Cargo.toml) against the same
# prebuilt DuckDB library as every other build (scripts/env.sh).
# Usage: scripts/bench.sh [store|ingest|api|curves|research|scenario|exports|report]
#   store   carbon-store: append, range query, daily resample (synthetic)
#   ingest  parse + validate + store of synthetic MISO-layout reports, and the
#           same files parsed by pandas (a venv from PyPI); prints the ratio
#   api     carbon-api under load on 127.0.0.1: 500 req/s price queries,
#           a 100-node year resample, 200 WebSocket clients (synthetic data)
#   curves  the curve engine (banded KKT, clarabel, polish) and, on the same
#           matrices, cvxpy+OSQP and cvxpy+Clarabel (a venv from PyPI)
#   research STL, MSTL, Markov switching and OLS against statsmodels on the
#           same inputs (a venv from PyPI)
#   scenario calibration of 12 × 2 cells on a year of hourly prices, and Monte
#           Carlo bands (10,000 paths × 3 years × 2 blocks) against the same
#           process vectorised in numpy (a venv from PyPI)
#   exports 10 M synthetic price rows exported to CSV and Parquet, against
#           DuckDB's COPY of the same rows and pandas to_csv/to_parquet
#   report  a monthly market brief (MISO February 2021 from the EIA files):
#           gather, HTML, PDF and the whole export against the 2 s goal
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_rust
which="${1:-store}"
case "$which" in
  store) cargo bench --locked -p carbon-store --bench store ;;
  ingest)
    work="${CARBON_BENCH_WORK:-$CARBON_CACHE/bench-ingest}"
    mkdir -p "$work/files"
    venv="$CARBON_CACHE/venv-bench"
    if [ ! -x "$venv/bin/python" ]; then
      python3 -m venv "$venv"
    fi
    "$venv/bin/python" -c 'import pandas, duckdb' 2>/dev/null ||
      "$venv/bin/pip" install -q "pandas==2.2.3" "duckdb==1.2.2"
    ours="$(CARBON_BENCH_DIR="$work/files" cargo bench --locked -p carbon-ingest --bench ingest | tee >(cat >&2))"
    peer="$("$venv/bin/python" scripts/bench/pandas_miso.py "$work/files" | tee >(cat >&2))"
    val() { printf '%s\n' "$1" | sed -n "s/^$2=//p"; }
    python3 - "$(val "$ours" CARBON_VALUES)" "$(val "$ours" CARBON_E2E_SECS)" "$(val "$ours" CARBON_PARSE_SECS)" \
      "$(val "$ours" CARBON_PARSE2_SECS)" "$(val "$peer" PANDAS_VALUES)" "$(val "$peer" PANDAS_SECS)" \
      "$(val "$peer" PANDAS_E2E_SECS)" <<'PY'
import sys
v, e2e, parse, parse2 = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
pv, ps, pe2e = int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
assert v == pv, f"value counts differ: carbon {v}, pandas {pv}"
print(f"ratio, parse+validate vs pandas parse, one thread each: {ps / parse:.1f}x (goal >= 20x)")
print(f"ratio, parse+validate on both cores vs pandas parse: {ps / parse2:.1f}x")
print(f"ratio, end to end into DuckDB vs pandas parse + DuckDB insert: {pe2e / e2e:.1f}x")
print(f"ratio, end to end into DuckDB vs pandas parse only: {ps / e2e:.1f}x")
PY
    ;;
  api) cargo bench --locked -p carbon-api --bench load ;;
  report) cargo bench --locked -p carbon-service --bench brief ;;
  curves)
    work="${CARBON_BENCH_WORK:-$CARBON_CACHE/bench-curves}"
    mkdir -p "$work"
    venv="$CARBON_CACHE/venv-curves"
    if [ ! -x "$venv/bin/python" ]; then
      python3 -m venv "$venv"
      "$venv/bin/pip" install -q "cvxpy==1.6.0" "osqp==0.6.7.post3" "clarabel==0.9.0" "numpy<2.3" "scipy<1.16"
    fi
    CARBON_BENCH_DIR="$work" cargo bench --locked -p carbon-curves --bench solvers
    "$venv/bin/python" scripts/bench/curves_peers.py "$work/daily.json" "$work/hourly.json"
    ;;
  research)
    work="${CARBON_BENCH_WORK:-$CARBON_CACHE/bench-research}"
    mkdir -p "$work"
    venv="$CARBON_CACHE/venv-research"
    if [ ! -x "$venv/bin/python" ]; then
      python3 -m venv "$venv"
      "$venv/bin/pip" install -q "statsmodels==0.14.4" "numpy<2.3" "scipy<1.16" "pandas==2.2.3"
    fi
    CARBON_BENCH_DIR="$work" cargo bench --locked -p carbon-research --bench research
    "$venv/bin/python" scripts/bench/research_peers.py "$work/research.json"
    ;;
  scenario)
    work="${CARBON_BENCH_WORK:-$CARBON_CACHE/bench-scenario}"
    mkdir -p "$work"
    venv="$CARBON_CACHE/venv-scenario"
    if [ ! -x "$venv/bin/python" ]; then
      python3 -m venv "$venv"
      "$venv/bin/pip" install -q "numpy<2.3"
    fi
    CARBON_BENCH_DIR="$work" cargo bench --locked -p carbon-scenario --bench scenario
    "$venv/bin/python" scripts/bench/scenario_peer.py "$work/scenario.json"
    ;;
  exports)
    work="${CARBON_BENCH_WORK:-$CARBON_CACHE/bench-exports}"
    venv="$CARBON_CACHE/venv-exports"
    if [ ! -x "$venv/bin/python" ]; then
      python3 -m venv "$venv"
      "$venv/bin/pip" install -q "pandas==2.2.3" "pyarrow==18.1.0" "numpy<2.3"
    fi
    CARBON_BENCH_DIR="$work" cargo bench --locked -p carbon-service --bench exports
    "$venv/bin/python" scripts/bench/exports_peer.py "$work/exports.json" "$work"
    ;;
  *) echo "unknown benchmark: $which (known: store, ingest, api, curves, research, scenario, exports)" >&2; exit 2 ;;
esac
