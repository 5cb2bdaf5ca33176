//! Forward curves over HTTP: build, store, lineage, the forward query at
//! coarser granularities and blocks, bad input, entitlements, and a shape
//! taken from the stored MISO day-ahead fixture.

use serde_json::{Value, json};

use super::api::{Server, get, hub, hub_login, request, start};

const MONTHS: [(u32, u32, f64); 12] = [
    (1, 31, 62.0),
    (2, 28, 58.5),
    (3, 31, 47.25),
    (4, 30, 39.8),
    (5, 31, 35.1),
    (6, 30, 41.0),
    (7, 31, 66.3),
    (8, 31, 71.9),
    (9, 30, 52.4),
    (10, 31, 44.0),
    (11, 30, 49.7),
    (12, 31, 60.2),
];

fn months() -> Vec<Value> {
    MONTHS
        .iter()
        .map(|(m, days, p)| {
            json!({ "name": format!("2027-{m:02}"), "start": format!("2027-{m:02}-01"),
                    "end": format!("2027-{m:02}-{days}"), "price": p })
        })
        .collect()
}

fn post(s: &Server, body: &Value) -> super::api::Resp {
    request(
        s,
        "POST",
        "/api/v1/curves/build",
        &[("x-api-key", &s.key)],
        Some(body),
    )
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

#[test]
fn build_store_lineage_and_forward_views() {
    let s = start();
    let body = json!({
        "curve_id": "MISO_IND_FWD", "market": "MISO", "trade_date": "2026-11-27",
        "grid": "daily", "contracts": months(),
    });
    let r = post(&s, &body);
    assert_eq!(r.status, 201, "{}", r.body);
    let built = r.json();
    let run_id = built["run_id"].as_str().unwrap().to_string();
    assert!(run_id.starts_with("cr_"), "{run_id}");
    let points = built["points"].as_array().unwrap();
    assert_eq!(points.len(), 365);
    // Real delivery periods on MISO's clock (EST): 2027-01-01 starts 05:00Z.
    assert_eq!(points[0]["delivery_start"], "2027-01-01T05:00:00Z");
    assert_eq!(points[0]["delivery_end"], "2027-01-02T05:00:00Z");
    assert_eq!(points[0]["tenor"], "2027-01-01");
    for c in built["report"]["contracts"].as_array().unwrap() {
        let (q, p) = (
            c["quoted"].as_f64().unwrap(),
            c["repriced"].as_f64().unwrap(),
        );
        assert!(rel(p, q) <= 1e-8, "{c}");
        assert!(c["dual"].is_number(), "{c}");
    }
    assert_eq!(built["report"]["solver"]["status"], "optimal");

    // The run: lineage, the inputs as given, the report.
    let run = get(&s, &format!("/api/v1/curves/runs/{run_id}"));
    assert_eq!(run.status, 200, "{}", run.body);
    let run = run.json();
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["curve_id"], "MISO_IND_FWD");
    assert_eq!(run["scenario_id"], "BASE");
    assert_eq!(run["as_of_date"], "2026-11-27");
    assert_eq!(run["points"], 365);
    assert_eq!(run["input_hash"], built["input_hash"]);
    assert_eq!(run["request"]["contracts"].as_array().unwrap().len(), 12);
    assert_eq!(run["report"]["run_id"], run_id.as_str());

    // Forward: stored daily, viewed monthly = the quotes; on-peak differs.
    let f = get(
        &s,
        "/api/v1/curves/forward?curve_id=MISO_IND_FWD&as_of_date=2026-11-27&granularity=monthly",
    );
    assert_eq!(f.status, 200, "{}", f.body);
    let months_view = f.json()["data"].as_array().unwrap().clone();
    assert_eq!(months_view.len(), 12);
    for (v, (m, _, p)) in months_view.iter().zip(MONTHS) {
        assert_eq!(v["tenor"], format!("2027-{m:02}"));
        assert!(rel(v["price"].as_f64().unwrap(), p) <= 1e-8, "{v}");
    }
    let on = get(
        &s,
        "/api/v1/curves/forward?curve_id=MISO_IND_FWD&granularity=monthly&block=onpeak",
    );
    assert_eq!(on.status, 200, "{}", on.body);
    let on = on.json();
    assert_eq!(on["block"], "onpeak");
    assert_eq!(on["run"]["run_id"], run_id.as_str());
    let july_on = on["data"][6]["price"].as_f64().unwrap();
    assert!(
        (july_on - 66.3).abs() > 1e-6 && (july_on - 66.3).abs() < 5.0,
        "{july_on}"
    );
    // CSV of the stored grid: the same numbers as the build answered.
    let csv = get(
        &s,
        "/api/v1/curves/forward?curve_id=MISO_IND_FWD&format=csv",
    );
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "delivery_start,delivery_end,tenor,price");
    assert_eq!(lines.len(), 366);
    let first: f64 = lines[1].rsplit(',').next().unwrap().parse().unwrap();
    assert_eq!(first, points[0]["price"].as_f64().unwrap());
    // Finer than stored is refused, naming the parameter.
    let fine = get(
        &s,
        "/api/v1/curves/forward?curve_id=MISO_IND_FWD&granularity=hourly",
    );
    assert_eq!(fine.status, 400, "{}", fine.body);
    assert_eq!(fine.json()["param"], "granularity");
    let none = get(&s, "/api/v1/curves/forward?curve_id=NOPE");
    assert_eq!(none.status, 404, "{}", none.body);

    // Same inputs: same hash, bit-identical points; the newer run is served.
    let again = post(&s, &body).json();
    assert_eq!(again["input_hash"], built["input_hash"]);
    assert_ne!(again["run_id"], built["run_id"]);
    assert_eq!(again["points"], built["points"]);
    let latest = get(&s, "/api/v1/curves/forward?curve_id=MISO_IND_FWD").json();
    assert_eq!(latest["run"]["run_id"], again["run_id"]);
    let list = get(&s, "/api/v1/curves?curve_id=MISO_IND_FWD").json();
    assert_eq!(list["data"].as_array().unwrap().len(), 2);

    // Without a curve id: built, not stored.
    let loose = post(
        &s,
        &json!({ "trade_date": "2026-11-27", "grid": "monthly", "contracts": months() }),
    );
    assert_eq!(loose.status, 200, "{}", loose.body);
    assert!(loose.json()["run_id"].is_null());
}

