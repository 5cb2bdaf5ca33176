//! Weather impact: heating and cooling degree days, the regression of a price
//! or load on temperature terms (HDD, CDD, temperature, its square, lags,
//! month dummies) with inference, quantile regressions, rolling betas and
//! counts of extreme events.
//!
//! HDD and CDD of one observation are `max(0, base − T)` and `max(0, T − base)`
//! in °F (base 65 °F unless configured); daily degree days use the day's mean
//! temperature in the market's local calendar. Note `T = base + CDD − HDD`, so
//! `temp`, `hdd` and `cdd` together with the intercept are collinear: asking
//! for all three is a singular design, and the error says so.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{ResearchError, Result};
use crate::regress::{Design, Ols, QuantileFit, ols, quantile, rolling_betas};

/// A time series: UTC instants (interval start) and values.
pub type Series = [(DateTime<Utc>, f64)];

/// Heating degrees of one temperature.
pub fn hdd(t: f64, base: f64) -> f64 {
    (base - t).max(0.0)
}

/// Cooling degrees of one temperature.
pub fn cdd(t: f64, base: f64) -> f64 {
    (t - base).max(0.0)
}

/// One local day's degree days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DegreeDay {
    /// Local calendar date.
    pub date: NaiveDate,
    /// Mean of the day's observations (°F).
    pub mean_temp: f64,
    /// Observations that day.
    pub observations: usize,
    /// Heating degree days.
    pub hdd: f64,
    /// Cooling degree days.
    pub cdd: f64,
}

/// Daily degree days from (sub-)daily temperatures, by local date in `tz`.
pub fn daily_degree_days(temps: &Series, tz: Tz, base: f64) -> Vec<DegreeDay> {
    let mut by_day: std::collections::BTreeMap<NaiveDate, (f64, usize)> = Default::default();
    for (at, t) in temps {
        if t.is_finite() {
            let e = by_day
                .entry(at.with_timezone(&tz).date_naive())
                .or_insert((0.0, 0));
            e.0 += t;
            e.1 += 1;
        }
    }
    by_day
        .into_iter()
        .map(|(date, (sum, n))| {
            let mean = sum / n as f64;
            DegreeDay {
                date,
                mean_temp: mean,
                observations: n,
                hdd: hdd(mean, base),
                cdd: cdd(mean, base),
            }
        })
        .collect()
}

/// What goes into the weather regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeatherOptions {
    /// Degree-day base in °F.
    pub base: f64,
    /// Temperature terms: any of `hdd`, `cdd`, `temp`, `temp2`.
    pub terms: Vec<String>,
    /// Lags (in observations) of the HDD/CDD terms.
    pub lags: Vec<usize>,
    /// Month dummies (January is the base month).
    pub month_dummies: bool,
    /// Quantile regressions to run.
    pub quantiles: Vec<f64>,
    /// Rolling-beta window in observations (none: no rolling betas).
    pub rolling_window: Option<usize>,
    /// Extreme-event threshold in standard deviations.
    pub extreme_sigma: f64,
}

impl Default for WeatherOptions {
    fn default() -> Self {
        Self {
            base: 65.0,
            terms: vec!["hdd".into(), "cdd".into()],
            lags: Vec::new(),
            month_dummies: true,
            quantiles: vec![0.1, 0.9],
            rolling_window: None,
            extreme_sigma: 2.0,
        }
    }
}

/// Counts of observations beyond `threshold` standard deviations of the mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extremes {
    /// The threshold in σ.
    pub sigma: f64,
    /// Target observations above mean + kσ.
    pub target_high: usize,
    /// Target observations below mean − kσ.
    pub target_low: usize,
    /// Temperature observations above mean + kσ.
    pub temp_high: usize,
    /// Temperature observations below mean − kσ.
    pub temp_low: usize,
    /// Observations counted.
    pub of: usize,
}

/// The weather-impact analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeatherImpact {
    /// The OLS fit (residuals left out).
    pub ols: Ols,
    /// Quantile fits.
    pub quantiles: Vec<QuantileFit>,
    /// Rolling betas: (window end, coefficient per column or null).
    pub rolling: Vec<(DateTime<Utc>, Option<Vec<f64>>)>,
    /// Extreme-event counts.
    pub extremes: Extremes,
    /// Target rows without a temperature (or cut by the lags), left out.
    pub dropped: usize,
    /// Anything the reader should know.
    pub warnings: Vec<String>,
}

fn count_extremes(v: &[f64], k: f64) -> (usize, usize) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (
        v.iter().filter(|x| **x > m + k * sd).count(),
        v.iter().filter(|x| **x < m - k * sd).count(),
    )
}

