//! Durable jobs through the real binary: a server killed with SIGKILL while
//! a job runs, the queue inspected and a queued job cancelled with the server
//! down, and the restarted server queuing the job again and finishing it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::cli::{carbon, run, serve_offline as serve};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn call(method: &str, url: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("x-api-key", key)
        .header("content-type", "application/json");
    let mut r = match body {
        Some(b) => agent().run(req.body(b.to_string()).unwrap()).unwrap(),
        None => agent().run(req.body(()).unwrap()).unwrap(),
    };
    let text = r.body_mut().read_to_string().unwrap();
    (
        r.status().as_u16(),
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn status_of(base: &str, key: &str, id: &str) -> Value {
    let (code, j) = call("GET", &format!("{base}/api/v1/jobs/{id}"), key, None);
    assert_eq!(code, 200, "{j}");
    j
}

#[test]
fn a_job_killed_with_its_server_is_queued_again_and_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rt = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/fundamentals/miso_lmp_rt_hr_hubs_2021_eia.csv");
    assert_eq!(run(carbon(d).arg("init")).code, 0);
    assert_eq!(run(carbon(d).args(["ingest", "file"]).arg(&rt)).code, 0);
    // One worker, so the second job waits in the queue.
    std::fs::write(d.join("carbon.toml"), "[jobs]\nworkers = 1\n").unwrap();
    let o = run(carbon(d).args([
        "admin", "key", "create", "--tenant", "platform", "--name", "t",
    ]));
    let key = o
        .stdout
        .lines()
        .find(|l| l.starts_with("ck_"))
        .unwrap_or_else(|| panic!("{}{}", o.stdout, o.stderr))
        .trim()
        .to_string();
    let (mut server, base, _) = serve(d);
    let series = |start: &str, end: &str| json!({ "instrument_id": "MISO.INDIANA.HUB", "market_run": "rt", "start": start, "end": end });
    let (code, long) = call(
        "POST",
        &format!("{base}/api/v1/jobs"),
        &key,
        Some(
            &json!({ "kind": "analysis", "spec": { "kind": "regimes", "series": series("2021-01-01", "2021-04-01") } }),
        ),
    );
    assert_eq!(code, 202, "{long}");
    let long = long["id"].as_str().unwrap().to_string();
    let (code, queued) = call(
        "POST",
        &format!("{base}/api/v1/jobs"),
        &key,
        Some(
            &json!({ "kind": "analysis", "spec": { "kind": "decompose", "periods": [24], "series": series("2021-01-01", "2021-02-01") } }),
        ),
    );
    assert_eq!(code, 202, "{queued}");
    let queued = queued["id"].as_str().unwrap().to_string();
    let t = Instant::now();
    while status_of(&base, &key, &long)["status"] != "running" {
        assert!(t.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL: no chance to tidy up.
    server.kill().unwrap();
    server.wait().unwrap();

    // With the server down the CLI reads the queue, and cancels the queued job.
    let o = run(carbon(d).args(["jobs", "list", "--format", "csv"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains(&format!("{long},analysis,platform,key:")),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .lines()
            .any(|l| l.starts_with(&long) && l.contains(",running,")),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .lines()
            .any(|l| l.starts_with(&queued) && l.contains(",queued,")),
        "{}",
        o.stdout
    );
    let o = run(carbon(d).args(["jobs", "cancel", &queued]));
    assert_eq!(
        (o.code, o.stdout.trim()),
        (0, format!("job {queued}: cancelled").as_str()),
        "{}",
        o.stderr
    );
    let o = run(carbon(d).args(["jobs", "list", "--status", "lost"]));
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(o.stderr.contains("--status lost"), "{}", o.stderr);

    // The restarted server puts the killed job back in the queue and runs it.
    let (mut server, base, said) = serve(d);
    assert!(
        said.iter()
            .any(|l| l.contains("jobs left running by the last server: 1 queued again, 0 failed")),
        "{said:?}"
    );
    let t = Instant::now();
    let done = loop {
        let j = status_of(&base, &key, &long);
        if j["status"] != "running" && j["status"] != "queued" {
            break j;
        }
        assert!(t.elapsed() < Duration::from_secs(90), "{j}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        (done["status"].as_str(), done["attempts"].as_u64()),
        (Some("succeeded"), Some(2)),
        "{done}"
    );
    assert_eq!(status_of(&base, &key, &queued)["status"], "cancelled");
    let run_id = done["result"]["research_run"].as_str().unwrap();
    let (code, stored) = call(
        "GET",
        &format!("{base}/api/v1/research/runs/{run_id}"),
        &key,
        None,
    );
    assert_eq!(
        (code, stored["kind"].as_str()),
        (200, Some("regimes")),
        "{stored}"
    );
    server.kill().unwrap();
    server.wait().unwrap();

    // `jobs wait` and `jobs show` from the CLI.
    let o = run(carbon(d).args(["jobs", "wait", &long, "--timeout", "5"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains(&format!("job {long} succeeded")) && o.stdout.contains(run_id),
        "{}",
        o.stdout
    );
    let o = run(carbon(d).args(["jobs", "wait", &queued, "--timeout", "5"]));
    assert_eq!(o.code, 1, "{}", o.stdout);
    let o = run(carbon(d).args(["jobs", "show", &long]));
    let shown: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(
        (shown["attempts"].as_u64(), shown["kind"].as_str()),
        (Some(2), Some("analysis"))
    );
}
