//! Fundamentals, research analytics and backtests over HTTP, on the real EIA
//! fixtures loaded through the runner: as-of reads, every analysis stored
//! with its run, bad input as 4xx naming the parameter, entitlements, and a
//! backtest that never reads a vintage published after its evaluation time.

use std::{path::Path, sync::Arc};

use carbon_ingest::{bus::InProcessBus, dq::DqConfig, files, runner::Runner};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::api::{Resp, Server, get, hub, hub_login, request, start};

pub(crate) fn fundamentals_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/fundamentals")
}

pub(crate) fn load(s: &Server, path: &Path, vintage: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let runner = Runner::new(
        s.store.clone(),
        s.store.clone(),
        Arc::new(InProcessBus::default()),
        DqConfig::default(),
    )
    .with_fundamentals(s.store.clone());
    let v: DateTime<Utc> = vintage.parse().unwrap();
    let out = rt
        .block_on(runner.ingest("file", files::read(path, Some(v)).unwrap(), None))
        .unwrap();
    assert!(
        matches!(out, carbon_ingest::runner::Outcome::Run(ref r) if r.error.is_none()),
        "{out:?}"
    );
}

fn post(s: &Server, path: &str, body: &Value) -> Resp {
    request(s, "POST", path, &[("x-api-key", &s.key)], Some(body))
}

fn enc(v: &str) -> String {
    v.replace(' ', "%20").replace('/', "%2F")
}