/// Regresses `target` on temperature terms from `temp` (matched by instant).
pub fn impact(
    target: &Series,
    temp: &Series,
    tz: Tz,
    opts: &WeatherOptions,
) -> Result<WeatherImpact> {
    for t in &opts.terms {
        if !["hdd", "cdd", "temp", "temp2"].contains(&t.as_str()) {
            return Err(ResearchError::param(
                "terms",
                format!("unknown term `{t}` (hdd, cdd, temp, temp2)"),
            ));
        }
    }
    if opts.terms.is_empty() {
        return Err(ResearchError::param(
            "terms",
            "give at least one temperature term",
        ));
    }
    let temps: HashMap<DateTime<Utc>, f64> = temp
        .iter()
        .filter(|(_, v)| v.is_finite())
        .copied()
        .collect();
    let max_lag = opts.lags.iter().copied().max().unwrap_or(0);
    // Temperatures in target order, so lags follow the target's rows.
    let aligned: Vec<(DateTime<Utc>, f64, Option<f64>)> = target
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(at, v)| (*at, *v, temps.get(at).copied()))
        .collect();
    let mut names = vec!["const".to_string()];
    names.extend(opts.terms.iter().cloned());
    for l in &opts.lags {
        for term in ["hdd", "cdd"] {
            if opts.terms.iter().any(|t| t == term) {
                names.push(format!("{term}_lag{l}"));
            }
        }
    }
    if opts.month_dummies {
        names.extend((2..=12).map(|m| format!("month_{m}")));
    }
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut at = Vec::new();
    let mut dropped = 0;
    let mut months_seen = [false; 13];
    for i in 0..aligned.len() {
        let (when, value, t) = aligned[i];
        let lagged: Option<Vec<f64>> = opts
            .lags
            .iter()
            .map(|l| i.checked_sub(*l).and_then(|j| aligned[j].2))
            .collect();
        let (Some(t), Some(lagged), true) = (t, lagged, i >= max_lag) else {
            dropped += 1;
            continue;
        };
        x.push(1.0);
        for term in &opts.terms {
            x.push(match term.as_str() {
                "hdd" => hdd(t, opts.base),
                "cdd" => cdd(t, opts.base),
                "temp" => t,
                _ => t * t,
            });
        }
        for lt in &lagged {
            for term in ["hdd", "cdd"] {
                if opts.terms.iter().any(|t| t == term) {
                    x.push(if term == "hdd" {
                        hdd(*lt, opts.base)
                    } else {
                        cdd(*lt, opts.base)
                    });
                }
            }
        }
        let month = when.with_timezone(&tz).month() as usize;
        months_seen[month] = true;
        if opts.month_dummies {
            x.extend((2..=12).map(|m| if m == month { 1.0 } else { 0.0 }));
        }
        y.push(value);
        at.push(when);
    }
    let mut warnings = Vec::new();
    if dropped > 0 {
        warnings.push(format!(
            "{dropped} target rows left out: no temperature at that instant (or before the first lag)"
        ));
    }
    let mut design = Design { names, x };
    if opts.month_dummies {
        // Months absent from the sample would be all-zero columns: drop them
        // and say so rather than fail.
        let p = design.names.len();
        let keep: Vec<bool> = design
            .names
            .iter()
            .map(|n| {
                match n
                    .strip_prefix("month_")
                    .and_then(|m| m.parse::<usize>().ok())
                {
                    Some(m) => months_seen[m],
                    None => true,
                }
            })
            .collect();
        let absent: Vec<String> = design
            .names
            .iter()
            .zip(&keep)
            .filter(|(_, k)| !**k)
            .map(|(n, _)| n.clone())
            .collect();
        if !absent.is_empty() {
            warnings.push(format!(
                "no data in {}: those dummies are left out",
                absent.join(", ")
            ));
            design.x = design
                .x
                .chunks(p)
                .flat_map(|r| {
                    r.iter()
                        .zip(&keep)
                        .filter(|(_, k)| **k)
                        .map(|(v, _)| *v)
                        .collect::<Vec<_>>()
                })
                .collect();
            design.names = design
                .names
                .into_iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(n, _)| n)
                .collect();
        }
    }
    let mut fit = ols(&design, &y)?;
    fit.residuals.clear();
    let quantiles = opts
        .quantiles
        .iter()
        .map(|tau| quantile(&design, &y, *tau))
        .collect::<Result<Vec<_>>>()?;
    let rolling = match opts.rolling_window {
        Some(w) => rolling_betas(&design, &y, w)?
            .into_iter()
            .enumerate()
            .map(|(i, b)| (at[i + w - 1], b))
            .collect(),
        None => Vec::new(),
    };
    let temps_used: Vec<f64> = aligned.iter().filter_map(|r| r.2).collect();
    let (th, tl) = count_extremes(&temps_used, opts.extreme_sigma);
    let (yh, yl) = count_extremes(&y, opts.extreme_sigma);
    Ok(WeatherImpact {
        ols: fit,
        quantiles,
        rolling,
        extremes: Extremes {
            sigma: opts.extreme_sigma,
            target_high: yh,
            target_low: yl,
            temp_high: th,
            temp_low: tl,
            of: y.len(),
        },
        dropped,
        warnings,
    })
}
