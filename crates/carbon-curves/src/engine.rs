//! The max-smoothness engine: minimise `xᵀQx` subject to `Ax = b`, where
//! `Q = D₂ᵀD₂ + τ·D₁ᵀD₁` (second and first differences of `x` on the grid) and
//! each row of `A` is one contract's normalised weights. The optimum solves the
//! KKT system
//!
//! ```text
//! [ 2Q  Aᵀ ] [ x ]   [ 0 ]
//! [ A   0  ] [ μ ] = [ b ]
//! ```
//!
//! which is non-singular when the contracts have independent rows and pin
//! down the straight lines `Q` does not penalise (at least two contracts over
//! different periods, or one with tension). `μ` are the duals: the objective's
//! sensitivity to each contract's price is `−μ`.
//!
//! Dense LU: exact to rounding, fine up to a few thousand grid points (a
//! daily curve over years). Hourly multi-year grids need the banded/sparse
//! solve that comes with the rest of the issue.

use nalgebra::{DMatrix, DVector};

/// How the prior (shape) combines with the solved part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorMode {
    /// `f = prior + x`.
    Additive,
    /// `f = prior · x`.
    Multiplicative,
}

/// One contract as the engine sees it: non-negative weights over the grid
/// (hours in its block × discount factor; zero outside its delivery) and its price.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    /// Name (for errors and reports).
    pub name: String,
    /// One weight per grid point.
    pub weights: Vec<f64>,
    /// Quoted price.
    pub price: f64,
}

/// A problem on a grid of `n` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Grid points.
    pub n: usize,
    /// The contracts.
    pub contracts: Vec<Contract>,
    /// Optional prior on the grid and how it combines.
    pub prior: Option<(Vec<f64>, PriorMode)>,
    /// Weight of first differences in the roughness (0 = pure second differences).
    pub tension: f64,
}

/// The optimum.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// The curve `f` on the grid.
    pub curve: Vec<f64>,
    /// The solved part `x`.
    pub x: Vec<f64>,
    /// One dual per contract.
    pub duals: Vec<f64>,
    /// `xᵀQx` at the optimum.
    pub objective: f64,
    /// Each contract's weighted average of the curve (equals its price).
    pub repriced: Vec<f64>,
}

/// What can be wrong with a problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// No contracts.
    #[error("no contracts: a curve needs at least one price")]
    Empty,
    /// A grid too short to have second differences.
    #[error("the grid has {0} point(s); at least 3 are needed")]
    Grid(usize),
    /// One contract is unusable.
    #[error("contract `{name}`: {why}")]
    Contract {
        /// Its name.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// The prior does not fit the grid.
    #[error("prior: {0}")]
    Prior(String),
    /// The tension is negative or not finite.
    #[error("tension must be a finite number ≥ 0, got {0}")]
    Tension(f64),
    /// Prices and bands that no curve satisfies together.
    #[error("infeasible: {0}")]
    Infeasible(String),
    /// The contracts do not determine one smoothest curve.
    #[error(
        "the contracts do not determine a unique curve (duplicate or dependent contracts, \
         or too few to fix a straight line): {0}"
    )]
    Singular(String),
}

/// `Q = D₂ᵀD₂ + τ·D₁ᵀD₁` as a dense `n × n` matrix.
pub fn roughness(n: usize, tension: f64) -> DMatrix<f64> {
    let mut q = DMatrix::<f64>::zeros(n, n);
    for i in 0..n.saturating_sub(2) {
        let d = [(i, 1.0), (i + 1, -2.0), (i + 2, 1.0)];
        for (a, wa) in d {
            for (b, wb) in d {
                q[(a, b)] += wa * wb;
            }
        }
    }
    if tension > 0.0 {
        for i in 0..n.saturating_sub(1) {
            let d = [(i, -1.0), (i + 1, 1.0)];
            for (a, wa) in d {
                for (b, wb) in d {
                    q[(a, b)] += tension * wa * wb;
                }
            }
        }
    }
    q
}

