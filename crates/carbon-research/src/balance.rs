//! Supply/demand balance: gas storage against its five-year average and range
//! for the same week, weekly build/draw, inventory cover, CUSUM shock
//! detection on the weekly change, and the rolling correlation of price and
//! inventory changes; for power, load against temperature-normal load.
//!
//! "Same week" of an earlier year is the observation within ±3 days of the
//! same calendar date (EIA's report weeks drift by a day a year). A week is
//! compared only when all five earlier years are present.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{ResearchError, Result};
use crate::regress::{Design, ols};
use crate::weather::{cdd, hdd};

/// One storage week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorageWeek {
    /// Week ending.
    pub date: NaiveDate,
    /// Inventory (the series' unit, e.g. Bcf).
    pub value: f64,
    /// Change from the previous week (positive: build; negative: draw).
    pub change: Option<f64>,
    /// Five-year average, minimum and maximum of the same week.
    pub avg5: Option<f64>,
    /// See `avg5`.
    pub min5: Option<f64>,
    /// See `avg5`.
    pub max5: Option<f64>,
    /// `value − avg5`.
    pub vs_avg5: Option<f64>,
    /// `(value − avg5) / avg5` in percent.
    pub vs_avg5_pct: Option<f64>,
    /// Five-year average change of the same week.
    pub change_avg5: Option<f64>,
    /// Weeks of cover: inventory over the five-year average weekly draw in
    /// the withdrawal season (November–March).
    pub cover_weeks: Option<f64>,
}

/// A CUSUM alarm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shock {
    /// Week the alarm fired.
    pub date: NaiveDate,
    /// `up` (builds above normal / draws below) or `down`.
    pub direction: String,
    /// The cumulative sum in σ when it fired.
    pub cusum: f64,
}

/// The storage balance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorageBalance {
    /// Per week.
    pub weeks: Vec<StorageWeek>,
    /// CUSUM alarms on the change surprise (change − five-year average change).
    pub shocks: Vec<Shock>,
    /// The CUSUM decision threshold and allowance, in σ of the surprise.
    pub threshold_sigma: f64,
    /// See `threshold_sigma`.
    pub allowance_sigma: f64,
    /// σ of the surprise.
    pub surprise_sigma: Option<f64>,
}

fn same_week(series: &[(NaiveDate, f64)], date: NaiveDate, years_back: i32) -> Option<f64> {
    let year = date.year() - years_back;
    let target = date
        .with_year(year)
        .or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))?;
    let i = series.partition_point(|(d, _)| *d < target - Duration::days(3));
    series[i..]
        .iter()
        .take_while(|(d, _)| *d <= target + Duration::days(3))
        .min_by_key(|(d, _)| (*d - target).num_days().abs())
        .map(|(_, v)| *v)
}

