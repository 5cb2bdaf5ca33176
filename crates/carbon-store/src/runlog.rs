//! The ingest bookkeeping contract: runs, quarantined rows, checkpoints.
//!
//! Kept apart from [`crate::Store`] because at scale it lives elsewhere
//! (PostgreSQL) than the time series (ClickHouse). The embedded
//! [`crate::DuckdbStore`] implements both.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Outcome of an ingest run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still going (or interrupted, when it stays so).
    Running,
    /// Everything accepted.
    Ok,
    /// Stored, with some rows quarantined.
    Partial,
    /// Nothing stored: the payload was unreadable or the store refused it.
    Failed,
    /// The source could not be reached.
    Unreachable,
    /// The source answered that it has no data for the window.
    NoData,
}

impl RunStatus {
    /// Canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Unreachable => "unreachable",
            RunStatus::NoData => "no_data",
        }
    }

    /// Parses a canonical name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            RunStatus::Running,
            RunStatus::Ok,
            RunStatus::Partial,
            RunStatus::Failed,
            RunStatus::Unreachable,
            RunStatus::NoData,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// One ingest run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IngestRun {
    /// Unique id.
    pub id: String,
    /// Connector (`miso`, `caiso`, `file`).
    pub connector: String,
    /// URL or path.
    pub source: String,
    /// Requested window start, when the run fetched a window.
    pub window_start: Option<DateTime<Utc>>,
    /// Requested window end.
    pub window_end: Option<DateTime<Utc>>,
    /// Start.
    pub started: DateTime<Utc>,
    /// End, once finished.
    pub finished: Option<DateTime<Utc>>,
    /// Outcome.
    pub status: RunStatus,
    /// New versions stored.
    pub rows_accepted: u64,
    /// Rows already stored (idempotent re-ingest).
    pub rows_unchanged: u64,
    /// Rows quarantined.
    pub rows_rejected: u64,
    /// Error message, for failed/unreachable runs.
    pub error: Option<String>,
    /// Data-quality findings (JSON).
    pub quality: Option<serde_json::Value>,
}

/// A row rejected by data quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuarantinedRow {
    /// The run that rejected it.
    pub run_id: String,
    /// File or URL.
    pub source: String,
    /// Row in the source.
    pub source_row: Option<u64>,
    /// Instrument, when known.
    pub instrument_id: Option<String>,
    /// Market run, when known.
    pub market_run: Option<String>,
    /// Interval start, when known.
    pub interval_start: Option<DateTime<Utc>>,
    /// Why it was rejected.
    pub reason: String,
    /// The rejected values (JSON).
    pub detail: Option<serde_json::Value>,
}

/// Filter for [`RunLog::runs`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunFilter {
    /// Only the run with this id.
    pub id: Option<String>,
    /// Only this connector.
    pub connector: Option<String>,
    /// Newest first, at most this many (default 50).
    pub limit: Option<usize>,
}

/// Where ingest runs, quarantined rows and checkpoints are kept.
#[async_trait]
pub trait RunLog: Send + Sync + 'static {
    /// Inserts or replaces a run (by id).
    async fn save_run(&self, run: IngestRun) -> Result<()>;
    /// Runs, newest first.
    async fn runs(&self, filter: RunFilter) -> Result<Vec<IngestRun>>;
    /// Stores rejected rows.
    async fn quarantine(&self, rows: Vec<QuarantinedRow>) -> Result<()>;
    /// Rejected rows, of one run or of all, newest runs first.
    async fn quarantined(
        &self,
        run_id: Option<String>,
        limit: usize,
    ) -> Result<Vec<QuarantinedRow>>;
    /// Sets a checkpoint.
    async fn set_checkpoint(&self, name: &str, value: serde_json::Value) -> Result<()>;
    /// Reads a checkpoint.
    async fn checkpoint(&self, name: &str) -> Result<Option<serde_json::Value>>;
}
