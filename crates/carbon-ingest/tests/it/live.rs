//! The live path against a real HTTP server on 127.0.0.1 serving the real
//! fixtures: OASIS zips (and XML error zips), MISO reports and 5-minute JSON,
//! 429 then success, a reply slower than the timeout, a truncated body, the
//! offline switch; query parameters, spacing and checkpoint resume.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use carbon_core::{InstrumentId, MarketRun};
use carbon_ingest::{
    bus::InProcessBus,
    caiso::connector::CaisoConfig,
    connector::{ConnectorConfig, PollJob},
    dq::DqConfig,
    http::{FetchErrorKind, HttpConfig},
    miso::connector::MisoConfig,
    runner::Runner,
    sync::{self, Step},
};
use carbon_store::{DuckdbStore, PriceQuery, RunLog, RunStatus, Store};
use carbon_testkit::{HttpServer, Reply, zip_of};
use chrono::{DateTime, NaiveDate, Utc};

use super::fixture;

const DAM_FIXTURE: &str = "caiso/oasis_PRC_LMP_DAM_v1_20200510_0096WD_7_N001.csv";

/// A runner on a fresh DuckDB file (prices and fundamentals).
pub struct Env {
    _dir: tempfile::TempDir,
    pub store: Arc<DuckdbStore>,
    pub log: Arc<dyn RunLog>,
    pub runner: Runner,
}

impl Env {
    /// Runs a plan to the end; the report and every step.
    pub fn execute(
        &self,
        connector: Arc<dyn carbon_ingest::connector::Connector>,
        plan: Vec<carbon_ingest::connector::Request>,
        force: bool,
    ) -> (sync::SyncReport, Vec<Step>) {
        let mut steps = Vec::new();
        let report = rt()
            .block_on(sync::execute(
                &self.runner,
                &self.log,
                connector,
                plan,
                force,
                |_, s| steps.push(s.clone()),
            ))
            .unwrap();
        (report, steps)
    }
}

pub fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DuckdbStore::open(dir.path()).unwrap());
    let log: Arc<dyn RunLog> = store.clone();
    let runner = Runner::new(
        store.clone(),
        log.clone(),
        Arc::new(InProcessBus::new(64)),
        DqConfig::default(),
    )
    .with_fundamentals(store.clone());
    Env {
        _dir: dir,
        store,
        log,
        runner,
    }
}

/// Fast retries so the tests stay short; the behaviour is the production one.
fn http(timeout_secs: f64) -> HttpConfig {
    HttpConfig {
        timeout_secs,
        connect_timeout_secs: 2.0,
        retries: 2,
        backoff_secs: 0.1,
        max_backoff_secs: 2.0,
        ..Default::default()
    }
}

fn caiso(server: &HttpServer, nodes: &[&str], spacing: f64) -> CaisoConfig {
    CaisoConfig {
        url: server.url("/oasisapi/SingleZip"),
        market_runs: vec![MarketRun::Da],
        nodes: nodes.iter().map(|s| s.to_string()).collect(),
        spacing_secs: spacing,
        ..Default::default()
    }
}

/// MISO against `server`; empty `runs` keeps the default runs.
fn miso(server: &HttpServer, runs: Vec<MarketRun>, nodes: Vec<String>) -> MisoConfig {
    let mut cfg = MisoConfig {
        reports_url: server.url("/marketreports"),
        api_url: server.url("/api"),
        nodes,
        spacing_secs: 0.0,
        ..Default::default()
    };
    if !runs.is_empty() {
        cfg.market_runs = runs;
    }
    cfg
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn oasis_error_zip(code: &str, desc: &str) -> Vec<u8> {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<OASISReport xmlns="http://www.caiso.com/soa/OASISReport_v1.xsd"><MessageHeader><TimeDate>2026-11-27T10:00:00-00:00</TimeDate><Source>OASIS</Source><Version>v20131201</Version></MessageHeader><MessagePayload><RTO><name>CAISO</name><ERROR><ERR_CODE>{code}</ERR_CODE><ERR_DESC>{desc}</ERR_DESC></ERROR></RTO></MessagePayload></OASISReport>"#
    );
    zip_of("INVALID_REQUEST.xml", xml.as_bytes())
}

fn run_of(step: &Step) -> carbon_store::IngestRun {
    match step {
        Step::Ran(r) => r.clone(),
        other => panic!("expected a run, got {other:?}"),
    }
}

