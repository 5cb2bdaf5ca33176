//! Durable jobs through the real server: an analysis queued, run by the
//! worker and stored like the synchronous route's; bad specs named;
//! entitlements and tenants; cancel within a second; fairness across
//! tenants; progress over SSE.

use std::{
    io::{BufRead, BufReader},
    time::{Duration, Instant},
};

use carbon_store::ResearchStore;
use serde_json::{Value, json};

use super::{
    api::{Resp, Server, hub, hub_login, request, start, start_full},
    research::{fundamentals_dir, load},
};

fn password(s: &Server, user: &str) -> String {
    s.accounts.iter().find(|a| a.0 == user).unwrap().1.clone()
}

fn submit(s: &Server, headers: &[(&str, &str)], body: &Value) -> Resp {
    request(s, "POST", "/api/v1/jobs", headers, Some(body))
}

fn job(s: &Server, who: &[(&str, &str)], id: &str) -> Value {
    let r = request(s, "GET", &format!("/api/v1/jobs/{id}"), who, None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Polls until the job has ended (or `limit` passes).
fn wait(s: &Server, who: &[(&str, &str)], id: &str, limit: Duration) -> Value {
    let t = Instant::now();
    loop {
        let j = job(s, who, id);
        if ["succeeded", "failed", "cancelled"].contains(&j["status"].as_str().unwrap()) {
            return j;
        }
        assert!(t.elapsed() < limit, "job {id} still {j}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// STL of the Indiana hub's day-ahead day (24 hours) with `period`.
fn decompose(period: usize) -> Value {
    json!({ "kind": "analysis", "spec": {
        "kind": "decompose",
        "series": { "instrument_id": "MISO.INDIANA.HUB", "market_run": "da",
                    "start": "2026-10-01", "end": "2026-10-02" },
        "periods": [period]
    }})
}

/// Regimes over three months of hourly real-time prices: seconds of work.
fn slow() -> Value {
    json!({ "kind": "analysis", "spec": {
        "kind": "regimes",
        "series": { "instrument_id": "MISO.INDIANA.HUB", "market_run": "rt",
                    "start": "2021-01-01", "end": "2021-04-01" }
    }})
}

#[test]
fn an_analysis_job_is_queued_run_and_stored_like_the_synchronous_route() {
    let s = start();
    let key = [("x-api-key", s.key.as_str())];
    let r = submit(&s, &key, &decompose(4));
    assert_eq!(r.status, 202, "{}", r.body);
    let queued = r.json();
    let id = queued["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/jobs/{id}").as_str())
    );
    assert_eq!(
        (queued["kind"].as_str(), queued["tenant"].as_str()),
        (Some("analysis"), Some("platform"))
    );
    let done = wait(&s, &key, &id, Duration::from_secs(30));
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["progress"], 1.0);
    assert_eq!(done["attempts"], 1);
    let run_id = done["result"]["research_run"].as_str().unwrap();
    let stored = request(
        &s,
        "GET",
        &format!("/api/v1/research/runs/{run_id}"),
        &key,
        None,
    )
    .json();
    // The same analysis through the synchronous route gives the same numbers.
    let sync = request(
        &s,
        "POST",
        "/api/v1/research/decompose",
        &key,
        Some(&decompose(4)["spec"]),
    )
    .json();
    assert_eq!(stored["output"], sync["output"]);
    assert_eq!(stored["kind"], "stl");
    // Listed, newest first, with its result.
    let list = request(&s, "GET", "/api/v1/jobs?status=succeeded", &key, None).json();
    assert_eq!(list["data"][0]["id"], id);

    // Bad input is named, nothing is queued.
    for (body, param) in [
        (json!({ "kind": "sculpture", "spec": {} }), "kind"),
        (
            json!({ "kind": "analysis", "spec": { "kind": "decompose" } }),
            "spec",
        ),
        (
            json!({ "kind": "analysis", "spec": { "kind": "backtest", "instrument_id": "MISO.INDIANA.HUB" } }),
            "spec",
        ),
    ] {
        let r = submit(&s, &key, &body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.json()["param"], param, "{}", r.body);
    }
    let r = request(&s, "GET", "/api/v1/jobs?status=lost", &key, None);
    assert_eq!(
        (r.status, r.json()["param"].as_str()),
        (400, Some("status"))
    );
    assert_eq!(
        request(&s, "GET", "/api/v1/jobs", &key, None).json()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A job whose analysis fails (a period longer than the day) ends
    // failed, naming why and the failed run.
    let r = submit(&s, &key, &decompose(100));
    let failed = wait(
        &s,
        &key,
        r.json()["id"].as_str().unwrap(),
        Duration::from_secs(30),
    );
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("recorded as failed run"),
        "{failed}"
    );
}

#[test]
fn a_curve_build_job_stores_the_same_curve_as_the_synchronous_route() {
    let s = start();
    let key = [("x-api-key", s.key.as_str())];
    let spec = |curve_id: Option<&str>| {
        let mut v = json!({
            "trade_date": "2026-11-27", "grid": "monthly",
            "contracts": [
                { "name": "2027-01", "start": "2027-01-01", "end": "2027-01-31", "price": 62.0 },
                { "name": "2027-02", "start": "2027-02-01", "end": "2027-02-28", "price": 58.5 },
                { "name": "Q2-27", "start": "2027-04-01", "end": "2027-06-30", "price": 41.0 }
            ]
        });
        if let Some(id) = curve_id {
            v["curve_id"] = json!(id);
        }
        v
    };
    let r = submit(
        &s,
        &key,
        &json!({ "kind": "curve_build", "spec": spec(Some("JOB_CURVE")) }),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let done = wait(&s, &key, &id, Duration::from_secs(30));
    assert_eq!(done["status"], "succeeded", "{done}");
    let run_id = done["result"]["curve_run"].as_str().unwrap();
    let stored = request(
        &s,
        "GET",
        &format!("/api/v1/curves/runs/{run_id}"),
        &key,
        None,
    );
    assert_eq!(stored.status, 200, "{}", stored.body);
    let stored = stored.json();
    assert_eq!(
        (stored["curve_id"].as_str(), stored["status"].as_str()),
        (Some("JOB_CURVE"), Some("succeeded"))
    );
    // The synchronous build of the same inputs has the same input hash and prices.
    let sync = request(&s, "POST", "/api/v1/curves/build", &key, Some(&spec(None)));
    assert_eq!(sync.status, 200, "{}", sync.body);
    let sync = sync.json();
    assert_eq!(stored["input_hash"], sync["input_hash"]);
    let fwd = request(
        &s,
        "GET",
        &format!("/api/v1/curves/forward?run_id={run_id}"),
        &key,
        None,
    )
    .json();
    let prices = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["price"].as_f64().unwrap())
            .collect()
    };
    assert_eq!(prices(&fwd["data"]), prices(&sync["points"]));
    // Without a curve id there would be nothing to keep: refused at once.
    let r = submit(
        &s,
        &key,
        &json!({ "kind": "curve_build", "spec": spec(None) }),
    );
    assert_eq!(
        (r.status, r.json()["param"].as_str()),
        (400, Some("spec")),
        "{}",
        r.body
    );
    // Bad contracts are refused at once too, naming the field.
    let mut bad = spec(Some("X"));
    bad["contracts"][1]["end"] = json!("2027-13-01");
    let r = submit(&s, &key, &json!({ "kind": "curve_build", "spec": bad }));
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["param"], "contracts[1].end");
    // pilot_caiso has no `curves`: 403.
    let caiso = hub_login(&s, "caiso_demo", &password(&s, "caiso_demo"));
    let r = submit(
        &s,
        &hub(&caiso),
        &json!({ "kind": "curve_build", "spec": spec(Some("C")) }),
    );
    assert_eq!(r.status, 403, "{}", r.body);
}

