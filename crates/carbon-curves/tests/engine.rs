//! The KKT engine on problems whose answers are known.
#![allow(clippy::unwrap_used, missing_docs)]

use carbon_curves::engine::{Contract, Error, PriorMode, Problem, roughness, solve_kkt};

/// Equal weights over `[from, to]` (inclusive, 0-based) on a grid of `n`.
fn over(name: &str, n: usize, from: usize, to: usize, price: f64) -> Contract {
    Contract {
        name: name.into(),
        weights: (0..n)
            .map(|i| if (from..=to).contains(&i) { 1.0 } else { 0.0 })
            .collect(),
        price,
    }
}

fn problem(n: usize, contracts: Vec<Contract>) -> Problem {
    Problem {
        n,
        contracts,
        prior: None,
        tension: 0.0,
        flat_from: None,
    }
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

#[test]
fn equal_contracts_give_a_flat_curve() {
    let p = problem(
        90,
        vec![
            over("Jan", 90, 0, 30, 42.5),
            over("Feb", 90, 31, 58, 42.5),
            over("Mar", 90, 59, 89, 42.5),
        ],
    );
    let s = solve_kkt(&p).unwrap();
    assert!(
        s.curve.iter().all(|v| (v - 42.5).abs() < 1e-9),
        "{:?}",
        &s.curve[..5]
    );
    assert!(s.objective.abs() < 1e-9, "{}", s.objective);
}

/// Two contracts priced 10 over {1,2,3} and {3,4}: the minimum-norm bootstrap
/// gives [8, 8, 14, 6]; the smoothest curve reprices both exactly and, since a
/// straight line can, is the flat 10 with zero roughness.
#[test]
fn overlapping_contracts_are_repriced_by_a_smooth_curve() {
    let p = problem(4, vec![over("A", 4, 0, 2, 10.0), over("B", 4, 2, 3, 10.0)]);
    let s = solve_kkt(&p).unwrap();
    for (r, c) in s.repriced.iter().zip(&p.contracts) {
        assert!(rel_err(*r, c.price) <= 1e-12, "{r}");
    }
    let bootstrap = nalgebra_free_roughness(&[8.0, 8.0, 14.0, 6.0]);
    assert!(s.objective < bootstrap, "{} vs {bootstrap}", s.objective);
    assert!(
        s.curve.iter().all(|v| (v - 10.0).abs() < 1e-9),
        "{:?}",
        s.curve
    );
}

fn nalgebra_free_roughness(x: &[f64]) -> f64 {
    x.windows(3)
        .map(|w| (w[0] - 2.0 * w[1] + w[2]).powi(2))
        .sum()
}

#[test]
fn a_year_of_monthly_prices_is_repriced_to_1e_8_and_is_smooth() {
    // A daily grid of 365 days, twelve months with a winter/summer shape.
    let n = 365;
    let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let prices = [
        62.0, 58.5, 47.25, 39.8, 35.1, 41.0, 66.3, 71.9, 52.4, 44.0, 49.7, 60.2,
    ];
    let mut start = 0;
    let mut contracts = Vec::new();
    for (m, (len, price)) in lengths.iter().zip(prices).enumerate() {
        contracts.push(over(
            &format!("M{}", m + 1),
            n,
            start,
            start + len - 1,
            price,
        ));
        start += len;
    }
    for tension in [0.0, 0.5] {
        let p = Problem {
            tension,
            flat_from: None,
            ..problem(n, contracts.clone())
        };
        let s = solve_kkt(&p).unwrap();
        for (r, c) in s.repriced.iter().zip(&p.contracts) {
            assert!(
                rel_err(*r, c.price) <= 1e-8,
                "{}: {r} vs {}",
                c.name,
                c.price
            );
        }
        // The objective is the roughness of the answer, and any other curve that
        // reprices the contracts (the step function) is rougher.
        let q = roughness(n, tension);
        let x = nalgebra::DVector::from_column_slice(&s.x);
        assert!((s.objective - (x.transpose() * &q * &x)[(0, 0)]).abs() < 1e-9);
        let step: Vec<f64> = contracts
            .iter()
            .map(|c| c.weights.iter().map(|w| w * c.price).collect::<Vec<_>>())
            .fold(vec![0.0; n], |acc, v| {
                acc.iter().zip(v).map(|(a, b)| a + b).collect()
            });
        let sv = nalgebra::DVector::from_column_slice(&step);
        assert!(s.objective < (sv.transpose() * &q * &sv)[(0, 0)]);
        // Same inputs, same bits.
        assert_eq!(solve_kkt(&p).unwrap(), s);
    }
}

#[test]
fn priors_additive_and_multiplicative_reprice_exactly() {
    let n = 48;
    let shape: Vec<f64> = (0..n)
        .map(|h| 1.0 + 0.3 * ((h % 24) as f64 / 23.0))
        .collect();
    let contracts = vec![over("D1", n, 0, 23, 40.0), over("D2", n, 24, 47, 44.0)];
    for mode in [PriorMode::Additive, PriorMode::Multiplicative] {
        let p = Problem {
            prior: Some((shape.clone(), mode)),
            ..problem(n, contracts.clone())
        };
        let s = solve_kkt(&p).unwrap();
        for (r, c) in s.repriced.iter().zip(&p.contracts) {
            assert!(rel_err(*r, c.price) <= 1e-10, "{mode:?}: {r}");
        }
        // The prior's shape shows through: the curve is not flat within a day.
        assert!((s.curve[23] - s.curve[0]).abs() > 1e-3, "{mode:?}");
    }
}

#[test]
fn bad_problems_name_what_is_wrong() {
    let n = 10;
    let ok = over("A", n, 0, 4, 10.0);
    let cases: Vec<(Problem, &str)> = vec![
        (problem(n, vec![]), "no contracts"),
        (problem(2, vec![over("A", 2, 0, 1, 1.0)]), "at least 3"),
        (
            problem(n, vec![ok.clone(), over("B", n, 5, 9, f64::NAN)]),
            "contract `B`: price NaN",
        ),
        (
            problem(
                n,
                vec![
                    ok.clone(),
                    Contract {
                        weights: vec![0.0; n],
                        ..over("Empty", n, 0, 0, 1.0)
                    },
                ],
            ),
            "contract `Empty`: no grid point",
        ),
        (
            problem(
                n,
                vec![
                    ok.clone(),
                    Contract {
                        weights: vec![1.0; 3],
                        ..over("Short", n, 0, 0, 1.0)
                    },
                ],
            ),
            "contract `Short`: 3 weights",
        ),
        (
            Problem {
                prior: Some((vec![1.0; 4], PriorMode::Additive)),
                ..problem(n, vec![ok.clone(), over("B", n, 5, 9, 1.0)])
            },
            "prior: 4 values",
        ),
        (
            Problem {
                tension: -1.0,
                flat_from: None,
                ..problem(n, vec![ok.clone()])
            },
            "tension",
        ),
        // One contract cannot fix a straight line; two identical ones are dependent.
        (problem(n, vec![ok.clone()]), "unique curve"),
        (problem(n, vec![ok.clone(), ok.clone()]), "unique curve"),
    ];
    for (p, says) in cases {
        let e: Error = solve_kkt(&p).unwrap_err();
        assert!(e.to_string().contains(says), "{says}: {e}");
    }
}
