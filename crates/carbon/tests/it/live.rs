//! `carbon backfill`, `carbon poll` and `carbon serve` against a real HTTP
//! server on 127.0.0.1 (never the ISOs' hosts), and offline.

use std::path::Path;

use carbon_testkit::{HttpServer, Reply, zip_of};

use super::cli::{carbon, run};

fn fixture(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/iso")
        .join(rel)
}

/// A carbon.toml whose connectors point at `server`.
fn config(dir: &Path, server: &HttpServer) {
    let text = format!(
        r#"
[http]
timeout_secs = 5.0
retries = 1
backoff_secs = 0.1

[[connectors]]
type = "miso"
reports_url = "{}"
api_url = "{}"
spacing_secs = 0.0

[[connectors]]
type = "caiso"
url = "{}"
spacing_secs = 0.0
"#,
        server.url("/marketreports"),
        server.url("/api"),
        server.url("/oasisapi/SingleZip")
    );
    std::fs::write(dir.join("carbon.toml"), text).unwrap();
}

#[test]
fn backfill_fetches_stores_and_resumes() {
    let csv = std::fs::read(fixture(
        "caiso/oasis_PRC_LMP_DAM_v1_20200510_0096WD_7_N001.csv",
    ))
    .unwrap();
    let zipped = zip_of("prices.csv", &csv);
    let server = HttpServer::start(move |_, _| Reply::ok(zipped.clone()));
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &server);
    let args = [
        "backfill",
        "caiso",
        "--from",
        "2020-05-10",
        "--market-run",
        "da",
        "--nodes",
        "0096WD_7_N001",
        "--no-progress",
    ];
    let o = run(carbon(dir.path()).args(args));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("1 ingested") && o.stdout.contains("24 rows stored"),
        "{}",
        o.stdout
    );
    let o = run(carbon(dir.path()).args(args));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("0 ingested, 1 already done"),
        "{}",
        o.stdout
    );
    assert_eq!(server.hits().len(), 1);
    let hit = &server.hits()[0];
    assert_eq!(hit.param("node"), Some("0096WD_7_N001"));
    assert_eq!(hit.param("market_run_id"), Some("DAM"));

    let o = run(carbon(dir.path()).args(["ingest", "runs", "--format", "csv"]));
    assert!(
        o.stdout
            .lines()
            .any(|l| l.contains("caiso") && l.contains(",ok,")),
        "{}",
        o.stdout
    );
}

#[test]
fn backfill_rejects_bad_arguments_naming_them() {
    let server = HttpServer::start(|_, _| Reply::status(500));
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &server);
    for (args, needle) in [
        (vec!["backfill", "caiso", "--from", "2025-13-01"], "--from"),
        (
            vec![
                "backfill",
                "caiso",
                "--from",
                "2025-06-02",
                "--to",
                "2025-06-01",
            ],
            "--to",
        ),
        (
            vec!["backfill", "pjm", "--from", "2025-06-01"],
            "\"pjm\" is not configured",
        ),
        (
            vec![
                "backfill",
                "caiso",
                "--from",
                "2025-06-01",
                "--market-run",
                "da_exante",
            ],
            "da_exante",
        ),
        (
            vec![
                "backfill",
                "miso",
                "--from",
                "2025-06-01",
                "--market-run",
                "hourly",
            ],
            "--market-run",
        ),
        (
            vec![
                "backfill",
                "miso",
                "--from",
                "2020-01-01",
                "--market-run",
                "rt5",
            ],
            "5-minute",
        ),
    ] {
        let o = run(carbon(dir.path()).args(&args));
        assert_eq!(o.code, 2, "{args:?}: {}{}", o.stdout, o.stderr);
        assert!(o.stderr.contains(needle), "{args:?}: {}", o.stderr);
    }
    assert!(server.hits().is_empty());
}

#[test]
fn poll_runs_one_job_once() {
    let server = HttpServer::start(|_, _| Reply::status(404));
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &server);
    let o = run(carbon(dir.path()).args(["poll", "miso", "day_ahead"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("4 request(s)") && o.stdout.contains("4 no data yet"),
        "{}",
        o.stdout
    );
    let paths: Vec<String> = server.hits().iter().map(|h| h.path.clone()).collect();
    assert_eq!(paths.len(), 4);
    assert!(
        paths
            .iter()
            .all(|p| p.starts_with("/marketreports/") && p.contains("_da_ex")),
        "{paths:?}"
    );
    let o = run(carbon(dir.path()).args(["poll", "miso", "fifteen_minute"]));
    assert_eq!(o.code, 2, "MISO has no RTPD: {}", o.stderr);
    let o = run(carbon(dir.path()).args(["poll", "miso", "hourly"]));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("unknown job"), "{}", o.stderr);
}

/// A plain HTTP/1.1 request over a TCP socket, with a JSON body when given: (status, body).
fn http(method: &str, url: &str, json: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let body = json.unwrap_or("");
    let typed = if json.is_some() {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        )
    } else {
        String::new()
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{typed}Connection: close\r\n\r\n{body}"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    (status, body)
}

fn http_get(url: &str) -> (u16, String) {
    http("GET", url, None)
}

fn http_post(url: &str, json: &str) -> (u16, String) {
    http("POST", url, Some(json))
}

#[test]
fn serve_offline_answers_the_api_and_reports_sources_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = carbon(dir.path())
        .args([
            "serve",
            "--offline",
            "--bind",
            "127.0.0.1:0",
            "--exit-after",
            "4",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (base, seen, lines) = super::cli::listening(&mut child);
    assert!(seen.iter().any(|l| l.contains("offline")), "{seen:?}");
    // First start printed the admin's password; it signs in.
    let admin = seen
        .iter()
        .find(|l| l.trim_start().starts_with("admin "))
        .unwrap_or_else(|| panic!("{seen:?}"));
    let password = admin.split_whitespace().last().unwrap();
    let (status, body) = http_post(
        &format!("{base}/api/v1/auth/login"),
        &serde_json::json!({ "username": "admin", "password": password }).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("csrf_token") && !body.contains("access_token"),
        "{body}"
    );
    let (status, _) = http_get(&format!("{base}/api/v1/markets"));
    assert_eq!(status, 401);
    let (status, body) = http_get(&format!("{base}/health"));
    assert_eq!(status, 200, "{body}");
    // Give the offline polls a moment to record their runs.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (status, body) = http_get(&format!("{base}/ready"));
    assert_eq!(status, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["ready"], true);
    let sources = ready["sources"].as_array().unwrap();
    for name in ["miso", "caiso"] {
        let s = sources
            .iter()
            .find(|s| s["connector"] == name)
            .unwrap_or_else(|| panic!("{name}: {body}"));
        assert_eq!(s["last_status"], "unreachable", "{body}");
        assert!(
            s["last_error"].as_str().unwrap().contains("offline"),
            "{body}"
        );
    }
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("carbon serve: stopped")),
        "{rest:?}"
    );
    assert!(child.wait().unwrap().success());

    let o = run(carbon(dir.path()).args(["ingest", "runs", "--format", "csv"]));
    for source in ["miso", "caiso"] {
        assert!(
            o.stdout
                .lines()
                .any(|l| l.contains(source) && l.contains("unreachable") && l.contains("offline")),
            "{source}: {}",
            o.stdout
        );
    }
}
