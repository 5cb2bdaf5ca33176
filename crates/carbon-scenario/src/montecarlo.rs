//! Monte Carlo bands around a scenario curve.
//!
//! **Process** (per block, calibrated on the same day-block history as the
//! sensitivities). `x_t = ln max(P_t, 1)` of the daily block price less its
//! calendar-month mean is `y_t`; on consecutive days of the block (the
//! block's own calendar: on-peak steps from Friday to Monday; days more than
//! [`MAX_STEP_DAYS`] apart break the chain) `y_t = φ·y_{t−1} + e_t`
//! (least squares through the origin; mean reversion κ = −ln φ per day). A
//! residual further than 3 robust standard deviations (1.4826 × MAD) from
//! the season's median is a jump: per season (DJF, MAM, JJA, SON) the jump
//! frequency λ is jumps ÷ days and the jump size is normal with the jumps'
//! mean and standard deviation; σ is the standard deviation of the other
//! residuals. A season with fewer than 2 jumps takes the pooled jump size.
//!
//! **Paths.** From `y = 0` the day before the first delivery day,
//! `y_t = φ·y_{t−1} + σ_s·z + N_t·(μ_J + s_J·z′)`, `N_t ~ Bernoulli(λ_s)`;
//! the day's price is `S_t · exp(y_t − c_t)` where `S_t` is the scenario
//! day-block price and `c_t = ln E[exp(y_t)]`, computed exactly from the
//! process's cumulants, so the expected price of every day is the scenario
//! curve. Each path has its own xoshiro256++ stream (the seed's stream
//! jumped 2¹²⁸ steps per path), so a seed gives the same bands on any number
//! of threads. Bands are statistics over paths of each delivery month's
//! hour-weighted block average (what a monthly block contract settles on;
//! each day weighs its hours of the block): mean, its
//! standard error, and the 5th–95th percentiles (linear interpolation
//! between order statistics, numpy's default).

use std::collections::BTreeMap;

use carbon_core::Block;
use chrono::{Datelike, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::{
    apply::DayTarget,
    calibrate::DayBlock,
    dsl::Month,
    error::{Result, ScenarioError},
};

/// Two days of a block at most this far apart are consecutive steps.
pub const MAX_STEP_DAYS: i64 = 4;

/// Prices below this are floored before taking logs.
pub const FLOOR: f64 = 1.0;

/// Seasons: December–February, March–May, June–August, September–November.
pub const SEASONS: [&str; 4] = ["winter", "spring", "summer", "fall"];

/// The season of a month (0–3).
pub fn season(month: u32) -> usize {
    ((month % 12) / 3) as usize
}

/// One season's shocks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeasonParams {
    /// Daily volatility of the diffusion (log price).
    pub sigma: f64,
    /// Jump probability per day.
    pub jump_rate: f64,
    /// Mean jump (log price).
    pub jump_mean: f64,
    /// Jump standard deviation.
    pub jump_sd: f64,
    /// Residuals of the season.
    pub days: usize,
    /// Of which jumps.
    pub jumps: usize,
}

