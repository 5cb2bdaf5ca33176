//! Load benchmark of the API: the real server and the load generator on
//! 127.0.0.1 in one process (separate runtimes, same two cores), bounded in
//! time. Run with `scripts/bench.sh api`.
//!
//! Data: **SYNTHETIC** (labelled) — `carbon_testkit::synthetic_miso_report`,
//! MISO's real report layout with made-up values: 100 nodes × 365 days of
//! hourly day-ahead prices (2025), ingested through the real runner, then
//! compacted as `carbon serve` does.
//!
//! 1. Open-loop load: 500 requests/s (`CARBON_LOAD_RPS`) for 10 s
//!    (`CARBON_LOAD_SECS`) of `GET /api/v1/prices` for 1 instrument × 1 month
//!    hourly, each authenticated with an API key and checked by the policy.
//!    Latency is measured from each request's scheduled send time (so a
//!    stalled server cannot hide queueing: no coordinated omission). Goal:
//!    p99 < 10 ms. Two patterns: 300 questions repeated (the query cache
//!    answers after the first round) and never the same question twice (a
//!    window moving a day at a time): from an emptied cache, whose series
//!    chunks are read on first touch, and with the cache off at 500 and at
//!    `CARBON_LOAD_DISTINCT_RPS` (default 200) req/s, DuckDB on every request.
//! 2. One year of daily on-peak means for 100 nodes in one request.
//! 3. 200 WebSocket clients, each subscribed to one node; five more market
//!    days are ingested; publish → receive latency per tick, where "publish" is
//!    when the bus delivers the event to a listener of its own. Goal: p99 < 50 ms.
#![allow(clippy::unwrap_used, missing_docs)]

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use carbon_api::{ApiSettings, AppState, RateLimits, create_app};
use carbon_auth::{Access, AuthConfig};
use carbon_ingest::{
    bus::{EventBus, InProcessBus},
    dq::DqConfig,
    runner::{Payload, Runner},
};
use carbon_store::{DuckdbStore, Store};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

const NODES: usize = 100;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(day: chrono::NaiveDate) -> Payload {
    use chrono::Datelike;
    let text = carbon_testkit::synthetic_miso_report(day.year(), day.month(), day.day(), NODES);
    let t = chrono::Utc::now();
    Payload {
        source: format!("{}_da_expost_lmp.csv", day.format("%Y%m%d")),
        bytes: text.into_bytes(),
        fetched_at: t,
        published_at: Some(t),
    }
}

