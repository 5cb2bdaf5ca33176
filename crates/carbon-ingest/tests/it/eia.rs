//! The EIA fundamentals fixtures: a digest of every file's normalised content
//! against a committed golden file (`CARBON_BLESS=1` rewrites it), values
//! hand-checked against the raw files, malformed input named, and a load
//! through the runner into a real DuckDB store (prices and fundamentals;
//! loading twice changes nothing).

use std::{collections::BTreeMap, path::PathBuf, sync::Arc};

use carbon_core::{Component, InstrumentId, MarketRun};
use carbon_ingest::{
    bus::InProcessBus,
    dq::DqConfig,
    eia::{EiaContent, parse},
    runner::{Outcome, Payload, Runner},
};
use carbon_store::{DuckdbStore, FundamentalQuery, FundamentalStore, PriceQuery, Store};
use chrono::{DateTime, Utc};

fn dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/fundamentals")
}

const FILES: [&str; 7] = [
    "caiso_lmp_rt_15min_zones_2020Q4_eia.csv",
    "ercot_lmp_da_hr_hubs_2020_eia.csv",
    "ercot_load-temp_hr_2020_eia.csv",
    "henry_hub_spot_daily_eia_1997-01-07_2026-08-18.csv",
    "miso_lmp_rt_hr_hubs_2021_eia.csv",
    "miso_temp_hr_2021_eia.csv",
    "ng_storage_weekly_by_region_eia_2010-01-01_2024-04-12.csv",
];

fn vintage() -> DateTime<Utc> {
    "2026-11-01T00:00:00Z".parse().unwrap()
}

