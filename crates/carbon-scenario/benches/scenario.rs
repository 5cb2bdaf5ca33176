//! The scenario engine's two costs (scripts/bench.sh scenario):
//!
//! - calibration of the 12 × 2 cells on a year of hourly prices (the real
//!   MISO 2021 Indiana hub file and Henry Hub), goal < 50 ms;
//! - Monte Carlo: 10,000 paths × 3 years of days × 2 blocks around a
//!   scenario curve, against a vectorised numpy implementation of the same
//!   process (scripts/bench/scenario_peer.py, run on the parameters and
//!   targets written to `$CARBON_BENCH_DIR/scenario.json`), goal ≥ 3× faster
//!   with statistics equal within Monte Carlo error.

use std::{path::PathBuf, time::Instant};

use carbon_core::{Block, Market, time};
use carbon_scenario::{
    apply::{BasePoint, apply},
    calibrate::{Inputs, calibrate, day_blocks},
    dsl::{ByPeriod, Drivers, GasDriver},
    montecarlo::{calibrate_process, simulate},
};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde_json::json;

fn file(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/fundamentals")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn median_secs(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let text = file("miso_lmp_rt_hr_hubs_2021_eia.csv");
    let mut lines = text.lines().skip(3);
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "Indiana Hub LMP")
        .expect("column");
    let prices: Vec<(DateTime<Utc>, f64)> = lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let end = NaiveDateTime::parse_from_str(f[0], "%Y-%m-%d %H:%M:%S")
                .ok()?
                .and_utc();
            Some((end - Duration::hours(1), f[col].parse().ok()?))
        })
        .collect();
    let gas: Vec<(NaiveDate, f64)> = file("henry_hub_spot_daily_eia_1997-01-07_2026-08-18.csv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (d, v) = l.trim().split_once(',')?;
            Some((d.parse().ok()?, v.parse().ok()?))
        })
        .collect();
    let d = |s: &str| s.parse::<NaiveDate>().expect("date");
    let inputs = Inputs {
        market: Market::Miso,
        prices: &prices,
        gas: &gas,
        load: None,
        start: d("2021-01-01"),
        end: d("2022-01-01"),
    };
    let mut cal = None;
    let cal_secs = median_secs(9, || cal = Some(calibrate(inputs).expect("calibration")));
    let cal = cal.expect("calibrated");
    println!(
        "calibration, 12 × 2 cells on {} hourly prices: {:.1} ms (goal < 50 ms)",
        prices.len(),
        cal_secs * 1e3
    );

    // A monthly base curve for 2027–2029 (2021's monthly means), gas +0.5.
    let history = day_blocks(Market::Miso, &prices, d("2021-01-01"), d("2022-01-01"));
    let mut base = Vec::new();
    let mut m = d("2027-01-01");
    while m < d("2030-01-01") {
        let next = time::next_month(m);
        let same: Vec<f64> = history
            .iter()
            .filter(|h| chrono::Datelike::month(&h.date) == chrono::Datelike::month(&m))
            .map(|h| h.price)
            .collect();
        base.push(BasePoint {
            delivery_start: time::day_start(Market::Miso, m),
            delivery_end: time::day_start(Market::Miso, next),
            tenor: m.format("%Y-%m").to_string(),
            price: same.iter().sum::<f64>() / same.len() as f64,
        });
        m = next;
    }
    let drivers = Drivers {
        gas: Some(GasDriver {
            shift: Some(ByPeriod::constant(0.5)),
            pct: None,
            curve: None,
        }),
        ..Drivers::default()
    };
    let applied = apply(&cal, &drivers, None, &base).expect("apply");
    let processes: Vec<_> = [Block::OnPeak, Block::OffPeak]
        .into_iter()
        .map(|b| calibrate_process(&history, b).expect("process"))
        .collect();
    let paths = 10_000;
    let mut bands = Vec::new();
    let mc_secs = median_secs(3, || {
        bands = simulate(&processes, &applied.day_blocks, paths, 254).expect("simulate")
    });
    let steps = applied.day_blocks.len();
    println!(
        "monte carlo, {paths} paths × {steps} day-blocks: {:.3} s ({:.1} ns per path-day)",
        mc_secs,
        mc_secs * 1e9 / (f64::from(paths) * steps as f64)
    );
    let dir = PathBuf::from(std::env::var("CARBON_BENCH_DIR").unwrap_or_else(|_| ".".into()));
    let out = json!({
        "paths": paths,
        "processes": processes,
        "targets": applied.day_blocks.iter().map(|t| json!([t.date.to_string(), t.block.as_str(), t.price, t.hours])).collect::<Vec<_>>(),
        "bands": bands,
        "ours_secs": mc_secs,
        "calibration_secs": cal_secs,
        "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
    });
    std::fs::write(dir.join("scenario.json"), out.to_string()).expect("write scenario.json");
}