fn main() {
    let secs = env_or("CARBON_LOAD_SECS", 10);
    let rps = env_or("CARBON_LOAD_RPS", 500);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DuckdbStore::open(dir.path()).unwrap());
    // As `carbon serve` runs it: one DuckDB thread unless the environment says.
    if std::env::var_os("CARBON_DUCKDB_THREADS").is_none() {
        store.set_threads(1).unwrap();
    }
    println!("DuckDB threads: {}", store.threads().unwrap());
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bus = Arc::new(InProcessBus::new(65_536));
    let runner = Runner::new(
        store.clone(),
        store.clone(),
        bus.clone(),
        DqConfig::default(),
    );
    let t = Instant::now();
    let first = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    server_rt.block_on(async {
        for d in 0..365 {
            runner
                .ingest("file", report(first + chrono::Duration::days(d)), None)
                .await
                .unwrap();
        }
        store.compact().await.unwrap();
    });
    println!(
        "setup: {NODES} synthetic nodes x 365 days hourly ingested and compacted in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let access = Arc::new(
        server_rt
            .block_on(Access::open(store.clone(), &AuthConfig::default()))
            .unwrap(),
    );
    server_rt.block_on(access.bootstrap()).unwrap();
    let (_, key) = server_rt
        .block_on(access.create_key("bench", "platform", None, "bench", Default::default()))
        .unwrap();
    // Limits raised: this measures the server, not the limiter's refusals
    // (the limiter itself still runs on every request).
    let settings = ApiSettings {
        rate_limits: RateLimits {
            general: 1e6,
            data: 1e6,
            exports: 1e6,
        },
        ..ApiSettings::default()
    };
    let jobs = carbon_service::jobs::Jobs::new(
        store.clone(),
        carbon_service::research::ResearchDeps::of(store.clone()),
    );
    let state = AppState::new(
        carbon_api::Stores::of(store.clone()),
        access,
        bus.clone(),
        jobs,
    )
    .with_settings(settings);
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = create_app(state);
    server_rt.spawn(carbon_api::serve(listener, app, async {
        let _ = stop_rx.await;
    }));

    // 0. One client, one request at a time: where a request's time goes,
    // with the query cache off (DuckDB on every request).
    let budget = store.cache_stats().budget;
    store.set_query_cache_budget(0);
    {
        for limit in [None, Some(10_000)] {
            let mut times = Vec::new();
            for i in 0..200 {
                let id: carbon_core::InstrumentId =
                    format!("MISO.SYNTH_{:05}", i % NODES).parse().unwrap();
                let mut q = carbon_store::PriceQuery::new(
                    vec![id],
                    "2025-03-01T05:00:00Z".parse().unwrap(),
                    "2025-04-01T05:00:00Z".parse().unwrap(),
                );
                q.market_runs = vec![carbon_core::MarketRun::Da];
                q.limit = limit;
                let t = Instant::now();
                let p = server_rt.block_on(store.query_prices(q)).unwrap();
                times.push(t.elapsed().as_secs_f64() * 1e3);
                assert!(p.rows.len() > 700);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "store alone, 1 instrument x 1 month, limit {limit:?}: p50 {:.2} ms, p99 {:.2} ms",
                pct(&times, 0.5),
                pct(&times, 0.99)
            );
        }
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        for fmt in ["json", "csv", "json&limit=1"] {
            let mut times = Vec::new();
            for i in 0..200 {
                let url = format!(
                    "{base}/api/v1/prices?instrument_id=MISO.SYNTH_{:05}&start=2025-03-01&end=2025-04-01&market_run=da&format={fmt}",
                    i % NODES
                );
                let t = Instant::now();
                let mut r = agent.get(&url).header("x-api-key", &key).call().unwrap();
                let _ = r.body_mut().read_to_vec().unwrap();
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "closed loop, 1 client, 1 instrument x 1 month ({fmt}): p50 {:.2} ms, p99 {:.2} ms",
                pct(&times, 0.5),
                pct(&times, 0.99)
            );
        }
    }

    store.set_query_cache_budget(budget);

    // 1. Open-loop query load, two patterns of the same query shape:
    // "repeated" asks 300 distinct (node, month) questions over and over, as
    // dashboards and polling clients do — after the first round the store's
    // query cache answers; "distinct" never asks the same question twice (a
    // start day that moves through the year), so every request scans DuckDB.
    let repeated = |i: usize| {
        let node = (i * 37) % NODES;
        let month = 1 + (i * 7) % 12;
        let (end_y, end_m) = if month == 12 {
            (2026, 1)
        } else {
            (2025, month + 1)
        };
        format!(
            "instrument_id=MISO.SYNTH_{node:05}&start=2025-{month:02}-01&end={end_y}-{end_m:02}-01&market_run=da"
        )
    };
    let first_day = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let distinct = move |i: usize| {
        let node = (i * 37) % NODES;
        let from = first_day + chrono::Duration::days((i / NODES % 334) as i64);
        let to = from + chrono::Duration::days(31);
        format!("instrument_id=MISO.SYNTH_{node:05}&start={from}&end={to}&market_run=da")
    };
    // Twice: from a cold cache (its first round of misses included), then warm.
    let mut warm = (0.0, 0.0);
    for label in ["repeated, cold cache", "repeated, warm cache"] {
        let before = store.cache_stats();
        warm = open_loop(&base, &key, rps, secs, label, &repeated);
        let after = store.cache_stats();
        println!(
            "  query cache during the run: {} hits, {} misses",
            after.hits - before.hits,
            after.misses - before.misses
        );
    }
    println!(
        "CARBON_LOAD_P50_MS={:.3}\nCARBON_LOAD_P99_MS={:.3}",
        warm.0, warm.1
    );
    // Never the same question twice: with the cache emptied first, so series
    // chunks are read from DuckDB on first touch (each node-month once) and
    // the moving windows are then answered from them; then with the cache
    // off, every request scanning DuckDB (the uncached floor). Each run starts
    // where the last one's questions end.
    let per_run = ((secs * rps) as usize).div_ceil(NODES) * NODES;
    let uncached_rps = env_or("CARBON_LOAD_DISTINCT_RPS", 200);
    for (k, (r, cached)) in [(rps, true), (rps, false), (uncached_rps, false)]
        .into_iter()
        .enumerate()
    {
        store.set_query_cache_budget(0);
        let label = if cached {
            store.set_query_cache_budget(budget);
            "distinct, cache emptied first"
        } else {
            "distinct, cache off"
        };
        let before = store.cache_stats();
        let q = |i: usize| distinct(i + k * per_run);
        open_loop(&base, &key, r, secs, label, &q);
        let after = store.cache_stats();
        println!(
            "  query cache during the run: {} hits, {} misses, {} series chunks held",
            after.hits - before.hits,
            after.misses - before.misses,
            after.chunks
        );
    }
    store.set_query_cache_budget(budget);

    // 2. A year of daily on-peak means for 100 nodes.
    let ids: Vec<String> = (0..NODES)
        .map(|n| format!("instrument_id=MISO.SYNTH_{n:05}"))
        .collect();
    let url = format!(
        "{base}/api/v1/prices?{}&start=2025-01-01&end=2026-01-01&market_run=da&resample=1d&agg=mean&block=onpeak&limit=100000",
        ids.join("&")
    );
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let mut r = agent.get(&url).header("x-api-key", &key).call().unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        rows = v["data"].as_array().unwrap().len();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "1-year daily on-peak mean, {NODES} nodes, one request: {rows} rows, median {:.0} ms (min {:.0}, max {:.0})",
        pct(&times, 0.5),
        times[0],
        times[times.len() - 1]
    );

    // 3. 200 WebSocket clients, ticks from real ingests.
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let clients = 200usize;
    let published: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
    let samples: Arc<Mutex<Vec<(usize, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
    let days = 5;
    client_rt.block_on(async {
        let mut tasks = Vec::new();
        let ready = Arc::new(tokio::sync::Barrier::new(clients + 1));
        for c in 0..clients {
            let url = format!("{}/api/v1/stream", base.replace("http://", "ws://"));
            let (key, samples, ready) = (key.clone(), samples.clone(), ready.clone());
            tasks.push(tokio::spawn(async move {
                let mut req = url.as_str().into_client_request().unwrap();
                req.headers_mut().insert("x-api-key", key.parse().unwrap());
                let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
                let sub = serde_json::json!({"op":"subscribe","instruments":[format!("MISO.SYNTH_{:05}", c % NODES)]});
                ws.send(Message::Text(sub.to_string().into())).await.unwrap();
                loop {
                    if let Some(Ok(Message::Text(t))) = ws.next().await
                        && t.contains("subscribed")
                    {
                        break;
                    }
                }
                ready.wait().await;
                let mut got = 0;
                while got < 24 * days {
                    match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
                        Ok(Some(Ok(Message::Text(t)))) if t.contains("\"tick\"") => {
                            // Events arrive in order, 24 ticks of this node each.
                            samples.lock().unwrap().push((got / 24, Instant::now()));
                            got += 1;
                        }
                        Ok(Some(Ok(_))) => {}
                        _ => break,
                    }
                }
            }));
        }
        ready.wait().await;
        // Our own listener on the bus marks when each event is published.
        let mut rx = bus.subscribe();
        let marks = published.clone();
        let marker = tokio::spawn(async move {
            while let Ok(_e) = rx.recv().await {
                marks.lock().unwrap().push(Instant::now());
            }
        });
        let r2 = Runner::new(store.clone(), store.clone(), bus.clone(), DqConfig::default());
        for d in 0..days {
            let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 2 + d as u32).unwrap();
            r2.ingest("file", report(day), None).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        for t in tasks {
            let _ = t.await;
        }
        marker.abort();
    });
    let marks = published.lock().unwrap().clone();
    let mut ws_lat: Vec<f64> = samples
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(event, at)| {
            let p = marks.get(*event)?;
            Some(at.saturating_duration_since(*p).as_secs_f64() * 1e3)
        })
        .collect();
    ws_lat.sort_by(f64::total_cmp);
    println!(
        "stream: {clients} WebSocket clients, {} ticks received of {} expected, publish->receive p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ws_lat.len(),
        clients * 24 * days,
        pct(&ws_lat, 0.5),
        pct(&ws_lat, 0.99),
        ws_lat.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "CARBON_WS_P50_MS={:.3}\nCARBON_WS_P99_MS={:.3}",
        pct(&ws_lat, 0.5),
        pct(&ws_lat, 0.99)
    );
    let _ = stop_tx.send(());
}

