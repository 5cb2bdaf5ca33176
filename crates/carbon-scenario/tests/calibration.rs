//! Calibration on the real EIA fixtures (MISO 2021 RT hubs, ERCOT 2020 DA
//! hubs and load, Henry Hub spot), checked against an independent
//! least-squares computation written here: its own block rule (hour ending
//! 7–22 on the market clock, Monday–Friday, the NERC holidays of the year
//! listed by hand), its own weekend gas fill and the closed-form normal
//! equations.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeMap;

use common::{column, d, henry_hub};

use carbon_core::{Block, Market};
use carbon_scenario::calibrate::{FitLevel, Inputs, calibrate};
use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc, Weekday,
};

/// The independent reference: day-block averages by its own rule.
struct Reference {
    local: Box<dyn Fn(DateTime<Utc>) -> NaiveDateTime>,
    holidays: Vec<NaiveDate>,
}

impl Reference {
    fn onpeak(&self, t: DateTime<Utc>) -> (NaiveDate, bool) {
        let l = (self.local)(t);
        let he = l.hour() + 1;
        let weekday = !matches!(l.weekday(), Weekday::Sat | Weekday::Sun);
        (
            l.date(),
            (7..=22).contains(&he) && weekday && !self.holidays.contains(&l.date()),
        )
    }

    /// (date → (block average, gas, load)) of month `m`, block `on`.
    fn rows(
        &self,
        prices: &[(DateTime<Utc>, f64)],
        gas: &[(NaiveDate, f64)],
        load: Option<&[(DateTime<Utc>, f64)]>,
        month: u32,
        on: bool,
        year: i32,
    ) -> Vec<(f64, f64, f64)> {
        let mut sums: BTreeMap<NaiveDate, (f64, f64)> = BTreeMap::new();
        for &(t, v) in prices {
            let (date, peak) = self.onpeak(t);
            if date.year() == year && date.month() == month && peak == on {
                let e = sums.entry(date).or_default();
                e.0 += v;
                e.1 += 1.0;
            }
        }
        let mut loads: BTreeMap<NaiveDate, (f64, f64)> = BTreeMap::new();
        for &(t, v) in load.unwrap_or(&[]) {
            let e = loads.entry((self.local)(t).date()).or_default();
            e.0 += v;
            e.1 += 1.0;
        }
        sums.into_iter()
            .map(|(date, (s, n))| {
                // The last quote on or before the day.
                let g = gas.iter().rev().find(|(q, _)| *q <= date).unwrap().1;
                let l = loads.get(&date).map_or(0.0, |(s, n)| s / n);
                (s / n, g, l)
            })
            .collect()
    }
}

/// OLS of p on (1, g) by the closed form: (α, β, se α, se β, R²).
fn simple_ols(rows: &[(f64, f64, f64)]) -> (f64, f64, f64, f64, f64) {
    let n = rows.len() as f64;
    let gm = rows.iter().map(|r| r.1).sum::<f64>() / n;
    let pm = rows.iter().map(|r| r.0).sum::<f64>() / n;
    let sxx: f64 = rows.iter().map(|r| (r.1 - gm).powi(2)).sum();
    let sxy: f64 = rows.iter().map(|r| (r.1 - gm) * (r.0 - pm)).sum();
    let beta = sxy / sxx;
    let alpha = pm - beta * gm;
    let ssr: f64 = rows
        .iter()
        .map(|r| (r.0 - alpha - beta * r.1).powi(2))
        .sum();
    let sst: f64 = rows.iter().map(|r| (r.0 - pm).powi(2)).sum();
    let s2 = ssr / (n - 2.0);
    (
        alpha,
        beta,
        (s2 * (1.0 / n + gm * gm / sxx)).sqrt(),
        (s2 / sxx).sqrt(),
        1.0 - ssr / sst,
    )
}

