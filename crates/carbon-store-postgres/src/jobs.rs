//! [`JobStore`] on PostgreSQL. A claim picks the next queued job (tenants
//! served round robin: fewest running first, then the one served longest
//! ago) and takes it in the same statement with `FOR UPDATE SKIP LOCKED`, so
//! claimers in any number of processes never get the same job and never
//! wait on each other's rows.

use async_trait::async_trait;
use carbon_store::{Error, Job, JobEnd, JobFilter, JobStatus, JobStore, Lease, Recovered, Result};
use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use crate::{PgStore, backend};

const COLS: &str = "id, kind, spec, tenant, owner, status, progress, message, created_utc, \
                    started_utc, finished_utc, result, error, cancel_requested, attempts";

fn to_job(r: &Row) -> Result<Job> {
    let status: String = r.get(5);
    let status = JobStatus::parse(&status)
        .ok_or_else(|| Error::Backend(format!("unknown job status {status}")))?;
    Ok(Job {
        id: r.get(0),
        kind: r.get(1),
        spec: r.get(2),
        tenant: r.get(3),
        owner: r.get(4),
        status,
        progress: r.get(6),
        message: r.get(7),
        created: r.get(8),
        started: r.get(9),
        finished: r.get(10),
        result: r.get(11),
        error: r.get(12),
        cancel_requested: r.get(13),
        attempts: u32::try_from(r.get::<_, i64>(14)).unwrap_or(u32::MAX),
    })
}

#[async_trait]
impl JobStore for PgStore {
    async fn enqueue(&self, j: Job) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            &format!(
                "INSERT INTO jobs ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            ),
            &[
                &j.id,
                &j.kind,
                &j.spec,
                &j.tenant,
                &j.owner,
                &j.status.as_str(),
                &j.progress,
                &j.message,
                &j.created,
                &j.started,
                &j.finished,
                &j.result,
                &j.error,
                &j.cancel_requested,
                &i64::from(j.attempts),
            ],
        )
        .await
        .map_err(backend("queueing a job"))?;
        Ok(())
    }

    async fn job(&self, id: &str) -> Result<Option<Job>> {
        let c = self.client().await?;
        c.query_opt(&format!("SELECT {COLS} FROM jobs WHERE id = $1"), &[&id])
            .await
            .map_err(backend("reading a job"))?
            .as_ref()
            .map(to_job)
            .transpose()
    }

    async fn jobs(&self, f: JobFilter) -> Result<Vec<Job>> {
        let c = self.client().await?;
        let limit = f.limit.unwrap_or(50).clamp(1, 10_000) as i64;
        let status = f.status.map(JobStatus::as_str);
        c.query(
            &format!(
                "SELECT {COLS} FROM jobs WHERE ($1::TEXT IS NULL OR tenant = $1) \
                 AND ($2::TEXT IS NULL OR status = $2) AND ($3::TEXT IS NULL OR kind = $3) \
                 ORDER BY created_utc DESC, id COLLATE \"C\" DESC LIMIT $4"
            ),
            &[&f.tenant, &status, &f.kind, &limit],
        )
        .await
        .map_err(backend("listing jobs"))?
        .iter()
        .map(to_job)
        .collect()
    }

    async fn claim(&self, now: DateTime<Utc>, lease: &Lease) -> Result<Option<Job>> {
        let c = self.client().await?;
        c.query_opt(
            &format!(
                "WITH served AS (SELECT tenant, count(*) FILTER (WHERE status = 'running') AS n, \
                                        max(started_utc) AS last FROM jobs GROUP BY tenant), \
                      next AS (SELECT j.id FROM jobs j LEFT JOIN served r ON r.tenant = j.tenant \
                               WHERE j.status = 'queued' \
                               ORDER BY coalesce(r.n, 0), r.last NULLS FIRST, j.created_utc, j.id COLLATE \"C\" \
                               LIMIT 1 FOR UPDATE OF j SKIP LOCKED) \
                 UPDATE jobs SET status = 'running', started_utc = $1, attempts = attempts + 1, \
                        progress = 0, message = '', lease_owner = $2, lease_until = $3 \
                 FROM next WHERE jobs.id = next.id AND jobs.status = 'queued' \
                 RETURNING {}",
                COLS.split(", ")
                    .map(|c| format!("jobs.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            &[&now, &lease.worker, &lease.until],
        )
        .await
        .map_err(backend("claiming a job"))?
        .as_ref()
        .map(to_job)
        .transpose()
    }

    async fn hold(&self, id: &str, lease: &Lease) -> Result<bool> {
        let c = self.client().await?;
        Ok(c
            .execute(
                "UPDATE jobs SET lease_owner = $1, lease_until = $2 WHERE id = $3 AND status = 'running' \
                 AND (lease_owner IS NULL OR lease_owner = $1)",
                &[&lease.worker, &lease.until, &id],
            )
            .await
            .map_err(backend("holding a job"))?
            > 0)
    }

    async fn renew(&self, lease: &Lease) -> Result<u64> {
        let c = self.client().await?;
        c.execute(
            "UPDATE jobs SET lease_until = $1 WHERE lease_owner = $2 AND status = 'running'",
            &[&lease.until, &lease.worker],
        )
        .await
        .map_err(backend("renewing a lease"))
    }

    async fn recover_lapsed(
        &self,
        requeue_kinds: &[String],
        now: DateTime<Utc>,
    ) -> Result<Recovered> {
        self.recover_where(requeue_kinds, now, true).await
    }

    async fn set_progress(&self, id: &str, fraction: f64, message: &str) -> Result<bool> {
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE jobs SET progress = $1, message = $2 WHERE id = $3 AND status = 'running'",
            &[&fraction, &message, &id],
        )
        .await
        .map_err(backend("recording progress"))?
            > 0)
    }

    async fn finish(&self, id: &str, end: JobEnd, now: DateTime<Utc>) -> Result<bool> {
        let (status, result, error, progress) = match end {
            JobEnd::Succeeded(v) => (JobStatus::Succeeded, Some(v), None, Some(1.0f64)),
            JobEnd::Failed(e) => (JobStatus::Failed, None, Some(e), None),
            JobEnd::Cancelled => (JobStatus::Cancelled, None, None, None),
        };
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE jobs SET status = $1, result = $2, error = $3, finished_utc = $4, \
                 progress = coalesce($5, progress) WHERE id = $6 AND status = 'running'",
            &[&status.as_str(), &result, &error, &now, &progress, &id],
        )
        .await
        .map_err(backend("finishing a job"))?
            > 0)
    }

    async fn request_cancel(&self, id: &str, now: DateTime<Utc>) -> Result<Option<JobStatus>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(backend("cancelling a job"))?;
        tx.execute(
            "UPDATE jobs SET status = 'cancelled', finished_utc = $1, cancel_requested = true \
             WHERE id = $2 AND status = 'queued'",
            &[&now, &id],
        )
        .await
        .map_err(backend("cancelling a job"))?;
        tx.execute(
            "UPDATE jobs SET cancel_requested = true WHERE id = $1 AND status = 'running'",
            &[&id],
        )
        .await
        .map_err(backend("cancelling a job"))?;
        let status = tx
            .query_opt("SELECT status FROM jobs WHERE id = $1", &[&id])
            .await
            .map_err(backend("cancelling a job"))?
            .map(|r| r.get::<_, String>(0));
        tx.commit().await.map_err(backend("cancelling a job"))?;
        status
            .map(|s| {
                JobStatus::parse(&s)
                    .ok_or_else(|| Error::Backend(format!("unknown job status {s}")))
            })
            .transpose()
    }

    async fn recover(&self, requeue_kinds: &[String], now: DateTime<Utc>) -> Result<Recovered> {
        self.recover_where(requeue_kinds, now, false).await
    }
}