#[test]
fn fundamentals_and_every_analysis_over_http() {
    let s = start();
    for f in [
        "henry_hub_spot_daily_eia_1997-01-07_2026-08-18.csv",
        "ng_storage_weekly_by_region_eia_2010-01-01_2024-04-12.csv",
        "miso_temp_hr_2021_eia.csv",
        "miso_lmp_rt_hr_hubs_2021_eia.csv",
    ] {
        load(&s, &fundamentals_dir().join(f), "2026-11-01T00:00:00Z");
    }
    // Henry Hub in February 2021: the rows of the raw file, then the month's max.
    let raw = std::fs::read_to_string(
        fundamentals_dir().join("henry_hub_spot_daily_eia_1997-01-07_2026-08-18.csv"),
    )
    .unwrap();
    let feb: Vec<f64> = raw
        .lines()
        .filter(|l| l.starts_with("2021-02-"))
        .filter_map(|l| l.trim_end().split(',').nth(1)?.parse().ok())
        .collect();
    let q = format!(
        "/api/v1/fundamentals?entity={}&variable=spot_price&start=2021-02-01&end=2021-03-01",
        enc("Henry Hub")
    );
    let r = get(&s, &q);
    assert_eq!(r.status, 200, "{}", r.body);
    let data = r.json()["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), feb.len());
    assert_eq!(r.json()["unit"], "USD/MMBtu");
    let r = get(&s, &format!("{q}&resample=1mo&agg=max"));
    assert_eq!(
        r.json()["data"][0]["value"].as_f64().unwrap(),
        feb.iter().copied().fold(0.0, f64::max)
    );
    // As of a time before the load, nothing was known.
    let r = get(&s, &format!("{q}&as_of=2026-10-01T00:00:00Z"));
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 0);
    let series = get(&s, "/api/v1/fundamentals/series").json();
    assert!(
        series["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["entity"] == "Total Lower 48")
    );
    let csv = get(&s, &format!("{q}&format=csv"));
    assert_eq!(csv.body.lines().count(), feb.len() + 1);

    // Decomposition of weekly storage: strong annual seasonality.
    let r = post(
        &s,
        "/api/v1/research/decompose",
        &json!({
            "series": {"entity": "Total Lower 48", "variable": "storage"}, "periods": [52]
        }),
    );
    assert_eq!(r.status, 201, "{}", short(&r.body));
    let stl = r.json();
    assert!(stl["run_id"].as_str().unwrap().starts_with("rr_"));
    assert_eq!(stl["kind"], "stl");
    assert!(
        stl["model_version"]
            .as_str()
            .unwrap()
            .starts_with("carbon-research")
    );
    assert!(
        stl["output"]["decomposition"]["seasonal"][0]["strength"]
            .as_f64()
            .unwrap()
            > 0.8
    );
    assert_eq!(stl["output"]["times"].as_array().unwrap().len(), 746);

    // Regimes of daily Indiana prices: February 2021 in the volatile regime.
    let r = post(
        &s,
        "/api/v1/research/regimes",
        &json!({
            "series": {"instrument_id": "MISO.INDIANA.HUB", "market_run": "rt", "resample": "1d",
                       "start": "2021-01-01T05:00:00Z", "end": "2022-01-01T05:00:00Z"},
            "transform": "log_return", "candidates": [{"k": 2, "switching_variance": true}]
        }),
    );
    assert_eq!(r.status, 201, "{}", short(&r.body));
    let out = &r.json()["output"];
    let times = out["times"].as_array().unwrap();
    let smoothed = out["model"]["smoothed"].as_array().unwrap();
    assert_eq!(times.len(), smoothed.len());
    let i = times
        .iter()
        .position(|t| t == "2021-02-16T05:00:00Z")
        .unwrap();
    assert!(smoothed[i][1].as_f64().unwrap() > 0.5, "{}", smoothed[i]);

    // Weather: Indiana RT prices on Indianapolis degree days.
    let r = post(
        &s,
        "/api/v1/research/weather",
        &json!({
            "target": {"instrument_id": "MISO.INDIANA.HUB", "market_run": "rt"},
            "temperature": {"entity": "Indianapolis", "variable": "temperature"},
            "options": {"quantiles": [0.1, 0.9]}
        }),
    );
    assert_eq!(r.status, 201, "{}", short(&r.body));
    let w = &r.json()["output"]["impact"];
    assert_eq!(w["ols"]["nobs"], 8_759);
    assert!(
        w["ols"]["coefs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "cdd" && c["p"].as_f64().unwrap() < 0.01)
    );

    // Storage balance with the Henry Hub price.
    let r = post(
        &s,
        "/api/v1/research/balance",
        &json!({
            "storage": {"entity": "Total Lower 48", "variable": "storage"},
            "price": {"entity": "Henry Hub", "variable": "spot_price"}, "window": 26
        }),
    );
    assert_eq!(r.status, 201, "{}", short(&r.body));
    let b = &r.json()["output"];
    assert!(
        !b["storage"]["balance"]["shocks"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        b["price_inventory_correlation"]["rolling"]
            .as_array()
            .unwrap()
            .len()
            > 100
    );

    // Stored, listed newest first, readable in full.
    let runs = get(&s, "/api/v1/research/runs").json();
    let kinds: Vec<&str> = runs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["balance", "weather", "regimes", "stl"]);
    let one = get(
        &s,
        &format!("/api/v1/research/runs/{}", stl["run_id"].as_str().unwrap()),
    )
    .json();
    assert_eq!(one["params"]["periods"], json!([52]));

    // Bad input: 4xx naming the parameter, never 5xx.
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"series": {"entity": "Total Lower 48", "variable": "storage"}, "periods": []}),
            400,
            "periods",
        ),
        (json!({"series": {}, "periods": [12]}), 400, "series"),
        (
            json!({"series": {"entity": "Total Lower 48", "variable": "storage", "start": "2030-01-01"}, "periods": [52]}),
            422,
            "series",
        ),
        (
            json!({"series": {"entity": "Total Lower 48", "variable": "storage"}, "periods": [52], "stl": {"seasonal": 8}}),
            422,
            "seasonal",
        ),
        (
            json!({"series": {"entity": "Total Lower 48", "variable": "storage", "end": "2011-01-01"}, "periods": [52]}),
            422,
            "series",
        ),
        (json!({"periods": "x"}), 400, "body"),
    ];
    for (body, status, param) in cases {
        let r = post(&s, "/api/v1/research/decompose", &body);
        assert_eq!(r.status, status, "{body}: {}", short(&r.body));
        assert_eq!(r.json()["param"], param, "{body}: {}", short(&r.body));
    }
    let r = post(
        &s,
        "/api/v1/research/weather",
        &json!({
            "target": {"instrument_id": "MISO.INDIANA.HUB", "market_run": "rt"},
            "temperature": {"entity": "Indianapolis", "variable": "temperature"},
            "options": {"terms": ["temp", "hdd", "cdd"], "quantiles": []}
        }),
    );
    assert_eq!(r.status, 422, "{}", short(&r.body));
    assert!(
        r.body.contains("singular") && r.body.contains("recorded as failed run"),
        "{}",
        r.body
    );

    // Entitlements. pilot_miso (every MISO product) may analyse MISO prices
    // but not market-wide series (gas, weather), and sees only the runs that
    // touch MISO alone; pilot_caiso (CAISO hub LMPs only) may analyse nothing.
    let cookie = |user: &str| {
        let pw = s.accounts.iter().find(|a| a.0 == user).unwrap().1.clone();
        hub_login(&s, user, &pw)
    };
    let miso = cookie("miso_demo");
    let as_miso = |method: &str, path: &str, body: Option<&Value>| {
        request(&s, method, path, &hub(&miso), body)
    };
    assert_eq!(as_miso("GET", &q, None).status, 403);
    let storage =
        json!({"series": {"entity": "Total Lower 48", "variable": "storage"}, "periods": [52]});
    assert_eq!(
        as_miso("POST", "/api/v1/research/decompose", Some(&storage)).status,
        403
    );
    let price = json!({"series": {"instrument_id": "MISO.INDIANA.HUB", "market_run": "rt", "resample": "1d"}, "periods": [7]});
    let r = as_miso("POST", "/api/v1/research/decompose", Some(&price));
    assert_eq!(r.status, 201, "{}", short(&r.body));
    let mine: Vec<String> = as_miso("GET", "/api/v1/research/runs", None).json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(mine, vec!["stl", "regimes"]);
    let other = get(
        &s,
        &format!("/api/v1/research/runs/{}", stl["run_id"].as_str().unwrap()),
    );
    assert_eq!(other.status, 200);
    let r = as_miso(
        "GET",
        &format!("/api/v1/research/runs/{}", stl["run_id"].as_str().unwrap()),
        None,
    );
    assert_eq!(r.status, 403, "{}", short(&r.body));
    let caiso = cookie("caiso_demo");
    let r = request(
        &s,
        "POST",
        "/api/v1/research/decompose",
        &hub(&caiso),
        Some(&price),
    );
    assert_eq!(r.status, 403, "{}", short(&r.body));
}

