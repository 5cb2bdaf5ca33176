//! Markov-switching regression (Hamilton 1989): `y_t = μ_{S_t} + Σ φ_{l,(S_t)} y_{t−l}
//! + ε_t`, `ε_t ~ N(0, σ²_{(S_t)})`, with `S_t` a k-state Markov chain — MS(k)
//! with switching mean and optionally switching variance, and MS-AR(p) with
//! autoregressive terms that switch or not (the lags enter as regressors, as
//! in statsmodels' `MarkovRegression` with lagged exog and Stata's `mswitch dr`).
//!
//! Fitting: EM (Hamilton filter + Kim smoother, closed-form M-step) from
//! several starts, then a quasi-Newton (BFGS) polish, from the best two, of the exact
//! log-likelihood, whose first state is drawn from the chain's ergodic
//! distribution (as Stata and statsmodels do). Standard errors come from the
//! numerical Hessian. Regimes are ordered by their mean (or by their variance
//! when it switches), so labels are stable across runs.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::error::{ResearchError, Result, require_finite};
use crate::hmm::{ergodic, filter, log_normal, smooth};

/// The model to fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MsSpec {
    /// Number of regimes (2–4).
    pub k: usize,
    /// Each regime has its own variance.
    pub switching_variance: bool,
    /// Autoregressive order p (lags of y as regressors).
    pub ar: usize,
    /// The AR coefficients differ by regime.
    pub switching_ar: bool,
    /// EM starts in addition to the quantile start.
    pub random_starts: usize,
    /// Seed of the random starts (fits are reproducible).
    pub seed: u64,
}

impl Default for MsSpec {
    fn default() -> Self {
        Self {
            k: 2,
            switching_variance: false,
            ar: 0,
            switching_ar: false,
            random_starts: 4,
            seed: 254,
        }
    }
}

/// One regime's estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regime {
    /// Mean (intercept) μ.
    pub mean: f64,
    /// AR coefficients φ_1..φ_p.
    pub ar: Vec<f64>,
    /// Innovation standard deviation σ.
    pub sigma: f64,
    /// `1 / (1 − p_jj)` periods.
    pub expected_duration: f64,
    /// Standard errors of mean, AR terms, σ (when the Hessian allows).
    pub se_mean: Option<f64>,
    /// See `se_mean`.
    pub se_ar: Vec<Option<f64>>,
    /// See `se_mean`.
    pub se_sigma: Option<f64>,
}

/// A fitted Markov-switching model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MsFit {
    /// What was fitted.
    pub spec: MsSpec,
    /// Observations in the likelihood (the first `ar` are conditioned on).
    pub nobs: usize,
    /// Free parameters.
    pub n_params: usize,
    /// Log-likelihood at the estimate.
    pub llf: f64,
    /// Akaike information criterion.
    pub aic: f64,
    /// Bayesian information criterion.
    pub bic: f64,
    /// Regimes, lowest mean (or variance) first.
    pub regimes: Vec<Regime>,
    /// `transition[i][j] = Pr(S_t = j | S_{t−1} = i)`.
    pub transition: Vec<Vec<f64>>,
    /// Index of the first observation the probabilities refer to (= `ar`).
    pub first_index: usize,
    /// `Pr(S_t = j | y_<t)` per observation.
    pub predicted: Vec<Vec<f64>>,
    /// `Pr(S_t = j | y_≤t)`.
    pub filtered: Vec<Vec<f64>>,
    /// `Pr(S_t = j | y_≤T)`.
    pub smoothed: Vec<Vec<f64>>,
    /// Most likely regime per observation (argmax of the smoothed).
    pub labels: Vec<usize>,
    /// The optimiser met its tolerance.
    pub converged: bool,
    /// EM + BFGS iterations of the winning start.
    pub iterations: usize,
    /// Starts tried.
    pub starts: usize,
    /// Starts whose EM reached the best likelihood (to 1e-3): a low count
    /// means a rugged likelihood, worth more starts.
    pub starts_converged: usize,
    /// Anything the reader should know.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
struct Params {
    /// `k × (1 + p)`: intercept then AR coefficients.
    beta: Vec<Vec<f64>>,
    sigma2: Vec<f64>,
    p: Vec<f64>,
}

struct Data<'a> {
    y: &'a [f64],
    spec: &'a MsSpec,
    /// The regressors of each modelled observation, built once (the
    /// likelihood is evaluated thousands of times): row t is
    /// 1, y_{ar+t-1}, …, y_{t}.
    x: Vec<f64>,
}

