//! The build step's options: hour masks, discounting, a flat long end,
//! aggregation to coarser periods, shapes from history, and the limits.
#![allow(clippy::unwrap_used, missing_docs)]

use carbon_core::{Block, Market, time};
use carbon_curves::{
    build::{self, ContractSpec, Request, aggregate, discount_factors},
    grid::{Days, Granularity, Grid, Shape},
    shape::HourlyShape,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn spec(name: &str, start: NaiveDate, end: NaiveDate, price: f64, block: &str) -> ContractSpec {
    ContractSpec {
        name: name.into(),
        start,
        end,
        price,
        bid: None,
        ask: None,
        block: block.parse().unwrap(),
        weight: 1.0,
    }
}

fn months(y: i32, prices: &[f64]) -> Vec<ContractSpec> {
    prices
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let m = i as u32 + 1;
            let end = time::next_month(d(y, m, 1)).pred_opt().unwrap();
            spec(&format!("{y}-{m:02}"), d(y, m, 1), end, *p, "flat")
        })
        .collect()
}

#[test]
fn hour_masks_parse_print_and_count_hours() {
    for (text, canon) in [
        ("he:8-23", "he:8-23"),
        ("HE:1-7,24@peak", "he:1-7,24@peak"),
        ("he:8-23@offpeak", "he:8-23@offpeak"),
        ("he:5", "he:5"),
        ("onpeak", "onpeak"),
    ] {
        let s: Shape = text.parse().unwrap();
        assert_eq!(s.as_text(), canon);
        assert_eq!(s.as_text().parse::<Shape>().unwrap(), s);
    }
    for bad in ["he:0-3", "he:25", "he:9-3", "he:1-3@sometimes", "5x8"] {
        assert!(bad.parse::<Shape>().is_err(), "{bad}");
    }
    // MISO, 2026-11-23..29: Thanksgiving (26th) is a NERC holiday; peak
    // days are Mon–Fri. he:7-22 counts 16 hours a day; @peak only 4 days;
    // on the fall-back day (2026-11-01) both 1 a.m. hours of he:2 count.
    let g = Grid::new(
        Market::Miso,
        Granularity::Daily,
        d(2026, 11, 23),
        d(2026, 11, 29),
    )
    .unwrap();
    let all = g.weights(
        d(2026, 11, 23),
        d(2026, 11, 29),
        "he:7-22".parse::<Shape>().unwrap(),
    );
    assert_eq!(all, vec![16.0; 7]);
    // Bits HE7..HE22 = 0x003f_ffc0.
    let mask = Shape::Mask {
        hours: 0x003f_ffc0,
        days: Days::Peak,
    };
    assert_eq!(mask, "he:7-22@peak".parse::<Shape>().unwrap());
    let peak = g.weights(d(2026, 11, 23), d(2026, 11, 29), mask);
    assert_eq!(peak, vec![16.0, 16.0, 16.0, 0.0, 16.0, 0.0, 0.0]);
    // The mask he:7-22@peak is exactly MISO's on-peak block (HE7–HE22 EST).
    let on = g.weights(d(2026, 11, 23), d(2026, 11, 29), Block::OnPeak);
    assert_eq!(on, peak);
    let caiso = Grid::new(
        Market::Caiso,
        Granularity::Daily,
        d(2026, 11, 1),
        d(2026, 11, 1),
    )
    .unwrap();
    assert_eq!(
        caiso.weights(
            d(2026, 11, 1),
            d(2026, 11, 1),
            "he:2".parse::<Shape>().unwrap()
        ),
        vec![2.0]
    );
}

