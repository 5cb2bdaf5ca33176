//! Storage benchmark of the embedded DuckDB backend. **Synthetic data**: 1,000
//! made-up MISO nodes (`MISO.SYNTH_0000` …) with hourly prices for 2025 whose
//! values are a deterministic function of node and hour. Nothing here is market data.
//!
//! Run: `cargo bench -p carbon-store --bench store` (release profile). Prints:
//! - append throughput in component values/s (target ≥ 2 M/s),
//! - range query 1 instrument × 1 month hourly: p50/p95 before and after
//!   `Store::compact` (target p50 < 2 ms, on the compacted store),
//! - 1 year × 1,000 nodes hourly → daily mean: p50 (target < 1 s),
//! - on-disk size.
//!
//! Set `CARBON_BENCH_NODES` to scale the node count down for a quick run.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration as StdDuration, Instant};

use carbon_core::{
    Aggregation, Components, Frequency, Instrument, InstrumentId, LocationKind, Market, MarketRun,
    Observation, Provenance,
};
use carbon_store::{DuckdbStore, PriceQuery, Resample, Store};
use chrono::{DateTime, Duration, Utc};

fn node(i: usize) -> InstrumentId {
    InstrumentId::new(Market::Miso, &format!("SYNTH_{i:04}")).unwrap()
}

fn value(i: usize, h: i64) -> Components {
    let base = 20.0 + (i % 37) as f64 + ((h % 24) as f64 - 12.0).abs();
    Components {
        lmp: Some(base + 1.25),
        energy: Some(base),
        congestion: Some(1.0),
        loss: Some(0.25),
        ghg: None,
    }
}

/// Hourly observations of every node for `hours` hours from `start`, time-major.
fn batch(
    nodes: usize,
    start: DateTime<Utc>,
    h0: i64,
    hours: i64,
    vintage: DateTime<Utc>,
) -> Vec<Observation> {
    let mut out = Vec::with_capacity(nodes * hours as usize);
    for h in h0..h0 + hours {
        let s = start + Duration::hours(h);
        for i in 0..nodes {
            out.push(Observation {
                instrument_id: node(i),
                market_run: MarketRun::Da,
                interval_start: s,
                interval_end: s + Duration::hours(1),
                values: value(i, h),
                vintage,
                provenance: Provenance::new("synthetic-bench", None),
            });
        }
    }
    out
}

