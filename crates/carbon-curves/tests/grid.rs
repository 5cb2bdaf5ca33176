//! Grids on the market clock: DST days, blocks and holidays in the weights,
//! and a curve from monthly on/off-peak strips on an hourly grid.
#![allow(clippy::unwrap_used, missing_docs)]

use carbon_core::{Block, Market};
use carbon_curves::{
    engine::{Contract, Problem, solve_kkt},
    grid::{Granularity, Grid},
};
use chrono::NaiveDate;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

#[test]
fn hourly_grids_have_23_and_25_hour_days_and_daily_grids_weigh_them() {
    // CAISO (Pacific): spring forward 2026-03-08, fall back 2026-11-01.
    let g = Grid::new(
        Market::Caiso,
        Granularity::Hourly,
        d(2026, 3, 7),
        d(2026, 3, 9),
    )
    .unwrap();
    assert_eq!(g.len(), 24 + 23 + 24);
    let g = Grid::new(
        Market::Caiso,
        Granularity::Hourly,
        d(2026, 11, 1),
        d(2026, 11, 1),
    )
    .unwrap();
    assert_eq!(g.len(), 25);
    let daily = Grid::new(
        Market::Caiso,
        Granularity::Daily,
        d(2026, 10, 31),
        d(2026, 11, 2),
    )
    .unwrap();
    let flat = daily.weights(d(2026, 10, 31), d(2026, 11, 2), Block::Flat);
    assert_eq!(flat, [24.0, 25.0, 24.0]);
    // MISO keeps EST all year: no 23- or 25-hour days.
    let g = Grid::new(
        Market::Miso,
        Granularity::Hourly,
        d(2026, 3, 8),
        d(2026, 3, 8),
    )
    .unwrap();
    assert_eq!(g.len(), 24);
}

#[test]
fn on_peak_weights_skip_weekends_and_nerc_holidays() {
    // Memorial Day, Monday 2026-05-25: no on-peak hours; Tuesday has 16.
    let g = Grid::new(
        Market::Miso,
        Granularity::Daily,
        d(2026, 5, 23),
        d(2026, 5, 26),
    )
    .unwrap();
    let on = g.weights(d(2026, 5, 23), d(2026, 5, 26), Block::OnPeak);
    assert_eq!(on, [0.0, 0.0, 0.0, 16.0]);
    let off = g.weights(d(2026, 5, 23), d(2026, 5, 26), Block::OffPeak);
    assert_eq!(off, [24.0, 24.0, 24.0, 8.0]);
    // A monthly grid: May 2026 on-peak hours = 20 weekdays − Memorial Day = 20 × 16.
    let m = Grid::new(
        Market::Miso,
        Granularity::Monthly,
        d(2026, 5, 1),
        d(2026, 6, 30),
    )
    .unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(
        m.weights(d(2026, 5, 1), d(2026, 5, 31), Block::OnPeak)[0],
        320.0
    );
    assert!(
        Grid::new(
            Market::Miso,
            Granularity::Daily,
            d(2026, 5, 2),
            d(2026, 5, 1)
        )
        .is_err()
    );
}

#[test]
fn monthly_on_and_off_peak_strips_on_an_hourly_grid_are_repriced_exactly() {
    let (first, last) = (d(2026, 1, 1), d(2026, 3, 31));
    let g = Grid::new(Market::Miso, Granularity::Hourly, first, last).unwrap();
    let months = [
        (1, 31, 78.5, 52.25),
        (2, 28, 71.0, 49.5),
        (3, 31, 55.75, 38.0),
    ];
    let mut contracts = Vec::new();
    for (m, days, on, off) in months {
        for (block, price) in [(Block::OnPeak, on), (Block::OffPeak, off)] {
            contracts.push(Contract {
                name: format!("2026-{m:02} {}", block.as_str()),
                weights: g.weights(d(2026, m, 1), d(2026, m, days), block),
                price,
            });
        }
    }
    let p = Problem {
        n: g.len(),
        contracts,
        prior: None,
        tension: 0.0,
        flat_from: None,
    };
    let s = solve_kkt(&p).unwrap();
    for (r, c) in s.repriced.iter().zip(&p.contracts) {
        assert!(
            (r - c.price).abs() / c.price <= 1e-8,
            "{}: {r} vs {}",
            c.name,
            c.price
        );
    }
    // A contract with no hours in its block is refused by name: on-peak on a Sunday.
    let sunday = Contract {
        name: "Sun on-peak".into(),
        weights: g.weights(d(2026, 1, 4), d(2026, 1, 4), Block::OnPeak),
        price: 50.0,
    };
    let mut bad = p.clone();
    bad.contracts.push(sunday);
    let e = solve_kkt(&bad).unwrap_err().to_string();
    assert!(
        e.contains("`Sun on-peak`") && e.contains("no grid point"),
        "{e}"
    );
}

#[test]
fn month_quarter_and_year_views_average_the_curve_by_block_hours() {
    use carbon_curves::build::views;
    let (first, last) = (d(2027, 1, 1), d(2027, 3, 31));
    let g = Grid::new(Market::Miso, Granularity::Daily, first, last).unwrap();
    let months = [(1, 31, 60.0), (2, 28, 50.0), (3, 31, 40.0)];
    let contracts: Vec<Contract> = months
        .iter()
        .map(|&(m, days, price)| Contract {
            name: format!("M{m}"),
            weights: g.weights(d(2027, m, 1), d(2027, m, days), Block::Flat),
            price,
        })
        .collect();
    let p = Problem {
        n: g.len(),
        contracts,
        prior: None,
        tension: 0.0,
        flat_from: None,
    };
    let s = solve_kkt(&p).unwrap();
    let v = views(&g, &s.curve, &[Block::Flat, Block::OnPeak]);
    let find = |period: &str, block| {
        v.iter()
            .find(|x| x.period == period && x.block == block)
            .unwrap()
    };
    // Flat month views reprice the months; the quarter is their hour-weighted mean.
    for (m, _, price) in months {
        let x = find(&format!("2027-{m:02}"), Block::Flat);
        assert!((x.price - price).abs() < 1e-8 && !x.partial, "{x:?}");
    }
    let q1 = (31.0 * 60.0 + 28.0 * 50.0 + 31.0 * 40.0) / 90.0;
    assert!((find("2027-Q1", Block::Flat).price - q1).abs() < 1e-8);
    // The calendar year is only partly on the grid, and says so.
    assert!(find("2027", Block::Flat).partial);
    // On-peak views exist and differ from flat (the curve is not flat within a month).
    assert!((find("2027-02", Block::OnPeak).price - 50.0).abs() > 1e-6);
    assert!(!v.iter().any(|x| x.period == "2027-Q2"));
}