#[test]
fn caiso_dam_backfill_sends_oasis_parameters_stores_and_resumes() {
    let csv = std::fs::read(fixture(DAM_FIXTURE)).unwrap();
    let zipped = zip_of("20200510_20200511_PRC_LMP_DAM_v12.csv", &csv);
    let server = HttpServer::start(move |_, _| {
        Reply::ok(zipped.clone())
            .header("Content-Type", "application/x-zip-compressed")
            .header("Last-Modified", "Sun, 10 May 2020 20:00:00 GMT")
    });
    let e = env();
    let connector =
        ConnectorConfig::Caiso(caiso(&server, &["0096WD_7_N001"], 0.0)).build(&http(5.0));
    let plan = connector
        .plan_backfill(date("2020-05-10"), date("2020-05-10"), &[])
        .unwrap();
    assert_eq!(plan.len(), 1);
    let rt = rt();
    let mut steps = Vec::new();
    let (report, s) = e.execute(connector.clone(), plan.clone(), false);
    steps.extend(s);
    assert_eq!(report.ingested, 1, "{steps:?}");
    let run = run_of(&steps[0]);
    assert_eq!(run.status, RunStatus::Ok, "{run:?}");
    assert_eq!(run.rows_accepted, 24);
    assert_eq!(run.connector, "caiso");

    // The request OASIS received.
    let hits = server.hits();
    assert_eq!(hits.len(), 1);
    let h = &hits[0];
    assert_eq!(h.path, "/oasisapi/SingleZip");
    assert_eq!(h.param("queryname"), Some("PRC_LMP"));
    assert_eq!(h.param("market_run_id"), Some("DAM"));
    assert_eq!(h.param("version"), Some("12"));
    assert_eq!(h.param("resultformat"), Some("6"));
    assert_eq!(h.param("node"), Some("0096WD_7_N001"));
    // Pacific market day 2020-05-10 (PDT) = 07:00Z to 07:00Z.
    assert_eq!(h.param("startdatetime"), Some("20200510T07:00-0000"));
    assert_eq!(h.param("enddatetime"), Some("20200511T07:00-0000"));

    // Stored with the publication time (Last-Modified) as vintage; the first
    // hour checked by hand against the raw file (OPR_HR 1, 07:00Z: LMP 24.4484,
    // MCC 0, MCE 24.69286, MCL -0.24446).
    let id = InstrumentId::parse("CAISO.0096WD_7_N001").unwrap();
    let page = rt
        .block_on(e.store.query_prices(PriceQuery::new(
            vec![id],
            "2020-05-10T07:00:00Z".parse().unwrap(),
            "2020-05-11T07:00:00Z".parse().unwrap(),
        )))
        .unwrap();
    assert_eq!(page.rows.len(), 24);
    let vintage: DateTime<Utc> = "2020-05-10T20:00:00Z".parse().unwrap();
    assert!(page.rows.iter().all(|r| r.vintage == Some(vintage)));
    let first = &page.rows[0];
    assert_eq!(
        first.interval_start,
        "2020-05-10T07:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(first.values.lmp, Some(24.4484));
    assert_eq!(first.values.congestion, Some(0.0));
    assert_eq!(first.values.energy, Some(24.69286));
    assert_eq!(first.values.loss, Some(-0.24446));
    let window = run.quality.unwrap();
    assert_eq!(window["window"]["expected_per_node"], 24);
    assert_eq!(window["window"]["short_series"], 0);

    // Resume: the settled window is not fetched again; --force fetches it.
    let report = e.execute(connector.clone(), plan.clone(), false).0;
    assert_eq!((report.already_done, report.ingested), (1, 0));
    assert_eq!(server.hits().len(), 1);
    let report = e.execute(connector, plan, true).0;
    assert_eq!(report.ingested, 1);
    assert_eq!(report.rows_accepted, 0, "re-fetch changes nothing");
    assert_eq!(server.hits().len(), 2);
}

#[test]
fn oasis_windows_respect_query_limits() {
    let server = HttpServer::start(|_, _| Reply::status(500));
    let mut cfg = caiso(&server, &["TH_SP15_GEN-APND", "TH_NP15_GEN-APND"], 0.0);
    cfg.market_runs = vec![MarketRun::Da, MarketRun::Rt5];
    let c = ConnectorConfig::Caiso(cfg.clone()).build(&http(1.0));
    // Node list: ≤ 31 days per request.
    let plan = c
        .plan_backfill(date("2025-01-01"), date("2025-02-09"), &[MarketRun::Da])
        .unwrap();
    assert_eq!(plan.len(), 2);
    assert_eq!(plan[0].query_value("startdatetime"), "20250101T08:00-0000");
    assert_eq!(plan[0].query_value("enddatetime"), "20250201T08:00-0000");
    assert_eq!(plan[1].query_value("enddatetime"), "20250210T08:00-0000");
    assert_eq!(
        plan[0].query_value("node"),
        "TH_SP15_GEN-APND,TH_NP15_GEN-APND"
    );
    // The spring-forward day has 23 hours: its window says so.
    let plan = c
        .plan_backfill(date("2025-03-09"), date("2025-03-09"), &[MarketRun::Da])
        .unwrap();
    assert_eq!(plan[0].expected().unwrap().intervals_per_node, 23);
    let plan = c
        .plan_backfill(date("2025-11-02"), date("2025-11-02"), &[MarketRun::Rt5])
        .unwrap();
    assert_eq!(plan[0].expected().unwrap().intervals_per_node, 25 * 12);

    // All nodes: DAM one day, RT one hour per request.
    cfg.all_nodes = true;
    let c = ConnectorConfig::Caiso(cfg).build(&http(1.0));
    let da = c
        .plan_backfill(date("2025-06-01"), date("2025-06-02"), &[MarketRun::Da])
        .unwrap();
    assert_eq!(da.len(), 2);
    assert_eq!(da[0].query_value("grp_type"), "ALL_APNODES");
    assert!(da[0].query.iter().all(|(k, _)| k != "node"));
    let rt5 = c
        .plan_backfill(date("2025-06-01"), date("2025-06-01"), &[MarketRun::Rt5])
        .unwrap();
    assert_eq!(rt5.len(), 24);
    assert_eq!(rt5[0].query_value("queryname"), "PRC_INTVL_LMP");
    assert_eq!(rt5[0].query_value("market_run_id"), "RTM");
    assert_eq!(rt5[0].query_value("version"), "3");
    // Unknown runs name themselves.
    let err = c
        .plan_backfill(
            date("2025-06-01"),
            date("2025-06-01"),
            &[MarketRun::DaExante],
        )
        .unwrap_err();
    assert!(err.to_string().contains("da_exante"), "{err}");
    assert!(server.hits().is_empty(), "planning fetches nothing");
}

#[test]
fn oasis_xml_error_zip_is_reported_with_its_message() {
    let server = HttpServer::start(|hit, _| {
        if hit.param("node") == Some("NO_DATA_NODE") {
            Reply::ok(oasis_error_zip(
                "1000",
                "No data returned for the specified selection",
            ))
        } else {
            Reply::ok(oasis_error_zip("1015", "Invalid date range: too long"))
        }
    });
    let e = env();
    for (node, status, text) in [
        ("NO_DATA_NODE", RunStatus::NoData, "No data returned"),
        ("OTHER_NODE", RunStatus::Failed, "Invalid date range"),
    ] {
        let c = ConnectorConfig::Caiso(caiso(&server, &[node], 0.0)).build(&http(5.0));
        let plan = c
            .plan_backfill(date("2025-06-01"), date("2025-06-01"), &[])
            .unwrap();
        let mut steps = Vec::new();
        let (_, s) = e.execute(c, plan, false);
        steps.extend(s);
        let run = run_of(&steps[0]);
        assert_eq!(run.status, status);
        assert!(run.error.as_deref().unwrap().contains(text), "{run:?}");
    }
}

#[test]
fn too_many_requests_is_retried_after_retry_after_with_spacing_kept() {
    let csv = std::fs::read(fixture(DAM_FIXTURE)).unwrap();
    let zipped = zip_of("prices.csv", &csv);
    let server = HttpServer::start(move |_, n| {
        if n == 0 {
            Reply::status(429).header("Retry-After", "1")
        } else {
            Reply::ok(zipped.clone())
        }
    });
    let e = env();
    // Two requests (two node lists), 0.5 s spacing.
    let c1 = ConnectorConfig::Caiso(caiso(&server, &["0096WD_7_N001"], 0.5)).build(&http(5.0));
    let mut plan = c1
        .plan_backfill(date("2020-05-10"), date("2020-05-10"), &[])
        .unwrap();
    let mut second = plan[0].clone();
    second.key.push_str("/again");
    plan.push(second);
    let mut steps = Vec::new();
    let t = Instant::now();
    let (_, s) = e.execute(c1, plan, false);
    steps.extend(s);
    assert_eq!(run_of(&steps[0]).status, RunStatus::Ok);
    let hits = server.hits();
    assert_eq!(hits.len(), 3, "429, retry, second request");
    let gap = |i: usize| hits[i + 1].at - hits[i].at;
    assert!(
        gap(0) >= Duration::from_millis(950),
        "Retry-After honoured: {:?}",
        gap(0)
    );
    assert!(
        gap(1) >= Duration::from_millis(480),
        "spacing kept: {:?}",
        gap(1)
    );
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_reply_slower_than_the_timeout_fails_as_unreachable_and_stops_the_plan() {
    let server = HttpServer::start(|_, _| Reply::ok("late").delayed(Duration::from_secs(3)));
    let e = env();
    let mut h = http(0.4);
    h.retries = 1;
    let c = ConnectorConfig::Caiso(caiso(&server, &["X"], 0.0)).build(&h);
    let plan = c
        .plan_backfill(date("2025-06-01"), date("2025-08-30"), &[])
        .unwrap();
    assert_eq!(plan.len(), 3);
    let t = Instant::now();
    let mut steps = Vec::new();
    let (report, s) = e.execute(c, plan, false);
    steps.extend(s);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let run = run_of(&steps[0]);
    assert_eq!(run.status, RunStatus::Unreachable);
    assert!(
        run.error.as_deref().unwrap().contains("2 attempts"),
        "{run:?}"
    );
    assert_eq!((report.unreachable, report.not_attempted), (1, 2));
    assert_eq!(server.hits().len(), 2);
}

#[test]
fn a_truncated_body_is_never_parsed() {
    let csv = std::fs::read(fixture(DAM_FIXTURE)).unwrap();
    let zipped = zip_of("prices.csv", &csv);
    let half = zipped[..zipped.len() / 2].to_vec();
    let full_len = zipped.len();
    let server = HttpServer::start(move |_, _| Reply::ok(half.clone()).truncated(full_len));
    let e = env();
    let c = ConnectorConfig::Caiso(caiso(&server, &["0096WD_7_N001"], 0.0)).build(&http(5.0));
    let direct = c
        .fetch(
            &c.plan_backfill(date("2020-05-10"), date("2020-05-10"), &[])
                .unwrap()[0],
        )
        .unwrap_err();
    assert_eq!(direct.kind, FetchErrorKind::Truncated, "{direct}");
    let plan = c
        .plan_backfill(date("2020-05-10"), date("2020-05-10"), &[])
        .unwrap();
    let mut steps = Vec::new();
    let rt = rt();
    let (_, s) = e.execute(c, plan, false);
    steps.extend(s);
    let run = run_of(&steps[0]);
    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.error.as_deref().unwrap().contains("truncated"),
        "{run:?}"
    );
    let stats = rt
        .block_on(e.store.series_stats(Default::default()))
        .unwrap();
    assert!(stats.is_empty(), "nothing stored");
}

#[test]
fn miso_reports_404_is_no_data_and_named_nodes_are_checked() {
    let report = std::fs::read(fixture(
        "miso/da_expost_lmp_20261001_hubs_interfaces_subset.csv",
    ))
    .unwrap();
    let server = HttpServer::start(move |hit, _| {
        if hit.path == "/marketreports/20261001_da_expost_lmp.csv" {
            Reply::ok(report.clone())
        } else {
            Reply::status(404)
        }
    });
    let e = env();
    let cfg = miso(
        &server,
        vec![MarketRun::Da],
        vec!["INDIANA.HUB".into(), "MINN.HUB".into(), "NOT.A.NODE".into()],
    );
    let c = ConnectorConfig::Miso(cfg).build(&http(5.0));
    let plan = c
        .plan_backfill(date("2026-09-30"), date("2026-10-01"), &[])
        .unwrap();
    let mut steps = Vec::new();
    let (report, s) = e.execute(c, plan, false);
    steps.extend(s);
    assert_eq!((report.no_data, report.ingested), (1, 1));
    assert_eq!(run_of(&steps[0]).status, RunStatus::NoData);
    let run = run_of(&steps[1]);
    assert_eq!(run.rows_accepted, 48, "2 of the named nodes × 24 h");
    let q = run.quality.unwrap();
    assert_eq!(
        q["window"]["missing_nodes"],
        serde_json::json!(["MISO.NOT.A.NODE"])
    );
    let hits: Vec<String> = server.hits().iter().map(|h| h.path.clone()).collect();
    assert_eq!(
        hits,
        [
            "/marketreports/20260930_da_expost_lmp.csv",
            "/marketreports/20261001_da_expost_lmp.csv"
        ]
    );
}

#[test]
fn miso_five_minute_poll_reads_previous_and_current() {
    let json = std::fs::read(fixture(
        "miso/api_GetRealTimeFiveMinExPost_Previous_20261001_first3intervals.json",
    ))
    .unwrap();
    let server = HttpServer::start(move |hit, _| {
        if hit.path.ends_with("/Previous") {
            Reply::ok(json.clone()).header("Content-Type", "application/json")
        } else {
            Reply::status(404)
        }
    });
    let e = env();
    let cfg = miso(&server, vec![], vec![]);
    let c = ConnectorConfig::Miso(cfg).build(&http(5.0));
    // 12:00 EST on 2026-10-02: previous market day is 2026-10-01.
    let plan = c.plan_poll(PollJob::FiveMinute, "2026-10-02T17:00:00Z".parse().unwrap());
    assert_eq!(plan.len(), 2);
    assert!(plan[0].settles && !plan[1].settles);
    assert_eq!(plan[0].expected().unwrap().intervals_per_node, 288);
    let mut steps = Vec::new();
    let (_, s) = e.execute(c, plan, false);
    steps.extend(s);
    let prev = run_of(&steps[0]);
    assert_eq!((prev.status, prev.rows_accepted), (RunStatus::Ok, 66));
    assert_eq!(run_of(&steps[1]).status, RunStatus::NoData);
    let paths: Vec<String> = server.hits().iter().map(|h| h.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/api/MarketPricing/GetRealTimeFiveMinExPost/Previous",
            "/api/MarketPricing/GetRealTimeFiveMinExPost/Current"
        ]
    );
}

