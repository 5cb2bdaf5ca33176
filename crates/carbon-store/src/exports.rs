//! Exports: a tenant's request for a dataset as files (its spec, format,
//! status) and, once every part is written, its manifest (parts, rows,
//! bytes, sha256). An idempotency key names one export per tenant: asking
//! again with the same key returns the first. Expired exports are listed for
//! cleanup and marked as such; the files themselves are the object store's.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// One export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Export {
    /// Id (`ex_…`).
    pub id: String,
    /// The tenant it belongs to.
    pub tenant: String,
    /// Who asked.
    pub owner: String,
    /// The job writing it.
    pub job_id: Option<String>,
    /// `prices`, …
    pub dataset: String,
    /// `csv`, `parquet`, `jsonl`.
    pub format: String,
    /// Parts gzipped.
    pub gzip: bool,
    /// The dataset's query, as given.
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
    /// `queued`, `running`, `succeeded`, `failed`, `cancelled`, `expired`.
    pub status: String,
    /// The caller's idempotency key.
    pub idempotency_key: Option<String>,
    /// When it was asked for.
    pub created: DateTime<Utc>,
    /// When it ended.
    pub finished: Option<DateTime<Utc>>,
    /// When its files are deleted.
    pub expires: DateTime<Utc>,
    /// Rows written.
    pub rows: u64,
    /// Bytes written (parts and manifest).
    pub bytes: u64,
    /// The manifest, once every part is written.
    #[schema(value_type = Option<Object>)]
    pub manifest: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Storage of export records.
#[async_trait]
pub trait ExportStore: Send + Sync + 'static {
    /// Records a new export, unless the tenant already has one with the same
    /// idempotency key: then nothing is stored and that one is returned.
    async fn create_export(&self, e: Export) -> Result<Export>;
    /// A tenant's export.
    async fn export(&self, tenant: &str, id: &str) -> Result<Option<Export>>;
    /// A tenant's exports, newest first.
    async fn exports(&self, tenant: &str, limit: usize) -> Result<Vec<Export>>;
    /// Sets the status (and, when it ends, the finish time, totals, manifest
    /// or error) of export `id`, and its job when `job_id` is set (an unset
    /// one keeps the stored job); false when there is none.
    async fn update_export(&self, e: &Export) -> Result<bool>;
    /// Notes the job writing export `id` (nothing else changes).
    async fn set_export_job(&self, tenant: &str, id: &str, job_id: &str) -> Result<bool>;
    /// Exports whose `expires` is before `t` and not yet marked expired.
    async fn expired_exports(&self, t: DateTime<Utc>) -> Result<Vec<Export>>;
    /// Bytes a tenant's live (not expired) exports hold.
    async fn export_bytes(&self, tenant: &str) -> Result<u64>;
}
