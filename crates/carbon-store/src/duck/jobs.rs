//! [`JobStore`] on DuckDB. Claims run under the one writer connection in a
//! transaction, so two claimers never get the same job.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use duckdb::{OptionalExt, Row, params};

use super::{DuckdbStore, from_micros, ts};
use crate::{
    error::{Error, Result},
    jobs::{Job, JobEnd, JobFilter, JobStatus, JobStore, Lease, Recovered},
};

const COLS: &str = "id, kind, spec, tenant, owner, status, progress, message, \
                    epoch_us(created_utc), epoch_us(started_utc), epoch_us(finished_utc), \
                    result, error, cancel_requested, attempts FROM jobs";

fn to_job(r: &Row<'_>) -> duckdb::Result<std::result::Result<Job, String>> {
    let status: String = r.get(5)?;
    let spec: String = r.get(2)?;
    let result: Option<String> = r.get(11)?;
    let Some(status) = JobStatus::parse(&status) else {
        return Ok(Err(format!("unknown job status {status}")));
    };
    let spec = match serde_json::from_str(&spec) {
        Ok(v) => v,
        Err(e) => return Ok(Err(format!("bad stored job spec: {e}"))),
    };
    Ok(Ok(Job {
        id: r.get(0)?,
        kind: r.get(1)?,
        spec,
        tenant: r.get(3)?,
        owner: r.get(4)?,
        status,
        progress: r.get(6)?,
        message: r.get(7)?,
        created: from_micros(r.get(8)?),
        started: r.get::<_, Option<i64>>(9)?.map(from_micros),
        finished: r.get::<_, Option<i64>>(10)?.map(from_micros),
        result: result.and_then(|s| serde_json::from_str(&s).ok()),
        error: r.get(12)?,
        cancel_requested: r.get(13)?,
        attempts: r.get::<_, i64>(14)? as u32,
    }))
}

fn one(c: &duckdb::Connection, id: &str) -> Result<Option<Job>> {
    c.query_row(&format!("SELECT {COLS} WHERE id = ?"), [id], to_job)
        .optional()?
        .map(|j| j.map_err(Error::Backend))
        .transpose()
}