impl PgStore {
    /// Running jobs (with `lapsed`, only those whose lease ended before
    /// `now`; a job without a lease is being handed over, not lapsed) back
    /// to the queue or failed.
    async fn recover_where(
        &self,
        requeue_kinds: &[String],
        now: DateTime<Utc>,
        lapsed: bool,
    ) -> Result<Recovered> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(backend("recovering jobs"))?;
        // A cancel asked for before the stop is honoured, not requeued.
        let requeued = tx
            .execute(
                "UPDATE jobs SET status = 'queued', started_utc = NULL, progress = 0, \
                 message = 'requeued after a restart', lease_owner = NULL, lease_until = NULL \
                 WHERE status = 'running' AND NOT cancel_requested AND kind = ANY($1) \
                 AND (NOT $2 OR lease_until < $3)",
                &[&requeue_kinds, &lapsed, &now],
            )
            .await
            .map_err(backend("recovering jobs"))?;
        let failed = tx
            .execute(
                "UPDATE jobs SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'failed' END, \
                 error = CASE WHEN cancel_requested THEN NULL \
                         ELSE 'the server stopped while this job ran; submit it again' END, \
                 finished_utc = $1, lease_owner = NULL, lease_until = NULL WHERE status = 'running' \
                 AND (NOT $2 OR lease_until < $1)",
                &[&now, &lapsed],
            )
            .await
            .map_err(backend("recovering jobs"))?;
        tx.commit().await.map_err(backend("recovering jobs"))?;
        Ok(Recovered {
            failed: failed as usize,
            requeued: requeued as usize,
        })
    }
}