/// The calibrated process of one block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessParams {
    /// The block.
    pub block: Block,
    /// AR(1) coefficient per day.
    pub phi: f64,
    /// Mean reversion κ = −ln φ (per day).
    pub kappa: f64,
    /// Shocks by season (winter, spring, summer, fall).
    pub seasons: [SeasonParams; 4],
    /// Day-blocks read.
    pub days: usize,
    /// Of which floored at [`FLOOR`] before the log.
    pub floored: usize,
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Calibrates the process of `block` from its day-block history.
pub fn calibrate_process(history: &[DayBlock], block: Block) -> Result<ProcessParams> {
    let mut rows: Vec<(NaiveDate, f64)> = history
        .iter()
        .filter(|d| d.block == block)
        .map(|d| (d.date, d.price))
        .collect();
    rows.sort_by_key(|r| r.0);
    if rows.len() < 60 {
        return Err(ScenarioError::input(
            "monte_carlo",
            format!(
                "{} {block} days of history; the process needs at least 60",
                rows.len()
            ),
        ));
    }
    let floored = rows.iter().filter(|r| r.1 < FLOOR).count();
    let logs: Vec<f64> = rows.iter().map(|r| r.1.max(FLOOR).ln()).collect();
    let mut by_month: [Vec<f64>; 12] = Default::default();
    for (r, x) in rows.iter().zip(&logs) {
        by_month[r.0.month0() as usize].push(*x);
    }
    let month_mean: Vec<f64> = by_month.iter().map(|v| mean(v)).collect();
    let y: Vec<f64> = rows
        .iter()
        .zip(&logs)
        .map(|(r, x)| x - month_mean[r.0.month0() as usize])
        .collect();
    // Consecutive days of the block: on-peak steps from Friday to Monday
    // (and over a holiday); a longer gap is missing data and breaks the chain.
    let pairs: Vec<(usize, usize)> = (1..rows.len())
        .filter(|&i| rows[i].0 - rows[i - 1].0 <= chrono::Duration::days(MAX_STEP_DAYS))
        .map(|i| (i - 1, i))
        .collect();
    let (sxy, sxx) = pairs.iter().fold((0.0, 0.0), |(a, b), &(i, j)| {
        (a + y[i] * y[j], b + y[i] * y[i])
    });
    if pairs.len() < 30 || sxx <= 0.0 {
        return Err(ScenarioError::input(
            "monte_carlo",
            format!("{} pairs of consecutive {block} days; need 30", pairs.len()),
        ));
    }
    let phi = (sxy / sxx).clamp(0.0, 0.999);
    let mut resid: [Vec<f64>; 4] = Default::default();
    for &(i, j) in &pairs {
        resid[season(rows[j].0.month())].push(y[j] - phi * y[i]);
    }
    let mut seasons = [SeasonParams {
        sigma: 0.0,
        jump_rate: 0.0,
        jump_mean: 0.0,
        jump_sd: 0.0,
        days: 0,
        jumps: 0,
    }; 4];
    let mut all_jumps = Vec::new();
    let mut split: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    for r in &resid {
        let mut sorted = r.clone();
        let med = median(&mut sorted);
        let mut dev: Vec<f64> = r.iter().map(|e| (e - med).abs()).collect();
        let robust = 1.4826 * median(&mut dev);
        let (jumps, normal): (Vec<f64>, Vec<f64>) = r
            .iter()
            .partition(|e| robust > 0.0 && (*e - med).abs() > 3.0 * robust);
        all_jumps.extend(jumps.iter().copied());
        split.push((jumps, normal));
    }
    let (pooled_mean, pooled_sd) = (mean(&all_jumps), sd(&all_jumps));
    for (s, (jumps, normal)) in split.into_iter().enumerate() {
        let days = resid[s].len();
        let (jm, js) = if jumps.len() >= 2 {
            (mean(&jumps), sd(&jumps))
        } else {
            (pooled_mean, pooled_sd)
        };
        seasons[s] = SeasonParams {
            sigma: sd(&normal),
            jump_rate: if days == 0 {
                0.0
            } else {
                jumps.len() as f64 / days as f64
            },
            jump_mean: jm,
            jump_sd: js,
            days,
            jumps: jumps.len(),
        };
    }
    Ok(ProcessParams {
        block,
        phi,
        kappa: -phi.max(1e-12).ln(),
        seasons,
        days: rows.len(),
        floored,
    })
}

/// `ln E[exp(y_t)]` for every day of a path starting at `y = 0` the day
/// before day 0: `y_t = Σ_j φ^{t−j} η_j`, so it is `Σ_j k_j(φ^{t−j})` with
/// `k_j(a) = a²σ²/2 + ln(1 − λ + λ·exp(a·μ_J + a²s_J²/2))` of day j's season.
fn log_means(p: &ProcessParams, seasons: &[usize]) -> Vec<f64> {
    let k = |s: &SeasonParams, a: f64| {
        let jump = (1.0 - s.jump_rate
            + s.jump_rate * (a * s.jump_mean + 0.5 * a * a * s.jump_sd * s.jump_sd).exp())
        .ln();
        0.5 * a * a * s.sigma * s.sigma + jump
    };
    let mut out = Vec::with_capacity(seasons.len());
    for t in 0..seasons.len() {
        let mut c = 0.0;
        let mut a = 1.0;
        for j in (0..=t).rev() {
            c += k(&p.seasons[seasons[j]], a);
            a *= p.phi;
            if a < 1e-12 {
                break;
            }
        }
        out.push(c);
    }
    out
}

