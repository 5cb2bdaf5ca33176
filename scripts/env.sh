# Shared by the scripts (sourced, not executed). Builds go to a persistent
# directory outside the clone, so a fresh clone (CI) reuses earlier builds.
# The default build links DuckDB's own prebuilt libduckdb.so (scripts/duckdb.lock):
# `ensure_rust` fetches and checks it once, then points cargo at it.
export CARBON_CACHE="${CARBON_CACHE:-$HOME/.cache/carbon}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CARBON_CACHE/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

need() {
  # need COMMAND HOW-TO-INSTALL
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "setup: installing $1" >&2
  eval "$2"
}

# PostgreSQL on 127.0.0.1:5432 for the scale-out backend's tests
# (CARBON_TEST_PG; trust auth as user postgres). The machines this runs on
# have one running; a machine without one gets Debian's, started here.
ensure_postgres() {
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
    return 0
  fi
  echo "setup: starting PostgreSQL" >&2
  command -v pg_ctlcluster >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }
  service postgresql start >/dev/null 2>&1 || pg_ctlcluster "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 1; done
  echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
  return 1
}

ensure_rust() {
  need cargo "echo 'cargo is missing: install Rust from https://rustup.rs' >&2; exit 1"
  if command -v rustup >/dev/null 2>&1; then
    rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
  fi
  # A C compiler and linker: rustc links through cc, and ring builds C.
  need cc "apt-get update -qq && apt-get install -y -qq gcc >/dev/null"
  if [ -n "${CARBON_DUCKDB_BUNDLED:-}" ]; then
    # scripts/release.sh: DuckDB compiled in from source (C++, minutes to hours).
    need c++ "apt-get update -qq && apt-get install -y -qq g++ >/dev/null"
    use_ccache
  else
    ensure_duckdb
  fi
}

duckdb_fail() {
  echo "duckdb: $*" >&2
  exit 1
}

# Prints the version that the library in directory $1 reports, by compiling and
# running a two-line C program linked against it: a library that is not a
# loadable libduckdb.so for this machine fails here, before cargo links it.
duckdb_probe_version() {
  local dir="$1" probe
  probe="$(mktemp -d)"
  printf '%s\n' '#include <stdio.h>' 'const char *duckdb_library_version(void);' \
    'int main(void) { puts(duckdb_library_version()); return 0; }' >"$probe/v.c"
  if ! cc -o "$probe/v" "$probe/v.c" -L"$dir" -lduckdb -Wl,-rpath,"$dir" 2>"$probe/err" ||
    ! "$probe/v" 2>>"$probe/err"; then
    sed 's/^/duckdb:   /' "$probe/err" | head -5 >&2
    rm -rf "$probe"
    return 1
  fi
  rm -rf "$probe"
}

