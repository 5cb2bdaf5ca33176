//! Large grids: the banded solve against the dense reference and clarabel.
#![allow(clippy::unwrap_used, missing_docs)]

use carbon_core::{Block, Market};
use carbon_curves::{
    build::{self, ContractSpec, Policy, Request},
    engine::{Contract, PriorMode, Problem, solve_dense, solve_kkt, solve_penalised},
    grid::{Granularity, Grid, Shape},
    qp::solve_qp,
};
use chrono::{Datelike, NaiveDate};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn month_end(y: i32, m: u32) -> NaiveDate {
    carbon_core::time::next_month(d(y, m, 1))
        .pred_opt()
        .unwrap()
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

/// Monthly on-peak and off-peak strips over `months` months from Jan 2027,
/// with a seasonal shape.
fn strips(months: u32) -> Vec<ContractSpec> {
    let mut out = Vec::new();
    for k in 0..months {
        let (y, m) = (2027 + (k / 12) as i32, k % 12 + 1);
        let season = 40.0 + 12.0 * ((m as f64 - 7.0) * std::f64::consts::PI / 6.0).cos();
        for (block, premium) in [(Block::OnPeak, 9.5), (Block::OffPeak, -4.0)] {
            out.push(ContractSpec {
                name: format!("{y}-{m:02} {}", block.as_str()),
                start: d(y, m, 1),
                end: month_end(y, m),
                price: season + premium + 0.1 * k as f64,
                bid: None,
                ask: None,
                block: Shape::Block(block),
                weight: 1.0,
            });
        }
    }
    out
}

/// Random-ish problems (fixed seeds): the banded solve equals the dense LU of
/// the whole KKT matrix, with and without tension, priors and a flat long end.
#[test]
fn banded_solve_equals_the_dense_reference() {
    let g = Grid::new(
        Market::Miso,
        Granularity::Daily,
        d(2027, 1, 1),
        d(2027, 12, 31),
    )
    .unwrap();
    let n = g.len();
    let mut seed = 17u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut contracts: Vec<Contract> = (1..=12)
        .map(|m| Contract {
            name: format!("M{m}"),
            weights: g.weights(d(2027, m, 1), month_end(2027, m), Block::Flat),
            price: 30.0 + 40.0 * next(),
        })
        .collect();
    contracts.push(Contract {
        name: "Jul on-peak".into(),
        weights: g.weights(d(2027, 7, 1), d(2027, 7, 31), Block::OnPeak),
        price: 90.0,
    });
    let prior: Vec<f64> = (0..n).map(|_| 0.8 + 0.4 * next()).collect();
    let cases = [
        (0.0, None, None),
        (0.7, None, None),
        (0.0, Some(PriorMode::Additive), None),
        (0.0, Some(PriorMode::Multiplicative), None),
        (0.0, None, Some(300)),
        (0.3, Some(PriorMode::Multiplicative), Some(n - 2)),
    ];
    for (tension, mode, flat_from) in cases {
        // A flat long end needs contracts that stop before it.
        let kept: Vec<Contract> = contracts
            .iter()
            .filter(|c| {
                flat_from.is_none_or(|k| c.weights[k..].iter().all(|w| *w == 0.0) || k == n - 2)
            })
            .cloned()
            .collect();
        let p = Problem {
            n,
            contracts: kept,
            prior: mode.map(|m| (prior.clone(), m)),
            tension,
            flat_from,
        };
        let (fast, slow) = (solve_kkt(&p).unwrap(), solve_dense(&p).unwrap());
        let scale = slow.curve.iter().fold(1.0_f64, |a, v| a.max(v.abs()));
        for (a, b) in fast.curve.iter().zip(&slow.curve) {
            assert!(
                (a - b).abs() <= 1e-9 * scale,
                "{tension} {mode:?} {flat_from:?}: {a} vs {b}"
            );
        }
        for (a, b) in fast.duals.iter().zip(&slow.duals) {
            assert!((a - b).abs() <= 1e-7 * b.abs().max(1.0), "dual {a} vs {b}");
        }
        assert!(rel_err(fast.objective, slow.objective) <= 1e-9);
        for (r, c) in fast.repriced.iter().zip(&p.contracts) {
            assert!(
                rel_err(*r, c.price) <= 1e-10,
                "{}: {r} vs {}",
                c.name,
                c.price
            );
        }
        if let Some(k) = flat_from {
            assert!(fast.x[k..].iter().all(|v| *v == fast.x[k]), "flat long end");
        }
        // The least-squares solve of consistent quotes lands close to the
        // exact one, and closer as the penalty grows.
        let (l1, l2) = (
            solve_penalised(&p, 1e2).unwrap(),
            solve_penalised(&p, 1e6).unwrap(),
        );
        let gap = |s: &carbon_curves::engine::Solution| {
            s.repriced
                .iter()
                .zip(&p.contracts)
                .map(|(r, c)| (r - c.price).abs())
                .fold(0.0, f64::max)
        };
        assert!(
            gap(&l2) < gap(&l1) && gap(&l2) < 1e-2,
            "{} {}",
            gap(&l1),
            gap(&l2)
        );
    }
}

/// An hourly curve over three years from monthly on-/off-peak strips
/// (26,304 points, 72 contracts): every contract repriced to 1e-8. Raw
/// clarabel only gets within ~1e-8 of the optimal *objective* (its curve can
/// be tenths of a $/MWh off near the ends); the polished `bid_ask` build is
/// the exact optimum, and with bands it respects every band.
#[test]
fn hourly_three_years_reprices_and_polishes_clarabel() {
    let mut req = Request::new(
        Market::Miso,
        d(2026, 11, 27),
        Granularity::Hourly,
        strips(36),
    );
    let kkt = build::build(&req).unwrap();
    assert_eq!(kkt.grid.len(), 1_096 * 24); // 2028 is a leap year
    assert_eq!(kkt.grid.points.first().unwrap().start.year(), 2027);
    for c in &kkt.contracts {
        assert!(
            rel_err(c.repriced, c.quoted) <= 1e-8,
            "{}: {} vs {}",
            c.name,
            c.repriced,
            c.quoted
        );
    }
    let contracts: Vec<Contract> = req
        .contracts
        .iter()
        .map(|c| Contract {
            name: c.name.clone(),
            weights: kkt.grid.weights(c.start, c.end, c.block),
            price: c.price,
        })
        .collect();
    let p = Problem {
        n: kkt.grid.len(),
        contracts,
        ..Default::default()
    };
    let raw = solve_qp(&p, &vec![None; p.contracts.len()]).unwrap();
    let gap = (raw.objective - kkt.objective) / kkt.objective;
    // (Slightly below is possible: its constraints hold to ~1e-12, not exactly.)
    assert!(
        (-1e-8..1e-6).contains(&gap),
        "raw clarabel objective gap {gap:e}"
    );
    // Polished: the same curve as the exact solve.
    req.policy = Policy::BidAsk;
    let ip = build::build(&req).unwrap();
    assert!(ip.solver.contains("polish"), "{}", ip.solver);
    let worst = kkt
        .curve
        .iter()
        .zip(&ip.curve)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-8 * 60.0, "polished curve differs by {worst:e}");
    // Bands of ±1.5 around each strip: some bind, all hold, smoother than exact.
    for c in &mut req.contracts {
        c.bid = Some(c.price - 1.5);
        c.ask = Some(c.price + 1.5);
    }
    let banded = build::build(&req).unwrap();
    assert!(banded.solver.contains("polish"), "{}", banded.solver);
    assert!(banded.objective < kkt.objective);
    let mut binding = 0;
    for (r, spec) in banded.contracts.iter().zip(&req.contracts) {
        let (bid, ask) = (spec.bid.unwrap(), spec.ask.unwrap());
        assert!(
            r.repriced >= bid - 1e-8 && r.repriced <= ask + 1e-8,
            "{}: {}",
            r.name,
            r.repriced
        );
        if (r.repriced - bid).abs() < 1e-8 || (r.repriced - ask).abs() < 1e-8 {
            binding += 1;
        } else {
            assert_eq!(r.dual, Some(0.0), "{} does not bind", r.name);
        }
    }
    assert!(
        binding > 0 && binding < req.contracts.len(),
        "{binding} bands bind"
    );
}

/// Clarabel and the exact solve agree to 1e-8 on a daily equality problem
/// over three years (~1,100 points).
#[test]
fn daily_three_years_clarabel_agrees_to_1e_8() {
    let g = Grid::new(
        Market::Miso,
        Granularity::Daily,
        d(2027, 1, 1),
        d(2029, 12, 31),
    )
    .unwrap();
    let contracts: Vec<Contract> = (0..36)
        .map(|k| {
            let (y, m) = (2027 + k / 12, (k % 12) as u32 + 1);
            Contract {
                name: format!("{y}-{m:02}"),
                weights: g.weights(d(y, m, 1), month_end(y, m), Block::Flat),
                price: 45.0 + 10.0 * ((k as f64) * 0.5).sin(),
            }
        })
        .collect();
    let p = Problem {
        n: g.len(),
        contracts,
        ..Default::default()
    };
    let exact = solve_kkt(&p).unwrap();
    let ip = solve_qp(&p, &vec![None; p.contracts.len()]).unwrap();
    for (a, b) in exact.curve.iter().zip(&ip.curve) {
        assert!((a - b).abs() <= 1e-8 * 55.0, "{a} vs {b}");
    }
}
