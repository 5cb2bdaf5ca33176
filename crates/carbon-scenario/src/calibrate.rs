//! Calibration: how a market's prices answer gas (and load), per calendar
//! month × block.
//!
//! For each market day of the window and each block (on-peak, off-peak: the
//! market's peak window on its peak days that are not NERC holidays, read on
//! the market clock), the block's **hour-weighted average price** (sub-hourly
//! prices are averaged within their hour first). The day's gas price is the
//! quote of that date, else the last quote before it (weekends, holidays).
//! The day's load (optional) is the mean of the load intervals of that market
//! day. Then, per (month m, block b), OLS `P = α + β_G·G (+ β_L·L)`: β_G is the
//! implied marginal heat rate (MMBtu/MWh). A cell with fewer than
//! [`MIN_DAYS`] usable days (or a singular design) takes the fit pooled over
//! both blocks of its month, then the fit pooled over everything; each
//! fallback is reported with its reason.

use std::collections::BTreeMap;

use carbon_core::{Block, Market, time};
use carbon_research::regress::{Design, ols};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Result, ScenarioError};

/// Fewest days a cell is fitted on alone.
pub const MIN_DAYS: usize = 10;

/// The two blocks calibrated (they partition every day).
pub const BLOCKS: [Block; 2] = [Block::OnPeak, Block::OffPeak];

/// One market day's average price in one block.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DayBlock {
    /// Market day.
    pub date: NaiveDate,
    /// On-peak or off-peak.
    pub block: Block,
    /// Hour-weighted average price.
    pub price: f64,
    /// Hours with a price.
    pub hours: u32,
    /// Hours the block has that day.
    pub block_hours: u32,
}

fn block_of(market: Market, t: DateTime<Utc>) -> (NaiveDate, Block) {
    let h = time::hour_of(market, t);
    let b = if Block::OnPeak.contains(market, &h) {
        Block::OnPeak
    } else {
        Block::OffPeak
    };
    (h.date, b)
}

/// The day-block averages of `prices` (interval starts, any sub-hourly or
/// hourly step) over market days `[from, to)`, in date then block order.
pub fn day_blocks(
    market: Market,
    prices: &[(DateTime<Utc>, f64)],
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<DayBlock> {
    // Hour means first, so a 5-minute and an hourly series weigh hours alike.
    let mut hours: BTreeMap<DateTime<Utc>, (f64, u32)> = BTreeMap::new();
    for &(t, v) in prices {
        if !v.is_finite() {
            continue;
        }
        let hour = t - chrono::Duration::seconds(t.timestamp().rem_euclid(3600));
        let e = hours.entry(hour).or_insert((0.0, 0));
        e.0 += v;
        e.1 += 1;
    }
    // Keyed by (date, off-peak): on-peak sorts first.
    let mut sums: BTreeMap<(NaiveDate, bool), (f64, u32)> = BTreeMap::new();
    for (t, (s, n)) in hours {
        let (date, block) = block_of(market, t);
        if date < from || date >= to {
            continue;
        }
        let e = sums
            .entry((date, block != Block::OnPeak))
            .or_insert((0.0, 0));
        e.0 += s / f64::from(n);
        e.1 += 1;
    }
    sums.into_iter()
        .map(|((date, off), (s, n))| {
            let block = if off { Block::OffPeak } else { Block::OnPeak };
            DayBlock {
                date,
                block,
                price: s / f64::from(n),
                hours: n,
                block_hours: block.hours_between(market, date, date),
            }
        })
        .collect()
}

/// The gas price of each day: the quote of that date, else the last before it.
/// Returns the price and whether it was carried forward.
pub fn gas_on(quotes: &[(NaiveDate, f64)], day: NaiveDate) -> Option<(f64, bool)> {
    let i = quotes.partition_point(|(d, _)| *d <= day);
    let (d, v) = *quotes.get(i.checked_sub(1)?)?;
    Some((v, d != day))
}

/// Which fit a cell's coefficients come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FitLevel {
    /// The cell's own days.
    Cell,
    /// Both blocks of the cell's month.
    MonthPooled,
    /// Every day of the window.
    AllPooled,
}