#[test]
fn offline_makes_no_request_and_reports_unreachable() {
    let server = HttpServer::start(|_, _| Reply::status(200));
    let e = env();
    let mut h = http(5.0);
    h.offline = true;
    let c = ConnectorConfig::Caiso(caiso(&server, &["X"], 0.0)).build(&h);
    let plan = c.plan_poll(PollJob::DayAhead, Utc::now());
    assert_eq!(plan.len(), 2);
    let report = e.execute(c, plan, false).0;
    assert_eq!((report.unreachable, report.not_attempted), (1, 1));
    assert!(server.hits().is_empty());
    let runs = rt().block_on(e.log.runs(Default::default())).unwrap();
    assert_eq!(runs.len(), 1);
    assert!(runs[0].error.as_deref().unwrap().contains("offline"));
}

#[test]
fn nodes_live_the_day_before_but_absent_are_reported() {
    let real = std::fs::read_to_string(fixture(
        "miso/da_expost_lmp_20261001_hubs_interfaces_subset.csv",
    ))
    .unwrap();
    // The next day, derived in memory from the real report: same layout, the
    // date line moved on and the TVA interface's rows gone.
    let next: String = real
        .replacen("10/01/2026", "10/02/2026", 1)
        .lines()
        .filter(|l| !l.starts_with("TVA,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let server = HttpServer::start(move |hit, _| match hit.path.as_str() {
        "/marketreports/20261001_da_expost_lmp.csv" => Reply::ok(real.clone()),
        "/marketreports/20261002_da_expost_lmp.csv" => Reply::ok(next.clone()),
        _ => Reply::status(404),
    });
    let e = env();
    let cfg = miso(&server, vec![MarketRun::Da], vec![]);
    let c = ConnectorConfig::Miso(cfg).build(&http(5.0));
    let plan = c
        .plan_backfill(date("2026-10-01"), date("2026-10-02"), &[])
        .unwrap();
    let mut steps = Vec::new();
    let (_, s) = e.execute(c, plan, false);
    steps.extend(s);
    let first = run_of(&steps[0]).quality.unwrap();
    assert_eq!(first["window"]["missing_nodes_total"], 0);
    assert_eq!(first["window"]["nodes"], 22);
    let second = run_of(&steps[1]);
    assert_eq!(second.rows_accepted, 21 * 24);
    let q = second.quality.unwrap();
    assert_eq!(
        q["window"]["missing_nodes"],
        serde_json::json!(["MISO.TVA"])
    );
    assert_eq!(q["window"]["nodes"], 21);
}
