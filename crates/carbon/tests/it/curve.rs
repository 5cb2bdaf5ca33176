//! `carbon curve build` end to end through the binary.

use std::path::Path;

use super::cli::{carbon, run};

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

fn months_csv(extra: &str) -> String {
    let mut s = String::from("name,start,end,price\n");
    for (m, days, p) in MONTHS {
        s.push_str(&format!(
            "2027-{m:02},2027-{m:02}-01,2027-{m:02}-{days},{p}\n"
        ));
    }
    s.push_str(extra);
    s
}

fn build(dir: &Path, csv: &str, extra: &[&str]) -> super::cli::Out {
    std::fs::write(dir.join("contracts.csv"), csv).unwrap();
    let mut args = vec![
        "curve",
        "build",
        "--contracts",
        "contracts.csv",
        "--trade-date",
        "2026-11-27",
        "--report",
        "report.json",
    ];
    if !extra.contains(&"--grid") {
        args.extend_from_slice(&["--grid", "daily"]);
    }
    args.extend_from_slice(extra);
    run(carbon(dir).args(&args))
}

#[test]
fn a_daily_curve_reprices_every_month_and_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let o = build(dir.path(), &months_csv(""), &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "delivery_start,delivery_end,price");
    assert_eq!(lines.len(), 1 + 365);
    // MISO's clock is EST: 2027-01-01 starts 05:00Z.
    assert!(
        lines[1].starts_with("2027-01-01T05:00:00Z,2027-01-02T05:00:00Z,"),
        "{}",
        lines[1]
    );
    let prices: Vec<f64> = lines[1..]
        .iter()
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    let mut day = 0;
    for (_, days, p) in MONTHS {
        let avg = prices[day..day + days as usize].iter().sum::<f64>() / f64::from(days);
        assert!((avg - p).abs() / p <= 1e-8, "{avg} vs {p}");
        day += days as usize;
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["contracts"].as_array().unwrap().len(), 12);
    assert!(
        report["contracts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["error"].as_f64().unwrap().abs() < 1e-8 * 72.0)
    );
    assert_eq!(report["input_hash"].as_str().unwrap().len(), 64);
    // Views: the flat month view of July reprices July; quarters and the year are there.
    let views = report["views"].as_array().unwrap();
    let july = views
        .iter()
        .find(|v| v["period"] == "2027-07" && v["block"] == "flat")
        .unwrap();
    assert!(
        (july["price"].as_f64().unwrap() - 66.3).abs() < 1e-8,
        "{july}"
    );
    assert!(
        views
            .iter()
            .any(|v| v["period"] == "2027-Q3" && v["block"] == "onpeak")
    );
    assert!(
        views
            .iter()
            .any(|v| v["period"] == "2027" && v["partial"] == false)
    );
    // Same inputs: same bytes, same hash.
    let again = build(dir.path(), &months_csv(""), &[]);
    assert_eq!(again.stdout, o.stdout);
    let r2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(r2["input_hash"], report["input_hash"]);
}

