//! Markets (ISOs/RTOs) and the clock and peak conventions each one uses.

use std::{fmt, str::FromStr};

use chrono::Weekday;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Result, unknown};

/// An independent system operator / regional transmission organisation.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Market {
    /// Midcontinent ISO.
    #[serde(rename = "MISO")]
    Miso,
    /// California ISO.
    #[serde(rename = "CAISO")]
    Caiso,
    /// PJM Interconnection.
    #[serde(rename = "PJM")]
    Pjm,
    /// Electric Reliability Council of Texas.
    #[serde(rename = "ERCOT")]
    Ercot,
    /// Southwest Power Pool.
    #[serde(rename = "SPP")]
    Spp,
    /// New York ISO.
    #[serde(rename = "NYISO")]
    Nyiso,
    /// ISO New England.
    #[serde(rename = "ISONE")]
    Isone,
}

/// Which weekdays can be peak days (before NERC holidays are taken out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeakDays {
    /// Monday to Friday: the Eastern 5x16 convention.
    MonFri,
    /// Monday to Saturday: the WECC 6x16 convention (CAISO).
    MonSat,
}

impl PeakDays {
    /// Whether `day` is one of the peak weekdays.
    pub fn includes(self, day: Weekday) -> bool {
        match self {
            PeakDays::MonFri => !matches!(day, Weekday::Sat | Weekday::Sun),
            PeakDays::MonSat => day != Weekday::Sun,
        }
    }

    /// Number of peak weekdays per week (5 or 6).
    pub fn per_week(self) -> u32 {
        match self {
            PeakDays::MonFri => 5,
            PeakDays::MonSat => 6,
        }
    }
}

/// How a market defines its on-peak block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PeakConvention {
    /// Weekdays that are peak days (NERC holidays excepted).
    pub days: PeakDays,
    /// First peak hour-ending on the market clock (inclusive).
    pub first_hour_ending: u32,
    /// Last peak hour-ending on the market clock (inclusive).
    pub last_hour_ending: u32,
}

impl PeakConvention {
    /// Whether a clock hour-ending (1..=24) lies in the peak window.
    pub fn hour_in_window(&self, hour_ending: u32) -> bool {
        (self.first_hour_ending..=self.last_hour_ending).contains(&hour_ending)
    }
}

/// Static description of a market: its clock and its conventions.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct MarketInfo {
    /// The market.
    pub market: Market,
    /// Short code used in ids (`MISO`).
    pub code: &'static str,
    /// Full name.
    pub name: &'static str,
    /// IANA zone of the market clock: market days, hour-endings and power
    /// blocks are all read on this clock.
    #[serde(serialize_with = "ser_tz")]
    #[schema(value_type = String, example = "America/Los_Angeles")]
    pub zone: Tz,
    /// Why this zone (e.g. MISO's fixed EST).
    pub clock_note: &'static str,
    /// On-peak definition.
    pub peak: PeakConvention,
}

fn ser_tz<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

const EAST_5X16_HE7_22: PeakConvention = PeakConvention {
    days: PeakDays::MonFri,
    first_hour_ending: 7,
    last_hour_ending: 22,
};
const EAST_5X16_HE8_23: PeakConvention = PeakConvention {
    days: PeakDays::MonFri,
    first_hour_ending: 8,
    last_hour_ending: 23,
};

impl Market {
    /// Every market, in a stable order.
    pub const ALL: [Market; 7] = [
        Market::Miso,
        Market::Caiso,
        Market::Pjm,
        Market::Ercot,
        Market::Spp,
        Market::Nyiso,
        Market::Isone,
    ];

