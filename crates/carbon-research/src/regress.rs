//! Linear regression with inference: OLS by Householder QR (standard errors,
//! t and p values, R², F), rolling OLS betas, and quantile regression as the
//! linear programme `min Σ τu⁺ + (1−τ)u⁻, Xβ + u⁺ − u⁻ = y, u± ≥ 0` solved
//! by Clarabel's interior-point method.

use clarabel::{
    algebra::CscMatrix,
    solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT},
};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, FisherSnedecor, StudentsT};

use crate::error::{ResearchError, Result};

/// A design matrix with named columns (row-major).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Design {
    /// Column names, e.g. `const`, `hdd`, `cdd`, `month_2`.
    pub names: Vec<String>,
    /// `rows × names.len()` values, row-major.
    pub x: Vec<f64>,
}

impl Design {
    /// Rows in the design.
    pub fn rows(&self) -> usize {
        if self.names.is_empty() {
            0
        } else {
            self.x.len() / self.names.len()
        }
    }

    fn matrix(&self) -> DMatrix<f64> {
        DMatrix::from_row_slice(self.rows(), self.names.len(), &self.x)
    }

    /// The rows `from..to` as a design of their own.
    pub fn slice(&self, from: usize, to: usize) -> Design {
        let p = self.names.len();
        Design {
            names: self.names.clone(),
            x: self.x[from * p..to * p].to_vec(),
        }
    }
}

/// One coefficient with its inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coef {
    /// Column name.
    pub name: String,
    /// Estimate.
    pub estimate: f64,
    /// Standard error.
    pub std_error: f64,
    /// t statistic.
    pub t: f64,
    /// Two-sided p value.
    pub p: f64,
}

/// An OLS fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ols {
    /// Coefficients in column order.
    pub coefs: Vec<Coef>,
    /// Observations.
    pub nobs: usize,
    /// Residual degrees of freedom.
    pub df_resid: usize,
    /// R².
    pub r2: f64,
    /// Adjusted R².
    pub adj_r2: f64,
    /// Residual standard error.
    pub sigma: f64,
    /// F statistic of all slopes against the intercept-only model (when a
    /// `const` column is present).
    pub f: Option<f64>,
    /// Its p value.
    pub f_p: Option<f64>,
    /// Residuals, one per row.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub residuals: Vec<f64>,
}

fn check(d: &Design, y: &[f64]) -> Result<()> {
    let (n, p) = (d.rows(), d.names.len());
    if p == 0 {
        return Err(ResearchError::param("design", "no columns"));
    }
    if d.x.len() != n * p || y.len() != n {
        return Err(ResearchError::param(
            "design",
            format!("{} rows of X for {} values of y", n, y.len()),
        ));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(ResearchError::Gap {
            index: i,
            at: String::new(),
            message: format!("y = {}", y[i]),
        });
    }
    if let Some(i) = d.x.iter().position(|v| !v.is_finite()) {
        return Err(ResearchError::Gap {
            index: i / p,
            at: String::new(),
            message: format!("column `{}` = {}", d.names[i % p], d.x[i]),
        });
    }
    if n <= p {
        return Err(ResearchError::TooShort {
            message: format!("{n} observations for {p} coefficients"),
        });
    }
    Ok(())
}

