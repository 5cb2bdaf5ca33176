//! NERC holidays and power blocks (flat, on-peak, off-peak, 2x16, 7x8).
//!
//! Blocks are read on the market clock. On-peak hours are the market's peak
//! window ([`crate::PeakConvention`], HE 7–22 for MISO and CAISO) on peak days
//! (Mon–Fri in the East, Mon–Sat in WECC/CAISO) that are not NERC holidays.
//! `2x16` is the peak window on the other days (weekends and holidays in the
//! East; Sundays and holidays in CAISO), `7x8` is every hour outside the window,
//! and off-peak is `2x16 + 7x8`. So `onpeak + 2x16 + 7x8 = flat` on every day,
//! including 23- and 25-hour days (the extra or missing hour is a night hour).

use std::{fmt, str::FromStr};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::{
    Market,
    error::{Error, Result, unknown},
    time::{MarketHour, day_hours, next_month},
};

/// The six NERC holidays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Holiday {
    /// 1 January.
    NewYear,
    /// Last Monday of May.
    MemorialDay,
    /// 4 July.
    IndependenceDay,
    /// First Monday of September.
    LaborDay,
    /// Fourth Thursday of November.
    Thanksgiving,
    /// 25 December.
    Christmas,
}

fn nth_weekday(year: i32, month: u32, wd: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, wd, n)
}

fn last_weekday(year: i32, month: u32, wd: Weekday) -> Option<NaiveDate> {
    nth_weekday(year, month, wd, 5).or_else(|| nth_weekday(year, month, wd, 4))
}

/// Observed NERC holidays of `year`: fixed-date holidays falling on a Sunday are
/// observed on the Monday after; those on a Saturday are not moved.
pub fn nerc_holidays(year: i32) -> Vec<(NaiveDate, Holiday)> {
    let sunday_to_monday = |d: NaiveDate| {
        if d.weekday() == Weekday::Sun {
            d.succ_opt().unwrap_or(d)
        } else {
            d
        }
    };
    let fixed = |m: u32, day: u32| NaiveDate::from_ymd_opt(year, m, day).map(sunday_to_monday);
    [
        (fixed(1, 1), Holiday::NewYear),
        (last_weekday(year, 5, Weekday::Mon), Holiday::MemorialDay),
        (fixed(7, 4), Holiday::IndependenceDay),
        (nth_weekday(year, 9, Weekday::Mon, 1), Holiday::LaborDay),
        (
            nth_weekday(year, 11, Weekday::Thu, 4),
            Holiday::Thanksgiving,
        ),
        (fixed(12, 25), Holiday::Christmas),
    ]
    .into_iter()
    .filter_map(|(d, h)| d.map(|d| (d, h)))
    .collect()
}

/// Whether `date` is an (observed) NERC holiday.
pub fn is_nerc_holiday(date: NaiveDate) -> bool {
    nerc_holidays(date.year()).iter().any(|(d, _)| *d == date)
}

/// Whether `date` is a peak day in `market` (a peak weekday and not a NERC holiday).
pub fn is_peak_day(market: Market, date: NaiveDate) -> bool {
    market.peak().days.includes(date.weekday()) && !is_nerc_holiday(date)
}

/// A power block: a set of hours defined on the market clock.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum Block {
    /// Every hour (7x24).
    #[default]
    #[serde(rename = "flat")]
    Flat,
    /// Peak window on peak days (5x16 East, 6x16 CAISO).
    #[serde(rename = "onpeak")]
    OnPeak,
    /// Every hour that is not on-peak (2x16 + 7x8).
    #[serde(rename = "offpeak")]
    OffPeak,
    /// Peak window on non-peak days (weekends/holidays).
    #[serde(rename = "2x16")]
    TwoBySixteen,
    /// Hours outside the peak window, every day.
    #[serde(rename = "7x8")]
    SevenByEight,
}

impl Block {
    /// Every block.
    pub const ALL: [Block; 5] = [
        Block::Flat,
        Block::OnPeak,
        Block::OffPeak,
        Block::TwoBySixteen,
        Block::SevenByEight,
    ];

