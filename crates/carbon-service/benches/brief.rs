//! A monthly market brief, end to end (scripts/bench.sh report): MISO
//! February 2021 from the real EIA files (eight hubs' hourly real-time
//! prices, three cities' temperatures, Henry Hub gas, Lower-48 storage) in a
//! DuckDB store; timed: gathering the month from the store, rendering the
//! HTML and the PDF, and the whole export (files, SHA-256, manifest) through
//! `Exports::run`. Goal: a brief in under 2 s. Prints medians of 15 runs.

use std::{path::Path, sync::Arc, time::Instant};

use carbon_ingest::{bus::InProcessBus, dq::DqConfig, files, runner::Runner};
use carbon_service::{
    exports::{ExportLimits, Exports, LinkSigner},
    objects::ObjectTarget,
    reports::{BriefSpec, DataSources, gather},
    research::Progress,
};
use carbon_store::DuckdbStore;

const FILES: [&str; 4] = [
    "miso_lmp_rt_hr_hubs_2021_eia.csv",
    "miso_temp_hr_2021_eia.csv",
    "henry_hub_spot_daily_eia_1997-01-07_2026-08-18.csv",
    "ng_storage_weekly_by_region_eia_2010-01-01_2024-04-12.csv",
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Arc::new(DuckdbStore::open(&dir.path().join("data")).expect("store"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let runner = Runner::new(
        store.clone(),
        store.clone(),
        Arc::new(InProcessBus::default()),
        DqConfig::default(),
    )
    .with_fundamentals(store.clone());
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/fundamentals");
    for f in FILES {
        rt.block_on(runner.ingest(
            "file",
            files::read(&fixtures.join(f), None).expect("read"),
            None,
        ))
        .expect("ingest");
    }
    let src = DataSources {
        store: store.clone(),
        research: store.clone(),
        fundamentals: store.clone(),
        curves: store.clone(),
    };
    let exports = Exports::new(
        store.clone(),
        store.clone(),
        ObjectTarget::dir(&dir.path().join("objects")).expect("objects"),
        LinkSigner::new([7u8; 32]),
        ExportLimits {
            max_running: 100,
            ..ExportLimits::default()
        },
    );
    exports.set_sources(src.clone());
    let spec = BriefSpec {
        market: carbon_core::Market::Miso,
        month: "2021-02".into(),
        hubs: None,
        curves: true,
        fundamentals: true,
        market_wide: true,
        feed: None,
    };
    let (mut g, mut h, mut p, mut whole) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut pages_bytes = (0, 0);
    for _ in 0..15 {
        let t = Instant::now();
        let brief = rt
            .block_on(gather(&src, &spec, chrono::Utc::now()))
            .expect("gather");
        g.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let html = carbon_report::html(&brief);
        h.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let pdf = carbon_report::pdf(&brief);
        p.push(t.elapsed().as_secs_f64());
        pages_bytes = (html.len(), pdf.len());
        let t = Instant::now();
        let (e, _) = rt
            .block_on(exports.create_report("bench", "bench", &spec, None))
            .expect("create");
        let progress = Progress::new(
            Arc::new(|_, _: &str| {}),
            Arc::new(std::sync::atomic::AtomicBool::new(false)),
        );
        rt.block_on(exports.run("bench", &e.id, progress))
            .expect("run");
        whole.push(t.elapsed().as_secs_f64());
    }
    let ms = |v: Vec<f64>| median(v) * 1e3;
    let total = ms(whole);
    println!(
        "brief MISO 2021-02 (8 hubs, 4 fundamentals): HTML {} bytes, PDF {} bytes",
        pages_bytes.0, pages_bytes.1
    );
    println!(
        "median of 15: gather {:.1} ms, HTML {:.1} ms, PDF {:.1} ms",
        ms(g),
        ms(h),
        ms(p)
    );
    println!("median of 15: whole brief export (gather, render, store, manifest) {total:.1} ms");
    println!("ratio to the 2 s goal: {:.0}x under", 2000.0 / total);
    assert!(total < 2000.0, "a brief took {total:.0} ms (goal < 2 s)");
}
