//! Seasonal-trend decomposition: STL (Cleveland et al. 1990, through
//! `stlrs`, a port of the netlib Fortran), the Fortran `stlez` automatic
//! variant, and MSTL for several seasonal periods (Bandara, Hyndman and
//! Bergmeir 2021; R's `forecast::mstl`).
//!
//! Parameters follow statsmodels' names; every window is odd, as the Fortran
//! requires. Strengths are Wang, Smith and Hyndman's (2006):
//! `max(0, 1 − var(R) / var(X + R))` with `X` the component.

use serde::{Deserialize, Serialize};

use crate::error::{ResearchError, Result, require_finite};

/// STL parameters (statsmodels' names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StlOptions {
    /// Length of the seasonal smoother (odd, ≥ 3).
    pub seasonal: usize,
    /// Length of the trend smoother (odd); default the smallest odd integer
    /// greater than `1.5·period / (1 − 1.5/seasonal)`.
    pub trend: Option<usize>,
    /// Length of the low-pass filter (odd, ≥ 3); default the smallest odd
    /// integer greater than the period.
    pub low_pass: Option<usize>,
    /// Degrees of the seasonal, trend and low-pass LOESS (0 or 1).
    pub seasonal_deg: i32,
    /// See `seasonal_deg`.
    pub trend_deg: i32,
    /// See `seasonal_deg`.
    pub low_pass_deg: i32,
    /// Evaluate each smoother every `jump` points and interpolate linearly.
    pub seasonal_jump: usize,
    /// See `seasonal_jump`.
    pub trend_jump: usize,
    /// See `seasonal_jump`.
    pub low_pass_jump: usize,
    /// Downweight outliers (bisquare robustness weights).
    pub robust: bool,
    /// Inner (backfitting) iterations; default 2 when robust, else 5
    /// (statsmodels; R and the Fortran use 1 and 2).
    pub inner_iter: Option<usize>,
    /// Outer (robustness) iterations; default 15 when robust, else 0.
    pub outer_iter: Option<usize>,
}

impl Default for StlOptions {
    fn default() -> Self {
        Self {
            seasonal: 7,
            trend: None,
            low_pass: None,
            seasonal_deg: 1,
            trend_deg: 1,
            low_pass_deg: 1,
            seasonal_jump: 1,
            trend_jump: 1,
            low_pass_jump: 1,
            robust: false,
            inner_iter: None,
            outer_iter: None,
        }
    }
}

fn odd(name: &str, v: usize, min: usize) -> Result<()> {
    if v.is_multiple_of(2) || v < min {
        return Err(ResearchError::param(
            name,
            format!("must be an odd integer ≥ {min}, got {v}"),
        ));
    }
    Ok(())
}

fn degree(name: &str, d: i32) -> Result<()> {
    if d == 0 || d == 1 {
        Ok(())
    } else {
        Err(ResearchError::param(
            name,
            format!("must be 0 or 1, got {d}"),
        ))
    }
}

impl StlOptions {
    /// The trend window used for `period` when none is given.
    pub fn default_trend(period: usize, seasonal: usize) -> usize {
        let t = (1.5 * period as f64 / (1.0 - 1.5 / seasonal as f64)).ceil() as usize;
        let t = t.max(3);
        if t.is_multiple_of(2) { t + 1 } else { t }
    }

    fn validate(&self, period: usize) -> Result<()> {
        if period < 2 {
            return Err(ResearchError::param("period", "must be at least 2"));
        }
        odd("seasonal", self.seasonal, 3)?;
        if let Some(t) = self.trend {
            odd("trend", t, 3)?;
            if t <= period {
                return Err(ResearchError::param(
                    "trend",
                    format!("must be larger than the period ({period}), got {t}"),
                ));
            }
        }
        if let Some(l) = self.low_pass {
            odd("low_pass", l, 3)?;
            if l <= period {
                return Err(ResearchError::param(
                    "low_pass",
                    format!("must be larger than the period ({period}), got {l}"),
                ));
            }
        }
        degree("seasonal_deg", self.seasonal_deg)?;
        degree("trend_deg", self.trend_deg)?;
        degree("low_pass_deg", self.low_pass_deg)?;
        for (name, j) in [
            ("seasonal_jump", self.seasonal_jump),
            ("trend_jump", self.trend_jump),
            ("low_pass_jump", self.low_pass_jump),
        ] {
            if j == 0 {
                return Err(ResearchError::param(name, "must be at least 1"));
            }
        }
        Ok(())
    }

    fn params(&self, period: usize) -> stlrs::StlParams {
        let mut p = stlrs::params();
        let low_pass = self.low_pass.unwrap_or(if period.is_multiple_of(2) {
            period + 1
        } else {
            period + 2
        });
        p.seasonal_length(self.seasonal)
            .trend_length(
                self.trend
                    .unwrap_or_else(|| Self::default_trend(period, self.seasonal)),
            )
            .low_pass_length(low_pass)
            .seasonal_degree(self.seasonal_deg)
            .trend_degree(self.trend_deg)
            .low_pass_degree(self.low_pass_deg)
            .seasonal_jump(self.seasonal_jump)
            .trend_jump(self.trend_jump)
            .low_pass_jump(self.low_pass_jump)
            .inner_loops(self.inner_iter.unwrap_or(if self.robust { 2 } else { 5 }))
            .outer_loops(self.outer_iter.unwrap_or(if self.robust { 15 } else { 0 }))
            .robust(self.robust);
        p
    }
}

