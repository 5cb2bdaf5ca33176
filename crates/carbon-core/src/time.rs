//! Market time: market days, hour-endings and the hours of 23-, 24- and 25-hour days.
//!
//! Instants are always UTC. A *market day* is a calendar date on the market clock
//! ([`crate::Market::zone`]); it runs from local midnight to the next local
//! midnight, so it is 23, 24 or 25 hours long. Within a day, hours are named two
//! ways:
//! - the **ordinal** (1..=N, N = hours in the day): position in the day;
//! - the **clock hour-ending** (1..=24) with a `repeated` flag for the second
//!   occurrence of a clock hour on the fall-back day. On the spring-forward day
//!   one hour-ending is missing (HE 3 in the US).
//!
//! All US ISO zones have whole-hour offsets, so every market hour starts on a UTC
//! hour boundary; the functions here rely on that and check it.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};

use crate::{
    Market,
    error::{Error, Result},
};

/// One hour of a market day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketHour {
    /// Market day the hour belongs to.
    pub date: NaiveDate,
    /// Interval start (UTC).
    pub start: DateTime<Utc>,
    /// Interval end (UTC), one hour after `start`.
    pub end: DateTime<Utc>,
    /// Position in the day, 1-based (1..=23/24/25).
    pub ordinal: u32,
    /// Clock hour-ending, 1..=24 (local clock hour of the start, plus one).
    pub hour_ending: u32,
    /// True for the second occurrence of a clock hour (fall-back day).
    pub repeated: bool,
}

/// The first instant (UTC) of a market day: local midnight, or the first valid
/// local time after it if midnight falls in a gap.
pub fn day_start(market: Market, date: NaiveDate) -> DateTime<Utc> {
    let tz = market.zone();
    let mut local = NaiveDateTime::new(date, NaiveTime::MIN);
    // A zone may skip midnight (not in the US); walk forward a minute at a time.
    for _ in 0..(24 * 60) {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
        local += Duration::minutes(1);
    }
    // Unreachable for real zones: every day has a valid local time.
    Utc.from_utc_datetime(&NaiveDateTime::new(date, NaiveTime::MIN))
}

/// The market day that contains `instant`.
pub fn market_date(market: Market, instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&market.zone()).date_naive()
}

/// Length of a market day in hours (23, 24 or 25 in US zones).
pub fn hours_in_day(market: Market, date: NaiveDate) -> u32 {
    let next = date.succ_opt().unwrap_or(date);
    let secs = (day_start(market, next) - day_start(market, date)).num_seconds();
    u32::try_from(secs / 3600).unwrap_or(24)
}

/// Every hour of a market day, in order.
pub fn day_hours(market: Market, date: NaiveDate) -> Vec<MarketHour> {
    let tz = market.zone();
    let start = day_start(market, date);
    let n = hours_in_day(market, date);
    let mut seen = [false; 25];
    (0..n)
        .map(|i| {
            let s = start + Duration::hours(i64::from(i));
            let clock = s.with_timezone(&tz).hour();
            let he = clock + 1;
            let idx = he as usize;
            let repeated = seen[idx];
            seen[idx] = true;
            MarketHour {
                date,
                start: s,
                end: s + Duration::hours(1),
                ordinal: i + 1,
                hour_ending: he,
                repeated,
            }
        })
        .collect()
}

/// Interval start of hour `ordinal` (1-based position) of a market day.
pub fn start_of_ordinal(market: Market, date: NaiveDate, ordinal: u32) -> Result<DateTime<Utc>> {
    let n = hours_in_day(market, date);
    if ordinal == 0 || ordinal > n {
        return Err(Error::InvalidHour {
            market: market.code(),
            date,
            hour: ordinal,
            hours: n,
            detail: String::new(),
        });
    }
    Ok(day_start(market, date) + Duration::hours(i64::from(ordinal - 1)))
}

/// Interval start of clock hour-ending `he` (1..=24) of a market day; `repeated`
/// picks the second occurrence on the fall-back day.
///
/// Errors when the hour does not exist that day: HE 3 on a US spring-forward day,
/// or `repeated` on a day where the hour occurs once.
pub fn start_of_hour_ending(
    market: Market,
    date: NaiveDate,
    he: u32,
    repeated: bool,
) -> Result<DateTime<Utc>> {
    day_hours(market, date)
        .into_iter()
        .find(|h| h.hour_ending == he && h.repeated == repeated)
        .map(|h| h.start)
        .ok_or_else(|| Error::InvalidHour {
            market: market.code(),
            date,
            hour: he,
            hours: hours_in_day(market, date),
            detail: if repeated {
                ": that hour-ending is not repeated that day".to_string()
            } else {
                ": that clock hour is skipped by the change to daylight time".to_string()
            },
        })
}