#[test]
fn discounting_weights_hours_by_the_factor_and_still_reprices() {
    let mut req = Request::new(
        Market::Miso,
        d(2026, 11, 27),
        Granularity::Daily,
        months(2027, &[60.0, 55.0, 48.0, 40.0]),
    );
    req.contracts
        .push(spec("Q1", d(2027, 1, 1), d(2027, 3, 31), 0.0, "flat"));
    let plain = build::build(&Request {
        contracts: req.contracts[..4].to_vec(),
        ..req.clone()
    })
    .unwrap();
    req.discount_rate = Some(0.08);
    req.contracts.truncate(4);
    let disc = build::build(&req).unwrap();
    assert_ne!(disc.input_hash, plain.input_hash);
    let f = discount_factors(&disc.grid, req.trade_date, Some(0.08));
    // Factor of the middle of 2027-01-01 (EST): 35.5 days after the trade date's start.
    let t = (Duration::days(35) + Duration::hours(12)).num_seconds() as f64 / (365.0 * 86_400.0);
    assert!((f[0] - (-0.08 * t).exp()).abs() < 1e-12);
    assert!(f.windows(2).all(|w| w[1] < w[0]));
    // Each month's discount-weighted average is its price...
    let w = |c: &ContractSpec| disc.grid.weights(c.start, c.end, c.block);
    for c in &req.contracts {
        let (num, den) = w(c)
            .iter()
            .zip(&f)
            .zip(&disc.curve)
            .fold((0.0, 0.0), |(n, d), ((h, f), v)| (n + h * f * v, d + h * f));
        assert!((num / den - c.price).abs() < 1e-8, "{}", c.name);
    }
    // ...and the curve differs from the undiscounted one (inside the months).
    let gap = disc
        .curve
        .iter()
        .zip(&plain.curve)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(gap > 1e-4, "{gap}");
    assert_eq!(
        discount_factors(&disc.grid, req.trade_date, None),
        vec![1.0; disc.grid.len()]
    );
}

#[test]
fn a_flat_long_end_holds_the_curve_after_the_last_contract() {
    let mut req = Request::new(
        Market::Miso,
        d(2026, 11, 27),
        Granularity::Daily,
        months(2027, &[60.0, 55.0, 48.0, 40.0, 38.0, 45.0]),
    );
    req.until = Some(d(2027, 12, 31));
    let linear = build::build(&req).unwrap();
    assert_eq!(linear.grid.len(), 365);
    req.flat_long_end = true;
    let flat = build::build(&req).unwrap();
    let july1 = flat
        .grid
        .points
        .iter()
        .position(|p| p.first_date == d(2027, 7, 1))
        .unwrap();
    let tail = &flat.curve[july1 - 1..];
    assert!(
        tail.iter().all(|v| *v == tail[0]),
        "flat from the last delivery day on"
    );
    // Without it, the natural extrapolation keeps the last slope and runs away.
    let run = (linear.curve[364] - linear.curve[july1]).abs();
    assert!(run > 5.0, "{run}");
    for c in &flat.contracts {
        assert!((c.repriced - c.quoted).abs() < 1e-8, "{}", c.name);
    }
    // With no extension: a zero end slope.
    req.until = None;
    let end = build::build(&req).unwrap();
    let n = end.curve.len();
    assert_eq!(end.curve[n - 1], end.curve[n - 2]);
}

#[test]
fn aggregation_goes_coarser_never_finer() {
    let req = Request::new(Market::Miso, d(2026, 11, 27), Granularity::Hourly, {
        let mut c = months(2027, &[60.0, 55.0]);
        c.push(spec(
            "Jan peak",
            d(2027, 1, 1),
            d(2027, 1, 31),
            72.0,
            "onpeak",
        ));
        c
    });
    let b = build::build(&req).unwrap();
    let days = aggregate(
        &b.grid,
        &b.curve,
        Granularity::Daily,
        Shape::Block(Block::Flat),
    )
    .unwrap();
    assert_eq!(days.len(), 59);
    assert_eq!(days[0].tenor, "2027-01-01");
    let months = aggregate(
        &b.grid,
        &b.curve,
        Granularity::Monthly,
        Shape::Block(Block::Flat),
    )
    .unwrap();
    assert_eq!(months.len(), 2);
    assert!((months[0].price - 60.0).abs() < 1e-8 && (months[1].price - 55.0).abs() < 1e-8);
    let on = aggregate(
        &b.grid,
        &b.curve,
        Granularity::Monthly,
        Shape::Block(Block::OnPeak),
    )
    .unwrap();
    assert!((on[0].price - 72.0).abs() < 1e-8, "{}", on[0].price);
    // Hourly on-peak: only on-peak hours, labelled on the market clock.
    let hours = aggregate(
        &b.grid,
        &b.curve,
        Granularity::Hourly,
        Shape::Block(Block::OnPeak),
    )
    .unwrap();
    assert_eq!(hours[0].tenor, "2027-01-04 HE07"); // Jan 1 is a holiday, 2–3 a weekend
    assert_eq!(hours.len(), 16 * (20 + 20));
    // A daily curve cannot be shown hourly.
    let daily = build::build(&Request {
        granularity: Granularity::Daily,
        ..req
    })
    .unwrap();
    assert!(
        aggregate(
            &daily.grid,
            &daily.curve,
            Granularity::Hourly,
            Shape::Block(Block::Flat)
        )
        .is_err()
    );
}