#[async_trait]
impl JobStore for DuckdbStore {
    async fn enqueue(&self, j: Job) -> Result<()> {
        self.blocking(move |s| {
            s.writer().execute(
                "INSERT INTO jobs (id, kind, spec, tenant, owner, status, progress, message, \
                 created_utc, started_utc, finished_utc, result, error, cancel_requested, attempts) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    j.id,
                    j.kind,
                    j.spec.to_string(),
                    j.tenant,
                    j.owner,
                    j.status.as_str(),
                    j.progress,
                    j.message,
                    ts(j.created),
                    j.started.map(ts),
                    j.finished.map(ts),
                    j.result.as_ref().map(|v| v.to_string()),
                    j.error,
                    j.cancel_requested,
                    i64::from(j.attempts)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn job(&self, id: &str) -> Result<Option<Job>> {
        let id = id.to_string();
        self.blocking(move |s| one(&s.reader(), &id)).await
    }

    async fn jobs(&self, f: JobFilter) -> Result<Vec<Job>> {
        self.blocking(move |s| {
            let c = s.reader();
            let limit = f.limit.unwrap_or(50).clamp(1, 10_000);
            let status = f.status.map(JobStatus::as_str);
            let mut stmt = c.prepare(&format!(
                "SELECT {COLS} WHERE (? IS NULL OR tenant = ?) AND (? IS NULL OR status = ?) \
                 AND (? IS NULL OR kind = ?) ORDER BY created_utc DESC, id DESC LIMIT {limit}"
            ))?;
            let rows = stmt.query_map(
                params![f.tenant, f.tenant, status, status, f.kind, f.kind],
                to_job,
            )?;
            let mut out = Vec::new();
            for r in rows {
                out.push(r?.map_err(Error::Backend)?);
            }
            Ok(out)
        })
        .await
    }

    async fn claim(&self, now: DateTime<Utc>, lease: &Lease) -> Result<Option<Job>> {
        let lease = lease.clone();
        self.blocking(move |s| {
            let mut c = s.writer();
            let tx = c.transaction()?;
            let next: Option<String> = tx
                .query_row(
                    "WITH served AS (SELECT tenant, \
                                            count(*) FILTER (WHERE status = 'running') AS n, \
                                            max(started_utc) AS last \
                                     FROM jobs GROUP BY tenant) \
                     SELECT j.id FROM jobs j LEFT JOIN served r ON r.tenant = j.tenant \
                     WHERE j.status = 'queued' \
                     ORDER BY coalesce(r.n, 0), r.last NULLS FIRST, j.created_utc, j.id LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(id) = next else {
                return Ok(None);
            };
            let n = tx.execute(
                "UPDATE jobs SET status = 'running', started_utc = ?, attempts = attempts + 1, \
                 progress = 0, message = '', lease_owner = ?, lease_until = ? \
                 WHERE id = ? AND status = 'queued'",
                params![ts(now), lease.worker, ts(lease.until), id],
            )?;
            if n == 0 {
                return Ok(None);
            }
            let job = one(&tx, &id)?;
            tx.commit()?;
            Ok(job)
        })
        .await
    }

    async fn hold(&self, id: &str, lease: &Lease) -> Result<bool> {
        let (id, lease) = (id.to_string(), lease.clone());
        self.blocking(move |s| {
            Ok(s.writer().execute(
                "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id = ? AND status = 'running' \
                 AND (lease_owner IS NULL OR lease_owner = ?)",
                params![lease.worker, ts(lease.until), id, lease.worker],
            )? > 0)
        })
        .await
    }

    async fn renew(&self, lease: &Lease) -> Result<u64> {
        let lease = lease.clone();
        self.blocking(move |s| {
            Ok(s.writer().execute(
                "UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND status = 'running'",
                params![ts(lease.until), lease.worker],
            )? as u64)
        })
        .await
    }

    async fn recover_lapsed(
        &self,
        requeue_kinds: &[String],
        now: DateTime<Utc>,
    ) -> Result<Recovered> {
        self.recover_where(requeue_kinds, now, true).await
    }

    async fn set_progress(&self, id: &str, fraction: f64, message: &str) -> Result<bool> {
        let (id, message) = (id.to_string(), message.to_string());
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.blocking(move |s| {
            Ok(s.writer().execute(
                "UPDATE jobs SET progress = ?, message = ? WHERE id = ? AND status = 'running'",
                params![fraction, message, id],
            )? > 0)
        })
        .await
    }

    async fn finish(&self, id: &str, end: JobEnd, now: DateTime<Utc>) -> Result<bool> {
        let id = id.to_string();
        self.blocking(move |s| {
            let (status, result, error, progress) = match end {
                JobEnd::Succeeded(v) => (JobStatus::Succeeded, Some(v.to_string()), None, 1.0),
                JobEnd::Failed(e) => (JobStatus::Failed, None, Some(e), -1.0),
                JobEnd::Cancelled => (JobStatus::Cancelled, None, None, -1.0),
            };
            Ok(s.writer().execute(
                "UPDATE jobs SET status = ?, result = ?, error = ?, finished_utc = ?, \
                 progress = CASE WHEN ? < 0 THEN progress ELSE ? END \
                 WHERE id = ? AND status = 'running'",
                params![
                    status.as_str(),
                    result,
                    error,
                    ts(now),
                    progress,
                    progress,
                    id
                ],
            )? > 0)
        })
        .await
    }

    async fn request_cancel(&self, id: &str, now: DateTime<Utc>) -> Result<Option<JobStatus>> {
        let id = id.to_string();
        self.blocking(move |s| {
            let mut c = s.writer();
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE jobs SET status = 'cancelled', finished_utc = ?, cancel_requested = true \
                 WHERE id = ? AND status = 'queued'",
                params![ts(now), id],
            )?;
            tx.execute(
                "UPDATE jobs SET cancel_requested = true WHERE id = ? AND status = 'running'",
                params![id],
            )?;
            let job = one(&tx, &id)?;
            tx.commit()?;
            Ok(job.map(|j| j.status))
        })
        .await
    }

    async fn recover(&self, requeue_kinds: &[String], now: DateTime<Utc>) -> Result<Recovered> {
        self.recover_where(requeue_kinds, now, false).await
    }
}

impl DuckdbStore {
    /// Running jobs (only those whose lease lapsed before `now`, with
    /// `lapsed`) back to the queue or failed.
    async fn recover_where(
        &self,
        requeue_kinds: &[String],
        now: DateTime<Utc>,
        lapsed: bool,
    ) -> Result<Recovered> {
        // Kinds are identifiers: one comma-separated parameter holds them.
        let kinds = requeue_kinds.join(",");
        // A job without a lease is not lapsed: it is being handed over (held
        // a moment later) or was left by a server before leases, which the
        // start-up `recover` takes.
        let held = if lapsed {
            " AND lease_until IS NOT NULL AND lease_until < ?"
        } else {
            " AND ? IS NOT NULL"
        };
        self.blocking(move |s| {
            let mut c = s.writer();
            let tx = c.transaction()?;
            // A cancel asked for before the stop is honoured, not requeued.
            let requeued = tx.execute(
                &format!(
                    "UPDATE jobs SET status = 'queued', started_utc = NULL, progress = 0, \
                     message = 'requeued after a restart', lease_owner = NULL, lease_until = NULL \
                     WHERE status = 'running' AND NOT cancel_requested \
                     AND list_contains(string_split(?, ','), kind){held}"
                ),
                params![kinds, ts(now)],
            )?;
            let failed = tx.execute(
                &format!(
                    "UPDATE jobs SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'failed' END, \
                     error = CASE WHEN cancel_requested THEN NULL \
                             ELSE 'the server stopped while this job ran; submit it again' END, \
                     finished_utc = ?, lease_owner = NULL, lease_until = NULL \
                     WHERE status = 'running'{held}"
                ),
                params![ts(now), ts(now)],
            )?;
            tx.commit()?;
            Ok(Recovered { failed, requeued })
        })
        .await
    }
}