fn short(body: &str) -> &str {
    &body[..body.len().min(400)]
}

/// (UTC interval end, LMP) of Indiana Hub in the raw EIA file, read here by hand.
fn indiana_rt_raw() -> Vec<(DateTime<Utc>, f64)> {
    let raw = std::fs::read_to_string(fundamentals_dir().join("miso_lmp_rt_hr_hubs_2021_eia.csv"))
        .unwrap();
    let header: Vec<&str> = raw.lines().nth(3).unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "Indiana Hub LMP").unwrap();
    raw.lines()
        .skip(4)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                NaiveDateTime::parse_from_str(f[0], "%Y-%m-%d %H:%M:%S")
                    .unwrap()
                    .and_utc(),
                f[col].parse().unwrap(),
            )
        })
        .collect()
}

/// The raw file with Indiana Hub's February 2021 LMPs raised by `bump`.
fn revised_miso(bump: f64) -> String {
    let raw = std::fs::read_to_string(fundamentals_dir().join("miso_lmp_rt_hr_hubs_2021_eia.csv"))
        .unwrap();
    let header: Vec<&str> = raw.lines().nth(3).unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "Indiana Hub LMP").unwrap();
    raw.lines()
        .enumerate()
        .map(|(i, l)| {
            if i < 4 || !l.split(',').nth(3).unwrap_or("").starts_with("2021-02-") {
                return l.to_string();
            }
            let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
            f[col] = format!("{:.2}", f[col].parse::<f64>().unwrap() + bump);
            f.join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn a_backtest_reads_realised_prices_as_of_its_evaluation_time() {
    let s = start();
    let dir = tempfile::tempdir().unwrap();
    let original = fundamentals_dir().join("miso_lmp_rt_hr_hubs_2021_eia.csv");
    // LABELLED: the vintages are fictitious publication times, the first
    // before the forecast origin so the baseline can read its history.
    load(&s, &original, "2021-01-20T00:00:00Z");
    let revised = dir.path().join("miso_lmp_rt_hr_hubs_2021_revised.csv");
    std::fs::write(&revised, revised_miso(10.0)).unwrap();
    load(&s, &revised, "2022-03-01T00:00:00Z");

    // By hand from the raw file: the persistence forecast is the last hour
    // before the origin's end (HE24 EST of 2021-01-31, UTC end 2021-02-01
    // 05:00); the realised February mean over the EST month.
    let rows = indiana_rt_raw();
    let forecast = rows
        .iter()
        .find(|r| r.0.to_rfc3339() == "2021-02-01T05:00:00+00:00")
        .unwrap()
        .1;
    let feb_start: DateTime<Utc> = "2021-02-01T06:00:00Z".parse().unwrap(); // end of HE1 EST
    let feb_end: DateTime<Utc> = "2021-03-01T05:00:00Z".parse().unwrap();
    let feb: Vec<f64> = rows
        .iter()
        .filter(|r| r.0 >= feb_start && r.0 <= feb_end)
        .map(|r| r.1)
        .collect();
    assert_eq!(feb.len(), 28 * 24);
    let actual_v1 = feb.iter().sum::<f64>() / feb.len() as f64;
    let actual_v2 = actual_v1 + 10.0;

    let body = |evaluated_at: &str| {
        json!({
            "instrument_id": "MISO.INDIANA.HUB", "market_run": "rt", "as_of_dates": ["2021-01-31"],
            "baselines": ["persistence"], "granularity": "month", "horizon_days": 28,
            "evaluated_at": evaluated_at, "gate": [{"contains": "|M1-3", "max_mape": 12.0}]
        })
    };
    for (evaluated_at, actual) in [
        ("2022-02-01T00:00:00Z", actual_v1),
        ("2022-06-01T00:00:00Z", actual_v2),
    ] {
        let r = post(&s, "/api/v1/backtests", &body(evaluated_at));
        assert_eq!(r.status, 201, "{}", short(&r.body));
        let o = &r.json()["output"];
        let pairs = o["pairs"].as_array().unwrap();
        assert_eq!(pairs.len(), 1, "{}", short(&o.to_string()));
        assert!(
            (pairs[0]["forecast"].as_f64().unwrap() - forecast).abs() < 1e-9,
            "{}",
            pairs[0]
        );
        assert!(
            (pairs[0]["actual"].as_f64().unwrap() - actual).abs() < 1e-6,
            "{} vs {actual}",
            pairs[0]
        );
        let m = &o["metrics"]["MISO|INDIANA.HUB|flat|persistence|M1-3"];
        let mape = 100.0 * (forecast - actual).abs() / actual;
        assert!((m["mape"].as_f64().unwrap() - mape).abs() < 1e-6, "{m}");
        assert!(
            (m["bias"].as_f64().unwrap() - (forecast - actual)).abs() < 1e-6,
            "{m}"
        );
        assert_eq!(o["gate"]["pass"].as_bool().unwrap(), mape <= 12.0);
    }
    let listed = get(&s, "/api/v1/backtests").json();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    // Nothing ended by the evaluation time: a clear 422, recorded.
    let r = post(&s, "/api/v1/backtests", &body("2021-02-10T00:00:00Z"));
    assert_eq!(r.status, 422, "{}", short(&r.body));
    assert_eq!(r.json()["param"], "evaluated_at");
}

#[test]
fn a_stored_curve_is_backtested_month_by_month_against_realised_prices() {
    let s = start();
    // A monthly curve for H1 2021 marked on 2020-12-31 (made-up quotes).
    let quotes = [
        (1, 31, 30.0),
        (2, 28, 40.0),
        (3, 31, 25.0),
        (4, 30, 22.0),
        (5, 31, 24.0),
        (6, 30, 30.0),
    ];
    let contracts: Vec<Value> = quotes
        .iter()
        .map(|(m, d, p)| json!({"name": format!("2021-{m:02}"), "start": format!("2021-{m:02}-01"), "end": format!("2021-{m:02}-{d}"), "price": p}))
        .collect();
    let r = post(
        &s,
        "/api/v1/curves/build",
        &json!({
            "curve_id": "MISO_IND_H1", "market": "MISO", "trade_date": "2020-12-31", "grid": "monthly", "contracts": contracts
        }),
    );
    assert_eq!(r.status, 201, "{}", short(&r.body));
    load(
        &s,
        &fundamentals_dir().join("miso_lmp_rt_hr_hubs_2021_eia.csv"),
        "2022-01-10T00:00:00Z",
    );
    // Realised monthly means by hand from the raw file (EST months: UTC interval
    // ends from 06:00 on the 1st to 05:00 on the next 1st).
    let rows = indiana_rt_raw();
    let month_mean = |m: u32| {
        let a: DateTime<Utc> = format!("2021-{m:02}-01T06:00:00Z").parse().unwrap();
        let b: DateTime<Utc> = format!("2021-{:02}-01T05:00:00Z", m + 1).parse().unwrap();
        let v: Vec<f64> = rows
            .iter()
            .filter(|r| r.0 >= a && r.0 <= b)
            .map(|r| r.1)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let r = post(
        &s,
        "/api/v1/backtests",
        &json!({
            "instrument_id": "MISO.INDIANA.HUB", "market_run": "rt", "curve_id": "MISO_IND_H1",
            "evaluated_at": "2022-06-01T00:00:00Z"
        }),
    );
    assert_eq!(r.status, 201, "{}", short(&r.body));
    let o = &r.json()["output"];
    let pairs = o["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 6);
    let mut ape = Vec::new();
    for (i, (m, _, p)) in quotes.iter().enumerate() {
        assert!(
            (pairs[i]["forecast"].as_f64().unwrap() - p).abs() < 1e-6,
            "{}",
            pairs[i]
        );
        let actual = month_mean(*m);
        assert!(
            (pairs[i]["actual"].as_f64().unwrap() - actual).abs() < 1e-6,
            "{} vs {actual}",
            pairs[i]
        );
        ape.push(100.0 * (p - actual).abs() / actual);
    }
    let q1 = &o["metrics"]["MISO|INDIANA.HUB|flat|MISO_IND_H1|M1-3"];
    let q2 = &o["metrics"]["MISO|INDIANA.HUB|flat|MISO_IND_H1|M4-6"];
    assert!(
        (q1["mape"].as_f64().unwrap() - ape[..3].iter().sum::<f64>() / 3.0).abs() < 1e-6,
        "{q1}"
    );
    assert!(
        (q2["mape"].as_f64().unwrap() - ape[3..].iter().sum::<f64>() / 3.0).abs() < 1e-6,
        "{q2}"
    );
    // The default gate: MAPE ≤ 12 % for months 1–6, pass or fail with the numbers.
    let lines = o["gate"]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        o["gate"]["pass"].as_bool().unwrap(),
        ape[..3].iter().sum::<f64>() / 3.0 <= 12.0 && ape[3..].iter().sum::<f64>() / 3.0 <= 12.0
    );
    // Contract by contract: a flat quarter and an on-peak quarter, each scored
    // over its own delivery and block (an hourly curve tells the blocks apart).
    let r = post(
        &s,
        "/api/v1/curves/build",
        &json!({
            "curve_id": "MISO_IND_Q", "market": "MISO", "trade_date": "2020-12-31", "grid": "hourly",
            "contracts": [
                {"name": "Q1-21", "start": "2021-01-01", "end": "2021-03-31", "price": 30.0},
                {"name": "Q2-21 on", "start": "2021-04-01", "end": "2021-06-30", "price": 33.0, "block": "onpeak"},
                {"name": "Q2-21", "start": "2021-04-01", "end": "2021-06-30", "price": 27.0}
            ]
        }),
    );
    assert_eq!(r.status, 201, "{}", short(&r.body));
    let r = post(
        &s,
        "/api/v1/backtests",
        &json!({
            "instrument_id": "MISO.INDIANA.HUB", "market_run": "rt", "curve_id": "MISO_IND_Q",
            "granularity": "contract", "evaluated_at": "2022-06-01T00:00:00Z"
        }),
    );
    assert_eq!(r.status, 201, "{}", short(&r.body));
    let o = &r.json()["output"];
    let pairs = o["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 3, "{}", short(&o.to_string()));
    // By hand: MISO's on-peak is HE7–HE22 EST on weekdays but NERC holidays
    // (Memorial Day, 2021-05-31, in this quarter).
    use chrono::{Datelike, Timelike};
    let est = |t: DateTime<Utc>| t - chrono::Duration::hours(5);
    let q = |from: &str, to: &str, onpeak: bool| {
        let (a, b): (DateTime<Utc>, DateTime<Utc>) = (from.parse().unwrap(), to.parse().unwrap());
        let v: Vec<f64> = rows
            .iter()
            .map(|r| (r.0 - chrono::Duration::hours(1), r.1)) // interval start
            .filter(|(t, _)| *t >= a && *t < b)
            .filter(|(t, _)| {
                let l = est(*t);
                !onpeak
                    || (l.weekday().num_days_from_monday() < 5
                        && (6..=21).contains(&l.hour())
                        && l.date_naive().to_string() != "2021-05-31")
            })
            .map(|(_, v)| v)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let expect = [
        (
            "Q1-21",
            q("2021-01-01T05:00:00Z", "2021-04-01T05:00:00Z", false),
        ),
        (
            "Q2-21 on",
            q("2021-04-01T05:00:00Z", "2021-07-01T05:00:00Z", true),
        ),
        (
            "Q2-21",
            q("2021-04-01T05:00:00Z", "2021-07-01T05:00:00Z", false),
        ),
    ];
    for (name, actual) in expect {
        let p = pairs.iter().find(|p| p["contract"] == name).unwrap();
        assert!(
            (p["actual"].as_f64().unwrap() - actual).abs() < 1e-6,
            "{name}: {} vs {actual}",
            p["actual"]
        );
    }
    assert!(
        o["metrics"]["MISO|INDIANA.HUB|onpeak|MISO_IND_Q|M4-6"]["n"] == 1,
        "{}",
        short(&o["metrics"].to_string())
    );

    // An unknown curve is a 404, not an empty success.
    let r = post(
        &s,
        "/api/v1/backtests",
        &json!({"instrument_id": "MISO.INDIANA.HUB", "curve_id": "NOPE"}),
    );
    assert_eq!(r.status, 404, "{}", short(&r.body));
}