pub(crate) fn check(p: &Problem) -> Result<(), Error> {
    if p.contracts.is_empty() {
        return Err(Error::Empty);
    }
    if p.n < 3 {
        return Err(Error::Grid(p.n));
    }
    if !(p.tension.is_finite() && p.tension >= 0.0) {
        return Err(Error::Tension(p.tension));
    }
    for c in &p.contracts {
        let bad = |why: String| Error::Contract {
            name: c.name.clone(),
            why,
        };
        if !c.price.is_finite() {
            return Err(bad(format!("price {} is not a number", c.price)));
        }
        if c.weights.len() != p.n {
            return Err(bad(format!(
                "{} weights for a grid of {} points",
                c.weights.len(),
                p.n
            )));
        }
        if let Some(i) = c.weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(bad(format!("weight {} at grid point {i}", c.weights[i])));
        }
        if c.weights.iter().sum::<f64>() <= 0.0 {
            return Err(bad("no grid point in its delivery period and block".into()));
        }
    }
    if let Some((prior, mode)) = &p.prior {
        if prior.len() != p.n {
            return Err(Error::Prior(format!(
                "{} values for a grid of {} points",
                prior.len(),
                p.n
            )));
        }
        if let Some(i) = prior.iter().position(|v| !v.is_finite()) {
            return Err(Error::Prior(format!(
                "value at grid point {i} is not a number"
            )));
        }
        if *mode == PriorMode::Multiplicative {
            for c in &p.contracts {
                let covered: f64 = c.weights.iter().zip(prior).map(|(w, v)| w * v).sum();
                if covered == 0.0 {
                    return Err(Error::Prior(format!(
                        "zero over the delivery of contract `{}`, so no multiple of it can price it",
                        c.name
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Smallest over largest eigenvalue of a symmetric positive semi-definite matrix.
fn spread(g: DMatrix<f64>) -> f64 {
    let e = g.symmetric_eigen().eigenvalues;
    let max = e.iter().copied().fold(0.0_f64, f64::max);
    let min = e.iter().copied().fold(f64::INFINITY, f64::min);
    if max <= 0.0 { 0.0 } else { min / max }
}

/// The KKT system has one solution when the contract rows are independent and
/// they pin down what the roughness does not penalise (straight lines; with
/// tension, constants). LU alone would return *a* solution of a singular
/// system, so both are checked first.
fn well_posed(a: &DMatrix<f64>, p: &Problem) -> Result<(), Error> {
    const TOL: f64 = 1e-12;
    let names = || {
        p.contracts
            .iter()
            .map(|c| format!("`{}`", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if spread(a * a.transpose()) < TOL {
        return Err(Error::Singular(format!(
            "some of {} repeat or combine others",
            names()
        )));
    }
    let n = p.n;
    let k = if p.tension > 0.0 { 1 } else { 2 };
    let null = DMatrix::<f64>::from_fn(n, k, |i, j| {
        if j == 0 {
            1.0
        } else {
            2.0 * i as f64 / (n - 1) as f64 - 1.0
        }
    });
    let pinned = a * null;
    if spread(pinned.transpose() * pinned) < TOL {
        return Err(Error::Singular(format!(
            "{} leave a {} free",
            names(),
            if k == 2 { "straight line" } else { "constant" }
        )));
    }
    Ok(())
}

/// Solves the equality-constrained problem exactly (dense KKT, LU).
pub fn solve_kkt(p: &Problem) -> Result<Solution, Error> {
    check(p)?;
    let n = p.n;
    let m = p.contracts.len();
    let mut kkt = DMatrix::<f64>::zeros(n + m, n + m);
    let q = roughness(n, p.tension);
    kkt.view_mut((0, 0), (n, n)).copy_from(&(&q * 2.0));
    let (a, b) = rows(p);
    kkt.view_mut((n, 0), (m, n)).copy_from(&a);
    kkt.view_mut((0, n), (n, m)).copy_from(&a.transpose());
    let mut rhs = DVector::<f64>::zeros(n + m);
    rhs.rows_mut(n, m).copy_from(&b);
    well_posed(&a, p)?;
    let sol = kkt
        .lu()
        .solve(&rhs)
        .ok_or_else(|| Error::Singular(format!("{m} contract(s) on a grid of {n} points")))?;
    if sol.iter().any(|v| !v.is_finite()) {
        return Err(Error::Singular(
            "the solve produced non-finite values".into(),
        ));
    }
    let x: Vec<f64> = sol.rows(0, n).iter().copied().collect();
    let duals: Vec<f64> = sol.rows(n, m).iter().copied().collect();
    let xv = DVector::from_column_slice(&x);
    let objective = (xv.transpose() * &q * &xv)[(0, 0)];
    let (curve, repriced) = finish(p, &x);
    Ok(Solution {
        curve,
        x,
        duals,
        objective,
        repriced,
    })
}

/// Contract rows `A` and right-hand sides `b` (prior folded in).
pub(crate) fn rows(p: &Problem) -> (DMatrix<f64>, DVector<f64>) {
    let (n, m) = (p.n, p.contracts.len());
    let mut a = DMatrix::<f64>::zeros(m, n);
    let mut b = DVector::<f64>::zeros(m);
    for (j, c) in p.contracts.iter().enumerate() {
        let total: f64 = c.weights.iter().sum();
        b[j] = c.price;
        for (i, w) in c.weights.iter().enumerate() {
            let w = w / total;
            a[(j, i)] = match &p.prior {
                None => w,
                Some((prior, PriorMode::Additive)) => {
                    b[j] -= w * prior[i];
                    w
                }
                Some((prior, PriorMode::Multiplicative)) => w * prior[i],
            };
        }
    }
    (a, b)
}

/// Least squares: every quote becomes a penalty `ρ·(average − price)²` added
/// to the roughness, so inconsistent quotes are split smoothly instead of
/// failing. Solves `(Q + ρAᵀA) x = ρAᵀb`.
pub fn solve_penalised(p: &Problem, rho: f64) -> Result<Solution, Error> {
    check(p)?;
    let n = p.n;
    let q = roughness(n, p.tension);
    let (a, b) = rows(p);
    let lhs = &q + (a.transpose() * &a) * rho;
    let rhs = (a.transpose() * &b) * rho;
    let x = lhs
        .lu()
        .solve(&rhs)
        .filter(|x| x.iter().all(|v| v.is_finite()))
        .ok_or_else(|| {
            Error::Singular(format!("{} contract(s) on {n} points", p.contracts.len()))
        })?;
    let objective = (x.transpose() * &q * &x)[(0, 0)];
    let x: Vec<f64> = x.iter().copied().collect();
    let (curve, repriced) = finish(p, &x);
    Ok(Solution {
        curve,
        x,
        duals: Vec::new(),
        objective,
        repriced,
    })
}

/// The curve from the solved part, and each contract's average of it.
pub(crate) fn finish(p: &Problem, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let curve: Vec<f64> = match &p.prior {
        None => x.to_vec(),
        Some((prior, PriorMode::Additive)) => x.iter().zip(prior).map(|(a, b)| a + b).collect(),
        Some((prior, PriorMode::Multiplicative)) => {
            x.iter().zip(prior).map(|(a, b)| a * b).collect()
        }
    };
    let repriced = p
        .contracts
        .iter()
        .map(|c| {
            let total: f64 = c.weights.iter().sum();
            c.weights
                .iter()
                .zip(&curve)
                .map(|(w, f)| w * f)
                .sum::<f64>()
                / total
        })
        .collect();
    (curve, repriced)
}
