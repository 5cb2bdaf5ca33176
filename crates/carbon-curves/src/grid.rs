//! Delivery grids on the market clock, and what a contract weighs on them.
//!
//! An hourly grid holds every market hour (23 on the spring-forward day, 25 on
//! the fall-back day); a daily grid every market day; a monthly grid every
//! calendar month. A contract's weight on a grid point is the number of its
//! block's hours inside both the point and the contract's delivery dates
//! (both inclusive) — so on-peak weights skip weekends and NERC holidays, and
//! a daily grid weighs a 25-hour day as 25 flat hours.

use carbon_core::{
    Block, Market,
    time::{self, MarketHour},
};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// Grid spacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// One point per market hour.
    Hourly,
    /// One point per market day.
    Daily,
    /// One point per calendar month.
    Monthly,
}

impl std::str::FromStr for Granularity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "hourly" => Ok(Granularity::Hourly),
            "daily" => Ok(Granularity::Daily),
            "monthly" => Ok(Granularity::Monthly),
            other => Err(format!("`{other}`: expected hourly, daily or monthly")),
        }
    }
}

/// One grid point: a span of market hours.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// First instant (UTC).
    pub start: DateTime<Utc>,
    /// End instant (UTC, exclusive).
    pub end: DateTime<Utc>,
    /// First market day covered.
    pub first_date: NaiveDate,
    /// Last market day covered.
    pub last_date: NaiveDate,
    hours: Vec<MarketHour>,
}

impl Point {
    /// Hours in the point.
    pub fn hours(&self) -> usize {
        self.hours.len()
    }
}

/// A grid over the market days `first..=last`.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Market whose clock, peak window and holidays apply.
    pub market: Market,
    /// Spacing.
    pub granularity: Granularity,
    /// The points, in time order.
    pub points: Vec<Point>,
}

fn point(hours: Vec<MarketHour>) -> Option<Point> {
    let (f, l) = (hours.first()?, hours.last()?);
    Some(Point {
        start: f.start,
        end: l.end,
        first_date: f.date,
        last_date: l.date,
        hours,
    })
}

impl Grid {
    /// The grid of `granularity` over `first..=last`; `Err` when `last < first`.
    pub fn new(
        market: Market,
        granularity: Granularity,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Grid, String> {
        if last < first {
            return Err(format!("grid ends {last} before it starts {first}"));
        }
        let days = first.iter_days().take_while(|d| *d <= last);
        let points: Vec<Point> = match granularity {
            Granularity::Hourly => days
                .flat_map(|d| time::day_hours(market, d))
                .filter_map(|h| point(vec![h]))
                .collect(),
            Granularity::Daily => days
                .filter_map(|d| point(time::day_hours(market, d)))
                .collect(),
            Granularity::Monthly => {
                let mut out: Vec<Point> = Vec::new();
                let mut current: Vec<MarketHour> = Vec::new();
                for d in days {
                    if current
                        .first()
                        .is_some_and(|h| (h.date.year(), h.date.month()) != (d.year(), d.month()))
                    {
                        out.extend(point(std::mem::take(&mut current)));
                    }
                    current.extend(time::day_hours(market, d));
                }
                out.extend(point(current));
                out
            }
        };
        Ok(Grid {
            market,
            granularity,
            points,
        })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True for a grid without points.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Hours of `block` within `from..=to` in each point.
    pub fn weights(&self, from: NaiveDate, to: NaiveDate, block: Block) -> Vec<f64> {
        self.points
            .iter()
            .map(|p| {
                if p.last_date < from || p.first_date > to {
                    return 0.0;
                }
                p.hours
                    .iter()
                    .filter(|h| h.date >= from && h.date <= to && block.contains(self.market, h))
                    .count() as f64
            })
            .collect()
    }
}
