//! Scenario curves and Monte Carlo bands on a calibration of the real MISO
//! 2021 and ERCOT 2020 EIA files: zero shocks return the base bit for bit, a
//! gas shift moves each point by exactly its cell's heat rate, carbon passes
//! through at heat rate × 0.05306, load growth follows its formula, and the
//! simulated month averages centre on the scenario within Monte Carlo error.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{column, d, henry_hub};

use carbon_core::{Block, Market, time};
use carbon_scenario::{
    GAS_CO2_T_PER_MMBTU,
    apply::{BasePoint, apply},
    calibrate::{Calibration, Inputs, calibrate, day_blocks},
    dsl::{ByPeriod, CarbonDriver, Drivers, GasDriver, Horizon, LoadGrowth, Month},
    montecarlo::{calibrate_process, simulate},
};
use chrono::{DateTime, Duration, Utc};

fn miso() -> (Calibration, Vec<(DateTime<Utc>, f64)>) {
    let prices = column("miso_lmp_rt_hr_hubs_2021_eia.csv", "Indiana Hub LMP");
    let cal = calibrate(Inputs {
        market: Market::Miso,
        prices: &prices,
        gas: &henry_hub(),
        load: None,
        start: d("2021-01-01"),
        end: d("2022-01-01"),
    })
    .unwrap();
    (cal, prices)
}

/// A base curve for 2027 at `step` (hourly, daily or monthly points on the
/// MISO clock), priced from the 2021 history six years on (any price would do).
fn base_curve(prices: &[(DateTime<Utc>, f64)], step: &str, from: &str, to: &str) -> Vec<BasePoint> {
    let m = Market::Miso;
    let (from, to) = (d(from), d(to));
    let price_at = |t: DateTime<Utc>| {
        let back = t - Duration::days(364 * 6 + 7);
        prices.iter().find(|p| p.0 >= back).map_or(30.0, |p| p.1)
    };
    let mut out = Vec::new();
    let mut day = from;
    while day < to {
        let next = match step {
            "monthly" => time::next_month(day),
            _ => day + Duration::days(1),
        };
        let (s, e) = (time::day_start(m, day), time::day_start(m, next));
        if step == "hourly" {
            let mut t = s;
            while t < e {
                out.push(BasePoint {
                    delivery_start: t,
                    delivery_end: t + Duration::hours(1),
                    tenor: t.to_rfc3339(),
                    price: price_at(t),
                });
                t += Duration::hours(1);
            }
        } else {
            out.push(BasePoint {
                delivery_start: s,
                delivery_end: e,
                tenor: day.to_string(),
                price: price_at(s),
            });
        }
        day = next;
    }
    out
}

fn gas(shift: f64) -> Drivers {
    Drivers {
        gas: Some(GasDriver {
            shift: Some(ByPeriod::constant(shift)),
            pct: None,
            curve: None,
        }),
        ..Drivers::default()
    }
}

fn block_of(t: DateTime<Utc>) -> (u32, Block) {
    let h = time::hour_of(Market::Miso, t);
    let b = if Block::OnPeak.contains(Market::Miso, &h) {
        Block::OnPeak
    } else {
        Block::OffPeak
    };
    (chrono::Datelike::month(&h.date), b)
}

#[test]
fn zero_shocks_return_the_base_curve_bit_for_bit() {
    let (cal, prices) = miso();
    for step in ["hourly", "daily", "monthly"] {
        let base = base_curve(&prices, step, "2027-01-01", "2027-04-01");
        let zero = Drivers {
            carbon: Some(CarbonDriver {
                price: ByPeriod::constant(0.0),
            }),
            ..gas(0.0)
        };
        for drivers in [Drivers::default(), zero] {
            let out = apply(&cal, &drivers, None, &base).unwrap();
            assert_eq!(out.points.len(), base.len());
            for (p, b) in out.points.iter().zip(&base) {
                assert_eq!(p.price.to_bits(), b.price.to_bits(), "{step} {}", b.tenor);
                assert_eq!(p.attribution.total(), 0.0);
            }
        }
    }
}