/// OLS of p on (1, g, l) by Cramer's rule on the 3×3 normal equations.
fn ols3(rows: &[(f64, f64, f64)]) -> [f64; 3] {
    let mut a = [[0.0; 3]; 3];
    let mut b = [0.0; 3];
    for &(p, g, l) in rows {
        let x = [1.0, g, l];
        for i in 0..3 {
            b[i] += x[i] * p;
            for j in 0..3 {
                a[i][j] += x[i] * x[j];
            }
        }
    }
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d0 = det(a);
    let mut out = [0.0; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let mut m = a;
        for i in 0..3 {
            m[i][k] = b[i];
        }
        *o = det(m) / d0;
    }
    out
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn miso_2021_cells_equal_an_independent_least_squares_fit() {
    let prices = column("miso_lmp_rt_hr_hubs_2021_eia.csv", "Indiana Hub LMP");
    let gas = henry_hub();
    let cal = calibrate(Inputs {
        market: Market::Miso,
        prices: &prices,
        gas: &gas,
        load: None,
        start: d("2021-01-01"),
        end: d("2022-01-01"),
    })
    .unwrap();
    assert_eq!(cal.cells.len(), 24);
    // Henry Hub has 251 quotes in 2021: the other 114 days carry the last one.
    assert_eq!(cal.gas_carried_days, 114);
    assert_eq!(cal.without_gas, 0);
    let reference = Reference {
        // MISO's market clock is Eastern Standard Time all year.
        local: Box::new(|t| (t - Duration::hours(5)).naive_utc()),
        holidays: [
            "2021-01-01",
            "2021-05-31",
            "2021-07-05",
            "2021-09-06",
            "2021-11-25",
        ]
        .map(d)
        .to_vec(),
    };
    // July on-peak (5 July, the observed Independence Day, is off-peak) and
    // February off-peak (weekends take Friday's gas; the cold-snap spike).
    for (month, block, on) in [
        (7, Block::OnPeak, true),
        (2, Block::OffPeak, false),
        (11, Block::OnPeak, true),
    ] {
        let rows = reference.rows(&prices, &gas, None, month, on, 2021);
        let (a, b, sea, seb, r2) = simple_ols(&rows);
        let c = cal.cell(month, block);
        assert_eq!(c.fit, FitLevel::Cell);
        assert_eq!(
            (c.cell_days, c.n),
            (rows.len(), rows.len()),
            "month {month}"
        );
        for (got, want) in [
            (c.alpha, a),
            (c.beta_gas, b),
            (c.alpha_se, sea),
            (c.beta_gas_se, seb),
            (c.r2, r2),
        ] {
            assert!(
                close(got, want, 1e-9),
                "month {month} {block}: {got} vs {want}"
            );
        }
    }
    // July 2021 has 22 weekdays; the holiday leaves 21 on-peak days.
    assert_eq!(cal.cell(7, Block::OnPeak).cell_days, 21);
    assert_eq!(cal.cell(7, Block::OffPeak).cell_days, 31);
}

#[test]
fn ercot_2020_with_load_equals_an_independent_fit_across_dst() {
    let prices = column("ercot_lmp_da_hr_hubs_2020_eia.csv", "North LMP");
    let load = column("ercot_load-temp_hr_2020_eia.csv", "TOT Actual Load (MW)");
    let load3: Vec<(DateTime<Utc>, DateTime<Utc>, f64)> = load
        .iter()
        .map(|&(t, v)| (t, t + Duration::hours(1), v))
        .collect();
    let gas = henry_hub();
    let cal = calibrate(Inputs {
        market: Market::Ercot,
        prices: &prices,
        gas: &gas,
        load: Some(&load3),
        start: d("2020-01-01"),
        end: d("2021-01-01"),
    })
    .unwrap();
    let tz = chrono_tz::America::Chicago;
    let reference = Reference {
        local: Box::new(move |t| tz.from_utc_datetime(&t.naive_utc()).naive_local()),
        // 4 July 2020 was a Saturday (not moved); Christmas a Friday.
        holidays: [
            "2020-01-01",
            "2020-05-25",
            "2020-09-07",
            "2020-11-26",
            "2020-12-25",
        ]
        .map(d)
        .to_vec(),
    };
    // March off-peak holds the 23-hour spring-forward day, November the
    // 25-hour fall-back day and on-peak Thanksgiving.
    for (month, block, on) in [
        (3, Block::OffPeak, false),
        (11, Block::OnPeak, true),
        (11, Block::OffPeak, false),
    ] {
        let rows = reference.rows(&prices, &gas, Some(&load), month, on, 2020);
        let [a, bg, bl] = ols3(&rows);
        let c = cal.cell(month, block);
        assert_eq!((c.fit, c.n), (FitLevel::Cell, rows.len()), "month {month}");
        assert!(close(c.alpha, a, 1e-9), "{} vs {a}", c.alpha);
        assert!(close(c.beta_gas, bg, 1e-9), "{} vs {bg}", c.beta_gas);
        assert!(
            close(c.beta_load.unwrap(), bl, 1e-9),
            "{:?} vs {bl}",
            c.beta_load
        );
        let mean_load = rows.iter().map(|r| r.2).sum::<f64>() / rows.len() as f64;
        assert!(close(c.mean_load.unwrap(), mean_load, 1e-12));
    }
    // November 2020: 21 weekdays, Thanksgiving off → 20 on-peak days.
    assert_eq!(cal.cell(11, Block::OnPeak).cell_days, 20);
}

#[test]
fn thin_cells_fall_back_to_the_month_then_to_everything_and_say_why() {
    let prices = column("miso_lmp_rt_hr_hubs_2021_eia.csv", "Indiana Hub LMP");
    let gas = henry_hub();
    // 1 July – 12 August: August has 9 on-peak days (2–6, 9–12) and 12 days.
    let cal = calibrate(Inputs {
        market: Market::Miso,
        prices: &prices,
        gas: &gas,
        load: None,
        start: d("2021-07-01"),
        end: d("2021-08-13"),
    })
    .unwrap();
    assert_eq!(cal.cell(7, Block::OnPeak).fit, FitLevel::Cell);
    let aug = cal.cell(8, Block::OnPeak);
    assert_eq!(
        (aug.fit, aug.cell_days, aug.n),
        (FitLevel::MonthPooled, 9, 21)
    );
    assert_eq!(
        aug.fallback.as_deref(),
        Some("9 day(s) in the cell, fewer than 10")
    );
    assert_eq!(cal.cell(8, Block::OffPeak).fit, FitLevel::Cell);
    let jan = cal.cell(1, Block::OffPeak);
    assert_eq!((jan.fit, jan.cell_days), (FitLevel::AllPooled, 0));
    // July: 21 on-peak + 31 off-peak day-blocks; August 1–12: 9 + 12.
    assert_eq!(jan.n, 21 + 31 + 9 + 12);
    assert!(
        jan.fallback.as_deref().unwrap().contains("0 in the month"),
        "{:?}",
        jan.fallback
    );
    // Every all-pooled cell shares the one fit over the window.
    assert_eq!(jan.beta_gas, cal.cell(12, Block::OnPeak).beta_gas);
    assert_ne!(jan.beta_gas, aug.beta_gas);
}
