//! Scheduled feeds: a tenant's standing order for a file at a time of day
//! (e.g. yesterday's day-ahead LMPs of its nodes as Parquet into its
//! bucket every market day at 07:00), with the state the scheduler keeps:
//! when it is next due, its last run and success, consecutive failures.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// One feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Feed {
    /// Id (`fd_…`).
    pub id: String,
    /// The tenant it belongs to.
    pub tenant: String,
    /// Who made it.
    pub owner: String,
    /// A name for people (unique per tenant).
    pub name: String,
    /// What, when and where (the service's feed spec), as given.
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
    /// Paused feeds are not fired.
    pub enabled: bool,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// When it fires next.
    pub next_due: DateTime<Utc>,
    /// When it last fired.
    pub last_run: Option<DateTime<Utc>>,
    /// When a run of it last succeeded.
    pub last_success: Option<DateTime<Utc>>,
    /// Why its last run failed (cleared by a success).
    pub last_error: Option<String>,
    /// Runs failed in a row (0 after a success).
    pub failures: u32,
    /// Runs fired.
    pub runs: u64,
}

/// Storage of feeds.
#[async_trait]
pub trait FeedStore: Send + Sync + 'static {
    /// Stores a new feed; `Conflict` when the tenant has one of that name.
    async fn create_feed(&self, f: Feed) -> Result<()>;
    /// Replaces feed `f.id` of `f.tenant` (false when there is none).
    async fn update_feed(&self, f: &Feed) -> Result<bool>;
    /// The scheduler fired the feed at `at` (or could not: `error`): its
    /// next slot, last run and run count change, and a failure to fire
    /// counts — nothing else is touched (a pause made meanwhile stays).
    async fn record_firing(
        &self,
        tenant: &str,
        id: &str,
        at: DateTime<Utc>,
        next_due: Option<DateTime<Utc>>,
        error: Option<String>,
    ) -> Result<bool>;
    /// A run of the feed ended at `at`: a success clears the failures, a
    /// failure adds one (counted in the store, not from a stale copy).
    async fn record_outcome(
        &self,
        tenant: &str,
        id: &str,
        at: DateTime<Utc>,
        error: Option<String>,
    ) -> Result<bool>;
    /// Pauses or resumes the feed (with its next slot when resumed).
    async fn set_feed_enabled(
        &self,
        tenant: &str,
        id: &str,
        enabled: bool,
        next_due: Option<DateTime<Utc>>,
    ) -> Result<bool>;
    /// A tenant's feed.
    async fn feed(&self, tenant: &str, id: &str) -> Result<Option<Feed>>;
    /// A tenant's feeds (every tenant's with `None`), by name.
    async fn feeds(&self, tenant: Option<&str>) -> Result<Vec<Feed>>;
    /// Deletes a tenant's feed (false when there is none).
    async fn delete_feed(&self, tenant: &str, id: &str) -> Result<bool>;
}
