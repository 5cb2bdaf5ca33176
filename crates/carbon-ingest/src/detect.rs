//! Which parser a file or response needs.

use crate::error::ParseError;

/// A payload format this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// MISO market report CSV (`*_da_expost_lmp.csv`, …).
    MisoReport,
    /// MISO public API 5-minute JSON.
    MisoFiveMinJson,
    /// CAISO OASIS zip, CSV or XML report.
    CaisoOasis,
    /// EIA fundamentals family: wholesale portal CSV, Henry Hub spot, gas storage.
    Eia,
}

/// The `--source` a user can force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceHint {
    /// MISO.
    Miso,
    /// CAISO.
    Caiso,
    /// EIA files (fundamentals, hub prices).
    Eia,
}

/// Outcome of detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    /// A supported format.
    Format(Format),
    /// A file of a known family this version does not ingest; the reason says which.
    Unsupported(String),
}

fn head(bytes: &[u8], n: usize) -> String {
    let end = bytes.len().min(n);
    String::from_utf8_lossy(&bytes[..end])
        .trim_start_matches('\u{feff}')
        .to_string()
}

/// Detects the format from the content (and, for ties, the name).
pub fn detect(name: &str, bytes: &[u8], hint: Option<SourceHint>) -> Result<Detected, ParseError> {
    let text = head(bytes, 4096);
    let first = text.lines().next().unwrap_or("").trim();
    let found = if bytes.starts_with(b"PK") || first.starts_with('<') {
        Some(Format::CaisoOasis)
    } else if first.starts_with('{') {
        Some(Format::MisoFiveMinJson)
    } else if first.starts_with("INTERVALSTARTTIME_GMT") {
        if !first.contains("LMP_TYPE") {
            let kind = if first.contains("TAC_AREA_NAME") {
                "load (SLD_FCST)"
            } else {
                "non-price"
            };
            return Ok(Detected::Unsupported(format!(
                "CAISO OASIS {kind} report: this version ingests LMP reports (PRC_LMP, PRC_RTPD_LMP, PRC_INTVL_LMP)"
            )));
        }
        Some(Format::CaisoOasis)
    } else if text
        .lines()
        .take(10)
        .any(|l| l.trim_start().starts_with("Node,Type,Value"))
    {
        Some(Format::MisoReport)
    } else if crate::eia::looks_like(&text).is_some() {
        Some(Format::Eia)
    } else {
        None
    };
    match (found, hint) {
        (Some(f), None) => Ok(Detected::Format(f)),
        (Some(f @ (Format::MisoReport | Format::MisoFiveMinJson)), Some(SourceHint::Miso)) => {
            Ok(Detected::Format(f))
        }
        (Some(Format::CaisoOasis), Some(SourceHint::Caiso)) => {
            Ok(Detected::Format(Format::CaisoOasis))
        }
        (Some(Format::Eia), Some(SourceHint::Eia)) => Ok(Detected::Format(Format::Eia)),
        (Some(f), Some(h)) => Err(ParseError::new(
            name,
            Some(1),
            None,
            format!("--source {h:?} was given but the content looks like {f:?}"),
        )),
        (None, _) => Err(ParseError::new(
            name,
            Some(1),
            None,
            "not a MISO market report, MISO 5-minute JSON, CAISO OASIS or EIA (wholesale portal, Henry Hub, gas storage) file".to_string(),
        )),
    }
}