impl<'a> Data<'a> {
    fn new(y: &'a [f64], spec: &'a MsSpec) -> Self {
        let ncoef = 1 + spec.ar;
        let x = (spec.ar..y.len())
            .flat_map(|at| std::iter::once(1.0).chain((1..=spec.ar).map(move |l| y[at - l])))
            .collect::<Vec<_>>();
        debug_assert_eq!(x.len(), (y.len() - spec.ar) * ncoef);
        Self { y, spec, x }
    }
    fn nobs(&self) -> usize {
        self.y.len() - self.spec.ar
    }
    fn row(&self, t: usize) -> &[f64] {
        let ncoef = 1 + self.spec.ar;
        &self.x[t * ncoef..(t + 1) * ncoef]
    }
    fn logf(&self, th: &Params) -> Vec<f64> {
        let k = self.spec.k;
        let n = self.nobs();
        let mut out = vec![0.0; n * k];
        for t in 0..n {
            let x = self.row(t);
            let yt = self.y[self.spec.ar + t];
            for j in 0..k {
                let mean: f64 = x.iter().zip(&th.beta[j]).map(|(a, b)| a * b).sum();
                out[t * k + j] = log_normal(yt, mean, th.sigma2[j]);
            }
        }
        out
    }
    fn llf(&self, th: &Params) -> f64 {
        if th
            .sigma2
            .iter()
            .any(|s| s.is_nan() || *s <= 0.0 || !s.is_finite())
        {
            return f64::NEG_INFINITY;
        }
        let init = ergodic(&th.p, self.spec.k);
        filter(&self.logf(th), self.spec.k, &th.p, &init).llf
    }

    /// One EM step; returns the new parameters and the old parameters' llf.
    fn em_step(&self, th: &Params) -> Option<(Params, f64)> {
        let k = self.spec.k;
        let n = self.nobs();
        let ncoef = 1 + self.spec.ar;
        let init = ergodic(&th.p, k);
        let f = filter(&self.logf(th), k, &th.p, &init);
        if !f.llf.is_finite() {
            return None;
        }
        let (sm, joint) = smooth(&f, k, &th.p);
        // Coefficients: one weighted least squares over the stacked regimes.
        // Switching columns get a copy per regime, the others are shared.
        let switching: Vec<bool> = (0..ncoef)
            .map(|c| c == 0 || self.spec.switching_ar)
            .collect();
        let ns = switching.iter().filter(|s| **s).count();
        let dim = k * ns + (ncoef - ns);
        let mut a = DMatrix::<f64>::zeros(dim, dim);
        let mut b = DVector::<f64>::zeros(dim);
        let mut r = vec![0.0; dim];
        for t in 0..n {
            let x = self.row(t);
            let yt = self.y[self.spec.ar + t];
            for j in 0..k {
                let w = sm[t * k + j] / th.sigma2[j];
                if w == 0.0 {
                    continue;
                }
                r.iter_mut().for_each(|v| *v = 0.0);
                let (mut si, mut ni) = (0, 0);
                for (c, xc) in x.iter().enumerate() {
                    if switching[c] {
                        r[j * ns + si] = *xc;
                        si += 1;
                    } else {
                        r[k * ns + ni] = *xc;
                        ni += 1;
                    }
                }
                for u in 0..dim {
                    if r[u] == 0.0 {
                        continue;
                    }
                    b[u] += w * r[u] * yt;
                    for v in 0..dim {
                        a[(u, v)] += w * r[u] * r[v];
                    }
                }
            }
        }
        let theta = a.cholesky()?.solve(&b);
        let mut beta = vec![vec![0.0; ncoef]; k];
        for (j, bj) in beta.iter_mut().enumerate() {
            let (mut si, mut ni) = (0, 0);
            for (c, out) in bj.iter_mut().enumerate() {
                if switching[c] {
                    *out = theta[j * ns + si];
                    si += 1;
                } else {
                    *out = theta[k * ns + ni];
                    ni += 1;
                }
            }
        }
        // Variances.
        let mut ss = vec![0.0; k];
        let mut ws = vec![0.0; k];
        for t in 0..n {
            let x = self.row(t);
            let yt = self.y[self.spec.ar + t];
            for j in 0..k {
                let mean: f64 = x.iter().zip(&beta[j]).map(|(a, b)| a * b).sum();
                ss[j] += sm[t * k + j] * (yt - mean).powi(2);
                ws[j] += sm[t * k + j];
            }
        }
        let sigma2 = if self.spec.switching_variance {
            (0..k)
                .map(|j| (ss[j] / ws[j].max(1e-300)).max(1e-12))
                .collect()
        } else {
            vec![(ss.iter().sum::<f64>() / n as f64).max(1e-12); k]
        };
        // Transitions.
        let mut p = vec![0.0; k * k];
        for i in 0..k {
            let row: f64 = (0..k).map(|j| joint[i * k + j]).sum();
            for j in 0..k {
                p[i * k + j] = if row > 0.0 {
                    (joint[i * k + j] / row).clamp(1e-10, 1.0)
                } else {
                    1.0 / k as f64
                };
            }
            let s: f64 = (0..k).map(|j| p[i * k + j]).sum();
            (0..k).for_each(|j| p[i * k + j] /= s);
        }
        Some((Params { beta, sigma2, p }, f.llf))
    }
}

