//! CAISO OASIS `SingleZip` results (`resultformat=6`): a zip of CSVs, or a zip
//! holding an XML document when OASIS has no data or rejects the request.
//!
//! `*_GMT` columns are authoritative for interval start and end. Components
//! are rows by `LMP_TYPE` (LMP, MCE, MCC, MCL, MGHG); the price column is `MW`
//! (PRC_LMP), `PRC` (PRC_RTPD_LMP) or `VALUE` (PRC_INTVL_LMP). Rows are unsorted.
//! `OPR_DT` is checked against the Pacific market day of the GMT start.

use std::{
    collections::{BTreeSet, HashMap},
    io::{Cursor, Read},
};

use carbon_core::{
    Component, Components, Instrument, InstrumentId, LocationKind, Market, MarketRun, Observation,
    Provenance, time,
};
use chrono::{DateTime, NaiveDate, Utc};

use crate::{error::ParseError, parsed::Parsed};

/// What an OASIS zip held.
#[derive(Debug, Clone, PartialEq)]
pub enum OasisPayload {
    /// Parsed price rows.
    Prices(Parsed),
    /// An XML report instead of CSV: OASIS had no data or refused the request.
    Report {
        /// `ERR_CODE` when present.
        code: Option<String>,
        /// `ERR_DESC` (or the whole text when no description is found).
        message: String,
    },
}

impl OasisPayload {
    /// True when the XML report says there was simply no data (code 1000).
    pub fn is_no_data(&self) -> bool {
        matches!(self, OasisPayload::Report { code: Some(c), .. } if c == "1000")
    }
}

/// Kind of a CAISO node from its name.
pub fn node_kind(node: &str) -> LocationKind {
    if node.starts_with("TH_") {
        LocationKind::Hub
    } else if node.starts_with("DLAP_") || node.contains("_SLAP") {
        LocationKind::Zone
    } else if node.ends_with("-APND") {
        LocationKind::Aggregate
    } else {
        LocationKind::Node
    }
}

fn run_of(id: &str) -> Option<MarketRun> {
    match id.trim() {
        "DAM" => Some(MarketRun::Da),
        "RTPD" => Some(MarketRun::Rtpd),
        "RTM" => Some(MarketRun::Rt5),
        _ => None,
    }
}

fn component_of(t: &str) -> Option<Component> {
    match t.trim() {
        "LMP" => Some(Component::Lmp),
        "MCE" => Some(Component::Energy),
        "MCC" => Some(Component::Congestion),
        "MCL" => Some(Component::Loss),
        "MGHG" => Some(Component::Ghg),
        _ => None,
    }
}

fn xml_tag(text: &str, tag: &str) -> Option<String> {
    let open = text.find(&format!("{tag}>"))? + tag.len() + 1;
    let close = text[open..].find("</")? + open;
    Some(text[open..close].trim().to_string())
}

/// Reads an OASIS response: a zip (CSV or XML inside) or a bare CSV.
pub fn parse_oasis(
    bytes: &[u8],
    source: &str,
    vintage: DateTime<Utc>,
) -> Result<OasisPayload, ParseError> {
    if !bytes.starts_with(b"PK") {
        if bytes.trim_ascii_start().starts_with(b"<") {
            return Ok(xml_report(bytes));
        }
        return parse_csv(bytes, source, vintage).map(OasisPayload::Prices);
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ParseError::new(source, None, None, format!("not a readable zip: {e}")))?;
    let mut csvs: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| ParseError::new(source, None, None, format!("zip entry {i}: {e}")))?;
        let name = f
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| format!("entry{i}"));
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)
            .map_err(|e| ParseError::new(source, None, None, format!("zip entry {name}: {e}")))?;
        if name.to_ascii_lowercase().ends_with(".xml") || buf.trim_ascii_start().starts_with(b"<") {
            return Ok(xml_report(&buf));
        }
        csvs.push((name, buf));
    }
    if csvs.is_empty() {
        return Err(ParseError::new(
            source,
            None,
            None,
            "the zip holds no file".to_string(),
        ));
    }
    let mut merged: Option<Parsed> = None;
    for (name, buf) in csvs {
        let p = parse_csv(&buf, &format!("{source}!{name}"), vintage)?;
        merged = Some(match merged {
            None => p,
            Some(mut m) => {
                m.market_runs.extend(p.market_runs);
                m.market_days.extend(p.market_days);
                for i in p.instruments {
                    if !m.instruments.iter().any(|x| x.id == i.id) {
                        m.instruments.push(i);
                    }
                }
                m.observations.extend(p.observations);
                m
            }
        });
    }
    merged
        .map(OasisPayload::Prices)
        .ok_or_else(|| ParseError::new(source, None, None, "no CSV in the zip".to_string()))
}

