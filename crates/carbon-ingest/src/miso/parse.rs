//! MISO market reports (`{YYYYMMDD}_{da_expost_lmp|da_exante_lmp|rt_lmp_final|rt_lmp_prelim}.csv`)
//! and the public 5-minute JSON API.
//!
//! Report layout: a title line, the operating date (`07/14/2026`, possibly
//! unpadded `9/26/2026`), a blank line, a note, then `Node,Type,Value,HE 1..HE 24`
//! and blocks of `LMP`/`MCC`/`MLC` rows. Hours are EST all year: HE n starts at
//! midnight EST + (n−1) h. Energy = LMP − MCC − MLC.

use std::collections::{BTreeSet, HashMap};

use carbon_core::{
    Components, Instrument, InstrumentId, LocationKind, Market, MarketRun, Observation,
    ObservationBatch, Provenance, time,
};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::{error::ParseError, parsed::Parsed};

/// Rounds a derived value to 1e-6 so that `37.82 − 1.65 − 1.55` is 34.62.
/// The same double as `(v * 1e6).round() / 1e6`, without a call into libm
/// (which `f64::round` is on baseline x86-64): below 2^52 the fraction
/// `y − trunc(y)` is exact, so rounding half away from zero is a compare.
pub(crate) fn round6(v: f64) -> f64 {
    let y = v * 1e6;
    // Large or not a number: the general path.
    if y.is_nan() || y.abs() >= 4.0e15 {
        return y.round() / 1e6;
    }
    let t = y as i64;
    let f = y - t as f64;
    let r = if f >= 0.5 {
        t + 1
    } else if f <= -0.5 {
        t - 1
    } else {
        t
    };
    // `-0.4` rounds to −0, as `f64::round` gives.
    if r == 0 {
        0.0f64.copysign(y) / 1e6
    } else {
        r as f64 / 1e6
    }
}

/// The market run named by a report's title or file name.
pub fn report_run(title: &str, file_name: &str) -> Option<MarketRun> {
    let f = file_name.to_ascii_lowercase();
    for (key, run) in [
        ("da_expost_lmp", MarketRun::Da),
        ("da_exante_lmp", MarketRun::DaExante),
        ("rt_lmp_final", MarketRun::Rt),
        ("rt_lmp_prelim", MarketRun::RtPrelim),
    ] {
        if f.contains(key) {
            return Some(run);
        }
    }
    let t = title.to_ascii_lowercase().replace(['-', '_'], " ");
    let day_ahead = t.contains("day ahead");
    let real_time = t.contains("real time");
    if day_ahead && (t.contains("expost") || t.contains("ex post")) {
        Some(MarketRun::Da)
    } else if day_ahead && (t.contains("exante") || t.contains("ex ante")) {
        Some(MarketRun::DaExante)
    } else if real_time && t.contains("prelim") {
        Some(MarketRun::RtPrelim)
    } else if real_time && (t.contains("final") || t.contains("expost") || t.contains("ex post")) {
        Some(MarketRun::Rt)
    } else {
        None
    }
}

fn node_kind(t: &str) -> LocationKind {
    match t.trim().to_ascii_lowercase().as_str() {
        "hub" => LocationKind::Hub,
        "interface" => LocationKind::Interface,
        "loadzone" | "load zone" => LocationKind::Zone,
        "gennode" | "generator" => LocationKind::Generator,
        _ => LocationKind::Node,
    }
}