/// Unconstrained coordinates for BFGS: free β, log σ², multinomial logits.
struct Transform {
    k: usize,
    ncoef: usize,
    switching_ar: bool,
    switching_variance: bool,
}

impl Transform {
    fn coords(&self, th: &Params) -> Vec<f64> {
        let mut v = Vec::new();
        for j in 0..self.k {
            v.push(th.beta[j][0]);
            if self.switching_ar {
                v.extend_from_slice(&th.beta[j][1..]);
            }
        }
        if !self.switching_ar {
            v.extend_from_slice(&th.beta[0][1..]);
        }
        if self.switching_variance {
            v.extend(th.sigma2.iter().map(|s| s.ln()));
        } else {
            v.push(th.sigma2[0].ln());
        }
        for i in 0..self.k {
            let last = th.p[i * self.k + self.k - 1].max(1e-300);
            for j in 0..self.k - 1 {
                v.push((th.p[i * self.k + j].max(1e-300) / last).ln());
            }
        }
        v
    }
    fn params(&self, v: &[f64]) -> Params {
        let k = self.k;
        let mut it = v.iter().copied();
        let mut beta = vec![vec![0.0; self.ncoef]; k];
        for bj in beta.iter_mut() {
            bj[0] = it.next().unwrap_or(0.0);
            if self.switching_ar {
                for c in bj.iter_mut().skip(1) {
                    *c = it.next().unwrap_or(0.0);
                }
            }
        }
        if !self.switching_ar {
            let shared: Vec<f64> = (1..self.ncoef).map(|_| it.next().unwrap_or(0.0)).collect();
            for bj in beta.iter_mut() {
                bj[1..].copy_from_slice(&shared);
            }
        }
        let sigma2 = if self.switching_variance {
            (0..k).map(|_| it.next().unwrap_or(0.0).exp()).collect()
        } else {
            vec![it.next().unwrap_or(0.0).exp(); k]
        };
        let mut p = vec![0.0; k * k];
        for i in 0..k {
            let logits: Vec<f64> = (0..k - 1).map(|_| it.next().unwrap_or(0.0)).collect();
            let m = logits.iter().copied().fold(0.0, f64::max);
            let denom = (-m).exp() + logits.iter().map(|l| (l - m).exp()).sum::<f64>();
            for j in 0..k - 1 {
                p[i * k + j] = (logits[j] - m).exp() / denom;
            }
            p[i * k + k - 1] = (-m).exp() / denom;
        }
        Params { beta, sigma2, p }
    }
}

fn gradient(f: &dyn Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        let h = 1e-5 * x[i].abs().max(1.0);
        xp[i] = x[i] + h;
        let fp = f(&xp);
        xp[i] = x[i] - h;
        let fm = f(&xp);
        xp[i] = x[i];
        g[i] = (fp - fm) / (2.0 * h);
    }
    g
}

