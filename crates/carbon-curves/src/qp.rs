//! The same problem through clarabel (interior point), which also takes
//! bid/ask bands: a banded contract's average must lie within `[bid, ask]`
//! instead of equalling a price. On equality problems it must agree with the
//! exact KKT solve ([`crate::engine::solve_kkt`]); tests hold it to that.

use clarabel::{
    algebra::CscMatrix,
    solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT},
};

use crate::engine::{Error, Problem, check, finish, roughness, rows};

/// clarabel's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct QpSolution {
    /// The curve on the grid.
    pub curve: Vec<f64>,
    /// The solved part.
    pub x: Vec<f64>,
    /// `xᵀQx`.
    pub objective: f64,
    /// Each contract's weighted average of the curve.
    pub repriced: Vec<f64>,
    /// Interior-point iterations.
    pub iterations: u32,
    /// Solver status (`Solved`, `AlmostSolved`).
    pub status: String,
}

/// Solves with clarabel. `bands[j]` = `Some((bid, ask))` makes contract `j` a
/// band; `None` keeps it an equality at its price.
pub fn solve_qp(p: &Problem, bands: &[Option<(f64, f64)>]) -> Result<QpSolution, Error> {
    check(p)?;
    if bands.len() != p.contracts.len() {
        return Err(Error::Singular(format!(
            "{} bands for {} contracts",
            bands.len(),
            p.contracts.len()
        )));
    }
    for (c, b) in p.contracts.iter().zip(bands) {
        if let Some((bid, ask)) = b
            && !(bid.is_finite() && ask.is_finite() && bid <= ask)
        {
            return Err(Error::Contract {
                name: c.name.clone(),
                why: format!("bid {bid} / ask {ask} is not a band"),
            });
        }
    }
    let n = p.n;
    // P = 2Q, upper triangle, column by column.
    let q = roughness(n, p.tension);
    let (mut colptr, mut rowval, mut nzval) = (vec![0usize], Vec::new(), Vec::new());
    for j in 0..n {
        for i in j.saturating_sub(2)..=j {
            let v = q[(i, j)];
            if v != 0.0 {
                rowval.push(i);
                nzval.push(2.0 * v);
            }
        }
        colptr.push(rowval.len());
    }
    let pm = CscMatrix::new(n, n, colptr, rowval, nzval);
    // Rows: equalities first (zero cone), then band sides (non-negative cone).
    let mut eq: Vec<(Vec<f64>, f64)> = Vec::new();
    let mut ineq: Vec<(Vec<f64>, f64)> = Vec::new();
    let (am_dense, bv) = rows(p);
    for (j, (c, band)) in p.contracts.iter().zip(bands).enumerate() {
        let row: Vec<f64> = am_dense.row(j).iter().copied().collect();
        // The prior moves the right-hand side by `price − b`; bands move with it.
        let shift = c.price - bv[j];
        match band {
            None => eq.push((row, bv[j])),
            Some((bid, ask)) => {
                ineq.push((row.clone(), ask - shift));
                ineq.push((row.iter().map(|v| -v).collect(), -(bid - shift)));
            }
        }
    }
    let rows: Vec<&(Vec<f64>, f64)> = eq.iter().chain(ineq.iter()).collect();
    let (mut ii, mut jj, mut vv) = (Vec::new(), Vec::new(), Vec::new());
    for (r, (row, _)) in rows.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            if *v != 0.0 {
                ii.push(r);
                jj.push(j);
                vv.push(*v);
            }
        }
    }
    let am = CscMatrix::new_from_triplets(rows.len(), n, ii, jj, vv);
    let b: Vec<f64> = rows.iter().map(|(_, b)| *b).collect();
    let mut cones = Vec::new();
    if !eq.is_empty() {
        cones.push(SupportedConeT::ZeroConeT(eq.len()));
    }
    if !ineq.is_empty() {
        cones.push(SupportedConeT::NonnegativeConeT(ineq.len()));
    }
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .max_iter(200)
        .tol_gap_abs(1e-12)
        .tol_gap_rel(1e-12)
        .tol_feas(1e-12)
        .build()
        .map_err(|e| Error::Singular(format!("solver settings: {e:?}")))?;
    let mut solver = DefaultSolver::new(&pm, &vec![0.0; n], &am, &b, &cones, settings)
        .map_err(|e| Error::Singular(format!("solver setup: {e:?}")))?;
    solver.solve();
    let s = &solver.solution;
    match s.status {
        SolverStatus::Solved | SolverStatus::AlmostSolved => {}
        SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
            let banded: Vec<String> = p
                .contracts
                .iter()
                .zip(bands)
                .filter(|(_, b)| b.is_some())
                .map(|(c, _)| format!("`{}`", c.name))
                .collect();
            return Err(Error::Infeasible(format!(
                "no curve satisfies every price and band at once (bands: {})",
                banded.join(", ")
            )));
        }
        other => return Err(Error::Singular(format!("clarabel stopped: {other:?}"))),
    }
    let x = s.x.clone();
    let xv = nalgebra::DVector::from_column_slice(&x);
    let objective = (xv.transpose() * &q * &xv)[(0, 0)];
    let (curve, repriced) = finish(p, &x);
    Ok(QpSolution {
        curve,
        x,
        objective,
        repriced,
        iterations: s.iterations,
        status: format!("{:?}", s.status),
    })
}
