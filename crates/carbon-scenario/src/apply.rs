//! Scenario curves: a base curve plus, for every delivery hour,
//!
//! `ΔP = β_G·ΔG + C·β_G·0.05306 + β_L·L̄·((1+g)^years − 1) + adder`
//!
//! with β_G, β_L and L̄ (the mean calibration load) of the hour's month ×
//! block cell, ΔG, the carbon price C, the growth g and the adder of the
//! hour's delivery month, and `years` from the end of the calibration window
//! to the hour. A point (an hour, a day, a month) moves by the hour-weighted
//! mean of its hours' ΔP, kept per driver; a point inside one cell moves by
//! exactly that cell's ΔP, and a scenario whose drivers are all zero returns
//! every base price bit for bit.

use std::collections::BTreeMap;

use carbon_core::{Block, Market, time};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    GAS_CO2_T_PER_MMBTU,
    calibrate::{Calibration, FitLevel},
    dsl::{Drivers, Horizon, Month},
    error::{Result, ScenarioError},
};

/// One point of the base curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasePoint {
    /// First instant of delivery (UTC).
    pub delivery_start: DateTime<Utc>,
    /// End of delivery (UTC, exclusive).
    pub delivery_end: DateTime<Utc>,
    /// Tenor label.
    pub tenor: String,
    /// Price ($/MWh).
    pub price: f64,
}

/// How much of a move each driver makes ($/MWh).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Attribution {
    /// Gas: β_G·ΔG.
    pub gas: f64,
    /// Carbon: C·β_G·0.05306.
    pub carbon: f64,
    /// Load growth: β_L·ΔL.
    pub load: f64,
    /// Adders.
    pub adder: f64,
}

impl Attribution {
    /// The whole move.
    pub fn total(&self) -> f64 {
        self.gas + self.carbon + self.load + self.adder
    }

    fn add_scaled(&mut self, o: &Attribution, w: f64) {
        self.gas += w * o.gas;
        self.carbon += w * o.carbon;
        self.load += w * o.load;
        self.adder += w * o.adder;
    }
}

/// One point of the scenario curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioPoint {
    /// First instant of delivery (UTC).
    pub delivery_start: DateTime<Utc>,
    /// End of delivery (UTC, exclusive).
    pub delivery_end: DateTime<Utc>,
    /// Tenor label.
    pub tenor: String,
    /// The base price.
    pub base: f64,
    /// The scenario price (`base` + the move).
    pub price: f64,
    /// The move per driver.
    pub attribution: Attribution,
}

/// A delivery month × block of the scenario against its base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthBlock {
    /// Delivery month.
    pub month: Month,
    /// `onpeak` or `offpeak`.
    pub block: Block,
    /// Delivery hours.
    pub hours: u32,
    /// Hour-weighted base price.
    pub base: f64,
    /// Hour-weighted scenario price.
    pub scenario: f64,
    /// `scenario − base`.
    pub delta: f64,
    /// The move per driver.
    pub attribution: Attribution,
    /// The cell's implied heat rate.
    pub beta_gas: f64,
    /// Where the cell's fit comes from.
    pub fit: FitLevel,
    /// ΔG applied ($/MMBtu).
    pub gas_shift: f64,
    /// Carbon price applied ($/t).
    pub carbon_price: f64,
}

/// A scenario curve and its summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// The points, in base order (within the horizon).
    pub points: Vec<ScenarioPoint>,
    /// Per delivery month × block.
    pub summary: Vec<MonthBlock>,
    /// Scenario day-block prices: what the Monte Carlo bands are drawn around.
    pub day_blocks: Vec<DayTarget>,
}

/// A scenario day-block price and the hours it stands for (month averages
/// weigh days by their hours: an off-peak weekday has 8, a Sunday 24).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DayTarget {
    /// Market day.
    pub date: NaiveDate,
    /// On-peak or off-peak.
    pub block: Block,
    /// Hour-weighted scenario price.
    pub price: f64,
    /// Hours of the block that day within the curve.
    pub hours: u32,
}

/// The drivers' values in one delivery month.
struct MonthDrivers {
    gas: f64,
    carbon: f64,
    growth: f64,
    adder_on: f64,
    adder_off: f64,
}

fn month_drivers(d: &Drivers, m: Month) -> Result<MonthDrivers> {
    let gas = match &d.gas {
        Some(g) => g
            .delta(m)
            .map_err(|e| ScenarioError::input("drivers.gas", e))?,
        None => 0.0,
    };
    let at = |b: Option<&crate::dsl::ByPeriod>| b.and_then(|b| b.at(m)).unwrap_or(0.0);
    Ok(MonthDrivers {
        gas,
        carbon: at(d.carbon.as_ref().map(|c| &c.price)),
        growth: at(d.load_growth.as_ref().map(|g| &g.rate)),
        adder_on: at(d.adder.as_ref().and_then(|a| a.onpeak.as_ref())),
        adder_off: at(d.adder.as_ref().and_then(|a| a.offpeak.as_ref())),
    })
}

