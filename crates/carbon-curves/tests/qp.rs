//! clarabel against the exact KKT solve, and bid/ask bands.
#![allow(clippy::unwrap_used, missing_docs)]

use carbon_curves::{
    engine::{Contract, Error, Problem, solve_kkt},
    qp::solve_qp,
};

fn over(name: &str, n: usize, from: usize, to: usize, price: f64) -> Contract {
    Contract {
        name: name.into(),
        weights: (0..n)
            .map(|i| if (from..=to).contains(&i) { 1.0 } else { 0.0 })
            .collect(),
        price,
    }
}

fn months(n_months: usize, prices: &[f64]) -> Problem {
    let n = n_months * 30;
    Problem {
        n,
        contracts: (0..n_months)
            .map(|m| {
                over(
                    &format!("M{m}"),
                    n,
                    m * 30,
                    m * 30 + 29,
                    prices[m % prices.len()],
                )
            })
            .collect(),
        prior: None,
        tension: 0.0,
        flat_from: None,
    }
}

#[test]
fn clarabel_and_kkt_agree_on_equality_problems() {
    let p = months(
        12,
        &[
            62.0, 58.5, 47.25, 39.8, 35.1, 41.0, 66.3, 71.9, 52.4, 44.0, 49.7, 60.2,
        ],
    );
    let exact = solve_kkt(&p).unwrap();
    let ip = solve_qp(&p, &vec![None; p.contracts.len()]).unwrap();
    let scale = exact.curve.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let worst = exact
        .curve
        .iter()
        .zip(&ip.curve)
        .map(|(a, b)| (a - b).abs() / scale)
        .fold(0.0, f64::max);
    assert!(worst <= 1e-8, "curves differ by {worst:e} (relative)");
    assert!((ip.objective - exact.objective).abs() / exact.objective <= 1e-8);
    for (r, c) in ip.repriced.iter().zip(&p.contracts) {
        assert!((r - c.price).abs() / c.price <= 1e-8, "{}: {r}", c.name);
    }
}

#[test]
fn bands_are_respected_and_smooth_more_than_equalities() {
    let p = months(6, &[60.0, 40.0, 65.0]);
    let exact = solve_kkt(&p).unwrap();
    let bands: Vec<Option<(f64, f64)>> = p
        .contracts
        .iter()
        .map(|c| Some((c.price - 2.0, c.price + 2.0)))
        .collect();
    let s = solve_qp(&p, &bands).unwrap();
    for (r, c) in s.repriced.iter().zip(&p.contracts) {
        assert!(
            *r >= c.price - 2.0 - 1e-7 && *r <= c.price + 2.0 + 1e-7,
            "{}: {r}",
            c.name
        );
    }
    assert!(
        s.objective < exact.objective,
        "{} vs {}",
        s.objective,
        exact.objective
    );
}

#[test]
fn an_infeasible_band_set_names_the_bands() {
    let n = 60;
    let p = Problem {
        n,
        contracts: vec![
            over("Jan", n, 0, 29, 10.5),
            over("Jan again", n, 0, 29, 12.5),
            over("Feb", n, 30, 59, 11.0),
        ],
        prior: None,
        tension: 0.0,
        flat_from: None,
    };
    let bands = [Some((10.0, 11.0)), Some((12.0, 13.0)), None];
    match solve_qp(&p, &bands) {
        Err(Error::Infeasible(m)) => {
            assert!(m.contains("`Jan`") && m.contains("`Jan again`"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}
