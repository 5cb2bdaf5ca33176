//! `carbon export …` through the binary: estimate, write (no server: here
//! and now), the files and manifest in the data directory's object store,
//! Parquet read back by DuckDB equal to the raw report, list, link, bad input.

use super::cli::{carbon, run};

const REPORT: &str =
    "../../../shared/fixtures/iso/miso/da_expost_lmp_20261001_hubs_interfaces_subset.csv";

#[test]
fn export_prices_estimate_list_and_link_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let report = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(REPORT);
    let o = run(carbon(d).args(["ingest", "file"]).arg(&report));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let q = [
        "-i",
        "MISO.INDIANA.HUB",
        "--start",
        "2026-10-01",
        "--end",
        "2026-10-02",
        "--market-run",
        "da",
    ];
    let o = run(carbon(d).args(["export", "estimate"]).args(q));
    assert_eq!(
        o.stdout.trim(),
        "about 24 rows, 2640 bytes, 1 part(s)",
        "{}",
        o.stderr
    );
    let o = run(carbon(d)
        .args(["export", "prices"])
        .args(q)
        .args(["--as", "parquet"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let id = o.stdout.split(':').next().unwrap().trim().to_string();
    assert!(
        id.starts_with("ex_") && o.stdout.contains("prices-2026-10.parquet 24 rows sha256 "),
        "{}",
        o.stdout
    );
    let folder = d.join("data/objects/exports/platform").join(&id);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["rows"], 24);
    // The part, read back by DuckDB, holds the report's INDIANA.HUB LMPs.
    let db = duckdb::Connection::open_in_memory().unwrap();
    let part = folder.join("prices-2026-10.parquet");
    let ours: Vec<f64> = {
        let mut st = db
            .prepare(&format!(
                "SELECT lmp FROM read_parquet('{}') ORDER BY interval_start_utc",
                part.display()
            ))
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let raw = std::fs::read_to_string(&report).unwrap();
    let line = raw
        .lines()
        .find(|l| l.starts_with("INDIANA.HUB,Hub,LMP,"))
        .unwrap();
    let want: Vec<f64> = line
        .split(',')
        .skip(3)
        .map(|v| v.trim().parse().unwrap())
        .collect();
    assert_eq!(ours, want);

    let o = run(carbon(d).args(["export", "list", "--format", "csv"]));
    assert_eq!(o.stdout.lines().count(), 2, "{}", o.stdout);
    assert!(
        o.stdout.contains(&format!("{id},succeeded,parquet")),
        "{}",
        o.stdout
    );
    let o = run(carbon(d).args(["export", "link", &id, "--file", "manifest.json"]));
    assert!(
        o.stdout.starts_with(&format!(
            "/api/v1/downloads/platform/{id}/manifest.json?expires="
        )),
        "{}",
        o.stdout
    );
    // Bad input: exit 2 naming the flag; a file the export does not have.
    let o = run(carbon(d)
        .args(["export", "prices"])
        .args(q)
        .args(["--as", "xls"]));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--as xls"), "{}", o.stderr);
    let o = run(carbon(d).args(["export", "link", &id, "--file", "secrets.txt"]));
    assert_eq!(o.code, 2, "{}", o.stderr);
}

#[test]
fn a_monthly_brief_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/fundamentals");
    let o = run(carbon(d)
        .args(["ingest", "file"])
        .arg(fixtures.join("miso_lmp_rt_hr_hubs_2021_eia.csv")));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let out = d.join("briefs");
    let o = run(carbon(d)
        .args([
            "report", "create", "--market", "MISO", "--month", "2021-02", "--out",
        ])
        .arg(&out));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let id = o.stdout.split(':').next().unwrap().trim().to_string();
    assert!(id.starts_with("rp_"), "{}", o.stdout);
    let pdf = std::fs::read(out.join("brief-MISO-2021-02.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let html = std::fs::read_to_string(out.join("brief-MISO-2021-02.html")).unwrap();
    assert!(html.contains("MISO.INDIANA.HUB") && html.contains("February 2021"));
    let o = run(carbon(d).args(["report", "list", "--format", "csv"]));
    assert!(
        o.stdout.contains(&id) && o.stdout.contains("2021-02"),
        "{}",
        o.stdout
    );
    // Not among the exports' manifests' files: a made-up name has no link.
    let o = run(carbon(d).args(["report", "link", &id, "--file", "brief-MISO-2021-02.pdf"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains(&format!(
        "/api/v1/downloads/platform/{id}/brief-MISO-2021-02.pdf?expires="
    )));
    let o = run(carbon(d).args(["report", "link", &id, "--file", "other.pdf"]));
    assert_eq!(o.code, 2, "{}", o.stdout);
    // Bad input: the flag is named, exit 2.
    let o = run(carbon(d).args(["report", "create", "--market", "MISO", "--month", "2021-2"]));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("month"), "{}", o.stderr);
}

#[test]
fn a_feed_due_is_fired_by_the_servers_scheduler_and_writes_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let report = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(REPORT);
    assert_eq!(run(carbon(d).args(["ingest", "file"]).arg(&report)).code, 0);
    let o = run(carbon(d).args([
        "feed",
        "create",
        "--name",
        "daily da",
        "-i",
        "MISO.INDIANA.HUB",
        "--as",
        "csv",
        "--run-now",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let id = o.stdout.split(':').next().unwrap().trim().to_string();
    // Nothing fired yet: the server's scheduler does it.
    let o = run(carbon(d).args(["feed", "runs", &id]));
    assert!(o.stdout.trim().is_empty(), "{}", o.stdout);
    let (mut child, _base, _) = super::cli::serve_offline(d);
    let t0 = std::time::Instant::now();
    let line = loop {
        // Beside the running server: its feeds service answers.
        let o = run(carbon(d).args(["feed", "list", "--format", "csv"]));
        let line = o
            .stdout
            .lines()
            .find(|l| l.starts_with(&id))
            .unwrap_or_default()
            .to_string();
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() > 7 && !cells[5].is_empty() {
            break line;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "not fired: {}",
            o.stdout
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    let cells: Vec<&str> = line.split(',').collect();
    assert_eq!((cells[6], cells[7]), ("0", "1"), "failures, runs: {line}");
    let o = run(carbon(d).args(["feed", "runs", &id]));
    let export = o.stdout.split_whitespace().next().unwrap().to_string();
    assert!(o.stdout.contains("succeeded"), "{}", o.stdout);
    let manifest = d
        .join("data/objects/exports/platform")
        .join(&export)
        .join("manifest.json");
    assert!(manifest.exists(), "{}", manifest.display());
}
