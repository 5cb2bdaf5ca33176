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
//! [`solve_kkt`] never forms an `n × n` matrix: `Q` is pentadiagonal and each
//! contract row is non-zero only over its delivery, so it eliminates `x`
//! through a banded Cholesky factor of `2Q + δI` (the Schur complement
//! `A(2Q+δI)⁻¹Aᵀ` is only `m × m`) and then removes the effect of `δ` by
//! iterative refinement against the exact KKT residual. `O(n·m)` work: an
//! hourly curve over three years solves in milliseconds. [`solve_dense`] is
//! the textbook dense LU of the whole KKT matrix, kept as the reference the
//! tests compare with.

use nalgebra::{DMatrix, DVector};

use crate::banded::Band;

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
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Problem {
    /// Grid points.
    pub n: usize,
    /// The contracts.
    pub contracts: Vec<Contract>,
    /// Optional prior on the grid and how it combines.
    pub prior: Option<(Vec<f64>, PriorMode)>,
    /// Weight of first differences in the roughness (0 = pure second differences).
    pub tension: f64,
    /// Flat long end: every grid point from this index on shares one value of
    /// `x` (so with no prior the curve is flat there, and the roughness
    /// pulls its slope towards zero where the flat part begins).
    pub flat_from: Option<usize>,
}

/// The optimum.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// Refinement steps the solve took (0 for the dense reference).
    pub refinements: u32,
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

