//! `carbon scenario …` through the binary on the real MISO 2021 and Henry
//! Hub files: validate (exit 2 with line and column), save two versions,
//! diff, run both, list runs, compare.

use super::cli::{carbon, run};

const DOC: &str = "name: Gas +1\ninstrument: MISO.INDIANA.HUB\nmarket_run: rt\n\
base: { curve_id: IND_FWD }\ncalibration: { start: 2021-01-01, end: 2022-01-01 }\n\
drivers:\n  gas: { shift: 1.0 }\n  carbon: { price: 25 }\n";

#[test]
fn validate_save_diff_run_and_compare_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fund = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/fundamentals");
    let o = run(carbon(d)
        .args(["ingest", "file"])
        .arg(fund.join("miso_lmp_rt_hr_hubs_2021_eia.csv"))
        .arg(fund.join("henry_hub_spot_daily_eia_1997-01-07_2026-08-18.csv")));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut csv = String::from("name,start,end,price\n");
    for (m, days) in [(1, 31), (2, 28), (3, 31)] {
        csv.push_str(&format!(
            "2027-{m:02},2027-{m:02}-01,2027-{m:02}-{days},{}\n",
            40 + m
        ));
    }
    std::fs::write(d.join("contracts.csv"), csv).unwrap();
    let o = run(carbon(d).args([
        "curve",
        "build",
        "--contracts",
        "contracts.csv",
        "--trade-date",
        "2026-11-27",
        "--grid",
        "daily",
        "--curve-id",
        "IND_FWD",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);

    std::fs::write(
        d.join("bad.yaml"),
        DOC.replace("shift: 1.0", "shift: { \"2027-13\": 1 }"),
    )
    .unwrap();
    let o = run(carbon(d).args(["scenario", "validate", "bad.yaml"]));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("drivers.gas.shift[\"2027-13\"]: not a month")
            && o.stderr.contains("(line 7, column"),
        "{}",
        o.stderr
    );
    std::fs::write(d.join("v1.yaml"), DOC).unwrap();
    std::fs::write(d.join("v2.yaml"), DOC.replace("shift: 1.0", "shift: 2.0")).unwrap();
    let o = run(carbon(d).args(["scenario", "validate", "v1.yaml"]));
    assert_eq!(
        (o.code, o.stdout.trim()),
        (0, "valid (yaml)"),
        "{}",
        o.stderr
    );
    let o = run(carbon(d).args(["scenario", "save", "v1.yaml"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let id = o.stdout.split_whitespace().next().unwrap().to_string();
    assert!(
        id.starts_with("sc_") && o.stdout.contains("version 1 saved"),
        "{}",
        o.stdout
    );
    let o = run(carbon(d).args(["scenario", "save", "v2.yaml", "--id", &id]));
    assert!(o.stdout.contains("version 2 saved"), "{}", o.stdout);
    let o = run(carbon(d).args([
        "scenario", "diff", &id, "--from", "1", "--to", "2", "--format", "csv",
    ]));
    assert_eq!(
        o.stdout, "field,from,to\ndrivers.gas.shift,1.0,2.0\n",
        "{}",
        o.stderr
    );
    let o = run(carbon(d).args(["scenario", "show", &id, "--version", "1"]));
    assert_eq!(o.stdout, DOC);

    // Run both versions: three months × two blocks each.
    let mut runs = Vec::new();
    for v in ["1", "2"] {
        let o = run(carbon(d).args(["scenario", "run", &id, "--version", v, "--format", "csv"]));
        assert_eq!(o.code, 0, "{}", o.stderr);
        let lines: Vec<&str> = o.stdout.lines().collect();
        assert_eq!(lines.len(), 1 + 6, "{}", o.stdout);
        assert!(lines[1].starts_with("2027-01,onpeak,"), "{}", o.stdout);
        // delta = gas + carbon, carbon = 25 × β × 0.05306.
        let f: Vec<f64> = lines[1]
            .split(',')
            .skip(2)
            .take(8)
            .map(|x| x.parse().unwrap())
            .collect();
        let beta: f64 = lines[1].split(',').nth(9).unwrap().parse().unwrap();
        assert!((f[2] - (f[3] + f[4])).abs() < 1e-9, "{}", lines[1]);
        assert!((f[4] - 25.0 * beta * 0.05306).abs() < 1e-9, "{}", lines[1]);
        let cr = o
            .stderr
            .split("curve run ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        runs.push(cr);
    }
    let o = run(carbon(d).args(["scenario", "runs", &id, "--format", "csv"]));
    assert_eq!(o.stdout.lines().count(), 3, "{}", o.stdout);
    let o = run(carbon(d).args(["scenario", "compare", &runs[0], &runs[1], "--format", "csv"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.lines().count(), 7, "{}", o.stdout);
    // Another tenant has no such scenario.
    let o = run(carbon(d).args(["scenario", "show", &id, "--tenant", "pilot_miso"]));
    assert_eq!(o.code, 2, "{}", o.stderr);
}