#[test]
fn bad_curve_input_names_the_contract_and_field_and_failures_are_recorded() {
    let s = start();
    let mut bad = months();
    bad[1]["end"] = json!("2027-01-15");
    for (body, status, says) in [
        (
            json!({ "trade_date": "2026-11-27", "grid": "daily", "contracts": bad }),
            422,
            "contracts[1].end",
        ),
        (
            json!({ "trade_date": "2026-11-27", "grid": "daily", "contracts": [] }),
            400,
            "contracts",
        ),
        (
            json!({ "trade_date": "2026-11-27", "grid": "weekly", "contracts": months() }),
            400,
            "grid",
        ),
        (
            json!({ "trade_date": "27/11/2026", "grid": "daily", "contracts": months() }),
            400,
            "trade_date",
        ),
        (
            json!({ "trade_date": "2026-11-27", "grid": "daily", "contracts": months(), "policy": "yolo" }),
            400,
            "policy",
        ),
        (
            json!({ "trade_date": "2026-11-27", "grid": "daily", "contracts": months(), "curve_id": "no spaces" }),
            400,
            "curve_id",
        ),
        (
            json!({ "trade_date": "2026-11-27", "grid": "daily", "contracts_csv": "name,start,end,price\nJan,2027-01-01,2027-01-31,abc\n" }),
            422,
            "contracts_csv",
        ),
        (
            json!({ "trade_date": "2026-11-27", "grid": "daily", "contracts": months(), "prior_csv": "date,value\n2027-01-01,1\n" }),
            422,
            "prior_csv",
        ),
        (
            json!({ "trade_date": "2026-11-27", "grid": "daily", "contracts": months(), "surprise": 1 }),
            422,
            "invalid_body",
        ),
    ] {
        let r = post(&s, &body);
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert!(r.body.contains(says), "{says}: {}", r.body);
    }
    // Contracts that leave the curve undetermined, and strict arbitrage
    // (stored as a failed run).
    let one = json!({ "trade_date": "2026-11-27", "grid": "daily", "contracts": [months()[0]] });
    let r = post(&s, &one);
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("2027-01"), "{}", r.body);
    let mut cal = months();
    cal.push(
        json!({ "name": "Cal-27", "start": "2027-01-01", "end": "2027-12-31", "price": 40.0 }),
    );
    let r = post(
        &s,
        &json!({ "curve_id": "ARB", "trade_date": "2026-11-27", "grid": "daily", "contracts": cal }),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("Cal-27") && r.body.contains("recorded as failed run cr_"),
        "{}",
        r.body
    );
    let failed = get(&s, "/api/v1/curves?curve_id=ARB&status=failed").json();
    assert_eq!(failed["data"][0]["status"], "failed");
    assert!(
        failed["data"][0]["error"]
            .as_str()
            .unwrap()
            .contains("arbitrage")
    );
    assert_eq!(get(&s, "/api/v1/curves/forward?curve_id=ARB").status, 404);
    assert_eq!(get(&s, "/api/v1/curves/runs/cr_nothing").status, 404);
}