/// Ordinary least squares of `y` on `d`.
///
/// Well-conditioned designs (the usual case) are solved by the Cholesky
/// factor of `XᵀX` (one pass over the rows); a design whose factor shows a
/// condition number above 10⁷ (or a singular one) goes through Householder QR
/// of `X`, which keeps full precision and names the collinear column.
pub fn ols(d: &Design, y: &[f64]) -> Result<Ols> {
    check(d, y)?;
    let (n, p) = (d.rows(), d.names.len());
    // Upper triangle of XᵀX and Xᵀy in one pass over the rows (flat
    // accumulators, so the inner loops vectorise).
    let mut acc = vec![0.0; p * p];
    let mut aty = vec![0.0; p];
    // Four rows at a time: each accumulator is loaded and stored once per four rows.
    let mut blocks = d.x.chunks_exact(4 * p).zip(y.chunks_exact(4));
    for (rows, ys) in &mut blocks {
        let (r0, rest) = rows.split_at(p);
        let (r1, rest) = rest.split_at(p);
        let (r2, r3) = rest.split_at(p);
        for i in 0..p {
            let (a0, a1, a2, a3) = (r0[i], r1[i], r2[i], r3[i]);
            aty[i] += a0 * ys[0] + a1 * ys[1] + a2 * ys[2] + a3 * ys[3];
            let out = &mut acc[i * p + i..(i + 1) * p];
            for (k, o) in out.iter_mut().enumerate() {
                let j = i + k;
                *o += a0 * r0[j] + a1 * r1[j] + a2 * r2[j] + a3 * r3[j];
            }
        }
    }
    let done = n - n % 4;
    for (row, yt) in d.x[done * p..].chunks_exact(p).zip(&y[done..]) {
        for i in 0..p {
            let ri = row[i];
            aty[i] += ri * yt;
            for (a, b) in acc[i * p + i..(i + 1) * p].iter_mut().zip(&row[i..]) {
                *a += ri * b;
            }
        }
    }
    let xtx = DMatrix::<f64>::from_fn(p, p, |i, j| {
        if i <= j {
            acc[i * p + j]
        } else {
            acc[j * p + i]
        }
    });
    let xty = DVector::from_vec(aty);
    // l_ii / ‖x_i‖ is the sine of the angle between column i and the span of
    // the columns before it: near 0 means (nearly) collinear.
    let norms: Vec<f64> = (0..p).map(|i| xtx[(i, i)].sqrt()).collect();
    let fast = xtx.clone().cholesky().and_then(|c| {
        let l = c.l();
        (0..p)
            .all(|i| l[(i, i)].abs() > 1e-4 * norms[i])
            .then(|| (c.solve(&xty), c.inverse()))
    });
    let (beta, xtx_inv) = match fast {
        Some(x) => x,
        None => qr_solve(d, y)?,
    };
    let residuals: Vec<f64> =
        d.x.chunks_exact(p)
            .zip(y)
            .map(|(row, yt)| yt - row.iter().zip(beta.iter()).map(|(a, b)| a * b).sum::<f64>())
            .collect();
    let rss: f64 = residuals.iter().map(|e| e * e).sum();
    let df = n - p;
    let s2 = rss / df as f64;
    let cov = xtx_inv * s2;
    let tdist = StudentsT::new(0.0, 1.0, df as f64)
        .map_err(|e| ResearchError::param("df", e.to_string()))?;
    let coefs = (0..p)
        .map(|i| {
            let se = cov[(i, i)].max(0.0).sqrt();
            let t = beta[i] / se;
            Coef {
                name: d.names[i].clone(),
                estimate: beta[i],
                std_error: se,
                t,
                p: if t.is_finite() {
                    2.0 * (1.0 - tdist.cdf(t.abs()))
                } else {
                    0.0
                },
            }
        })
        .collect();
    let has_const = d.names.iter().any(|n| n == "const");
    let ybar = y.iter().sum::<f64>() / n as f64;
    let tss: f64 = if has_const {
        y.iter().map(|v| (v - ybar).powi(2)).sum()
    } else {
        y.iter().map(|v| v * v).sum()
    };
    let r2 = if tss > 0.0 { 1.0 - rss / tss } else { 0.0 };
    let df_model = if has_const { p - 1 } else { p };
    let adj_r2 = 1.0 - (1.0 - r2) * (n - usize::from(has_const)) as f64 / df as f64;
    let (f, f_p) = if has_const && df_model > 0 && rss > 0.0 {
        let f = ((tss - rss) / df_model as f64) / s2;
        let p = FisherSnedecor::new(df_model as f64, df as f64)
            .ok()
            .map(|dist| 1.0 - dist.cdf(f));
        (Some(f), p)
    } else {
        (None, None)
    };
    Ok(Ols {
        coefs,
        nobs: n,
        df_resid: df,
        r2,
        adj_r2,
        sigma: s2.sqrt(),
        f,
        f_p,
        residuals,
    })
}

/// β and `(XᵀX)⁻¹` by Householder QR; a rank-deficient design is an error
/// naming the first dependent column.
fn qr_solve(d: &Design, y: &[f64]) -> Result<(DVector<f64>, DMatrix<f64>)> {
    let (n, p) = (d.rows(), d.names.len());
    let x = d.matrix();
    let qr = x.clone().qr();
    let r = qr.r();
    let norm = |i: usize| (0..n).map(|t| x[(t, i)] * x[(t, i)]).sum::<f64>().sqrt();
    if let Some(i) = (0..p).find(|i| r[(*i, *i)].abs() <= 1e-10 * norm(*i).max(1e-300)) {
        let col: Vec<f64> = (0..n).map(|t| x[(t, i)]).collect();
        let constant = col.iter().all(|v| *v == col[0]);
        return Err(ResearchError::Singular {
            message: if constant && d.names.iter().any(|n| n == "const") {
                format!(
                    "column `{}` is constant (it duplicates the intercept)",
                    d.names[i]
                )
            } else {
                format!(
                    "column `{}` is a linear combination of the columns before it ({})",
                    d.names[i],
                    d.names[..i].join(", ")
                )
            },
        });
    }
    let qty = qr.q().transpose() * DVector::from_column_slice(y);
    let beta = r
        .solve_upper_triangular(&qty)
        .ok_or_else(|| ResearchError::Singular {
            message: "triangular solve failed".into(),
        })?;
    let rinv = r
        .solve_upper_triangular(&DMatrix::identity(p, p))
        .ok_or_else(|| ResearchError::Singular {
            message: "R is not invertible".into(),
        })?;
    Ok((beta, &rinv * rinv.transpose()))
}