/// Minimises `f` by BFGS with a backtracking line search; returns the point,
/// its value, the iterations and whether the gradient tolerance was met.
fn bfgs(f: &dyn Fn(&[f64]) -> f64, x0: &[f64], max_iter: usize) -> (Vec<f64>, f64, usize, bool) {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut fx = f(&x);
    let mut g = gradient(f, &x);
    let mut h = DMatrix::<f64>::identity(n, n);
    for it in 0..max_iter {
        let gnorm = g.iter().map(|v| v.abs()).fold(0.0, f64::max);
        if gnorm < 1e-6 {
            return (x, fx, it, true);
        }
        let gv = DVector::from_column_slice(&g);
        let mut d = -(&h * &gv);
        if d.dot(&gv) >= 0.0 {
            h = DMatrix::identity(n, n);
            d = -gv.clone();
        }
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            let xn: Vec<f64> = x.iter().zip(d.iter()).map(|(a, b)| a + step * b).collect();
            let fxn = f(&xn);
            if fxn.is_finite() && fxn <= fx + 1e-4 * step * d.dot(&gv) {
                accepted = Some((xn, fxn));
                break;
            }
            step *= 0.5;
        }
        let Some((xn, fxn)) = accepted else {
            return (x, fx, it, gnorm < 1e-4);
        };
        let gn = gradient(f, &xn);
        let s = DVector::from_iterator(n, xn.iter().zip(&x).map(|(a, b)| a - b));
        let yv = DVector::from_iterator(n, gn.iter().zip(&g).map(|(a, b)| a - b));
        let sy = s.dot(&yv);
        if sy > 1e-12 {
            let rho = 1.0 / sy;
            let i = DMatrix::<f64>::identity(n, n);
            let a = &i - rho * &s * yv.transpose();
            let b = &i - rho * &yv * s.transpose();
            h = &a * &h * &b + rho * &s * s.transpose();
        }
        let improvement = fx - fxn;
        x = xn;
        fx = fxn;
        g = gn;
        if improvement.abs() < 1e-12 * fx.abs().max(1.0) {
            let gnorm = g.iter().map(|v| v.abs()).fold(0.0, f64::max);
            return (x, fx, it + 1, gnorm < 1e-4);
        }
    }
    (x, fx, max_iter, false)
}