#[test]
fn gas_plus_one_moves_each_point_by_its_cells_heat_rate() {
    let (cal, prices) = miso();
    let base = base_curve(&prices, "hourly", "2027-01-01", "2027-03-01");
    let out = apply(&cal, &gas(1.0), None, &base).unwrap();
    for (p, b) in out.points.iter().zip(&base) {
        let (m, block) = block_of(b.delivery_start);
        let beta = cal.cell(m, block).beta_gas;
        assert_eq!(p.attribution.gas, beta);
        assert_eq!(p.price, b.price + beta, "{}", b.tenor);
    }
    // A Saturday is off-peak all day: the daily point moves by the off-peak β.
    let daily = base_curve(&prices, "daily", "2027-01-09", "2027-01-10");
    let out = apply(&cal, &gas(1.0), None, &daily).unwrap();
    assert_eq!(
        out.points[0].attribution.gas,
        cal.cell(1, Block::OffPeak).beta_gas
    );
    // A month mixes both blocks by their hours.
    let monthly = base_curve(&prices, "monthly", "2027-01-01", "2027-02-01");
    let out = apply(&cal, &gas(1.0), None, &monthly).unwrap();
    let on = f64::from(Block::OnPeak.hours_in_month(Market::Miso, 2027, 1).unwrap());
    let off = f64::from(
        Block::OffPeak
            .hours_in_month(Market::Miso, 2027, 1)
            .unwrap(),
    );
    let want = (on * cal.cell(1, Block::OnPeak).beta_gas
        + off * cal.cell(1, Block::OffPeak).beta_gas)
        / (on + off);
    assert!(
        (out.points[0].attribution.gas - want).abs() < 1e-12,
        "{} vs {want}",
        out.points[0].attribution.gas
    );
    // The month × block summary says the same.
    let s = &out.summary;
    assert_eq!(s.len(), 2);
    assert!((s[0].delta - cal.cell(1, Block::OnPeak).beta_gas).abs() < 1e-9);
    assert_eq!((s[0].hours, s[1].hours), (on as u32, off as u32));
}

