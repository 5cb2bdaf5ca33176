"""Export peer: pandas writing the same rows (read here from our CSV parts,
not timed) with to_csv and to_parquet (pyarrow, zstd); prints the rows/s
ratios of ours against pandas and DuckDB's COPY."""

import glob
import json
import sys
import time

import pandas as pd

doc = json.load(open(sys.argv[1]))
rows = doc["rows"]
parts = sorted(glob.glob(doc["csv_parts"] + "/prices-*.csv"))
df = pd.concat([pd.read_csv(p, parse_dates=["interval_start_utc", "interval_end_utc"]) for p in parts])
assert len(df) == rows, (len(df), rows)
out = sys.argv[2]
t = time.perf_counter()
df.to_csv(out + "/pandas.csv", index=False)
pandas_csv = time.perf_counter() - t
t = time.perf_counter()
df.to_parquet(out + "/pandas.parquet", engine="pyarrow", compression="zstd", index=False)
pandas_parquet = time.perf_counter() - t
for fmt, peer in [("csv", pandas_csv), ("parquet", pandas_parquet)]:
    ours = doc["ours"][fmt]["secs"]
    duck = doc["duckdb"][fmt]["secs"]
    print(f"{fmt}: ours {rows / ours:,.0f} rows/s; pandas {rows / peer:,.0f} rows/s; DuckDB COPY {rows / duck:,.0f} rows/s")
    print(f"ratio, {fmt} export vs pandas to_{fmt}: {peer / ours:.2f}x; vs DuckDB COPY: {duck / ours:.2f}x")
