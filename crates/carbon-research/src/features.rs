//! A multivariate Gaussian hidden Markov model on return features — rolling
//! volatility over 5, 20 and 60 periods, rolling skewness and excess
//! kurtosis, and jump flags — fitted by Baum–Welch (the filter and smoother of
//! [`crate::hmm`]) from several seeded starts, with the number of states
//! chosen by BIC. States are ordered by their mean 20-period volatility, so
//! state 0 is the calmest.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::error::{ResearchError, Result, require_finite};
use crate::hmm::{filter, smooth};

/// Names of the feature columns, in order.
pub const FEATURES: [&str; 6] = ["vol5", "vol20", "vol60", "skew20", "kurt20", "jump"];

/// Features of each period from its log return and the ones before it; the
/// first 60 returns only feed the windows. A jump is a return beyond 3× the
/// previous 20-period volatility.
pub fn return_features(prices: &[f64]) -> Result<(usize, Vec<Vec<f64>>)> {
    require_finite(prices)?;
    if let Some(i) = prices.iter().position(|p| *p <= 0.0) {
        return Err(ResearchError::param(
            "series",
            format!(
                "log returns need positive prices; {} at index {i}",
                prices[i]
            ),
        ));
    }
    let r: Vec<f64> = prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    if r.len() < 60 + 30 {
        return Err(ResearchError::TooShort {
            message: format!("{} prices; return features need at least 91", prices.len()),
        });
    }
    let moments = |w: &[f64]| {
        let n = w.len() as f64;
        let m = w.iter().sum::<f64>() / n;
        let m2 = w.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
        let m3 = w.iter().map(|x| (x - m).powi(3)).sum::<f64>() / n;
        let m4 = w.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
        (
            m2.sqrt(),
            if m2 > 0.0 { m3 / m2.powf(1.5) } else { 0.0 },
            if m2 > 0.0 { m4 / (m2 * m2) - 3.0 } else { 0.0 },
        )
    };
    let mut out = Vec::with_capacity(r.len() - 60);
    for t in 60..r.len() {
        let (v5, _, _) = moments(&r[t + 1 - 5..=t]);
        let (v20, s20, k20) = moments(&r[t + 1 - 20..=t]);
        let (v60, _, _) = moments(&r[t + 1 - 60..=t]);
        let (prev20, _, _) = moments(&r[t - 20..t]);
        let jump = f64::from(u8::from(prev20 > 0.0 && r[t].abs() > 3.0 * prev20));
        out.push(vec![v5, v20, v60, s20, k20, jump]);
    }
    // Feature t belongs to return t+60, i.e. to price index t+61.
    Ok((61, out))
}

/// A fitted Gaussian HMM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianHmm {
    /// States.
    pub k: usize,
    /// Log-likelihood (of the standardised features).
    pub llf: f64,
    /// Bayesian information criterion.
    pub bic: f64,
    /// Free parameters.
    pub n_params: usize,
    /// Feature means per state, in the features' own units.
    pub means: Vec<Vec<f64>>,
    /// `transition[i][j] = Pr(S_t = j | S_{t−1} = i)`.
    pub transition: Vec<Vec<f64>>,
    /// `1 / (1 − p_jj)` periods.
    pub expected_durations: Vec<f64>,
    /// `Pr(S_t = j | x_≤t)`.
    pub filtered: Vec<Vec<f64>>,
    /// `Pr(S_t = j | x_≤T)`.
    pub smoothed: Vec<Vec<f64>>,
    /// Most likely state per period (argmax smoothed).
    pub labels: Vec<usize>,
    /// Baum–Welch met its tolerance from the winning start.
    pub converged: bool,
    /// Starts tried.
    pub starts: usize,
}

struct Gauss {
    mean: DVector<f64>,
    chol: nalgebra::Cholesky<f64, nalgebra::Dyn>,
    log_det: f64,
}

impl Gauss {
    fn new(mean: DVector<f64>, cov: DMatrix<f64>) -> Option<Self> {
        let chol = cov.cholesky()?;
        let log_det = 2.0 * chol.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
        Some(Self {
            mean,
            chol,
            log_det,
        })
    }
    fn log_pdf(&self, x: &DVector<f64>) -> f64 {
        let d = x - &self.mean;
        let z = self.chol.l().solve_lower_triangular(&d).unwrap_or(d);
        -0.5 * (x.len() as f64 * (2.0 * std::f64::consts::PI).ln() + self.log_det + z.dot(&z))
    }
}

const RIDGE: f64 = 1e-3;

/// One start's result: llf, emission densities, transitions, initial
/// distribution, converged.
type Fitted = (f64, Vec<Gauss>, Vec<f64>, Vec<f64>, bool);