#[test]
fn policies_strict_drop_parents_and_bid_ask() {
    let dir = tempfile::tempdir().unwrap();
    // A calendar strip quoted 0.3 under its months' implied average.
    let implied: f64 = MONTHS
        .iter()
        .map(|(_, d, p)| f64::from(*d) * p)
        .sum::<f64>()
        / 365.0;
    let cal = format!("Cal-27,2027-01-01,2027-12-31,{}\n", implied - 0.3);
    let o = build(dir.path(), &months_csv(&cal), &[]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(
        o.stderr.contains("arbitrage")
            && o.stderr.contains("Cal-27")
            && o.stderr.contains("gap -0.3000"),
        "{}",
        o.stderr
    );
    let o = build(dir.path(), &months_csv(&cal), &["--policy", "drop_parents"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let cal_row = report["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Cal-27")
        .unwrap()
        .clone();
    assert_eq!(cal_row["dropped"], true);
    assert!(
        (cal_row["error"].as_f64().unwrap() - 0.3).abs() < 1e-8,
        "{cal_row}"
    );
    assert_eq!(report["reconciliation"][0]["kind"], "nested");
    // Least squares splits the disagreement instead of failing.
    let o = build(
        dir.path(),
        &months_csv(&cal),
        &["--policy", "least_squares"],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    // Bid/ask: every repriced average within its band.
    let mut banded = String::from("name,start,end,price,bid,ask\n");
    for (m, days, p) in MONTHS {
        banded.push_str(&format!(
            "2027-{m:02},2027-{m:02}-01,2027-{m:02}-{days},{p},{},{}\n",
            p - 1.0,
            p + 1.0
        ));
    }
    let o = build(dir.path(), &banded, &["--policy", "bid_ask"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert!(
        report["solver"]["name"]
            .as_str()
            .unwrap()
            .starts_with("clarabel")
    );
    for c in report["contracts"].as_array().unwrap() {
        assert!(c["error"].as_f64().unwrap().abs() <= 1.0 + 1e-6, "{c}");
    }
}

#[test]
fn bad_contract_files_name_the_row_and_field() {
    let dir = tempfile::tempdir().unwrap();
    for (csv, says) in [
        (
            "name,start,end,price\nJan,2027-01-31,2027-01-01,50\n",
            "row 1, field `end`",
        ),
        (
            "name,start,end,price\nJan,2027-01-01,2027-01-31,fifty\n",
            "row 1, field `price`",
        ),
        (
            "name,start,end,price,block\nJan,2027-01-01,2027-01-31,50,5x8\n",
            "row 1, field `block`",
        ),
        ("name,start,price\nJan,2027-01-01,50\n", "no `end` column"),
        ("name,start,end,price\n", "no contracts"),
        (
            "name,start,end,price,block\nSun,2027-01-03,2027-01-03,50,onpeak\nJan,2027-01-01,2027-01-31,40,flat\n",
            "contract `Sun`: no grid point",
        ),
    ] {
        let o = build(dir.path(), csv, &[]);
        assert_eq!(o.code, 2, "{csv}: {}", o.stdout);
        assert!(o.stderr.contains(says), "{says}: {}", o.stderr);
    }
    let o = build(dir.path(), &months_csv(""), &["--grid", "weekly"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--grid"), "{}", o.stderr);
}

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/iso")
        .join(rel)
        .display()
        .to_string()
}

/// Stored runs: `--curve-id` keeps the run and its points in the data
/// directory (failed builds too), `--shape-from` reads the stored Indiana
/// hub day-ahead prices, and the options reach the report.
#[test]
fn stored_runs_shapes_from_history_and_options() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(carbon(dir.path()).args([
        "ingest",
        "file",
        &fixture("miso/da_expost_lmp_20261001_hubs_interfaces_subset.csv"),
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut strips = String::from("name,start,end,price,block\n");
    for (m, days, p) in &MONTHS[..3] {
        strips.push_str(&format!(
            "2027-{m:02} on,2027-{m:02}-01,2027-{m:02}-{days},{},onpeak\n",
            p + 10.0
        ));
        strips.push_str(&format!(
            "2027-{m:02} off,2027-{m:02}-01,2027-{m:02}-{days},{},offpeak\n",
            p - 5.0
        ));
    }
    let o = build(
        dir.path(),
        &strips,
        &[
            "--grid",
            "hourly",
            "--shape-from",
            "MISO.INDIANA.HUB@da",
            "--curve-id",
            "IND_H",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("shape from MISO.INDIANA.HUB (da): 24 hours"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("stored curve IND_H as of 2026-11-27 (scenario BASE) as run cr_"),
        "{}",
        o.stderr
    );
    let out: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(out["points"].as_array().unwrap().len(), (31 + 28 + 31) * 24);
    assert_eq!(out["points"][0]["tenor"], "2027-01-01 HE01");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["run_id"], out["run_id"]);
    assert_eq!(report["parameters"]["prior"], "multiplicative");
    for c in report["contracts"].as_array().unwrap() {
        assert!(c["error"].as_f64().unwrap().abs() < 1e-8 * 80.0, "{c}");
    }
    // A failed build with a curve id is recorded, and says so.
    let o = build(
        dir.path(),
        "name,start,end,price\nJan,2027-01-01,2027-01-31,50\n",
        &["--curve-id", "IND_H"],
    );
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("recorded as failed run cr_"),
        "{}",
        o.stderr
    );
    // Discounting, a flat long end past the last contract, an hour mask.
    let mut masked = String::from("name,start,end,price,block\n");
    for line in months_csv("").lines().skip(1) {
        masked.push_str(&format!("{line},flat\n"));
    }
    masked.push_str("Jan evenings,2027-01-01,2027-01-31,80,he:17-21@peak\n");
    let o = build(
        dir.path(),
        &masked,
        &[
            "--discount-rate",
            "0.05",
            "--until",
            "2028-06-30",
            "--flat-long-end",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 1 + 365 + 182);
    let last: Vec<f64> = lines[lines.len() - 100..]
        .iter()
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(last.iter().all(|v| *v == last[0]), "flat long end");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["parameters"]["discount_rate"], 0.05);
    assert_eq!(report["contracts"][12]["block"], "he:17-21@peak");
    for (flag, value, says) in [
        ("--until", "2028-13-01", "--until"),
        ("--curve-id", "has space", "--curve-id"),
        ("--shape-from", "MISO.NOWHERE", "MISO.NOWHERE"),
    ] {
        let o = build(dir.path(), &months_csv(""), &[flag, value]);
        assert_eq!(o.code, 2, "{flag}: {}", o.stdout);
        assert!(o.stderr.contains(says), "{flag}: {}", o.stderr);
    }
}
