//! Executing planned requests: backfills and poll jobs.
//!
//! Requests run in plan order. A request whose answer settles (a published
//! daily report, a past OASIS window) and was ingested before is skipped: its
//! checkpoint `done/<key>` names the run that stored it. So a stopped backfill
//! resumes where it left off by running the same command again, and polls do
//! not re-download final data. `force` ignores the checkpoints.

use std::sync::Arc;

use carbon_store::{IngestRun, RunLog, RunStatus};

use crate::{
    connector::{Connector, Request},
    error::Result,
    runner::{Outcome, Runner},
};

/// What happened to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Skipped: settled and ingested before (by this run id).
    Done(String),
    /// Fetched (or failed to fetch) and recorded as this run.
    Ran(IngestRun),
    /// Fetched but not ingested by this version (reason).
    Skipped(String),
}

impl Step {
    /// Whether the request is complete (ingested now or before).
    pub fn is_complete(&self) -> bool {
        match self {
            Step::Done(_) => true,
            Step::Ran(r) => matches!(r.status, RunStatus::Ok | RunStatus::Partial),
            Step::Skipped(_) => false,
        }
    }
}

/// Totals of an execution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncReport {
    /// Requests planned.
    pub requests: usize,
    /// Skipped as already ingested.
    pub already_done: usize,
    /// Ingested now (ok or partial).
    pub ingested: usize,
    /// Answered "nothing (yet)".
    pub no_data: usize,
    /// Sources unreachable (or offline).
    pub unreachable: usize,
    /// Failed (bad payload, HTTP error, store refusal).
    pub failed: usize,
    /// Not attempted because the source became unreachable.
    pub not_attempted: usize,
    /// Versions stored.
    pub rows_accepted: u64,
    /// Rows quarantined.
    pub rows_rejected: u64,
}

impl SyncReport {
    fn add(&mut self, step: &Step) {
        match step {
            Step::Done(_) => self.already_done += 1,
            Step::Skipped(_) => self.failed += 1,
            Step::Ran(r) => {
                self.rows_accepted += r.rows_accepted;
                self.rows_rejected += r.rows_rejected;
                match r.status {
                    RunStatus::Ok | RunStatus::Partial => self.ingested += 1,
                    RunStatus::NoData => self.no_data += 1,
                    RunStatus::Unreachable => self.unreachable += 1,
                    RunStatus::Failed | RunStatus::Running => self.failed += 1,
                }
            }
        }
    }
}

fn checkpoint_name(request: &Request) -> String {
    format!("done/{}", request.key)
}

/// Runs `requests` of `connector` in order; `on_step` sees each outcome. Once
/// the source is unreachable (or the client is offline) the remaining requests
/// are not attempted: one failed run records it, not one per request.
pub async fn execute(
    runner: &Runner,
    log: &Arc<dyn RunLog>,
    connector: Arc<dyn Connector>,
    requests: Vec<Request>,
    force: bool,
    mut on_step: impl FnMut(&Request, &Step),
) -> Result<SyncReport> {
    let mut report = SyncReport {
        requests: requests.len(),
        ..Default::default()
    };
    let total = requests.len();
    for (i, request) in requests.into_iter().enumerate() {
        let step = run_one(runner, log, connector.clone(), &request, force).await?;
        report.add(&step);
        on_step(&request, &step);
        if matches!(&step, Step::Ran(r) if r.status == RunStatus::Unreachable) {
            report.not_attempted = total - i - 1;
            break;
        }
    }
    Ok(report)
}

async fn run_one(
    runner: &Runner,
    log: &Arc<dyn RunLog>,
    connector: Arc<dyn Connector>,
    request: &Request,
    force: bool,
) -> Result<Step> {
    if request.settles
        && !force
        && let Some(done) = log.checkpoint(&checkpoint_name(request)).await?
    {
        let run_id = done
            .get("run_id")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        return Ok(Step::Done(run_id.to_string()));
    }
    let fetched = {
        let (c, r) = (connector.clone(), request.clone());
        tokio::task::spawn_blocking(move || c.fetch(&r))
            .await
            .map_err(|e| crate::Error::Internal(format!("fetch task failed: {e}")))?
    };
    let payload = match fetched {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(connector = connector.name(), key = %request.key, error = %e, "fetch failed");
            let run = runner
                .record_fetch_failure(connector.name(), request, &e)
                .await?;
            return Ok(Step::Ran(run));
        }
    };
    let step = match runner
        .ingest_request(connector.clone(), request, payload)
        .await
    {
        Ok(Outcome::Run(run)) => Step::Ran(run),
        Ok(Outcome::Skipped(why)) => Step::Skipped(why),
        // The failure is recorded as a run; the next request may still succeed.
        Err(crate::Error::Store(e)) if e.is_user_error() => Step::Skipped(e.to_string()),
        Err(e) => return Err(e),
    };
    if request.settles
        && let Step::Ran(run) = &step
        && matches!(run.status, RunStatus::Ok | RunStatus::Partial)
    {
        let value = serde_json::json!({ "run_id": run.id, "source": run.source });
        log.set_checkpoint(&checkpoint_name(request), value).await?;
    }
    Ok(step)
}
