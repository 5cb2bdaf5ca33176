//! `carbon ingest file`, `carbon ingest runs`, `carbon quality` on the real fixtures.

use std::path::Path;

use super::cli::{carbon, run};

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/iso")
}

/// The ISOs `carbon` reads so far; the fixture folder also holds PJM, ERCOT,
/// SPP, NYISO and ISO-NE files for the connectors still to come.
fn supported_fixture_dirs() -> [std::path::PathBuf; 2] {
    [fixtures().join("miso"), fixtures().join("caiso")]
}

#[test]
fn offline_demo_loads_every_fixture_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(carbon(dir.path())
        .args(["ingest", "file"])
        .args(supported_fixture_dirs()));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout
            .contains("7 file(s): 890 new rows, 0 unchanged, 0 quarantined, 0 failed"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("skipped") && o.stdout.contains("SLD_FCST"),
        "{}",
        o.stdout
    );
    let again = run(carbon(dir.path())
        .args(["ingest", "file"])
        .args(supported_fixture_dirs()));
    assert!(
        again.stdout.contains("0 new rows, 890 unchanged"),
        "{}",
        again.stdout
    );

    let o = run(carbon(dir.path()).args([
        "query",
        "prices",
        "-i",
        "CAISO.0096WD_7_N001",
        "--start",
        "2020-05-10",
        "--end",
        "2020-05-11",
        "--format",
        "csv",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.lines().count(), 25);
    assert!(
        o.stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("CAISO.0096WD_7_N001,da,2020-05-10T07:00:00Z,")
    );

    let o = run(carbon(dir.path()).args(["ingest", "runs", "--format", "csv", "--limit", "100"]));
    assert_eq!(o.stdout.lines().count(), 1 + 12);
    assert!(
        o.stdout.lines().nth(1).unwrap().contains(",file,ok,"),
        "{}",
        o.stdout
    );
    let o = run(carbon(dir.path()).args(["db", "stats"]));
    assert!(o.stdout.contains("890 intervals"), "{}", o.stdout);
}

#[test]
fn bad_files_fail_with_file_line_field_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let raw =
        std::fs::read_to_string(fixtures().join("miso/da_expost_lmp_20260714_3hubs.csv")).unwrap();
    let bad = dir.path().join("20260714_da_expost_lmp.csv");
    std::fs::write(
        &bad,
        raw.replacen("ILLINOIS.HUB,Hub,MCC,1.32,", "ILLINOIS.HUB,Hub,MCC,abc,", 1),
    )
    .unwrap();
    let o = run(carbon(dir.path()).args(["ingest", "file"]).arg(&bad));
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .contains("20260714_da_expost_lmp.csv, line 9, field HE 1: `abc` is not a number"),
        "{}",
        o.stderr
    );
    let o = run(carbon(dir.path()).args(["db", "stats"]));
    assert!(o.stdout.contains("0 series"), "{}", o.stdout);
    let o = run(carbon(dir.path()).args(["ingest", "file", "no/such/path"]));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("no/such/path"), "{}", o.stderr);
    let o = run(carbon(dir.path())
        .args(["ingest", "file", "--source", "caiso"])
        .arg(fixtures().join("miso/da_expost_lmp_20260714_3hubs.csv")));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("--source Caiso was given but the content looks like MisoReport"),
        "{}",
        o.stderr
    );
}

#[test]
fn files_of_isos_not_read_yet_fail_by_name_and_the_rest_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(carbon(dir.path()).args(["ingest", "file"]).arg(fixtures()));
    assert_ne!(o.code, 0, "{}", o.stdout);
    assert!(
        format!("{}{}", o.stdout, o.stderr)
            .contains("13 file(s): 890 new rows, 0 unchanged, 0 quarantined, 6 failed"),
        "{}{}",
        o.stdout,
        o.stderr
    );
    for name in [
        "pjm/da_hrl_lmps_pjm-rto_2025.csv, line 1:",
        "spp/da_lmp_sl_20260308_subset.csv, line 1:",
        "nyiso/20260923damlbmp_zone.csv, line 1:",
        "ercot/dam_stlmnt_pnt_prices_hb_hubavg_20251102.json, line 1:",
    ] {
        assert!(
            o.stderr
                .lines()
                .any(|l| l.starts_with("failed") && l.contains(name)),
            "{name}: {}",
            o.stderr
        );
    }
}
