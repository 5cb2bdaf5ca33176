//! Shape from history: a prior built from stored prices, so an hourly curve
//! from monthly on-/off-peak strips looks like power (morning ramp, evening
//! peak, quiet nights) instead of a smooth line through each month.
//!
//! From hourly prices of one instrument, the average price per calendar
//! month × day type (the market's peak days vs other days) × hour-ending,
//! divided by the average of that month × day type over its 24 hour-endings:
//! a factor around 1 for each hour. Used as a multiplicative prior
//! (`f = prior · x`), the smooth `x` carries the level and the factors the
//! intraday shape. A month with no history borrows the all-months profile of
//! its day type; a day type with none borrows the other's.

use std::collections::BTreeMap;

use carbon_core::{Market, is_peak_day, time};
use chrono::{DateTime, Datelike, Utc};

use crate::grid::Grid;

/// Factors by (month, peak day, hour-ending).
#[derive(Debug, Clone, PartialEq)]
pub struct HourlyShape {
    /// Market whose clock and peak days the factors are on.
    pub market: Market,
    factors: BTreeMap<(u32, bool, u32), f64>,
    /// Hours of history used.
    pub hours_used: usize,
    /// Months (1..=12) with their own history; the others borrow.
    pub months_with_history: Vec<u32>,
}

/// Averages of `values` per key.
fn means<K: Ord + Copy>(values: impl Iterator<Item = (K, f64)>) -> BTreeMap<K, f64> {
    let mut acc: BTreeMap<K, (f64, usize)> = BTreeMap::new();
    for (k, v) in values {
        let e = acc.entry(k).or_insert((0.0, 0));
        e.0 += v;
        e.1 += 1;
    }
    acc.into_iter()
        .map(|(k, (s, n))| (k, s / n as f64))
        .collect()
}

/// Normalises a 24-hour profile to average 1; `None` when it is incomplete
/// or its level is not clearly positive (a multiplicative shape of a
/// near-zero or negative average means nothing).
fn normalise(profile: &BTreeMap<u32, f64>) -> Option<BTreeMap<u32, f64>> {
    if profile.len() < 24 {
        return None;
    }
    let level = profile.values().sum::<f64>() / profile.len() as f64;
    (level > 1.0).then(|| profile.iter().map(|(h, v)| (*h, v / level)).collect())
}

impl HourlyShape {
    /// The shape of `prices` (interval start, price), read on `market`'s
    /// clock. Sub-hourly prices are averaged into their hour first.
    pub fn from_prices(
        market: Market,
        prices: &[(DateTime<Utc>, f64)],
    ) -> Result<HourlyShape, String> {
        // Hourly means first, so 5-minute data weighs like hourly data.
        let hourly = means(prices.iter().filter(|(_, v)| v.is_finite()).map(|(t, v)| {
            let h = time::hour_of(market, *t);
            ((h.start, h.date, h.hour_ending), *v)
        }));
        if hourly.is_empty() {
            return Err("no prices to take a shape from".into());
        }
        let by_key = means(
            hourly
                .iter()
                .map(|((_, date, he), v)| ((date.month(), is_peak_day(market, *date), *he), *v)),
        );
        let all_months = means(by_key.iter().map(|((_, peak, he), v)| ((*peak, *he), *v)));
        let profile = |peak: bool, month: Option<u32>| -> Option<BTreeMap<u32, f64>> {
            let p: BTreeMap<u32, f64> = match month {
                Some(m) => by_key
                    .iter()
                    .filter(|((mm, pk, _), _)| *mm == m && *pk == peak)
                    .map(|((_, _, he), v)| (*he, *v))
                    .collect(),
                None => all_months
                    .iter()
                    .filter(|((pk, _), _)| *pk == peak)
                    .map(|((_, he), v)| (*he, *v))
                    .collect(),
            };
            normalise(&p)
        };
        let fallback: BTreeMap<bool, BTreeMap<u32, f64>> = [true, false]
            .into_iter()
            .filter_map(|peak| {
                profile(peak, None)
                    .or_else(|| profile(!peak, None))
                    .map(|p| (peak, p))
            })
            .collect();
        if fallback.is_empty() {
            return Err(format!(
                "{} hours of history do not give a full 24-hour profile with a positive average",
                hourly.len()
            ));
        }
        let mut factors = BTreeMap::new();
        let mut months_with_history = Vec::new();
        for m in 1..=12u32 {
            let mut own = false;
            for peak in [true, false] {
                let p = match profile(peak, Some(m)) {
                    Some(p) => {
                        own = true;
                        p
                    }
                    None => fallback[&peak].clone(),
                };
                for (he, f) in p {
                    factors.insert((m, peak, he), f);
                }
            }
            if own {
                months_with_history.push(m);
            }
        }
        Ok(HourlyShape {
            market,
            factors,
            hours_used: hourly.len(),
            months_with_history,
        })
    }

    /// The factor of one market hour.
    pub fn factor(&self, hour: &time::MarketHour) -> f64 {
        let key = (
            hour.date.month(),
            is_peak_day(self.market, hour.date),
            hour.hour_ending.clamp(1, 24),
        );
        self.factors.get(&key).copied().unwrap_or(1.0)
    }

    /// The prior on `grid`: each point's mean factor over its hours (an
    /// hourly grid gets the factors themselves).
    pub fn prior(&self, grid: &Grid) -> Vec<f64> {
        (0..grid.len())
            .map(|i| {
                let hours = grid.hours_of(i);
                hours.iter().map(|h| self.factor(h)).sum::<f64>() / hours.len().max(1) as f64
            })
            .collect()
    }
}