#[test]
fn carbon_passes_through_at_heat_rate_times_emissions_and_by_year() {
    let (cal, prices) = miso();
    let base = base_curve(&prices, "hourly", "2027-12-30", "2028-01-03");
    let drivers = Drivers {
        carbon: Some(CarbonDriver {
            price: serde_json::from_str(r#"{"2027": 25, "2028": 40}"#).unwrap(),
        }),
        ..Drivers::default()
    };
    let out = apply(&cal, &drivers, None, &base).unwrap();
    for (p, b) in out.points.iter().zip(&base) {
        let (m, block) = block_of(b.delivery_start);
        let c = if time::hour_of(Market::Miso, b.delivery_start).date < d("2028-01-01") {
            25.0
        } else {
            40.0
        };
        let beta = cal.cell(m, block).beta_gas;
        // The identity: $/MWh per $/t = heat rate × 0.05306 t/MMBtu.
        assert_eq!(p.attribution.carbon, c * beta * GAS_CO2_T_PER_MMBTU);
        assert_eq!(
            p.attribution.gas + p.attribution.load + p.attribution.adder,
            0.0
        );
    }
}

#[test]
fn load_growth_follows_its_formula_and_needs_a_load_calibration() {
    let (miso_cal, prices) = miso();
    let growth = Drivers {
        load_growth: Some(LoadGrowth {
            rate: ByPeriod::constant(0.02),
        }),
        ..Drivers::default()
    };
    let base = base_curve(&prices, "hourly", "2027-07-01", "2027-07-02");
    let e = apply(&miso_cal, &growth, None, &base).unwrap_err();
    assert!(e.to_string().contains("calibration.load"), "{e}");

    let ercot_prices = column("ercot_lmp_da_hr_hubs_2020_eia.csv", "North LMP");
    let load: Vec<(DateTime<Utc>, DateTime<Utc>, f64)> =
        column("ercot_load-temp_hr_2020_eia.csv", "TOT Actual Load (MW)")
            .into_iter()
            .map(|(t, v)| (t, t + Duration::hours(1), v))
            .collect();
    let cal = calibrate(Inputs {
        market: Market::Ercot,
        prices: &ercot_prices,
        gas: &henry_hub(),
        load: Some(&load),
        start: d("2020-01-01"),
        end: d("2021-01-01"),
    })
    .unwrap();
    let m = Market::Ercot;
    let start = time::day_start(m, d("2027-07-14"));
    let base: Vec<BasePoint> = (0..24)
        .map(|h| BasePoint {
            delivery_start: start + Duration::hours(h),
            delivery_end: start + Duration::hours(h + 1),
            tenor: format!("HE{}", h + 1),
            price: 50.0,
        })
        .collect();
    let out = apply(&cal, &growth, None, &base).unwrap();
    let cal_end = time::day_start(m, d("2021-01-01"));
    for (p, b) in out.points.iter().zip(&base) {
        let h = time::hour_of(m, b.delivery_start);
        let block = if Block::OnPeak.contains(m, &h) {
            Block::OnPeak
        } else {
            Block::OffPeak
        };
        let c = cal.cell(7, block);
        let years = (b.delivery_start - cal_end).num_seconds() as f64 / (365.25 * 86_400.0);
        let want = c.beta_load.unwrap() * c.mean_load.unwrap() * (1.02f64.powf(years) - 1.0);
        assert!(
            (p.attribution.load - want).abs() < 1e-9 * want.abs().max(1.0),
            "{} vs {want}",
            p.attribution.load
        );
        assert!(want.abs() > 0.0);
    }
}

#[test]
fn a_horizon_keeps_its_months_only() {
    let (cal, prices) = miso();
    let base = base_curve(&prices, "monthly", "2027-01-01", "2028-01-01");
    let h = Horizon {
        start: Month::parse("2027-03").unwrap(),
        end: Month::parse("2027-05").unwrap(),
    };
    let out = apply(&cal, &gas(1.0), Some(&h), &base).unwrap();
    let tenors: Vec<&str> = out.points.iter().map(|p| p.tenor.as_str()).collect();
    assert_eq!(tenors, ["2027-03-01", "2027-04-01", "2027-05-01"]);
}

#[test]
fn monte_carlo_centres_on_the_scenario_is_ordered_and_reproducible() {
    let (cal, prices) = miso();
    let history = day_blocks(Market::Miso, &prices, d("2021-01-01"), d("2022-01-01"));
    let processes: Vec<_> = [Block::OnPeak, Block::OffPeak]
        .into_iter()
        .map(|b| calibrate_process(&history, b).unwrap())
        .collect();
    for p in &processes {
        assert!(p.phi > 0.0 && p.phi < 1.0, "{p:?}");
        assert!(
            p.seasons.iter().all(|s| s.sigma > 0.0 && s.days > 60),
            "{p:?}"
        );
        // February 2021's cold event shows up as winter jumps.
        assert!(p.seasons[0].jumps > 0, "{p:?}");
    }
    let base = base_curve(&prices, "daily", "2027-01-01", "2027-07-01");
    let out = apply(&cal, &gas(0.5), None, &base).unwrap();
    let bands = simulate(&processes, &out.day_blocks, 4_000, 42).unwrap();
    assert_eq!(bands.len(), 12);
    for b in &bands {
        // The band's scenario is the summary's hour-weighted month × block price.
        let m = out
            .summary
            .iter()
            .find(|m| m.month == b.month && m.block == b.block)
            .unwrap();
        assert!((b.scenario - m.scenario).abs() < 1e-9, "{b:?} vs {m:?}");
        assert!(
            (b.mean - b.scenario).abs() <= 3.0 * b.std_error,
            "{} {}: mean {} vs scenario {} (se {})",
            b.month,
            b.block,
            b.mean,
            b.scenario,
            b.std_error
        );
        assert!(
            b.p5 <= b.p25 && b.p25 <= b.p50 && b.p50 <= b.p75 && b.p75 <= b.p95,
            "{b:?}"
        );
        assert!(b.p5 < b.p95);
    }
    let again = simulate(&processes, &out.day_blocks, 4_000, 42).unwrap();
    assert_eq!(again, bands);
    let other = simulate(&processes, &out.day_blocks, 4_000, 43).unwrap();
    assert_ne!(other, bands);
}