#[test]
fn curves_need_the_curves_product_on_the_market() {
    let s = start();
    let r = post(
        &s,
        &json!({ "curve_id": "MISO_FWD", "trade_date": "2026-11-27", "grid": "monthly", "contracts": months() }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let run_id = r.json()["run_id"].as_str().unwrap().to_string();
    let login = |user: &str| {
        let pw = s.accounts.iter().find(|a| a.0 == user).unwrap().1.clone();
        hub_login(&s, user, &pw)
    };
    // pilot_caiso (CAISO lmp only): no MISO curve, built or read.
    let caiso = login("caiso_demo");
    let body = json!({ "trade_date": "2026-11-27", "grid": "monthly", "contracts": months() });
    let r = request(
        &s,
        "POST",
        "/api/v1/curves/build",
        &hub(&caiso),
        Some(&body),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = request(
        &s,
        "GET",
        &format!("/api/v1/curves/runs/{run_id}"),
        &hub(&caiso),
        None,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = request(
        &s,
        "GET",
        "/api/v1/curves/forward?curve_id=MISO_FWD",
        &hub(&caiso),
        None,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // pilot_miso through the hub: builds, lists and reads MISO curves.
    let miso = login("miso_demo");
    let r = request(&s, "POST", "/api/v1/curves/build", &hub(&miso), Some(&body));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = request(
        &s,
        "GET",
        "/api/v1/curves?curve_id=MISO_FWD",
        &hub(&miso),
        None,
    );
    assert_eq!(r.json()["data"][0]["run_id"], run_id.as_str());
    let r = request(
        &s,
        "GET",
        "/api/v1/curves/forward?curve_id=MISO_FWD",
        &hub(&miso),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

/// An hourly curve from monthly on-/off-peak strips with the shape of the
/// stored Indiana hub day-ahead prices: every strip repriced, and each day of
/// the curve follows the history's hourly profile.
#[test]
fn shape_from_history_makes_an_hourly_curve_look_like_power() {
    let s = start();
    let mut contracts = Vec::new();
    for (m, days, base) in [(1u32, 31u32, 45.0), (2, 28, 42.0), (3, 31, 38.0)] {
        for (block, add) in [("onpeak", 12.0), ("offpeak", -6.0)] {
            contracts.push(
                json!({ "name": format!("2027-{m:02} {block}"), "start": format!("2027-{m:02}-01"),
                "end": format!("2027-{m:02}-{days}"), "price": base + add, "block": block }),
            );
        }
    }
    let body = json!({ "curve_id": "IND_HOURLY", "trade_date": "2026-11-27", "grid": "hourly",
        "contracts": contracts, "shape_from": { "instrument_id": "MISO.INDIANA.HUB", "market_run": "da" } });
    let r = post(&s, &body);
    assert_eq!(r.status, 201, "{}", r.body);
    let built = r.json();
    for c in built["report"]["contracts"].as_array().unwrap() {
        assert!(
            rel(
                c["repriced"].as_f64().unwrap(),
                c["quoted"].as_f64().unwrap()
            ) <= 1e-8,
            "{c}"
        );
    }
    let history = get(
        &s,
        "/api/v1/prices?instrument_id=MISO.INDIANA.HUB&start=2026-10-01&end=2026-10-02&market_run=da",
    )
    .json();
    let hist: Vec<f64> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["lmp"].as_f64().unwrap())
        .collect();
    assert_eq!(hist.len(), 24);
    // Tuesday 2027-01-12 (a peak day like the history's Thursday): hours 0..24 from 05:00Z.
    let points = built["points"].as_array().unwrap();
    let day0 = points
        .iter()
        .position(|p| p["delivery_start"] == "2027-01-12T06:00:00Z")
        .unwrap()
        - 1;
    assert_eq!(points[day0]["tenor"], "2027-01-12 HE01");
    let day: Vec<f64> = points[day0..day0 + 24]
        .iter()
        .map(|p| p["price"].as_f64().unwrap())
        .collect();
    let corr = |a: &[f64], b: &[f64]| {
        let (ma, mb) = (a.iter().sum::<f64>() / 24.0, b.iter().sum::<f64>() / 24.0);
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    };
    let c = corr(&day, &hist);
    assert!(c > 0.95, "the day's shape follows history: correlation {c}");
    let run = get(
        &s,
        &format!("/api/v1/curves/runs/{}", built["run_id"].as_str().unwrap()),
    )
    .json();
    assert_eq!(run["request"]["prior"]["kind"], "shape_from_history");
    assert_eq!(run["request"]["prior"]["hours_used"], 24);
    // Unknown instrument for the shape: a clear error, nothing stored.
    let mut bad = body.clone();
    bad["shape_from"]["instrument_id"] = json!("MISO.NOWHERE");
    bad["curve_id"] = json!("NOPE");
    let r = post(&s, &bad);
    assert!(r.status == 404 || r.status == 422, "{}", r.body);
    assert!(r.body.contains("MISO.NOWHERE"), "{}", r.body);
    assert!(
        get(&s, "/api/v1/curves?curve_id=NOPE").json()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