fn xml_report(bytes: &[u8]) -> OasisPayload {
    let text = String::from_utf8_lossy(bytes);
    let code = xml_tag(&text, "ERR_CODE");
    let message = xml_tag(&text, "ERR_DESC").unwrap_or_else(|| text.chars().take(500).collect());
    OasisPayload::Report { code, message }
}

/// Parses one OASIS price CSV.
pub fn parse_csv(bytes: &[u8], source: &str, vintage: DateTime<Utc>) -> Result<Parsed, ParseError> {
    let shared_source: std::sync::Arc<str> = std::sync::Arc::from(source);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers = rdr
        .byte_headers()
        .map_err(|e| {
            ParseError::new(
                source,
                Some(1),
                Some("header"),
                format!("unreadable header: {e}"),
            )
        })?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name.as_bytes()))
    };
    let need = |name: &'static str| {
        col(name).ok_or_else(|| {
            ParseError::new(
                source,
                Some(1),
                Some(name),
                format!("missing column {name}"),
            )
        })
    };
    let c_start = need("INTERVALSTARTTIME_GMT")?;
    let c_end = need("INTERVALENDTIME_GMT")?;
    let c_node = col("NODE").or_else(|| col("NODE_ID")).ok_or_else(|| {
        ParseError::new(
            source,
            Some(1),
            Some("NODE"),
            "missing column NODE (or NODE_ID)".to_string(),
        )
    })?;
    let c_run = need("MARKET_RUN_ID")?;
    let c_type = need("LMP_TYPE")?;
    let c_price = col("MW")
        .or_else(|| col("PRC"))
        .or_else(|| col("VALUE"))
        .ok_or_else(|| {
            ParseError::new(
                source,
                Some(1),
                Some("MW"),
                "missing the price column (MW, PRC or VALUE)".to_string(),
            )
        })?;
    let c_oprdt = col("OPR_DT");

    type Key = (usize, MarketRun, i64);
    let mut nodes: Vec<InstrumentId> = Vec::new();
    let mut node_index: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut rows: HashMap<Key, (Components, DateTime<Utc>, DateTime<Utc>, u64)> = HashMap::new();
    let mut order: Vec<Key> = Vec::new();
    let mut runs = BTreeSet::new();
    let mut days = BTreeSet::new();
    let mut rec = csv::ByteRecord::new();
    let mut line: u64 = 1;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let l = e.position().map(|p| p.line()).unwrap_or(line + 1);
                return Err(ParseError::new(
                    source,
                    Some(l),
                    None,
                    format!("malformed CSV row: {e}"),
                ));
            }
        }
        line = rec.position().map(|p| p.line()).unwrap_or(line + 1);
        let text = |c: usize, name: &str| -> Result<&str, ParseError> {
            rec.get(c)
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or_else(|| {
                    ParseError::new(
                        source,
                        Some(line),
                        Some(name),
                        "missing or not UTF-8".to_string(),
                    )
                })
        };
        let ts = |c: usize, name: &str| -> Result<DateTime<Utc>, ParseError> {
            let t = text(c, name)?;
            DateTime::parse_from_rfc3339(t.trim())
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| {
                    ParseError::new(
                        source,
                        Some(line),
                        Some(name),
                        format!("`{t}` is not an ISO-8601 time"),
                    )
                })
        };
        let start = ts(c_start, "INTERVALSTARTTIME_GMT")?;
        let end = ts(c_end, "INTERVALENDTIME_GMT")?;
        if end <= start {
            return Err(ParseError::new(
                source,
                Some(line),
                Some("INTERVALENDTIME_GMT"),
                "interval end is not after its start".to_string(),
            ));
        }
        let run_text = text(c_run, "MARKET_RUN_ID")?;
        let run = run_of(run_text).ok_or_else(|| {
            ParseError::new(
                source,
                Some(line),
                Some("MARKET_RUN_ID"),
                format!("unsupported market run `{run_text}` (DAM, RTPD, RTM)"),
            )
        })?;
        let type_text = text(c_type, "LMP_TYPE")?;
        let comp = component_of(type_text).ok_or_else(|| {
            ParseError::new(
                source,
                Some(line),
                Some("LMP_TYPE"),
                format!("unknown LMP_TYPE `{type_text}` (LMP, MCE, MCC, MCL, MGHG)"),
            )
        })?;
        let price_name = std::str::from_utf8(&headers[c_price]).unwrap_or("MW");
        let price_text = text(c_price, price_name)?;
        let price = crate::miso::parse::number(price_text).ok_or_else(|| {
            ParseError::new(
                source,
                Some(line),
                Some(price_name),
                format!("`{price_text}` is not a number"),
            )
        })?;
        if let Some(c) = c_oprdt {
            let d = text(c, "OPR_DT")?;
            let day = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
                ParseError::new(
                    source,
                    Some(line),
                    Some("OPR_DT"),
                    format!("`{d}` is not YYYY-MM-DD"),
                )
            })?;
            let local = time::market_date(Market::Caiso, start);
            if local != day {
                return Err(ParseError::new(
                    source,
                    Some(line),
                    Some("OPR_DT"),
                    format!(
                        "OPR_DT {day} disagrees with the Pacific market day {local} of the GMT start"
                    ),
                ));
            }
            days.insert(day);
        } else {
            days.insert(time::market_date(Market::Caiso, start));
        }
        let node_bytes = rec.get(c_node).unwrap_or_default();
        let n = match node_index.get(node_bytes) {
            Some(&n) => n,
            None => {
                let name = std::str::from_utf8(node_bytes).unwrap_or_default().trim();
                let id = InstrumentId::new(Market::Caiso, name).map_err(|e| {
                    ParseError::new(source, Some(line), Some("NODE"), e.to_string())
                })?;
                nodes.push(id);
                node_index.insert(node_bytes.to_vec(), nodes.len() - 1);
                nodes.len() - 1
            }
        };
        runs.insert(run);
        let key = (n, run, start.timestamp());
        let entry = rows.entry(key).or_insert_with(|| {
            order.push(key);
            (Components::default(), start, end, line)
        });
        if entry.1 != start || entry.2 != end {
            return Err(ParseError::new(
                source,
                Some(line),
                Some("INTERVALENDTIME_GMT"),
                "interval end differs between components".to_string(),
            ));
        }
        if entry.0.get(comp).is_some() {
            return Err(ParseError::new(
                source,
                Some(line),
                Some("LMP_TYPE"),
                format!(
                    "second {type_text} row for {} at {}",
                    nodes[n],
                    start.to_rfc3339()
                ),
            ));
        }
        entry.0.set(comp, Some(price));
    }
    // Chronological per node: sort keys by node, run, start.
    order.sort_by(|a, b| (nodes[a.0].as_str(), a.1, a.2).cmp(&(nodes[b.0].as_str(), b.1, b.2)));
    let observations = order
        .into_iter()
        .filter_map(|k| rows.remove(&k).map(|v| (k, v)))
        .map(|((n, run, _), (values, start, end, line))| Observation {
            instrument_id: nodes[n].clone(),
            market_run: run,
            interval_start: start,
            interval_end: end,
            values,
            vintage,
            provenance: Provenance::new(shared_source.clone(), Some(line)),
        })
        .collect();
    Ok(Parsed {
        market: Market::Caiso,
        market_runs: runs,
        instruments: nodes
            .iter()
            .map(|id| Instrument::new(id.clone(), node_kind(id.node())))
            .collect(),
        observations,
        market_days: days,
    })
}
