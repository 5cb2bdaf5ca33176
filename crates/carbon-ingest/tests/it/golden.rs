//! Every ISO fixture → its normalised rows, compared with a committed golden
//! file (`tests/golden/<fixture>.csv`; `CARBON_BLESS=1` rewrites them), plus
//! values hand-checked against the raw files.

use carbon_core::{LocationKind, MarketRun};
use carbon_ingest::{
    caiso::parse::{OasisPayload, parse_oasis},
    miso::parse::{parse_five_minute_json, parse_market_report},
    parsed::Parsed,
};
use chrono::{DateTime, Utc};

use super::fixture;

fn vintage() -> DateTime<Utc> {
    "2026-11-01T00:00:00Z".parse().unwrap()
}

fn parse(rel: &str) -> Parsed {
    let path = fixture(rel);
    let bytes = std::fs::read(&path).unwrap();
    // Provenance names the fixture relative to the fixtures dir, so golden files
    // do not depend on where the checkout is.
    let src = rel.to_string();
    if rel.ends_with(".json") {
        parse_five_minute_json(&bytes, &src, vintage()).unwrap()
    } else if rel.starts_with("miso/") {
        parse_market_report(&bytes, &src, vintage()).unwrap()
    } else {
        match parse_oasis(&bytes, &src, vintage()).unwrap() {
            OasisPayload::Prices(p) => p,
            other => panic!("{rel}: {other:?}"),
        }
    }
}

fn render(p: &Parsed) -> String {
    let mut out = String::from(
        "instrument_id,kind,market_run,interval_start_utc,interval_end_utc,lmp,energy,congestion,loss,ghg,source_row\n",
    );
    let f = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for o in p.observations.iter() {
        let kind = p
            .instruments
            .iter()
            .find(|i| i.id == o.instrument_id)
            .map(|i| i.kind.as_str())
            .unwrap_or("?");
        out.push_str(&format!(
            "{},{kind},{},{},{},{},{},{},{},{},{}\n",
            o.instrument_id,
            o.market_run,
            o.interval_start
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            o.interval_end
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            f(o.values.lmp),
            f(o.values.energy),
            f(o.values.congestion),
            f(o.values.loss),
            f(o.values.ghg),
            o.provenance.row.map(|r| r.to_string()).unwrap_or_default(),
        ));
    }
    out
}

fn golden(rel: &str) -> Parsed {
    let p = parse(rel);
    let got = render(&p);
    let name = rel
        .replace('/', "__")
        .replace(".json", ".csv")
        .replace(".csv", ".golden.csv");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("CARBON_BLESS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden {}; run with CARBON_BLESS=1", path.display()));
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "{rel}: golden line {}", i + 1);
    }
    assert_eq!(got.lines().count(), want.lines().count(), "{rel}");
    p
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn miso_da_expost_three_hubs() {
    let p = golden("miso/da_expost_lmp_20260714_3hubs.csv");
    assert_eq!(p.observations.len(), 72);
    assert_eq!(
        p.market_runs.iter().copied().collect::<Vec<_>>(),
        [MarketRun::Da]
    );
    // Raw: ILLINOIS.HUB HE 1 LMP 36.24, MCC 1.32, MLC .3 → energy 34.62; EST HE1 = 05:00Z.
    let o = &p.observations.get(0);
    assert_eq!(o.instrument_id.as_str(), "MISO.ILLINOIS.HUB");
    assert_eq!(o.interval_start, t("2026-07-14T05:00:00Z"));
    assert_eq!(
        (
            o.values.lmp,
            o.values.congestion,
            o.values.loss,
            o.values.energy
        ),
        (Some(36.24), Some(1.32), Some(0.3), Some(34.62))
    );
    // Raw: INDIANA.HUB HE 20 LMP 650.93 (line 7), the day's spike.
    let he20 = p
        .observations
        .iter()
        .find(|o| {
            o.instrument_id.as_str() == "MISO.INDIANA.HUB"
                && o.interval_start == t("2026-07-15T00:00:00Z")
        })
        .unwrap();
    assert_eq!(he20.values.lmp, Some(650.93));
    assert_eq!(he20.provenance.row, Some(7));
    // SOURCES.md check: energy is the same at every hub in every hour.
    for h in 0..24 {
        let e: Vec<f64> = p
            .observations
            .iter()
            .skip(h)
            .step_by(24)
            .map(|o| o.values.energy.unwrap())
            .collect();
        assert!(
            e.iter().all(|x| (x - e[0]).abs() < 0.005),
            "hour {h}: {e:?}"
        );
    }
}