/// One seasonal component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seasonal {
    /// Its period in observations.
    pub period: usize,
    /// The component, one value per observation.
    pub values: Vec<f64>,
    /// Seasonal strength in [0, 1]; `None` when undefined (constant series).
    pub strength: Option<f64>,
}

/// A decomposition `y = trend + Σ seasonal + remainder`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decomposition {
    /// Trend component.
    pub trend: Vec<f64>,
    /// Seasonal components, shortest period first.
    pub seasonal: Vec<Seasonal>,
    /// Remainder.
    pub remainder: Vec<f64>,
    /// Robustness weights (all 1 without robustness iterations).
    pub weights: Vec<f64>,
    /// Trend strength in [0, 1]; `None` when undefined.
    pub trend_strength: Option<f64>,
    /// Outer (robustness) iterations run.
    pub outer_iterations: usize,
    /// Anything the reader should know (e.g. a constant series).
    pub warnings: Vec<String>,
}

fn variance(v: impl Iterator<Item = f64> + Clone) -> f64 {
    let (n, s) = v.clone().fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    if n < 2 {
        return 0.0;
    }
    let m = s / n as f64;
    v.map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64
}

/// `max(0, 1 − var(R)/var(X+R))`, `None` when `var(X+R)` is 0.
pub fn strength(component: &[f64], remainder: &[f64]) -> Option<f64> {
    let vr = variance(remainder.iter().copied());
    let vxr = variance(component.iter().zip(remainder).map(|(x, r)| x + r));
    if vxr <= f64::EPSILON * vr.abs().max(1.0) || !vxr.is_finite() {
        return None;
    }
    Some((1.0 - vr / vxr).max(0.0))
}

fn check_series(y: &[f64], period: usize) -> Result<Vec<String>> {
    require_finite(y)?;
    if y.len() < 2 * period {
        return Err(ResearchError::TooShort {
            message: format!(
                "{} observations; STL needs at least two full periods (2 × {period})",
                y.len()
            ),
        });
    }
    let mut warnings = Vec::new();
    if y.iter().all(|v| *v == y[0]) {
        warnings.push(
            "constant series: every component but the trend is zero and strengths are undefined"
                .to_string(),
        );
    }
    Ok(warnings)
}

fn finish(
    trend: Vec<f64>,
    seasonal: Vec<(usize, Vec<f64>)>,
    remainder: Vec<f64>,
    weights: Vec<f64>,
    outer_iterations: usize,
    warnings: Vec<String>,
) -> Decomposition {
    let seasonal = seasonal
        .into_iter()
        .map(|(period, values)| Seasonal {
            period,
            strength: strength(&values, &remainder),
            values,
        })
        .collect();
    Decomposition {
        trend_strength: strength(&trend, &remainder),
        trend,
        seasonal,
        remainder,
        weights,
        outer_iterations,
        warnings,
    }
}

/// STL of `y` with seasonal period `period`.
pub fn stl(y: &[f64], period: usize, opts: &StlOptions) -> Result<Decomposition> {
    opts.validate(period)?;
    let warnings = check_series(y, period)?;
    let fit = opts
        .params(period)
        .fit(y, period)
        .map_err(|e| ResearchError::param("period", e.to_string()))?;
    let (s, t, r, w) = fit.into_parts();
    let outer = opts.outer_iter.unwrap_or(if opts.robust { 15 } else { 0 });
    let w = if outer == 0 { vec![1.0; y.len()] } else { w };
    Ok(finish(t, vec![(period, s)], r, w, outer, warnings))
}

/// The Fortran `stlez`: windows and jumps chosen from `period` and
/// `seasonal`; robust fits iterate (one inner pass each) until neither the
/// seasonal nor the trend moves by more than 1% of its range, at most 15
/// times.
pub fn stlez(
    y: &[f64],
    period: usize,
    seasonal: usize,
    seasonal_deg: i32,
    trend_deg: i32,
    robust: bool,
) -> Result<Decomposition> {
    let ns = {
        let s = seasonal.max(3);
        if s.is_multiple_of(2) { s + 1 } else { s }
    };
    let np = period.max(2);
    // Fortran: int(1.5·np/(1 − 1.5/ns) + 0.5), at least 3, made odd.
    let nt = {
        let t = ((1.5 * np as f64) / (1.0 - 1.5 / ns as f64) + 0.5) as usize;
        let t = t.max(3);
        if t.is_multiple_of(2) { t + 1 } else { t }
    };
    let nl = if np.is_multiple_of(2) { np + 1 } else { np };
    let jump = |w: usize| ((w as f64 / 10.0 + 0.9) as usize).max(1);
    let base = StlOptions {
        seasonal: ns,
        trend: Some(nt),
        low_pass: Some(nl.max(3)),
        seasonal_deg,
        trend_deg,
        low_pass_deg: trend_deg,
        seasonal_jump: jump(ns),
        trend_jump: jump(nt),
        low_pass_jump: jump(nl),
        robust,
        inner_iter: Some(if robust { 1 } else { 2 }),
        outer_iter: Some(0),
    };
    if !robust {
        return stl(y, period, &base);
    }
    // Outer iteration k of the Fortran loop equals a plain STL with k outer
    // iterations (each starts from the previous state), so the convergence
    // test compares consecutive fits.
    let mut prev = stl(y, period, &base)?;
    for k in 1..=15 {
        let cur = stl(
            y,
            period,
            &StlOptions {
                outer_iter: Some(k),
                ..base.clone()
            },
        )?;
        let changed = |a: &[f64], b: &[f64]| {
            let (lo, hi) = a
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                    (l.min(*v), h.max(*v))
                });
            let d = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            d / (hi - lo) > 0.01
        };
        let moved = changed(&prev.seasonal[0].values, &cur.seasonal[0].values)
            || changed(&prev.trend, &cur.trend);
        prev = cur;
        if !moved {
            break;
        }
    }
    Ok(prev)
}