/// Bands of one delivery month × block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Delivery month.
    pub month: Month,
    /// The block.
    pub block: Block,
    /// The scenario's average of the month's day-block prices.
    pub scenario: f64,
    /// Mean over paths of the month's average.
    pub mean: f64,
    /// Standard error of that mean.
    pub std_error: f64,
    /// 5th percentile.
    pub p5: f64,
    /// 25th.
    pub p25: f64,
    /// Median.
    pub p50: f64,
    /// 75th.
    pub p75: f64,
    /// 95th.
    pub p95: f64,
}

/// Linear interpolation between order statistics (numpy's default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Most path-days one simulation may take (paths × delivery day-blocks).
pub const MAX_PATH_DAYS: u64 = 60_000_000;

/// One block's targets: its days, seasons, `c_t` and months.
struct Lane {
    params: ProcessParams,
    /// Scenario price × the day's hours of the block.
    targets: Vec<f64>,
    seasons: Vec<usize>,
    log_means: Vec<f64>,
    /// Column (month of this block) of each day.
    column: Vec<usize>,
}

/// Simulates `paths` paths around the scenario day-block prices `targets`
/// (market day, block, price) with the calibrated `processes` (one per
/// block), and returns the bands per month × block, in month then block order.
pub fn simulate(
    processes: &[ProcessParams],
    targets: &[DayTarget],
    paths: u32,
    seed: u64,
) -> Result<Vec<Band>> {
    if paths == 0 {
        return Err(ScenarioError::input(
            "monte_carlo.paths",
            "must be at least 1",
        ));
    }
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    if u64::from(paths) * targets.len() as u64 > MAX_PATH_DAYS {
        return Err(ScenarioError::input(
            "monte_carlo.paths",
            format!(
                "{paths} paths × {} delivery day-blocks is more than {MAX_PATH_DAYS} path-days; \
                 ask for fewer paths or a shorter horizon",
                targets.len()
            ),
        ));
    }
    // Columns: (month, block) in order.
    let mut columns: BTreeMap<(Month, bool), usize> = BTreeMap::new();
    for t in targets {
        columns.insert((Month::of(t.date), t.block != Block::OnPeak), 0);
    }
    for (i, v) in columns.values_mut().enumerate() {
        *v = i;
    }
    let mut lanes = Vec::new();
    for p in processes {
        let mut days: Vec<(NaiveDate, f64)> = targets
            .iter()
            .filter(|t| t.block == p.block)
            .map(|t| (t.date, t.price * f64::from(t.hours)))
            .collect();
        days.sort_by_key(|d| d.0);
        let seasons: Vec<usize> = days.iter().map(|d| season(d.0.month())).collect();
        let log_means = log_means(p, &seasons);
        lanes.push(Lane {
            params: p.clone(),
            column: days
                .iter()
                .map(|d| columns[&(Month::of(d.0), p.block != Block::OnPeak)])
                .collect(),
            targets: days.into_iter().map(|d| d.1).collect(),
            seasons,
            log_means,
        });
    }
    if let Some(t) = targets
        .iter()
        .find(|t| !processes.iter().any(|p| p.block == t.block))
    {
        return Err(ScenarioError::input(
            "monte_carlo",
            format!(
                "no process calibrated for {} (first needed on {})",
                t.block, t.date
            ),
        ));
    }
    let ncol = columns.len();
    // Hours per column: a path's column holds Σ hours × price over these.
    let mut counts = vec![0u32; ncol];
    for t in targets {
        counts[columns[&(Month::of(t.date), t.block != Block::OnPeak)]] += t.hours;
    }
    // One row of monthly averages per path.
    let mut out = vec![0.0f64; paths as usize * ncol];
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths as usize);
    let per = (paths as usize).div_ceil(threads);
    let base = Xoshiro256PlusPlus::seed_from_u64(seed);
    std::thread::scope(|scope| {
        for (chunk_i, chunk) in out.chunks_mut(per * ncol).enumerate() {
            let lanes = &lanes;
            let counts = &counts;
            let mut rng = base.clone();
            for _ in 0..chunk_i * per {
                rng.jump();
            }
            scope.spawn(move || {
                for row in chunk.chunks_mut(ncol) {
                    let mut r = rng.clone();
                    rng.jump();
                    simulate_path(lanes, &mut r, row);
                    for (v, n) in row.iter_mut().zip(counts) {
                        *v /= f64::from((*n).max(1));
                    }
                }
            });
        }
    });
    let mut bands = Vec::with_capacity(ncol);
    for (&(month, off), &c) in &columns {
        let mut col: Vec<f64> = (0..paths as usize).map(|p| out[p * ncol + c]).collect();
        let block = if off { Block::OffPeak } else { Block::OnPeak };
        let scenario = {
            let (mut sum, mut hours) = (0.0, 0.0);
            for t in targets
                .iter()
                .filter(|t| Month::of(t.date) == month && t.block == block)
            {
                sum += t.price * f64::from(t.hours);
                hours += f64::from(t.hours);
            }
            sum / f64::max(hours, 1.0)
        };
        let m = mean(&col);
        let se = sd(&col) / (paths as f64).sqrt();
        col.sort_by(f64::total_cmp);
        bands.push(Band {
            month,
            block,
            scenario,
            mean: m,
            std_error: se,
            p5: quantile(&col, 0.05),
            p25: quantile(&col, 0.25),
            p50: quantile(&col, 0.50),
            p75: quantile(&col, 0.75),
            p95: quantile(&col, 0.95),
        });
    }
    Ok(bands)
}