# Makes DUCKDB_LIB_DIR point at a checked libduckdb.so of the version the
# duckdb crate expects, and links every binary with an rpath to it (and to its
# own directory), so `carbon` runs without LD_LIBRARY_PATH.
#  - DUCKDB_LIB_DIR already set: a library provided by hand; its version is checked.
#  - otherwise: the npm registry package in scripts/duckdb.lock, fetched once into
#    $CARBON_CACHE/duckdb/, its tarball checked against the lock's sha512 and the
#    library against its sha256 (on every run: a damaged file is fetched again).
ensure_duckdb() {
  local lock arch pkg integrity lib_sha dir got tmp tgz
  lock="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/duckdb.lock"
  # shellcheck source=duckdb.lock
  source "$lock"
  arch="$(uname -m)"
  pkg="DUCKDB_NPM_PACKAGE_$arch" integrity="DUCKDB_NPM_INTEGRITY_$arch" lib_sha="DUCKDB_LIB_SHA256_$arch"
  pkg="${!pkg:-}" integrity="${!integrity:-}" lib_sha="${!lib_sha:-}"
  if [ -n "${DUCKDB_LIB_DIR:-}" ]; then
    [ -f "$DUCKDB_LIB_DIR/libduckdb.so" ] ||
      duckdb_fail "DUCKDB_LIB_DIR=$DUCKDB_LIB_DIR holds no libduckdb.so (wanted DuckDB $DUCKDB_VERSION)"
  else
    [ -n "$pkg" ] || duckdb_fail "no prebuilt DuckDB is locked for $(uname -s) $arch: build DuckDB $DUCKDB_VERSION yourself and set DUCKDB_LIB_DIR to the directory of its libduckdb.so, or run scripts/release.sh (compiles DuckDB in)"
    dir="$CARBON_CACHE/duckdb/$DUCKDB_NPM_VERSION-$arch"
    if [ ! -f "$dir/libduckdb.so" ] || [ "$(sha256sum "$dir/libduckdb.so" | cut -d' ' -f1)" != "$lib_sha" ]; then
      need npm "apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null"
      echo "duckdb: fetching DuckDB $DUCKDB_VERSION's prebuilt library ($pkg@$DUCKDB_NPM_VERSION, 24 MB) from the npm registry" >&2
      tmp="$(mktemp -d)"
      if ! (cd "$tmp" && npm pack "$pkg@$DUCKDB_NPM_VERSION" --silent --fetch-retries=1 --fetch-timeout=60000 >pack.log 2>&1); then
        rm -rf "$tmp"
        duckdb_fail "could not fetch $pkg@$DUCKDB_NPM_VERSION from the npm registry ($(npm config get registry 2>/dev/null)); offline or registry down? Provide DuckDB $DUCKDB_VERSION's libduckdb.so by hand: DUCKDB_LIB_DIR=/dir/with/libduckdb.so $0"
      fi
      tgz="$(ls "$tmp"/*.tgz)"
      got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
      if [ "$got" != "$integrity" ]; then
        rm -rf "$tmp"
        duckdb_fail "$pkg@$DUCKDB_NPM_VERSION: tarball sha512 $got does not match scripts/duckdb.lock ($integrity); refusing it"
      fi
      tar -xzf "$tgz" -C "$tmp" package/libduckdb.so
      got="$(sha256sum "$tmp/package/libduckdb.so" | cut -d' ' -f1)"
      if [ "$got" != "$lib_sha" ]; then
        rm -rf "$tmp"
        duckdb_fail "libduckdb.so in $pkg@$DUCKDB_NPM_VERSION has sha256 $got, not $lib_sha (scripts/duckdb.lock); refusing it"
      fi
      mkdir -p "$dir"
      mv "$tmp/package/libduckdb.so" "$dir/libduckdb.so.part"
      rm -rf "$tmp"
      mv "$dir/libduckdb.so.part" "$dir/libduckdb.so"
      echo "duckdb: $dir/libduckdb.so (sha256 checked)" >&2
    fi
    export DUCKDB_LIB_DIR="$dir"
  fi
  got="$(duckdb_probe_version "$DUCKDB_LIB_DIR")" ||
    duckdb_fail "$DUCKDB_LIB_DIR/libduckdb.so is not a loadable DuckDB library for this machine; refusing it (wanted DuckDB $DUCKDB_VERSION)"
  [ "$got" = "$DUCKDB_VERSION" ] ||
    duckdb_fail "$DUCKDB_LIB_DIR/libduckdb.so is DuckDB $got, but the duckdb crate in Cargo.toml needs $DUCKDB_VERSION; refusing it"
  unset DUCKDB_STATIC
  # An rpath to the library's directory, and to the binary's own ($ORIGIN), for
  # a copy shipped with libduckdb.so beside it. Same flags on every build, so
  # cargo's fingerprints stay put.
  local sep=$'\x1f'
  export CARGO_ENCODED_RUSTFLAGS="-Clink-arg=-Wl,-rpath,$DUCKDB_LIB_DIR${sep}-Clink-arg=-Wl,-rpath,\$ORIGIN"
  unset RUSTFLAGS
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

# C/C++ through ccache when available (release builds that compile DuckDB in):
# a change that re-runs libduckdb-sys's build script then costs minutes, not
# a full DuckDB compile.
use_ccache() {
  command -v ccache >/dev/null 2>&1 || { apt-get install -y -qq ccache >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq ccache >/dev/null 2>&1) || true; }
  if command -v ccache >/dev/null 2>&1; then
    export CCACHE_DIR="${CCACHE_DIR:-$CARBON_CACHE/ccache}"
    export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
    export CC="${CC:-ccache cc}" CXX="${CXX:-ccache c++}"
  fi
}

