//! `carbon query prices` and `carbon db stats` over a real DuckDB file seeded
//! with the real MISO day-ahead ex-post report of 2026-07-14 (three hubs).
//!
//! Until the MISO connector lands, the seed reads the fixture with a few lines
//! here: HE n starts at 2026-07-14 05:00Z + (n−1) h (EST), energy = LMP − MCC − MLC.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use carbon_core::{
    Components, Instrument, InstrumentId, LocationKind, MarketRun, Observation, Provenance,
};
use carbon_store::{DuckdbStore, Store};
use chrono::{DateTime, Duration, Utc};

use super::cli::{carbon, run};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/iso/miso/da_expost_lmp_20260714_3hubs.csv")
}

/// node → (LMP, MCC, MLC) by hour index 0..24.
fn read_fixture() -> HashMap<String, [[f64; 3]; 24]> {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let mut out: HashMap<String, [[f64; 3]; 24]> = HashMap::new();
    for line in text.lines().skip(5).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let slot = match f[2] {
            "LMP" => 0,
            "MCC" => 1,
            "MLC" => 2,
            other => panic!("unexpected Value {other}"),
        };
        let e = out.entry(f[0].to_string()).or_insert([[0.0; 3]; 24]);
        for h in 0..24 {
            e[h][slot] = f[3 + h].parse().unwrap();
        }
    }
    assert_eq!(out.len(), 3);
    out
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

const VINTAGE: &str = "2026-07-13T17:00:00Z";

/// A data dir holding the fixture's 72 intervals.
fn seeded() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = DuckdbStore::open(&dir.path().join("data")).unwrap();
    let data = read_fixture();
    let mut batch = Vec::new();
    let mut instruments = Vec::new();
    for (node, hours) in &data {
        let id = InstrumentId::new(carbon_core::Market::Miso, node).unwrap();
        instruments.push(Instrument::new(id.clone(), LocationKind::Hub));
        for (h, [lmp, mcc, mlc]) in hours.iter().enumerate() {
            let start = t("2026-07-14T05:00:00Z") + Duration::hours(h as i64);
            batch.push(Observation {
                instrument_id: id.clone(),
                market_run: MarketRun::Da,
                interval_start: start,
                interval_end: start + Duration::hours(1),
                values: Components {
                    lmp: Some(*lmp),
                    energy: Some(((lmp - mcc - mlc) * 100.0).round() / 100.0),
                    congestion: Some(*mcc),
                    loss: Some(*mlc),
                    ghg: None,
                },
                vintage: t(VINTAGE),
                provenance: Provenance::new(fixture().display().to_string(), Some(h as u64)),
            });
        }
    }
    rt.block_on(store.upsert_instruments(instruments)).unwrap();
    let s = rt.block_on(store.append(batch)).unwrap();
    assert_eq!(s.inserted, 72);
    drop(store);
    dir
}

const BASE: [&str; 8] = [
    "query",
    "prices",
    "--instrument",
    "MISO.INDIANA.HUB",
    "--start",
    "2026-07-14",
    "--end",
    "2026-07-15",
];