fn fit_once(x: &[DVector<f64>], k: usize, seed: u64) -> Option<Fitted> {
    let (n, d) = (x.len(), x[0].len());
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as usize
    };
    let eye = DMatrix::<f64>::identity(d, d);
    let mut gauss: Vec<Gauss> = (0..k)
        .map(|_| Gauss::new(x[next() % n].clone(), eye.clone()))
        .collect::<Option<_>>()?;
    let mut p: Vec<f64> = (0..k * k)
        .map(|ij| {
            if ij / k == ij % k {
                0.9
            } else {
                0.1 / (k - 1) as f64
            }
        })
        .collect();
    let mut pi = vec![1.0 / k as f64; k];
    let mut last = f64::NEG_INFINITY;
    for _ in 0..300 {
        let logf: Vec<f64> = x
            .iter()
            .flat_map(|xt| gauss.iter().map(|g| g.log_pdf(xt)).collect::<Vec<_>>())
            .collect();
        let f = filter(&logf, k, &p, &pi);
        if !f.llf.is_finite() {
            return None;
        }
        let (sm, joint) = smooth(&f, k, &p);
        pi = sm[..k].to_vec();
        for i in 0..k {
            let row: f64 = (0..k).map(|j| joint[i * k + j]).sum();
            for j in 0..k {
                p[i * k + j] = if row > 0.0 {
                    (joint[i * k + j] / row).max(1e-10)
                } else {
                    1.0 / k as f64
                };
            }
        }
        let mut next_gauss = Vec::with_capacity(k);
        for j in 0..k {
            let w: f64 = (0..n).map(|t| sm[t * k + j]).sum::<f64>().max(1e-10);
            let mean = x
                .iter()
                .enumerate()
                .fold(DVector::zeros(d), |acc, (t, xt)| acc + xt * sm[t * k + j])
                / w;
            let mut cov = x
                .iter()
                .enumerate()
                .fold(DMatrix::zeros(d, d), |acc, (t, xt)| {
                    let dv = xt - &mean;
                    acc + &dv * dv.transpose() * sm[t * k + j]
                })
                / w;
            cov += &eye * RIDGE;
            next_gauss.push(Gauss::new(mean, cov)?);
        }
        gauss = next_gauss;
        if (f.llf - last).abs() < 1e-7 * f.llf.abs().max(1.0) {
            return Some((f.llf, gauss, p, pi, true));
        }
        last = f.llf;
    }
    Some((last, gauss, p, pi, false))
}

/// Fits a `k`-state Gaussian HMM to feature rows (standardised inside) from
/// `starts` seeded starts.
pub fn fit_hmm(features: &[Vec<f64>], k: usize, starts: usize, seed: u64) -> Result<GaussianHmm> {
    if !(2..=5).contains(&k) {
        return Err(ResearchError::param(
            "k",
            format!("must be 2 to 5, got {k}"),
        ));
    }
    let n = features.len();
    let d = features.first().map_or(0, Vec::len);
    if n < 20 * k * d.max(1) / 2 {
        return Err(ResearchError::TooShort {
            message: format!("{n} feature rows for a {k}-state model of {d} features"),
        });
    }
    let mean: Vec<f64> = (0..d)
        .map(|c| features.iter().map(|r| r[c]).sum::<f64>() / n as f64)
        .collect();
    let sd: Vec<f64> = (0..d)
        .map(|c| {
            (features
                .iter()
                .map(|r| (r[c] - mean[c]).powi(2))
                .sum::<f64>()
                / n as f64)
                .sqrt()
                .max(1e-12)
        })
        .collect();
    let x: Vec<DVector<f64>> = features
        .iter()
        .map(|r| DVector::from_iterator(d, (0..d).map(|c| (r[c] - mean[c]) / sd[c])))
        .collect();
    let mut best: Option<Fitted> = None;
    for s in 0..starts.max(1) {
        if let Some(f) = fit_once(&x, k, seed + s as u64)
            && best.as_ref().is_none_or(|b| f.0 > b.0)
        {
            best = Some(f);
        }
    }
    let (_, gauss, p, pi, converged) = best.ok_or_else(|| ResearchError::NoConvergence {
        message: format!("no start of the {k}-state model reached a finite likelihood"),
    })?;
    // Order states by their mean 20-period volatility (column 1 when present).
    let key = 1.min(d - 1);
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|a, b| gauss[*a].mean[key].total_cmp(&gauss[*b].mean[key]));
    let p: Vec<f64> = (0..k * k)
        .map(|ij| p[order[ij / k] * k + order[ij % k]])
        .collect();
    let pi: Vec<f64> = order.iter().map(|i| pi[*i]).collect();
    let gauss: Vec<&Gauss> = order.iter().map(|i| &gauss[*i]).collect();
    let logf: Vec<f64> = x
        .iter()
        .flat_map(|xt| gauss.iter().map(|g| g.log_pdf(xt)).collect::<Vec<_>>())
        .collect();
    let f = filter(&logf, k, &p, &pi);
    let (sm, _) = smooth(&f, k, &p);
    let rows = |v: &[f64]| crate::hmm::rows(v, k);
    let (smoothed, labels) = crate::hmm::rows_and_labels(&sm, k);
    let n_params = (k - 1) + k * (k - 1) + k * d + k * d * (d + 1) / 2;
    Ok(GaussianHmm {
        k,
        llf: f.llf,
        bic: -2.0 * f.llf + (n as f64).ln() * n_params as f64,
        n_params,
        means: gauss
            .iter()
            .map(|g| (0..d).map(|c| g.mean[c] * sd[c] + mean[c]).collect())
            .collect(),
        transition: rows(&p),
        expected_durations: (0..k)
            .map(|j| 1.0 / (1.0 - p[j * k + j]).max(1e-300))
            .collect(),
        filtered: rows(&f.filtered),
        smoothed,
        labels,
        converged,
        starts: starts.max(1),
    })
}
