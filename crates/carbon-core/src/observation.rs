//! Observations: one interval of one series, with its vintage and provenance.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Components, InstrumentId, MarketRun,
    error::{Error, Result},
};

/// Where an observation came from.
///
/// The source is shared (`Arc<str>`): every row of a payload points at one
/// copy of its URL or path, so building a row allocates nothing for it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Provenance {
    /// Source URL or file path.
    #[serde(with = "shared_str")]
    pub source: Arc<str>,
    /// 1-based row (line or record) in the source, when meaningful.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
}

impl Provenance {
    /// Provenance from a source and a row. Pass an `Arc<str>` (cloned) to
    /// share one source among many rows.
    pub fn new(source: impl Into<Arc<str>>, row: Option<u64>) -> Self {
        Self {
            source: source.into(),
            row,
        }
    }
}

/// Serde for `Arc<str>` as a plain string (without serde's `rc` feature).
mod shared_str {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: &Arc<str>, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Arc<str>, D::Error> {
        Ok(Arc::from(String::deserialize(de)?))
    }
}

/// One interval of prices for one instrument and market run, as published at
/// one vintage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The instrument.
    pub instrument_id: InstrumentId,
    /// The market run.
    pub market_run: MarketRun,
    /// Interval start (UTC, inclusive).
    pub interval_start: DateTime<Utc>,
    /// Interval end (UTC, exclusive).
    pub interval_end: DateTime<Utc>,
    /// Component values.
    pub values: Components,
    /// When this version was published by the ISO (or, when the ISO gives no
    /// publication time, when it was fetched). `as_of` queries compare against it.
    pub vintage: DateTime<Utc>,
    /// Where it came from.
    pub provenance: Provenance,
}

impl Observation {
    /// Checks the invariants every stored observation must hold: a non-empty
    /// interval of at most 31 days, at least one component, finite values.
    pub fn validate(&self) -> Result<()> {
        validate_parts(
            &self.instrument_id,
            self.interval_start,
            self.interval_end,
            &self.values,
        )
    }
}

/// [`Observation::validate`] on the parts it checks (also used by batches).
pub(crate) fn validate_parts(
    instrument_id: &InstrumentId,
    interval_start: DateTime<Utc>,
    interval_end: DateTime<Utc>,
    values: &Components,
) -> Result<()> {
    let bad = |reason: String| Error::InvalidObservation {
        instrument: instrument_id.to_string(),
        start: interval_start.to_rfc3339_opts(SecondsFormat::Secs, true),
        reason,
    };
    if interval_end <= interval_start {
        return Err(bad(format!(
            "interval end {} is not after its start",
            interval_end.to_rfc3339_opts(SecondsFormat::Secs, true)
        )));
    }
    if (interval_end - interval_start).num_days() > 31 {
        return Err(bad("interval longer than 31 days".to_string()));
    }
    if values.count() == 0 {
        return Err(bad("no component values".to_string()));
    }
    if let Some((c, v)) = values.iter().find(|(_, v)| !v.is_finite()) {
        return Err(bad(format!("component {c} is not a finite number ({v})")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn obs() -> Observation {
        let start = DateTime::parse_from_rfc3339("2025-01-01T05:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Observation {
            instrument_id: InstrumentId::parse("MISO.INDIANA.HUB").unwrap(),
            market_run: MarketRun::Da,
            interval_start: start,
            interval_end: start + Duration::hours(1),
            values: Components {
                lmp: Some(25.0),
                ..Default::default()
            },
            vintage: start,
            provenance: Provenance::new("test", Some(1)),
        }
    }

    #[test]
    fn validation() {
        assert!(obs().validate().is_ok());
        let mut o = obs();
        o.interval_end = o.interval_start;
        assert!(
            o.validate()
                .unwrap_err()
                .to_string()
                .contains("not after its start")
        );
        let mut o = obs();
        o.values.lmp = Some(f64::NAN);
        assert!(
            o.validate()
                .unwrap_err()
                .to_string()
                .contains("component lmp is not a finite")
        );
        let mut o = obs();
        o.values = Components::default();
        assert!(o.validate().is_err());
    }
}