#[test]
fn csv_has_the_documented_columns_and_real_values() {
    let dir = seeded();
    let o = run(carbon(dir.path()).args(BASE).args(["--format", "csv"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "instrument_id,market_run,interval_start_utc,interval_end_utc,lmp,energy,congestion,loss,ghg"
    );
    assert_eq!(lines.len(), 25);
    // HE1 of the report: LMP 37.82, MCC 1.65, MLC 1.55 → energy 34.62; no GHG.
    assert_eq!(
        lines[1],
        "MISO.INDIANA.HUB,da,2026-07-14T05:00:00Z,2026-07-14T06:00:00Z,37.82,34.62,1.65,1.55,"
    );
    assert!(
        lines[24].starts_with("MISO.INDIANA.HUB,da,2026-07-15T04:00:00Z,2026-07-15T05:00:00Z,")
    );

    // Several instruments (repeated flag and commas), ordered by id; --out writes a file.
    let out = dir.path().join("three.csv");
    let o = run(carbon(dir.path()).args([
        "query",
        "prices",
        "-i",
        "MISO.INDIANA.HUB,MISO.MICHIGAN.HUB",
        "-i",
        "MISO.ILLINOIS.HUB",
        "--start",
        "2026-07-14T00:00:00-05:00",
        "--end",
        "2026-07-15T05:00:00Z",
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let text = std::fs::read_to_string(out).unwrap();
    assert_eq!(text.lines().count(), 73);
    let ids: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids[0], "MISO.ILLINOIS.HUB");
    assert_eq!(ids[24], "MISO.INDIANA.HUB");
    assert_eq!(ids[48], "MISO.MICHIGAN.HUB");
}

#[test]
fn table_and_json_show_the_market_clock() {
    let dir = seeded();
    let o = run(carbon(dir.path())
        .args(BASE)
        .args(["--components", "lmp", "--limit", "3"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", o.stdout);
    assert!(lines[0].starts_with("instrument_id"), "{}", lines[0]);
    assert!(
        lines[1].contains("2026-07-14T00:00:00-05:00") && lines[1].contains("37.82"),
        "{}",
        lines[1]
    );
    let o = run(carbon(dir.path())
        .args(BASE)
        .args(["--format", "json", "--tz", "utc"]));
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let rows = v.as_array().unwrap();
    // With --tz utc the dates are UTC midnights: 05:00Z..23:00Z of the report day.
    assert_eq!(rows.len(), 19);
    assert_eq!(rows[0]["interval_start_utc"], "2026-07-14T05:00:00Z");
    assert_eq!(rows[0]["lmp"], 37.82);
    assert_eq!(rows[0]["vintage_utc"], VINTAGE);
    assert!(rows[0]["ghg"].is_null());
}

#[test]
fn resample_and_blocks_match_arithmetic_on_the_report() {
    let dir = seeded();
    let data = read_fixture();
    let indiana = data["INDIANA.HUB"];
    let mean = |hs: std::ops::Range<usize>| {
        let n = hs.len() as f64;
        hs.map(|h| indiana[h][0]).sum::<f64>() / n
    };
    let o = run(carbon(dir.path())
        .args(BASE)
        .args(["--resample", "1d", "--format", "json"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert!((v[0]["lmp"].as_f64().unwrap() - mean(0..24)).abs() < 1e-9);
    assert_eq!(v[0]["samples"], 24);
    assert_eq!(v[0]["interval_start"], "2026-07-14T00:00:00-05:00");

    // On-peak (HE7–HE22 EST, a Tuesday): 16 hours, mean of HE7..HE22.
    let o = run(carbon(dir.path()).args(BASE).args([
        "--block",
        "onpeak",
        "--resample",
        "1d",
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v[0]["samples"], 16);
    assert!((v[0]["lmp"].as_f64().unwrap() - mean(6..22)).abs() < 1e-9);
    let o = run(carbon(dir.path())
        .args(BASE)
        .args(["--block", "offpeak", "--format", "csv"]));
    assert_eq!(o.stdout.lines().count(), 1 + 8);

    // Max over the day is the HE20 spike, 650.93.
    let o = run(carbon(dir.path()).args(BASE).args([
        "--resample",
        "1d",
        "--agg",
        "max",
        "--format",
        "csv",
    ]));
    assert!(
        o.stdout.lines().nth(1).unwrap().contains(",650.93,"),
        "{}",
        o.stdout
    );
}

#[test]
fn as_of_returns_what_was_known() {
    let dir = seeded();
    // A correction of HE1 published a day later.
    {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let store = DuckdbStore::open(&dir.path().join("data")).unwrap();
        let start = t("2026-07-14T05:00:00Z");
        let s = rt
            .block_on(store.append(vec![Observation {
                instrument_id: InstrumentId::parse("MISO.INDIANA.HUB").unwrap(),
                market_run: MarketRun::Da,
                interval_start: start,
                interval_end: start + Duration::hours(1),
                values: Components {
                    lmp: Some(40.0),
                    ..Default::default()
                },
                vintage: t("2026-07-15T17:00:00Z"),
                provenance: Provenance::new("correction", None),
            }]))
            .unwrap();
        assert_eq!(s.revisions, 1);
    }
    let first = |extra: &[&str]| {
        let o = run(carbon(dir.path())
            .args(BASE)
            .args(["--format", "csv", "--limit", "1"])
            .args(extra));
        assert_eq!(o.code, 0, "{}", o.stderr);
        o.stdout.lines().nth(1).unwrap().to_string()
    };
    assert!(first(&[]).contains(",40,"), "{}", first(&[]));
    assert!(first(&["--as-of", "2026-07-14T12:00:00Z"]).contains(",37.82,"));
    // Naive as-of is read on the market clock (EST): 2026-07-15 12:00 EST = 17:00Z.
    assert!(first(&["--as-of", "2026-07-15T12:00"]).contains(",40,"));
    assert!(first(&["--as-of", "2026-07-15T11:59"]).contains(",37.82,"));
}

#[test]
fn bad_input_is_a_clear_error_with_exit_code_2() {
    let dir = seeded();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "query",
                "prices",
                "-i",
                "MISO.NOPE",
                "--start",
                "2026-07-14",
                "--end",
                "2026-07-15",
            ],
            "unknown instrument `MISO.NOPE`",
        ),
        (
            &[
                "query",
                "prices",
                "-i",
                "INDIANA.HUB",
                "--start",
                "2026-07-14",
                "--end",
                "2026-07-15",
            ],
            "--instrument: invalid instrument id `INDIANA.HUB`",
        ),
        (
            &[
                "query",
                "prices",
                "-i",
                "MISO.INDIANA.HUB",
                "--start",
                "2026-07-15",
                "--end",
                "2026-07-14",
            ],
            "--start 2026-07-15T05:00:00Z must be before --end",
        ),
        (
            &[
                "query",
                "prices",
                "-i",
                "MISO.INDIANA.HUB",
                "--start",
                "2026-07-14",
                "--end",
                "tomorrow",
            ],
            "--end: invalid time `tomorrow`",
        ),
        (&[], ""),
    ];
    for (args, want) in cases.iter().filter(|c| !c.0.is_empty()) {
        let o = run(carbon(dir.path()).args(*args));
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(want), "{args:?}: {}", o.stderr);
    }
    for (flag, value, want) in [
        (
            "--resample",
            "2h",
            "--resample: unknown resample frequency `2h`",
        ),
        (
            "--block",
            "5x8",
            "--block: unknown block `5x8`; expected one of: flat, onpeak, offpeak, 2x16, 7x8",
        ),
        (
            "--market-run",
            "rt15",
            "--market-run: unknown market run `rt15`",
        ),
        (
            "--components",
            "price",
            "--components: unknown component `price`",
        ),
    ] {
        let o = run(carbon(dir.path()).args(BASE).args([flag, value]));
        assert_eq!(o.code, 2, "{flag}: {}", o.stderr);
        assert!(o.stderr.contains(want), "{flag}: {}", o.stderr);
    }
    let o = run(carbon(dir.path()).args(BASE).args(["--agg", "max"]));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--resample"), "{}", o.stderr);
    let o = run(carbon(dir.path())
        .args(BASE)
        .args(["--resample", "1d", "--agg", "median"]));
    assert!(
        o.stderr.contains("--agg: unknown aggregation `median`"),
        "{}",
        o.stderr
    );
    // Naive times across markets are ambiguous.
    let o = run(carbon(dir.path()).args([
        "query",
        "prices",
        "-i",
        "MISO.INDIANA.HUB",
        "-i",
        "CAISO.TH_SP15_GEN-APND",
        "--start",
        "2026-07-14",
        "--end",
        "2026-07-15",
    ]));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("several markets (MISO, CAISO)"),
        "{}",
        o.stderr
    );
}

#[test]
fn db_stats_lists_series() {
    let dir = seeded();
    let o = run(carbon(dir.path()).args(["db", "stats"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("3 series, 72 intervals, 72 versions"),
        "{}",
        o.stdout
    );
    let o = run(carbon(dir.path()).args(["db", "stats", "--format", "csv"]));
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[2].starts_with("MISO.INDIANA.HUB,da,24,24,2026-07-14T05:00:00Z,2026-07-15T05:00:00Z,2026-07-13T17:00:00Z,"), "{}", lines[2]);
    let o = run(carbon(dir.path()).args(["db", "stats", "--market", "caiso", "--format", "csv"]));
    assert_eq!(o.stdout.lines().count(), 1);
}