/// A small deterministic generator for the random starts.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Fits the Markov-switching model `spec` to `y`.
pub fn fit(y: &[f64], spec: &MsSpec) -> Result<MsFit> {
    let k = spec.k;
    if !(2..=4).contains(&k) {
        return Err(ResearchError::param(
            "k",
            format!("must be 2, 3 or 4, got {k}"),
        ));
    }
    if spec.ar > 12 {
        return Err(ResearchError::param(
            "ar",
            format!("at most 12 lags, got {}", spec.ar),
        ));
    }
    require_finite(y)?;
    let ncoef = 1 + spec.ar;
    let per_regime =
        1 + if spec.switching_ar { spec.ar } else { 0 } + usize::from(spec.switching_variance);
    let need = 10 * k * per_regime.max(1) + spec.ar;
    if y.len() < need.max(20) {
        return Err(ResearchError::TooShort {
            message: format!(
                "{} observations; a {k}-regime model with {} lags needs at least {}",
                y.len(),
                spec.ar,
                need.max(20)
            ),
        });
    }
    let data = Data::new(y, spec);
    let yy = &y[spec.ar..];
    let mut sorted = yy.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mean = yy.iter().sum::<f64>() / yy.len() as f64;
    let var = yy.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / yy.len() as f64;
    if var <= 1e-12 * mean.abs().max(1.0) {
        return Err(ResearchError::param(
            "y",
            "the series is constant: there are no regimes to find",
        ));
    }
    let tr = Transform {
        k,
        ncoef,
        switching_ar: spec.switching_ar,
        switching_variance: spec.switching_variance,
    };
    let mut rng = SplitMix(spec.seed);
    let mut starts: Vec<Params> = Vec::new();
    let make = |means: Vec<f64>, sds: Vec<f64>, stay: f64| Params {
        beta: means
            .iter()
            .map(|m| {
                let mut b = vec![0.0; ncoef];
                b[0] = *m;
                b
            })
            .collect(),
        sigma2: sds.iter().map(|s| s * s).collect(),
        p: (0..k * k)
            .map(|ij| {
                if ij / k == ij % k {
                    stay
                } else {
                    (1.0 - stay) / (k - 1) as f64
                }
            })
            .collect(),
    };
    let sd = var.sqrt();
    starts.push(make(
        (0..k)
            .map(|j| quantile(&sorted, (j as f64 + 0.5) / k as f64))
            .collect(),
        vec![sd / k as f64; k],
        0.9,
    ));
    for _ in 0..spec.random_starts {
        let mut qs: Vec<f64> = (0..k).map(|_| rng.next()).collect();
        qs.sort_by(f64::total_cmp);
        let means = qs.iter().map(|q| quantile(&sorted, *q)).collect();
        let sds = (0..k).map(|_| sd * (0.3 + rng.next())).collect();
        starts.push(make(means, sds, 0.7 + 0.29 * rng.next()));
    }
    let objective = |v: &[f64]| -data.llf(&tr.params(v));
    // EM from every start; the quasi-Newton polish runs from the best two
    // (distinct local optima are common, the polish is the costly part).
    let mut em: Vec<(Params, f64, usize)> = Vec::new();
    for start in &starts {
        let mut th = start.clone();
        let mut last = f64::NEG_INFINITY;
        let mut iters = 0;
        for _ in 0..500 {
            iters += 1;
            let Some((next, llf)) = data.em_step(&th) else {
                break;
            };
            th = next;
            if (llf - last).abs() < 1e-8 * llf.abs().max(1.0) {
                break;
            }
            last = llf;
        }
        let llf = data.llf(&th);
        if llf.is_finite() {
            em.push((th, llf, iters));
        }
    }
    em.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut best: Option<(Params, f64, usize, bool)> = None;
    for (th, _, iters) in em.iter().take(2) {
        let (v, f, it, ok) = bfgs(&objective, &tr.coords(th), 500);
        if !f.is_finite() {
            continue;
        }
        let llf = -f;
        if best.as_ref().is_none_or(|b| llf > b.1 + 1e-9) {
            best = Some((tr.params(&v), llf, iters + it, ok));
        }
    }
    let Some((mut th, llf, iterations, converged)) = best else {
        return Err(ResearchError::NoConvergence {
            message: format!(
                "no start out of {} reached a finite likelihood",
                starts.len()
            ),
        });
    };
    // Starts whose EM ended at the optimum's likelihood (to 1e-3).
    let converged_starts = em.iter().filter(|e| (e.1 - llf).abs() < 1e-3).count();
    // Order the regimes.
    let mut order: Vec<usize> = (0..k).collect();
    if spec.switching_variance {
        order.sort_by(|a, b| th.sigma2[*a].total_cmp(&th.sigma2[*b]));
    } else {
        order.sort_by(|a, b| th.beta[*a][0].total_cmp(&th.beta[*b][0]));
    }
    th = Params {
        beta: order.iter().map(|i| th.beta[*i].clone()).collect(),
        sigma2: order.iter().map(|i| th.sigma2[*i]).collect(),
        p: (0..k * k)
            .map(|ij| th.p[order[ij / k] * k + order[ij % k]])
            .collect(),
    };
    let se = standard_errors(&data, &th, &tr);
    let mut warnings = Vec::new();
    if !converged {
        warnings.push(format!(
            "the best of {} starts stopped before the gradient tolerance; treat the estimates with care",
            starts.len()
        ));
    }
    if se.is_none() {
        warnings.push(
            "the Hessian is not negative definite at the estimate: no standard errors".into(),
        );
    }
    let init = ergodic(&th.p, k);
    let f = filter(&data.logf(&th), k, &th.p, &init);
    let (sm, _) = smooth(&f, k, &th.p);
    let rows = |v: &[f64]| crate::hmm::rows(v, k);
    let (smoothed, labels) = crate::hmm::rows_and_labels(&sm, k);
    let n_params = k * (1 + if spec.switching_ar { spec.ar } else { 0 })
        + if spec.switching_ar { 0 } else { spec.ar }
        + if spec.switching_variance { k } else { 1 }
        + k * (k - 1);
    let nobs = data.nobs();
    let regimes = (0..k)
        .map(|j| {
            let s = se.as_ref().map(|s| &s[j]);
            Regime {
                mean: th.beta[j][0],
                ar: th.beta[j][1..].to_vec(),
                sigma: th.sigma2[j].sqrt(),
                expected_duration: 1.0 / (1.0 - th.p[j * k + j]).max(1e-300),
                se_mean: s.map(|s| s.0),
                se_ar: (0..spec.ar).map(|l| s.map(|s| s.1[l])).collect(),
                se_sigma: s.map(|s| s.2),
            }
        })
        .collect();
    Ok(MsFit {
        spec: spec.clone(),
        nobs,
        n_params,
        llf,
        aic: -2.0 * llf + 2.0 * n_params as f64,
        bic: -2.0 * llf + (nobs as f64).ln() * n_params as f64,
        regimes,
        transition: rows(&th.p),
        first_index: spec.ar,
        predicted: rows(&f.predicted),
        filtered: rows(&f.filtered),
        smoothed,
        labels,
        converged,
        iterations,
        starts: starts.len(),
        starts_converged: converged_starts,
        warnings,
    })
}