/// Parses a number as MISO writes it (`.61`, `-.79`, `200`, `31.5`).
pub(crate) fn number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(v) = plain_decimal(t.as_bytes()) {
        return Some(v);
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Exact powers of ten as `f64` (every one up to 1e22 is representable).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The fast path for `[-+]digits[.digits]` with at most 15 significant digits:
/// the digits form an integer `m < 2^53` and the value is `m / 10^k`, one
/// correctly rounded division of two exact doubles — the same double that
/// `str::parse` returns (Clinger's fast path). Anything else (exponents, more
/// digits, stray characters) returns `None` and takes the general parser.
fn plain_decimal(b: &[u8]) -> Option<f64> {
    match scan_decimal(b, 0) {
        (Some(v), end) if end == b.len() => Some(v),
        _ => None,
    }
}

/// Reads `[-+]digits[.digits]` from `b[pos..]`: where the reading stopped,
/// and the value when at least one and at most 15 digits were read.
fn scan_decimal(b: &[u8], mut pos: usize) -> (Option<f64>, usize) {
    let negative = match b.get(pos) {
        Some(b'-') => {
            pos += 1;
            true
        }
        Some(b'+') => {
            pos += 1;
            false
        }
        _ => false,
    };
    // Integer digits, then (after one `.`) fraction digits, into one integer.
    let mut m = 0u64;
    let mut digits_from = |pos: &mut usize| {
        let from = *pos;
        while let Some(d) = b
            .get(*pos)
            .map(|c| c.wrapping_sub(b'0'))
            .filter(|d| *d <= 9)
        {
            m = m.wrapping_mul(10).wrapping_add(u64::from(d));
            *pos += 1;
        }
        *pos - from
    };
    let mut digits = digits_from(&mut pos);
    let mut frac = 0;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        frac = digits_from(&mut pos);
        digits += frac;
    }
    let value = (1..=15).contains(&digits).then(|| {
        let v = m as f64 / POW10[frac];
        if negative { -v } else { v }
    });
    (value, pos)
}

/// Why the hour cells of a row could not be read.
enum CellError<'a> {
    /// Not 24 cells: how many there were.
    Count(usize),
    /// Cell `h` (0-based) is not a number: its text.
    Number(usize, &'a str),
}

/// Reads the 24 hour cells after `Node,Type,Value,` in one pass: plain
/// decimals are parsed ([`scan_decimal`]) while the separators are found;
/// anything else (spaces, exponents, long mantissas) goes through [`number`].
/// Empty cells are `None`.
fn hour_cells<'a>(rest: &'a str, out: &mut [Option<f64>; 24]) -> Result<(), CellError<'a>> {
    let b = rest.as_bytes();
    let mut pos = 0usize;
    let mut h = 0usize;
    let mut bad: Option<(usize, &'a str)> = None;
    loop {
        let start = pos;
        let (fast, end) = scan_decimal(b, pos);
        pos = end;
        let at_end = match b.get(pos) {
            None | Some(b',') => true,
            Some(b'\r') => pos + 1 == b.len(),
            Some(_) => false,
        };
        let value = match fast {
            Some(v) if at_end => Some(v),
            _ => {
                // General path for this cell.
                while !matches!(b.get(pos), None | Some(b',')) {
                    pos += 1;
                }
                let text = &rest[start..pos];
                if text.trim().is_empty() {
                    None
                } else {
                    let v = number(text);
                    if v.is_none() && bad.is_none() {
                        bad = Some((h, text));
                    }
                    v
                }
            }
        };
        if h < 24 {
            out[h] = value;
        }
        h += 1;
        // Here `pos` is at a comma, the end, or a final `\r`.
        if b.get(pos) == Some(&b',') {
            pos += 1;
        } else {
            break;
        }
    }
    // A wrong count is reported before a bad number, as a truncated row
    // usually also cuts a number short.
    if h != 24 {
        return Err(CellError::Count(h));
    }
    match bad {
        Some((h, text)) => Err(CellError::Number(h, text)),
        None => Ok(()),
    }
}

/// A node's values, gathered from its LMP, MCC and MLC lines.
struct NodeRows {
    name: String,
    kind: LocationKind,
    /// `[LMP, MCC, MLC]` per hour; 0 where absent.
    values: [[f64; 3]; 24],
    /// Per value (LMP, MCC, MLC): bit `h` set when hour `h` has one.
    present: [u32; 3],
    /// The node's first line.
    line: usize,
}

