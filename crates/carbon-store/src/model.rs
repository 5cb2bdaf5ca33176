//! Requests and answers of the [`crate::Store`] contract.

use carbon_core::{
    Aggregation, Block, Component, Components, Frequency, Instrument, InstrumentId, LocationKind,
    Market, MarketRun,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Outcome of [`crate::Store::upsert_instruments`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UpsertSummary {
    /// Instruments that were new.
    pub inserted: usize,
    /// Instruments that existed (kind and name refreshed).
    pub updated: usize,
}

/// Outcome of [`crate::Store::append`]. `received = inserted + unchanged`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AppendSummary {
    /// Observations in the batch (after removing exact duplicates within it).
    pub received: usize,
    /// Versions newly stored.
    pub inserted: usize,
    /// Versions already stored with the same values (idempotent re-append), and
    /// new vintages whose values equal the version they would follow (no revision).
    pub unchanged: usize,
    /// Of the inserted, those that are a new vintage of an interval already stored.
    pub revisions: usize,
}

/// Outcome of [`crate::Store::compact`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CompactSummary {
    /// Time partitions (UTC months for DuckDB) rewritten.
    pub partitions: usize,
    /// Observation versions rewritten.
    pub rows: u64,
}

/// Resampling request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resample {
    /// Bucket size.
    pub freq: Frequency,
    /// How values in a bucket combine.
    pub agg: Aggregation,
}

/// A price query: instruments × time range × market runs × components.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceQuery {
    /// Instruments to return (at least one).
    pub instruments: Vec<InstrumentId>,
    /// Range start (inclusive), compared with interval starts.
    pub start: DateTime<Utc>,
    /// Range end (exclusive), compared with interval starts.
    pub end: DateTime<Utc>,
    /// Market runs; empty means every run.
    pub market_runs: Vec<MarketRun>,
    /// Components to return; empty means all.
    pub components: Vec<Component>,
    /// Return what was known at this instant (latest vintage ≤ `as_of`);
    /// `None` returns the latest vintage.
    pub as_of: Option<DateTime<Utc>>,
    /// Resample into buckets on the market clock.
    pub resample: Option<Resample>,
    /// Keep only hours of this block (market clock).
    pub block: Block,
    /// Page size; `None` returns everything.
    pub limit: Option<usize>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl PriceQuery {
    /// A query for the latest flat, un-resampled prices of `instruments` in `[start, end)`.
    pub fn new(instruments: Vec<InstrumentId>, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            instruments,
            start,
            end,
            market_runs: Vec::new(),
            components: Vec::new(),
            as_of: None,
            resample: None,
            block: Block::Flat,
            limit: None,
            cursor: None,
        }
    }

    /// Checks parameters that do not need the store.
    pub fn validate(&self) -> Result<()> {
        if self.instruments.is_empty() {
            return Err(Error::param(
                "instrument",
                "at least one instrument is required",
            ));
        }
        if self.start >= self.end {
            return Err(Error::param(
                "start",
                format!(
                    "start {} must be before end {}",
                    self.start.to_rfc3339(),
                    self.end.to_rfc3339()
                ),
            ));
        }
        if self.limit == Some(0) {
            return Err(Error::param("limit", "must be at least 1"));
        }
        if let Some(c) = &self.cursor {
            Cursor::decode(c)?;
        }
        Ok(())
    }

    /// Markets of the requested instruments, deduplicated.
    pub fn markets(&self) -> Vec<Market> {
        let mut m: Vec<Market> = self.instruments.iter().map(|i| i.market()).collect();
        m.sort();
        m.dedup();
        m
    }
}

/// One row of a price answer: an interval (or a resampled bucket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceRow {
    /// Instrument.
    pub instrument_id: InstrumentId,
    /// Market run.
    pub market_run: MarketRun,
    /// Interval or bucket start (UTC).
    pub interval_start: DateTime<Utc>,
    /// Interval or bucket end (UTC).
    pub interval_end: DateTime<Utc>,
    /// Requested components.
    pub values: Components,
    /// Vintage of the version returned (raw rows only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vintage: Option<DateTime<Utc>>,
    /// Number of intervals combined (resampled rows only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u32>,
}