/// The market hour that contains `instant`.
pub fn hour_of(market: Market, instant: DateTime<Utc>) -> MarketHour {
    let tz = market.zone();
    let date = market_date(market, instant);
    let start = day_start(market, date);
    let ordinal = u32::try_from((instant - start).num_seconds().div_euclid(3600)).unwrap_or(0) + 1;
    let s = start + Duration::hours(i64::from(ordinal - 1));
    let clock = s.with_timezone(&tz).hour();
    // Repeated when the same clock hour already occurred earlier that day.
    let repeated = (1..ordinal).any(|o| {
        (start + Duration::hours(i64::from(o - 1)))
            .with_timezone(&tz)
            .hour()
            == clock
    });
    MarketHour {
        date,
        start: s,
        end: s + Duration::hours(1),
        ordinal,
        hour_ending: clock + 1,
        repeated,
    }
}

/// First instant (UTC) of the market-local month containing `date`.
pub fn month_start(market: Market, year: i32, month: u32) -> Option<DateTime<Utc>> {
    NaiveDate::from_ymd_opt(year, month, 1).map(|d| day_start(market, d))
}

/// First day of the following month.
pub fn next_month(date: NaiveDate) -> NaiveDate {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(date)
}

/// Parses a user-supplied time: RFC 3339 (`2025-11-02T08:00:00Z`, with offset),
/// a naive date-time (`2025-11-02T01:30` or with a space) or a date (`2025-11-02`).
/// Naive forms are read on the market clock of `market` (UTC when `None`); a
/// naive time that is ambiguous on a fall-back day takes the first occurrence,
/// one that falls in a spring-forward gap is an error.
pub fn parse_instant(text: &str, market: Option<Market>) -> Result<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    let naive = if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        d.and_time(NaiveTime::MIN)
    } else {
        let formats = [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
        ];
        formats
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
            .ok_or_else(|| Error::InvalidTime {
                value: text.to_string(),
                reason: "expected RFC 3339 (2025-11-02T08:00:00Z), a date-time (2025-11-02T01:30) or a date (2025-11-02)".to_string(),
            })?
    };
    match market {
        None => Ok(Utc.from_utc_datetime(&naive)),
        Some(m) => {
            if naive.time() == NaiveTime::MIN {
                return Ok(day_start(m, naive.date()));
            }
            m.zone()
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| Error::InvalidTime {
                    value: text.to_string(),
                    reason: format!(
                        "that local time does not exist in {} (daylight-time gap)",
                        m.zone().name()
                    ),
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn caiso_fall_back_day_has_25_hours() {
        let hours = day_hours(Market::Caiso, d(2025, 11, 2));
        assert_eq!(hours.len(), 25);
        assert_eq!(hours[0].start, utc("2025-11-02T07:00:00Z"));
        // HE1, HE2, HE2 (repeated, OASIS OPR_HR=25), HE3 …
        let he: Vec<(u32, bool)> = hours
            .iter()
            .map(|h| (h.hour_ending, h.repeated))
            .take(4)
            .collect();
        assert_eq!(he, vec![(1, false), (2, false), (2, true), (3, false)]);
        assert_eq!(hours[2].start, utc("2025-11-02T09:00:00Z"));
        assert_eq!(hours[24].end, utc("2025-11-03T08:00:00Z"));
    }

    #[test]
    fn caiso_spring_forward_day_has_23_hours() {
        let hours = day_hours(Market::Caiso, d(2025, 3, 9));
        assert_eq!(hours.len(), 23);
        assert!(hours.iter().all(|h| h.hour_ending != 3));
        assert!(start_of_hour_ending(Market::Caiso, d(2025, 3, 9), 3, false).is_err());
        assert_eq!(
            start_of_hour_ending(Market::Caiso, d(2025, 3, 9), 4, false).unwrap(),
            utc("2025-03-09T10:00:00Z")
        );
    }

    #[test]
    fn miso_is_fixed_est_across_dst() {
        for date in [d(2025, 3, 9), d(2025, 11, 2), d(2018, 11, 4), d(2025, 7, 1)] {
            assert_eq!(hours_in_day(Market::Miso, date), 24);
            let he1 = start_of_hour_ending(Market::Miso, date, 1, false).unwrap();
            assert_eq!(he1.naive_utc(), date.and_hms_opt(5, 0, 0).unwrap());
        }
        let he24 = start_of_hour_ending(Market::Miso, d(2025, 11, 2), 24, false).unwrap();
        assert_eq!(he24, utc("2025-11-03T04:00:00Z"));
    }

    #[test]
    fn hour_of_round_trips() {
        for date in [d(2025, 11, 2), d(2025, 3, 9), d(2018, 11, 4)] {
            for m in [Market::Caiso, Market::Pjm, Market::Miso] {
                for h in day_hours(m, date) {
                    let back = hour_of(m, h.start + Duration::minutes(35));
                    assert_eq!(back, h, "{m} {date}");
                }
            }
        }
    }

    #[test]
    fn parses_times() {
        assert_eq!(
            parse_instant("2025-11-02", Some(Market::Caiso)).unwrap(),
            utc("2025-11-02T07:00:00Z")
        );
        assert_eq!(
            parse_instant("2025-11-02", None).unwrap(),
            utc("2025-11-02T00:00:00Z")
        );
        assert_eq!(
            parse_instant("2025-11-02T01:30", Some(Market::Caiso)).unwrap(),
            utc("2025-11-02T08:30:00Z")
        );
        assert_eq!(
            parse_instant("2025-07-01T00:00:00-04:00", Some(Market::Caiso)).unwrap(),
            utc("2025-07-01T04:00:00Z")
        );
        assert!(parse_instant("2025-03-09T02:30", Some(Market::Caiso)).is_err());
        let e = parse_instant("yesterday", None).unwrap_err().to_string();
        assert!(e.contains("`yesterday`"), "{e}");
    }
}

/// Appends `t` shown at UTC offset `offset_secs` as RFC 3339 to the second:
/// `2026-03-08T02:00:00-05:00`, or `…Z` at offset 0 — the text chrono's
/// `to_rfc3339_opts(SecondsFormat::Secs, true)` gives, written without its
/// formatting machinery (API answers write five of these per row). Years
/// outside 0000–9999 and offsets with seconds take chrono's path.
pub fn push_rfc3339(out: &mut String, t: DateTime<Utc>, offset_secs: i32) {
    let local = t.timestamp() + i64::from(offset_secs);
    let days = local.div_euclid(86_400);
    let sod = local.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian, eras of 400 years).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) || offset_secs % 60 != 0 {
        use chrono::{FixedOffset, SecondsFormat};
        let shown = FixedOffset::east_opt(offset_secs).map(|o| {
            t.with_timezone(&o)
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        });
        out.push_str(&shown.unwrap_or_else(|| t.to_rfc3339_opts(SecondsFormat::Secs, true)));
        return;
    }
    // Written into a stack buffer and appended once (all ASCII).
    let mut b = *b"0000-00-00T00:00:00+00:00";
    let mut two = |at: usize, v: i64| {
        b[at] = b'0' + (v / 10) as u8;
        b[at + 1] = b'0' + (v % 10) as u8;
    };
    two(0, year / 100);
    two(2, year % 100);
    two(5, month);
    two(8, day);
    two(11, sod / 3600);
    two(14, sod / 60 % 60);
    two(17, sod % 60);
    let len = if offset_secs == 0 {
        b[19] = b'Z';
        20
    } else {
        let m = i64::from(offset_secs.unsigned_abs() / 60);
        two(20, m / 60);
        two(23, m % 60);
        b[19] = if offset_secs < 0 { b'-' } else { b'+' };
        25
    };
    out.push_str(std::str::from_utf8(&b[..len]).unwrap_or_default());
}

