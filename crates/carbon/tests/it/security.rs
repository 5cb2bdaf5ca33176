//! A real `carbon serve` whose backend fails for real: 5xx answers say
//! nothing of the backend, and the log holds the detail under the request id.

use std::io::{Read, Write};

use super::cli::{carbon, listening, run};

/// A GET with one extra header; returns status, head and body.
fn get(base: &str, path: &str, header: &str) -> (u16, String, String) {
    let host = base.strip_prefix("http://").unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{header}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (
        text[9..12].parse().unwrap(),
        head.to_string(),
        body.to_string(),
    )
}

#[test]
fn a_backend_failure_is_an_opaque_500_and_its_detail_is_logged_with_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let report = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/iso/miso/da_expost_lmp_20260714_3hubs.csv");
    assert_eq!(run(carbon(dir.path()).arg("init")).code, 0);
    assert_eq!(
        run(carbon(dir.path()).args(["ingest", "file"]).arg(&report)).code,
        0
    );
    let o = run(carbon(dir.path()).args([
        "admin", "key", "create", "--tenant", "platform", "--owner", "admin", "--name", "t",
    ]));
    let key = o
        .stdout
        .lines()
        .find(|l| l.starts_with("ck_"))
        .unwrap_or_else(|| panic!("{}{}", o.stdout, o.stderr))
        .trim()
        .to_string();
    // The Parquet encoder writes through the temporary directory; pointing
    // TMPDIR at a regular file makes that fail inside the server.
    let not_a_dir = dir.path().join("tmp-is-a-file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let log = dir.path().join("serve.log");
    let mut child = carbon(dir.path())
        .args([
            "serve",
            "--offline",
            "--no-schedule",
            "--bind",
            "127.0.0.1:0",
            "--exit-after",
            "20",
        ])
        .env("TMPDIR", &not_a_dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let (base, _, _) = listening(&mut child);
    let path = "/api/v1/prices?instrument_id=MISO.INDIANA.HUB&start=2026-07-14&end=2026-07-15&format=parquet";
    let (status, head, body) = get(&base, path, &format!("x-api-key: {key}"));
    assert_eq!(status, 500, "{head}\n{body}");
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = problem["request_id"].as_str().unwrap().to_string();
    assert_eq!(
        problem["detail"],
        format!("internal error (request id {id})"),
        "{body}"
    );
    assert_eq!(problem["status"], 500);
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("x-request-id: {id}")),
        "{head}"
    );
    for leak in [
        "parquet",
        "os error",
        "tmp-is-a-file",
        "duckdb",
        "Not a directory",
    ] {
        assert!(!body.contains(leak), "{leak} leaked: {body}");
    }
    // The same request with bad input is still a precise 4xx.
    let (status, _, body) = get(
        &base,
        &path.replace("2026-07-15", "07/15"),
        &format!("x-api-key: {key}"),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"param\":\"end\""), "{body}");

    child.kill().unwrap();
    child.wait().unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    let line = logged
        .lines()
        .find(|l| l.contains(&id))
        .unwrap_or_else(|| panic!("request id {id} not in the log:\n{logged}"));
    assert!(line.contains("parquet"), "{line}");
}

#[test]
fn a_cors_origin_that_is_not_an_origin_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("carbon.toml"),
        "[api]\ncors_origins = [\"https://hub.example.com\", \"hub.example.com/app\"]\n",
    )
    .unwrap();
    let o = run(carbon(dir.path()).args(["config", "show"]));
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .contains("api.cors_origins: \"hub.example.com/app\" is not an origin"),
        "{}",
        o.stderr
    );
}
