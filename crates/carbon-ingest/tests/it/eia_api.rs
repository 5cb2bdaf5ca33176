//! The EIA v2 API as a connector on the SDK (plan → fetch → checkpoint →
//! resume, one run per request) against a stand-in of the API on 127.0.0.1
//! that serves the **real** Henry Hub spot and weekly gas-storage files as v2
//! answers: the file's rows whose period lies in `start..=end`, paged by
//! `offset`/`length` but never more than 100 rows a page (any server may
//! answer fewer rows than asked), `total` as a string the way EIA sends it.
//! What is stored is checked against the raw files read here, and the weekly
//! series against the storage file's own parser.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use carbon_ingest::{
    connector::{Connector, ConnectorConfig, PollJob, Wants},
    eia::{EiaContent, parse_storage},
    eia_api::{EiaApiConfig, EiaSeries},
    http::HttpConfig,
    sync::Step,
};
use carbon_store::{FundamentalQuery, FundamentalStore, RunStatus};
use carbon_testkit::{Hit, HttpServer, Reply};
use chrono::{DateTime, NaiveDate, Utc};

const KEY: &str = "test-key-123";
const PER_PAGE: usize = 100;

fn fundamentals_file(name: &str) -> std::path::PathBuf {
    super::fixtures().join("../fundamentals").join(name)
}

/// `(period, value)` of the Henry Hub file (an empty price is `None`).
fn henry_hub_rows() -> Vec<(String, Option<f64>)> {
    let text = std::fs::read_to_string(fundamentals_file(
        "henry_hub_spot_daily_eia_1997-01-07_2026-08-18.csv",
    ))
    .unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (d, v) = l.trim_end().split_once(',').unwrap();
            (d.to_string(), v.trim().parse().ok())
        })
        .collect()
}

/// `(week ending as YYYY-MM-DD, Total Lower 48)` of the storage file.
fn storage_rows() -> Vec<(String, Option<f64>)> {
    let text = std::fs::read_to_string(fundamentals_file(
        "ng_storage_weekly_by_region_eia_2010-01-01_2024-04-12.csv",
    ))
    .unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cells: Vec<&str> = l.trim_end().split(',').collect();
            let d = NaiveDate::parse_from_str(cells[0], "%d-%b-%y").unwrap();
            (d.to_string(), cells[8].parse().ok())
        })
        .collect()
}