/// The storage balance of a weekly series (sorted by date, no duplicates).
pub fn storage(
    series: &[(NaiveDate, f64)],
    threshold_sigma: f64,
    allowance_sigma: f64,
) -> Result<StorageBalance> {
    if series.len() < 2 {
        return Err(ResearchError::TooShort {
            message: format!("{} weeks of storage", series.len()),
        });
    }
    if let Some(w) = series.windows(2).position(|w| w[1].0 <= w[0].0) {
        return Err(ResearchError::param(
            "series",
            format!(
                "dates must increase: {} follows {}",
                series[w + 1].0,
                series[w].0
            ),
        ));
    }
    if let Some(i) = series.iter().position(|(_, v)| !v.is_finite()) {
        return Err(ResearchError::Gap {
            index: i,
            at: format!(" ({})", series[i].0),
            message: "missing inventory".into(),
        });
    }
    if threshold_sigma.is_nan()
        || threshold_sigma <= 0.0
        || allowance_sigma.is_nan()
        || allowance_sigma < 0.0
    {
        return Err(ResearchError::param(
            "threshold",
            "threshold must be > 0 and allowance ≥ 0 (σ)",
        ));
    }
    let changes: Vec<(NaiveDate, f64)> = series
        .windows(2)
        .map(|w| (w[1].0, w[1].1 - w[0].1))
        .collect();
    let mut weeks = Vec::with_capacity(series.len());
    for (i, (date, value)) in series.iter().enumerate() {
        let prior: Option<Vec<f64>> = (1..=5).map(|y| same_week(series, *date, y)).collect();
        let prior_changes: Option<Vec<f64>> =
            (1..=5).map(|y| same_week(&changes, *date, y)).collect();
        let (avg5, min5, max5) = match &prior {
            Some(p) => (
                Some(p.iter().sum::<f64>() / 5.0),
                p.iter().copied().reduce(f64::min),
                p.iter().copied().reduce(f64::max),
            ),
            None => (None, None, None),
        };
        // Average weekly draw over the previous five withdrawal seasons.
        let season_draws: Vec<f64> = changes
            .iter()
            .filter(|(d, c)| {
                *d < *date
                    && *d >= *date - Duration::days(5 * 365 + 1)
                    && (d.month() >= 11 || d.month() <= 3)
                    && *c < 0.0
            })
            .map(|(_, c)| -c)
            .collect();
        let cover = if season_draws.len() >= 20 {
            Some(value / (season_draws.iter().sum::<f64>() / season_draws.len() as f64))
        } else {
            None
        };
        weeks.push(StorageWeek {
            date: *date,
            value: *value,
            change: (i > 0).then(|| value - series[i - 1].1),
            avg5,
            min5,
            max5,
            vs_avg5: avg5.map(|a| value - a),
            vs_avg5_pct: avg5.map(|a| 100.0 * (value - a) / a),
            change_avg5: prior_changes.map(|c| c.iter().sum::<f64>() / 5.0),
            cover_weeks: cover,
        });
    }
    // CUSUM on the surprise, standardised by its own σ.
    let surprise: Vec<(NaiveDate, f64)> = weeks
        .iter()
        .filter_map(|w| Some((w.date, w.change? - w.change_avg5?)))
        .collect();
    let mut shocks = Vec::new();
    let sigma = if surprise.len() >= 10 {
        let m = surprise.iter().map(|s| s.1).sum::<f64>() / surprise.len() as f64;
        let sd = (surprise.iter().map(|s| (s.1 - m).powi(2)).sum::<f64>()
            / (surprise.len() - 1) as f64)
            .sqrt();
        let (mut up, mut down) = (0.0f64, 0.0f64);
        for (date, s) in &surprise {
            let z = (s - m) / sd;
            up = (up + z - allowance_sigma).max(0.0);
            down = (down - z - allowance_sigma).max(0.0);
            if up > threshold_sigma {
                shocks.push(Shock {
                    date: *date,
                    direction: "up".into(),
                    cusum: up,
                });
                up = 0.0;
            }
            if down > threshold_sigma {
                shocks.push(Shock {
                    date: *date,
                    direction: "down".into(),
                    cusum: down,
                });
                down = 0.0;
            }
        }
        Some(sd)
    } else {
        None
    };
    Ok(StorageBalance {
        weeks,
        shocks,
        threshold_sigma,
        allowance_sigma,
        surprise_sigma: sigma,
    })
}