/// MSTL parameters (R's `forecast::mstl` defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MstlOptions {
    /// Passes over the seasonal components (R: 2).
    pub iterations: usize,
    /// Seasonal windows per period, in the order of the periods; default
    /// `7 + 4·i` for the i-th shortest period (i from 1).
    pub windows: Option<Vec<usize>>,
    /// Box-Cox λ applied first (none by default).
    pub lambda: Option<f64>,
    /// Degrees, jumps and iterations of each STL (the windows come from above).
    pub stl: StlOptions,
}

impl Default for MstlOptions {
    fn default() -> Self {
        Self {
            iterations: 2,
            windows: None,
            lambda: None,
            // R's mstl calls stats::stl: seasonal degree 0, jumps 1, two inner
            // passes, no robustness.
            stl: StlOptions {
                seasonal_deg: 0,
                inner_iter: Some(2),
                outer_iter: Some(0),
                ..StlOptions::default()
            },
        }
    }
}

/// MSTL of `y` for the seasonal `periods`.
pub fn mstl(y: &[f64], periods: &[usize], opts: &MstlOptions) -> Result<Decomposition> {
    if periods.is_empty() {
        return Err(ResearchError::param("periods", "give at least one period"));
    }
    if opts.iterations == 0 {
        return Err(ResearchError::param("iterations", "must be at least 1"));
    }
    let longest = *periods.iter().max().unwrap_or(&2);
    for p in periods {
        opts.stl.validate(*p)?;
    }
    if let Some(w) = &opts.windows {
        if w.len() != periods.len() {
            return Err(ResearchError::param(
                "windows",
                format!("{} windows for {} periods", w.len(), periods.len()),
            ));
        }
        for v in w {
            odd("windows", *v, 3)?;
        }
    }
    let warnings = check_series(y, longest)?;
    if let Some(l) = opts.lambda
        && y.iter().any(|v| *v <= 0.0)
    {
        return Err(ResearchError::param(
            "lambda",
            format!("Box-Cox λ={l} needs a positive series"),
        ));
    }
    // The seasonal window is set per period by MSTL; trend and low pass follow
    // the per-period defaults unless given.
    let mut p = stlrs::MstlParams::new();
    p.iterations(opts.iterations)
        .stl_params(reset_windows(&opts.stl));
    if let Some(w) = &opts.windows {
        p.seasonal_lengths(w);
    }
    if let Some(l) = opts.lambda {
        p.lambda(l as f32);
    }
    let fit = p
        .fit(y, periods)
        .map_err(|e| ResearchError::param("periods", e.to_string()))?;
    let (seasonal, trend, remainder) = fit.into_parts();
    let mut parts: Vec<(usize, Vec<f64>)> = periods.iter().copied().zip(seasonal).collect();
    parts.sort_by_key(|(p, _)| *p);
    let outer = opts.stl.outer_iter.unwrap_or(0);
    Ok(finish(
        trend,
        parts,
        remainder,
        vec![1.0; y.len()],
        outer,
        warnings,
    ))
}

/// STL parameters for MSTL: degrees, jumps and iterations from `o`; windows
/// left to MSTL (seasonal) and to stlrs's per-period defaults (trend, low pass).
fn reset_windows(o: &StlOptions) -> stlrs::StlParams {
    let mut p = stlrs::params();
    p.seasonal_degree(o.seasonal_deg)
        .trend_degree(o.trend_deg)
        .low_pass_degree(o.low_pass_deg)
        .seasonal_jump(o.seasonal_jump)
        .trend_jump(o.trend_jump)
        .low_pass_jump(o.low_pass_jump)
        .inner_loops(o.inner_iter.unwrap_or(if o.robust { 2 } else { 5 }))
        .outer_loops(o.outer_iter.unwrap_or(if o.robust { 15 } else { 0 }))
        .robust(o.robust);
    if let Some(t) = o.trend {
        p.trend_length(t);
    }
    if let Some(l) = o.low_pass {
        p.low_pass_length(l);
    }
    p
}
