//! Fundamentals files: the EIA Wholesale Electricity Market Portal layout
//! (three preamble lines, then a header with `UTC Timestamp (Interval
//! Ending)`), EIA's Henry Hub daily spot (`Date,Price`) and the weekly gas
//! storage report (`Week ending,…`).
//!
//! The UTC column is the only clock read: the local columns contradict each
//! other on DST days. Price columns (`… LMP`, `… (Congestion)`, `… (Loss)`,
//! `… (Energy)`) load as LMP observations of the hubs they name; load and
//! temperature columns load as fundamentals. Empty cells are missing values
//! (counted, not stored); a malformed cell fails the whole file with its line
//! and column named.

use std::collections::{BTreeMap, BTreeSet};

use carbon_core::{
    Components, Instrument, InstrumentId, LocationKind, Market, MarketRun, Observation, Provenance,
};
use carbon_store::{BASE_SCENARIO, FundamentalPoint};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

use crate::{error::ParseError, parsed::Parsed};

/// What an EIA-family file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum EiaContent {
    /// Hub prices (loaded as LMP observations).
    Prices(Parsed),
    /// Fundamentals points.
    Fundamentals(FundamentalFile),
}

/// Fundamentals parsed from one file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FundamentalFile {
    /// The points, in file order.
    pub points: Vec<FundamentalPoint>,
    /// Empty cells (missing values) per column.
    pub missing: BTreeMap<String, u64>,
    /// Columns not read (observation times, unknown columns).
    pub ignored_columns: Vec<String>,
}

/// The first lines of an EIA-family file, to detect it.
pub fn looks_like(text: &str) -> Option<&'static str> {
    let mut lines = text.lines();
    let first = lines
        .next()
        .unwrap_or("")
        .trim_start_matches('\u{feff}')
        .trim();
    if first == "Date,Price" {
        return Some("henry_hub");
    }
    if first.starts_with("Week ending,") {
        return Some("storage");
    }
    let header = text.lines().nth(3).unwrap_or("");
    if header.contains("UTC Timestamp (Interval Ending)") {
        return Some("wholesale");
    }
    None
}

fn err(source: &str, line: usize, field: Option<&str>, msg: String) -> ParseError {
    ParseError::new(source, Some(line as u64), field, msg)
}

fn number(source: &str, line: usize, field: &str, text: &str) -> Result<Option<f64>, ParseError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(err(
            source,
            line,
            Some(field),
            format!("`{t}` is not a number"),
        )),
    }
}

fn lines(bytes: &[u8], source: &str) -> Result<Vec<String>, ParseError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| err(source, 1, None, format!("not UTF-8 text: {e}")))?;
    Ok(text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect())
}

fn split(line: &str) -> Vec<String> {
    // The EIA files quote nothing; a quoted cell is unquoted here anyway.
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    r.records()
        .next()
        .and_then(|x| x.ok())
        .map(|rec| rec.iter().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The non-empty data lines after `skip` header lines as (line number, cells),
/// each with exactly `width` cells.
fn rows<'a>(
    lines: &'a [String],
    skip: usize,
    width: usize,
    source: &'a str,
) -> impl Iterator<Item = Result<(usize, Vec<String>), ParseError>> + 'a {
    lines
        .iter()
        .enumerate()
        .skip(skip)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(move |(i, line)| {
            let cells = split(line);
            if cells.len() != width {
                return Err(err(
                    source,
                    i + 1,
                    None,
                    format!("{} cells for {width} columns (truncated row?)", cells.len()),
                ));
            }
            Ok((i + 1, cells))
        })
}