/// Rolling Pearson correlation of the changes of two weekly series matched
/// by date: (window end, correlation). A window whose changes do not vary
/// gives `None`.
pub fn rolling_change_correlation(
    a: &[(NaiveDate, f64)],
    b: &[(NaiveDate, f64)],
    window: usize,
) -> Result<Vec<(NaiveDate, Option<f64>)>> {
    if window < 3 {
        return Err(ResearchError::param(
            "window",
            format!("must be at least 3, got {window}"),
        ));
    }
    let bm: std::collections::HashMap<NaiveDate, f64> = b.iter().copied().collect();
    let joined: Vec<(NaiveDate, f64, f64)> = a
        .iter()
        .filter_map(|(d, v)| Some((*d, *v, *bm.get(d)?)))
        .collect();
    let dx: Vec<(NaiveDate, f64, f64)> = joined
        .windows(2)
        .map(|w| (w[1].0, w[1].1 - w[0].1, w[1].2 - w[0].2))
        .collect();
    if dx.len() < window {
        return Err(ResearchError::TooShort {
            message: format!("{} matched changes for a window of {window}", dx.len()),
        });
    }
    Ok(dx
        .windows(window)
        .map(|w| {
            let n = w.len() as f64;
            let (mx, my) = (
                w.iter().map(|r| r.1).sum::<f64>() / n,
                w.iter().map(|r| r.2).sum::<f64>() / n,
            );
            let sxy: f64 = w.iter().map(|r| (r.1 - mx) * (r.2 - my)).sum();
            let sxx: f64 = w.iter().map(|r| (r.1 - mx).powi(2)).sum();
            let syy: f64 = w.iter().map(|r| (r.2 - my).powi(2)).sum();
            let c = (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt());
            (w[w.len() - 1].0, c)
        })
        .collect())
}

/// Hourly load against temperature-normal load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalLoad {
    /// (instant, actual, normal) per hour with a temperature.
    pub hours: Vec<(DateTime<Utc>, f64, f64)>,
    /// R² of the load model.
    pub r2: f64,
    /// Mean of `actual − normal`.
    pub mean_deviation: f64,
}

/// Load model `load ~ const + HDD + CDD + hour-of-day + weekday` fitted on
/// the sample; the normal temperature of an hour is the sample's mean
/// temperature for that month × local hour; normal load is the model at the
/// normal temperature.
pub fn normal_load(
    load: &[(DateTime<Utc>, f64)],
    temp: &[(DateTime<Utc>, f64)],
    tz: Tz,
    base: f64,
) -> Result<NormalLoad> {
    let temps: std::collections::HashMap<DateTime<Utc>, f64> = temp
        .iter()
        .filter(|(_, v)| v.is_finite())
        .copied()
        .collect();
    let rows: Vec<(DateTime<Utc>, f64, f64)> = load
        .iter()
        .filter(|(_, v)| v.is_finite())
        .filter_map(|(at, v)| Some((*at, *v, *temps.get(at)?)))
        .collect();
    let mut normal_sum = std::collections::HashMap::<(u32, u32), (f64, usize)>::new();
    for (at, _, t) in &rows {
        let l = at.with_timezone(&tz);
        let e = normal_sum.entry((l.month(), l.hour())).or_insert((0.0, 0));
        e.0 += t;
        e.1 += 1;
    }
    let mut names = vec!["const".to_string(), "hdd".into(), "cdd".into()];
    names.extend((1..24).map(|h| format!("hour_{h}")));
    names.extend((1..7).map(|d| format!("weekday_{d}")));
    let design_row = |at: &DateTime<Utc>, t: f64| -> Vec<f64> {
        let l = at.with_timezone(&tz);
        let mut r = vec![1.0, hdd(t, base), cdd(t, base)];
        r.extend((1..24).map(|h| f64::from(u8::from(l.hour() == h))));
        r.extend((1..7).map(|d| f64::from(u8::from(l.weekday().num_days_from_monday() == d))));
        r
    };
    let d = Design {
        names,
        x: rows
            .iter()
            .flat_map(|(at, _, t)| design_row(at, *t))
            .collect(),
    };
    let y: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let fit = ols(&d, &y)?;
    let beta: Vec<f64> = fit.coefs.iter().map(|c| c.estimate).collect();
    let hours: Vec<(DateTime<Utc>, f64, f64)> = rows
        .iter()
        .map(|(at, actual, _)| {
            let l = at.with_timezone(&tz);
            let (s, n) = normal_sum[&(l.month(), l.hour())];
            let row = design_row(at, s / n as f64);
            (
                *at,
                *actual,
                row.iter().zip(&beta).map(|(a, b)| a * b).sum(),
            )
        })
        .collect();
    let mean_deviation = hours.iter().map(|h| h.1 - h.2).sum::<f64>() / hours.len() as f64;
    Ok(NormalLoad {
        hours,
        r2: fit.r2,
        mean_deviation,
    })
}
