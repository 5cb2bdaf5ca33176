//! The conformance suite every [`Store`] backend must pass.
//!
//! A backend provides a [`Harness`] (fresh store, reopen over the same data) and
//! expands [`conformance_tests!`](crate::conformance_tests) in its integration
//! tests; each check below becomes one `#[tokio::test]`. The data are small and
//! hand-checkable (the expected numbers are worked out in comments), so a
//! failure points at a semantic, not at a fixture.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use async_trait::async_trait;
use carbon_core::{
    Aggregation, Block, Component, Components, Frequency, Instrument, InstrumentId, LocationKind,
    Market, MarketRun, Observation, Provenance, time,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::{
    Error, IngestRun, InstrumentQuery, PriceQuery, PriceRow, QuarantinedRow, Resample, RunFilter,
    RunLog, RunStatus, StatsFilter, Store,
};

/// What a backend supplies to run the suite. A backend that holds part of
/// the contract (the scale-out backends split it: PostgreSQL the metadata,
/// ClickHouse the series) provides the stores it holds and expands only the
/// checks of those (`conformance_tests!(@each make; check, …)`), naming the
/// rest and why in its test file; a store it does not hold is never opened.
#[async_trait]
pub trait Harness: Send + Sync {
    /// A new, empty store.
    async fn open(&self) -> Arc<dyn Store> {
        not_held("Store")
    }
    /// The run log of a new, empty store.
    async fn open_run_log(&self) -> Arc<dyn RunLog> {
        not_held("RunLog")
    }
    /// The access-control directory of a new, empty store.
    async fn open_directory(&self) -> Arc<dyn crate::Directory> {
        not_held("Directory")
    }
    /// The curve store of a new, empty store.
    async fn open_curves(&self) -> Arc<dyn crate::CurveStore> {
        not_held("CurveStore")
    }
    /// The fundamentals store of a new, empty store.
    async fn open_fundamentals(&self) -> Arc<dyn crate::FundamentalStore> {
        not_held("FundamentalStore")
    }
    /// The research-run store of a new, empty store.
    async fn open_research(&self) -> Arc<dyn crate::ResearchStore> {
        not_held("ResearchStore")
    }
    /// The job store of a new, empty store.
    async fn open_jobs(&self) -> Arc<dyn crate::JobStore> {
        not_held("JobStore")
    }
    /// The scenario store of a new, empty store.
    async fn open_scenarios(&self) -> Arc<dyn crate::ScenarioStore> {
        not_held("ScenarioStore")
    }
    /// The export store of a new, empty store.
    async fn open_exports(&self) -> Arc<dyn crate::ExportStore> {
        not_held("ExportStore")
    }
    /// The feed store of a new, empty store.
    async fn open_feeds(&self) -> Arc<dyn crate::FeedStore> {
        not_held("FeedStore")
    }
    /// Closes `store` (the caller holds no other handle) and opens the same data again.
    async fn reopen(&self, _store: Arc<dyn Store>) -> Arc<dyn Store> {
        not_held("Store")
    }
}

/// A lease of worker `w` an hour past `t` (the checks that do not look at
/// leases never let one lapse).
fn held(t: DateTime<Utc>) -> crate::Lease {
    crate::Lease {
        worker: "w".into(),
        until: t + Duration::hours(1),
    }
}

/// A check asked a harness for a store its backend does not hold: the test
/// file expanded a check it should not have (a bug of the test, not of the
/// backend).
fn not_held(what: &str) -> ! {
    panic!(
        "this backend's harness does not hold a {what}: expand only the checks of the stores it holds"
    )
}

/// Expands to one `#[tokio::test]` per conformance check. `$make` builds a
/// fresh [`Harness`] for each test.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            instruments_upsert_get_search,
            append_and_query_round_trip,
            reappend_is_idempotent,
            failed_batch_changes_nothing,
            vintages_and_as_of,
            redundant_vintage_is_not_a_revision,
            run_log_runs_quarantine_checkpoints,
            resample_daily_on_25_hour_day,
            resample_sub_daily_and_monthly,
            power_block_filters,
            cursor_pagination,
            bad_queries_are_typed_errors,
            series_stats,
            data_survives_reopen,
            compaction_keeps_content,
            directory_records_and_audit_chain,
            curve_runs_and_points,
            fundamentals_vintages_revisions_and_as_of,
            research_runs_round_trip_and_list_newest_first,
            repeated_queries_follow_writes,
            jobs_queue_claim_fairly_once_and_recover,
            jobs_are_served_round_robin_across_tenants,
            scenarios_are_versioned_immutable_and_tenant_scoped,
            exports_are_idempotent_tenant_scoped_and_expire,
            jobs_of_live_workers_stay_theirs_lapsed_ones_are_recovered,
            feeds_are_named_per_tenant_and_keep_their_state
        );
    };
    (@each $make:expr; $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let harness = $make;
                $crate::conformance::$name(&harness).await;
            }
        )+
    };
}

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn id(s: &str) -> InstrumentId {
    InstrumentId::parse(s).unwrap()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn lmp(v: f64) -> Components {
    Components {
        lmp: Some(v),
        ..Default::default()
    }
}

/// One observation of `minutes` length.
pub fn obs(
    instrument: &str,
    run: MarketRun,
    start: DateTime<Utc>,
    minutes: i64,
    values: Components,
    vintage: DateTime<Utc>,
    row: u64,
) -> Observation {
    Observation {
        instrument_id: id(instrument),
        market_run: run,
        interval_start: start,
        interval_end: start + Duration::minutes(minutes),
        values,
        vintage,
        provenance: Provenance::new("conformance", Some(row)),
    }
}

/// Hourly DA observations over market days `from..=to`, value = hour ordinal in the day.
fn hourly_by_ordinal(
    instrument: &str,
    from: &str,
    to: &str,
    vintage: DateTime<Utc>,
) -> Vec<Observation> {
    let m = id(instrument).market();
    let mut out = Vec::new();
    for d in date(from).iter_days().take_while(|d| *d <= date(to)) {
        for h in time::day_hours(m, d) {
            let row = out.len() as u64 + 1;
            out.push(obs(
                instrument,
                MarketRun::Da,
                h.start,
                60,
                lmp(f64::from(h.ordinal)),
                vintage,
                row,
            ));
        }
    }
    out
}

async fn seed_instruments(store: &dyn Store) {
    store
        .upsert_instruments(vec![
            Instrument::new(id("MISO.INDIANA.HUB"), LocationKind::Hub),
            Instrument::new(id("MISO.ILLINOIS.HUB"), LocationKind::Hub),
            Instrument::new(id("MISO.CIN.PSI"), LocationKind::Zone),
            Instrument::new(id("CAISO.TH_SP15_GEN-APND"), LocationKind::Hub),
            Instrument::new(id("CAISO.TH_NP15_GEN-APND"), LocationKind::Hub),
        ])
        .await
        .unwrap();
}

async fn all_rows(store: &dyn Store, q: PriceQuery) -> Vec<PriceRow> {
    store.query_prices(q).await.unwrap().rows
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

pub async fn instruments_upsert_get_search(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    // Re-upsert one with a name and a new kind: counted as updated.
    let mut psi = Instrument::new(id("MISO.CIN.PSI"), LocationKind::Zone);
    psi.name = Some("Cinergy PSI load zone".into());
    let s = store
        .upsert_instruments(vec![
            psi.clone(),
            Instrument::new(id("MISO.ONT"), LocationKind::Interface),
        ])
        .await
        .unwrap();
    assert_eq!((s.inserted, s.updated), (1, 1));
    assert_eq!(
        store.instrument(&id("MISO.CIN.PSI")).await.unwrap(),
        Some(psi.clone())
    );
    assert_eq!(store.instrument(&id("MISO.NOPE")).await.unwrap(), None);
    // A source that does not type its nodes (kind `node`, no name) neither
    // downgrades the kind nor erases the name.
    store
        .upsert_instruments(vec![Instrument::new(
            id("MISO.CIN.PSI"),
            LocationKind::Node,
        )])
        .await
        .unwrap();
    assert_eq!(
        store.instrument(&id("MISO.CIN.PSI")).await.unwrap(),
        Some(psi)
    );

    let page = store
        .search_instruments(InstrumentQuery {
            market: Some(Market::Miso),
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<String> = page.instruments.iter().map(|i| i.id.to_string()).collect();
    assert_eq!(
        ids,
        [
            "MISO.CIN.PSI",
            "MISO.ILLINOIS.HUB",
            "MISO.INDIANA.HUB",
            "MISO.ONT"
        ]
    );
    assert_eq!(page.next_cursor, None);

    let hubs = store
        .search_instruments(InstrumentQuery {
            kind: Some(LocationKind::Hub),
            text: Some("sp15".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hubs.instruments.len(), 1);
    assert_eq!(hubs.instruments[0].id.as_str(), "CAISO.TH_SP15_GEN-APND");
    // Text matches the display name too.
    let by_name = store
        .search_instruments(InstrumentQuery {
            text: Some("cinergy".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_name.instruments.len(), 1);

    // Pages of two, in id order, covering all six.
    let mut cursor = None;
    let mut seen = Vec::new();
    loop {
        let p = store
            .search_instruments(InstrumentQuery {
                limit: Some(2),
                cursor: cursor.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(p.instruments.len() <= 2);
        seen.extend(p.instruments.into_iter().map(|i| i.id.to_string()));
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
}

pub async fn append_and_query_round_trip(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let v = utc("2026-07-13T18:00:00Z");
    // MISO 2026-07-14 HE1 starts 05:00Z (EST). Components: LMP = energy + congestion + loss.
    let c = |i: u32| Components {
        lmp: Some(30.0 + f64::from(i)),
        energy: Some(29.0 + f64::from(i)),
        congestion: Some(0.75),
        loss: Some(0.25),
        ghg: None,
    };
    let start = utc("2026-07-14T05:00:00Z");
    let batch: Vec<Observation> = (0..24)
        .map(|i| {
            obs(
                "MISO.INDIANA.HUB",
                MarketRun::Da,
                start + Duration::hours(i64::from(i)),
                60,
                c(i),
                v,
                u64::from(i) + 1,
            )
        })
        .chain((0..24).map(|i| {
            obs(
                "MISO.INDIANA.HUB",
                MarketRun::Rt,
                start + Duration::hours(i64::from(i)),
                60,
                lmp(40.0),
                v,
                100,
            )
        }))
        .collect();
    let s = store.append(batch).await.unwrap();
    assert_eq!(
        (s.received, s.inserted, s.unchanged, s.revisions),
        (48, 48, 0, 0)
    );

    let mut q = PriceQuery::new(
        vec![id("MISO.INDIANA.HUB")],
        start,
        start + Duration::hours(24),
    );
    q.market_runs = vec![MarketRun::Da];
    let rows = all_rows(store.as_ref(), q.clone()).await;
    assert_eq!(rows.len(), 24);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.interval_start, start + Duration::hours(i as i64));
        assert_eq!(r.interval_end, r.interval_start + Duration::hours(1));
        assert_eq!(r.values, c(i as u32));
        assert_eq!(r.vintage, Some(v));
        assert_eq!(r.market_run, MarketRun::Da);
    }
    // Range is [start, end) on interval start.
    q.start = start + Duration::hours(3);
    q.end = start + Duration::hours(5);
    q.components = vec![Component::Lmp, Component::Congestion];
    let rows = all_rows(store.as_ref(), q.clone()).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].values.lmp, Some(33.0));
    assert_eq!(rows[0].values.congestion, Some(0.75));
    assert_eq!(rows[0].values.energy, None);
    // All runs: DA rows sort before RT rows.
    q.market_runs.clear();
    q.components.clear();
    let rows = all_rows(store.as_ref(), q).await;
    let runs: Vec<MarketRun> = rows.iter().map(|r| r.market_run).collect();
    assert_eq!(
        runs,
        [MarketRun::Da, MarketRun::Da, MarketRun::Rt, MarketRun::Rt]
    );
}

pub async fn reappend_is_idempotent(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let v = utc("2025-11-01T00:00:00Z");
    let batch = hourly_by_ordinal("CAISO.TH_SP15_GEN-APND", "2025-11-01", "2025-11-02", v);
    assert_eq!(batch.len(), 49);
    let first = store.append(batch.clone()).await.unwrap();
    assert_eq!(first.inserted, 49);
    let again = store.append(batch.clone()).await.unwrap();
    assert_eq!(
        (again.received, again.inserted, again.unchanged),
        (49, 0, 49)
    );
    // Exact duplicates inside one batch collapse.
    let mut doubled = batch.clone();
    doubled.extend(batch);
    let s = store.append(doubled).await.unwrap();
    assert_eq!((s.received, s.inserted, s.unchanged), (49, 0, 49));
    let stats = store.series_stats(StatsFilter::default()).await.unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!((stats[0].rows, stats[0].versions), (49, 49));
}

pub async fn failed_batch_changes_nothing(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let v = utc("2025-01-01T00:00:00Z");
    let base = utc("2025-01-02T05:00:00Z");
    let a: Vec<Observation> = (0..5)
        .map(|i| {
            obs(
                "MISO.INDIANA.HUB",
                MarketRun::Da,
                base + Duration::hours(i),
                60,
                lmp(20.0),
                v,
                i as u64,
            )
        })
        .collect();
    store.append(a).await.unwrap();
    let before = store.series_stats(StatsFilter::default()).await.unwrap();

    // Ten rows: rows 0-3 and 5-9 are new (hours 5..14 and another instrument),
    // row 4 restates hour 4 at the same vintage with another price.
    let mut b: Vec<Observation> = (5..14)
        .map(|i| {
            obs(
                "MISO.INDIANA.HUB",
                MarketRun::Da,
                base + Duration::hours(i),
                60,
                lmp(21.0),
                v,
                i as u64,
            )
        })
        .collect();
    b.insert(
        4,
        obs(
            "MISO.INDIANA.HUB",
            MarketRun::Da,
            base + Duration::hours(4),
            60,
            lmp(99.0),
            v,
            4,
        ),
    );
    b.push(obs(
        "MISO.ILLINOIS.HUB",
        MarketRun::Da,
        base,
        60,
        lmp(22.0),
        v,
        1,
    ));
    let err = store.append(b.clone()).await.unwrap_err();
    assert!(matches!(err, Error::VintageConflict { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("MISO.INDIANA.HUB") && msg.contains("2025-01-02T09:00:00Z"),
        "{msg}"
    );
    assert!(msg.contains("nothing from this batch was stored"), "{msg}");
    assert_eq!(
        store.series_stats(StatsFilter::default()).await.unwrap(),
        before
    );

    // An unknown instrument mid-batch.
    let mut c = b.clone();
    c.remove(4);
    c.insert(
        3,
        obs("MISO.NOT.A.NODE", MarketRun::Da, base, 60, lmp(1.0), v, 7),
    );
    let err = store.append(c).await.unwrap_err();
    assert!(matches!(err, Error::UnknownInstrument { .. }), "{err}");
    assert!(err.to_string().contains("batch row 3"), "{err}");

    // A non-finite value mid-batch names its row and source.
    let mut d = b.clone();
    d[6].values.lmp = Some(f64::INFINITY);
    let err = store.append(d).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRow { index: 6, .. }), "{err}");
    assert!(err.to_string().contains("conformance:"), "{err}");

    // Same key twice in one batch with different values.
    let mut e = b.clone();
    e.remove(4);
    let mut dup = e[0].clone();
    dup.values = lmp(0.5);
    e.push(dup);
    let err = store.append(e).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("repeats the interval and vintage of batch row 0"),
        "{err}"
    );

    assert_eq!(
        store.series_stats(StatsFilter::default()).await.unwrap(),
        before
    );
    let rows = all_rows(
        store.as_ref(),
        PriceQuery::new(
            vec![id("MISO.INDIANA.HUB"), id("MISO.ILLINOIS.HUB")],
            base,
            base + Duration::days(1),
        ),
    )
    .await;
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.values.lmp == Some(20.0)));
}

pub async fn vintages_and_as_of(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let start = utc("2025-06-01T05:00:00Z");
    let (t0, t1, t2) = (
        utc("2025-06-01T12:00:00Z"),
        utc("2025-06-02T12:00:00Z"),
        utc("2025-06-10T12:00:00Z"),
    );
    let one = |v: f64, vintage| {
        vec![obs(
            "MISO.INDIANA.HUB",
            MarketRun::Rt,
            start,
            60,
            lmp(v),
            vintage,
            1,
        )]
    };
    store.append(one(10.0, t1)).await.unwrap();
    let s = store.append(one(12.0, t2)).await.unwrap();
    assert_eq!((s.inserted, s.revisions), (1, 1));

    let q = |as_of: Option<DateTime<Utc>>| {
        let mut q = PriceQuery::new(
            vec![id("MISO.INDIANA.HUB")],
            start,
            start + Duration::hours(1),
        );
        q.as_of = as_of;
        q
    };
    let val = |rows: Vec<PriceRow>| {
        rows.iter()
            .map(|r| (r.values.lmp.unwrap(), r.vintage.unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(val(all_rows(store.as_ref(), q(None)).await), [(12.0, t2)]);
    assert_eq!(
        val(all_rows(store.as_ref(), q(Some(t1))).await),
        [(10.0, t1)]
    );
    assert_eq!(
        val(all_rows(store.as_ref(), q(Some(t2 - Duration::seconds(1)))).await),
        [(10.0, t1)]
    );
    assert_eq!(
        val(all_rows(store.as_ref(), q(Some(t2))).await),
        [(12.0, t2)]
    );
    assert!(all_rows(store.as_ref(), q(Some(t0))).await.is_empty());

    // An older vintage arriving late (backfill of a preliminary publication)
    // slots into history without displacing the latest.
    let s = store.append(one(8.0, t0)).await.unwrap();
    assert_eq!((s.inserted, s.revisions), (1, 1));
    assert_eq!(val(all_rows(store.as_ref(), q(None)).await), [(12.0, t2)]);
    assert_eq!(
        val(all_rows(store.as_ref(), q(Some(t0))).await),
        [(8.0, t0)]
    );
    assert_eq!(
        val(all_rows(store.as_ref(), q(Some(t1))).await),
        [(10.0, t1)]
    );
    let stats = store.series_stats(StatsFilter::default()).await.unwrap();
    assert_eq!(
        (stats[0].rows, stats[0].versions, stats[0].last_vintage),
        (1, 3, t2)
    );

    // As-of applies to resampled queries too.
    let mut r = q(Some(t1));
    r.resample = Some(Resample {
        freq: Frequency::Day,
        agg: Aggregation::Mean,
    });
    assert_eq!(all_rows(store.as_ref(), r).await[0].values.lmp, Some(10.0));
}

pub async fn resample_daily_on_25_hour_day(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let sp15 = "CAISO.TH_SP15_GEN-APND";
    // Values are the hour's ordinal in its market day: 1..24, 1..25 (fall-back), 1..24.
    store
        .append(hourly_by_ordinal(
            sp15,
            "2025-11-01",
            "2025-11-03",
            utc("2025-10-31T20:00:00Z"),
        ))
        .await
        .unwrap();
    let start = time::day_start(Market::Caiso, date("2025-11-01"));
    let end = time::day_start(Market::Caiso, date("2025-11-04"));
    let daily = |agg| {
        let mut q = PriceQuery::new(vec![id(sp15)], start, end);
        q.resample = Some(Resample {
            freq: Frequency::Day,
            agg,
        });
        q
    };
    let rows = all_rows(store.as_ref(), daily(Aggregation::Mean)).await;
    assert_eq!(rows.len(), 3);
    // 24-hour day: mean(1..24) = 12.5; 25-hour day: mean(1..25) = 13.
    let got: Vec<(f64, u32)> = rows
        .iter()
        .map(|r| (r.values.lmp.unwrap(), r.samples.unwrap()))
        .collect();
    assert_eq!(got, [(12.5, 24), (13.0, 25), (12.5, 24)]);
    assert_eq!(rows[1].interval_start, utc("2025-11-02T07:00:00Z"));
    assert_eq!(rows[1].interval_end, utc("2025-11-03T08:00:00Z"));
    assert_eq!(rows[1].vintage, None);
    for (agg, want) in [
        (Aggregation::Min, 1.0),
        (Aggregation::Max, 25.0),
        (Aggregation::First, 1.0),
        (Aggregation::Last, 25.0),
    ] {
        let rows = all_rows(store.as_ref(), daily(agg)).await;
        assert_eq!(rows[1].values.lmp, Some(want), "{agg}");
    }
}

pub async fn resample_sub_daily_and_monthly(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let hub = "MISO.ILLINOIS.HUB";
    let v = utc("2026-10-01T06:00:00Z");
    let t = utc("2026-10-01T05:00:00Z");
    // Two hours of 5-minute prices: 1, 2, …, 24.
    let five: Vec<Observation> = (0..24)
        .map(|i| {
            obs(
                hub,
                MarketRun::Rt5,
                t + Duration::minutes(5 * i),
                5,
                lmp((i + 1) as f64),
                v,
                i as u64,
            )
        })
        .collect();
    store.append(five).await.unwrap();
    let mut q = PriceQuery::new(vec![id(hub)], t, t + Duration::hours(2));
    q.resample = Some(Resample {
        freq: Frequency::Hour,
        agg: Aggregation::Mean,
    });
    let rows = all_rows(store.as_ref(), q.clone()).await;
    // mean(1..12) = 6.5, mean(13..24) = 18.5.
    let got: Vec<(f64, u32)> = rows
        .iter()
        .map(|r| (r.values.lmp.unwrap(), r.samples.unwrap()))
        .collect();
    assert_eq!(got, [(6.5, 12), (18.5, 12)]);
    assert_eq!(rows[0].interval_end, t + Duration::hours(1));
    q.resample = Some(Resample {
        freq: Frequency::Min15,
        agg: Aggregation::Last,
    });
    let rows = all_rows(store.as_ref(), q.clone()).await;
    assert_eq!(rows.len(), 8);
    assert_eq!(rows[0].values.lmp, Some(3.0));
    assert_eq!(rows[7].values.lmp, Some(24.0));
    assert_eq!(rows[7].interval_start, t + Duration::minutes(105));

    // Monthly buckets on the market clock: CAISO November 2025 has 721 hours and
    // starts at 07:00Z (PDT); data for 3 days gives 24+25+24 samples.
    let sp15 = "CAISO.TH_SP15_GEN-APND";
    store
        .append(hourly_by_ordinal(
            sp15,
            "2025-11-01",
            "2025-11-03",
            utc("2025-10-31T20:00:00Z"),
        ))
        .await
        .unwrap();
    let mut m = PriceQuery::new(
        vec![id(sp15)],
        utc("2025-10-01T00:00:00Z"),
        utc("2026-01-01T00:00:00Z"),
    );
    m.resample = Some(Resample {
        freq: Frequency::Month,
        agg: Aggregation::Max,
    });
    let rows = all_rows(store.as_ref(), m).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].interval_start, utc("2025-11-01T07:00:00Z"));
    assert_eq!(rows[0].interval_end, utc("2025-12-01T08:00:00Z"));
    assert_eq!(
        (rows[0].samples, rows[0].values.lmp),
        (Some(73), Some(25.0))
    );
}

pub async fn power_block_filters(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let sp15 = "CAISO.TH_SP15_GEN-APND";
    store
        .append(hourly_by_ordinal(
            sp15,
            "2025-11-01",
            "2025-11-03",
            utc("2025-10-31T20:00:00Z"),
        ))
        .await
        .unwrap();
    let day = |d: &str, block, resample: bool| {
        let mut q = PriceQuery::new(
            vec![id(sp15)],
            time::day_start(Market::Caiso, date(d)),
            time::day_start(Market::Caiso, date(d).succ_opt().unwrap()),
        );
        q.block = block;
        if resample {
            q.resample = Some(Resample {
                freq: Frequency::Day,
                agg: Aggregation::Mean,
            });
        }
        q
    };
    // Monday 2025-11-03 (24 h): on-peak HE7–22 = ordinals 7..22, mean 14.5.
    let rows = all_rows(store.as_ref(), day("2025-11-03", Block::OnPeak, true)).await;
    assert_eq!(
        (rows[0].values.lmp, rows[0].samples),
        (Some(14.5), Some(16))
    );
    let raw = all_rows(store.as_ref(), day("2025-11-03", Block::OnPeak, false)).await;
    assert_eq!(raw.len(), 16);
    assert_eq!(raw[0].interval_start, utc("2025-11-03T14:00:00Z"));
    // Sunday 2025-11-02 (25 h) is not a CAISO peak day.
    assert!(
        all_rows(store.as_ref(), day("2025-11-02", Block::OnPeak, true))
            .await
            .is_empty()
    );
    // Its 2x16 hours are HE7–22, ordinals 8..23 after the repeated HE2: mean 15.5.
    let rows = all_rows(store.as_ref(), day("2025-11-02", Block::TwoBySixteen, true)).await;
    assert_eq!(
        (rows[0].values.lmp, rows[0].samples),
        (Some(15.5), Some(16))
    );
    // 7x8 that day has 9 hours: ordinals 1..7, 24, 25 → (28 + 49) / 9.
    let rows = all_rows(store.as_ref(), day("2025-11-02", Block::SevenByEight, true)).await;
    assert_eq!(rows[0].samples, Some(9));
    assert!(close(rows[0].values.lmp.unwrap(), 77.0 / 9.0));
    // Off-peak = everything but on-peak: all 25 hours on Sunday, 8 on Monday.
    let rows = all_rows(store.as_ref(), day("2025-11-02", Block::OffPeak, true)).await;
    assert_eq!(
        (rows[0].values.lmp, rows[0].samples),
        (Some(13.0), Some(25))
    );
    assert_eq!(
        all_rows(store.as_ref(), day("2025-11-03", Block::OffPeak, false))
            .await
            .len(),
        8
    );
    // Saturday is a CAISO (WECC 6x16) peak day: 2025-11-01 on-peak = 16 hours.
    assert_eq!(
        all_rows(store.as_ref(), day("2025-11-01", Block::OnPeak, false))
            .await
            .len(),
        16
    );

    // MISO (EST, 5x16): Saturday 2026-07-18 is not a peak day; Tuesday 2026-07-14 HE7
    // starts 11:00Z.
    let hub = "MISO.INDIANA.HUB";
    store
        .append(hourly_by_ordinal(
            hub,
            "2026-07-14",
            "2026-07-18",
            utc("2026-07-13T20:00:00Z"),
        ))
        .await
        .unwrap();
    let mut q = PriceQuery::new(
        vec![id(hub)],
        utc("2026-07-14T05:00:00Z"),
        utc("2026-07-19T05:00:00Z"),
    );
    q.block = Block::OnPeak;
    let rows = all_rows(store.as_ref(), q).await;
    assert_eq!(rows.len(), 4 * 16);
    assert_eq!(rows[0].interval_start, utc("2026-07-14T11:00:00Z"));
    assert_eq!(
        rows.last().unwrap().interval_end,
        utc("2026-07-18T03:00:00Z")
    );
}

pub async fn cursor_pagination(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let v = utc("2026-01-01T00:00:00Z");
    let ids = ["MISO.INDIANA.HUB", "MISO.ILLINOIS.HUB", "MISO.CIN.PSI"];
    for i in ids {
        store
            .append(hourly_by_ordinal(i, "2026-01-05", "2026-01-05", v))
            .await
            .unwrap();
    }
    let base = PriceQuery::new(
        ids.iter().map(|i| id(i)).collect(),
        utc("2026-01-05T05:00:00Z"),
        utc("2026-01-06T05:00:00Z"),
    );
    let full = all_rows(store.as_ref(), base.clone()).await;
    assert_eq!(full.len(), 72);
    assert_eq!(full[0].instrument_id.as_str(), "MISO.CIN.PSI");
    for (limit, resample) in [
        (10, None),
        (7, None),
        (1, Some(Frequency::Hour)),
        (2, Some(Frequency::Day)),
    ] {
        let mut q = base.clone();
        q.limit = Some(limit);
        q.resample = resample.map(|freq| Resample {
            freq,
            agg: Aggregation::Mean,
        });
        let mut expected_q = q.clone();
        expected_q.limit = None;
        let expected = all_rows(store.as_ref(), expected_q).await;
        let mut got = Vec::new();
        let mut pages = 0;
        loop {
            let page = store.query_prices(q.clone()).await.unwrap();
            assert!(page.rows.len() <= limit);
            pages += 1;
            got.extend(page.rows);
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(got, expected, "limit {limit}");
        assert_eq!(pages, expected.len().div_ceil(limit), "limit {limit}");
    }
}

pub async fn bad_queries_are_typed_errors(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let t = utc("2026-01-05T05:00:00Z");
    let q = PriceQuery::new(vec![id("MISO.INDIANA.HUB")], t, t + Duration::days(1));

    let mut bad = q.clone();
    bad.instruments.push(id("MISO.NOWHERE"));
    let e = store.query_prices(bad).await.unwrap_err();
    assert!(
        matches!(&e, Error::UnknownInstrument { id, .. } if id == "MISO.NOWHERE"),
        "{e}"
    );
    assert!(e.is_user_error());

    let mut bad = q.clone();
    bad.end = bad.start;
    let e = store.query_prices(bad).await.unwrap_err();
    assert!(
        matches!(e, Error::InvalidParameter { param: "start", .. }),
        "{e}"
    );

    let mut bad = q.clone();
    bad.limit = Some(0);
    assert!(matches!(
        store.query_prices(bad).await.unwrap_err(),
        Error::InvalidParameter { param: "limit", .. }
    ));

    let mut bad = q.clone();
    bad.cursor = Some("not-a-cursor".into());
    assert!(matches!(
        store.query_prices(bad).await.unwrap_err(),
        Error::InvalidParameter {
            param: "cursor",
            ..
        }
    ));

    let mut bad = q;
    bad.instruments.clear();
    assert!(matches!(
        store.query_prices(bad).await.unwrap_err(),
        Error::InvalidParameter {
            param: "instrument",
            ..
        }
    ));

    // An empty store answers an empty page, not an error.
    let q = PriceQuery::new(vec![id("CAISO.TH_NP15_GEN-APND")], t, t + Duration::days(1));
    assert!(store.query_prices(q).await.unwrap().rows.is_empty());
}

pub async fn series_stats(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let before = Utc::now() - Duration::seconds(5);
    store
        .append(hourly_by_ordinal(
            "CAISO.TH_SP15_GEN-APND",
            "2025-03-09",
            "2025-03-10",
            utc("2025-03-08T20:00:00Z"),
        ))
        .await
        .unwrap();
    store
        .append(hourly_by_ordinal(
            "MISO.INDIANA.HUB",
            "2025-03-09",
            "2025-03-09",
            utc("2025-03-08T21:00:00Z"),
        ))
        .await
        .unwrap();
    let all = store.series_stats(StatsFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    let caiso = &all[0];
    assert_eq!(caiso.instrument_id.as_str(), "CAISO.TH_SP15_GEN-APND");
    // 23-hour spring-forward day + 24-hour day.
    assert_eq!((caiso.rows, caiso.versions), (47, 47));
    assert_eq!(caiso.first_interval_start, utc("2025-03-09T08:00:00Z"));
    assert_eq!(caiso.last_interval_end, utc("2025-03-11T07:00:00Z"));
    assert_eq!(caiso.last_vintage, utc("2025-03-08T20:00:00Z"));
    assert!(
        caiso.last_ingested >= before && caiso.last_ingested <= Utc::now() + Duration::seconds(5)
    );
    let miso = store
        .series_stats(StatsFilter {
            market: Some(Market::Miso),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(miso.len(), 1);
    assert_eq!(miso[0].rows, 24);
    let one = store
        .series_stats(StatsFilter {
            instruments: vec![id("CAISO.TH_SP15_GEN-APND")],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(one, vec![caiso.clone()]);
}

pub async fn data_survives_reopen(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let batch = hourly_by_ordinal(
        "CAISO.TH_NP15_GEN-APND",
        "2025-11-02",
        "2025-11-02",
        utc("2025-11-01T20:00:00Z"),
    );
    store.append(batch.clone()).await.unwrap();
    let q = PriceQuery::new(
        vec![id("CAISO.TH_NP15_GEN-APND")],
        utc("2025-11-02T00:00:00Z"),
        utc("2025-11-04T00:00:00Z"),
    );
    let before = all_rows(store.as_ref(), q.clone()).await;
    assert_eq!(before.len(), 25);
    let store = h.reopen(store).await;
    assert_eq!(all_rows(store.as_ref(), q).await, before);
    assert_eq!(
        store
            .instrument(&id("CAISO.TH_NP15_GEN-APND"))
            .await
            .unwrap()
            .map(|i| i.kind),
        Some(LocationKind::Hub)
    );
    // Still idempotent after reopening.
    let s = store.append(batch).await.unwrap();
    assert_eq!((s.inserted, s.unchanged), (0, 25));
}

pub async fn redundant_vintage_is_not_a_revision(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let start = utc("2025-06-01T05:00:00Z");
    let (t1, t2, t3) = (
        utc("2025-06-01T12:00:00Z"),
        utc("2025-06-01T12:05:00Z"),
        utc("2025-06-02T12:00:00Z"),
    );
    let one = |v: f64, vintage| {
        vec![obs(
            "MISO.INDIANA.HUB",
            MarketRun::Rt,
            start,
            60,
            lmp(v),
            vintage,
            1,
        )]
    };
    store.append(one(10.0, t1)).await.unwrap();
    // Same values re-published (or re-polled) later: nothing new.
    let s = store.append(one(10.0, t2)).await.unwrap();
    assert_eq!((s.inserted, s.unchanged, s.revisions), (0, 1, 0));
    // A real correction is a revision.
    let s = store.append(one(11.0, t3)).await.unwrap();
    assert_eq!((s.inserted, s.revisions), (1, 1));
    let stats = store.series_stats(StatsFilter::default()).await.unwrap();
    assert_eq!((stats[0].rows, stats[0].versions), (1, 2));
    let mut q = PriceQuery::new(
        vec![id("MISO.INDIANA.HUB")],
        start,
        start + Duration::hours(1),
    );
    q.as_of = Some(t2);
    let rows = all_rows(store.as_ref(), q).await;
    assert_eq!(
        (rows[0].values.lmp, rows[0].vintage),
        (Some(10.0), Some(t1))
    );
}

pub async fn run_log_runs_quarantine_checkpoints(h: &dyn Harness) {
    let log = h.open_run_log().await;
    let run = |id: &str, connector: &str, started: &str, status| IngestRun {
        id: id.to_string(),
        connector: connector.to_string(),
        source: format!("/data/{id}.csv"),
        window_start: Some(utc("2026-07-14T05:00:00Z")),
        window_end: None,
        started: utc(started),
        finished: None,
        status,
        rows_accepted: 0,
        rows_unchanged: 0,
        rows_rejected: 0,
        error: None,
        quality: None,
    };
    log.save_run(run(
        "r1",
        "miso",
        "2026-07-14T10:00:00Z",
        RunStatus::Running,
    ))
    .await
    .unwrap();
    log.save_run(run(
        "r2",
        "caiso",
        "2026-07-14T11:00:00Z",
        RunStatus::Unreachable,
    ))
    .await
    .unwrap();
    // Finishing a run replaces it.
    let mut done = run("r1", "miso", "2026-07-14T10:00:00Z", RunStatus::Partial);
    done.finished = Some(utc("2026-07-14T10:00:03Z"));
    done.rows_accepted = 70;
    done.rows_rejected = 2;
    done.quality = Some(serde_json::json!({"expected_intervals": 24, "missing_nodes": ["X"]}));
    log.save_run(done.clone()).await.unwrap();
    let runs = log.runs(RunFilter::default()).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].id, "r2");
    assert_eq!(runs[1], done);
    let miso = log
        .runs(RunFilter {
            connector: Some("miso".into()),
            limit: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(miso, vec![done.clone()]);
    let by_id = log
        .runs(RunFilter {
            id: Some(done.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_id, vec![done]);

    let q = QuarantinedRow {
        run_id: "r1".into(),
        source: "/data/r1.csv".into(),
        source_row: Some(7),
        instrument_id: Some("MISO.INDIANA.HUB".into()),
        market_run: Some("da".into()),
        interval_start: Some(utc("2026-07-14T05:00:00Z")),
        reason: "lmp 25000 outside the sanity range -2000..20000".into(),
        detail: Some(serde_json::json!({"lmp": 25000.0})),
    };
    log.quarantine(vec![q.clone()]).await.unwrap();
    assert_eq!(
        log.quarantined(Some("r1".into()), 10).await.unwrap(),
        vec![q.clone()]
    );
    assert!(
        log.quarantined(Some("r2".into()), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(log.quarantined(None, 10).await.unwrap().len(), 1);

    assert_eq!(log.checkpoint("miso.da").await.unwrap(), None);
    log.set_checkpoint("miso.da", serde_json::json!({"through": "2026-07-14"}))
        .await
        .unwrap();
    log.set_checkpoint("miso.da", serde_json::json!({"through": "2026-07-15"}))
        .await
        .unwrap();
    assert_eq!(
        log.checkpoint("miso.da").await.unwrap(),
        Some(serde_json::json!({"through": "2026-07-15"}))
    );
}

/// Compaction changes no query answer (latest, as-of, resampled), keeps every
/// version, is a no-op when nothing changed, and appends after it still revise.
pub async fn compaction_keeps_content(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let (v1, v2) = (utc("2025-01-01T00:00:00Z"), utc("2025-02-15T00:00:00Z"));
    // Two months of three series, time-major like real ingestion, then a
    // revision of a few late-January intervals.
    for inst in [
        "MISO.INDIANA.HUB",
        "MISO.ILLINOIS.HUB",
        "CAISO.TH_SP15_GEN-APND",
    ] {
        store
            .append(hourly_by_ordinal(inst, "2025-01-20", "2025-02-10", v1))
            .await
            .unwrap();
    }
    let mut revised = hourly_by_ordinal("MISO.ILLINOIS.HUB", "2025-01-31", "2025-01-31", v2);
    for o in &mut revised {
        o.values.lmp = o.values.lmp.map(|v| v + 100.0);
    }
    store.append(revised).await.unwrap();

    let ids = vec![
        id("MISO.INDIANA.HUB"),
        id("MISO.ILLINOIS.HUB"),
        id("CAISO.TH_SP15_GEN-APND"),
    ];
    let (start, end) = (utc("2025-01-15T00:00:00Z"), utc("2025-02-20T00:00:00Z"));
    let queries = {
        let latest = PriceQuery::new(ids.clone(), start, end);
        let mut as_of = latest.clone();
        as_of.as_of = Some(v1);
        let mut daily = latest.clone();
        daily.resample = Some(Resample {
            freq: Frequency::Day,
            agg: Aggregation::Max,
        });
        vec![latest, as_of, daily]
    };
    let mut before = Vec::new();
    for q in &queries {
        before.push(all_rows(store.as_ref(), q.clone()).await);
    }
    let stats_before = store.series_stats(StatsFilter::default()).await.unwrap();
    assert!(before[0].len() > 1000);
    assert_ne!(before[0], before[1], "the revision must be visible");

    let first = store.compact().await.unwrap();
    for (q, b) in queries.iter().zip(&before) {
        assert_eq!(&all_rows(store.as_ref(), q.clone()).await, b);
    }
    assert_eq!(
        store.series_stats(StatsFilter::default()).await.unwrap(),
        stats_before
    );
    if first.partitions > 0 {
        // A backend that compacts reports the versions it moved: all of them.
        let versions: u64 = stats_before.iter().map(|s| s.versions).sum();
        assert_eq!(first.rows, versions);
        assert_eq!(
            store.compact().await.unwrap(),
            crate::CompactSummary::default()
        );
    }

    // Appends after compaction still idempotent and still revise.
    let again = hourly_by_ordinal("MISO.INDIANA.HUB", "2025-02-01", "2025-02-01", v1);
    assert_eq!(store.append(again).await.unwrap().inserted, 0);
    let mut late = hourly_by_ordinal("MISO.INDIANA.HUB", "2025-02-01", "2025-02-01", v2);
    for o in &mut late {
        o.values.lmp = Some(-1.0);
    }
    let s = store.append(late).await.unwrap();
    assert_eq!((s.inserted, s.revisions), (24, 24));
    let rows = all_rows(store.as_ref(), queries[0].clone()).await;
    assert_eq!(
        rows.iter().filter(|r| r.values.lmp == Some(-1.0)).count(),
        24
    );
    store.compact().await.unwrap();
    assert_eq!(all_rows(store.as_ref(), queries[0].clone()).await, rows);
    let mut as_of = queries[0].clone();
    as_of.as_of = Some(v1);
    assert_eq!(all_rows(store.as_ref(), as_of).await, before[1]);
}

pub async fn directory_records_and_audit_chain(h: &dyn Harness) {
    use crate::{ApiKey, Grant, NewAuditEvent, SigningKey, Tenant, User, verify_chain};
    let d = h.open_directory().await;
    let now = utc("2026-11-27T12:00:00Z");
    // Tenants: created once; a second create of the same id is a user error.
    d.create_tenant(Tenant {
        id: "t1".into(),
        name: "One".into(),
        created: now,
        ip_allow: None,
    })
    .await
    .unwrap();
    let dup = d
        .create_tenant(Tenant {
            id: "t1".into(),
            name: "Again".into(),
            created: now,
            ip_allow: None,
        })
        .await
        .unwrap_err();
    assert!(dup.is_user_error(), "{dup}");
    assert_eq!(d.tenants().await.unwrap().len(), 1);
    // IP allowlists are set, read back as written, and cleared.
    let nets = vec!["10.0.0.0/8".to_string(), "2001:db8::/32".to_string()];
    assert!(
        d.set_tenant_ip_allow("t1", Some(nets.clone()))
            .await
            .unwrap()
    );
    assert!(!d.set_tenant_ip_allow("ghost", None).await.unwrap());
    assert_eq!(d.tenants().await.unwrap()[0].ip_allow, Some(nets.clone()));
    assert!(d.set_tenant_ip_allow("t1", None).await.unwrap());
    assert_eq!(d.tenants().await.unwrap()[0].ip_allow, None);
    // Users need their tenant; put replaces.
    let user = |name: &str, tenant: &str| User {
        username: name.into(),
        tenant: tenant.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        roles: vec!["admin".into()],
        disabled: false,
        created: now,
    };
    assert!(
        d.put_user(user("u", "nope"))
            .await
            .unwrap_err()
            .is_user_error()
    );
    d.put_user(user("u", "t1")).await.unwrap();
    let mut u = user("u", "t1");
    u.disabled = true;
    d.put_user(u.clone()).await.unwrap();
    assert_eq!(d.user("u").await.unwrap(), Some(u));
    assert_eq!(d.users(Some("t1".into())).await.unwrap().len(), 1);
    assert!(d.user("ghost").await.unwrap().is_none());
    // Keys: stored with their hash, revoked once.
    let key = ApiKey {
        id: "0123456789ab".into(),
        tenant: "t1".into(),
        owner: Some("u".into()),
        name: "ci".into(),
        secret_hash: "ff".repeat(32),
        created: now,
        revoked: None,
        expires: Some(now + Duration::days(90)),
        last_used: None,
        ip_allow: Some(vec!["192.0.2.0/24".into()]),
    };
    d.create_api_key(key.clone()).await.unwrap();
    assert_eq!(d.api_key("0123456789ab").await.unwrap(), Some(key.clone()));
    // Expiry moves (a rotation's grace period), last use is recorded.
    let soon = now + Duration::days(7);
    assert!(
        d.set_api_key_expiry("0123456789ab", Some(soon))
            .await
            .unwrap()
    );
    assert!(!d.set_api_key_expiry("ghost", None).await.unwrap());
    d.touch_api_key("0123456789ab", now + Duration::minutes(5))
        .await
        .unwrap();
    let k = d.api_key("0123456789ab").await.unwrap().unwrap();
    assert_eq!(
        (k.expires, k.last_used),
        (Some(soon), Some(now + Duration::minutes(5)))
    );
    assert_eq!(k.ip_allow, key.ip_allow);
    assert!(d.revoke_api_key("0123456789ab", now).await.unwrap());
    assert!(!d.revoke_api_key("0123456789ab", now).await.unwrap());
    assert_eq!(
        d.api_key("0123456789ab").await.unwrap().unwrap().revoked,
        Some(now)
    );
    // Grants round-trip every field, including lists and dates.
    let g = Grant {
        id: "g1".into(),
        tenant: "t1".into(),
        market: "CAISO".into(),
        product: "lmp".into(),
        channels: vec!["hub".into(), "downloads".into()],
        instruments: Some(vec!["CAISO.TH_SP15_GEN-APND".into()]),
        start: Some(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
        end: Some(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()),
        created: now,
    };
    d.add_grant(g.clone()).await.unwrap();
    assert_eq!(d.grants(Some("t1".into())).await.unwrap(), vec![g]);
    assert!(d.remove_grant("g1").await.unwrap());
    assert!(!d.remove_grant("g1").await.unwrap());
    // Signing keys: newest first.
    for (kid, t) in [("k1", now), ("k2", now + Duration::hours(1))] {
        d.add_signing_key(SigningKey {
            kid: kid.into(),
            alg: "ES256".into(),
            private_pem: "pem".into(),
            public_jwk: serde_json::json!({ "kid": kid }),
            created: t,
            retired: None,
        })
        .await
        .unwrap();
    }
    assert_eq!(d.signing_keys().await.unwrap()[0].kid, "k2");
    // Retirement only ever moves earlier (a rotated key withdrawn after a
    // leak), never later.
    let later = now + Duration::hours(2);
    assert!(d.retire_signing_key("k1", later).await.unwrap());
    assert!(
        !d.retire_signing_key("k1", later + Duration::hours(1))
            .await
            .unwrap()
    );
    assert!(!d.retire_signing_key("nope", now).await.unwrap());
    let keys = d.signing_keys().await.unwrap();
    assert_eq!(
        keys.iter()
            .map(|k| (k.kid.as_str(), k.retired))
            .collect::<Vec<_>>(),
        vec![("k2", None), ("k1", Some(later))]
    );
    assert!(d.retire_signing_key("k1", now).await.unwrap());
    assert!(!d.retire_signing_key("k1", now).await.unwrap());
    assert_eq!(d.signing_keys().await.unwrap()[1].retired, Some(now));
    // Audit: a gap-free chain whose head is the last event, verifiable.
    assert_eq!(d.audit_head().await.unwrap(), None);
    for i in 0..5 {
        let e = d
            .audit(NewAuditEvent {
                actor: "cli".into(),
                tenant: Some("t1".into()),
                action: "grant_added".into(),
                target: Some(format!("g{i}")),
                outcome: "ok".into(),
                detail: serde_json::json!({ "i": i, "x": 1.5 }),
            })
            .await
            .unwrap();
        assert_eq!(e.seq, i + 1);
    }
    let all = d.audit_events(0, 100).await.unwrap();
    assert_eq!(all.len(), 5);
    let head = d.audit_head().await.unwrap();
    assert_eq!(head, Some((5, all[4].hash.clone())));
    assert!(verify_chain(&all, head.clone()).intact());
    assert_eq!(d.audit_events(3, 100).await.unwrap().len(), 2);
    // Verification itself catches edits, deletions and truncation.
    let mut edited = all.clone();
    edited[2].event.outcome = "denied".into();
    assert!(!verify_chain(&edited, head.clone()).intact());
    let mut deleted = all.clone();
    deleted.remove(1);
    assert!(!verify_chain(&deleted, head.clone()).intact());
    assert!(!verify_chain(&all[..4], head).intact());
}

/// Curve runs and points: a save round-trips exactly, points come back in
/// delivery order, a second save of a run id fails and changes nothing, a
/// point with a non-finite price stores nothing, and the filters work.
pub async fn curve_runs_and_points(h: &dyn Harness) {
    use crate::{CurvePoint, CurveRun, CurveRunFilter};
    let c = h.open_curves().await;
    let run = |id: &str, curve: &str, as_of: &str, status: &str, at: &str| CurveRun {
        run_id: id.into(),
        curve_id: curve.into(),
        scenario_id: "BASE".into(),
        as_of_date: date(as_of),
        market: "MISO".into(),
        granularity: "monthly".into(),
        input_hash: "ab".repeat(32),
        status: status.into(),
        error: (status == "failed").then(|| "strict policy: arbitrage".to_string()),
        created_by: "conformance".into(),
        started: utc(at),
        finished: utc(at) + chrono::Duration::milliseconds(12),
        points: 0,
        request: serde_json::json!({ "contracts": [{ "name": "Jan27", "price": 50.5 }] }),
        report: serde_json::json!({ "objective": 0.25, "solver": { "status": "optimal" } }),
    };
    let point = |start: &str, end: &str, tenor: &str, price: f64| CurvePoint {
        delivery_start: utc(start),
        delivery_end: utc(end),
        tenor: tenor.into(),
        price,
    };
    // Given out of order; read back in delivery order.
    let points = vec![
        point(
            "2027-02-01T06:00:00Z",
            "2027-03-01T06:00:00Z",
            "2027-02",
            48.25,
        ),
        point(
            "2027-01-01T06:00:00Z",
            "2027-02-01T06:00:00Z",
            "2027-01",
            50.5,
        ),
    ];
    let r1 = run(
        "cr_1",
        "MISO_FWD",
        "2026-11-27",
        "succeeded",
        "2026-11-27T12:00:00Z",
    );
    c.save_curve(r1.clone(), points.clone()).await.unwrap();
    let back = c.curve_run("cr_1").await.unwrap().expect("saved run");
    assert_eq!(
        back,
        CurveRun {
            points: 2,
            ..r1.clone()
        }
    );
    let pts = c.curve_points("cr_1").await.unwrap();
    assert_eq!(pts, vec![points[1].clone(), points[0].clone()]);
    // A second save of the same id fails and leaves the first intact.
    let again = c
        .save_curve(
            r1.clone(),
            vec![point(
                "2027-03-01T06:00:00Z",
                "2027-04-01T05:00:00Z",
                "2027-03",
                1.0,
            )],
        )
        .await
        .unwrap_err();
    assert!(again.to_string().contains("cr_1"), "{again}");
    assert_eq!(c.curve_points("cr_1").await.unwrap().len(), 2);
    // A non-finite price stores nothing, not even the run.
    let bad = c
        .save_curve(
            run(
                "cr_bad",
                "MISO_FWD",
                "2026-11-27",
                "succeeded",
                "2026-11-27T12:30:00Z",
            ),
            vec![point(
                "2027-01-01T06:00:00Z",
                "2027-02-01T06:00:00Z",
                "2027-01",
                f64::NAN,
            )],
        )
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("2027-01"), "{bad}");
    assert!(c.curve_run("cr_bad").await.unwrap().is_none());
    assert!(c.curve_points("cr_bad").await.unwrap().is_empty());
    // A failed run is kept without points; filters and order.
    c.save_curve(
        run(
            "cr_2",
            "MISO_FWD",
            "2026-11-28",
            "failed",
            "2026-11-28T12:00:00Z",
        ),
        vec![],
    )
    .await
    .unwrap();
    c.save_curve(
        CurveRun {
            market: "CAISO".into(),
            ..run(
                "cr_3",
                "SP15_FWD",
                "2026-11-28",
                "succeeded",
                "2026-11-28T13:00:00Z",
            )
        },
        vec![point(
            "2027-01-01T08:00:00Z",
            "2027-02-01T08:00:00Z",
            "2027-01",
            70.0,
        )],
    )
    .await
    .unwrap();
    let ids = |v: Vec<CurveRun>| v.into_iter().map(|r| r.run_id).collect::<Vec<_>>();
    assert_eq!(
        ids(c.curve_runs(CurveRunFilter::default()).await.unwrap()),
        ["cr_3", "cr_2", "cr_1"]
    );
    let f = |curve: Option<&str>,
             as_of: Option<&str>,
             status: Option<&str>,
             markets: Option<Vec<&str>>| CurveRunFilter {
        curve_id: curve.map(String::from),
        as_of_date: as_of.map(date),
        status: status.map(String::from),
        markets: markets.map(|m| m.into_iter().map(String::from).collect()),
        ..Default::default()
    };
    assert_eq!(
        ids(c
            .curve_runs(f(Some("MISO_FWD"), None, None, None))
            .await
            .unwrap()),
        ["cr_2", "cr_1"]
    );
    assert_eq!(
        ids(c
            .curve_runs(f(Some("MISO_FWD"), Some("2026-11-27"), None, None))
            .await
            .unwrap()),
        ["cr_1"]
    );
    assert_eq!(
        ids(c
            .curve_runs(f(None, None, Some("succeeded"), None))
            .await
            .unwrap()),
        ["cr_3", "cr_1"]
    );
    assert_eq!(
        ids(c
            .curve_runs(f(None, None, None, Some(vec!["CAISO"])))
            .await
            .unwrap()),
        ["cr_3"]
    );
    assert!(
        c.curve_runs(f(None, None, None, Some(vec![])))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        c.curve_runs(CurveRunFilter {
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap()
        .len(),
        1
    );
    assert_eq!(
        c.curve_run("cr_2").await.unwrap().unwrap().error.as_deref(),
        Some("strict policy: arbitrage")
    );
    // A rebuild of an older trade date, made last, lists after the newer dates.
    c.save_curve(
        run(
            "cr_4",
            "OLD_FWD",
            "2026-11-26",
            "failed",
            "2026-11-29T09:00:00Z",
        ),
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(
        ids(c.curve_runs(CurveRunFilter::default()).await.unwrap()),
        ["cr_3", "cr_2", "cr_1", "cr_4"]
    );
}

/// Fundamentals: atomic batches, revisions by vintage, as-of reads, a
/// repeated value is not a revision, re-loading changes nothing.
pub async fn fundamentals_vintages_revisions_and_as_of(h: &dyn Harness) {
    use crate::{FundamentalPoint, FundamentalQuery};
    let f = h.open_fundamentals().await;
    let point = |day: u32, value: f64, vintage: &str| FundamentalPoint {
        entity: "East Region".into(),
        variable: "storage".into(),
        interval_start: utc(&format!("2024-01-{day:02}T00:00:00Z")),
        interval_end: utc(&format!("2024-01-{day:02}T00:00:00Z")) + chrono::Duration::days(7),
        value,
        unit: "Bcf".into(),
        source: "conformance".into(),
        vintage: utc(vintage),
        scenario_id: "BASE".into(),
    };
    let first = vec![
        point(5, 700.0, "2024-01-11T15:30:00Z"),
        point(12, 650.0, "2024-01-18T15:30:00Z"),
    ];
    let a = f.append_fundamentals(first.clone()).await.unwrap();
    assert_eq!((a.stored, a.unchanged), (2, 0));
    // Re-loading the same values with a later vintage stores nothing.
    let again: Vec<_> = first
        .iter()
        .map(|p| FundamentalPoint {
            vintage: utc("2024-02-01T00:00:00Z"),
            ..p.clone()
        })
        .collect();
    let a = f.append_fundamentals(again).await.unwrap();
    assert_eq!((a.stored, a.unchanged), (0, 2));
    // A revision of the 12th published a week later.
    f.append_fundamentals(vec![point(12, 655.0, "2024-01-25T15:30:00Z")])
        .await
        .unwrap();
    let q = |as_of: Option<&str>| FundamentalQuery {
        entity: "East Region".into(),
        variable: "storage".into(),
        as_of: as_of.map(utc),
        ..Default::default()
    };
    let latest: Vec<f64> = f
        .fundamentals(q(None))
        .await
        .unwrap()
        .iter()
        .map(|p| p.value)
        .collect();
    assert_eq!(latest, vec![700.0, 655.0]);
    let before: Vec<f64> = f
        .fundamentals(q(Some("2024-01-20T00:00:00Z")))
        .await
        .unwrap()
        .iter()
        .map(|p| p.value)
        .collect();
    assert_eq!(before, vec![700.0, 650.0]);
    let early = f
        .fundamentals(q(Some("2024-01-12T00:00:00Z")))
        .await
        .unwrap();
    assert_eq!(early.len(), 1, "the 12th was not published yet");
    // A bad point fails the whole batch, named.
    let e = f
        .append_fundamentals(vec![
            point(19, 600.0, "2024-01-25T15:30:00Z"),
            point(26, f64::NAN, "2024-02-01T15:30:00Z"),
        ])
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("East Region") && e.contains("2024-01-26"), "{e}");
    assert_eq!(f.fundamentals(q(None)).await.unwrap().len(), 2);
    let series = f.fundamental_series().await.unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!((series[0].intervals, series[0].unit.as_str()), (2, "Bcf"));
}

/// Research runs round-trip (a second save of an id is refused) and list
/// newest first without their outputs.
pub async fn research_runs_round_trip_and_list_newest_first(h: &dyn Harness) {
    use crate::{ResearchFilter, ResearchRun};
    let r = h.open_research().await;
    let run = |id: &str, at: &str| ResearchRun {
        run_id: id.into(),
        kind: "stl".into(),
        subject: "storage:East Region".into(),
        model_version: "test/1".into(),
        status: "succeeded".into(),
        error: None,
        created_by: "conformance".into(),
        started: utc(at),
        finished: utc(at),
        params: serde_json::json!({"period": 52}),
        output: serde_json::json!({"trend": [1.0, 2.0]}),
    };
    r.save_research_run(run("r1", "2024-03-01T00:00:00Z"))
        .await
        .unwrap();
    r.save_research_run(run("r2", "2024-03-02T00:00:00Z"))
        .await
        .unwrap();
    assert!(
        r.save_research_run(run("r1", "2024-03-03T00:00:00Z"))
            .await
            .is_err()
    );
    let got = r.research_run("r1").await.unwrap().unwrap();
    assert_eq!(got, run("r1", "2024-03-01T00:00:00Z"));
    let list = r
        .research_runs(ResearchFilter {
            kind: Some("stl".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        list.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
        vec!["r2", "r1"]
    );
    // Listings leave the (possibly large) outputs unread.
    assert!(
        list.iter()
            .all(|r| r.output.is_null() && r.params["period"] == 52)
    );
}

/// A backend may answer repeated queries from memory (DuckDB does), but never
/// with a stale answer: each query issued after an append returns sees it —
/// new intervals, new vintages, other instruments untouched — also while
/// other tasks keep asking the same question during the writes.
pub async fn repeated_queries_follow_writes(h: &dyn Harness) {
    let store = h.open().await;
    seed_instruments(store.as_ref()).await;
    let start = utc("2025-07-01T05:00:00Z");
    let q = |inst: &str, as_of: Option<DateTime<Utc>>| {
        let mut q = PriceQuery::new(vec![id(inst)], start, start + Duration::days(1));
        q.as_of = as_of;
        q
    };
    let lmps = |rows: Vec<PriceRow>| {
        rows.iter()
            .map(|r| r.values.lmp.unwrap())
            .collect::<Vec<_>>()
    };
    let vintage = |k: i64| utc("2025-07-02T00:00:00Z") + Duration::minutes(k);
    let hour = |h: i64, v: f64, k: i64| {
        obs(
            "MISO.INDIANA.HUB",
            MarketRun::Da,
            start + Duration::hours(h),
            60,
            lmp(v),
            vintage(k),
            1,
        )
    };
    store.append(vec![hour(0, 1.0, 0)]).await.unwrap();
    store
        .append(vec![obs(
            "MISO.ILLINOIS.HUB",
            MarketRun::Da,
            start,
            60,
            lmp(50.0),
            vintage(0),
            1,
        )])
        .await
        .unwrap();
    assert_eq!(
        lmps(all_rows(store.as_ref(), q("MISO.INDIANA.HUB", None)).await),
        [1.0]
    );
    assert_eq!(
        lmps(all_rows(store.as_ref(), q("MISO.INDIANA.HUB", None)).await),
        [1.0]
    );
    assert_eq!(
        lmps(all_rows(store.as_ref(), q("MISO.ILLINOIS.HUB", None)).await),
        [50.0]
    );

    // A new interval, then a revision of an old one.
    store.append(vec![hour(1, 2.0, 1)]).await.unwrap();
    assert_eq!(
        lmps(all_rows(store.as_ref(), q("MISO.INDIANA.HUB", None)).await),
        [1.0, 2.0]
    );
    store.append(vec![hour(0, 1.5, 2)]).await.unwrap();
    assert_eq!(
        lmps(all_rows(store.as_ref(), q("MISO.INDIANA.HUB", None)).await),
        [1.5, 2.0]
    );
    // What was known before the revision is still what it was.
    assert_eq!(
        lmps(all_rows(store.as_ref(), q("MISO.INDIANA.HUB", Some(vintage(1)))).await),
        [1.0, 2.0]
    );
    assert_eq!(
        lmps(all_rows(store.as_ref(), q("MISO.ILLINOIS.HUB", None)).await),
        [50.0]
    );
    // A failed batch changes no answer.
    let bad = vec![hour(0, 9.0, 2)]; // same vintage, other value: a conflict
    assert!(store.append(bad).await.is_err());
    assert_eq!(
        lmps(all_rows(store.as_ref(), q("MISO.INDIANA.HUB", None)).await),
        [1.5, 2.0]
    );

    // Readers hammer the query while revisions land: once an append has
    // returned, the next answer has it (readers only ever move forward).
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..2 {
        let (store, stop) = (store.clone(), stop.clone());
        let query = q("MISO.INDIANA.HUB", None);
        readers.push(tokio::spawn(async move {
            let mut seen = 0.0f64;
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let v = store.query_prices(query.clone()).await.unwrap().rows[0]
                    .values
                    .lmp
                    .unwrap();
                assert!(v >= seen, "an answer went back in time: {v} after {seen}");
                seen = v;
                n += 1;
                tokio::task::yield_now().await;
            }
            n
        }));
    }
    for k in 3..40 {
        let v = 100.0 + k as f64;
        store.append(vec![hour(0, v, k)]).await.unwrap();
        let got = all_rows(store.as_ref(), q("MISO.INDIANA.HUB", None)).await;
        assert_eq!(
            got[0].values.lmp,
            Some(v),
            "append {k} not seen by the next query"
        );
        assert_eq!(got[0].vintage, Some(vintage(k)));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        assert!(r.await.unwrap() > 0);
    }
}

pub async fn jobs_queue_claim_fairly_once_and_recover(h: &dyn Harness) {
    use crate::{Job, JobEnd, JobFilter, JobStatus};
    let jobs = h.open_jobs().await;
    let t0 = utc("2026-12-01T00:00:00Z");
    let at = move |s: i64| t0 + Duration::seconds(s);
    let job = |id: &str, tenant: &str, kind: &str, s: i64| {
        Job::queued(
            id.into(),
            kind,
            serde_json::json!({ "n": s }),
            tenant,
            "alice",
            at(s),
        )
    };
    // Tenant A queues five jobs before tenant B queues one.
    for i in 0..5 {
        jobs.enqueue(job(&format!("a{i}"), "A", "analysis", i))
            .await
            .unwrap();
    }
    jobs.enqueue(job("b0", "B", "analysis", 10)).await.unwrap();
    assert_eq!(
        jobs.job("a0").await.unwrap().unwrap().status,
        JobStatus::Queued
    );
    assert!(jobs.job("nope").await.unwrap().is_none());
    // First claim: the oldest (a0). Second: B has nothing running, A has one,
    // so B's job comes before A's older ones.
    let first = jobs.claim(at(20), &held(at(20))).await.unwrap().unwrap();
    assert_eq!(
        (first.id.as_str(), first.status, first.attempts),
        ("a0", JobStatus::Running, 1)
    );
    assert_eq!(first.started, Some(at(20)));
    let second = jobs.claim(at(21), &held(at(21))).await.unwrap().unwrap();
    assert_eq!(second.id, "b0");
    // Progress only on running jobs, clamped to [0, 1].
    assert!(jobs.set_progress("a0", 1.7, "half").await.unwrap());
    assert!(!jobs.set_progress("a1", 0.5, "queued").await.unwrap());
    let a0 = jobs.job("a0").await.unwrap().unwrap();
    assert_eq!((a0.progress, a0.message.as_str()), (1.0, "half"));
    // Ends: once.
    let out = serde_json::json!({ "research_run": "rr_1" });
    assert!(
        jobs.finish("a0", JobEnd::Succeeded(out.clone()), at(30))
            .await
            .unwrap()
    );
    assert!(
        !jobs
            .finish("a0", JobEnd::Failed("again".into()), at(31))
            .await
            .unwrap()
    );
    let a0 = jobs.job("a0").await.unwrap().unwrap();
    assert_eq!(
        (a0.status, a0.result, a0.finished),
        (JobStatus::Succeeded, Some(out), Some(at(30)))
    );
    assert!(
        jobs.finish("b0", JobEnd::Failed("no data".into()), at(32))
            .await
            .unwrap()
    );
    assert_eq!(
        jobs.job("b0").await.unwrap().unwrap().error.as_deref(),
        Some("no data")
    );
    // Cancel: a queued job at once, a running one flagged, a finished one untouched.
    assert_eq!(
        jobs.request_cancel("a4", at(33)).await.unwrap(),
        Some(JobStatus::Cancelled)
    );
    let running = jobs.claim(at(34), &held(at(34))).await.unwrap().unwrap();
    assert_eq!(running.id, "a1");
    assert_eq!(
        jobs.request_cancel("a1", at(35)).await.unwrap(),
        Some(JobStatus::Running)
    );
    assert!(jobs.job("a1").await.unwrap().unwrap().cancel_requested);
    assert_eq!(
        jobs.request_cancel("a0", at(35)).await.unwrap(),
        Some(JobStatus::Succeeded)
    );
    assert_eq!(jobs.request_cancel("ghost", at(35)).await.unwrap(), None);
    assert!(jobs.finish("a1", JobEnd::Cancelled, at(36)).await.unwrap());
    // Listing: newest first, filtered.
    let a_queued = jobs
        .jobs(JobFilter {
            tenant: Some("A".into()),
            status: Some(JobStatus::Queued),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        a_queued.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        ["a3", "a2"]
    );
    assert_eq!(jobs.jobs(JobFilter::default()).await.unwrap().len(), 6);
    // Many claimers at once: each queued job is handed out exactly once.
    for i in 0..20 {
        jobs.enqueue(job(
            &format!("c{i:02}"),
            if i % 2 == 0 { "C" } else { "D" },
            "curve_build",
            100 + i,
        ))
        .await
        .unwrap();
    }
    let mut claimers = Vec::new();
    for _ in 0..8 {
        let j = jobs.clone();
        claimers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(job) = j.claim(at(200), &held(at(200))).await.unwrap() {
                got.push(job.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for c in claimers {
        all.extend(c.await.unwrap());
    }
    all.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
    expected.extend(["a2".to_string(), "a3".to_string()]);
    expected.sort();
    assert_eq!(all, expected);
    // A restart: `curve_build` jobs go back to the queue, others fail; a job
    // whose cancel was asked for is cancelled.
    assert_eq!(
        jobs.request_cancel("a3", at(210)).await.unwrap(),
        Some(JobStatus::Running)
    );
    let r = jobs
        .recover(&["curve_build".to_string()], at(300))
        .await
        .unwrap();
    assert_eq!((r.requeued, r.failed), (20, 2));
    let a2 = jobs.job("a2").await.unwrap().unwrap();
    assert_eq!(a2.status, JobStatus::Failed);
    assert!(a2.error.unwrap().contains("server stopped"));
    assert_eq!(
        jobs.job("a3").await.unwrap().unwrap().status,
        JobStatus::Cancelled
    );
    let c0 = jobs.job("c00").await.unwrap().unwrap();
    assert_eq!((c0.status, c0.attempts), (JobStatus::Queued, 1));
    assert_eq!(
        jobs.claim(at(301), &held(at(301)))
            .await
            .unwrap()
            .unwrap()
            .attempts,
        2
    );
}

pub async fn jobs_are_served_round_robin_across_tenants(h: &dyn Harness) {
    use crate::{Job, JobEnd};
    let jobs = h.open_jobs().await;
    let t0 = utc("2026-12-01T00:00:00Z");
    let at = move |s: i64| t0 + Duration::seconds(s);
    // One worker: E queues three jobs, then F one; each is finished before
    // the next claim, so nobody has anything running when a claim is made.
    for (i, (id, tenant)) in [("e1", "E"), ("e2", "E"), ("e3", "E"), ("f1", "F")]
        .iter()
        .enumerate()
    {
        jobs.enqueue(Job::queued(
            (*id).into(),
            "analysis",
            serde_json::json!({}),
            tenant,
            "x",
            at(i as i64),
        ))
        .await
        .unwrap();
    }
    let mut order = Vec::new();
    for k in 0..4 {
        let j = jobs
            .claim(at(10 + k), &held(at(10 + k)))
            .await
            .unwrap()
            .unwrap();
        jobs.finish(&j.id, JobEnd::Succeeded(serde_json::json!({})), at(10 + k))
            .await
            .unwrap();
        order.push(j.id);
    }
    assert_eq!(order, ["e1", "f1", "e2", "e3"]);
    assert!(jobs.claim(at(20), &held(at(20))).await.unwrap().is_none());
}

fn scenario_version(
    tenant: &str,
    id: &str,
    version: u32,
    name: &str,
    t: i64,
) -> crate::ScenarioVersion {
    let canonical = serde_json::json!({ "name": name, "instrument": "MISO.INDIANA.HUB" });
    crate::ScenarioVersion {
        scenario_id: id.into(),
        tenant: tenant.into(),
        version,
        name: name.into(),
        market: if id.ends_with("caiso") {
            "CAISO"
        } else {
            "MISO"
        }
        .into(),
        format: "yaml".into(),
        document: format!("name: {name}\ninstrument: MISO.INDIANA.HUB\n"),
        hash: format!("{:064x}", version),
        canonical,
        created_by: "alice".into(),
        created: DateTime::from_timestamp(1_800_000_000 + t, 0).unwrap(),
    }
}

pub async fn scenarios_are_versioned_immutable_and_tenant_scoped(h: &dyn Harness) {
    let s = h.open_scenarios().await;
    assert!(
        s.scenario_version("A", "sc_1", None)
            .await
            .unwrap()
            .is_none()
    );
    // Version numbers start at 1 and go up by one.
    let e = s
        .save_scenario_version(scenario_version("A", "sc_1", 2, "gas up", 0))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e:?}");
    assert_eq!(e.code(), "conflict");
    let v1 = scenario_version("A", "sc_1", 1, "gas up", 0);
    s.save_scenario_version(v1.clone()).await.unwrap();
    // A version is never replaced, not even with the same content.
    let e = s.save_scenario_version(v1.clone()).await.unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e:?}");
    let v2 = scenario_version("A", "sc_1", 2, "gas up more", 60);
    s.save_scenario_version(v2.clone()).await.unwrap();
    assert_eq!(
        s.scenario_version("A", "sc_1", None).await.unwrap(),
        Some(v2.clone())
    );
    assert_eq!(
        s.scenario_version("A", "sc_1", Some(1)).await.unwrap(),
        Some(v1.clone())
    );
    assert!(
        s.scenario_version("A", "sc_1", Some(3))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        s.scenario_versions("A", "sc_1").await.unwrap(),
        vec![v1, v2]
    );
    // Another tenant sees nothing of A's, and may use the same id for its own.
    assert!(
        s.scenario_version("B", "sc_1", None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.scenarios("B", None).await.unwrap().is_empty());
    s.save_scenario_version(scenario_version("B", "sc_1", 1, "theirs", 5))
        .await
        .unwrap();
    s.save_scenario_version(scenario_version("A", "sc_caiso", 1, "west", 30))
        .await
        .unwrap();
    let list = s.scenarios("A", None).await.unwrap();
    let ids: Vec<(&str, u32, &str)> = list
        .iter()
        .map(|x| (x.scenario_id.as_str(), x.latest_version, x.name.as_str()))
        .collect();
    assert_eq!(ids, [("sc_1", 2, "gas up more"), ("sc_caiso", 1, "west")]);
    assert_eq!(list[0].created, utc("2027-01-15T08:00:00Z"));
    assert_eq!(list[0].updated, utc("2027-01-15T08:01:00Z"));
    let miso_only = s.scenarios("A", Some(vec!["MISO".into()])).await.unwrap();
    assert_eq!(miso_only.len(), 1);

    // Runs name their version; recorded once; per tenant, newest first.
    let run = |id: &str, version: u32, t: i64| crate::ScenarioRun {
        curve_run_id: id.into(),
        scenario_id: "sc_1".into(),
        tenant: "A".into(),
        version,
        base_run_id: "cr_base".into(),
        calibration_run_id: "rr_cal".into(),
        job_id: Some(format!("job_{id}")),
        created_by: "alice".into(),
        created: DateTime::from_timestamp(1_800_000_000 + t, 0).unwrap(),
    };
    s.save_scenario_run(run("cr_1", 1, 100)).await.unwrap();
    s.save_scenario_run(run("cr_2", 2, 200)).await.unwrap();
    let e = s.save_scenario_run(run("cr_2", 2, 300)).await.unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e:?}");
    let runs = s.scenario_runs("A", "sc_1").await.unwrap();
    assert_eq!(runs, vec![run("cr_2", 2, 200), run("cr_1", 1, 100)]);
    assert!(s.scenario_runs("B", "sc_1").await.unwrap().is_empty());
    assert_eq!(
        s.scenario_run("A", "cr_1").await.unwrap(),
        Some(run("cr_1", 1, 100))
    );
    assert!(s.scenario_run("B", "cr_1").await.unwrap().is_none());
}

fn export(tenant: &str, id: &str, key: Option<&str>, t: i64, expires: i64) -> crate::Export {
    crate::Export {
        id: id.into(),
        tenant: tenant.into(),
        owner: "alice".into(),
        job_id: None,
        dataset: "prices".into(),
        format: "csv".into(),
        gzip: false,
        spec: serde_json::json!({ "instruments": ["MISO.INDIANA.HUB"] }),
        status: "queued".into(),
        idempotency_key: key.map(str::to_string),
        created: DateTime::from_timestamp(1_800_000_000 + t, 0).unwrap(),
        finished: None,
        expires: DateTime::from_timestamp(1_800_000_000 + expires, 0).unwrap(),
        rows: 0,
        bytes: 0,
        manifest: None,
        error: None,
    }
}

pub async fn exports_are_idempotent_tenant_scoped_and_expire(h: &dyn Harness) {
    let s = h.open_exports().await;
    let first = s
        .create_export(export("A", "ex_1", Some("k1"), 0, 100))
        .await
        .unwrap();
    assert_eq!(first.id, "ex_1");
    // The same key again: the first export, nothing new stored.
    let again = s
        .create_export(export("A", "ex_2", Some("k1"), 10, 100))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert!(s.export("A", "ex_2").await.unwrap().is_none());
    // Another tenant's key is its own; no key never collides.
    s.create_export(export("B", "ex_3", Some("k1"), 20, 100))
        .await
        .unwrap();
    s.create_export(export("A", "ex_4", None, 30, 50))
        .await
        .unwrap();
    s.create_export(export("A", "ex_5", None, 40, 500))
        .await
        .unwrap();
    assert!(s.export("B", "ex_1").await.unwrap().is_none());
    let ids: Vec<String> = s
        .exports("A", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["ex_5", "ex_4", "ex_1"]);
    // An update records the end, totals and manifest.
    let mut done = first.clone();
    done.status = "succeeded".into();
    done.finished = Some(DateTime::from_timestamp(1_800_000_060, 0).unwrap());
    done.rows = 48;
    done.bytes = 4_096;
    done.manifest = Some(serde_json::json!({ "parts": [{ "name": "p.csv", "rows": 48 }] }));
    assert!(s.update_export(&done).await.unwrap());
    assert_eq!(s.export("A", "ex_1").await.unwrap(), Some(done.clone()));
    // Setting the job changes nothing else; another tenant's id is no match.
    assert!(s.set_export_job("A", "ex_1", "job_9").await.unwrap());
    assert!(!s.set_export_job("B", "ex_1", "job_9").await.unwrap());
    done.job_id = Some("job_9".into());
    assert_eq!(s.export("A", "ex_1").await.unwrap(), Some(done.clone()));
    let mut ghost = done.clone();
    ghost.tenant = "B".into();
    assert!(!s.update_export(&ghost).await.unwrap());
    assert_eq!(s.export_bytes("A").await.unwrap(), 4_096);
    // Expiry: before t, not yet marked; once marked, neither listed nor counted.
    let t = DateTime::from_timestamp(1_800_000_120, 0).unwrap();
    let ids: Vec<String> = s
        .expired_exports(t)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["ex_4", "ex_1", "ex_3"]);
    done.status = "expired".into();
    s.update_export(&done).await.unwrap();
    let ids: Vec<String> = s
        .expired_exports(t)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["ex_4", "ex_3"]);
    assert_eq!(s.export_bytes("A").await.unwrap(), 0);
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn feed(tenant: &str, id: &str, name: &str, due_secs: i64) -> crate::Feed {
    crate::Feed {
        id: id.into(),
        tenant: tenant.into(),
        owner: "ann".into(),
        name: name.into(),
        spec: serde_json::json!({"instruments": ["MISO.INDIANA.HUB"], "at": "07:00"}),
        enabled: true,
        created: t0(),
        next_due: t0() + chrono::Duration::seconds(due_secs),
        last_run: None,
        last_success: None,
        last_error: None,
        failures: 0,
        runs: 0,
    }
}

/// Feeds: one name per tenant (a second is a conflict, another tenant's is
/// its own), the scheduler's state round-trips, tenant-scoped reads and
/// deletes, every tenant's feeds for the scheduler.
pub async fn feeds_are_named_per_tenant_and_keep_their_state(h: &dyn Harness) {
    let s = h.open_feeds().await;
    s.create_feed(feed("A", "fd_1", "daily da", 60))
        .await
        .unwrap();
    let dup = s.create_feed(feed("A", "fd_2", "daily da", 60)).await;
    assert!(matches!(dup, Err(crate::Error::Conflict(_))), "{dup:?}");
    s.create_feed(feed("B", "fd_3", "daily da", 30))
        .await
        .unwrap();
    s.create_feed(feed("A", "fd_4", "another", 90))
        .await
        .unwrap();
    let a = s.feeds(Some("A")).await.unwrap();
    assert_eq!(
        a.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["another", "daily da"]
    );
    assert_eq!(s.feeds(None).await.unwrap().len(), 3);
    assert!(s.feed("B", "fd_1").await.unwrap().is_none());
    // The scheduler's state round-trips.
    let mut f = s.feed("A", "fd_1").await.unwrap().unwrap();
    assert_eq!(f, feed("A", "fd_1", "daily da", 60));
    f.next_due = t0() + chrono::Duration::days(1);
    f.last_run = Some(t0());
    f.last_error = Some("the bucket refused the write".into());
    f.failures = 2;
    f.runs = 3;
    f.enabled = false;
    assert!(s.update_feed(&f).await.unwrap());
    assert_eq!(s.feed("A", "fd_1").await.unwrap().unwrap(), f);
    f.last_success = Some(t0() + chrono::Duration::hours(1));
    f.last_error = None;
    f.failures = 0;
    assert!(s.update_feed(&f).await.unwrap());
    assert_eq!(s.feed("A", "fd_1").await.unwrap().unwrap(), f);
    // Targeted updates count in the store and touch nothing else: a firing
    // keeps a pause made meanwhile; outcomes add to or clear the failures.
    assert!(s.set_feed_enabled("A", "fd_4", false, None).await.unwrap());
    let at = t0() + chrono::Duration::hours(2);
    let next = t0() + chrono::Duration::days(2);
    assert!(
        s.record_firing("A", "fd_4", at, Some(next), None)
            .await
            .unwrap()
    );
    assert!(
        s.record_firing("A", "fd_4", at, None, Some("limit".into()))
            .await
            .unwrap()
    );
    let g = s.feed("A", "fd_4").await.unwrap().unwrap();
    assert_eq!((g.enabled, g.runs, g.failures), (false, 2, 1));
    assert_eq!((g.next_due, g.last_run), (next, Some(at)));
    assert_eq!(g.last_error.as_deref(), Some("limit"));
    s.record_outcome("A", "fd_4", at, Some("refused".into()))
        .await
        .unwrap();
    assert_eq!(s.feed("A", "fd_4").await.unwrap().unwrap().failures, 2);
    s.record_outcome("A", "fd_4", at, None).await.unwrap();
    let g = s.feed("A", "fd_4").await.unwrap().unwrap();
    assert_eq!(
        (g.failures, g.last_error, g.last_success),
        (0, None, Some(at))
    );
    assert!(
        s.set_feed_enabled("A", "fd_4", true, Some(next))
            .await
            .unwrap()
    );
    assert!(!s.set_feed_enabled("B", "fd_4", true, None).await.unwrap());
    assert!(!s.record_outcome("B", "fd_4", at, None).await.unwrap());
    // Another tenant cannot update or delete it.
    let mut other = f.clone();
    other.tenant = "B".into();
    assert!(!s.update_feed(&other).await.unwrap());
    assert!(!s.delete_feed("B", "fd_1").await.unwrap());
    assert!(s.delete_feed("A", "fd_1").await.unwrap());
    assert!(s.feed("A", "fd_1").await.unwrap().is_none());
    assert!(!s.delete_feed("A", "fd_1").await.unwrap());
}

/// Leases: a running job stays its worker's while the worker renews; a job
/// whose lease lapsed is recovered (requeued or failed) by any process; a
/// live worker's job is not; `hold` puts a handed-over job under a lease.
pub async fn jobs_of_live_workers_stay_theirs_lapsed_ones_are_recovered(h: &dyn Harness) {
    use crate::{Job, JobStatus, Lease};
    let jobs = h.open_jobs().await;
    let t = |s: i64| utc("2026-06-01T00:00:00Z") + Duration::seconds(s);
    let lease = |w: &str, until: i64| Lease {
        worker: w.into(),
        until: t(until),
    };
    for (id, kind) in [("j1", "export"), ("j2", "analysis"), ("j3", "export")] {
        jobs.enqueue(Job::queued(
            id.into(),
            kind,
            serde_json::json!({}),
            "A",
            "ann",
            t(0),
        ))
        .await
        .unwrap();
    }
    // Worker a holds j1 and j2 until t(60), worker b j3 until t(60).
    let a1 = jobs.claim(t(1), &lease("a", 60)).await.unwrap().unwrap();
    let a2 = jobs.claim(t(2), &lease("a", 60)).await.unwrap().unwrap();
    let b1 = jobs.claim(t(3), &lease("b", 60)).await.unwrap().unwrap();
    assert_eq!(
        [a1.id.as_str(), a2.id.as_str(), b1.id.as_str()],
        ["j1", "j2", "j3"]
    );
    // a renews to t(120); b does not (its process died).
    assert_eq!(jobs.renew(&lease("a", 120)).await.unwrap(), 2);
    assert_eq!(jobs.renew(&lease("nobody", 120)).await.unwrap(), 0);
    // Before anything lapsed, nothing is recovered.
    let r = jobs
        .recover_lapsed(&["export".to_string()], t(30))
        .await
        .unwrap();
    assert_eq!((r.requeued, r.failed), (0, 0));
    // At t(90): b's lease lapsed (j3 requeued: an export), a's did not.
    let r = jobs
        .recover_lapsed(&["export".to_string()], t(90))
        .await
        .unwrap();
    assert_eq!((r.requeued, r.failed), (1, 0));
    let status = |id: &'static str| {
        let jobs = jobs.clone();
        async move { jobs.job(id).await.unwrap().unwrap().status }
    };
    assert_eq!(status("j3").await, JobStatus::Queued);
    assert_eq!(status("j1").await, JobStatus::Running);
    assert_eq!(status("j2").await, JobStatus::Running);
    // a stops renewing: at t(200) its analysis fails, its export requeues.
    let r = jobs
        .recover_lapsed(&["export".to_string()], t(200))
        .await
        .unwrap();
    assert_eq!((r.requeued, r.failed), (1, 1));
    assert_eq!(status("j2").await, JobStatus::Failed);
    // A handed-over job (enqueued running) is held by its worker's lease.
    let mut h2 = Job::queued(
        "j4".into(),
        "analysis",
        serde_json::json!({}),
        "A",
        "ann",
        t(300),
    );
    h2.status = JobStatus::Running;
    h2.started = Some(t(300));
    jobs.enqueue(h2).await.unwrap();
    // Between its insert and its hold it is not taken as lapsed.
    let r = jobs.recover_lapsed(&[], t(301)).await.unwrap();
    assert_eq!((r.requeued, r.failed), (0, 0));
    assert!(jobs.hold("j4", &lease("c", 400)).await.unwrap());
    // Another worker cannot take it over by holding it.
    assert!(!jobs.hold("j4", &lease("d", 500)).await.unwrap());
    assert!(!jobs.hold("nope", &lease("c", 400)).await.unwrap());
    let r = jobs.recover_lapsed(&[], t(350)).await.unwrap();
    assert_eq!((r.requeued, r.failed), (0, 0));
    assert_eq!(status("j4").await, JobStatus::Running);
}