/// Parses a MISO market report.
pub fn parse_market_report(
    bytes: &[u8],
    source: &str,
    vintage: DateTime<Utc>,
) -> Result<Parsed, ParseError> {
    let err = |line: usize, field: Option<&str>, msg: String| {
        ParseError::new(source, Some(line as u64), field, msg)
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ParseError::new(source, None, None, format!("not UTF-8 text: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() < 5 {
        return Err(ParseError::new(
            source,
            None,
            None,
            format!(
                "a MISO report has at least 5 lines; this has {}",
                lines.len()
            ),
        ));
    }
    let title = lines[0].trim().trim_matches(',');
    let file_name = std::path::Path::new(source)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or("");
    let run = report_run(title, file_name).ok_or_else(|| {
        err(
            1,
            Some("title"),
            format!("cannot tell the market run from title `{title}` or file name `{file_name}`"),
        )
    })?;
    let date_text = lines[1].trim().trim_matches(',').trim();
    let date = NaiveDate::parse_from_str(date_text, "%m/%d/%Y").map_err(|_| {
        err(
            2,
            Some("date"),
            format!("expected the operating date as M/D/YYYY, found `{date_text}`"),
        )
    })?;
    let header_idx = lines
        .iter()
        .position(|l| l.trim_start().starts_with("Node,Type,Value"))
        .ok_or_else(|| {
            err(
                5,
                Some("header"),
                "no `Node,Type,Value,HE 1,…,HE 24` header line".to_string(),
            )
        })?;
    let header: Vec<&str> = lines[header_idx].split(',').map(str::trim).collect();
    let hours = header.len().saturating_sub(3);
    if hours != 24 || (1..=24).any(|h| header[2 + h] != format!("HE {h}")) {
        return Err(err(
            header_idx + 1,
            Some("header"),
            "expected columns Node,Type,Value,HE 1 … HE 24".to_string(),
        ));
    }
    let day_start = time::day_start(Market::Miso, date);

    // node → (kind, [lmp, mcc, mlc] per hour, first line)
    // Three rows (LMP, MCC, MLC) per node.
    let mut nodes: Vec<NodeRows> = Vec::with_capacity(lines.len() / 3 + 1);
    // Fx: a file's node names can only slow down the parse of that file.
    let mut index: HashMap<&str, usize, carbon_core::hash::Fx> =
        HashMap::with_capacity_and_hasher(lines.len() / 3 + 1, Default::default());
    // A node's LMP, MCC and MLC rows are usually adjacent: remember the last.
    let mut last: Option<(&str, usize)> = None;
    let mut cells: [Option<f64>; 24] = [None; 24];
    for (i, line) in lines.iter().enumerate().skip(header_idx + 1) {
        let line_no = i + 1;
        let bytes = line.as_bytes();
        // Blank lines and lines of commas only are allowed (trailing rows).
        if bytes.iter().all(|b| *b == b',' || b.is_ascii_whitespace()) {
            continue;
        }
        // Node, Type, Value: the first three fields (commas found byte by
        // byte: `str::splitn` compares each match as a `char`).
        let comma = |from: usize| {
            bytes
                .get(from..)
                .and_then(|b| b.iter().position(|c| *c == b','))
                .map(|p| from + p)
        };
        let heads =
            comma(0).and_then(|a| comma(a + 1).and_then(|b| comma(b + 1).map(|c| (a, b, c))));
        let Some((node, kind_text, value, rest)) =
            heads.map(|(a, b, c)| (&line[..a], &line[a + 1..b], &line[b + 1..c], &line[c + 1..]))
        else {
            let n = line.split(',').count();
            return Err(err(
                line_no,
                None,
                format!("expected 27 fields (Node, Type, Value, HE 1..HE 24), found {n}"),
            ));
        };
        let read = hour_cells(rest, &mut cells);
        if let Err(CellError::Count(n)) = read {
            return Err(err(
                line_no,
                None,
                format!(
                    "expected 27 fields (Node, Type, Value, HE 1..HE 24), found {}",
                    n + 3
                ),
            ));
        }
        let node = node.trim();
        if node.is_empty() {
            return Err(err(line_no, Some("Node"), "empty node name".to_string()));
        }
        let slot = match value.trim() {
            "LMP" => 0,
            "MCC" => 1,
            "MLC" => 2,
            other => {
                return Err(err(
                    line_no,
                    Some("Value"),
                    format!("expected LMP, MCC or MLC, found `{other}`"),
                ));
            }
        };
        if let Err(CellError::Number(h, text)) = read {
            return Err(err(
                line_no,
                Some(&format!("HE {}", h + 1)),
                format!("`{}` is not a number", text.trim()),
            ));
        }
        // The node of the last row, the one after it (files that list all
        // LMP rows, then all MCC rows…) or the first: else the index.
        let guess = |k: usize| nodes.get(k).is_some_and(|n| n.name == node).then_some(k);
        let predicted = match last {
            Some((name, k)) if name == node => Some(k),
            Some((_, k)) => guess(k + 1).or_else(|| guess(0)),
            None => None,
        };
        let k = match predicted {
            Some(k) => {
                last = Some((node, k));
                k
            }
            None => {
                let k = *index.entry(node).or_insert_with(|| {
                    nodes.push(NodeRows {
                        name: node.to_string(),
                        kind: node_kind(kind_text),
                        values: [[0.0; 3]; 24],
                        present: [0; 3],
                        line: line_no,
                    });
                    nodes.len() - 1
                });
                last = Some((node, k));
                k
            }
        };
        let rows = &mut nodes[k];
        let mut seen = 0u32;
        for (h, cell) in cells.iter().enumerate() {
            if let Some(v) = *cell {
                rows.values[h][slot] = v;
                seen |= 1 << h;
            }
        }
        if rows.present[slot] & seen != 0 {
            return Err(err(
                line_no,
                Some("Value"),
                format!("second {} row for {node}", value.trim()),
            ));
        }
        rows.present[slot] |= seen;
    }
    let mut out = Parsed {
        market: Market::Miso,
        market_runs: BTreeSet::from([run]),
        instruments: Vec::with_capacity(nodes.len()),
        observations: ObservationBatch::with_capacity(nodes.len() * 24),
        market_days: BTreeSet::from([date]),
    };
    // HE n starts n − 1 hours after midnight EST (no DST on MISO's clock).
    let hour_starts: Vec<DateTime<Utc>> =
        (0..=24).map(|h| day_start + Duration::hours(h)).collect();
    // One shared copy of the source for every row.
    let shared_source: std::sync::Arc<str> = std::sync::Arc::from(source);
    let source_index = out.observations.add_source(&shared_source);
    for n in nodes {
        let line_no = n.line;
        let id = InstrumentId::new(Market::Miso, &n.name)
            .map_err(|e| err(line_no, Some("Node"), e.to_string()))?;
        let id_index = out.observations.add_instrument(&id);
        out.instruments.push(Instrument::new(id, n.kind));
        for (h, [l, c, m]) in n.values.iter().enumerate() {
            let has = |slot: usize| n.present[slot] & (1 << h) != 0;
            let (lmp, mcc, mlc) = (
                has(0).then_some(*l),
                has(1).then_some(*c),
                has(2).then_some(*m),
            );
            if lmp.is_none() && mcc.is_none() && mlc.is_none() {
                continue;
            }
            let energy = match (lmp, mcc, mlc) {
                (Some(l), Some(c), Some(m)) => Some(round6(l - c - m)),
                _ => None,
            };
            out.observations.push_row(
                id_index,
                run,
                hour_starts[h],
                hour_starts[h + 1],
                &Components {
                    lmp,
                    energy,
                    congestion: mcc,
                    loss: mlc,
                    ghg: None,
                },
                vintage,
                source_index,
                Some(line_no as u64),
            );
        }
    }
    Ok(out)
}

/// Parses the public API's `GetRealTimeFiveMinExPost` JSON:
/// `{"headers":["INTERVAL","CPNODE","LMP","MLC","MCC"],"data":[[…strings…]]}` with
/// naive EST interval starts.
pub fn parse_five_minute_json(
    bytes: &[u8],
    source: &str,
    vintage: DateTime<Utc>,
) -> Result<Parsed, ParseError> {
    #[derive(serde::Deserialize)]
    struct Doc {
        headers: Vec<String>,
        data: Vec<Vec<serde_json::Value>>,
    }
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| {
        ParseError::new(
            source,
            Some(e.line() as u64),
            None,
            format!("not MISO 5-minute JSON: {e}"),
        )
    })?;
    let col = |name: &str| {
        doc.headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ParseError::new(
                    source,
                    None,
                    Some("headers"),
                    format!("missing column `{name}` (have {})", doc.headers.join(",")),
                )
            })
    };
    let (ci, cn, cl, cm, cc) = (
        col("INTERVAL")?,
        col("CPNODE")?,
        col("LMP")?,
        col("MLC")?,
        col("MCC")?,
    );
    let est = Market::Miso.zone();
    let mut out = Parsed {
        market: Market::Miso,
        market_runs: BTreeSet::from([MarketRun::Rt5]),
        instruments: Vec::new(),
        observations: ObservationBatch::with_capacity(doc.data.len()),
        market_days: BTreeSet::new(),
    };
    let mut seen = HashMap::new();
    let shared_source: std::sync::Arc<str> = std::sync::Arc::from(source);
    for (i, row) in doc.data.iter().enumerate() {
        let rec = i as u64 + 1;
        let field = |c: usize, name: &str| -> Result<String, ParseError> {
            match row.get(c) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
                _ => Err(ParseError::new(
                    source,
                    Some(rec),
                    Some(name),
                    format!("record {rec} has no {name}"),
                )),
            }
        };
        let t = field(ci, "INTERVAL")?;
        let naive = NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S").map_err(|_| {
            ParseError::new(
                source,
                Some(rec),
                Some("INTERVAL"),
                format!("`{t}` is not YYYY-MM-DDTHH:MM:SS"),
            )
        })?;
        let start = est
            .from_local_datetime(&naive)
            .single()
            .map(|d| d.with_timezone(&Utc))
            .ok_or_else(|| {
                ParseError::new(
                    source,
                    Some(rec),
                    Some("INTERVAL"),
                    format!("`{t}` is not a valid EST time"),
                )
            })?;
        let node = field(cn, "CPNODE")?;
        let num = |c: usize, name: &str| -> Result<f64, ParseError> {
            let s = field(c, name)?;
            number(&s).ok_or_else(|| {
                ParseError::new(
                    source,
                    Some(rec),
                    Some(name),
                    format!("`{s}` is not a number"),
                )
            })
        };
        let (lmp, mlc, mcc) = (num(cl, "LMP")?, num(cm, "MLC")?, num(cc, "MCC")?);
        let id = InstrumentId::new(Market::Miso, node.trim())
            .map_err(|e| ParseError::new(source, Some(rec), Some("CPNODE"), e.to_string()))?;
        if !seen.contains_key(id.as_str()) {
            seen.insert(id.to_string(), ());
            // The API does not type nodes; hubs are named `*.HUB`.
            let kind = if id.node().ends_with(".HUB") {
                LocationKind::Hub
            } else {
                LocationKind::Node
            };
            out.instruments.push(Instrument::new(id.clone(), kind));
        }
        out.market_days
            .insert(time::market_date(Market::Miso, start));
        out.observations.push(Observation {
            instrument_id: id,
            market_run: MarketRun::Rt5,
            interval_start: start,
            interval_end: start + Duration::minutes(5),
            values: Components {
                lmp: Some(lmp),
                energy: Some(round6(lmp - mcc - mlc)),
                congestion: Some(mcc),
                loss: Some(mlc),
                ghg: None,
            },
            vintage,
            provenance: Provenance::new(shared_source.clone(), Some(rec)),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn std_number(t: &str) -> Option<f64> {
        let t = t.trim();
        if t.is_empty() {
            return None;
        }
        t.parse::<f64>().ok().filter(|v| v.is_finite())
    }

    proptest! {
        /// The decimal fast path gives exactly the double `str::parse` gives.
        #[test]
        fn fast_decimals_equal_std(
            neg in any::<bool>(),
            int in "[0-9]{0,12}",
            frac in proptest::option::of("[0-9]{0,9}"),
        ) {
            let text = format!("{}{int}{}", if neg { "-" } else { "" },
                frac.as_ref().map(|f| format!(".{f}")).unwrap_or_default());
            let want = std_number(&text);
            prop_assert_eq!(number(&text).map(f64::to_bits), want.map(f64::to_bits), "{}", text);
            let row = format!("{text},{}", vec!["1"; 23].join(","));
            let mut cells = [None; 24];
            match hour_cells(&row, &mut cells) {
                Ok(()) => prop_assert_eq!(cells[0].map(f64::to_bits), want.map(f64::to_bits)),
                Err(CellError::Number(0, t)) => prop_assert!(want.is_none(), "{} rejected", t),
                Err(_) => prop_assert!(false, "{}: wrong error", text),
            }
        }

        /// Any cell text: the row reader agrees with splitting and `number`.
        #[test]
        fn row_reader_equals_split(cells in proptest::collection::vec("[-+0-9. eE]{0,8}", 20..28)) {
            let row = cells.join(",");
            let mut got = [None; 24];
            let read = hour_cells(&row, &mut got);
            if cells.len() != 24 {
                prop_assert!(matches!(read, Err(CellError::Count(n)) if n == cells.len()));
            } else {
                let want: Vec<Option<f64>> = cells.iter().map(|c| std_number(c)).collect();
                let first_bad = cells
                    .iter()
                    .position(|c| !c.trim().is_empty() && std_number(c).is_none());
                match (read, first_bad) {
                    (Ok(()), None) => prop_assert_eq!(
                        got.iter().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>(),
                        want.iter().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>()
                    ),
                    (Err(CellError::Number(h, _)), Some(b)) => prop_assert_eq!(h, b),
                    _ => prop_assert!(false, "disagree on {}", row),
                }
            }
        }
    }

    proptest! {
        /// `round6` gives exactly the double the libm rounding gives.
        #[test]
        fn round6_equals_libm(v in proptest::num::f64::ANY, m in -1e7f64..1e7, k in 0u32..8) {
            let libm = |v: f64| (v * 1e6).round() / 1e6;
            prop_assert_eq!(round6(v).to_bits(), libm(v).to_bits(), "{}", v);
            // Values near ties and sums of short decimals, like derived energy.
            let t = (m.trunc() + 0.5) / 1e6;
            prop_assert_eq!(round6(t).to_bits(), libm(t).to_bits(), "{}", t);
            let d = m / 10f64.powi(k as i32) - 1.65 - 1.55;
            prop_assert_eq!(round6(d).to_bits(), libm(d).to_bits(), "{}", d);
        }
    }

    /// Rows of a node next to each other (MISO's files) or in blocks of all
    /// LMP rows, then all MCC rows… (the synthetic files) parse the same.
    #[test]
    fn row_order_does_not_matter() {
        let blocks = carbon_testkit_free_report();
        let (head, body) = blocks.split_at(blocks.find("N0,").unwrap_or(0));
        let lines: Vec<&str> = body.lines().collect();
        let n = lines.len() / 3;
        let mut adjacent = head.to_string();
        for k in 0..n {
            for b in 0..3 {
                adjacent.push_str(lines[b * n + k]);
                adjacent.push('\n');
            }
        }
        let mut shuffled = head.to_string();
        for k in (0..lines.len()).rev() {
            shuffled.push_str(lines[(k * 7) % lines.len()]);
            shuffled.push('\n');
        }
        let v: DateTime<Utc> = "2025-03-01T00:00:00Z".parse().unwrap();
        let parse = |t: &str| parse_market_report(t.as_bytes(), "x_da_expost_lmp.csv", v).unwrap();
        let a = parse(&blocks);
        assert_eq!(a.observations.len(), 5 * 24);
        let b = parse(&adjacent);
        // Same rows; a node's provenance is its first line, which moves.
        let strip = |p: &Parsed| {
            p.observations
                .iter()
                .map(|mut o| {
                    o.provenance.row = None;
                    o
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&a), strip(&b));
        let c = parse(&shuffled);
        let mut want = strip(&a);
        let mut got = strip(&c);
        let key = |o: &Observation| (o.instrument_id.clone(), o.interval_start);
        want.sort_by_key(key);
        got.sort_by_key(key);
        assert_eq!(want, got);
        // A repeated row is still found, whichever way the node was found.
        let again = format!("{blocks}{}\n", lines[n + 2]);
        let e = parse_market_report(again.as_bytes(), "x_da_expost_lmp.csv", v).unwrap_err();
        assert!(e.to_string().contains("second MCC row for N2"), "{e}");
    }

    /// A small report in blocks: 5 nodes × LMP, MCC, MLC.
    fn carbon_testkit_free_report() -> String {
        let mut s =
            String::from("Day Ahead Market ExPost LMPs\n3/1/2025\n\n,,,note\nNode,Type,Value");
        for h in 1..=24 {
            s.push_str(&format!(",HE {h}"));
        }
        s.push('\n');
        for (value, base) in [("LMP", 30.0), ("MCC", 1.0), ("MLC", 0.5)] {
            for n in 0..5 {
                s.push_str(&format!("N{n},Gennode,{value}"));
                for h in 0..24 {
                    s.push_str(&format!(",{}", base + (n * 24 + h) as f64 / 100.0));
                }
                s.push('\n');
            }
        }
        s
    }

    #[test]
    fn hour_cells_edge_cases() {
        let mut c = [None; 24];
        let ones = vec!["1"; 23].join(",");
        for (cell, want) in [
            (".61", Some(0.61)),
            ("-.79", Some(-0.79)),
            ("200", Some(200.0)),
            ("5.", Some(5.0)),
            ("-0", Some(-0.0)),
            ("", None),
            ("  ", None),
            (" 31.5 ", Some(31.5)),
            ("1e3", Some(1000.0)),
            ("+4", Some(4.0)),
            ("1234567890.123456", Some(1_234_567_890.123_456)),
        ] {
            let row = format!("{cell},{ones}");
            assert!(hour_cells(&row, &mut c).is_ok(), "{cell:?}");
            assert_eq!(c[0].map(f64::to_bits), want.map(f64::to_bits), "{cell:?}");
        }
        // A final carriage return ends the row; one inside a cell is an error.
        assert!(hour_cells(&format!("{ones},7\r"), &mut c).is_ok());
        assert_eq!(c[23], Some(7.0));
        assert!(matches!(
            hour_cells(&format!("7\rx,{ones}"), &mut c),
            Err(CellError::Number(0, _))
        ));
        for bad in ["-", ".", "1.2.3", "12a", "nan", "inf"] {
            let row = format!("{bad},{ones}");
            assert!(
                matches!(hour_cells(&row, &mut c), Err(CellError::Number(0, _))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            hour_cells(&ones, &mut c),
            Err(CellError::Count(23))
        ));
        assert!(matches!(
            hour_cells(&format!("{ones},1,1"), &mut c),
            Err(CellError::Count(25))
        ));
    }
}