#[test]
fn miso_da_expost_hubs_interfaces_zones() {
    let p = golden("miso/da_expost_lmp_20261001_hubs_interfaces_subset.csv");
    assert_eq!(p.observations.len(), 22 * 24);
    let count = |k| p.instruments.iter().filter(|i| i.kind == k).count();
    assert_eq!(
        (
            count(LocationKind::Hub),
            count(LocationKind::Interface),
            count(LocationKind::Zone)
        ),
        (11, 8, 3)
    );
    // Raw: AECI (Interface) HE 1 LMP 28.16.
    assert_eq!(p.observations.get(0).instrument_id.as_str(), "MISO.AECI");
    assert_eq!(p.observations.get(0).values.lmp, Some(28.16));
}

#[test]
fn miso_five_minute_json() {
    let p = golden("miso/api_GetRealTimeFiveMinExPost_Previous_20261001_first3intervals.json");
    assert_eq!(p.observations.len(), 66);
    assert_eq!(p.instruments.len(), 22);
    // Raw: first record ["2026-10-01T00:00:00","WPS.AZ","26.77","1.09","0.00"] (EST start).
    let o = &p.observations.get(0);
    assert_eq!(
        (o.instrument_id.as_str(), o.market_run),
        ("MISO.WPS.AZ", MarketRun::Rt5)
    );
    assert_eq!(
        (o.interval_start, o.interval_end),
        (t("2026-10-01T05:00:00Z"), t("2026-10-01T05:05:00Z"))
    );
    assert_eq!(
        (
            o.values.lmp,
            o.values.loss,
            o.values.congestion,
            o.values.energy
        ),
        (Some(26.77), Some(1.09), Some(0.0), Some(25.68))
    );
    let last = p
        .observations
        .iter()
        .map(|o| o.interval_start)
        .max()
        .unwrap();
    assert_eq!(last, t("2026-10-01T05:10:00Z"));
}

#[test]
fn caiso_dam_prc_lmp() {
    let p = golden("caiso/oasis_PRC_LMP_DAM_v1_20200510_0096WD_7_N001.csv");
    assert_eq!(p.observations.len(), 24);
    // Rows are unsorted in the file; output is chronological from 07:00Z (00:00 PDT).
    assert_eq!(
        p.observations.get(0).interval_start,
        t("2020-05-10T07:00:00Z")
    );
    assert_eq!(
        p.observations.get(23).interval_end,
        t("2020-05-11T07:00:00Z")
    );
    // Raw line 2: 2020-05-10T12:00Z LMP 23.23602 (the MW column).
    let o = p
        .observations
        .iter()
        .find(|o| o.interval_start == t("2020-05-10T12:00:00Z"))
        .unwrap();
    assert_eq!(o.values.lmp, Some(23.23602));
    // SOURCES.md check: MCE + MCC + MCL = LMP every hour; there is no MGHG.
    for o in p.observations.iter() {
        assert!(o.values.residual().unwrap().abs() < 1e-4, "{o:?}");
        assert_eq!(o.values.ghg, None);
    }
}

#[test]
fn caiso_rtpd_with_ghg() {
    let p = golden("caiso/oasis_PRC_RTPD_LMP_v2_20230917-18_CAS_PP_GNODE7.csv");
    assert_eq!(p.observations.len(), 192);
    assert!(
        p.observations
            .iter()
            .all(|o| o.market_run == MarketRun::Rtpd)
    );
    assert!(
        p.observations
            .iter()
            .all(|o| (o.interval_end - o.interval_start).num_minutes() == 15)
    );
    // Raw line 2: 2023-09-18T00:00Z LMP (PRC) 23.9984.
    assert_eq!(p.observations.get(0).values.lmp, Some(23.9984));
    for o in p.observations.iter() {
        assert!(o.values.ghg.is_some());
        assert!(o.values.residual().unwrap().abs() < 1e-4, "{o:?}");
    }
}

#[test]
fn caiso_all_apnodes_sample() {
    let p = golden("caiso/oasis_PRC_LMP_DAM_20200101_ALL_APNODES_9rows.csv");
    // 8 LMP rows and 1 MCC row → 8 intervals, one of them with congestion.
    assert_eq!(p.observations.len(), 8);
    assert_eq!(
        p.observations
            .iter()
            .filter(|o| o.values.congestion.is_some())
            .count(),
        1
    );
    assert_eq!(p.instruments[0].kind, LocationKind::Aggregate);
}
