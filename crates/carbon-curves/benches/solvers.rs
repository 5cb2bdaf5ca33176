//! The curve engine against its peers (scripts/bench.sh curves).
//!
//! Two problems from the issue: a daily curve over three years (~1,100 grid
//! points, 20 contracts: months, quarters, a calendar, on-peak months) and an
//! hourly curve over three years (26,304 points, monthly on-/off-peak strips).
//! Each is solved here by the banded KKT solve and by clarabel (raw and
//! polished), timed as the median of several runs; then written to
//! `$CARBON_BENCH_DIR/<name>.json` (roughness bands, contract rows, prices,
//! our optimum and timings) for `scripts/bench/curves_peers.py`, which solves
//! the same matrices with cvxpy+OSQP and cvxpy+Clarabel and prints the ratios
//! and objective gaps.

use std::{path::PathBuf, time::Instant};

use carbon_core::{Block, Market};
use carbon_curves::{
    banded::Band,
    engine::{Contract, Problem, solve_kkt},
    grid::{Granularity, Grid},
    qp::{solve_bands, solve_qp},
};
use chrono::NaiveDate;
use serde_json::json;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("date")
}

fn month_end(y: i32, m: u32) -> NaiveDate {
    carbon_core::time::next_month(d(y, m, 1))
        .pred_opt()
        .expect("date")
}

fn season(k: u32) -> f64 {
    45.0 + 14.0 * ((k % 12) as f64 * std::f64::consts::PI / 6.0 - 3.6).cos() + 0.15 * k as f64
}

/// Daily, 2027–2029: 12 months of 2027, 4 quarters of 2028, Cal-29, and three
/// on-peak summer months of 2027 on top of their flat months (20 contracts).
fn daily() -> Problem {
    let g = Grid::new(
        Market::Miso,
        Granularity::Daily,
        d(2027, 1, 1),
        d(2029, 12, 31),
    )
    .expect("grid");
    let mut c = Vec::new();
    let mut add = |name: String, from: NaiveDate, to: NaiveDate, block: Block, price: f64| {
        c.push(Contract {
            name,
            weights: g.weights(from, to, block),
            price,
        })
    };
    for m in 1..=12 {
        add(
            format!("2027-{m:02}"),
            d(2027, m, 1),
            month_end(2027, m),
            Block::Flat,
            season(m - 1),
        );
    }
    for q in 0..4u32 {
        let k = 12 + 3 * q;
        let p = (season(k) + season(k + 1) + season(k + 2)) / 3.0;
        add(
            format!("2028-Q{}", q + 1),
            d(2028, 3 * q + 1, 1),
            month_end(2028, 3 * q + 3),
            Block::Flat,
            p,
        );
    }
    add(
        "Cal-29".into(),
        d(2029, 1, 1),
        d(2029, 12, 31),
        Block::Flat,
        49.0,
    );
    for m in [6, 7, 8] {
        add(
            format!("2027-{m:02} on-peak"),
            d(2027, m, 1),
            month_end(2027, m),
            Block::OnPeak,
            season(m - 1) + 11.0,
        );
    }
    Problem {
        n: g.len(),
        contracts: c,
        ..Default::default()
    }
}

/// Hourly, 2027–2029: on-peak and off-peak strips for each of 36 months.
fn hourly() -> Problem {
    let g = Grid::new(
        Market::Miso,
        Granularity::Hourly,
        d(2027, 1, 1),
        d(2029, 12, 31),
    )
    .expect("grid");
    let mut c = Vec::new();
    for k in 0..36u32 {
        let (y, m) = (2027 + (k / 12) as i32, k % 12 + 1);
        for (block, premium) in [(Block::OnPeak, 9.5), (Block::OffPeak, -4.0)] {
            c.push(Contract {
                name: format!("{y}-{m:02} {}", block.as_str()),
                weights: g.weights(d(y, m, 1), month_end(y, m), block),
                price: season(k) + premium,
            });
        }
    }
    Problem {
        n: g.len(),
        contracts: c,
        ..Default::default()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = None;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        out = Some(f());
        times.push(t.elapsed().as_secs_f64());
    }
    (median(times), out.expect("at least one run"))
}

fn main() {
    let dir = PathBuf::from(std::env::var("CARBON_BENCH_DIR").unwrap_or_else(|_| {
        std::env::temp_dir()
            .join("carbon-bench-curves")
            .display()
            .to_string()
    }));
    std::fs::create_dir_all(&dir).expect("bench dir");
    for (name, p, runs) in [("daily", daily(), 21), ("hourly", hourly(), 7)] {
        let (t_kkt, s) = time(runs, || solve_kkt(&p).expect("kkt"));
        let bands = vec![None; p.contracts.len()];
        let (t_raw, raw) = time(runs.min(5), || solve_qp(&p, &bands).expect("clarabel"));
        let (t_pol, pol) = time(runs.min(5), || {
            solve_bands(&p, &bands).expect("clarabel + polish")
        });
        let worst = |r: &[f64]| {
            r.iter()
                .zip(&p.contracts)
                .map(|(a, c)| (a - c.price).abs())
                .fold(0.0_f64, f64::max)
        };
        println!(
            "{name}: n={} contracts={} | kkt {:.2} ms ({} refinement steps, objective {:.12e}, max repricing error {:.1e}) \
             | clarabel {:.2} ms ({} its, objective gap {:+.2e}) | clarabel+polish {:.2} ms (gap {:+.2e})",
            p.n,
            p.contracts.len(),
            t_kkt * 1e3,
            s.refinements,
            s.objective,
            worst(&s.repriced),
            t_raw * 1e3,
            raw.iterations,
            (raw.objective - s.objective) / s.objective,
            t_pol * 1e3,
            (pol.objective - s.objective) / s.objective,
        );
        // The matrices for the peers: Q's bands, the normalised contract rows.
        let q = Band::roughness(p.n, 0.0);
        let rows: Vec<_> = p
            .contracts
            .iter()
            .map(|c| {
                let total: f64 = c.weights.iter().sum();
                let idx: Vec<usize> = (0..p.n).filter(|&i| c.weights[i] > 0.0).collect();
                let val: Vec<f64> = idx.iter().map(|&i| c.weights[i] / total).collect();
                json!({ "name": c.name, "idx": idx, "val": val, "price": c.price })
            })
            .collect();
        let doc = json!({
            "name": name,
            "n": p.n,
            "q_diag": (0..p.n).map(|i| q.get(i, i)).collect::<Vec<_>>(),
            "q_off1": (0..p.n.saturating_sub(1)).map(|i| q.get(i, i + 1)).collect::<Vec<_>>(),
            "q_off2": (0..p.n.saturating_sub(2)).map(|i| q.get(i, i + 2)).collect::<Vec<_>>(),
            "rows": rows,
            "ours": {
                "kkt_seconds": t_kkt, "objective": s.objective, "x": s.x,
                "clarabel_seconds": t_raw, "clarabel_objective": raw.objective,
                "polish_seconds": t_pol, "polish_objective": pol.objective,
            },
        });
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, doc.to_string()).expect("write problem");
        println!("CARBON_PROBLEM={}", path.display());
    }
}