/// `Q = D₂ᵀD₂ + τ·D₁ᵀD₁` as a dense `n × n` matrix (the reference for tests;
/// the solvers use [`Band`]).
pub fn roughness(n: usize, tension: f64) -> DMatrix<f64> {
    let b = Band::roughness(n, tension);
    DMatrix::from_fn(n, n, |i, j| b.get(i, j))
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
    if let Some(k) = p.flat_from
        && (k < 2 || k >= p.n)
    {
        return Err(Error::Grid(k));
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

/// One constraint row: coefficients on the variables `start..start + coef.len()`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub start: usize,
    pub coef: Vec<f64>,
}

impl Row {
    pub fn dot(&self, x: &[f64]) -> f64 {
        self.coef
            .iter()
            .zip(&x[self.start..])
            .map(|(a, b)| a * b)
            .sum()
    }
    /// `y += s · rowᵀ`.
    pub fn axpy(&self, s: f64, y: &mut [f64]) {
        for (a, v) in self.coef.iter().zip(&mut y[self.start..]) {
            *v += s * a;
        }
    }
}

/// The problem in its variables: grid points of a flat long end share one.
#[derive(Debug, Clone)]
pub(crate) struct Reduced {
    /// Number of variables.
    pub n: usize,
    /// Roughness of the full-grid `x`, written in the variables.
    pub q: Band,
    /// Contract rows: normalised weights, prior folded in.
    pub rows: Vec<Row>,
    /// Right-hand sides.
    pub b: Vec<f64>,
    /// Tension (for [`Reduced::stencils`]).
    pub tension: f64,
    /// Whether a flat tail adds the join's first difference to `Q`.
    pub join: bool,
}

impl Reduced {
    /// The reduced problem of a checked `p`.
    pub fn of(p: &Problem) -> Reduced {
        let n = p.flat_from.map_or(p.n, |k| k + 1);
        let var = |i: usize| i.min(n - 1);
        let mut q = Band::roughness(n, p.tension);
        if n < p.n {
            // The second difference centred on the first flat point is
            // `x[k−1] − x[k]`; every later difference is zero.
            q.add_first_difference(n - 2, 1.0);
        }
        let mut rows = Vec::with_capacity(p.contracts.len());
        let mut b = Vec::with_capacity(p.contracts.len());
        for c in &p.contracts {
            let total: f64 = c.weights.iter().sum();
            let first = c.weights.iter().position(|w| *w > 0.0).unwrap_or(0);
            let last = c.weights.iter().rposition(|w| *w > 0.0).unwrap_or(0);
            let (lo, hi) = (var(first), var(last));
            let mut coef = vec![0.0; hi - lo + 1];
            let mut rhs = c.price;
            for (i, w) in c.weights.iter().enumerate().take(last + 1).skip(first) {
                let w = w / total;
                coef[var(i) - lo] += match &p.prior {
                    None => w,
                    Some((prior, PriorMode::Additive)) => {
                        rhs -= w * prior[i];
                        w
                    }
                    Some((prior, PriorMode::Multiplicative)) => w * prior[i],
                };
            }
            rows.push(Row { start: lo, coef });
            b.push(rhs);
        }
        Reduced {
            n,
            q,
            rows,
            b,
            tension: p.tension,
            join: n < p.n,
        }
    }

    /// The difference stencils `(first index, coefficients)` with
    /// `Q = Σ sᵀs`: second differences, `√τ` first differences, the join.
    pub fn stencils(&self) -> Vec<(usize, Vec<f64>)> {
        let n = self.n;
        let mut out: Vec<(usize, Vec<f64>)> = (0..n.saturating_sub(2))
            .map(|i| (i, vec![1.0, -2.0, 1.0]))
            .collect();
        if self.tension > 0.0 {
            let r = self.tension.sqrt();
            out.extend((0..n.saturating_sub(1)).map(|i| (i, vec![-r, r])));
        }
        if self.join {
            out.push((n - 2, vec![-1.0, 1.0]));
        }
        out
    }

    /// The full-grid `x` from the variables.
    pub fn expand(&self, full: usize, x: &[f64]) -> Vec<f64> {
        (0..full).map(|i| x[i.min(self.n - 1)]).collect()
    }

    /// `A` as a dense matrix (small problems, checks).
    fn dense_rows(&self) -> DMatrix<f64> {
        let mut a = DMatrix::<f64>::zeros(self.rows.len(), self.n);
        for (j, r) in self.rows.iter().enumerate() {
            for (k, v) in r.coef.iter().enumerate() {
                a[(j, r.start + k)] = *v;
            }
        }
        a
    }

    /// `A·Aᵀ` without forming `A`.
    fn gram(&self) -> DMatrix<f64> {
        let m = self.rows.len();
        let mut g = DMatrix::<f64>::zeros(m, m);
        for i in 0..m {
            for j in i..m {
                let (a, b) = (&self.rows[i], &self.rows[j]);
                let lo = a.start.max(b.start);
                let hi = (a.start + a.coef.len()).min(b.start + b.coef.len());
                let v: f64 = (lo..hi)
                    .map(|k| a.coef[k - a.start] * b.coef[k - b.start])
                    .sum();
                g[(i, j)] = v;
                g[(j, i)] = v;
            }
        }
        g
    }

    /// How many of (constants, straight lines) the roughness leaves free:
    /// 2 normally, 1 with tension or a flat long end.
    fn free_lines(&self, p: &Problem) -> usize {
        if p.tension > 0.0 || self.n < p.n {
            1
        } else {
            2
        }
    }
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
/// tension or a flat long end, constants). A factorisation alone would return
/// *a* solution of a singular system, so both are checked first.
fn well_posed(r: &Reduced, p: &Problem) -> Result<(), Error> {
    const TOL: f64 = 1e-12;
    let names = || {
        p.contracts
            .iter()
            .map(|c| format!("`{}`", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if spread(r.gram()) < TOL {
        return Err(Error::Singular(format!(
            "some of {} repeat or combine others",
            names()
        )));
    }
    let k = r.free_lines(p);
    let n = r.n;
    let pinned = DMatrix::<f64>::from_fn(r.rows.len(), k, |j, c| {
        let row = &r.rows[j];
        row.coef
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let t = (row.start + i) as f64;
                v * if c == 0 {
                    1.0
                } else {
                    2.0 * t / (n - 1) as f64 - 1.0
                }
            })
            .sum()
    });
    if spread(pinned.transpose() * &pinned) < TOL {
        return Err(Error::Singular(format!(
            "{} leave a {} free",
            names(),
            if k == 2 { "straight line" } else { "constant" }
        )));
    }
    Ok(())
}

/// `ρ` of the penalised problem as the KKT's `(2,2)` block `−cI`.
fn penalty_block(rho: f64) -> f64 {
    1.0 / (2.0 * rho)
}

/// Solves `[2Q Aᵀ; A −cI] [x; μ] = [0; b]` by Schur complement on a banded
/// `2Q + δI` and iterative refinement. Returns `(x, μ, refinements)`.
fn solve_reduced(r: &Reduced, c: f64) -> Result<(Vec<f64>, Vec<f64>, u32), Error> {
    let (n, m) = (r.n, r.rows.len());
    let peak = (0..n)
        .map(|i| r.q.get(i, i))
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let delta = 2.0 * peak * 1e-13;
    let chol =
        r.q.cholesky(2.0, delta)
            .ok_or_else(|| Error::Singular("the roughness has no factor".into()))?;
    // V = (2Q+δI)⁻¹ Aᵀ, column by column.
    let mut v: Vec<Vec<f64>> = Vec::with_capacity(m);
    for row in &r.rows {
        let mut col = vec![0.0; n];
        row.axpy(1.0, &mut col);
        chol.solve_in_place(&mut col);
        v.push(col);
    }
    let mut s = DMatrix::<f64>::zeros(m, m);
    for i in 0..m {
        for j in 0..m {
            s[(i, j)] = r.rows[i].dot(&v[j]);
        }
        s[(i, i)] += c;
    }
    let lu = s.lu();
    // One approximate solve of the system with right-hand side (r1, r2).
    let approx = |r1: &[f64], r2: &[f64]| -> Option<(Vec<f64>, Vec<f64>)> {
        let mut y = r1.to_vec();
        chol.solve_in_place(&mut y);
        let t = DVector::from_iterator(m, r.rows.iter().zip(r2).map(|(row, b)| row.dot(&y) - b));
        let mu = lu.solve(&t)?;
        for (j, col) in v.iter().enumerate() {
            for (a, b) in y.iter_mut().zip(col) {
                *a -= mu[j] * b;
            }
        }
        Some((y, mu.iter().copied().collect()))
    };
    let singular = || Error::Singular(format!("{m} contract(s) on a grid of {n} points"));
    let (mut x, mut mu) = approx(&vec![0.0; n], &r.b).ok_or_else(singular)?;
    let scale = r.b.iter().fold(1.0_f64, |a, b| a.max(b.abs()));
    let mut last = f64::INFINITY;
    let mut steps = 0;
    let mut size = f64::INFINITY;
    for _ in 0..200 {
        // Exact residual of the true (unshifted) system.
        let mut r1: Vec<f64> = r.q.mul(&x).iter().map(|v| -2.0 * v).collect();
        for (row, m) in r.rows.iter().zip(&mu) {
            row.axpy(-m, &mut r1);
        }
        let r2: Vec<f64> = r
            .rows
            .iter()
            .zip(&r.b)
            .zip(&mu)
            .map(|((row, b), m)| b - row.dot(&x) + c * m)
            .collect();
        size = r1.iter().chain(&r2).fold(0.0_f64, |a, v| a.max(v.abs()));
        if !size.is_finite() {
            return Err(singular());
        }
        if size <= 1e-15 * scale || size >= 0.5 * last {
            break;
        }
        last = size;
        let (dx, dmu) = approx(&r1, &r2).ok_or_else(singular)?;
        x.iter_mut().zip(&dx).for_each(|(a, b)| *a += b);
        mu.iter_mut().zip(&dmu).for_each(|(a, b)| *a += b);
        steps += 1;
    }
    if x.iter().chain(&mu).any(|v| !v.is_finite()) {
        return Err(Error::Singular(
            "the solve produced non-finite values".into(),
        ));
    }
    if size > 1e-9 * scale {
        return Err(Error::Singular(format!(
            "refinement stalled at a residual of {size:e} after {steps} steps (ill-conditioned contracts)"
        )));
    }
    Ok((x, mu, steps))
}

fn solution(p: &Problem, r: &Reduced, x: &[f64], duals: Vec<f64>, steps: u32) -> Solution {
    let objective = r.q.quad(x);
    let x = r.expand(p.n, x);
    let (curve, repriced) = finish(p, &x);
    Solution {
        refinements: steps,
        curve,
        x,
        duals,
        objective,
        repriced,
    }
}

/// Solves the equality-constrained problem exactly: banded Schur complement
/// plus iterative refinement (see the module docs).
pub fn solve_kkt(p: &Problem) -> Result<Solution, Error> {
    check(p)?;
    let r = Reduced::of(p);
    well_posed(&r, p)?;
    let (x, mu, steps) = solve_reduced(&r, 0.0)?;
    Ok(solution(p, &r, &x, mu, steps))
}

/// The dense reference: LU of the whole `(n+m)²` KKT matrix. Small grids only.
pub fn solve_dense(p: &Problem) -> Result<Solution, Error> {
    check(p)?;
    let r = Reduced::of(p);
    well_posed(&r, p)?;
    let (n, m) = (r.n, r.rows.len());
    let a = r.dense_rows();
    let mut kkt = DMatrix::<f64>::zeros(n + m, n + m);
    kkt.view_mut((0, 0), (n, n))
        .copy_from(&DMatrix::from_fn(n, n, |i, j| 2.0 * r.q.get(i, j)));
    kkt.view_mut((n, 0), (m, n)).copy_from(&a);
    kkt.view_mut((0, n), (n, m)).copy_from(&a.transpose());
    let mut rhs = DVector::<f64>::zeros(n + m);
    for (j, b) in r.b.iter().enumerate() {
        rhs[n + j] = *b;
    }
    let sol = kkt
        .lu()
        .solve(&rhs)
        .filter(|s| s.iter().all(|v| v.is_finite()))
        .ok_or_else(|| Error::Singular(format!("{m} contract(s) on a grid of {n} points")))?;
    let x: Vec<f64> = sol.rows(0, n).iter().copied().collect();
    let duals: Vec<f64> = sol.rows(n, m).iter().copied().collect();
    Ok(solution(p, &r, &x, duals, 0))
}

/// Least squares: every quote becomes a penalty `ρ·(average − price)²` added
/// to the roughness, so inconsistent quotes are split smoothly instead of
/// failing. The minimiser of `xᵀQx + ρ‖Ax − b‖²` solves the same banded
/// system as [`solve_kkt`] with `−I/(2ρ)` in the constraint block.
pub fn solve_penalised(p: &Problem, rho: f64) -> Result<Solution, Error> {
    check(p)?;
    if !(rho.is_finite() && rho > 0.0) {
        return Err(Error::Singular(format!("penalty {rho} must be > 0")));
    }
    let r = Reduced::of(p);
    let (x, _, steps) = solve_reduced(&r, penalty_block(rho))?;
    Ok(solution(p, &r, &x, Vec::new(), steps))
}

/// The curve from the full-grid `x`, and each contract's average of it.
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
