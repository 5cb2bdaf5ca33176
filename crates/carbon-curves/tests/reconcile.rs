//! Reconciliation on a calendar year of quarters and months (daily grid).
#![allow(clippy::unwrap_used, missing_docs)]

use carbon_core::{Block, Market};
use carbon_curves::{
    engine::Contract,
    grid::{Granularity, Grid},
    reconcile::{Finding, findings},
};
use chrono::NaiveDate;

fn d(m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, day).unwrap()
}

#[test]
fn quarters_against_a_calendar_report_the_exact_gap() {
    let g = Grid::new(Market::Miso, Granularity::Daily, d(1, 1), d(12, 31)).unwrap();
    let c = |name: &str, from, to, price| Contract {
        name: name.into(),
        weights: g.weights(from, to, Block::Flat),
        price,
    };
    let quarters = [
        c("Q1", d(1, 1), d(3, 31), 38.10),
        c("Q2", d(4, 1), d(6, 30), 31.45),
        c("Q3", d(7, 1), d(9, 30), 39.20),
        c("Q4", d(10, 1), d(12, 31), 32.70),
    ];
    let mut all = vec![c("Cal-26", d(1, 1), d(12, 31), 35.12)];
    all.extend(quarters.iter().cloned());
    // A month inside Q1, without the other months of Q1.
    all.push(c("Feb", d(2, 1), d(2, 28), 40.0));
    let f = findings(&all);
    // Hours (MISO keeps EST: 24 a day): 90, 91, 92, 92 days.
    let implied = (90.0 * 38.10 + 91.0 * 31.45 + 92.0 * 39.20 + 92.0 * 32.70) / 365.0;
    let nested: Vec<&Finding> = f
        .iter()
        .filter(|x| matches!(x, Finding::Nested { .. }))
        .collect();
    assert_eq!(nested.len(), 1, "{f:?}");
    match nested[0] {
        Finding::Nested {
            parent,
            children,
            implied: got,
            gap,
            ..
        } => {
            assert_eq!(parent, "Cal-26");
            assert_eq!(children, &["Q1", "Q2", "Q3", "Q4"]);
            assert!((got - implied).abs() < 1e-12);
            assert!((gap - (35.12 - implied)).abs() < 1e-12);
        }
        _ => unreachable!(),
    }
    // Feb nests in Q1 and Cal-26 but no siblings tile Q1 with it: no gap can
    // be computed and it is not a partial overlap, so the Cal nesting is all.
    assert_eq!(f.len(), 1, "{f:?}");
}

#[test]
fn partial_overlaps_are_reported() {
    let g = Grid::new(Market::Miso, Granularity::Daily, d(1, 1), d(3, 31)).unwrap();
    let c = |name: &str, from, to| Contract {
        name: name.into(),
        weights: g.weights(from, to, Block::Flat),
        price: 50.0,
    };
    let f = findings(&[
        c("Jan-Feb", d(1, 1), d(2, 28)),
        c("Feb-Mar", d(2, 1), d(3, 31)),
    ]);
    assert_eq!(
        f,
        [Finding::Overlap {
            a: "Jan-Feb".into(),
            b: "Feb-Mar".into()
        }]
    );
}
