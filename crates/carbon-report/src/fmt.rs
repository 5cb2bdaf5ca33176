//! Number, date and title formatting shared by both outputs.

use chrono::{Datelike, NaiveDate};

/// Shown for a missing or non-finite number (WinAnsi 0x97, so the PDF has it too).
pub(crate) const MISSING: &str = "\u{2014}";

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Magnitude from which numbers are written in scientific notation
/// (`1.00e15`): beyond any price or quantity, but finite input must not print
/// hundreds of digits.
const SCIENTIFIC: f64 = 1e15;

/// `v` with exactly `decimals` decimals, never `-0.00`; `None` when not
/// finite; in scientific notation from 10^15.
pub(crate) fn fixed(v: f64, decimals: usize) -> Option<String> {
    if !v.is_finite() {
        return None;
    }
    if v.abs() >= SCIENTIFIC {
        return Some(format!("{v:.decimals$e}"));
    }
    let s = format!("{v:.decimals$}");
    // A value that rounds to zero prints without its sign.
    if s.starts_with('-') && s[1..].bytes().all(|b| b == b'0' || b == b'.') {
        return Some(s[1..].to_string());
    }
    Some(s)
}

/// A price: exactly 2 decimals (`33.76`, `-4.10`), `None` when missing.
pub(crate) fn price(v: Option<f64>) -> Option<String> {
    v.and_then(|v| fixed(v, 2))
}

/// A fraction as a percentage with one decimal (`0.85` → `85.0%`).
pub(crate) fn percent(fraction: f64) -> Option<String> {
    fixed(fraction * 100.0, 1).map(|s| s + "%")
}

/// A percentile (0–100) as an ordinal: `92.4` → `92nd`.
pub(crate) fn ordinal(p: f64) -> Option<String> {
    if !p.is_finite() || p.abs() > 1e9 {
        return None;
    }
    let rounded = p.round();
    let n = rounded as i64;
    let suffix = match (n.rem_euclid(100), n.rem_euclid(10)) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    };
    Some(format!("{n}{suffix}"))
}

/// `YYYY-MM` → `February 2021`; anything else is returned as given.
pub(crate) fn month_name(month: &str) -> String {
    let mut parts = month.trim().splitn(2, '-');
    let year = parts.next().and_then(|y| y.parse::<i32>().ok());
    let m = parts.next().and_then(|m| m.parse::<usize>().ok());
    match (year, m) {
        (Some(y), Some(m @ 1..=12)) => format!("{} {y}", MONTHS[m - 1]),
        _ => month.to_string(),
    }
}

/// Three-letter month name of `date`.
pub(crate) fn short_month(date: NaiveDate) -> &'static str {
    let i = usize::try_from(date.month0()).unwrap_or(0);
    MONTHS.get(i).map_or("", |m| m.get(..3).unwrap_or(m))
}

/// The document title: `MISO monthly market brief — February 2021`.
pub(crate) fn title(market: &str, month: &str) -> String {
    format!(
        "{market} monthly market brief \u{2014} {}",
        month_name(month)
    )
}

/// An axis tick label: as many decimals as the tick step needs.
pub(crate) fn tick(v: f64, step: f64) -> String {
    let decimals = if step.is_finite() && step > 0.0 {
        (-step.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        0
    };
    fixed(v, decimals).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_have_two_decimals_and_no_negative_zero() {
        assert_eq!(price(Some(33.755_1)).as_deref(), Some("33.76"));
        assert_eq!(price(Some(-4.1)).as_deref(), Some("-4.10"));
        assert_eq!(price(Some(-0.001)).as_deref(), Some("0.00"));
        assert_eq!(price(Some(f64::NAN)), None);
        assert_eq!(price(Some(f64::INFINITY)), None);
        assert_eq!(price(None), None);
        assert_eq!(price(Some(-1e300)).as_deref(), Some("-1.00e300"));
        assert_eq!(percent(0.85).as_deref(), Some("85.0%"));
        assert_eq!(percent(0.9641).as_deref(), Some("96.4%"));
    }

    #[test]
    fn months_ordinals_and_ticks() {
        assert_eq!(month_name("2021-02"), "February 2021");
        assert_eq!(month_name("2021-13"), "2021-13");
        assert_eq!(month_name("soon"), "soon");
        assert_eq!(
            title("MISO", "2021-12"),
            "MISO monthly market brief — December 2021"
        );
        let o: Vec<_> = [
            1.0, 2.0, 3.0, 4.0, 11.0, 12.0, 13.0, 21.0, 92.4, 101.0, 111.0,
        ]
        .iter()
        .filter_map(|&p| ordinal(p))
        .collect();
        assert_eq!(
            o,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "92nd", "101st",
                "111th"
            ]
        );
        assert_eq!(tick(20.0, 10.0), "20");
        assert_eq!(tick(2.5, 0.5), "2.5");
        assert_eq!(tick(-0.0, 0.05), "0.00");
        let d = NaiveDate::from_ymd_opt(2021, 2, 8).unwrap_or_default();
        assert_eq!(short_month(d), "Feb");
    }
}