#[cfg(test)]
mod rfc3339_tests {
    use chrono::{FixedOffset, SecondsFormat, TimeZone, Utc};

    use super::push_rfc3339;

    /// Equal to chrono's text over four centuries, leap days, both sides of
    /// the epoch, and the offsets the markets use (plus odd ones).
    #[test]
    fn equals_chrono() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let lo = Utc
            .with_ymd_and_hms(1800, 1, 1, 0, 0, 0)
            .unwrap()
            .timestamp();
        let hi = Utc
            .with_ymd_and_hms(2200, 12, 31, 23, 59, 59)
            .unwrap()
            .timestamp();
        let fixed = [
            0,
            -5 * 3600,
            -8 * 3600,
            -7 * 3600,
            5 * 3600 + 1800,
            -(3 * 3600 + 1800),
            14 * 3600,
            -12 * 3600,
            37, // seconds: chrono's path
        ];
        let mut cases: Vec<i64> = (0..20_000)
            .map(|_| lo + (next() % (hi - lo) as u64) as i64)
            .collect();
        for (y, m, d) in [
            (2000, 2, 29),
            (2024, 2, 29),
            (1900, 3, 1),
            (1970, 1, 1),
            (2100, 3, 1),
        ] {
            let t = Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap().timestamp();
            cases.extend([t - 1, t, t + 1, t + 86_399]);
        }
        cases.extend([-1, 0, 1, -86_401, 253_402_300_799, -62_167_219_200]);
        for s in cases {
            let t = Utc.timestamp_opt(s, 0).unwrap();
            for &o in &fixed {
                let want = t
                    .with_timezone(&FixedOffset::east_opt(o).unwrap())
                    .to_rfc3339_opts(SecondsFormat::Secs, true);
                let mut got = String::new();
                push_rfc3339(&mut got, t, o);
                assert_eq!(got, want, "{s} at offset {o}");
            }
        }
    }
}
