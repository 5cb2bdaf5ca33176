//! Scenarios through the real server on the real MISO 2021 and Henry Hub
//! files: save (versions immutable, diffed), validate with line and column,
//! run as a job, read the scenario curve through the forward-curve route,
//! compare two runs, and the entitlement and tenant walls.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{
    api::{Resp, Server, get, hub, hub_login, password, request, start},
    research::{fundamentals_dir, load},
};

fn key(s: &Server) -> [(&'static str, &str); 1] {
    [("x-api-key", s.key.as_str())]
}

fn send(s: &Server, method: &str, path: &str, body: &Value) -> Resp {
    request(s, method, path, &key(s), Some(body))
}

fn document(shift: f64) -> String {
    format!(
        "# the central case\nname: Gas +{shift}\ninstrument: MISO.INDIANA.HUB\nmarket_run: rt\n\
         base: {{ curve_id: MISO_IND_FWD }}\ncalibration: {{ start: 2021-01-01, end: 2022-01-01 }}\n\
         drivers:\n  gas: {{ shift: {shift} }}\nmonte_carlo: {{ paths: 300, seed: 7 }}\n"
    )
}

fn wait(s: &Server, id: &str) -> Value {
    let t = Instant::now();
    loop {
        let j = get(s, &format!("/api/v1/jobs/{id}")).json();
        if ["succeeded", "failed", "cancelled"].contains(&j["status"].as_str().unwrap()) {
            return j;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "job {id} still {j}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run(s: &Server, scenario: &str, version: Option<u32>) -> Value {
    let body = version.map_or(json!({}), |v| json!({ "version": v }));
    let r = send(
        s,
        "POST",
        &format!("/api/v1/scenarios/{scenario}/runs"),
        &body,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let job = r.json();
    assert_eq!(job["kind"], "scenario_run");
    let done = wait(s, job["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    done["result"].clone()
}

fn months() -> Vec<Value> {
    (1..=12)
        .map(|m| {
            let days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
            json!({ "name": format!("2027-{m:02}"), "start": format!("2027-{m:02}-01"),
                    "end": format!("2027-{m:02}-{days}"), "price": 40.0 + m as f64 })
        })
        .collect()
}

#[test]
fn scenarios_are_saved_validated_run_read_and_compared() {
    let s = start();
    for f in [
        "henry_hub_spot_daily_eia_1997-01-07_2026-08-18.csv",
        "miso_lmp_rt_hr_hubs_2021_eia.csv",
    ] {
        load(&s, &fundamentals_dir().join(f), "2026-11-01T00:00:00Z");
    }
    let built = send(
        &s,
        "POST",
        "/api/v1/curves/build",
        &json!({ "curve_id": "MISO_IND_FWD", "market": "MISO", "trade_date": "2026-11-27",
                 "grid": "daily", "contracts": months() }),
    );
    assert_eq!(built.status, 201, "{}", built.body);
    let base_run = built.json()["run_id"].as_str().unwrap().to_string();

    // The schema and validation with line and column.
    let schema = get(&s, "/api/v1/scenarios/schema").json();
    assert!(schema["properties"]["drivers"].is_object(), "{schema}");
    let bad = document(1.0).replace("shift: 1", "shift: { \"2027-13\": 1 }");
    let v = send(
        &s,
        "POST",
        "/api/v1/scenarios/validate",
        &json!({ "document": bad }),
    )
    .json();
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"][0]["path"], "drivers.gas.shift", "{v}");
    assert_eq!(v["errors"][0]["line"], 8, "{v}");
    let r = send(&s, "POST", "/api/v1/scenarios", &json!({ "document": bad }));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["param"], "drivers.gas.shift", "{}", r.body);
    assert!(
        r.json()["detail"].as_str().unwrap().contains("line 8"),
        "{}",
        r.body
    );
    let ok = send(
        &s,
        "POST",
        "/api/v1/scenarios/validate",
        &json!({ "document": document(1.0) }),
    )
    .json();
    assert_eq!(ok["valid"], true, "{ok}");

    // Version 1, then 2; version 1 never changes; the diff names the field.
    let r = send(
        &s,
        "POST",
        "/api/v1/scenarios",
        &json!({ "document": document(1.0) }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let v1 = r.json();
    let id = v1["scenario_id"].as_str().unwrap().to_string();
    assert_eq!(
        (v1["version"].as_u64(), v1["market"].as_str()),
        (Some(1), Some("MISO"))
    );
    let r = send(
        &s,
        "PUT",
        &format!("/api/v1/scenarios/{id}"),
        &json!({ "document": document(2.0) }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["version"], 2);
    let again = get(&s, &format!("/api/v1/scenarios/{id}/versions/1")).json();
    assert_eq!(again["document"], v1["document"]);
    assert_eq!(again["hash"], v1["hash"]);
    assert_eq!(
        get(&s, &format!("/api/v1/scenarios/{id}/versions")).json()["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let diff = get(&s, &format!("/api/v1/scenarios/{id}/diff?from=1&to=2")).json();
    let changed: Vec<&str> = diff["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["drivers.gas.shift", "name"], "{diff}");
    assert_eq!(diff["data"][0]["from"], 1.0);
    assert_eq!(diff["data"][0]["to"], 2.0);
    let list = get(&s, "/api/v1/scenarios").json();
    assert_eq!(list["data"][0]["latest_version"], 2);

    // Runs as jobs; the output is a curve run with the scenario id and lineage.
    let one = run(&s, &id, Some(1));
    let two = run(&s, &id, None);
    assert_eq!(
        (one["version"].as_u64(), two["version"].as_u64()),
        (Some(1), Some(2))
    );
    let (cr1, cr2) = (
        one["curve_run"].as_str().unwrap(),
        two["curve_run"].as_str().unwrap(),
    );
    let stored = get(&s, &format!("/api/v1/curves/runs/{cr2}")).json();
    assert_eq!(stored["scenario_id"], id.as_str());
    assert_eq!(stored["request"]["base_run_id"], base_run.as_str());
    assert_eq!(stored["request"]["scenario_version"], 2);
    assert_eq!(
        stored["request"]["calibration_run_id"],
        two["calibration_run"]
    );

    // The forward route reads the scenario's newest curve (version 2: gas
    // +2); each day moved by its attribution, a Saturday by exactly twice
    // January's off-peak heat rate.
    let base = get(&s, "/api/v1/curves/forward?curve_id=MISO_IND_FWD").json();
    let scen = get(
        &s,
        &format!("/api/v1/curves/forward?curve_id=MISO_IND_FWD&scenario_id={id}"),
    );
    assert_eq!(scen.status, 200, "{}", scen.body);
    let scen = scen.json();
    assert_eq!(scen["data"].as_array().unwrap().len(), 365);
    assert_eq!(scen["run"]["run_id"], cr2);
    let cal = get(
        &s,
        &format!(
            "/api/v1/research/runs/{}",
            two["calibration_run"].as_str().unwrap()
        ),
    )
    .json();
    let jan_off = cal["output"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["month"] == 1 && c["block"] == "offpeak")
        .unwrap()["beta_gas"]
        .as_f64()
        .unwrap();
    let day = |v: &Value, tenor: &str| {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["tenor"] == tenor)
            .unwrap()["price"]
            .as_f64()
            .unwrap()
    };
    // 2 January 2027 is a Saturday: off-peak all day.
    assert_eq!(
        day(&scen, "2027-01-02"),
        day(&base, "2027-01-02") + jan_off * 2.0
    );
    let attribution = stored["report"]["attribution"].as_array().unwrap();
    for (a, p) in attribution.iter().zip(scen["data"].as_array().unwrap()) {
        // The forward route averages a day's hours again: equal to 1e-12.
        assert!((a["price"].as_f64().unwrap() - p["price"].as_f64().unwrap()).abs() < 1e-12);
        let d = &a["drivers"];
        assert_eq!(d["carbon"], 0.0);
        assert_eq!(
            a["price"].as_f64().unwrap(),
            a["base"].as_f64().unwrap() + d["gas"].as_f64().unwrap()
        );
    }
    let bands = stored["report"]["bands"].as_array().unwrap();
    assert_eq!(bands.len(), 24);
    for b in bands {
        assert!(
            b["p5"].as_f64() <= b["p50"].as_f64() && b["p50"].as_f64() <= b["p95"].as_f64(),
            "{b}"
        );
    }

    // Runs listed; two runs compared month by month: v2's extra $1 of gas
    // is worth each cell's heat rate.
    let runs = get(&s, &format!("/api/v1/scenarios/{id}/runs")).json();
    assert_eq!(runs["data"].as_array().unwrap().len(), 2);
    let c = get(&s, &format!("/api/v1/scenarios/compare?a={cr1}&b={cr2}"));
    assert_eq!(c.status, 200, "{}", c.body);
    let c = c.json();
    let rows = c["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 24);
    for row in rows {
        let (a, b) = (&row["a"], &row["b"]);
        let diff = row["difference"].as_f64().unwrap();
        let gas_step =
            b["attribution"]["gas"].as_f64().unwrap() - a["attribution"]["gas"].as_f64().unwrap();
        assert!((diff - gas_step).abs() < 1e-9, "{row}");
        assert!(
            (b["attribution"]["gas"].as_f64().unwrap()
                - 2.0 * a["attribution"]["gas"].as_f64().unwrap())
            .abs()
                < 1e-9
        );
    }

    // The CAISO pilot has no `scenarios`: 403. The MISO pilot (another
    // tenant, entitled) does not see the platform's scenario: 404.
    let caiso = hub_login(&s, "caiso_demo", &password(&s, "caiso_demo"));
    assert_eq!(
        request(&s, "GET", "/api/v1/scenarios", &hub(&caiso), None).status,
        403
    );
    let r = request(
        &s,
        "POST",
        "/api/v1/scenarios",
        &hub(&caiso),
        Some(&json!({ "document": document(1.0) })),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let miso = hub_login(&s, "miso_demo", &password(&s, "miso_demo"));
    assert_eq!(
        request(
            &s,
            "GET",
            &format!("/api/v1/scenarios/{id}"),
            &hub(&miso),
            None
        )
        .status,
        404
    );
    let r = request(
        &s,
        "GET",
        &format!("/api/v1/scenarios/compare?a={cr1}&b={cr2}"),
        &hub(&miso),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(
        request(&s, "GET", "/api/v1/scenarios", &hub(&miso), None).json()["data"],
        json!([])
    );
    // Nor its scenario curves, though it reads MISO curves: not listed, 404 by id.
    for path in [
        format!("/api/v1/curves/runs/{cr1}"),
        format!("/api/v1/curves/forward?run_id={cr1}"),
        format!("/api/v1/curves/forward?curve_id=MISO_IND_FWD&scenario_id={id}"),
    ] {
        let r = request(&s, "GET", &path, &hub(&miso), None);
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    let listed = request(&s, "GET", "/api/v1/curves", &hub(&miso), None).json();
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&base_run.as_str()) && !ids.contains(&cr1),
        "{ids:?}"
    );
    let bt = json!({ "instrument_id": "MISO.INDIANA.HUB", "curve_id": "MISO_IND_FWD", "scenario_id": id });
    let r = request(&s, "POST", "/api/v1/backtests", &hub(&miso), Some(&bt));
    assert_eq!(r.status, 404, "{}", r.body);
    // Nothing names the hidden run: the 404 says what was asked for.
    let r = request(
        &s,
        "GET",
        &format!("/api/v1/curves/forward?curve_id=MISO_IND_FWD&scenario_id={id}"),
        &hub(&miso),
        None,
    );
    assert!(
        !r.body.contains(cr2) && r.body.contains("MISO_IND_FWD"),
        "{}",
        r.body
    );
    // Its calibration runs are not listed nor readable by another tenant.
    let cal_id = one["calibration_run"].as_str().unwrap();
    let r = request(
        &s,
        "GET",
        &format!("/api/v1/research/runs/{cal_id}"),
        &hub(&miso),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.body);
    let listed = request(
        &s,
        "GET",
        "/api/v1/research/runs?limit=1000",
        &hub(&miso),
        None,
    )
    .json();
    assert!(!listed.to_string().contains(cal_id), "{listed}");
    // Nor can a scenario of another tenant take it as its base.
    let thief = document(1.0).replace("curve_id: MISO_IND_FWD", &format!("run_id: {cr1}"));
    let r = request(
        &s,
        "POST",
        "/api/v1/scenarios",
        &hub(&miso),
        Some(&json!({ "document": thief })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let theirs = r.json()["scenario_id"].as_str().unwrap().to_string();
    let r = request(
        &s,
        "POST",
        &format!("/api/v1/scenarios/{theirs}/runs"),
        &hub(&miso),
        Some(&json!({})),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let t = Instant::now();
    let job = loop {
        let j = request(
            &s,
            "GET",
            &format!("/api/v1/jobs/{}", r.json()["id"].as_str().unwrap()),
            &hub(&miso),
            None,
        )
        .json();
        if ["succeeded", "failed"].contains(&j["status"].as_str().unwrap()) {
            break j;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "{j}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(job["status"], "failed", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains(&format!("no curve run `{cr1}`")),
        "{job}"
    );
    // The owner reads its calibration (the hub's sensitivity table does).
    assert_eq!(
        get(&s, &format!("/api/v1/research/runs/{cal_id}")).status,
        200
    );
    // The `sc_` prefix is the engine's: a curve build cannot claim it.
    let r = send(
        &s,
        "POST",
        "/api/v1/curves/build",
        &json!({ "curve_id": "X", "market": "MISO", "trade_date": "2026-11-27", "grid": "monthly",
                 "contracts": months(), "scenario_id": "sc_fake" }),
    );
    assert_eq!(
        (r.status, r.json()["param"].as_str()),
        (400, Some("scenario_id")),
        "{}",
        r.body
    );
}