/// One month × block's sensitivities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellFit {
    /// Calendar month 1–12.
    pub month: u32,
    /// `onpeak` or `offpeak`.
    pub block: Block,
    /// Where the coefficients come from.
    pub fit: FitLevel,
    /// Why the cell's own fit was not used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// Days of the cell itself.
    pub cell_days: usize,
    /// Observations of the fit used.
    pub n: usize,
    /// Intercept ($/MWh).
    pub alpha: f64,
    /// Its standard error.
    pub alpha_se: f64,
    /// Implied heat rate (MMBtu/MWh).
    pub beta_gas: f64,
    /// Its standard error.
    pub beta_gas_se: f64,
    /// $/MWh per unit of load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta_load: Option<f64>,
    /// Its standard error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta_load_se: Option<f64>,
    /// R² of the fit used.
    pub r2: f64,
    /// Mean block price of the cell's days.
    pub mean_price: f64,
    /// Mean gas price of the cell's days.
    pub mean_gas: f64,
    /// Mean daily load of the cell's days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_load: Option<f64>,
}

/// A calibration: 24 cells and what the inputs held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Market (clock and blocks).
    pub market: Market,
    /// First market day.
    pub start: NaiveDate,
    /// Day after the last.
    pub end: NaiveDate,
    /// Whether load was a regressor.
    pub with_load: bool,
    /// Day-blocks with a price.
    pub day_blocks: usize,
    /// Of those, used (a gas price, and a load when asked).
    pub used: usize,
    /// Days whose gas price was carried from an earlier quote.
    pub gas_carried_days: usize,
    /// Day-blocks left out for want of a gas quote on or before the day.
    pub without_gas: usize,
    /// Day-blocks left out for want of load.
    pub without_load: usize,
    /// Day-blocks missing some of their hours (kept, averaged over those present).
    pub incomplete_blocks: usize,
    /// Month 1–12 × (on-peak, off-peak).
    pub cells: Vec<CellFit>,
}

impl Calibration {
    /// The cell of month `month` and `block` (on-peak, or any other block:
    /// off-peak).
    pub fn cell(&self, month: u32, block: Block) -> &CellFit {
        let b = usize::from(block != Block::OnPeak);
        &self.cells[(month as usize - 1) * 2 + b]
    }
}

/// A value over an interval: (start, end, value).
pub type Interval = (DateTime<Utc>, DateTime<Utc>, f64);

/// The calibration inputs.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// Market of the instrument.
    pub market: Market,
    /// Prices (interval start, value).
    pub prices: &'a [(DateTime<Utc>, f64)],
    /// Gas quotes by date, ascending.
    pub gas: &'a [(NaiveDate, f64)],
    /// Load intervals (start, end, value), when load is a regressor.
    pub load: Option<&'a [Interval]>,
    /// First market day.
    pub start: NaiveDate,
    /// Day after the last.
    pub end: NaiveDate,
}

/// Daily mean load per market day: an interval of a day or more is dated by
/// its UTC start date (how daily series are stored), a shorter one by the
/// market day its start falls in.
pub fn daily_load(market: Market, load: &[Interval]) -> BTreeMap<NaiveDate, f64> {
    let mut sums: BTreeMap<NaiveDate, (f64, u32)> = BTreeMap::new();
    for &(s, e, v) in load {
        if !v.is_finite() {
            continue;
        }
        let day = if e - s >= chrono::Duration::days(1) {
            s.date_naive()
        } else {
            time::market_date(market, s)
        };
        let x = sums.entry(day).or_insert((0.0, 0));
        x.0 += v;
        x.1 += 1;
    }
    sums.into_iter()
        .map(|(d, (s, n))| (d, s / f64::from(n)))
        .collect()
}

struct Row {
    date: NaiveDate,
    month: u32,
    block: Block,
    price: f64,
    gas: f64,
    load: Option<f64>,
}

fn fit(rows: &[&Row], with_load: bool) -> std::result::Result<Fitted, String> {
    let mut names = vec!["const".to_string(), "gas".to_string()];
    if with_load {
        names.push("load".into());
    }
    let mut x = Vec::with_capacity(rows.len() * names.len());
    for r in rows {
        x.push(1.0);
        x.push(r.gas);
        if with_load {
            x.push(r.load.unwrap_or(f64::NAN));
        }
    }
    let y: Vec<f64> = rows.iter().map(|r| r.price).collect();
    let o = ols(&Design { names, x }, &y).map_err(|e| e.to_string())?;
    Ok(Fitted {
        coef: o.coefs.iter().map(|c| (c.estimate, c.std_error)).collect(),
        r2: o.r2,
        n: o.nobs,
    })
}

struct Fitted {
    coef: Vec<(f64, f64)>,
    r2: f64,
    n: usize,
}

