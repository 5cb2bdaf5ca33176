//! Forecast backtests: error metrics by group, built-in baseline forecasts
//! (persistence, seasonal naive, MSTL), and a quality gate.
//!
//! The caller pairs each forecast with the realised value read **as of** the
//! evaluation time (no look-ahead: a vintage published later is never used)
//! and aggregated to the forecast's delivery period and block; this module
//! only scores the pairs, so the same scoring serves curves, scenarios and
//! baselines.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::decompose::{MstlOptions, mstl};
use crate::error::{ResearchError, Result};

/// One forecast against its realised value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    /// Grouping key, e.g. `MISO|INDIANA.HUB|onpeak|M1-3`.
    pub group: String,
    /// Forecast value.
    pub forecast: f64,
    /// Realised value.
    pub actual: f64,
}

/// Error metrics of a set of pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Pairs scored.
    pub n: usize,
    /// Mean absolute percentage error in percent, over non-zero actuals.
    pub mape: Option<f64>,
    /// Pairs left out of MAPE because the actual was zero.
    pub mape_excluded_zero: usize,
    /// Weighted absolute percentage error `Σ|f−a| / Σ|a|` in percent.
    pub wape: Option<f64>,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Mean of `forecast − actual` (positive: forecasts too high).
    pub bias: f64,
}

/// Metrics of `pairs` (forecast, actual).
pub fn metrics(pairs: &[(f64, f64)]) -> Result<Metrics> {
    if pairs.is_empty() {
        return Err(ResearchError::TooShort {
            message: "no forecast/actual pairs to score".into(),
        });
    }
    if let Some(i) = pairs
        .iter()
        .position(|(f, a)| !f.is_finite() || !a.is_finite())
    {
        return Err(ResearchError::Gap {
            index: i,
            at: String::new(),
            message: format!("forecast {} / actual {}", pairs[i].0, pairs[i].1),
        });
    }
    let n = pairs.len() as f64;
    let nonzero: Vec<&(f64, f64)> = pairs.iter().filter(|(_, a)| *a != 0.0).collect();
    let abs_actual: f64 = pairs.iter().map(|(_, a)| a.abs()).sum();
    let abs_err: f64 = pairs.iter().map(|(f, a)| (f - a).abs()).sum();
    Ok(Metrics {
        n: pairs.len(),
        mape: (!nonzero.is_empty()).then(|| {
            100.0
                * nonzero
                    .iter()
                    .map(|(f, a)| ((f - a) / a).abs())
                    .sum::<f64>()
                / nonzero.len() as f64
        }),
        mape_excluded_zero: pairs.len() - nonzero.len(),
        wape: (abs_actual > 0.0).then(|| 100.0 * abs_err / abs_actual),
        rmse: (pairs.iter().map(|(f, a)| (f - a).powi(2)).sum::<f64>() / n).sqrt(),
        mae: abs_err / n,
        bias: pairs.iter().map(|(f, a)| f - a).sum::<f64>() / n,
    })
}

/// Metrics per group, groups in sorted order.
pub fn by_group(pairs: &[Pair]) -> Result<BTreeMap<String, Metrics>> {
    let mut groups: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for p in pairs {
        groups
            .entry(p.group.clone())
            .or_default()
            .push((p.forecast, p.actual));
    }
    groups
        .into_iter()
        .map(|(g, v)| Ok((g, metrics(&v)?)))
        .collect()
}

/// The horizon bucket of a delivery month `months_ahead` (1 = the next
/// month): `M1-3`, `M4-6`, `M7-12`, `M13+`.
pub fn horizon_bucket(months_ahead: i64) -> &'static str {
    match months_ahead {
        i64::MIN..=3 => "M1-3",
        4..=6 => "M4-6",
        7..=12 => "M7-12",
        _ => "M13+",
    }
}

/// A built-in baseline forecaster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// The last observed value.
    Persistence,
    /// The value one season earlier.
    SeasonalNaive,
    /// MSTL's last trend value plus each seasonal component one cycle back.
    Mstl,
}