/// Per regime: SE of the mean, of each AR term and of σ, from the numerical
/// Hessian of the log-likelihood in (β, σ, logit p) coordinates.
type RegimeSe = (f64, Vec<f64>, f64);

fn standard_errors(data: &Data, th: &Params, tr: &Transform) -> Option<Vec<RegimeSe>> {
    // Natural coordinates for β and σ (σ, not σ², is what is reported); the
    // transition logits only matter through the joint inverse.
    let base = tr.coords(th);
    let k = tr.k;
    let nb = base.len() - k * (k - 1) - if tr.switching_variance { k } else { 1 };
    let ns = if tr.switching_variance { k } else { 1 };
    let to_natural = |v: &[f64]| -> Vec<f64> {
        let mut out = v.to_vec();
        for i in 0..ns {
            out[nb + i] = (v[nb + i] / 2.0).exp();
        }
        out
    };
    let from_natural = |v: &[f64]| -> Vec<f64> {
        let mut out = v.to_vec();
        for i in 0..ns {
            out[nb + i] = 2.0 * v[nb + i].max(1e-300).ln();
        }
        out
    };
    let x = to_natural(&base);
    let f = |v: &[f64]| data.llf(&tr.params(&from_natural(v)));
    let n = x.len();
    let mut hess = DMatrix::<f64>::zeros(n, n);
    let hs: Vec<f64> = x.iter().map(|v| 1e-4 * v.abs().max(1e-2)).collect();
    let f0 = f(&x);
    for i in 0..n {
        for j in i..n {
            let mut v = x.clone();
            let val = if i == j {
                v[i] = x[i] + hs[i];
                let fp = f(&v);
                v[i] = x[i] - hs[i];
                let fm = f(&v);
                (fp - 2.0 * f0 + fm) / (hs[i] * hs[i])
            } else {
                let mut e = |di: f64, dj: f64| {
                    v[i] = x[i] + di * hs[i];
                    v[j] = x[j] + dj * hs[j];
                    f(&v)
                };
                (e(1.0, 1.0) - e(1.0, -1.0) - e(-1.0, 1.0) + e(-1.0, -1.0)) / (4.0 * hs[i] * hs[j])
            };
            hess[(i, j)] = val;
            hess[(j, i)] = val;
        }
    }
    let cov = (-hess).cholesky()?.inverse();
    let sd = |i: usize| cov[(i, i)].max(0.0).sqrt();
    let per = if tr.switching_ar { tr.ncoef } else { 1 };
    Some(
        (0..k)
            .map(|j| {
                let mean = sd(j * per);
                let ar = (1..tr.ncoef)
                    .map(|l| {
                        if tr.switching_ar {
                            sd(j * per + l)
                        } else {
                            sd(k + l - 1)
                        }
                    })
                    .collect();
                let sigma = sd(nb + if tr.switching_variance { j } else { 0 });
                (mean, ar, sigma)
            })
            .collect(),
    )
}

/// Fits every candidate and returns them with the index of the lowest BIC.
pub fn select_by_bic(y: &[f64], candidates: &[MsSpec]) -> Result<(Vec<MsFit>, usize)> {
    select_by_bic_with(y, candidates, &mut |_| true)
}

/// [`select_by_bic`], calling `before(i)` ahead of candidate `i`: it may
/// report progress, and stops the selection by answering false (a cancelled
/// job), which is a [`ResearchError::NoConvergence`] saying so.
pub fn select_by_bic_with(
    y: &[f64],
    candidates: &[MsSpec],
    before: &mut dyn FnMut(usize) -> bool,
) -> Result<(Vec<MsFit>, usize)> {
    let mut fits = Vec::new();
    let mut errors = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        if !before(i) {
            return Err(ResearchError::NoConvergence {
                message: "stopped before candidate {i}: cancelled".replace("{i}", &i.to_string()),
            });
        }
        match fit(y, c) {
            Ok(f) => fits.push(f),
            Err(e) => errors.push(format!("k={} ar={}: {e}", c.k, c.ar)),
        }
    }
    let best = fits
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.bic.total_cmp(&b.1.bic))
        .map(|(i, _)| i)
        .ok_or_else(|| ResearchError::NoConvergence {
            message: format!("no candidate could be fitted: {}", errors.join("; ")),
        })?;
    Ok((fits, best))
}