#[test]
fn jobs_respect_entitlements_and_tenants() {
    let s = start();
    let miso = hub_login(&s, "miso_demo", &password(&s, "miso_demo"));
    let caiso = hub_login(&s, "caiso_demo", &password(&s, "caiso_demo"));
    // pilot_caiso has no research: refused to submit and to list (audited).
    let r = submit(&s, &hub(&caiso), &decompose(4));
    assert_eq!(r.status, 403, "{}", r.body);
    let r = request(&s, "GET", "/api/v1/jobs", &hub(&caiso), None);
    assert_eq!(r.status, 403, "{}", r.body);
    // pilot_miso may analyse MISO prices, not market-wide gas.
    let gas = json!({ "kind": "analysis", "spec": { "kind": "decompose", "periods": [52],
        "series": { "entity": "Total Lower 48", "variable": "storage" } } });
    assert_eq!(submit(&s, &hub(&miso), &gas).status, 403);
    let r = submit(&s, &hub(&miso), &decompose(4));
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["owner"], "miso_demo");
    wait(&s, &hub(&miso), &id, Duration::from_secs(30));
    // Another tenant with research sees nothing of it: 404 to read and to cancel.
    let admin = hub_login(&s, "admin", &password(&s, "admin"));
    let post = |path: &str, body: Value| {
        let r = request(&s, "POST", path, &hub(&admin), Some(&body));
        assert_eq!(r.status, 201, "{path}: {}", r.body);
        r.json()
    };
    post(
        "/api/v1/admin/tenants",
        json!({ "id": "other", "name": "Other" }),
    );
    post(
        "/api/v1/admin/entitlements",
        json!({ "tenant": "other", "market": "MISO", "product": "*", "channels": ["api"] }),
    );
    let other = post(
        "/api/v1/admin/keys",
        json!({ "tenant": "other", "name": "k" }),
    )["key"]
        .as_str()
        .unwrap()
        .to_string();
    let ok = [("x-api-key", other.as_str())];
    for (method, path) in [
        ("GET", format!("/api/v1/jobs/{id}")),
        ("DELETE", format!("/api/v1/jobs/{id}")),
        ("GET", format!("/api/v1/jobs/{id}/events")),
    ] {
        let r = request(&s, method, &path, &ok, None);
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
    }
    assert!(
        request(&s, "GET", "/api/v1/jobs", &ok, None).json()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let r = request(&s, "GET", "/api/v1/jobs?tenant=pilot_miso", &ok, None);
    assert_eq!(
        (r.status, r.json()["param"].as_str()),
        (400, Some("tenant"))
    );
    // The admin sees every tenant's; the owner its own.
    let all = request(&s, "GET", "/api/v1/jobs", &hub(&admin), None).json();
    assert!(
        all["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == id)
    );
    assert_eq!(
        request(&s, "GET", &format!("/api/v1/jobs/{id}"), &hub(&miso), None).status,
        200
    );
    // An ended job cannot be cancelled.
    let r = request(
        &s,
        "DELETE",
        &format!("/api/v1/jobs/{id}"),
        &hub(&miso),
        None,
    );
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (409, Some("job_ended"))
    );
}

