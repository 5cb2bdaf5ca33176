#!/usr/bin/env bash
# Integration checks in Python against the real `carbon` binary and real
# servers, read back by independent clients: the download center on an
# S3-protocol server (moto, boto3, pyarrow, curl) and the market brief's PDF
# (poppler's pdftotext/pdftoppm). Packages come from PyPI into a venv kept in
# the cache; poppler-utils from Debian.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
venv="$CARBON_CACHE/venv-it"
want="moto[server]==5.2.1 boto3==1.43.11 pyarrow==26.0.1 openpyxl==3.1.5"
if [ ! -f "$venv/.installed" ] || [ "$(cat "$venv/.installed")" != "$want" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q $want
  echo "$want" > "$venv/.installed"
fi
need pdftotext "apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null"
bin="${CARBON_BIN:-$CARGO_TARGET_DIR/debug/carbon}"
for t in scripts/it/*.py; do
  echo "-- $t"
  "$venv/bin/python" "$t" "$bin"
done