/// The scenario curve of `base` under `drivers`, calibrated by `cal`.
pub fn apply(
    cal: &Calibration,
    drivers: &Drivers,
    horizon: Option<&Horizon>,
    base: &[BasePoint],
) -> Result<Applied> {
    let market: Market = cal.market;
    if drivers.load_growth.is_some() && !cal.with_load {
        return Err(ScenarioError::input(
            "drivers.load_growth",
            "needs a load series in the calibration (calibration.load)",
        ));
    }
    let cal_end = time::day_start(market, cal.end);
    let mut months: BTreeMap<Month, MonthDrivers> = BTreeMap::new();
    // Keyed by (month or day, off-peak): on-peak sorts first.
    let mut summary: BTreeMap<(Month, bool), (u32, f64, f64, Attribution)> = BTreeMap::new();
    let mut days: BTreeMap<(NaiveDate, bool), (f64, u32)> = BTreeMap::new();
    let mut points = Vec::with_capacity(base.len());
    for p in base {
        let first = time::hour_of(market, p.delivery_start);
        let month = Month::of(first.date);
        if let Some(h) = horizon
            && (month < h.start || month > h.end)
        {
            continue;
        }
        // Hours by (month, block): their count, the move of the group's
        // drivers (one value per group) and the summed load move (which
        // grows hour by hour).
        let mut groups: BTreeMap<(Month, bool), (u32, Attribution, f64)> = BTreeMap::new();
        let mut t = p.delivery_start;
        let mut hours = 0u32;
        while t < p.delivery_end {
            let h = time::hour_of(market, t);
            let m = Month::of(h.date);
            let md = match months.entry(m) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(month_drivers(drivers, m)?)
                }
            };
            let on = Block::OnPeak.contains(market, &h);
            let cell = cal.cell(m.month, if on { Block::OnPeak } else { Block::OffPeak });
            let years = ((t - cal_end).num_seconds() as f64 / (365.25 * 86_400.0)).max(0.0);
            let load = match (cell.beta_load, cell.mean_load) {
                (Some(b), Some(l)) if md.growth != 0.0 => {
                    b * l * ((1.0 + md.growth).powf(years) - 1.0)
                }
                _ => 0.0,
            };
            let a = Attribution {
                gas: cell.beta_gas * md.gas,
                carbon: md.carbon * cell.beta_gas * GAS_CO2_T_PER_MMBTU,
                load,
                adder: if on { md.adder_on } else { md.adder_off },
            };
            let g = groups.entry((m, on)).or_insert((0, a, 0.0));
            g.0 += 1;
            g.2 += a.load;
            let hourly = p.price + a.total();
            let s = summary.entry((m, !on)).or_default();
            s.0 += 1;
            s.1 += p.price;
            s.2 += hourly;
            s.3.add_scaled(&a, 1.0);
            let d = days.entry((h.date, !on)).or_default();
            d.0 += hourly;
            d.1 += 1;
            hours += 1;
            t += Duration::hours(1);
        }
        let mut attribution = Attribution::default();
        if hours > 0 {
            let total = f64::from(hours);
            for (n, first, load) in groups.values() {
                let per_hour = Attribution {
                    load: load / f64::from(*n),
                    ..*first
                };
                // One group: a weight of exactly 1, the cell's own move.
                attribution.add_scaled(&per_hour, f64::from(*n) / total);
            }
        }
        let delta = attribution.total();
        points.push(ScenarioPoint {
            delivery_start: p.delivery_start,
            delivery_end: p.delivery_end,
            tenor: p.tenor.clone(),
            base: p.price,
            price: if delta == 0.0 {
                p.price
            } else {
                p.price + delta
            },
            attribution,
        });
    }
    let summary = summary
        .into_iter()
        .map(|((m, off), (n, b, s, a))| {
            let block = if off { Block::OffPeak } else { Block::OnPeak };
            let cell = cal.cell(m.month, block);
            let k = f64::from(n);
            let md = &months[&m];
            let mut attribution = Attribution::default();
            attribution.add_scaled(&a, 1.0 / k);
            MonthBlock {
                month: m,
                block,
                hours: n,
                base: b / k,
                scenario: s / k,
                delta: s / k - b / k,
                attribution,
                beta_gas: cell.beta_gas,
                fit: cell.fit,
                gas_shift: md.gas,
                carbon_price: md.carbon,
            }
        })
        .collect();
    let day_blocks = days
        .into_iter()
        .map(|((d, off), (s, n))| DayTarget {
            date: d,
            block: if off { Block::OffPeak } else { Block::OnPeak },
            price: s / f64::from(n),
            hours: n,
        })
        .collect();
    Ok(Applied {
        points,
        summary,
        day_blocks,
    })
}