/// A page of price rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricePage {
    /// Rows ordered by instrument id, market run, interval start.
    pub rows: Vec<PriceRow>,
    /// Cursor for the next page, when there is one.
    pub next_cursor: Option<String>,
}

/// Instrument search.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstrumentQuery {
    /// Only this market.
    pub market: Option<Market>,
    /// Only this kind.
    pub kind: Option<LocationKind>,
    /// Case-insensitive substring of id or name.
    pub text: Option<String>,
    /// Page size; `None` returns everything.
    pub limit: Option<usize>,
    /// Cursor from a previous page.
    pub cursor: Option<String>,
}

/// A page of instruments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstrumentPage {
    /// Instruments ordered by id.
    pub instruments: Vec<Instrument>,
    /// Cursor for the next page, when there is one.
    pub next_cursor: Option<String>,
}

/// Filter for [`crate::Store::series_stats`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsFilter {
    /// Only this market.
    pub market: Option<Market>,
    /// Only these instruments (empty = all).
    pub instruments: Vec<InstrumentId>,
}

/// Statistics of one series (instrument × market run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesStats {
    /// Instrument.
    pub instrument_id: InstrumentId,
    /// Market run.
    pub market_run: MarketRun,
    /// Intervals (latest versions).
    pub rows: u64,
    /// Stored versions including superseded vintages.
    pub versions: u64,
    /// Earliest interval start.
    pub first_interval_start: DateTime<Utc>,
    /// Latest interval end.
    pub last_interval_end: DateTime<Utc>,
    /// Newest vintage.
    pub last_vintage: DateTime<Utc>,
    /// When data for the series was last stored.
    pub last_ingested: DateTime<Utc>,
}

/// Keyset pagination cursor (opaque to callers: hex of `v1|key|run|micros`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Last instrument id (or search key) returned.
    pub key: String,
    /// Last market run returned (empty for instrument pages).
    pub run: String,
    /// Last interval start in µs since the epoch (0 for instrument pages).
    pub micros: i64,
}

impl Cursor {
    /// Encodes to an opaque URL-safe string.
    pub fn encode(&self) -> String {
        let raw = format!("v1|{}|{}|{}", self.key, self.run, self.micros);
        raw.bytes().map(|b| format!("{b:02x}")).collect()
    }

    /// Decodes a string made by [`Cursor::encode`].
    pub fn decode(text: &str) -> Result<Self> {
        let bad = || Error::param("cursor", "not a cursor returned by this server");
        // Hex is ASCII: anything else (which byte slicing would split
        // inside a character) is no cursor of ours.
        if !text.is_ascii() || !text.len().is_multiple_of(2) || text.len() > 2048 {
            return Err(bad());
        }
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad())?;
        let raw = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = raw.split('|');
        if parts.next() != Some("v1") {
            return Err(bad());
        }
        let key = parts.next().ok_or_else(bad)?.to_string();
        let run = parts.next().ok_or_else(bad)?.to_string();
        let micros = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Self { key, run, micros })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_with_non_ascii_characters_is_refused_not_a_panic() {
        // Found by schemathesis: U+86317 is 4 bytes; slicing 2 split it.
        assert!(Cursor::decode("\u{86317}").is_err());
        assert!(Cursor::decode("é1").is_err());
    }

    #[test]
    fn cursor_round_trip_and_rejects_garbage() {
        let c = Cursor {
            key: "MISO.INDIANA.HUB".into(),
            run: "da".into(),
            micros: 1_700_000_000_000_000,
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        for bad in ["zz", "abc", "", "7631"] {
            let e = Cursor::decode(bad).unwrap_err().to_string();
            assert!(e.contains("cursor"), "{e}");
        }
    }
}