/// OLS over every window of `window` consecutive rows, stepping one row:
/// `betas[w]` belongs to the window ending at row `window − 1 + w`. Windows
/// whose design is singular give `None`.
pub fn rolling_betas(d: &Design, y: &[f64], window: usize) -> Result<Vec<Option<Vec<f64>>>> {
    check(d, y)?;
    let (n, p) = (d.rows(), d.names.len());
    if window <= p || window > n {
        return Err(ResearchError::param(
            "window",
            format!("must be between {} and {n}, got {window}", p + 1),
        ));
    }
    // Sliding normal equations: add the new row, drop the old one.
    let mut xtx = DMatrix::<f64>::zeros(p, p);
    let mut xty = DVector::<f64>::zeros(p);
    let row = |t: usize| &d.x[t * p..(t + 1) * p];
    let update = |t: usize, sign: f64, xtx: &mut DMatrix<f64>, xty: &mut DVector<f64>| {
        let r = row(t);
        for i in 0..p {
            xty[i] += sign * r[i] * y[t];
            for j in 0..p {
                xtx[(i, j)] += sign * r[i] * r[j];
            }
        }
    };
    let mut out = Vec::with_capacity(n - window + 1);
    for t in 0..n {
        update(t, 1.0, &mut xtx, &mut xty);
        if t >= window {
            update(t - window, -1.0, &mut xtx, &mut xty);
        }
        if t + 1 >= window {
            out.push(
                xtx.clone()
                    .cholesky()
                    .map(|c| c.solve(&xty).iter().copied().collect()),
            );
        }
    }
    Ok(out)
}

/// A quantile-regression fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileFit {
    /// The quantile τ.
    pub tau: f64,
    /// (column, estimate) in column order.
    pub coefs: Vec<(String, f64)>,
    /// The check-loss objective at the estimate.
    pub loss: f64,
    /// Share of observations below the fitted quantile (≈ τ when the fit is right).
    pub coverage: f64,
}