    /// The market's static description.
    pub fn info(self) -> MarketInfo {
        match self {
            Market::Miso => MarketInfo {
                market: self,
                code: "MISO",
                name: "Midcontinent Independent System Operator",
                // MISO publishes and settles on Eastern Standard Time all year:
                // a fixed offset the ISO itself uses, so no DST.
                zone: chrono_tz::Etc::GMTPlus5,
                clock_note: "EST, fixed UTC-5 all year (MISO market reports and settlement)",
                peak: EAST_5X16_HE7_22,
            },
            Market::Caiso => MarketInfo {
                market: self,
                code: "CAISO",
                name: "California Independent System Operator",
                zone: chrono_tz::America::Los_Angeles,
                clock_note: "Pacific prevailing time (OASIS OPR_DT/OPR_HR); *_GMT columns are authoritative",
                peak: PeakConvention {
                    days: PeakDays::MonSat,
                    first_hour_ending: 7,
                    last_hour_ending: 22,
                },
            },
            Market::Pjm => MarketInfo {
                market: self,
                code: "PJM",
                name: "PJM Interconnection",
                zone: chrono_tz::America::New_York,
                clock_note: "Eastern prevailing time; data feeds also carry UTC columns",
                peak: EAST_5X16_HE8_23,
            },
            Market::Ercot => MarketInfo {
                market: self,
                code: "ERCOT",
                name: "Electric Reliability Council of Texas",
                zone: chrono_tz::America::Chicago,
                clock_note: "Central prevailing time; the repeated hour is flagged by DSTFlag",
                peak: EAST_5X16_HE7_22,
            },
            Market::Spp => MarketInfo {
                market: self,
                code: "SPP",
                name: "Southwest Power Pool",
                zone: chrono_tz::America::Chicago,
                clock_note: "Central prevailing time; feeds carry GMT interval ends",
                peak: EAST_5X16_HE7_22,
            },
            Market::Nyiso => MarketInfo {
                market: self,
                code: "NYISO",
                name: "New York Independent System Operator",
                zone: chrono_tz::America::New_York,
                clock_note: "Eastern prevailing time at interval start; the repeated 01:00 is told apart by order",
                peak: EAST_5X16_HE8_23,
            },
            Market::Isone => MarketInfo {
                market: self,
                code: "ISONE",
                name: "ISO New England",
                zone: chrono_tz::America::New_York,
                clock_note: "Eastern prevailing time, hour ending; the repeated hour is `02X`",
                peak: EAST_5X16_HE8_23,
            },
        }
    }

    /// Short code (`MISO`, `CAISO`, …) as used in instrument ids.
    pub fn code(self) -> &'static str {
        self.info().code
    }

    /// The zone of the market clock.
    pub fn zone(self) -> Tz {
        self.info().zone
    }

    /// The on-peak convention.
    pub fn peak(self) -> PeakConvention {
        self.info().peak
    }
}

impl fmt::Display for Market {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Market {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_uppercase().replace(['-', '_'], "");
        Market::ALL
            .into_iter()
            .find(|m| m.code() == norm)
            .ok_or_else(|| unknown("market", s, &Market::ALL.map(|m| m.code())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_case_insensitively() {
        assert_eq!("miso".parse::<Market>(), Ok(Market::Miso));
        assert_eq!("ISO-NE".parse::<Market>(), Ok(Market::Isone));
        let err = "ERCOTT".parse::<Market>().unwrap_err().to_string();
        assert!(err.contains("unknown market `ERCOTT`"), "{err}");
        assert!(err.contains("CAISO"), "{err}");
    }

    #[test]
    fn zones_are_iana() {
        assert_eq!(Market::Miso.zone().name(), "Etc/GMT+5");
        assert_eq!(Market::Caiso.zone().name(), "America/Los_Angeles");
        assert_eq!(Market::Ercot.zone().name(), "America/Chicago");
        assert_eq!(Market::Pjm.zone().name(), "America/New_York");
    }

    #[test]
    fn serde_uses_codes() {
        assert_eq!(serde_json::to_string(&Market::Isone).unwrap(), "\"ISONE\"");
        let m: Market = serde_json::from_str("\"CAISO\"").unwrap();
        assert_eq!(m, Market::Caiso);
    }
}