#[test]
fn shapes_from_history_average_to_one_and_borrow_missing_months() {
    // Two weeks of synthetic hourly prices in March 2026: peak days 30 + 2·HE,
    // other days 20 + HE, read on MISO's clock.
    let start = time::day_start(Market::Miso, d(2026, 3, 2));
    let prices: Vec<(DateTime<Utc>, f64)> = (0..14 * 24)
        .map(|h| {
            let t = start + Duration::hours(h);
            let hour = time::hour_of(Market::Miso, t);
            let peak = carbon_core::is_peak_day(Market::Miso, hour.date);
            let he = hour.hour_ending as f64;
            (t, if peak { 30.0 + 2.0 * he } else { 20.0 + he })
        })
        .collect();
    let s = HourlyShape::from_prices(Market::Miso, &prices).unwrap();
    assert_eq!(s.hours_used, 14 * 24);
    assert_eq!(s.months_with_history, vec![3]);
    let g = Grid::new(
        Market::Miso,
        Granularity::Hourly,
        d(2027, 3, 1),
        d(2027, 3, 1),
    )
    .unwrap();
    let prior = s.prior(&g);
    // Monday 2027-03-01: (30 + 2·HE) / 55.
    for (i, v) in prior.iter().enumerate() {
        assert!(
            (v - (30.0 + 2.0 * (i + 1) as f64) / 55.0).abs() < 1e-12,
            "{i}: {v}"
        );
    }
    assert!((prior.iter().sum::<f64>() / 24.0 - 1.0).abs() < 1e-12);
    // July borrows March's profile; a Sunday uses the other-day profile.
    let sunday = Grid::new(
        Market::Miso,
        Granularity::Hourly,
        d(2027, 7, 4),
        d(2027, 7, 4),
    )
    .unwrap();
    let p = s.prior(&sunday);
    assert!((p[0] - 21.0 / 32.5).abs() < 1e-12, "{}", p[0]);
    // Nothing, or no positive level: a clear error.
    assert!(HourlyShape::from_prices(Market::Miso, &[]).is_err());
    let negative: Vec<_> = prices.iter().map(|(t, _)| (*t, -5.0)).collect();
    assert!(
        HourlyShape::from_prices(Market::Miso, &negative)
            .unwrap_err()
            .contains("positive")
    );
}

#[test]
fn limits_and_bad_parameters_are_named() {
    let long = vec![spec("Long", d(2027, 1, 1), d(2040, 12, 31), 50.0, "flat")];
    let e = build::build(&Request::new(
        Market::Miso,
        d(2026, 11, 27),
        Granularity::Hourly,
        long.clone(),
    ))
    .unwrap_err();
    assert!(e.to_string().contains("10 years"), "{e}");
    assert!(
        build::build(&Request::new(
            Market::Miso,
            d(2026, 11, 27),
            Granularity::Monthly,
            {
                let mut c = long.clone();
                c.push(spec("First", d(2027, 1, 1), d(2027, 12, 31), 40.0, "flat"));
                c
            }
        ))
        .is_ok()
    );
    let many: Vec<ContractSpec> = (0..401)
        .map(|i| spec(&format!("c{i}"), d(2027, 1, 1), d(2027, 1, 2), 1.0, "flat"))
        .collect();
    let e = build::build(&Request::new(
        Market::Miso,
        d(2026, 11, 27),
        Granularity::Daily,
        many,
    ))
    .unwrap_err();
    assert!(e.to_string().contains("at most 400"), "{e}");
    let mut r = Request::new(
        Market::Miso,
        d(2026, 11, 27),
        Granularity::Daily,
        months(2027, &[1.0, 2.0]),
    );
    r.discount_rate = Some(f64::NAN);
    assert!(
        build::build(&r)
            .unwrap_err()
            .to_string()
            .contains("discount rate")
    );
    // A prior that does not cover the grid names the missing point.
    let g = build::grid_for(Market::Miso, Granularity::Daily, &r.contracts, None).unwrap();
    let e = build::parse_prior("prior.csv", "date,value\n2027-01-01,1\n", &g).unwrap_err();
    assert!(
        e.to_string().contains("prior.csv") && e.to_string().contains("2027-01-02"),
        "{e}"
    );
    // A NaN price in a CSV names the row and field.
    let e = build::parse_contracts(
        "c.csv",
        "name,start,end,price\nJan,2027-01-01,2027-01-31,NaN\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("row 1, field `price`"), "{e}");
    let e = build::parse_contracts(
        "c.csv",
        "name,start,end,price,bid\nJan,2027-01-01,2027-01-31,5,4\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("field `ask`"), "{e}");
}