/// Quantile regression of `y` on `d` at `tau` ∈ (0, 1).
pub fn quantile(d: &Design, y: &[f64], tau: f64) -> Result<QuantileFit> {
    check(d, y)?;
    if !(tau > 0.0 && tau < 1.0) {
        return Err(ResearchError::param(
            "tau",
            format!("must be in (0, 1), got {tau}"),
        ));
    }
    let (n, p) = (d.rows(), d.names.len());
    // Variables: β (p), u⁺ (n), u⁻ (n).
    let nv = p + 2 * n;
    let q: Vec<f64> = std::iter::repeat_n(0.0, p)
        .chain(std::iter::repeat_n(tau, n))
        .chain(std::iter::repeat_n(1.0 - tau, n))
        .collect();
    let (mut ii, mut jj, mut vv) = (Vec::new(), Vec::new(), Vec::new());
    for t in 0..n {
        for c in 0..p {
            let v = d.x[t * p + c];
            if v != 0.0 {
                ii.push(t);
                jj.push(c);
                vv.push(v);
            }
        }
        ii.push(t);
        jj.push(p + t);
        vv.push(1.0);
        ii.push(t);
        jj.push(p + n + t);
        vv.push(-1.0);
    }
    for k in 0..2 * n {
        ii.push(n + k);
        jj.push(p + k);
        vv.push(-1.0);
    }
    let a = CscMatrix::new_from_triplets(3 * n, nv, ii, jj, vv);
    let b: Vec<f64> = y
        .iter()
        .copied()
        .chain(std::iter::repeat_n(0.0, 2 * n))
        .collect();
    let cones = [
        SupportedConeT::ZeroConeT(n),
        SupportedConeT::NonnegativeConeT(2 * n),
    ];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .max_iter(200)
        .tol_gap_abs(1e-9)
        .tol_gap_rel(1e-9)
        .tol_feas(1e-9)
        .build()
        .map_err(|e| ResearchError::param("solver", format!("{e:?}")))?;
    let pm = CscMatrix::zeros((nv, nv));
    let mut solver = DefaultSolver::new(&pm, &q, &a, &b, &cones, settings)
        .map_err(|e| ResearchError::param("design", format!("solver setup: {e:?}")))?;
    solver.solve();
    let s = &solver.solution;
    if !matches!(s.status, SolverStatus::Solved | SolverStatus::AlmostSolved) {
        return Err(ResearchError::NoConvergence {
            message: format!(
                "quantile regression at τ={tau}: solver stopped with {:?}",
                s.status
            ),
        });
    }
    let beta = &s.x[..p];
    let resid: Vec<f64> = (0..n)
        .map(|t| y[t] - (0..p).map(|c| d.x[t * p + c] * beta[c]).sum::<f64>())
        .collect();
    let loss = resid
        .iter()
        .map(|e| if *e >= 0.0 { tau * e } else { (tau - 1.0) * e })
        .sum();
    // Points on the fitted line (to solver precision) count as neither side.
    let scale = y.iter().map(|v| v.abs()).fold(1.0, f64::max);
    let below = resid.iter().filter(|e| **e < -1e-7 * scale).count();
    Ok(QuantileFit {
        tau,
        coefs: d.names.iter().cloned().zip(beta.iter().copied()).collect(),
        loss,
        coverage: below as f64 / n as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> (Design, Vec<f64>) {
        // y = 1 + 2x + e with e = ±0.1 alternating.
        let xs: Vec<f64> = (0..20).map(f64::from).collect();
        let d = Design {
            names: vec!["const".into(), "x".into()],
            x: xs.iter().flat_map(|x| [1.0, *x]).collect(),
        };
        let y = xs
            .iter()
            .enumerate()
            .map(|(i, x)| 1.0 + 2.0 * x + if i % 2 == 0 { 0.1 } else { -0.1 })
            .collect();
        (d, y)
    }

    #[test]
    fn ols_by_hand() {
        let (d, y) = line();
        let f = ols(&d, &y).expect("ols");
        // Hand: x̄ = 9.5, Sxx = 665, Sxy = Σ(x−x̄)(y−ȳ) with ȳ = 20; the ±0.1
        // pattern adds Σ(x−x̄)e = −1.0 → slope 2 − 1/665.
        let slope = 2.0 - 1.0 / 665.0;
        assert!((f.coefs[1].estimate - slope).abs() < 1e-12);
        assert!((f.coefs[0].estimate - (20.0 - slope * 9.5)).abs() < 1e-12);
        assert!(f.r2 > 0.9999 && f.coefs[1].p < 1e-20);
        assert_eq!(f.df_resid, 18);
        // se(slope) = s / sqrt(Sxx).
        assert!((f.coefs[1].std_error - f.sigma / 665f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn the_blocked_normal_equations_agree_with_qr() {
        // 23 rows: five blocks of four and a remainder of three.
        let d = Design {
            names: vec!["const".into(), "a".into(), "b".into()],
            x: (0..23)
                .flat_map(|t| {
                    let t = f64::from(t);
                    [1.0, (t * 0.7).sin(), t * t / 50.0]
                })
                .collect(),
        };
        let y: Vec<f64> = (0..23)
            .map(|t| f64::from(t).cos() + 0.1 * f64::from(t))
            .collect();
        let fast = ols(&d, &y).expect("ols");
        let (beta, inv) = qr_solve(&d, &y).expect("qr");
        for (i, c) in fast.coefs.iter().enumerate() {
            assert!(
                (c.estimate - beta[i]).abs() < 1e-10,
                "{} {}",
                c.estimate,
                beta[i]
            );
            let se = (inv[(i, i)] * fast.sigma * fast.sigma).sqrt();
            assert!((c.std_error - se).abs() < 1e-10);
        }
    }

    #[test]
    fn collinear_columns_are_named() {
        let (mut d, y) = line();
        d.names.push("x_again".into());
        d.x =
            d.x.chunks(2)
                .flat_map(|r| [r[0], r[1], 3.0 * r[1]])
                .collect();
        let e = ols(&d, &y).unwrap_err().to_string();
        assert!(
            e.contains("`x_again`") && e.contains("linear combination"),
            "{e}"
        );
    }

    #[test]
    fn rolling_equals_ols_on_each_window() {
        let (d, y) = line();
        let rb = rolling_betas(&d, &y, 6).expect("rolling");
        assert_eq!(rb.len(), 15);
        let w = ols(&d.slice(3, 9), &y[3..9]).expect("window");
        let b = rb[3].as_ref().expect("beta");
        assert!((b[1] - w.coefs[1].estimate).abs() < 1e-9);
    }

    #[test]
    fn median_regression_through_a_clean_line() {
        let (d, y) = line();
        let y: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(i, v)| if i == 7 { v + 100.0 } else { *v })
            .collect();
        let q = quantile(&d, &y, 0.5).expect("qr");
        // The outlier does not pull the median line.
        assert!((q.coefs[1].1 - 2.0).abs() < 0.02, "{:?}", q.coefs);
        let lo = quantile(&d, &y, 0.1).expect("q10");
        let hi = quantile(&d, &y, 0.9).expect("q90");
        assert!(lo.coefs[0].1 < hi.coefs[0].1);
    }
}