/// The stand-in API: `fault` answers instead when it returns a reply.
fn stand_in(
    series: &'static str,
    rows: Vec<(String, Option<f64>)>,
    fault: impl Fn(&Hit) -> Option<Reply> + Send + Sync + 'static,
) -> HttpServer {
    HttpServer::start(move |hit, _| {
        if let Some(r) = fault(hit) {
            return r;
        }
        if hit.param("api_key") != Some(KEY) {
            return Reply::ok(r#"{"error":"API_KEY_INVALID: an invalid api_key was supplied"}"#);
        }
        if hit.param("facets[series][]") != Some(series) || hit.param("data[0]") != Some("value") {
            return Reply::status(400);
        }
        let (start, end) = (hit.param("start").unwrap(), hit.param("end").unwrap());
        let found: Vec<&(String, Option<f64>)> = rows
            .iter()
            .filter(|(p, _)| p.as_str() >= start && p.as_str() <= end)
            .collect();
        let offset: usize = hit.param("offset").unwrap().parse().unwrap();
        let length: usize = hit.param("length").unwrap().parse().unwrap();
        let data: Vec<serde_json::Value> = found
            .iter()
            .skip(offset)
            .take(length.min(PER_PAGE))
            .map(|(p, v)| serde_json::json!({"period": p, "series": series, "value": v, "units": "x"}))
            .collect();
        Reply::ok(
            serde_json::json!({"response": {"total": found.len().to_string(), "data": data}})
                .to_string(),
        )
    })
}

fn config(server: &HttpServer, key: &str, series: EiaSeries) -> EiaApiConfig {
    EiaApiConfig {
        url: server.url("/v2"),
        api_key: Some(key.into()),
        series: vec![series],
        poll_days: 14,
        spacing_secs: 0.0,
    }
}

/// The default configuration's first series.
fn henry_hub() -> EiaSeries {
    let s = EiaApiConfig::default().series[0].clone();
    assert_eq!(
        (s.series.as_str(), s.entity.as_str()),
        ("RNGWHHD", "Henry Hub")
    );
    s
}

fn connector(cfg: EiaApiConfig) -> Arc<dyn Connector> {
    ConnectorConfig::Eia(cfg).build(&HttpConfig {
        retries: 0,
        timeout_secs: 10.0,
        ..Default::default()
    })
}

use super::live::{Env, env, rt};

trait Points {
    fn points(
        &self,
        entity: &str,
        variable: &str,
        from: &str,
        to: &str,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>, f64)>;
}

impl Points for Env {
    fn points(
        &self,
        entity: &str,
        variable: &str,
        from: &str,
        to: &str,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>, f64)> {
        let t = |d: &str| {
            d.parse::<NaiveDate>()
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
        };
        rt().block_on(self.store.fundamentals(FundamentalQuery {
            entity: entity.into(),
            variable: variable.into(),
            start: Some(t(from)),
            end: Some(t(to)),
            ..Default::default()
        }))
        .unwrap()
        .into_iter()
        .map(|p| (p.interval_start, p.interval_end, p.value))
        .collect()
    }
}

fn day(d: &str) -> DateTime<Utc> {
    d.parse::<NaiveDate>()
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
}

fn date(d: &str) -> NaiveDate {
    d.parse().unwrap()
}

#[test]
fn backfill_stores_every_period_of_the_real_file_once_per_request_and_resumes() {
    let rows = henry_hub_rows();
    let server = stand_in("RNGWHHD", rows.clone(), |_| None);
    let c = connector(config(&server, KEY, henry_hub()));
    let plan = c
        .plan_backfill(date("2017-07-01"), date("2019-12-31"), &[])
        .unwrap();
    let keys: Vec<&str> = plan.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "eia/RNGWHHD/2017-07-01..2017-12-31",
            "eia/RNGWHHD/2018-01-01..2018-12-31",
            "eia/RNGWHHD/2019-01-01..2019-12-31"
        ]
    );
    assert!(plan.iter().all(|r| r.settles && r.market_run().is_none()));
    assert_eq!(
        (plan[0].window_start, plan[0].window_end),
        (day("2017-07-01"), day("2018-01-01"))
    );
    assert!(
        matches!(&plan[1].wants, Wants::Fundamentals(s) if s.entity == "Henry Hub" && s.frequency == "daily")
    );
    // The key is added when fetching, never carried by a request.
    assert!(plan.iter().all(|r| !r.full_url().contains("api_key")));

    let e = env();
    let (report, steps) = e.execute(c.clone(), plan.clone(), false);
    assert_eq!((report.ingested, report.failed), (3, 0), "{steps:?}");

    // The raw file, read here: every dated price in range, the empty one missing.
    let in_range = |from: &str, to: &str| -> Vec<&(String, Option<f64>)> {
        rows.iter()
            .filter(|(d, _)| d.as_str() >= from && d.as_str() <= to)
            .collect()
    };
    let raw = in_range("2017-07-01", "2019-12-31");
    let expected: Vec<(DateTime<Utc>, DateTime<Utc>, f64)> = raw
        .iter()
        .filter_map(|(d, v)| v.map(|v| (day(d), day(d) + chrono::Duration::days(1), v)))
        .collect();
    assert_eq!(
        expected.len() + 1,
        raw.len(),
        "the file has one empty price (2018-01-05)"
    );
    assert_eq!(
        e.points("Henry Hub", "spot_price", "2017-01-01", "2020-06-01"),
        expected
    );
    assert_eq!(report.rows_accepted, expected.len() as u64);

    // One run per request, over its window, counting the missing value.
    let runs: Vec<_> = steps
        .iter()
        .map(|s| match s {
            Step::Ran(r) => r.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(runs[1].connector, "eia");
    assert_eq!(runs[1].status, RunStatus::Ok);
    assert_eq!(runs[1].window_start, Some(day("2018-01-01")));
    assert_eq!(
        runs[1].rows_accepted as usize,
        in_range("2018-01-01", "2018-12-31").len() - 1
    );
    assert_eq!(runs[1].quality.as_ref().unwrap()["missing_values"], 1);
    assert!(
        runs.iter()
            .all(|r| !r.source.contains("api_key") && !r.source.contains(KEY))
    );

    // Every page was asked for with the key, bracketed parameters and an offset
    // that follows the rows received; no request took a page more than it needed.
    let hits = server.hits();
    let pages: usize = [
        ("2017-07-01", "2017-12-31"),
        ("2018-01-01", "2018-12-31"),
        ("2019-01-01", "2019-12-31"),
    ]
    .iter()
    .map(|(a, b)| in_range(a, b).len().div_ceil(PER_PAGE))
    .sum();
    assert_eq!(hits.len(), pages);
    assert!(
        hits.iter()
            .all(|h| h.path == "/v2/natural-gas/pri/fut/data/"
                && h.param("api_key") == Some(KEY)
                && h.param("frequency") == Some("daily")
                && h.param("sort[0][column]") == Some("period"))
    );
    let offsets: Vec<&str> = hits
        .iter()
        .filter(|h| h.param("start") == Some("2018-01-01"))
        .map(|h| h.param("offset").unwrap())
        .collect();
    assert_eq!(offsets, ["0", "100", "200"]);

    // Run again: every window is final and checkpointed, nothing is fetched.
    let (again, steps) = e.execute(c, plan, false);
    assert_eq!(again.already_done, 3);
    assert!(steps.iter().all(|s| matches!(s, Step::Done(_))));
    assert_eq!(server.hits().len(), pages);
}

#[test]
fn a_failing_page_stores_nothing_of_its_request_and_the_next_run_completes_it() {
    let rows = henry_hub_rows();
    let broken = Arc::new(AtomicBool::new(true));
    let b = broken.clone();
    let server = stand_in("RNGWHHD", rows.clone(), move |hit| {
        (b.load(Ordering::SeqCst)
            && hit.param("start") == Some("2019-01-01")
            && hit.param("offset") == Some("200"))
        .then(|| Reply::status(503))
    });
    let c = connector(config(&server, KEY, henry_hub()));
    let plan = c
        .plan_backfill(date("2018-01-01"), date("2020-12-31"), &[])
        .unwrap();
    let e = env();
    let (report, steps) = e.execute(c.clone(), plan.clone(), false);
    assert_eq!((report.ingested, report.failed), (2, 1), "{steps:?}");
    let Step::Ran(failed) = &steps[1] else {
        panic!("{steps:?}")
    };
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(
        failed.error.as_deref().unwrap().contains("503"),
        "{failed:?}"
    );
    // Two pages of 2019 arrived, none was stored: the request is one batch.
    assert!(
        e.points("Henry Hub", "spot_price", "2019-01-01", "2020-01-01")
            .is_empty()
    );
    assert!(
        !e.points("Henry Hub", "spot_price", "2020-01-01", "2021-01-01")
            .is_empty()
    );

    broken.store(false, Ordering::SeqCst);
    let (again, _) = e.execute(c, plan, false);
    assert_eq!((again.already_done, again.ingested), (2, 1));
    let raw_2019 = rows
        .iter()
        .filter(|(d, v)| d.starts_with("2019-") && v.is_some())
        .count();
    assert_eq!(
        e.points("Henry Hub", "spot_price", "2019-01-01", "2020-01-01")
            .len(),
        raw_2019
    );
}

#[test]
fn an_eia_error_answer_is_a_failed_run_with_its_message_and_no_key() {
    let server = stand_in("RNGWHHD", henry_hub_rows(), |_| None);
    let c = connector(config(&server, "wrong-key-456", henry_hub()));
    let plan = c
        .plan_backfill(date("2024-01-01"), date("2024-01-31"), &[])
        .unwrap();
    let e = env();
    let (report, steps) = e.execute(c, plan, false);
    assert_eq!(report.failed, 1);
    let Step::Ran(run) = &steps[0] else {
        panic!("{steps:?}")
    };
    let error = run.error.as_deref().unwrap();
    assert!(error.contains("API_KEY_INVALID"), "{error}");
    assert!(!error.contains("wrong-key-456") && !run.source.contains("wrong-key-456"));
}

#[test]
fn weekly_storage_from_the_api_equals_the_storage_file_parsed_directly() {
    let server = stand_in("NW2_EPG0_SWO_R48_BCF", storage_rows(), |_| None);
    let series = EiaApiConfig::default().series[1].clone();
    assert_eq!(series.series, "NW2_EPG0_SWO_R48_BCF");
    let c = connector(config(&server, KEY, series));
    let plan = c
        .plan_backfill(date("2010-01-01"), date("2024-04-12"), &[])
        .unwrap();
    assert_eq!(plan.len(), 15);
    let e = env();
    let (report, steps) = e.execute(c, plan, false);
    assert_eq!(report.ingested, 15, "{steps:?}");
    let via_api = e.points("Total Lower 48", "storage", "2009-12-01", "2024-05-01");

    let path = fundamentals_file("ng_storage_weekly_by_region_eia_2010-01-01_2024-04-12.csv");
    let EiaContent::Fundamentals(f) =
        parse_storage(&std::fs::read(&path).unwrap(), "file", Utc::now()).unwrap()
    else {
        panic!("not fundamentals")
    };
    let from_file: Vec<(DateTime<Utc>, DateTime<Utc>, f64)> = f
        .points
        .iter()
        .filter(|p| p.entity == "Total Lower 48")
        .map(|p| (p.interval_start, p.interval_end, p.value))
        .collect();
    assert_eq!(from_file.len(), 746);
    assert_eq!(via_api, from_file);
    // Week ending Friday 2010-01-01 covers Saturday 2009-12-26 to Saturday 2010-01-02.
    assert_eq!(
        (via_api[0].0, via_api[0].1, via_api[0].2),
        (day("2009-12-26"), day("2010-01-02"), 3117.0)
    );
}

#[test]
fn polls_ask_for_the_recent_periods_and_never_settle() {
    let server = stand_in("RNGWHHD", Vec::new(), |_| None);
    let c = connector(config(&server, KEY, henry_hub()));
    let now: DateTime<Utc> = "2026-12-05T15:00:00Z".parse().unwrap();
    let poll = c.plan_poll(PollJob::Fundamentals, now);
    assert_eq!(poll.len(), 1);
    assert_eq!(poll[0].key, "eia/RNGWHHD/2026-11-21..2026-12-05");
    assert!(!poll[0].settles);
    assert_eq!(poll[0].query_value("start"), "2026-11-21");
    assert!(c.plan_poll(PollJob::DayAhead, now).is_empty());
    assert!(c.market().is_none() && c.missing_credentials().is_none());
    let err = c.plan_backfill(
        date("2024-01-01"),
        date("2024-01-02"),
        &["da".parse().unwrap()],
    );
    assert!(err.unwrap_err().to_string().contains("no market runs"));
    // A window within the revision period stays open for a backfill too.
    let recent = c
        .plan_backfill(
            Utc::now().date_naive() - chrono::Duration::days(3),
            Utc::now().date_naive(),
            &[],
        )
        .unwrap();
    assert!(!recent[0].settles);

    let mut no_key = config(&server, "", henry_hub());
    no_key.api_key = None;
    if std::env::var_os("CARBON_EIA_API_KEY").is_none() {
        let c = connector(no_key);
        assert!(
            c.missing_credentials()
                .unwrap()
                .contains("CARBON_EIA_API_KEY")
        );
    }
}
