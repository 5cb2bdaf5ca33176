//! The runner on a real DuckDB store: every fixture through the file path,
//! idempotent re-ingest, quarantine, malformed files, the bus.

use std::sync::Arc;

use carbon_core::InstrumentId;
use carbon_ingest::{
    bus::{EventBus, InProcessBus},
    dq::DqConfig,
    files,
    runner::{Outcome, Payload, Runner},
};
use carbon_store::{DuckdbStore, PriceQuery, RunFilter, RunLog, RunStatus, StatsFilter, Store};
use chrono::{DateTime, Utc};

use super::{fixture, fixtures};

fn setup() -> (
    tempfile::TempDir,
    Arc<DuckdbStore>,
    Runner,
    Arc<InProcessBus>,
) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DuckdbStore::open(dir.path()).unwrap());
    let bus = Arc::new(InProcessBus::new(64));
    let runner = Runner::new(
        store.clone(),
        store.clone(),
        bus.clone(),
        DqConfig::default(),
    );
    (dir, store, runner, bus)
}

fn payload(source: &str, bytes: Vec<u8>) -> Payload {
    let t: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
    Payload {
        source: source.into(),
        bytes,
        fetched_at: t,
        published_at: Some(t),
    }
}

fn run_of(o: Outcome) -> carbon_store::IngestRun {
    match o {
        Outcome::Run(r) => r,
        Outcome::Skipped(why) => panic!("skipped: {why}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_loads_and_reloading_five_times_changes_nothing() {
    let (_dir, store, runner, _bus) = setup();
    // MISO and CAISO; the other ISOs' fixtures wait for their connectors.
    let list = files::collect(&[fixtures().join("miso"), fixtures().join("caiso")]).unwrap();
    assert_eq!(list.len(), 7, "{list:?}");
    let mut skipped = Vec::new();
    let mut accepted = 0;
    for p in &list {
        match runner
            .ingest("file", files::read(p, None).unwrap(), None)
            .await
            .unwrap()
        {
            Outcome::Skipped(why) => skipped.push((p.clone(), why)),
            Outcome::Run(r) => {
                assert_eq!(r.status, RunStatus::Ok, "{r:?}");
                accepted += r.rows_accepted;
            }
        }
    }
    // 72 + 528 + 66 (MISO) + 8 + 24 + 192 (CAISO); the SLD_FCST load sample is skipped.
    assert_eq!(accepted, 72 + 528 + 66 + 8 + 24 + 192);
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].1.contains("load (SLD_FCST)"), "{skipped:?}");
    let before = store.series_stats(StatsFilter::default()).await.unwrap();
    for _ in 0..5 {
        for p in &list {
            if let Outcome::Run(r) = runner
                .ingest("file", files::read(p, None).unwrap(), None)
                .await
                .unwrap()
            {
                assert_eq!((r.rows_accepted, r.status), (0, RunStatus::Ok), "{r:?}");
            }
        }
    }
    assert_eq!(
        store.series_stats(StatsFilter::default()).await.unwrap(),
        before
    );
    let runs = store
        .runs(RunFilter {
            connector: Some("file".into()),
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 6 * 6);
    // Data are queryable on the market clock: MISO HE1 2026-07-14 at 05:00Z.
    let q = PriceQuery::new(
        vec![InstrumentId::parse("MISO.INDIANA.HUB").unwrap()],
        "2026-07-14T05:00:00Z".parse().unwrap(),
        "2026-07-14T06:00:00Z".parse().unwrap(),
    );
    assert_eq!(
        store.query_prices(q).await.unwrap().rows[0].values.lmp,
        Some(37.82)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_rows_are_quarantined_with_the_reason() {
    let (_dir, store, runner, bus) = setup();
    let mut rx = bus.subscribe();
    let raw = std::fs::read_to_string(fixture("miso/da_expost_lmp_20260714_3hubs.csv")).unwrap();
    // INDIANA.HUB HE 1: LMP 37.82 → 25037.82 (beyond 20,000 $/MWh).
    let text = raw.replacen(
        "INDIANA.HUB,Hub,LMP,37.82,",
        "INDIANA.HUB,Hub,LMP,25037.82,",
        1,
    );
    let r = run_of(
        runner
            .ingest(
                "file",
                payload("20260714_da_expost_lmp.csv", text.into_bytes()),
                None,
            )
            .await
            .unwrap(),
    );
    assert_eq!(r.status, RunStatus::Partial);
    assert_eq!((r.rows_accepted, r.rows_rejected), (71, 1));
    let q = store.quarantined(Some(r.id.clone()), 10).await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].instrument_id.as_deref(), Some("MISO.INDIANA.HUB"));
    assert_eq!(q[0].source_row, Some(7));
    assert!(
        q[0].reason
            .contains("outside the sanity range -2000..20000"),
        "{}",
        q[0].reason
    );
    // Quality findings are stored with the run.
    let runs = store.runs(RunFilter::default()).await.unwrap();
    assert_eq!(runs[0].quality.as_ref().unwrap()["rejected"], 1);
    // Accepted rows went out on the bus.
    let ev = rx.try_recv().unwrap();
    assert_eq!(
        (ev.run_id.as_str(), ev.observations.len()),
        (r.id.as_str(), 71)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_file_stores_nothing_and_names_line_and_field() {
    let (_dir, store, runner, _bus) = setup();
    let raw = std::fs::read_to_string(fixture("miso/da_expost_lmp_20260714_3hubs.csv")).unwrap();
    // A bad number on the last data line (line 14, MLC of MICHIGAN.HUB, HE 2).
    let text = raw.replacen(
        "MICHIGAN.HUB,Hub,MLC,1.24,1.81,",
        "MICHIGAN.HUB,Hub,MLC,1.24,1.8x1,",
        1,
    );
    let r = run_of(
        runner
            .ingest(
                "file",
                payload("bad_da_expost_lmp.csv", text.into_bytes()),
                None,
            )
            .await
            .unwrap(),
    );
    assert_eq!(r.status, RunStatus::Failed);
    let e = r.error.unwrap();
    assert!(
        e.contains("line 14") && e.contains("field HE 2") && e.contains("`1.8x1` is not a number"),
        "{e}"
    );
    assert!(
        store
            .series_stats(StatsFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    // A truncated row is structural too.
    let cut = &raw[..raw.len() - 40];
    let r = run_of(
        runner
            .ingest(
                "file",
                payload("cut_da_expost_lmp.csv", cut.as_bytes().to_vec()),
                None,
            )
            .await
            .unwrap(),
    );
    assert_eq!(r.status, RunStatus::Failed);
    assert!(r.error.unwrap().contains("expected 27 fields"));
    assert!(
        store
            .series_stats(StatsFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
}