/// Calibrates the 24 cells.
pub fn calibrate(inp: Inputs<'_>) -> Result<Calibration> {
    if inp.end <= inp.start {
        return Err(ScenarioError::input("calibration", "the window is empty"));
    }
    let blocks = day_blocks(inp.market, inp.prices, inp.start, inp.end);
    if blocks.is_empty() {
        return Err(ScenarioError::input(
            "calibration",
            format!(
                "no prices between {} and {} (exclusive)",
                inp.start, inp.end
            ),
        ));
    }
    let load = inp.load.map(|l| daily_load(inp.market, l));
    let with_load = load.is_some();
    let mut rows = Vec::new();
    let (mut carried, mut without_gas, mut without_load) =
        (std::collections::BTreeSet::new(), 0usize, 0usize);
    for b in &blocks {
        let Some((gas, was_carried)) = gas_on(inp.gas, b.date) else {
            without_gas += 1;
            continue;
        };
        if was_carried {
            carried.insert(b.date);
        }
        let l = match &load {
            Some(m) => match m.get(&b.date) {
                Some(v) => Some(*v),
                None => {
                    without_load += 1;
                    continue;
                }
            },
            None => None,
        };
        rows.push(Row {
            date: b.date,
            month: b.date.month(),
            block: b.block,
            price: b.price,
            gas,
            load: l,
        });
    }
    let all: Vec<&Row> = rows.iter().collect();
    let pooled = fit(&all, with_load).map_err(|e| {
        ScenarioError::input(
            "calibration",
            format!(
                "no fit over the whole window ({} day-blocks): {e}",
                all.len()
            ),
        )
    })?;
    let mut cells = Vec::with_capacity(24);
    for month in 1..=12u32 {
        let month_rows: Vec<&Row> = all.iter().copied().filter(|r| r.month == month).collect();
        let month_days = month_rows
            .iter()
            .map(|r| r.date)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let month_fit = (month_days >= MIN_DAYS).then(|| fit(&month_rows, with_load));
        for block in BLOCKS {
            let own: Vec<&Row> = month_rows
                .iter()
                .copied()
                .filter(|r| r.block == block)
                .collect();
            let (fitted, level, fallback) = if own.len() < MIN_DAYS {
                let why = format!("{} day(s) in the cell, fewer than {MIN_DAYS}", own.len());
                match &month_fit {
                    Some(Ok(f)) => (f, FitLevel::MonthPooled, Some(why)),
                    Some(Err(e)) => (
                        &pooled,
                        FitLevel::AllPooled,
                        Some(format!("{why}; month pooled: {e}")),
                    ),
                    None => (
                        &pooled,
                        FitLevel::AllPooled,
                        Some(format!("{why}; {month_days} in the month")),
                    ),
                }
            } else {
                match fit(&own, with_load) {
                    Ok(f) => {
                        cells.push(cell(
                            month,
                            block,
                            &own,
                            &f,
                            FitLevel::Cell,
                            None,
                            with_load,
                        ));
                        continue;
                    }
                    Err(e) => match &month_fit {
                        Some(Ok(f)) => (f, FitLevel::MonthPooled, Some(e)),
                        _ => (&pooled, FitLevel::AllPooled, Some(e)),
                    },
                }
            };
            let own_or_all = if own.is_empty() { &all } else { &own };
            cells.push(cell(
                month, block, own_or_all, fitted, level, fallback, with_load,
            ));
            if let Some(c) = cells.last_mut() {
                c.cell_days = own.len();
            }
        }
    }
    Ok(Calibration {
        market: inp.market,
        start: inp.start,
        end: inp.end,
        with_load,
        day_blocks: blocks.len(),
        used: rows.len(),
        gas_carried_days: carried.len(),
        without_gas,
        without_load,
        incomplete_blocks: blocks.iter().filter(|b| b.hours < b.block_hours).count(),
        cells,
    })
}

fn cell(
    month: u32,
    block: Block,
    rows: &[&Row],
    f: &Fitted,
    fit: FitLevel,
    fallback: Option<String>,
    with_load: bool,
) -> CellFit {
    let n = rows.len().max(1) as f64;
    let mean = |g: &dyn Fn(&Row) -> f64| rows.iter().map(|r| g(r)).sum::<f64>() / n;
    CellFit {
        month,
        block,
        fit,
        fallback,
        cell_days: rows.len(),
        n: f.n,
        alpha: f.coef[0].0,
        alpha_se: f.coef[0].1,
        beta_gas: f.coef[1].0,
        beta_gas_se: f.coef[1].1,
        beta_load: with_load.then(|| f.coef[2].0),
        beta_load_se: with_load.then(|| f.coef[2].1),
        r2: f.r2,
        mean_price: mean(&|r| r.price),
        mean_gas: mean(&|r| r.gas),
        mean_load: with_load.then(|| mean(&|r| r.load.unwrap_or(0.0))),
    }
}
