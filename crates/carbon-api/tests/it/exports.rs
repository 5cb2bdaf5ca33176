//! The download center through the real server: an export queued, written
//! by the job worker into the object store (the filesystem), its manifest
//! and parts, a signed link fetched without credentials and equal to the
//! `/prices` CSV, links tampered, expired and for another tenant refused
//! (403, audited), idempotency, entitlements and bad input.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::api::{Server, get, hub, hub_login, password, request, start};

const QUERY: &str = "instrument_id=MISO.INDIANA.HUB&instrument_id=MISO.ILLINOIS.HUB&market_run=da&start=2026-10-01T05:00:00Z&end=2026-10-02T05:00:00Z";

fn post(s: &Server, path: &str, body: &Value) -> super::api::Resp {
    request(s, "POST", path, &[("x-api-key", &s.key)], Some(body))
}

fn wait(s: &Server, id: &str) -> Value {
    wait_at(s, &format!("/api/v1/exports/{id}"))
}

/// The record at `path` once it has ended (60 s at most).
fn wait_at(s: &Server, path: &str) -> Value {
    let t = Instant::now();
    loop {
        let e = get(s, path).json();
        if ["succeeded", "failed", "cancelled"].contains(&e["status"].as_str().unwrap()) {
            return e;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "{path} still {e}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_export_is_written_linked_downloaded_and_its_links_checked() {
    let s = start();
    let r = post(&s, "/api/v1/exports/estimate", &json!({ "query": QUERY }));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["rows"], 48, "{}", r.body);
    assert_eq!(r.json()["parts"], 1);

    let r = post(
        &s,
        "/api/v1/exports",
        &json!({ "query": QUERY, "format": "csv", "idempotency_key": "oct-1" }),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/exports/{id}").as_str())
    );
    assert!(r.json()["job_id"].as_str().unwrap().starts_with("job_"));
    let done = wait(&s, &id);
    assert_eq!(done["status"], "succeeded", "{done}");
    let parts = done["manifest"]["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0]["rows"], 48);
    // The same key again: the same export, not a new one.
    let again = post(
        &s,
        "/api/v1/exports",
        &json!({ "query": QUERY, "idempotency_key": "oct-1" }),
    );
    assert_eq!(
        (again.status, again.json()["id"].as_str()),
        (200, Some(id.as_str()))
    );
    assert_eq!(
        get(&s, "/api/v1/exports").json()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A link, fetched with no credential: the same bytes as the /prices CSV.
    let name = parts[0]["name"].as_str().unwrap();
    let r = post(
        &s,
        &format!("/api/v1/exports/{id}/links"),
        &json!({ "file": name, "ttl_seconds": 600 }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let url = r.json()["url"].as_str().unwrap().to_string();
    let file = request(&s, "GET", &url, &[], None);
    assert_eq!(file.status, 200, "{}", file.body);
    let csv = get(&s, &format!("/api/v1/prices?{QUERY}&format=csv"));
    assert_eq!(file.body, csv.body);
    let manifest_link = post(
        &s,
        &format!("/api/v1/exports/{id}/links"),
        &json!({ "file": "manifest.json" }),
    );
    assert_eq!(manifest_link.status, 201, "{}", manifest_link.body);
    let m = request(
        &s,
        "GET",
        manifest_link.json()["url"].as_str().unwrap(),
        &[],
        None,
    );
    assert_eq!(m.status, 200, "{}", m.body);
    assert_eq!(m.json()["parts"][0]["sha256"], parts[0]["sha256"]);

    // Tampered (another file, a later expiry, a bent signature), another
    // tenant's path: 403, each in the audit log.
    let (path, q) = url.split_once('?').unwrap();
    let bent_sig = {
        let sig = q.split("sig=").nth(1).unwrap();
        let first = if sig.starts_with('0') { "1" } else { "0" };
        q.replace(sig, &format!("{first}{}", &sig[1..]))
    };
    let later = {
        let exp: i64 = q
            .split('&')
            .find_map(|kv| kv.strip_prefix("expires="))
            .unwrap()
            .parse()
            .unwrap();
        q.replace(
            &format!("expires={exp}"),
            &format!("expires={}", exp + 3600),
        )
    };
    for bad in [
        format!("{}?{q}", path.replace(name, "manifest.json")),
        format!("{path}?{later}"),
        format!("{path}?{bent_sig}"),
        format!("{}?{q}", path.replace("/platform/", "/pilot_miso/")),
    ] {
        let r = request(&s, "GET", &bad, &[], None);
        assert_eq!(r.status, 403, "{bad}: {}", r.body);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let events = rt
        .block_on(carbon_store::Directory::audit_events(
            s.store.as_ref(),
            0,
            10_000,
        ))
        .unwrap();
    let refused: Vec<_> = events
        .iter()
        .filter(|e| e.event.action == "download_refused")
        .collect();
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert!(refused.iter().all(|e| e.event.outcome == "denied"));
    // An expired link.
    let short = post(
        &s,
        &format!("/api/v1/exports/{id}/links"),
        &json!({ "file": name, "ttl_seconds": 1 }),
    );
    std::thread::sleep(Duration::from_millis(2100));
    let r = request(&s, "GET", short.json()["url"].as_str().unwrap(), &[], None);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("expired"), "{}", r.body);

    // Another tenant sees no such export.
    let miso = hub_login(&s, "miso_demo", &password(&s, "miso_demo"));
    assert_eq!(
        request(
            &s,
            "GET",
            &format!("/api/v1/exports/{id}"),
            &hub(&miso),
            None
        )
        .status,
        404
    );
    // The CAISO pilot (downloads of its three hubs only) cannot export MISO.
    let caiso = hub_login(&s, "caiso_demo", &password(&s, "caiso_demo"));
    let r = request(
        &s,
        "POST",
        "/api/v1/exports",
        &hub(&caiso),
        Some(&json!({ "query": QUERY })),
    );
    assert_eq!(r.status, 403, "{}", r.body);

    // Bad input names the field; nothing is queued.
    for (body, param) in [
        (json!({ "query": QUERY, "format": "xls" }), "xls"),
        (
            json!({ "query": "instrument_id=MISO.INDIANA.HUB&start=2026-10-01&end=2026-10-02&colour=red" }),
            "colour",
        ),
        (
            json!({ "query": format!("{QUERY}&format=parquet") }),
            "query",
        ),
        (
            json!({ "query": "start=2026-10-01&end=2026-10-02" }),
            "instrument_id",
        ),
    ] {
        let r = post(&s, "/api/v1/exports", &body);
        assert!(
            r.status == 400 || r.status == 422,
            "{body}: {} {}",
            r.status,
            r.body
        );
        // The parameter is named, or (a body field) the detail names it.
        let j = r.json();
        assert!(
            j["param"] == param || j["detail"].as_str().unwrap().contains(param),
            "{body}: {}",
            r.body
        );
    }
    assert_eq!(
        get(&s, "/api/v1/exports").json()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

fn wait_report(s: &Server, id: &str) -> Value {
    wait_at(s, &format!("/api/v1/reports/{id}"))
}

/// Indiana Hub's 24 DA LMPs of 2026-10-01 from the raw MISO report.
fn raw_indiana_da() -> Vec<f64> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/fixtures/iso/miso/da_expost_lmp_20261001_hubs_interfaces_subset.csv",
    );
    let text = std::fs::read_to_string(p).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("INDIANA.HUB,Hub,LMP,"))
        .unwrap();
    line.split(',')
        .skip(3)
        .take(24)
        .map(|v| v.parse().unwrap())
        .collect()
}

#[test]
fn a_monthly_brief_is_queued_written_and_opened_by_link() {
    let s = start();
    let r = post(
        &s,
        "/api/v1/reports",
        &json!({ "market": "MISO", "month": "2026-10", "idempotency_key": "brief-oct" }),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("rp_"));
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/reports/{id}").as_str())
    );
    let done = wait_report(&s, &id);
    assert_eq!(done["status"], "succeeded", "{done}");
    let names: Vec<&str> = done["manifest"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["brief-MISO-2026-10.html", "brief-MISO-2026-10.pdf"]);
    // Listed as a report, not as an export; the same key gives the same one.
    let list = get(&s, "/api/v1/reports").json();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(get(&s, &format!("/api/v1/exports/{id}")).status, 404);
    assert!(
        get(&s, "/api/v1/exports").json()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let again = post(
        &s,
        "/api/v1/reports",
        &json!({ "market": "MISO", "month": "2026-10", "idempotency_key": "brief-oct" }),
    );
    assert_eq!(
        (again.status, again.json()["id"].as_str()),
        (200, Some(id.as_str()))
    );

    // The HTML opens by link with no credential: text/html under a policy
    // that forbids scripts and every request, Indiana Hub's day-ahead
    // average of the raw report in it (one day stored: the month's average).
    let link = post(
        &s,
        &format!("/api/v1/reports/{id}/links"),
        &json!({ "file": names[0] }),
    );
    assert_eq!(link.status, 201, "{}", link.body);
    let html = request(&s, "GET", link.json()["url"].as_str().unwrap(), &[], None);
    assert_eq!(html.status, 200);
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = html.header("content-security-policy").unwrap().to_string();
    assert!(
        csp.starts_with("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );
    let raw = raw_indiana_da();
    let avg = raw.iter().sum::<f64>() / raw.len() as f64;
    assert!(
        html.body.contains(&format!("{avg:.2}")),
        "Indiana Hub average {avg:.2} missing"
    );
    assert!(html.body.contains("MISO.INDIANA.HUB") && !html.body.contains("http"));
    let pdf_link = post(
        &s,
        &format!("/api/v1/reports/{id}/links"),
        &json!({ "file": names[1] }),
    );
    let pdf = request(
        &s,
        "GET",
        pdf_link.json()["url"].as_str().unwrap(),
        &[],
        None,
    );
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.body.starts_with("%PDF-"));

    // The CAISO pilot: reports of CAISO through the hub, its hubs only, no
    // curves or fundamentals; MISO refused; another tenant's brief is 404.
    let caiso = hub_login(&s, "caiso_demo", &password(&s, "caiso_demo"));
    let r = request(
        &s,
        "POST",
        "/api/v1/reports",
        &hub(&caiso),
        Some(&json!({ "market": "CAISO", "month": "2026-10" })),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let spec = &r.json()["spec"];
    assert_eq!(
        (spec["curves"].as_bool(), spec["fundamentals"].as_bool()),
        (Some(false), Some(false))
    );
    assert!(
        spec["hubs"].is_array(),
        "a narrowed brief lists its hubs: {spec}"
    );
    let r = request(
        &s,
        "POST",
        "/api/v1/reports",
        &hub(&caiso),
        Some(&json!({ "market": "MISO", "month": "2026-10" })),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = request(
        &s,
        "GET",
        &format!("/api/v1/reports/{id}"),
        &hub(&caiso),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.body);

    // Bad input names the field.
    for (body, param) in [
        (json!({ "market": "MISO", "month": "2026-13" }), "month"),
        (json!({ "market": "MISO", "month": "2099-01" }), "month"),
        (json!({ "market": "NOPE", "month": "2026-10" }), "market"),
        (
            json!({ "market": "MISO", "month": "2026-10", "colour": 1 }),
            "colour",
        ),
    ] {
        let r = post(&s, "/api/v1/reports", &body);
        assert!(r.status == 400 || r.status == 422, "{body}: {}", r.body);
        let j = r.json();
        assert!(
            j["param"] == param || j["detail"].as_str().unwrap().contains(param),
            "{body}: {}",
            r.body
        );
    }
}

#[test]
fn a_feed_is_made_fired_delivered_paused_and_shown_in_metrics() {
    let s = start();
    let spec = json!({
        "instruments": ["MISO.INDIANA.HUB"], "market_runs": ["da"], "format": "csv",
        "at": "07:00", "destination": "acme-bucket", "prefix": "miso/da",
    });
    let r = post(
        &s,
        "/api/v1/feeds",
        &json!({ "name": "daily DA", "spec": spec }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let feed = r.json();
    let id = feed["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("fd_") && feed["enabled"] == true && feed["runs"] == 0);
    // The same name again is a conflict.
    let r = post(
        &s,
        "/api/v1/feeds",
        &json!({ "name": "daily DA", "spec": spec }),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        get(&s, "/api/v1/feeds/destinations").json()["data"],
        json!(["acme-bucket"])
    );
    // Fired by hand: today's run covers yesterday (market clock).
    let r = post(&s, &format!("/api/v1/feeds/{id}/run"), &json!({}));
    assert_eq!(r.status, 202, "{}", r.body);
    let run_id = r.json()["id"].as_str().unwrap().to_string();
    let done = wait(&s, &run_id);
    // Today's market day has no prices stored: the run succeeds with no part.
    assert_eq!(done["status"], "succeeded", "{done}");
    let runs = get(&s, &format!("/api/v1/feeds/{id}/runs")).json();
    assert_eq!(runs["data"][0]["id"], run_id.as_str());
    let folder = done["spec"]["feed"]["folder"].as_str().unwrap().to_string();
    assert!(folder.starts_with("platform/miso/da/"), "{folder}");
    assert!(
        s.dir()
            .join("acme-bucket")
            .join(&folder)
            .join("manifest.json")
            .exists()
    );
    // The feed knows; /metrics shows it (no failure).
    let f = get(&s, &format!("/api/v1/feeds/{id}")).json();
    assert_eq!(f["failures"], 0);
    assert!(f["last_success"].is_string(), "{f}");
    let m = get(&s, "/metrics").body;
    let line = |name: &str| {
        m.lines()
            .find(|l| l.starts_with(name) && l.contains(&format!("feed=\"{id}\"")))
            .unwrap_or_else(|| panic!("{name} of {id} missing"))
            .to_string()
    };
    assert!(line("carbon_feed_consecutive_failures").ends_with(" 0"));
    assert!(line("carbon_feed_failing").ends_with(" 0"));
    assert!(!line("carbon_feed_last_success_timestamp_seconds").ends_with(" 0"));
    assert!(
        !m.contains("daily DA"),
        "a feed's name stays out of /metrics"
    );
    // Paused, resumed, deleted.
    let r = request(
        &s,
        "PATCH",
        &format!("/api/v1/feeds/{id}"),
        &[("x-api-key", &s.key)],
        Some(&json!({ "enabled": false })),
    );
    assert_eq!(
        (r.status, r.json()["enabled"].as_bool()),
        (200, Some(false)),
        "{}",
        r.body
    );
    // Another tenant sees no such feed; the CAISO pilot cannot feed MISO.
    let caiso = hub_login(&s, "caiso_demo", &password(&s, "caiso_demo"));
    assert_eq!(
        request(
            &s,
            "GET",
            &format!("/api/v1/feeds/{id}"),
            &hub(&caiso),
            None
        )
        .status,
        404
    );
    let r = request(
        &s,
        "POST",
        "/api/v1/feeds",
        &hub(&caiso),
        Some(&json!({ "name": "x", "spec": spec })),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // Bad input names the field.
    for (spec, param) in [
        (
            json!({ "instruments": ["MISO.INDIANA.HUB"], "prefix": "../up" }),
            "prefix",
        ),
        (
            json!({ "instruments": ["MISO.INDIANA.HUB"], "at": "25:00" }),
            "at",
        ),
        (
            json!({ "instruments": ["MISO.INDIANA.HUB"], "destination": "elsewhere" }),
            "destination",
        ),
        (json!({ "instruments": [] }), "instruments"),
        (
            json!({ "instruments": ["MISO.INDIANA.HUB"], "colour": 1 }),
            "colour",
        ),
    ] {
        let r = post(&s, "/api/v1/feeds", &json!({ "name": "bad", "spec": spec }));
        assert!(
            r.status == 400 || r.status == 422,
            "{spec}: {} {}",
            r.status,
            r.body
        );
        let j = r.json();
        assert!(
            j["param"] == param || j["detail"].as_str().unwrap().contains(param),
            "{spec}: {}",
            r.body
        );
    }
    let r = request(
        &s,
        "DELETE",
        &format!("/api/v1/feeds/{id}"),
        &[("x-api-key", &s.key)],
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(get(&s, &format!("/api/v1/feeds/{id}")).status, 404);
}

#[test]
fn a_curve_run_and_a_research_run_export_as_files_equal_to_their_routes() {
    let s = start();
    let key = [("x-api-key", s.key.as_str())];
    // A curve built here, exported as CSV: every point of the run.
    let months: Vec<Value> = (1..=3)
        .map(|m| {
            json!({ "name": format!("2027-{m:02}"), "start": format!("2027-{m:02}-01"),
                         "end": format!("2027-{m:02}-28"), "price": 40.0 + m as f64 })
        })
        .collect();
    let built = request(
        &s,
        "POST",
        "/api/v1/curves/build",
        &key,
        Some(&json!({
            "curve_id": "MISO_IND_FWD", "market": "MISO", "trade_date": "2026-11-27",
            "grid": "monthly", "contracts": months,
        })),
    );
    assert_eq!(built.status, 201, "{}", built.body);
    let run_id = built.json()["run_id"].as_str().unwrap().to_string();
    let r = post(
        &s,
        "/api/v1/exports",
        &json!({ "dataset": "curve_run", "query": format!("run_id={run_id}"), "format": "csv" }),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let done = wait(&s, r.json()["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["dataset"], "curve_run");
    let part = done["manifest"]["parts"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let link = post(
        &s,
        &format!("/api/v1/exports/{}/links", done["id"].as_str().unwrap()),
        &json!({ "file": part }),
    );
    let csv = request(&s, "GET", link.json()["url"].as_str().unwrap(), &[], None).body;
    let points = built.json()["points"].as_array().unwrap().clone();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "curve_id,run_id,scenario_id,as_of_date,market,tenor,delivery_start_utc,delivery_end_utc,price"
    );
    assert_eq!(lines.len(), points.len() + 1);
    for (l, p) in lines[1..].iter().zip(&points) {
        let c: Vec<&str> = l.split(',').collect();
        assert_eq!(c[5], p["tenor"].as_str().unwrap());
        assert_eq!(c[6], p["delivery_start"].as_str().unwrap());
        assert_eq!(c[8].parse::<f64>().unwrap(), p["price"].as_f64().unwrap());
    }
    // A research run, exported as JSON Lines: one row per value of its output.
    let d = request(
        &s,
        "POST",
        "/api/v1/research/decompose",
        &key,
        Some(&json!({
            "series": { "instrument_id": "MISO.INDIANA.HUB", "market_run": "da",
                        "start": "2026-10-01", "end": "2026-10-02" },
            "periods": [4]
        })),
    );
    assert_eq!(d.status, 201, "{}", d.body);
    let rid = d.json()["run_id"].as_str().unwrap().to_string();
    let r = post(
        &s,
        "/api/v1/exports",
        &json!({ "dataset": "research_run", "query": format!("run_id={rid}"), "format": "jsonl" }),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let done = wait(&s, r.json()["id"].as_str().unwrap());
    assert_eq!(done["status"], "succeeded", "{done}");
    let part = done["manifest"]["parts"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let link = post(
        &s,
        &format!("/api/v1/exports/{}/links", done["id"].as_str().unwrap()),
        &json!({ "file": part }),
    );
    let body = request(&s, "GET", link.json()["url"].as_str().unwrap(), &[], None).body;
    let rows: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let output = &get(&s, &format!("/api/v1/research/runs/{rid}")).json()["output"];
    // Each row's path leads to its value in the route's output.
    assert!(!rows.is_empty());
    for row in &rows {
        let mut v = output;
        for seg in row["path"].as_str().unwrap().split('.') {
            let (name, idx) = seg
                .split_once('[')
                .map_or((seg, None), |(n, i)| (n, Some(i)));
            if !name.is_empty() {
                v = &v[name];
            }
            if let Some(i) = idx {
                for ix in i.split('[') {
                    v = &v[ix.trim_end_matches(']').parse::<usize>().unwrap()];
                }
            }
        }
        match v {
            Value::Number(n) => assert_eq!(row["number"].as_f64(), n.as_f64(), "{row}"),
            Value::String(t) => assert_eq!(row["text"].as_str(), Some(t.as_str()), "{row}"),
            _ => {}
        }
    }
    // Bad input: an unknown dataset, a missing run, a stray parameter.
    for (body, param, status) in [
        (
            json!({ "dataset": "weather", "query": "run_id=x" }),
            "dataset",
            400,
        ),
        (
            json!({ "dataset": "curve_run", "query": "run_id=cr_nope" }),
            "",
            404,
        ),
        (
            json!({ "dataset": "curve_run", "query": "run=x" }),
            "run",
            400,
        ),
    ] {
        let r = post(&s, "/api/v1/exports", &body);
        assert_eq!(r.status, status, "{body}: {}", r.body);
        if !param.is_empty() {
            let j = r.json();
            assert!(
                j["param"] == param || j["detail"].as_str().unwrap().contains(param),
                "{}",
                r.body
            );
        }
    }
}

#[test]
fn a_brief_feed_is_entitled_by_the_reports_channel() {
    let s = start();
    let spec = json!({ "kind": "brief", "market": "MISO", "day_of_month": 2, "at": "06:00" });
    let r = post(
        &s,
        "/api/v1/feeds",
        &json!({ "name": "monthly MISO", "spec": spec }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // Due on the 2nd of a month at 06:00 EST (11:00 UTC).
    let due = r.json()["next_due"].as_str().unwrap().to_string();
    assert!(due.ends_with("-02T11:00:00Z"), "{due}");
    // The CAISO pilot may not have MISO's briefs; its own market it may.
    let caiso = hub_login(&s, "caiso_demo", &password(&s, "caiso_demo"));
    let r = request(
        &s,
        "POST",
        "/api/v1/feeds",
        &hub(&caiso),
        Some(&json!({ "name": "m", "spec": spec })),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let own = json!({ "kind": "brief", "market": "CAISO" });
    let r = request(
        &s,
        "POST",
        "/api/v1/feeds",
        &hub(&caiso),
        Some(&json!({ "name": "m", "spec": own })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // A brief feed names no instruments and no destination.
    let r = post(
        &s,
        "/api/v1/feeds",
        &json!({ "name": "x", "spec": { "kind": "brief", "market": "MISO", "destination": "acme-bucket" } }),
    );
    assert_eq!(
        (r.status, r.json()["param"].as_str()),
        (400, Some("destination")),
        "{}",
        r.body
    );
}

#[test]
fn a_brief_shows_only_what_the_grants_allow_and_its_link_follows_them() {
    let s = start();
    let admin = hub_login(&s, "admin", &password(&s, "admin"));
    let adm = |method: &str, path: &str, body: Option<Value>| {
        request(&s, method, path, &hub(&admin), body.as_ref())
    };
    assert_eq!(
        adm(
            "POST",
            "/api/v1/admin/tenants",
            Some(json!({ "id": "narrow", "name": "Narrow" }))
        )
        .status,
        201
    );
    let g = adm(
        "POST",
        "/api/v1/admin/entitlements",
        Some(json!({
        "tenant": "narrow", "market": "MISO", "product": "lmp", "channels": ["api", "reports"],
        "instruments": ["MISO.INDIANA.HUB"] })),
    );
    assert_eq!(g.status, 201, "{}", g.body);
    let key = adm(
        "POST",
        "/api/v1/admin/keys",
        Some(json!({ "tenant": "narrow", "name": "r" })),
    );
    let key = key.json()["key"].as_str().unwrap().to_string();
    let k = [("x-api-key", key.as_str())];
    // Its brief lists Indiana Hub only, no curves, no fundamentals.
    let r = request(
        &s,
        "POST",
        "/api/v1/reports",
        &k,
        Some(&json!({ "market": "MISO", "month": "2026-10" })),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let spec = r.json()["spec"].clone();
    assert_eq!(spec["hubs"], json!(["MISO.INDIANA.HUB"]));
    assert_eq!(
        (
            spec["curves"].as_bool(),
            spec["fundamentals"].as_bool(),
            spec["market_wide"].as_bool()
        ),
        (Some(false), Some(false), Some(false))
    );
    let id = r.json()["id"].as_str().unwrap().to_string();
    let t = Instant::now();
    let done = loop {
        let e = request(&s, "GET", &format!("/api/v1/reports/{id}"), &k, None).json();
        if e["status"] == "succeeded" || e["status"] == "failed" {
            break e;
        }
        assert!(t.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(done["status"], "succeeded", "{done}");
    let file = done["manifest"]["parts"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let link = request(
        &s,
        "POST",
        &format!("/api/v1/reports/{id}/links"),
        &k,
        Some(&json!({ "file": file })),
    );
    assert_eq!(link.status, 201, "{}", link.body);
    let html = request(&s, "GET", link.json()["url"].as_str().unwrap(), &[], None).body;
    assert!(html.contains("MISO.INDIANA.HUB") && !html.contains("MISO.ILLINOIS.HUB"));
    // The grant moves to Illinois Hub: the old brief (Indiana) is no longer
    // handed out.
    let gid = g.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        adm("DELETE", &format!("/api/v1/admin/entitlements/{gid}"), None).status / 100,
        2
    );
    assert_eq!(
        adm(
            "POST",
            "/api/v1/admin/entitlements",
            Some(json!({
        "tenant": "narrow", "market": "MISO", "product": "lmp", "channels": ["api", "reports"],
        "instruments": ["MISO.ILLINOIS.HUB"] }))
        )
        .status,
        201
    );
    let link = request(
        &s,
        "POST",
        &format!("/api/v1/reports/{id}/links"),
        &k,
        Some(&json!({ "file": file })),
    );
    assert_eq!(link.status, 403, "{}", link.body);
}