#[test]
fn cancel_is_prompt_fairness_across_tenants_and_progress_over_sse() {
    let s = start();
    load(
        &s,
        &fundamentals_dir().join("miso_lmp_rt_hr_hubs_2021_eia.csv"),
        "2026-11-01T00:00:00Z",
    );
    let key = [("x-api-key", s.key.as_str())];
    let runs_before = runs(&s);
    // A long job occupies the one worker while pilot_miso queues six jobs
    // and then the platform one.
    let long = submit(&s, &key, &slow()).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let t = Instant::now();
    // Running, and saying how far: the first regime candidate.
    loop {
        let j = job(&s, &key, &long);
        if j["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("regime model k=2")
        {
            assert_eq!(j["status"], "running");
            assert!(j["progress"].as_f64().unwrap() >= 0.05, "{j}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "{j}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let miso = hub_login(&s, "miso_demo", &password(&s, "miso_demo"));
    let miso_h = hub(&miso);
    let mut mine = Vec::new();
    for _ in 0..6 {
        let r = submit(&s, &miso_h, &decompose(4));
        assert_eq!(r.status, 202, "{}", r.body);
        mine.push(r.json()["id"].as_str().unwrap().to_string());
    }
    let theirs = submit(&s, &key, &decompose(4)).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(job(&s, &key, &long)["status"], "running");
    // Cancelled while it runs: ended within a second, nothing stored.
    let asked = Instant::now();
    let r = request(&s, "DELETE", &format!("/api/v1/jobs/{long}"), &key, None);
    assert_eq!(r.status, 200, "{}", r.body);
    let ended = wait(&s, &key, &long, Duration::from_secs(5));
    let took = asked.elapsed();
    assert_eq!(ended["status"], "cancelled", "{ended}");
    assert!(took < Duration::from_secs(1), "cancel took {took:?}");
    // Round robin: pilot_miso had not been served, so its first job goes
    // first; then the platform's (served last by the long job), not seventh.
    let started = |who: &[(&str, &str)], id: &String| {
        let j = wait(&s, who, id, Duration::from_secs(60));
        assert_eq!(j["status"], "succeeded", "{j}");
        (j["started"].as_str().unwrap().to_string(), id.clone())
    };
    let mut order: Vec<(String, String)> = mine.iter().map(|id| started(&miso_h, id)).collect();
    order.push(started(&key, &theirs));
    order.sort();
    let position = order.iter().position(|(_, id)| *id == theirs).unwrap();
    assert_eq!(
        position, 1,
        "the platform's job started {position}th: {order:?}"
    );
    assert_eq!(runs(&s), runs_before + 7);

    // Progress over SSE: every change, the last one final.
    let id = submit(&s, &key, &decompose(4)).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let resp = agent
        .get(format!("{}/api/v1/jobs/{id}/events", s.base))
        .header("x-api-key", &s.key)
        .call()
        .unwrap();
    assert!(
        resp.headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut statuses = Vec::new();
    for line in BufReader::new(resp.into_body().into_reader()).lines() {
        let line = line.unwrap();
        if let Some(data) = line.strip_prefix("data: ") {
            let v: Value = serde_json::from_str(data).unwrap();
            statuses.push(v["status"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("succeeded"),
        "{statuses:?}"
    );
    assert!(statuses.len() >= 2, "{statuses:?}");
}

fn runs(s: &Server) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(s.store.research_runs(carbon_store::ResearchFilter {
        limit: Some(1000),
        ..Default::default()
    }))
    .unwrap()
    .len()
}

#[test]
fn a_slow_synchronous_analysis_continues_as_a_job() {
    let s = start_full(
        None,
        4096,
        carbon_api::ApiSettings {
            job_after_seconds: 1,
            ..carbon_api::ApiSettings::default()
        },
        Default::default(),
    );
    load(
        &s,
        &fundamentals_dir().join("miso_lmp_rt_hr_hubs_2021_eia.csv"),
        "2026-11-01T00:00:00Z",
    );
    let key = [("x-api-key", s.key.as_str())];
    // Quick: answered as before (201 with the stored run).
    let r = request(
        &s,
        "POST",
        "/api/v1/research/decompose",
        &key,
        Some(&decompose(4)["spec"]),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.json()["output"].is_object());
    // Bad input: the same precise error as before, no job.
    let mut bad = decompose(4)["spec"].clone();
    bad["series"]["instrument_id"] = json!("MISO.NOWHERE");
    let r = request(&s, "POST", "/api/v1/research/decompose", &key, Some(&bad));
    assert!(r.status == 404 || r.status == 422, "{}", r.body);
    // Slow: after a second the answer is 202 with a running job that ends
    // with the stored run.
    let t = Instant::now();
    let r = request(
        &s,
        "POST",
        "/api/v1/research/regimes",
        &key,
        Some(&slow()["spec"]),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let j = r.json();
    assert_eq!(
        (j["status"].as_str(), j["kind"].as_str()),
        (Some("running"), Some("analysis"))
    );
    let id = j["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/jobs/{id}").as_str())
    );
    // Its progress shows on the job while it runs.
    let seen = Instant::now();
    loop {
        let j = job(&s, &key, &id);
        let m = j["message"].as_str().unwrap_or("");
        if m.starts_with("regime model") || j["status"] != "running" {
            assert!(
                m.starts_with("regime model") || j["status"] == "succeeded",
                "{j}"
            );
            break;
        }
        assert!(seen.elapsed() < Duration::from_secs(60), "{j}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let done = wait(&s, &key, &id, Duration::from_secs(120));
    assert_eq!(done["status"], "succeeded", "{done}");
    let run = done["result"]["research_run"].as_str().unwrap();
    let stored = request(
        &s,
        "GET",
        &format!("/api/v1/research/runs/{run}"),
        &key,
        None,
    )
    .json();
    assert_eq!(stored["kind"], "regimes");
    // A handed-over job can be cancelled like any other, promptly.
    let r = request(
        &s,
        "POST",
        "/api/v1/research/regimes",
        &key,
        Some(&slow()["spec"]),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let asked = Instant::now();
    assert_eq!(
        request(&s, "DELETE", &format!("/api/v1/jobs/{id}"), &key, None).status,
        200
    );
    let ended = wait(&s, &key, &id, Duration::from_secs(5));
    assert_eq!(ended["status"], "cancelled");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
}
