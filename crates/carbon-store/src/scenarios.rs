//! Scenarios: every save of a scenario document is an immutable version
//! (1, 2, …) of a tenant's scenario; runs name the version they ran. The
//! store keeps the text as written and its canonical JSON; what a scenario
//! *means* is `carbon-scenario`'s.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// One saved version of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScenarioVersion {
    /// The scenario (`sc_…`).
    pub scenario_id: String,
    /// The tenant it belongs to.
    pub tenant: String,
    /// 1 for the first save, then one more per save.
    pub version: u32,
    /// The document's name.
    pub name: String,
    /// Market code of its instrument (entitlements).
    pub market: String,
    /// `yaml` or `json`: how `document` is written.
    pub format: String,
    /// The document as saved.
    pub document: String,
    /// The document read and written back as JSON (defaults filled in).
    #[schema(value_type = Object)]
    pub canonical: serde_json::Value,
    /// SHA-256 of `canonical`'s text.
    pub hash: String,
    /// Who saved it.
    pub created_by: String,
    /// When.
    pub created: DateTime<Utc>,
}

/// A scenario and its latest version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScenarioSummary {
    /// The scenario.
    pub scenario_id: String,
    /// Its tenant.
    pub tenant: String,
    /// Name of the latest version.
    pub name: String,
    /// Market code.
    pub market: String,
    /// Latest version.
    pub latest_version: u32,
    /// When version 1 was saved.
    pub created: DateTime<Utc>,
    /// When the latest version was saved.
    pub updated: DateTime<Utc>,
}

/// A finished scenario run: which version ran and where its outputs are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScenarioRun {
    /// The curve run holding the scenario curve (and its report).
    pub curve_run_id: String,
    /// The scenario.
    pub scenario_id: String,
    /// Its tenant.
    pub tenant: String,
    /// The version that ran.
    pub version: u32,
    /// The base curve run shifted.
    pub base_run_id: String,
    /// The research run holding the calibration.
    pub calibration_run_id: String,
    /// The job that ran it, if one did.
    pub job_id: Option<String>,
    /// Who ran it.
    pub created_by: String,
    /// When it finished.
    pub created: DateTime<Utc>,
}

/// Storage of scenarios, their versions and runs.
#[async_trait]
pub trait ScenarioStore: Send + Sync + 'static {
    /// Saves a version. It must be the scenario's next one (1 for a new
    /// scenario); otherwise nothing is stored and the error is
    /// [`crate::Error::Conflict`] (someone saved in between, or the version
    /// exists: versions are never replaced).
    async fn save_scenario_version(&self, v: ScenarioVersion) -> Result<()>;
    /// A version of a tenant's scenario (`None`: the latest).
    async fn scenario_version(
        &self,
        tenant: &str,
        scenario_id: &str,
        version: Option<u32>,
    ) -> Result<Option<ScenarioVersion>>;
    /// Every version of a tenant's scenario, oldest first.
    async fn scenario_versions(
        &self,
        tenant: &str,
        scenario_id: &str,
    ) -> Result<Vec<ScenarioVersion>>;
    /// A tenant's scenarios (only these markets when given), newest update first.
    async fn scenarios(
        &self,
        tenant: &str,
        markets: Option<Vec<String>>,
    ) -> Result<Vec<ScenarioSummary>>;
    /// Records a finished run.
    async fn save_scenario_run(&self, run: ScenarioRun) -> Result<()>;
    /// A tenant's run by the curve run holding its output.
    async fn scenario_run(&self, tenant: &str, curve_run_id: &str) -> Result<Option<ScenarioRun>>;
    /// A tenant's runs of a scenario, newest first.
    async fn scenario_runs(&self, tenant: &str, scenario_id: &str) -> Result<Vec<ScenarioRun>>;
}