/// The hub an EIA price label names, per market.
fn hub(market: Market, label: &str) -> Option<&'static str> {
    let l = label.trim();
    Some(match (market, l) {
        (Market::Miso, "Arkansas Hub") => "ARKANSAS.HUB",
        (Market::Miso, "Illinois Hub") => "ILLINOIS.HUB",
        (Market::Miso, "Indiana Hub") => "INDIANA.HUB",
        (Market::Miso, "Louisiana Hub") => "LOUISIANA.HUB",
        (Market::Miso, "Michigan Hub") => "MICHIGAN.HUB",
        (Market::Miso, "Minnesota Hub") => "MINN.HUB",
        (Market::Miso, "Mississippi Hub") => "MS.HUB",
        (Market::Miso, "Texas Hub") => "TEXAS.HUB",
        (Market::Caiso, "NP-15") => "TH_NP15_GEN-APND",
        (Market::Caiso, "SP-15") => "TH_SP15_GEN-APND",
        (Market::Caiso, "ZP-26") => "TH_ZP26_GEN-APND",
        (Market::Ercot, "Bus average") => "HB_BUSAVG",
        (Market::Ercot, "Houston") => "HB_HOUSTON",
        (Market::Ercot, "Hub average") => "HB_HUBAVG",
        (Market::Ercot, "North") => "HB_NORTH",
        (Market::Ercot, "Panhandle") => "HB_PAN",
        (Market::Ercot, "South") => "HB_SOUTH",
        (Market::Ercot, "West") => "HB_WEST",
        _ => return None,
    })
}

