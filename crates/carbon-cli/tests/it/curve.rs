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
        "--grid",
        "daily",
        "--trade-date",
        "2026-11-27",
        "--report",
        "report.json",
    ];
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
    assert!(report["solver"].as_str().unwrap().starts_with("clarabel"));
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
