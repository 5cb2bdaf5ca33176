//! MISO market reports (`{YYYYMMDD}_{da_expost_lmp|da_exante_lmp|rt_lmp_final|rt_lmp_prelim}.csv`)
//! and the public 5-minute JSON API.
//!
//! Report layout: a title line, the operating date (`07/14/2026`, possibly
//! unpadded `9/26/2026`), a blank line, a note, then `Node,Type,Value,HE 1..HE 24`
//! and blocks of `LMP`/`MCC`/`MLC` rows. Hours are EST all year: HE n starts at
//! midnight EST + (n−1) h. Energy = LMP − MCC − MLC.

use std::collections::{BTreeSet, HashMap};

use carbon_core::{
    Components, Instrument, InstrumentId, LocationKind, Market, MarketRun, Observation, Provenance,
    time,
};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::{error::ParseError, parsed::Parsed};

/// Rounds a derived value to 1e-6 so that `37.82 − 1.65 − 1.55` is 34.62.
pub(crate) fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
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
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A node's rows: name, kind, `[LMP, MCC, MLC]` per hour, first line.
type NodeRows = (String, LocationKind, [[Option<f64>; 3]; 24], usize);

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
    let mut nodes: Vec<NodeRows> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, line) in lines.iter().enumerate().skip(header_idx + 1) {
        let line_no = i + 1;
        if line.trim().trim_matches(',').is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 27 {
            return Err(err(
                line_no,
                None,
                format!(
                    "expected 27 fields (Node, Type, Value, HE 1..HE 24), found {}",
                    f.len()
                ),
            ));
        }
        let node = f[0].trim();
        if node.is_empty() {
            return Err(err(line_no, Some("Node"), "empty node name".to_string()));
        }
        let slot = match f[2].trim() {
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
        let k = *index.entry(node.to_string()).or_insert_with(|| {
            nodes.push((node.to_string(), node_kind(f[1]), [[None; 3]; 24], line_no));
            nodes.len() - 1
        });
        for h in 0..24 {
            let cell = f[3 + h];
            if cell.trim().is_empty() {
                continue;
            }
            let v = number(cell).ok_or_else(|| {
                err(
                    line_no,
                    Some(&format!("HE {}", h + 1)),
                    format!("`{}` is not a number", cell.trim()),
                )
            })?;
            if nodes[k].2[h][slot].is_some() {
                return Err(err(
                    line_no,
                    Some("Value"),
                    format!("second {} row for {node}", f[2].trim()),
                ));
            }
            nodes[k].2[h][slot] = Some(v);
        }
    }
    let mut out = Parsed {
        market: Market::Miso,
        market_runs: BTreeSet::from([run]),
        instruments: Vec::with_capacity(nodes.len()),
        observations: Vec::with_capacity(nodes.len() * 24),
        market_days: BTreeSet::from([date]),
    };
    for (node, kind, values, line_no) in nodes {
        let id = InstrumentId::new(Market::Miso, &node)
            .map_err(|e| err(line_no, Some("Node"), e.to_string()))?;
        out.instruments.push(Instrument::new(id.clone(), kind));
        for (h, [lmp, mcc, mlc]) in values.iter().enumerate() {
            if lmp.is_none() && mcc.is_none() && mlc.is_none() {
                continue;
            }
            let energy = match (lmp, mcc, mlc) {
                (Some(l), Some(c), Some(m)) => Some(round6(l - c - m)),
                _ => None,
            };
            let start = day_start + Duration::hours(h as i64);
            out.observations.push(Observation {
                instrument_id: id.clone(),
                market_run: run,
                interval_start: start,
                interval_end: start + Duration::hours(1),
                values: Components {
                    lmp: *lmp,
                    energy,
                    congestion: *mcc,
                    loss: *mlc,
                    ghg: None,
                },
                vintage,
                provenance: Provenance::new(source, Some(line_no as u64)),
            });
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
        observations: Vec::with_capacity(doc.data.len()),
        market_days: BTreeSet::new(),
    };
    let mut seen = HashMap::new();
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
            provenance: Provenance::new(source, Some(rec)),
        });
    }
    Ok(out)
}
