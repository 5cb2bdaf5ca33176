//! Fundamentals (weather, load, gas storage, fuel prices) and research
//! outputs. A fundamentals point is one value of one variable of one entity
//! over one interval, with the same vintage/as-of semantics as prices: a
//! later vintage revises a value, a query `as_of` an instant sees the latest
//! vintage published by then, and a vintage that repeats the value in force
//! is not stored (re-loading a file changes nothing).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The scenario of observed (not simulated) data.
pub const BASE_SCENARIO: &str = "BASE";

/// One fundamentals value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FundamentalPoint {
    /// What is measured, e.g. `ERCOT`, `Indianapolis`, `Henry Hub`, `East Region`.
    pub entity: String,
    /// The quantity, e.g. `temperature`, `load`, `storage`, `spot_price`.
    pub variable: String,
    /// Interval start (UTC).
    pub interval_start: DateTime<Utc>,
    /// Interval end (UTC, exclusive).
    pub interval_end: DateTime<Utc>,
    /// The value.
    pub value: f64,
    /// Its unit (`degF`, `MW`, `Bcf`, `USD/MMBtu`).
    pub unit: String,
    /// Where it came from (file or URL).
    pub source: String,
    /// When this value became known.
    pub vintage: DateTime<Utc>,
    /// `BASE` for observed data; scenarios add their own.
    pub scenario_id: String,
}

/// A fundamentals read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FundamentalQuery {
    /// Entity (exact).
    pub entity: String,
    /// Variable (exact).
    pub variable: String,
    /// Intervals starting at or after this instant.
    pub start: Option<DateTime<Utc>>,
    /// Intervals starting before this instant.
    pub end: Option<DateTime<Utc>>,
    /// Only vintages known at this instant (none: the latest).
    pub as_of: Option<DateTime<Utc>>,
    /// Scenario (`BASE` when none).
    pub scenario_id: Option<String>,
}

/// One stored series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FundamentalSeries {
    /// Entity.
    pub entity: String,
    /// Variable.
    pub variable: String,
    /// Scenario.
    pub scenario_id: String,
    /// Unit.
    pub unit: String,
    /// Source of the latest vintage.
    pub source: String,
    /// Distinct intervals.
    pub intervals: u64,
    /// First interval start.
    pub first: DateTime<Utc>,
    /// Last interval start.
    pub last: DateTime<Utc>,
    /// Newest vintage.
    pub latest_vintage: DateTime<Utc>,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FundamentalAppend {
    /// Points stored (new intervals or revisions).
    pub stored: u64,
    /// Points that repeated the value in force and were not stored.
    pub unchanged: u64,
}

/// Storage of fundamentals series.
#[async_trait]
pub trait FundamentalStore: Send + Sync + 'static {
    /// Stores a batch atomically: every point or none (a bad point fails the
    /// batch with its entity, variable and instant named).
    async fn append_fundamentals(&self, points: Vec<FundamentalPoint>)
    -> Result<FundamentalAppend>;
    /// The values in force (latest vintage, or latest known `as_of`), in
    /// interval order.
    async fn fundamentals(&self, q: FundamentalQuery) -> Result<Vec<FundamentalPoint>>;
    /// Every stored series.
    async fn fundamental_series(&self) -> Result<Vec<FundamentalSeries>>;
}

/// One stored research output (decomposition, regimes, balance, weather,
/// backtest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResearchRun {
    /// Unique id.
    pub run_id: String,
    /// `stl`, `mstl`, `regimes`, `balance`, `weather`, `backtest`.
    pub kind: String,
    /// What was analysed (e.g. `MISO.INDIANA.HUB:rt:lmp`, `storage:Total Lower 48`).
    pub subject: String,
    /// Model/analysis version (`carbon-research x.y.z/kind-n`).
    pub model_version: String,
    /// `succeeded` or `failed`.
    pub status: String,
    /// Why a failed run failed.
    pub error: Option<String>,
    /// Who asked (user, key, `cli`, `scheduler`).
    pub created_by: String,
    /// Start and end of the run.
    pub started: DateTime<Utc>,
    /// See `started`.
    pub finished: DateTime<Utc>,
    /// Parameters as given, JSON.
    pub params: serde_json::Value,
    /// The output, JSON.
    pub output: serde_json::Value,
}

/// Filter for [`ResearchStore::research_runs`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResearchFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this subject.
    pub subject: Option<String>,
    /// At most this many (default 50), newest first.
    pub limit: Option<usize>,
}

/// Storage of research outputs.
#[async_trait]
pub trait ResearchStore: Send + Sync + 'static {
    /// Stores a run; a second save of the same id is an error.
    async fn save_research_run(&self, run: ResearchRun) -> Result<()>;
    /// One run by id.
    async fn research_run(&self, run_id: &str) -> Result<Option<ResearchRun>>;
    /// Runs, newest first, with `output` null (read one run for its output).
    async fn research_runs(&self, filter: ResearchFilter) -> Result<Vec<ResearchRun>>;
}