enum Column {
    Price(String, &'static str),
    Fundamental {
        entity: String,
        variable: &'static str,
        unit: &'static str,
    },
    Ignored,
}

fn classify(market: Market, name: &str) -> Column {
    let n = name.trim();
    let price = [
        (" LMP", "lmp"),
        (" (Congestion)", "congestion"),
        (" (Loss)", "loss"),
        (" (Energy)", "energy"),
    ];
    for (suffix, comp) in price {
        if let Some(label) = n.strip_suffix(suffix)
            && let Some(h) = hub(market, label)
        {
            return Column::Price(h.to_string(), comp);
        }
    }
    if let Some(place) = n.strip_suffix(" Temperature (Fahrenheit)") {
        return Column::Fundamental {
            entity: place.to_string(),
            variable: "temperature",
            unit: "degF",
        };
    }
    for (suffix, variable) in [
        (" Actual Load (MW)", "load"),
        (" Forecast Load (MW)", "load_forecast"),
    ] {
        if let Some(zone) = n.strip_suffix(suffix) {
            let entity = match zone {
                "TOT" | "SystemTotal" => market.code().to_string(),
                z => format!("{} {z}", market.code()),
            };
            return Column::Fundamental {
                entity,
                variable,
                unit: "MW",
            };
        }
    }
    Column::Ignored
}

fn utc_stamp(source: &str, line: usize, text: &str) -> Result<DateTime<Utc>, ParseError> {
    NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
        .map(|t| t.and_utc())
        .map_err(|_| {
            err(
                source,
                line,
                Some("UTC Timestamp (Interval Ending)"),
                format!("`{}` is not YYYY-MM-DD HH:MM:SS", text.trim()),
            )
        })
}

/// Parses an EIA Wholesale Electricity Market Portal file.
pub fn parse_wholesale(
    bytes: &[u8],
    source: &str,
    vintage: DateTime<Utc>,
) -> Result<EiaContent, ParseError> {
    let lines = lines(bytes, source)?;
    if lines.len() < 4 {
        return Err(err(
            source,
            lines.len().max(1),
            None,
            "truncated: no header on line 4".into(),
        ));
    }
    let title = lines[0].trim().trim_matches('"');
    let market_word = title.split_whitespace().next().unwrap_or("");
    let market: Market = market_word.parse().map_err(|_| {
        err(
            source,
            1,
            None,
            format!("the title does not name a market: `{title}`"),
        )
    })?;
    let interval = if title.contains("15-Minute") {
        Duration::minutes(15)
    } else if title.contains("5-Minute") {
        Duration::minutes(5)
    } else if title.contains("Hourly") {
        Duration::hours(1)
    } else {
        return Err(err(
            source,
            1,
            None,
            format!("the title gives no interval (Hourly, 15-Minute, 5-Minute): `{title}`"),
        ));
    };
    let header = split(&lines[3]);
    let ts_col = header
        .iter()
        .position(|h| h.trim() == "UTC Timestamp (Interval Ending)")
        .ok_or_else(|| {
            err(
                source,
                4,
                Some("UTC Timestamp (Interval Ending)"),
                "missing column".into(),
            )
        })?;
    let columns: Vec<Column> = header.iter().map(|h| classify(market, h)).collect();
    let local = |h: &str| {
        h.starts_with("Local ")
            || h == "Local Date"
            || h == "Hour Number"
            || h.contains("Observation Time")
            || h.starts_with("UTC Timestamp")
    };
    let ignored: Vec<String> = header
        .iter()
        .zip(&columns)
        .filter(|(h, c)| matches!(c, Column::Ignored) && !local(h.trim()))
        .map(|(h, _)| h.clone())
        .collect();
    let has_prices = columns.iter().any(|c| matches!(c, Column::Price(..)));
    let run = if title.contains("Day-Ahead") {
        MarketRun::Da
    } else if interval == Duration::minutes(15) {
        MarketRun::Rtpd
    } else if interval == Duration::minutes(5) {
        MarketRun::Rt5
    } else {
        MarketRun::Rt
    };
    let mut points = Vec::new();
    let mut observations = Vec::new();
    let mut missing: BTreeMap<String, u64> = BTreeMap::new();
    let mut days = BTreeSet::new();
    let mut hubs: BTreeSet<String> = BTreeSet::new();
    for row in rows(&lines, 4, header.len(), source) {
        let (lineno, cells) = row?;
        let end = utc_stamp(source, lineno, &cells[ts_col])?;
        let start = end - interval;
        days.insert(carbon_core::time::market_date(market, start));
        let mut comps: BTreeMap<&str, Components> = BTreeMap::new();
        for (c, (col, cell)) in columns.iter().zip(&cells).enumerate() {
            match col {
                Column::Ignored => {}
                Column::Price(h, comp) => {
                    let Some(v) = number(source, lineno, &header[c], cell)? else {
                        *missing.entry(header[c].clone()).or_default() += 1;
                        continue;
                    };
                    let e = comps.entry(h.as_str()).or_default();
                    match *comp {
                        "lmp" => e.lmp = Some(v),
                        "congestion" => e.congestion = Some(v),
                        "loss" => e.loss = Some(v),
                        _ => e.energy = Some(v),
                    }
                }
                Column::Fundamental {
                    entity,
                    variable,
                    unit,
                } => {
                    let Some(v) = number(source, lineno, &header[c], cell)? else {
                        *missing.entry(header[c].clone()).or_default() += 1;
                        continue;
                    };
                    points.push(FundamentalPoint {
                        entity: entity.clone(),
                        variable: (*variable).to_string(),
                        interval_start: start,
                        interval_end: end,
                        value: v,
                        unit: (*unit).to_string(),
                        source: source.to_string(),
                        vintage,
                        scenario_id: BASE_SCENARIO.to_string(),
                    });
                }
            }
        }
        for (h, mut v) in comps {
            if v.lmp.is_none() {
                continue;
            }
            if v.energy.is_none()
                && let (Some(l), Some(c), Some(s)) = (v.lmp, v.congestion, v.loss)
            {
                v.energy = Some(((l - c - s) * 1e6).round() / 1e6);
            }
            hubs.insert(h.to_string());
            observations.push(Observation {
                instrument_id: InstrumentId::new(market, h)
                    .map_err(|e| err(source, lineno, None, e.to_string()))?,
                market_run: run,
                interval_start: start,
                interval_end: end,
                values: v,
                vintage,
                provenance: Provenance::new(source, Some(lineno as u64)),
            });
        }
    }
    if has_prices {
        let instruments = hubs
            .iter()
            .map(|h| InstrumentId::new(market, h).map(|id| Instrument::new(id, LocationKind::Hub)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(source, 4, None, e.to_string()))?;
        return Ok(EiaContent::Prices(Parsed {
            market,
            market_runs: [run].into_iter().collect(),
            instruments,
            observations: observations.into(),
            market_days: days,
        }));
    }
    Ok(EiaContent::Fundamentals(FundamentalFile {
        points,
        missing,
        ignored_columns: ignored,
    }))
}

/// Parses EIA's Henry Hub daily spot file (`Date,Price`; a trade date is
/// stored as that UTC day).
pub fn parse_henry_hub(
    bytes: &[u8],
    source: &str,
    vintage: DateTime<Utc>,
) -> Result<EiaContent, ParseError> {
    let lines = lines(bytes, source)?;
    let mut out = FundamentalFile::default();
    let mut last: Option<NaiveDate> = None;
    for row in rows(&lines, 1, 2, source) {
        let (lineno, cells) = row?;
        let date = NaiveDate::parse_from_str(cells[0].trim(), "%Y-%m-%d").map_err(|_| {
            err(
                source,
                lineno,
                Some("Date"),
                format!("`{}` is not YYYY-MM-DD", cells[0].trim()),
            )
        })?;
        if last.is_some_and(|l| date <= l) {
            return Err(err(
                source,
                lineno,
                Some("Date"),
                format!("{date} is not after the previous row's date"),
            ));
        }
        last = Some(date);
        let Some(v) = number(source, lineno, "Price", &cells[1])? else {
            *out.missing.entry("Price".into()).or_default() += 1;
            continue;
        };
        let start = date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        out.points.push(FundamentalPoint {
            entity: "Henry Hub".into(),
            variable: "spot_price".into(),
            interval_start: start,
            interval_end: start + Duration::days(1),
            value: v,
            unit: "USD/MMBtu".into(),
            source: source.to_string(),
            vintage,
            scenario_id: BASE_SCENARIO.into(),
        });
    }
    Ok(EiaContent::Fundamentals(out))
}

/// Parses the weekly gas storage file: one series per region column, each
/// week `[week ending − 6 days, week ending + 1 day)` in UTC days.
pub fn parse_storage(
    bytes: &[u8],
    source: &str,
    vintage: DateTime<Utc>,
) -> Result<EiaContent, ParseError> {
    let lines = lines(bytes, source)?;
    let header = split(lines.first().map(String::as_str).unwrap_or(""));
    if header.len() < 2 || header[0].trim() != "Week ending" {
        return Err(err(
            source,
            1,
            Some("Week ending"),
            "the header must start with `Week ending`".into(),
        ));
    }
    let mut out = FundamentalFile::default();
    for row in rows(&lines, 1, header.len(), source) {
        let (lineno, cells) = row?;
        let end = NaiveDate::parse_from_str(cells[0].trim(), "%d-%b-%y").map_err(|_| {
            err(
                source,
                lineno,
                Some("Week ending"),
                format!("`{}` is not DD-Mon-YY", cells[0].trim()),
            )
        })?;
        let start = (end - Duration::days(6))
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc();
        for (c, cell) in cells.iter().enumerate().skip(1) {
            let Some(v) = number(source, lineno, &header[c], cell)? else {
                *out.missing.entry(header[c].clone()).or_default() += 1;
                continue;
            };
            out.points.push(FundamentalPoint {
                entity: header[c].trim().to_string(),
                variable: "storage".into(),
                interval_start: start,
                interval_end: start + Duration::days(7),
                value: v,
                unit: "Bcf".into(),
                source: source.to_string(),
                vintage,
                scenario_id: BASE_SCENARIO.into(),
            });
        }
    }
    Ok(EiaContent::Fundamentals(out))
}

/// Parses any EIA-family file (detected from its first lines).
pub fn parse(bytes: &[u8], source: &str, vintage: DateTime<Utc>) -> Result<EiaContent, ParseError> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(8192)]).to_string();
    match looks_like(&head) {
        Some("henry_hub") => parse_henry_hub(bytes, source, vintage),
        Some("storage") => parse_storage(bytes, source, vintage),
        Some(_) => parse_wholesale(bytes, source, vintage),
        None => Err(err(
            source,
            1,
            None,
            "not an EIA wholesale, Henry Hub or gas storage file".into(),
        )),
    }
}
