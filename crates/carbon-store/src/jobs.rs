//! Durable jobs: work that outlives a request (curve builds, analyses,
//! backtests over large ranges) — queued, claimed by one worker, run, and
//! ended as succeeded, failed or cancelled, with progress on the way.
//!
//! The store keeps the records and hands each queued job to exactly one
//! claimer; what a job *does* is `carbon-service`'s. A claim picks, among
//! the queued jobs, one of the tenant with the fewest jobs running, then of
//! the tenant served least recently (round robin), then the oldest — so one
//! tenant's long queue does not starve another's single job.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker has it.
    Running,
    /// Done; `result` says where the output is.
    Succeeded,
    /// Ended with `error`.
    Failed,
    /// Cancelled before it finished.
    Cancelled,
}

impl JobStatus {
    /// Its name in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// The status named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            _ => return None,
        })
    }

    /// Succeeded, failed or cancelled: nothing more happens to it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// One job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    /// Id (`job_…`).
    pub id: String,
    /// What it does (`curve_build`, `analysis`, `backtest`, …).
    pub kind: String,
    /// Its typed specification, as JSON.
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
    /// The tenant it runs for (entitlements, fairness).
    pub tenant: String,
    /// Who asked (`alice`, `key:…`, `scheduler`).
    pub owner: String,
    /// Where it is.
    pub status: JobStatus,
    /// Fraction done, 0 to 1.
    pub progress: f64,
    /// What it is doing now, for people.
    pub message: String,
    /// When it was queued.
    pub created: DateTime<Utc>,
    /// When a worker took it (the latest attempt).
    pub started: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished: Option<DateTime<Utc>>,
    /// Where the output is (`{"research_run": "rr_…"}`), when it succeeded.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// A cancel was asked for while it ran; the worker stops at its next check.
    pub cancel_requested: bool,
    /// How many times a worker has taken it.
    pub attempts: u32,
}

impl Job {
    /// A new queued job.
    pub fn queued(
        id: String,
        kind: &str,
        spec: serde_json::Value,
        tenant: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Job {
        Job {
            id,
            kind: kind.to_string(),
            spec,
            tenant: tenant.to_string(),
            owner: owner.to_string(),
            status: JobStatus::Queued,
            progress: 0.0,
            message: String::new(),
            created: now,
            started: None,
            finished: None,
            result: None,
            error: None,
            cancel_requested: false,
            attempts: 0,
        }
    }
}

/// Filter for [`JobStore::jobs`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobFilter {
    /// Only this tenant's.
    pub tenant: Option<String>,
    /// Only in this status.
    pub status: Option<JobStatus>,
    /// Only this kind.
    pub kind: Option<String>,
    /// At most this many (default 50), newest first.
    pub limit: Option<usize>,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEnd {
    /// With the reference to its output.
    Succeeded(serde_json::Value),
    /// With the reason.
    Failed(String),
    /// Cancelled while it ran.
    Cancelled,
}

/// What [`JobStore::recover`] did with jobs a stopped server left running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Marked failed.
    pub failed: usize,
    /// Put back in the queue.
    pub requeued: usize,
}

/// A worker's hold on the jobs it runs: while the worker keeps renewing
/// it, its running jobs are its own; once it lapses (the process died),
/// any process may recover them. One store shared by several processes
/// needs this: a process starting up must not take another's live work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The worker (one id per process).
    pub worker: String,
    /// The hold ends at this instant unless renewed.
    pub until: DateTime<Utc>,
}

/// Storage of jobs.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Stores a new queued job.
    async fn enqueue(&self, job: Job) -> Result<()>;
    /// One job.
    async fn job(&self, id: &str) -> Result<Option<Job>>;
    /// Jobs, newest first.
    async fn jobs(&self, filter: JobFilter) -> Result<Vec<Job>>;
    /// Takes the next queued job (fair across tenants: the tenant with the
    /// fewest running jobs first, then the one whose last job started
    /// longest ago, then the oldest job), marks
    /// it running and returns it; `None` when nothing is queued. Each job is
    /// handed out once, however many claim at the same time.
    /// The job is held under `lease`.
    async fn claim(&self, now: DateTime<Utc>, lease: &Lease) -> Result<Option<Job>>;
    /// Puts running job `id` under `lease` (a job that started outside a
    /// worker: a synchronous request handed over); false when it is not
    /// running or another worker holds it. A running job without a lease
    /// is never taken as lapsed.
    async fn hold(&self, id: &str, lease: &Lease) -> Result<bool>;
    /// Extends the lease of every running job of `lease.worker` to
    /// `lease.until`; how many.
    async fn renew(&self, lease: &Lease) -> Result<u64>;
    /// Like [`JobStore::recover`], for running jobs whose lease lapsed
    /// before `now` only (their worker is gone); live workers' jobs stay.
    async fn recover_lapsed(
        &self,
        requeue_kinds: &[String],
        now: DateTime<Utc>,
    ) -> Result<Recovered>;
    /// Records progress of a running job; false when it is not running.
    async fn set_progress(&self, id: &str, fraction: f64, message: &str) -> Result<bool>;
    /// Ends a running job; false when it was not running (already ended).
    async fn finish(&self, id: &str, end: JobEnd, now: DateTime<Utc>) -> Result<bool>;
    /// Asks to cancel: a queued job is cancelled at once, a running one is
    /// flagged for its worker. Returns the status after the call (`None`: no
    /// such job).
    async fn request_cancel(&self, id: &str, now: DateTime<Utc>) -> Result<Option<JobStatus>>;
    /// After a restart: jobs left running go back to the queue when their
    /// kind is in `requeue_kinds`, else they fail saying the server stopped.
    async fn recover(&self, requeue_kinds: &[String], now: DateTime<Utc>) -> Result<Recovered>;
}