fn content(name: &str) -> EiaContent {
    let bytes = std::fs::read(dir().join(name)).unwrap();
    parse(&bytes, name, vintage()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Per series: count, first and last interval, sum, min and max.
fn digest(name: &str, c: &EiaContent) -> String {
    #[derive(Default)]
    struct Acc {
        n: usize,
        first: Option<(DateTime<Utc>, DateTime<Utc>)>,
        last: Option<(DateTime<Utc>, DateTime<Utc>)>,
        sum: f64,
        min: f64,
        max: f64,
    }
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
    let mut add = |key: String, s: DateTime<Utc>, e: DateTime<Utc>, v: f64| {
        let a = acc.entry(key).or_insert(Acc {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            ..Default::default()
        });
        a.n += 1;
        a.first.get_or_insert((s, e));
        a.last = Some((s, e));
        a.sum += v;
        a.min = a.min.min(v);
        a.max = a.max.max(v);
    };
    let mut extra = String::new();
    match c {
        EiaContent::Prices(p) => {
            for o in p.observations.iter() {
                for comp in Component::ALL.iter().copied() {
                    if let Some(v) = o.values.get(comp) {
                        add(
                            format!("{} {} {comp}", o.instrument_id, o.market_run),
                            o.interval_start,
                            o.interval_end,
                            v,
                        );
                    }
                }
            }
        }
        EiaContent::Fundamentals(f) => {
            for p in &f.points {
                add(
                    format!("{} / {} [{}]", p.entity, p.variable, p.unit),
                    p.interval_start,
                    p.interval_end,
                    p.value,
                );
            }
            extra = format!(
                "  missing {:?}\n  ignored {:?}\n",
                f.missing, f.ignored_columns
            );
        }
    }
    let mut out = format!("# {name}\n{extra}");
    for (k, a) in acc {
        let (fs, fe) = a.first.unwrap();
        let (ls, le) = a.last.unwrap();
        out.push_str(&format!(
            "{k}: n={} first={}..{} last={}..{} sum={:.6} min={} max={}\n",
            a.n,
            ts(fs),
            ts(fe),
            ts(ls),
            ts(le),
            a.sum,
            a.min,
            a.max
        ));
    }
    out
}

#[test]
fn every_fundamentals_file_matches_its_golden_digest() {
    let got: String = FILES
        .iter()
        .map(|f| digest(f, &content(f)))
        .collect::<Vec<_>>()
        .join("\n");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/eia_fundamentals.golden.txt");
    if std::env::var_os("CARBON_BLESS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want =
        std::fs::read_to_string(&path).expect("golden digest (run with CARBON_BLESS=1 to create)");
    assert_eq!(
        got, want,
        "EIA digest changed; inspect and re-bless if intended"
    );
}

#[test]
fn hand_checked_values() {
    // Storage: first row `01-Jan-10,769,900,195,268,985,159,826,3117`.
    let EiaContent::Fundamentals(st) = content(FILES[6]) else {
        panic!("storage")
    };
    assert_eq!(st.points.len(), 746 * 8);
    let east = &st.points[0];
    assert_eq!(
        (east.entity.as_str(), east.value, east.unit.as_str()),
        ("East Region", 769.0, "Bcf")
    );
    assert_eq!(ts(east.interval_start), "2009-12-26T00:00:00Z");
    assert_eq!(ts(east.interval_end), "2010-01-02T00:00:00Z");
    // Salt + NonSalt = South Central in every week, up to EIA's independent
    // rounding of each figure (at most 1 Bcf; SOURCES.md says 0, the file
    // differs by 1 in 126 weeks, e.g. 19-Jun-15: 295 + 686 vs 982).
    let by = |e: &str| {
        st.points
            .iter()
            .filter(|p| p.entity == e)
            .map(|p| p.value)
            .collect::<Vec<_>>()
    };
    let (salt, non, sc) = (by("Salt"), by("NonSalt"), by("South Central Region"));
    let off: Vec<f64> = salt
        .iter()
        .zip(&non)
        .zip(&sc)
        .map(|((a, b), c)| (a + b - c).abs())
        .collect();
    assert!(off.iter().all(|d| *d <= 1.0));
    assert_eq!(off.iter().filter(|d| **d > 0.0).count(), 126);
    // Henry Hub: one empty price (2018-01-05), 2021 peak 23.86.
    let EiaContent::Fundamentals(hh) = content(FILES[3]) else {
        panic!("hh")
    };
    assert_eq!(hh.points.len(), 7_436);
    assert_eq!(hh.missing.get("Price"), Some(&1));
    let max21 = hh
        .points
        .iter()
        .filter(|p| p.interval_start.format("%Y").to_string() == "2021")
        .map(|p| p.value)
        .fold(0.0, f64::max);
    assert_eq!(max21, 23.86);
    // MISO temperatures: `27.0` at Indianapolis in the first row (UTC end 06:00).
    let EiaContent::Fundamentals(t) = content(FILES[5]) else {
        panic!("temps")
    };
    let indy = t
        .points
        .iter()
        .find(|p| p.entity == "Indianapolis")
        .unwrap();
    assert_eq!(
        (indy.value, ts(indy.interval_start)),
        (27.0, "2021-01-01T05:00:00Z".to_string())
    );
    assert_eq!(
        t.missing.get("Minneapolis Temperature (Fahrenheit)"),
        Some(&3)
    );
    assert_eq!(
        t.missing
            .get("New Orleans International Airport Temperature (Fahrenheit)"),
        Some(&22)
    );
    // ERCOT load: zones sum to the total in every hour.
    let EiaContent::Fundamentals(l) = content(FILES[2]) else {
        panic!("load")
    };
    let mut total: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
    let mut zones: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
    for p in l.points.iter().filter(|p| p.variable == "load") {
        let m = if p.entity == "ERCOT" {
            &mut total
        } else {
            &mut zones
        };
        *m.entry(p.interval_start).or_default() += p.value;
    }
    assert_eq!(total.len(), 8_784);
    assert!(total.iter().all(|(k, v)| (v - zones[k]).abs() < 1e-5)); // six-decimal rounding of each figure
    // MISO hub prices: energy (LMP − congestion − loss) equal across hubs.
    let EiaContent::Prices(p) = content(FILES[4]) else {
        panic!("miso")
    };
    assert_eq!(p.observations.len(), 8_760 * 8);
    assert!(p.observations.iter().all(|o| o.market_run == MarketRun::Rt));
    let first: Vec<_> = p.observations.iter().take(8).collect();
    assert_eq!(first[2].instrument_id.as_str(), "MISO.INDIANA.HUB");
    assert_eq!(first[2].values.lmp, Some(19.24));
    assert!(first.iter().all(
        |o| (o.values.energy.unwrap() - first[0].values.energy.unwrap()).abs() <= 0.03 + 1e-9
    ));
    // CAISO 15-minute zones as RTPD on the trading hubs; the fall-back day is
    // read on the UTC clock (its local columns disagree).
    let EiaContent::Prices(c) = content(FILES[0]) else {
        panic!("caiso")
    };
    assert_eq!(c.observations.len(), 8_812 * 3);
    assert!(
        c.observations
            .iter()
            .all(|o| o.market_run == MarketRun::Rtpd)
    );
    assert_eq!(
        c.observations.get(0).instrument_id.as_str(),
        "CAISO.TH_NP15_GEN-APND"
    );
    assert_eq!(
        ts(c.observations.get(0).interval_start),
        "2020-10-01T07:00:00Z"
    );
}

#[test]
fn malformed_files_are_named() {
    let base = std::fs::read_to_string(dir().join(FILES[5])).unwrap();
    // Line 11's first cell (Indianapolis) made non-numeric.
    let text: Vec<String> = base
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 10 {
                let rest = l.split_once(',').unwrap().1;
                format!("warm,{rest}")
            } else {
                l.to_string()
            }
        })
        .collect();
    let e = parse(text.join("\n").as_bytes(), "temps.csv", vintage())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("temps.csv")
            && e.contains("11")
            && e.contains("Indianapolis Temperature (Fahrenheit)"),
        "{e}"
    );
    let truncated =
        base.lines().take(20).collect::<Vec<_>>().join("\n") + "\n2021-01-01 06:00:00,1";
    let e = parse(truncated.as_bytes(), "temps.csv", vintage())
        .unwrap_err()
        .to_string();
    assert!(e.contains("21") && e.contains("truncated"), "{e}");
    let e = parse(
        b"Week ending,East Region\n01-Jan-10,12a\n",
        "st.csv",
        vintage(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("East Region") && e.contains("12a"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_folder_loads_through_the_runner_and_reloads_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(DuckdbStore::open(tmp.path()).unwrap());
    let runner = Runner::new(
        store.clone(),
        store.clone(),
        Arc::new(InProcessBus::default()),
        DqConfig::default(),
    )
    .with_fundamentals(store.clone());
    let mut first = Vec::new();
    for pass in 0..2 {
        for f in FILES {
            let payload = Payload {
                source: f.to_string(),
                bytes: std::fs::read(dir().join(f)).unwrap(),
                fetched_at: Utc::now(),
                published_at: None,
            };
            let Outcome::Run(r) = runner.ingest("file", payload, None).await.unwrap() else {
                panic!("{f} skipped")
            };
            assert!(r.error.is_none(), "{f}: {:?}", r.error);
            if pass == 0 {
                assert!(r.rows_accepted > 0, "{f}");
                first.push(r.rows_accepted);
            } else {
                assert_eq!(r.rows_accepted, 0, "{f}: second load stored something");
            }
        }
    }
    let hh = store
        .fundamentals(FundamentalQuery {
            entity: "Henry Hub".into(),
            variable: "spot_price".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hh.len(), 7_436);
    let mut q = PriceQuery::new(
        vec![InstrumentId::parse("MISO.TEXAS.HUB").unwrap()],
        "2021-02-16T00:00:00Z".parse().unwrap(),
        "2021-02-17T06:00:00Z".parse().unwrap(),
    );
    q.market_runs = vec![MarketRun::Rt];
    let rows = store.query_prices(q).await.unwrap().rows;
    // Texas Hub reached 3,500.00 at HE21 EST on 2021-02-16.
    assert!(rows.iter().any(|r| r.values.lmp == Some(3500.0)));
}