/// One path: every lane's days, summed into `row` by column.
fn simulate_path(lanes: &[Lane], rng: &mut Xoshiro256PlusPlus, row: &mut [f64]) {
    for lane in lanes {
        let p = &lane.params;
        let mut y = 0.0f64;
        for (t, target) in lane.targets.iter().enumerate() {
            let s = &p.seasons[lane.seasons[t]];
            let z: f64 = rng.sample(StandardNormal);
            let u: f64 = rng.random();
            y = p.phi * y + s.sigma * z;
            if u < s.jump_rate {
                let zj: f64 = rng.sample(StandardNormal);
                y += s.jump_mean + s.jump_sd * zj;
            }
            row[lane.column[t]] += target * (y - lane.log_means[t]).exp();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(sigma: f64, phi: f64, jump_rate: f64) -> ProcessParams {
        let s = SeasonParams {
            sigma,
            jump_rate,
            jump_mean: 0.3,
            jump_sd: 0.2,
            days: 100,
            jumps: 0,
        };
        ProcessParams {
            block: Block::OnPeak,
            phi,
            kappa: -phi.ln(),
            seasons: [s; 4],
            days: 400,
            floored: 0,
        }
    }

    #[test]
    fn log_means_match_the_closed_form_without_jumps() {
        let p = params(0.2, 0.7, 0.0);
        let c = log_means(&p, &[0; 50]);
        for (t, got) in c.iter().enumerate() {
            // Var y_t = σ² Σ_{k=0}^{t} φ^{2k}; E[exp y] = exp(Var/2).
            let var: f64 = (0..=t)
                .map(|k| 0.2f64.powi(2) * 0.7f64.powi(2 * k as i32))
                .sum();
            assert!(
                (got - var / 2.0).abs() < 1e-12,
                "t={t}: {got} vs {}",
                var / 2.0
            );
        }
    }

    #[test]
    fn one_day_with_jumps_matches_the_mixture_moment() {
        let p = params(0.1, 0.5, 0.25);
        let c = log_means(&p, &[2]);
        // E[exp(σz + N·J)] = exp(σ²/2)·(1 − λ + λ·exp(μ + s²/2)).
        let want = 0.005 + (0.75 + 0.25 * (0.3f64 + 0.02).exp()).ln();
        assert!((c[0] - want).abs() < 1e-15);
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.25), 2.0);
        // numpy.quantile([1,2,3,4,10], 0.95) = 8.8
        assert!((quantile(&v, 0.95) - 8.8).abs() < 1e-12);
        assert_eq!(season(12), 0);
        assert_eq!(season(3), 1);
        assert_eq!(season(8), 2);
        assert_eq!(season(11), 3);
    }
}
