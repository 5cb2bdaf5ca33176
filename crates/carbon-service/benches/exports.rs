//! The download center's export against peers (scripts/bench.sh exports).
//! **Synthetic data**: made-up MISO nodes (`MISO.SYNTH_0000` …) with hourly
//! day-ahead prices for 2025, values a deterministic function of node and
//! hour — nothing here is market data. 1,142 nodes × 8,760 hours ≈ 10 M rows
//! (`CARBON_BENCH_NODES` scales it down).
//!
//! Ours: `Exports::run` (store pages → encode → SHA-256 → object store, one
//! part per month, manifest last) to CSV and to Parquet. Peers on the same
//! rows: DuckDB's own `COPY (SELECT … FROM prices) TO …` on the same file,
//! and (scripts/bench/exports_peer.py) pandas `to_csv`/`to_parquet` of the
//! same rows already in memory. Times go to `$CARBON_BENCH_DIR/exports.json`.

use std::{sync::Arc, time::Instant};

use carbon_core::{Components, InstrumentId, Market, MarketRun, Observation, Provenance};
use carbon_service::{
    exports::{ExportFormat, ExportLimits, ExportSpec, Exports, LinkSigner},
    research::Progress,
};
use carbon_store::{DuckdbStore, PriceQuery, Store};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

fn node(i: usize) -> InstrumentId {
    InstrumentId::new(Market::Miso, &format!("SYNTH_{i:04}")).expect("id")
}

fn main() {
    let nodes: usize = std::env::var("CARBON_BENCH_NODES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_142);
    let dir = std::path::PathBuf::from(
        std::env::var("CARBON_BENCH_DIR").unwrap_or_else(|_| "bench-exports".into()),
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("objects")).expect("dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    let store = Arc::new(DuckdbStore::open(&dir.join("store")).expect("store"));
    let start: DateTime<Utc> = "2025-01-01T05:00:00Z".parse().expect("t");
    let vintage: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("t");
    let ids: Vec<InstrumentId> = (0..nodes).map(node).collect();
    rt.block_on(
        store.upsert_instruments(
            ids.iter()
                .map(|i| carbon_core::Instrument::new(i.clone(), carbon_core::LocationKind::Node))
                .collect(),
        ),
    )
    .expect("instruments");
    let t = Instant::now();
    for day in 0..365i64 {
        let mut batch = Vec::with_capacity(nodes * 24);
        for h in day * 24..(day + 1) * 24 {
            let s = start + Duration::hours(h);
            for (i, id) in ids.iter().enumerate() {
                let base = 20.0 + (i % 37) as f64 + ((h % 24) as f64 - 12.0).abs();
                batch.push(Observation {
                    instrument_id: id.clone(),
                    market_run: MarketRun::Da,
                    interval_start: s,
                    interval_end: s + Duration::hours(1),
                    values: Components {
                        lmp: Some(base + 1.25),
                        energy: Some(base),
                        congestion: Some(1.0),
                        loss: Some(0.25),
                        ghg: None,
                    },
                    vintage,
                    provenance: Provenance::new("synthetic-bench", None),
                });
            }
        }
        rt.block_on(store.append_batch(batch.into()))
            .expect("append");
    }
    rt.block_on(store.compact()).expect("compact");
    let rows = nodes as u64 * 8_760;
    eprintln!("loaded {rows} rows in {:.1} s", t.elapsed().as_secs_f64());
    let exports = Exports::new(
        store.clone(),
        store.clone(),
        carbon_service::objects::ObjectTarget::dir(&dir.join("objects")).expect("objects"),
        LinkSigner::new([7u8; 32]),
        ExportLimits {
            max_rows: u64::MAX,
            max_bytes: u64::MAX,
            max_running: 100,
            ..ExportLimits::default()
        },
    );
    let mut q = PriceQuery::new(ids.clone(), start, start + Duration::hours(8_760));
    q.market_runs = vec![MarketRun::Da];
    let mut ours = serde_json::Map::new();
    for format in [ExportFormat::Csv, ExportFormat::Parquet] {
        let spec = ExportSpec {
            prices: q.clone(),
            format,
            gzip: false,
            idempotency_key: None,
            feed: None,
        };
        let (e, _) = rt
            .block_on(exports.create("bench", "bench", &spec))
            .expect("create");
        let progress = Progress::new(
            Arc::new(|_, _: &str| {}),
            Arc::new(std::sync::atomic::AtomicBool::new(false)),
        );
        let t = Instant::now();
        let done = rt
            .block_on(exports.run("bench", &e.id, progress))
            .expect("run");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(done.rows, rows, "every row exported");
        println!(
            "ours {}: {rows} rows in {secs:.2} s = {:.0} rows/s ({} bytes, {} parts)",
            format.ext(),
            rows as f64 / secs,
            done.bytes,
            done.manifest
                .as_ref()
                .map_or(0, |m| m["parts"].as_array().map_or(0, Vec::len))
        );
        ours.insert(
            format.ext().into(),
            json!({ "secs": secs, "bytes": done.bytes, "id": done.id }),
        );
    }
    drop(exports);
    drop(store);
    // DuckDB's own COPY of the same rows, from the same file.
    let db =
        duckdb::Connection::open(dir.join("store").join(carbon_store::DB_FILE)).expect("duckdb");
    let select = "SELECT instrument_id, market_run, interval_start_utc, interval_end_utc, lmp, energy, \
                  congestion, loss, ghg FROM prices WHERE market_run = 'da' ORDER BY instrument_id, interval_start_utc";
    let mut duck = serde_json::Map::new();
    for (ext, opts) in [
        ("csv", "FORMAT csv, HEADER"),
        ("parquet", "FORMAT parquet, COMPRESSION zstd"),
    ] {
        let target = dir.join(format!("duckdb.{ext}"));
        let t = Instant::now();
        db.execute_batch(&format!(
            "COPY ({select}) TO '{}' ({opts})",
            target.display()
        ))
        .expect("copy");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "duckdb COPY {ext}: {rows} rows in {secs:.2} s = {:.0} rows/s",
            rows as f64 / secs
        );
        duck.insert(ext.into(), json!({ "secs": secs }));
    }
    let out = json!({ "rows": rows, "nodes": nodes, "ours": ours, "duckdb": duck,
                      "csv_parts": dir.join("objects/exports/bench").join(ours["csv"]["id"].as_str().unwrap_or_default()) });
    std::fs::write(dir.join("exports.json"), out.to_string()).expect("write");
}
