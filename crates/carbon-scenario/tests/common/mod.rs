//! The EIA fixture files read in place by a few lines of CSV reading here,
//! independent of the ingest crate.
#![allow(dead_code, clippy::unwrap_used)]

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

/// A file of `../shared/fixtures/fundamentals`.
pub fn file(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/fundamentals")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// (interval start, value) of one column of an EIA wholesale file (the UTC
/// interval-ending column less an hour); empty cells skipped.
pub fn column(name: &str, col: &str) -> Vec<(DateTime<Utc>, f64)> {
    let text = file(name);
    let mut lines = text.lines().skip(3);
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let c = header.iter().position(|h| *h == col).unwrap();
    lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let end = NaiveDateTime::parse_from_str(f[0], "%Y-%m-%d %H:%M:%S")
                .unwrap()
                .and_utc();
            Some((end - Duration::hours(1), f[c].trim().parse().ok()?))
        })
        .collect()
}

/// Henry Hub daily spot: (trade date, price), the empty price skipped.
pub fn henry_hub() -> Vec<(NaiveDate, f64)> {
    file("henry_hub_spot_daily_eia_1997-01-07_2026-08-18.csv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (d, v) = l.trim().split_once(',')?;
            Some((d.parse().ok()?, v.parse().ok()?))
        })
        .collect()
}

/// A date.
pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}
