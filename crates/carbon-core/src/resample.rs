//! Resampling frequencies and aggregations, with buckets on the market clock.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Market,
    error::{Error, Result, unknown},
    time::{day_start, market_date, next_month},
};

/// A resampling frequency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Frequency {
    /// 5 minutes.
    #[serde(rename = "5min")]
    Min5,
    /// 15 minutes.
    #[serde(rename = "15min")]
    Min15,
    /// 1 hour.
    #[serde(rename = "1h")]
    Hour,
    /// 1 market day (local midnight to local midnight: 23, 24 or 25 hours).
    #[serde(rename = "1d")]
    Day,
    /// 1 calendar month on the market clock.
    #[serde(rename = "1mo")]
    Month,
}

impl Frequency {
    /// Every frequency.
    pub const ALL: [Frequency; 5] = [
        Frequency::Min5,
        Frequency::Min15,
        Frequency::Hour,
        Frequency::Day,
        Frequency::Month,
    ];

    /// Canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Min5 => "5min",
            Frequency::Min15 => "15min",
            Frequency::Hour => "1h",
            Frequency::Day => "1d",
            Frequency::Month => "1mo",
        }
    }

    /// Fixed length in minutes for sub-daily frequencies; `None` for day and month,
    /// whose length depends on the market clock.
    pub fn fixed_minutes(self) -> Option<i64> {
        match self {
            Frequency::Min5 => Some(5),
            Frequency::Min15 => Some(15),
            Frequency::Hour => Some(60),
            Frequency::Day | Frequency::Month => None,
        }
    }

    /// The bucket `[start, end)` that contains `instant`. Sub-daily buckets are
    /// aligned on UTC, which equals market-clock alignment because every ISO zone
    /// has a whole-hour offset; days and months run between local midnights.
    pub fn bucket(self, market: Market, instant: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        match self.fixed_minutes() {
            Some(min) => {
                let secs = min * 60;
                let t = instant.timestamp();
                let s = t - t.rem_euclid(secs);
                let start = DateTime::from_timestamp(s, 0).unwrap_or(instant);
                (start, start + Duration::seconds(secs))
            }
            None => {
                let date = market_date(market, instant);
                let (first, next) = self.calendar_bucket(date);
                (day_start(market, first), day_start(market, next))
            }
        }
    }

    /// For day and month: the first date of the bucket holding `date` and the first
    /// date of the next bucket. For sub-daily frequencies: the date and the next day.
    pub fn calendar_bucket(self, date: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Frequency::Month => {
                let first = date.with_day(1).unwrap_or(date);
                (first, next_month(first))
            }
            _ => (date, date.succ_opt().unwrap_or(date)),
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Frequency {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "5min" | "5m" | "5t" => Frequency::Min5,
            "15min" | "15m" | "15t" => Frequency::Min15,
            "1h" | "h" | "60min" | "hourly" | "hour" => Frequency::Hour,
            "1d" | "d" | "daily" | "day" => Frequency::Day,
            "1mo" | "mo" | "1m" | "monthly" | "month" | "ms" => Frequency::Month,
            _ => {
                return Err(unknown(
                    "resample frequency",
                    s,
                    &Frequency::ALL.map(|f| f.as_str()),
                ));
            }
        })
    }
}

/// How values in a bucket are combined.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Arithmetic mean (time-weighted when intervals have equal length).
    #[default]
    Mean,
    /// Minimum.
    Min,
    /// Maximum.
    Max,
    /// Value of the earliest interval in the bucket.
    First,
    /// Value of the latest interval in the bucket.
    Last,
}

impl Aggregation {
    /// Every aggregation.
    pub const ALL: [Aggregation; 5] = [
        Aggregation::Mean,
        Aggregation::Min,
        Aggregation::Max,
        Aggregation::First,
        Aggregation::Last,
    ];

    /// Canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Mean => "mean",
            Aggregation::Min => "min",
            Aggregation::Max => "max",
            Aggregation::First => "first",
            Aggregation::Last => "last",
        }
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Aggregation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "mean" | "avg" | "average" => Aggregation::Mean,
            "min" => Aggregation::Min,
            "max" => Aggregation::Max,
            "first" | "open" => Aggregation::First,
            "last" | "close" => Aggregation::Last,
            _ => {
                return Err(unknown(
                    "aggregation",
                    s,
                    &Aggregation::ALL.map(|a| a.as_str()),
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn daily_bucket_on_fall_back_day_is_25_hours() {
        let (s, e) = Frequency::Day.bucket(Market::Caiso, utc("2025-11-02T20:00:00Z"));
        assert_eq!(s, utc("2025-11-02T07:00:00Z"));
        assert_eq!(e, utc("2025-11-03T08:00:00Z"));
        assert_eq!((e - s).num_hours(), 25);
    }

    #[test]
    fn monthly_bucket_in_market_time() {
        // 2025-03-31 22:00 PDT is 2025-04-01T05:00Z but belongs to March in CAISO.
        let (s, e) = Frequency::Month.bucket(Market::Caiso, utc("2025-04-01T05:00:00Z"));
        assert_eq!(s, utc("2025-03-01T08:00:00Z"));
        assert_eq!(e, utc("2025-04-01T07:00:00Z"));
        let (s, _) = Frequency::Month.bucket(Market::Miso, utc("2025-04-01T04:59:00Z"));
        assert_eq!(s, utc("2025-03-01T05:00:00Z"));
    }

    #[test]
    fn sub_daily_buckets() {
        let (s, e) = Frequency::Min15.bucket(Market::Caiso, utc("2025-11-02T09:44:59Z"));
        assert_eq!(
            (s, e),
            (utc("2025-11-02T09:30:00Z"), utc("2025-11-02T09:45:00Z"))
        );
        assert!("2h".parse::<Frequency>().is_err());
        assert_eq!("monthly".parse::<Frequency>().unwrap(), Frequency::Month);
    }
}
