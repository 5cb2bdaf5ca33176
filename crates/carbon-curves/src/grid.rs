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

    /// The market hours of point `i`.
    pub fn hours_of(&self, i: usize) -> &[MarketHour] {
        &self.points[i].hours
    }

    /// Whether every hour of point `i` is in `shape` (hourly grids: whether
    /// the hour is).
    pub fn contains(&self, i: usize, shape: Shape) -> bool {
        self.points[i]
            .hours
            .iter()
            .all(|h| shape.contains(self.market, h))
    }

    /// Hours of `shape` (a block or an hour mask) within `from..=to` in each point.
    pub fn weights(&self, from: NaiveDate, to: NaiveDate, shape: impl Into<Shape>) -> Vec<f64> {
        let shape = shape.into();
        self.points
            .iter()
            .map(|p| {
                if p.last_date < from || p.first_date > to {
                    return 0.0;
                }
                p.hours
                    .iter()
                    .filter(|h| h.date >= from && h.date <= to && shape.contains(self.market, h))
                    .count() as f64
            })
            .collect()
    }
}

/// Which days an hour mask applies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Days {
    /// Every day.
    All,
    /// The market's peak days (its peak weekdays, NERC holidays excluded).
    Peak,
    /// Every other day (weekends of the peak week and NERC holidays).
    OffPeak,
}

/// The hours a contract delivers in: a standard block, or an explicit mask of
/// hour-endings on the market clock, written `he:8-23`, `he:1-7,24@peak`,
/// `he:8-23@offpeak` (`@peak`/`@offpeak` restrict to the market's peak or
/// non-peak days). On the fall-back day both occurrences of a listed hour count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A standard block.
    Block(Block),
    /// Hour-endings 1..=24 (bit `he − 1`) on some days.
    Mask {
        /// Bit `he − 1` set when hour-ending `he` is included.
        hours: u32,
        /// Days.
        days: Days,
    },
}

impl From<Block> for Shape {
    fn from(b: Block) -> Shape {
        Shape::Block(b)
    }
}

impl Shape {
    /// Whether `hour` belongs to the shape in `market`.
    pub fn contains(&self, market: Market, hour: &MarketHour) -> bool {
        match self {
            Shape::Block(b) => b.contains(market, hour),
            Shape::Mask { hours, days } => {
                let day_ok = match days {
                    Days::All => true,
                    Days::Peak => carbon_core::calendar::is_peak_day(market, hour.date),
                    Days::OffPeak => !carbon_core::calendar::is_peak_day(market, hour.date),
                };
                day_ok
                    && (1..=24).contains(&hour.hour_ending)
                    && hours & (1 << (hour.hour_ending - 1)) != 0
            }
        }
    }

    /// Canonical text (`onpeak`, `he:8-23@peak`), as parsed back by `FromStr`.
    pub fn as_text(&self) -> String {
        match self {
            Shape::Block(b) => b.as_str().to_string(),
            Shape::Mask { hours, days } => {
                let mut ranges: Vec<String> = Vec::new();
                let mut he = 1;
                while he <= 24 {
                    if hours & (1 << (he - 1)) != 0 {
                        let from = he;
                        while he < 24 && hours & (1 << he) != 0 {
                            he += 1;
                        }
                        ranges.push(if from == he {
                            format!("{he}")
                        } else {
                            format!("{from}-{he}")
                        });
                    }
                    he += 1;
                }
                let suffix = match days {
                    Days::All => "",
                    Days::Peak => "@peak",
                    Days::OffPeak => "@offpeak",
                };
                format!("he:{}{suffix}", ranges.join(","))
            }
        }
    }
}

impl std::str::FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> Result<Shape, String> {
        let t = s.trim().to_ascii_lowercase();
        let Some(mask) = t.strip_prefix("he:") else {
            return t
                .parse::<Block>()
                .map(Shape::Block)
                .map_err(|e| format!("{e}, or an hour mask such as he:8-23@peak"));
        };
        let (list, days) = match mask.split_once('@') {
            None => (mask, Days::All),
            Some((l, "peak")) => (l, Days::Peak),
            Some((l, "offpeak")) => (l, Days::OffPeak),
            Some((_, d)) => return Err(format!("`@{d}`: expected @peak or @offpeak")),
        };
        let he = |x: &str| -> Result<u32, String> {
            x.trim()
                .parse::<u32>()
                .ok()
                .filter(|v| (1..=24).contains(v))
                .ok_or_else(|| format!("`{x}` in `{s}` is not an hour-ending 1..24"))
        };
        let mut hours = 0u32;
        for part in list.split(',') {
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (he(a)?, he(b)?),
                None => (he(part)?, he(part)?),
            };
            if b < a {
                return Err(format!("`{part}` in `{s}` runs backwards"));
            }
            for h in a..=b {
                hours |= 1 << (h - 1);
            }
        }
        Ok(Shape::Mask { hours, days })
    }
}