/// Forecasts `horizon` steps after `history` (which ends at the evaluation
/// time) with a baseline; `periods` are the seasonal periods (the first is
/// the season of the seasonal-naive forecast).
pub fn baseline(
    history: &[f64],
    horizon: usize,
    method: Baseline,
    periods: &[usize],
) -> Result<Vec<f64>> {
    if history.is_empty() {
        return Err(ResearchError::TooShort {
            message: "no history before the evaluation time".into(),
        });
    }
    crate::error::require_finite(history)?;
    let n = history.len();
    match method {
        Baseline::Persistence => Ok(vec![history[n - 1]; horizon]),
        Baseline::SeasonalNaive => {
            let m = *periods
                .first()
                .ok_or_else(|| ResearchError::param("periods", "seasonal naive needs a period"))?;
            if n < m {
                return Err(ResearchError::TooShort {
                    message: format!("{n} observations for a season of {m}"),
                });
            }
            Ok((0..horizon).map(|h| history[n - m + h % m]).collect())
        }
        Baseline::Mstl => {
            let d = mstl(history, periods, &MstlOptions::default())?;
            let last_trend = d.trend[n - 1];
            Ok((0..horizon)
                .map(|h| {
                    last_trend
                        + d.seasonal
                            .iter()
                            .map(|s| s.values[n - s.period + h % s.period])
                            .sum::<f64>()
                })
                .collect())
        }
    }
}

/// One rule of a quality gate: groups whose key contains `contains` must
/// have MAPE at most `max_mape` percent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateRule {
    /// Substring selecting the groups (e.g. `M1-3`).
    pub contains: String,
    /// Largest acceptable MAPE in percent.
    pub max_mape: f64,
}

/// The verdict of one group under one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateLine {
    /// The group.
    pub group: String,
    /// Its MAPE (none: all actuals zero).
    pub mape: Option<f64>,
    /// The rule's limit.
    pub max_mape: f64,
    /// Within the limit.
    pub pass: bool,
}

/// A quality-gate report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    /// Every rule/group line.
    pub lines: Vec<GateLine>,
    /// All lines pass (and at least one group was checked).
    pub pass: bool,
}

/// Applies `rules` to per-group metrics.
pub fn gate(groups: &BTreeMap<String, Metrics>, rules: &[GateRule]) -> Gate {
    let mut lines = Vec::new();
    for r in rules {
        for (g, m) in groups.iter().filter(|(g, _)| g.contains(&r.contains)) {
            lines.push(GateLine {
                group: g.clone(),
                mape: m.mape,
                max_mape: r.max_mape,
                pass: m.mape.is_some_and(|v| v <= r.max_mape),
            });
        }
    }
    Gate {
        pass: !lines.is_empty() && lines.iter().all(|l| l.pass),
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        // Errors: +10 on 100, −5 on 50, +2 on 0 (left out of MAPE).
        let m = metrics(&[(110.0, 100.0), (45.0, 50.0), (2.0, 0.0)]).expect("metrics");
        assert_eq!(m.n, 3);
        assert_eq!(m.mape_excluded_zero, 1);
        assert!((m.mape.expect("mape") - 10.0).abs() < 1e-12); // (10% + 10%) / 2
        assert!((m.wape.expect("wape") - 100.0 * 17.0 / 150.0).abs() < 1e-12);
        assert!((m.mae - 17.0 / 3.0).abs() < 1e-12);
        assert!((m.rmse - ((100.0 + 25.0 + 4.0) / 3.0f64).sqrt()).abs() < 1e-12);
        assert!((m.bias - 7.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn gate_says_pass_or_fail_with_numbers() {
        let pairs = vec![
            Pair {
                group: "MISO|M1-3".into(),
                forecast: 105.0,
                actual: 100.0,
            },
            Pair {
                group: "MISO|M4-6".into(),
                forecast: 80.0,
                actual: 100.0,
            },
        ];
        let g = by_group(&pairs).expect("groups");
        let rules = [
            GateRule {
                contains: "M1-3".into(),
                max_mape: 12.0,
            },
            GateRule {
                contains: "M4-6".into(),
                max_mape: 12.0,
            },
        ];
        let report = gate(&g, &rules);
        assert!(!report.pass);
        assert!(report.lines[0].pass && !report.lines[1].pass);
        assert_eq!(report.lines[1].mape, Some(20.0));
    }

    #[test]
    fn baselines() {
        let h: Vec<f64> = (0..48).map(|i| f64::from(i % 24)).collect();
        assert_eq!(
            baseline(&h, 3, Baseline::Persistence, &[]).expect("p"),
            vec![23.0; 3]
        );
        assert_eq!(
            baseline(&h, 3, Baseline::SeasonalNaive, &[24]).expect("s"),
            vec![0.0, 1.0, 2.0]
        );
        assert_eq!(horizon_bucket(1), "M1-3");
        assert_eq!(horizon_bucket(13), "M13+");
    }
}