/// Open-loop load: `rps` requests/s for `secs` s of `GET /api/v1/prices?{query(i)}`
/// from 24 client threads; latency from each request's scheduled send time.
/// Prints and returns (p50, p99) in ms.
fn open_loop(
    base: &str,
    key: &str,
    rps: u64,
    secs: u64,
    label: &str,
    query: &(dyn Fn(usize) -> String + Sync),
) -> (f64, f64) {
    let total = (secs * rps) as usize;
    let next = AtomicUsize::new(0);
    let lat = Mutex::new(Vec::with_capacity(total));
    let errors = AtomicUsize::new(0);
    let t0 = Instant::now() + Duration::from_millis(200);
    let interval = Duration::from_secs_f64(1.0 / rps as f64);
    std::thread::scope(|sc| {
        for _ in 0..24 {
            sc.spawn(|| {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return;
                    }
                    let at = t0 + interval * i as u32;
                    if let Some(wait) = at.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let url = format!("{base}/api/v1/prices?{}", query(i));
                    let ok = match agent.get(&url).header("x-api-key", key).call() {
                        Ok(mut resp) => {
                            let s = resp.status().as_u16();
                            let body = resp.body_mut().read_to_vec().unwrap_or_default();
                            s == 200 && body.len() > 100_000
                        }
                        Err(_) => false,
                    };
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    let ms = at.elapsed().as_secs_f64() * 1e3;
                    lat.lock().unwrap().push(ms);
                }
            });
        }
    });
    let achieved = total as f64 / (t0.elapsed().as_secs_f64());
    let mut l = lat.into_inner().unwrap();
    l.sort_by(f64::total_cmp);
    println!(
        "query 1 instrument x 1 month hourly, {label} queries, at {rps} req/s for {secs} s: {} requests, {} errors, achieved {:.0} req/s, p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        l.len(),
        errors.load(Ordering::Relaxed),
        achieved,
        pct(&l, 0.5),
        pct(&l, 0.95),
        pct(&l, 0.99),
        l.last().copied().unwrap_or(f64::NAN)
    );
    (pct(&l, 0.5), pct(&l, 0.99))
}