fn pct(mut v: Vec<StdDuration>, p: f64) -> StdDuration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: StdDuration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let nodes: usize = std::env::var("CARBON_BENCH_NODES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = DuckdbStore::open(dir.path()).unwrap();
    let start: DateTime<Utc> = "2025-01-01T05:00:00Z".parse().unwrap();
    let vintage: DateTime<Utc> = "2024-12-31T18:00:00Z".parse().unwrap();
    let hours = 365 * 24;
    println!(
        "carbon-store benchmark — SYNTHETIC data: {nodes} nodes × {hours} hourly intervals, 4 components"
    );

    rt.block_on(
        store.upsert_instruments(
            (0..nodes)
                .map(|i| Instrument::new(node(i), LocationKind::Node))
                .collect(),
        ),
    )
    .unwrap();

    // 1. Append: the whole year in batches of 100 hours × all nodes.
    let step = 100;
    let mut values = 0usize;
    let mut spent = StdDuration::ZERO;
    let mut rates = Vec::new();
    let mut h = 0;
    while h < hours {
        let n = step.min(hours - h);
        let b = batch(nodes, start, h, n, vintage);
        let vals: usize = b.iter().map(|o| o.values.count()).sum();
        let t = Instant::now();
        let s = rt.block_on(store.append(b)).unwrap();
        let dt = t.elapsed();
        assert_eq!(s.inserted, nodes * n as usize);
        spent += dt;
        values += vals;
        rates.push(vals as f64 / dt.as_secs_f64());
        h += n;
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    let overall = values as f64 / spent.as_secs_f64();
    println!(
        "append: {} rows, {values} component values in {:.2} s → {:.2} M values/s overall, median batch {:.2} M values/s (target ≥ 2 M/s) {}",
        nodes * hours as usize,
        spent.as_secs_f64(),
        overall / 1e6,
        rates[rates.len() / 2] / 1e6,
        if overall >= 2e6 { "PASS" } else { "MISS" }
    );
    // Idempotent re-append of one batch: nothing inserted.
    let b = batch(nodes, start, 0, step, vintage);
    let t = Instant::now();
    let s = rt.block_on(store.append(b)).unwrap();
    println!(
        "re-append of a stored batch ({} rows): {:.0} ms, inserted {}",
        s.received,
        ms(t.elapsed()),
        s.inserted
    );
    store.checkpoint().unwrap();

    // 2. Range query: one instrument, one month hourly (July: 744 rows), latest
    // vintage — as appended (time-major), then after compaction.
    // A different instrument each time and the query cache off: DuckDB
    // answers every query (the cache's series chunks are measured below).
    let q = |i: usize| {
        PriceQuery::new(
            vec![node((nodes / 2 + i * 7) % nodes)],
            "2025-07-01T05:00:00Z".parse().unwrap(),
            "2025-08-01T05:00:00Z".parse().unwrap(),
        )
    };
    let budget = store.cache_stats().budget;
    store.set_query_cache_budget(0);
    let mut round = 0usize;
    let mut range_query = |label: &str, target: bool| {
        let mut times = Vec::new();
        round += 1;
        for i in 0..200 {
            let t = Instant::now();
            let p = rt.block_on(store.query_prices(q(i + round * 200))).unwrap();
            times.push(t.elapsed());
            assert_eq!(p.rows.len(), 744);
        }
        let p50 = pct(times.clone(), 0.5);
        let verdict = match (target, ms(p50) < 2.0) {
            (false, _) => "",
            (true, true) => " (target p50 < 2 ms) PASS",
            (true, false) => " (target p50 < 2 ms) MISS",
        };
        println!(
            "range query 1 instrument × 1 month hourly (744 rows), {label}: p50 {:.2} ms, p95 {:.2} ms{verdict}",
            ms(p50),
            ms(pct(times, 0.95)),
        );
    };
    range_query("time-major as appended", false);
    let t = Instant::now();
    let c = rt.block_on(store.compact()).unwrap();
    println!(
        "compaction: {} months, {} rows in {:.2} s",
        c.partitions,
        c.rows,
        t.elapsed().as_secs_f64()
    );
    range_query("after compaction", true);
    store.set_query_cache_budget(budget);
    // Series chunks: a window moving an hour at a time over one instrument;
    // the first query reads its 32 UTC days from DuckDB, each later one at
    // most one new day, the rest comes from memory.
    let mut times = Vec::new();
    let before = store.cache_stats();
    for h in 0..200 {
        let mut w = q(1);
        w.start += Duration::hours(h);
        w.end += Duration::hours(h);
        let t = Instant::now();
        let p = rt.block_on(store.query_prices(w)).unwrap();
        times.push(t.elapsed());
        assert!(!p.rows.is_empty());
    }
    let after = store.cache_stats();
    println!(
        "window moving an hour at a time (series chunks, {} misses): first {:.2} ms, p50 {:.3} ms, p95 {:.3} ms",
        after.misses - before.misses,
        ms(times[0]),
        ms(pct(times.clone(), 0.5)),
        ms(pct(times, 0.95)),
    );
    // The same question again and again: answered by the query cache.
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let p = rt.block_on(store.query_prices(q(0))).unwrap();
        times.push(t.elapsed());
        assert_eq!(p.rows.len(), 744);
    }
    println!(
        "same range query repeated (query cache): p50 {:.3} ms, p95 {:.3} ms",
        ms(pct(times.clone(), 0.5)),
        ms(pct(times, 0.95)),
    );

    // 3. Daily mean of every node over the year.
    let mut q = PriceQuery::new(
        (0..nodes).map(node).collect(),
        start,
        start + Duration::hours(hours),
    );
    q.resample = Some(Resample {
        freq: Frequency::Day,
        agg: Aggregation::Mean,
    });
    q.market_runs = vec![MarketRun::Da];
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let p = rt.block_on(store.query_prices(q.clone())).unwrap();
        times.push(t.elapsed());
        assert_eq!(p.rows.len(), nodes * 365);
        assert!(p.rows.iter().all(|r| r.samples == Some(24)));
    }
    let p50 = pct(times, 0.5);
    println!(
        "1 year × {nodes} nodes hourly → daily mean ({} rows out): p50 {:.0} ms (target < 1000 ms) {}",
        nodes * 365,
        ms(p50),
        if ms(p50) < 1000.0 { "PASS" } else { "MISS" }
    );

    // 4. The same with the on-peak block (calendar join).
    q.block = carbon_core::Block::OnPeak;
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        rt.block_on(store.query_prices(q.clone())).unwrap();
        times.push(t.elapsed());
    }
    println!(
        "1 year × {nodes} nodes → daily on-peak mean: p50 {:.0} ms",
        ms(pct(times, 0.5))
    );

    let size = std::fs::metadata(store.path())
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "database size: {:.1} MB for {} rows",
        size as f64 / 1e6,
        nodes * hours as usize
    );
}
