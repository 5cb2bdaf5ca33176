# Shared by scripts/test.sh and scripts/run.sh (sourced, not executed).
# Cargo builds go to a persistent directory outside the clone, so a fresh clone
# (CI) reuses the ~25-minute DuckDB C++ build instead of repeating it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/carbon/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

need() {
  # need COMMAND HOW-TO-INSTALL
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "setup: installing $1" >&2
  eval "$2"
}

ensure_rust() {
  need cargo "echo 'cargo is missing: install Rust from https://rustup.rs' >&2; exit 1"
  if command -v rustup >/dev/null 2>&1; then
    rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
  fi
  # The bundled DuckDB build needs a C++ compiler.
  need c++ "apt-get update -qq && apt-get install -y -qq g++ >/dev/null"
  use_ccache
}

# The web hub (web/): npm ci when node_modules is missing or older than the
# lock file, then the production build into web/dist, which `cargo build`
# embeds into the binary.
build_web() {
  need npm "apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null"
  (
    cd web
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      npm ci --no-audit --no-fund --loglevel=error
    fi
    npm run build --silent >/dev/null
  )
}

# C/C++ through ccache when available: a change that makes cargo re-run
# libduckdb-sys's build script then costs minutes, not a full DuckDB compile.
use_ccache() {
  command -v ccache >/dev/null 2>&1 || { apt-get install -y -qq ccache >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq ccache >/dev/null 2>&1) || true; }
  if command -v ccache >/dev/null 2>&1; then
    export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/carbon/ccache}"
    export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
    export CC="${CC:-ccache cc}" CXX="${CXX:-ccache c++}"
  fi
}

# Set the compiler variables as soon as this file is sourced: cargo fingerprints
# CC/CXX for build scripts, so a build without them would re-run DuckDB's
# build script (a full C++ compile) even with everything else unchanged.
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/carbon/ccache}"
  export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
  export CC="${CC:-ccache cc}" CXX="${CXX:-ccache c++}"
fi
