//! Where forward curves are kept: one record per build (the run, with its
//! lineage: input hash, parameters, report, status) and the curve's points with
//! real delivery periods. A failed build is recorded too, without points.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// One curve build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CurveRun {
    /// Unique id of the build.
    pub run_id: String,
    /// The curve's name (e.g. `MISO_INDIANA_HUB_FWD`).
    pub curve_id: String,
    /// Scenario (`BASE` unless told).
    pub scenario_id: String,
    /// The trade date the curve is marked for.
    pub as_of_date: NaiveDate,
    /// Market code.
    pub market: String,
    /// `hourly`, `daily` or `monthly`.
    pub granularity: String,
    /// SHA-256 of the canonical inputs and engine version.
    pub input_hash: String,
    /// `succeeded` or `failed`.
    pub status: String,
    /// Why a failed build failed.
    pub error: Option<String>,
    /// Who asked for it (user, key or `cli`).
    pub created_by: String,
    /// When the build started.
    pub started: DateTime<Utc>,
    /// When it finished.
    pub finished: DateTime<Utc>,
    /// Number of stored points.
    pub points: u64,
    /// The inputs as given (contracts, parameters), JSON.
    pub request: serde_json::Value,
    /// The build report (contracts repriced, duals, findings, solver, views), JSON.
    pub report: serde_json::Value,
}

/// One stored point of a curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// First instant of delivery (UTC).
    pub delivery_start: DateTime<Utc>,
    /// End of delivery (UTC, exclusive).
    pub delivery_end: DateTime<Utc>,
    /// Tenor label on the market clock (`2027-01`, `2027-01-05`, `2027-01-05 HE07`).
    pub tenor: String,
    /// Price.
    pub price: f64,
}

/// Filter for [`CurveStore::curve_runs`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CurveRunFilter {
    /// Only this curve.
    pub curve_id: Option<String>,
    /// Only this trade date.
    pub as_of_date: Option<NaiveDate>,
    /// Only this scenario.
    pub scenario_id: Option<String>,
    /// Only runs with this status.
    pub status: Option<String>,
    /// Only these markets (`None` = all).
    pub markets: Option<Vec<String>>,
    /// At most this many (default 50), latest trade date first, then newest build.
    pub limit: Option<usize>,
}

/// Storage for curve runs and points.
#[async_trait]
pub trait CurveStore: Send + Sync + 'static {
    /// Stores a run and its points in one transaction; a second save of the
    /// same run id is an error and changes nothing.
    async fn save_curve(&self, run: CurveRun, points: Vec<CurvePoint>) -> Result<()>;
    /// One run by id.
    async fn curve_run(&self, run_id: &str) -> Result<Option<CurveRun>>;
    /// Runs: latest trade date first, then newest build first.
    async fn curve_runs(&self, filter: CurveRunFilter) -> Result<Vec<CurveRun>>;
    /// The points of a run, in delivery order.
    async fn curve_points(&self, run_id: &str) -> Result<Vec<CurvePoint>>;
}