    /// Canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Block::Flat => "flat",
            Block::OnPeak => "onpeak",
            Block::OffPeak => "offpeak",
            Block::TwoBySixteen => "2x16",
            Block::SevenByEight => "7x8",
        }
    }

    /// Whether the market hour `hour` belongs to this block in `market`.
    pub fn contains(self, market: Market, hour: &MarketHour) -> bool {
        let peak = market.peak();
        // The repeated fall-back hour is a night hour whatever its label.
        let in_window = !hour.repeated && peak.hour_in_window(hour.hour_ending);
        match self {
            Block::Flat => true,
            Block::SevenByEight => !in_window,
            Block::OnPeak => in_window && is_peak_day(market, hour.date),
            Block::TwoBySixteen => in_window && !is_peak_day(market, hour.date),
            Block::OffPeak => !(in_window && is_peak_day(market, hour.date)),
        }
    }

    /// Number of hours of this block in the market days `from..=to`.
    pub fn hours_between(self, market: Market, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .take_while(|d| *d <= to)
            .map(|d| {
                day_hours(market, d)
                    .iter()
                    .filter(|h| self.contains(market, h))
                    .count() as u32
            })
            .sum()
    }

    /// Number of hours of this block in a calendar month of the market clock.
    pub fn hours_in_month(self, market: Market, year: i32, month: u32) -> Result<u32> {
        let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(|| Error::InvalidTime {
            value: format!("{year}-{month}"),
            reason: "not a calendar month".to_string(),
        })?;
        let last = next_month(first).pred_opt().unwrap_or(first);
        Ok(self.hours_between(market, first, last))
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Block {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "flat" | "7x24" | "atc" | "around_the_clock" => Block::Flat,
            "onpeak" | "on_peak" | "on-peak" | "peak" => Block::OnPeak,
            "offpeak" | "off_peak" | "off-peak" => Block::OffPeak,
            "2x16" | "2x16h" | "weekend" => Block::TwoBySixteen,
            "7x8" | "night" | "nights" => Block::SevenByEight,
            _ => return Err(unknown("block", s, &Block::ALL.map(|b| b.as_str()))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn nerc_holidays_2024_to_2027() {
        let expected = [
            (
                2024,
                [
                    d(2024, 1, 1),
                    d(2024, 5, 27),
                    d(2024, 7, 4),
                    d(2024, 9, 2),
                    d(2024, 11, 28),
                    d(2024, 12, 25),
                ],
            ),
            (
                2025,
                [
                    d(2025, 1, 1),
                    d(2025, 5, 26),
                    d(2025, 7, 4),
                    d(2025, 9, 1),
                    d(2025, 11, 27),
                    d(2025, 12, 25),
                ],
            ),
            (
                2026,
                [
                    d(2026, 1, 1),
                    d(2026, 5, 25),
                    d(2026, 7, 4),
                    d(2026, 9, 7),
                    d(2026, 11, 26),
                    d(2026, 12, 25),
                ],
            ),
            // 2027: 4 July is a Sunday → observed Monday 5 July; Christmas is a
            // Saturday and stays there.
            (
                2027,
                [
                    d(2027, 1, 1),
                    d(2027, 5, 31),
                    d(2027, 7, 5),
                    d(2027, 9, 6),
                    d(2027, 11, 25),
                    d(2027, 12, 25),
                ],
            ),
        ];
        for (year, dates) in expected {
            let got: Vec<NaiveDate> = nerc_holidays(year).into_iter().map(|(d, _)| d).collect();
            assert_eq!(got, dates.to_vec(), "{year}");
        }
        // 2022: New Year on Saturday is not moved; 2023: New Year on Sunday → 2 Jan.
        assert!(is_nerc_holiday(d(2022, 1, 1)));
        assert!(!is_nerc_holiday(d(2022, 1, 3)));
        assert!(is_nerc_holiday(d(2023, 1, 2)));
        assert!(!is_nerc_holiday(d(2023, 1, 1)));
        assert!(is_nerc_holiday(d(2022, 12, 26)));
    }

    #[test]
    fn blocks_partition_every_day() {
        for m in [Market::Miso, Market::Caiso, Market::Pjm] {
            for date in [
                d(2025, 3, 9),
                d(2025, 11, 2),
                d(2025, 12, 25),
                d(2025, 6, 7),
            ] {
                for h in day_hours(m, date) {
                    let n = [Block::OnPeak, Block::TwoBySixteen, Block::SevenByEight]
                        .iter()
                        .filter(|b| b.contains(m, &h))
                        .count();
                    assert_eq!(n, 1, "{m} {date} HE{}", h.hour_ending);
                    assert_eq!(
                        Block::OffPeak.contains(m, &h),
                        !Block::OnPeak.contains(m, &h)
                    );
                }
            }
        }
    }

    #[test]
    fn dst_days_change_night_hours_only() {
        // CAISO 2025-03-09 (Sunday, 23 h): 16 daytime hours, 7 night hours.
        let spring = d(2025, 3, 9);
        assert_eq!(
            Block::SevenByEight.hours_between(Market::Caiso, spring, spring),
            7
        );
        assert_eq!(
            Block::TwoBySixteen.hours_between(Market::Caiso, spring, spring),
            16
        );
        // CAISO 2025-11-02 (Sunday, 25 h): 9 night hours.
        let fall = d(2025, 11, 2);
        assert_eq!(
            Block::SevenByEight.hours_between(Market::Caiso, fall, fall),
            9
        );
        assert_eq!(Block::Flat.hours_between(Market::Caiso, fall, fall), 25);
        // MISO is fixed EST: 24 hours and 8 night hours on both days.
        assert_eq!(
            Block::SevenByEight.hours_between(Market::Miso, fall, fall),
            8
        );
        assert_eq!(Block::Flat.hours_between(Market::Miso, spring, spring), 24);
    }

    #[test]
    fn block_names() {
        assert_eq!("7x24".parse::<Block>().unwrap(), Block::Flat);
        assert_eq!("2x16".parse::<Block>().unwrap().to_string(), "2x16");
        let e = "5x8".parse::<Block>().unwrap_err().to_string();
        assert!(e.contains("flat, onpeak, offpeak, 2x16, 7x8"), "{e}");
    }
}
