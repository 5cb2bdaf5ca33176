//! The same problem through clarabel (interior point), which also takes
//! bid/ask bands: a banded contract's average must lie within `[bid, ask]`
//! instead of equalling a price. On equality problems it must agree with the
//! exact KKT solve ([`crate::engine::solve_kkt`]); tests hold it to that.
//! [`solve_bands`] adds the exact polish the build uses.

use clarabel::{
    algebra::CscMatrix,
    solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT},
};

use crate::engine::{Error, Problem, Reduced, Row, check, finish};

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
    /// True when the exact KKT polish replaced clarabel's point (see [`solve_bands`]).
    pub polished: bool,
    /// Per contract, the dual of its binding price or band side (0 for a band
    /// that does not bind); only after a polish.
    pub duals: Option<Vec<f64>>,
}

/// clarabel, then an exact polish. On the smoothness objective an interior
/// point stops where the objective is flat to ~1e-8 but the curve can still be
/// tenths of a $/MWh from the optimum on long hourly grids. clarabel's answer
/// tells which bands bind (at bid or at ask); the exact KKT solve with those
/// sides as equalities and the others dropped is then the optimum, provided it
/// respects every band, its duals have the right signs and its objective is
/// no worse. Otherwise clarabel's point is returned as it is.
pub fn solve_bands(p: &Problem, bands: &[Option<(f64, f64)>]) -> Result<QpSolution, Error> {
    let s = solve_qp(p, bands)?;
    Ok(polish(p, bands, &s).unwrap_or(s))
}

fn polish(p: &Problem, bands: &[Option<(f64, f64)>], s: &QpSolution) -> Option<QpSolution> {
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Side {
        Price,
        Bid,
        Ask,
        Free,
    }
    let near = |a: f64, b: f64| (a - b).abs() <= 1e-7 * b.abs().max(1.0);
    let slack = |v: f64| 1e-9 * v.abs().max(1.0);
    let mut sides: Vec<Side> = s
        .repriced
        .iter()
        .zip(bands)
        .map(|(r, b)| match b {
            None => Side::Price,
            Some((bid, _)) if near(*r, *bid) => Side::Bid,
            Some((_, ask)) if near(*r, *ask) => Side::Ask,
            Some(_) => Side::Free,
        })
        .collect();
    // A primal-dual active-set iteration from clarabel's guess: solve with the
    // binding sides as equalities; bind the sides the answer violates, free
    // those whose duals have the wrong sign; stop when nothing changes (the
    // KKT conditions then hold, so the point is the optimum).
    for _ in 0..2 * p.contracts.len() + 4 {
        let mut exact = p.clone();
        exact.contracts = p
            .contracts
            .iter()
            .zip(bands)
            .zip(&sides)
            .filter(|(_, side)| **side != Side::Free)
            .map(|((c, b), side)| {
                let mut c = c.clone();
                match (side, b) {
                    (Side::Bid, Some((bid, _))) => c.price = *bid,
                    (Side::Ask, Some((_, ask))) => c.price = *ask,
                    _ => {}
                }
                c
            })
            .collect();
        if exact.contracts.is_empty() {
            return None;
        }
        let e = crate::engine::solve_kkt(&exact).ok()?;
        let (_, repriced) = finish(p, &e.x);
        // With 2Qx + Aᵀμ = 0, μ = −∂objective/∂price: a binding ask must
        // have μ ≥ 0 (raising it would lower the objective), a bid μ ≤ 0.
        let tol = 1e-9 * e.duals.iter().fold(1.0_f64, |a, v| a.max(v.abs()));
        let mut duals = Vec::with_capacity(p.contracts.len());
        let mut next = sides.clone();
        let mut k = 0;
        for (j, side) in sides.iter().enumerate() {
            let r = repriced[j];
            match (side, bands[j]) {
                (Side::Free, Some((bid, ask))) => {
                    duals.push(0.0);
                    if r < bid - slack(bid) {
                        next[j] = Side::Bid;
                    } else if r > ask + slack(ask) {
                        next[j] = Side::Ask;
                    }
                }
                _ => {
                    let mu = e.duals[k];
                    k += 1;
                    if (*side == Side::Ask && mu < -tol) || (*side == Side::Bid && mu > tol) {
                        next[j] = Side::Free;
                    }
                    duals.push(mu);
                }
            }
        }
        if next == sides {
            return Some(QpSolution {
                curve: e.curve,
                x: e.x,
                objective: e.objective,
                repriced,
                iterations: s.iterations,
                status: s.status.clone(),
                polished: true,
                duals: Some(duals),
            });
        }
        sides = next;
    }
    None
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
    let r = Reduced::of(p);
    let n = r.n;
    // Lifted: variables (x, t) with t = S x for the difference stencils S
    // (Q = SᵀS), objective tᵀt. Far better conditioned for the interior
    // point than P = 2Q itself (on an hourly grid: 3× fewer iterations).
    let stencils = r.stencils();
    let k = stencils.len();
    let mut colptr = vec![0usize; n + 1];
    let (mut rowval, mut nzval) = (Vec::with_capacity(k), Vec::with_capacity(k));
    for i in 0..k {
        rowval.push(n + i);
        nzval.push(2.0);
        colptr.push(rowval.len());
    }
    let pm = CscMatrix::new(n + k, n + k, colptr, rowval, nzval);
    // Rows: equalities first (zero cone), then band sides (non-negative cone).
    // The prior moves the right-hand side by `price − b`; bands move with it.
    let mut eq: Vec<(&Row, f64, f64)> = Vec::new();
    let mut ineq: Vec<(&Row, f64, f64)> = Vec::new();
    for ((c, band), (row, b)) in p.contracts.iter().zip(bands).zip(r.rows.iter().zip(&r.b)) {
        let shift = c.price - b;
        match band {
            None => eq.push((row, 1.0, *b)),
            Some((bid, ask)) => {
                ineq.push((row, 1.0, ask - shift));
                ineq.push((row, -1.0, -(bid - shift)));
            }
        }
    }
    let rows: Vec<&(&Row, f64, f64)> = eq.iter().chain(ineq.iter()).collect();
    let (mut ii, mut jj, mut vv) = (Vec::new(), Vec::new(), Vec::new());
    // S x − t = 0.
    for (i, (at, coef)) in stencils.iter().enumerate() {
        for (j, v) in coef.iter().enumerate() {
            ii.push(i);
            jj.push(at + j);
            vv.push(*v);
        }
        ii.push(i);
        jj.push(n + i);
        vv.push(-1.0);
    }
    for (row_i, (row, sign, _)) in rows.iter().enumerate() {
        for (j, v) in row.coef.iter().enumerate() {
            if *v != 0.0 {
                ii.push(k + row_i);
                jj.push(row.start + j);
                vv.push(sign * v);
            }
        }
    }
    let am = CscMatrix::new_from_triplets(k + rows.len(), n + k, ii, jj, vv);
    let b: Vec<f64> = std::iter::repeat_n(0.0, k)
        .chain(rows.iter().map(|(_, _, b)| *b))
        .collect();
    let mut cones = vec![SupportedConeT::ZeroConeT(k + eq.len())];
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
    let mut solver = DefaultSolver::new(&pm, &vec![0.0; n + k], &am, &b, &cones, settings)
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
    let objective = r.q.quad(&s.x[..n]);
    let x = r.expand(p.n, &s.x[..n]);
    let (curve, repriced) = finish(p, &x);
    Ok(QpSolution {
        curve,
        x,
        objective,
        repriced,
        iterations: s.iterations,
        status: format!("{:?}", s.status),
        polished: false,
        duals: None,
    })
}
