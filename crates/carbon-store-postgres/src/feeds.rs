//! [`FeedStore`] on PostgreSQL: the scheduler's changes are targeted
//! updates (counters incremented in the statement), so processes never
//! overwrite each other's state with a stale copy.

use async_trait::async_trait;
use carbon_store::{Feed, FeedStore, Result};
use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use crate::{PgStore, backend};

const COLS: &str = "id, tenant, owner, name, spec, enabled, created_utc, next_due_utc, \
                    last_run_utc, last_success_utc, last_error, failures, runs";

fn to_feed(r: &Row) -> Feed {
    Feed {
        id: r.get(0),
        tenant: r.get(1),
        owner: r.get(2),
        name: r.get(3),
        spec: r.get(4),
        enabled: r.get(5),
        created: r.get(6),
        next_due: r.get(7),
        last_run: r.get(8),
        last_success: r.get(9),
        last_error: r.get(10),
        failures: u32::try_from(r.get::<_, i64>(11)).unwrap_or(u32::MAX),
        runs: r.get::<_, i64>(12).max(0) as u64,
    }
}

#[async_trait]
impl FeedStore for PgStore {
    async fn create_feed(&self, f: Feed) -> Result<()> {
        let c = self.client().await?;
        let (failures, runs) = (i64::from(f.failures), f.runs as i64);
        c.execute(
            &format!(
                "INSERT INTO feeds ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            &[
                &f.id,
                &f.tenant,
                &f.owner,
                &f.name,
                &f.spec,
                &f.enabled,
                &f.created,
                &f.next_due,
                &f.last_run,
                &f.last_success,
                &f.last_error,
                &failures,
                &runs,
            ],
        )
        .await
        .map_err(backend(&format!("a feed named `{}`", f.name)))?;
        Ok(())
    }

    async fn update_feed(&self, f: &Feed) -> Result<bool> {
        let c = self.client().await?;
        let (failures, runs) = (i64::from(f.failures), f.runs as i64);
        Ok(c.execute(
            "UPDATE feeds SET spec = $1, enabled = $2, next_due_utc = $3, last_run_utc = $4, \
                 last_success_utc = $5, last_error = $6, failures = $7, runs = $8 \
                 WHERE tenant = $9 AND id = $10",
            &[
                &f.spec,
                &f.enabled,
                &f.next_due,
                &f.last_run,
                &f.last_success,
                &f.last_error,
                &failures,
                &runs,
                &f.tenant,
                &f.id,
            ],
        )
        .await
        .map_err(backend("updating a feed"))?
            > 0)
    }

    async fn record_firing(
        &self,
        tenant: &str,
        id: &str,
        at: DateTime<Utc>,
        next_due: Option<DateTime<Utc>>,
        error: Option<String>,
    ) -> Result<bool> {
        let c = self.client().await?;
        Ok(c
            .execute(
                "UPDATE feeds SET next_due_utc = coalesce($1, next_due_utc), last_run_utc = $2, \
                 runs = runs + 1, failures = failures + CASE WHEN $3::TEXT IS NULL THEN 0 ELSE 1 END, \
                 last_error = coalesce($3, last_error) WHERE tenant = $4 AND id = $5",
                &[&next_due, &at, &error, &tenant, &id],
            )
            .await
            .map_err(backend("recording a feed's firing"))?
            > 0)
    }

    async fn record_outcome(
        &self,
        tenant: &str,
        id: &str,
        at: DateTime<Utc>,
        error: Option<String>,
    ) -> Result<bool> {
        let c = self.client().await?;
        let n = match error {
            None => {
                c.execute(
                    "UPDATE feeds SET last_success_utc = $1, failures = 0, last_error = NULL \
                     WHERE tenant = $2 AND id = $3",
                    &[&at, &tenant, &id],
                )
                .await
            }
            Some(e) => {
                c.execute(
                    "UPDATE feeds SET failures = failures + 1, last_error = $1 \
                     WHERE tenant = $2 AND id = $3",
                    &[&e, &tenant, &id],
                )
                .await
            }
        }
        .map_err(backend("recording a feed run's outcome"))?;
        Ok(n > 0)
    }

    async fn set_feed_enabled(
        &self,
        tenant: &str,
        id: &str,
        enabled: bool,
        next_due: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE feeds SET enabled = $1, next_due_utc = coalesce($2, next_due_utc) \
                 WHERE tenant = $3 AND id = $4",
            &[&enabled, &next_due, &tenant, &id],
        )
        .await
        .map_err(backend("pausing or resuming a feed"))?
            > 0)
    }

    async fn feed(&self, tenant: &str, id: &str) -> Result<Option<Feed>> {
        let c = self.client().await?;
        Ok(c.query_opt(
            &format!("SELECT {COLS} FROM feeds WHERE tenant = $1 AND id = $2"),
            &[&tenant, &id],
        )
        .await
        .map_err(backend("reading a feed"))?
        .as_ref()
        .map(to_feed))
    }

    async fn feeds(&self, tenant: Option<&str>) -> Result<Vec<Feed>> {
        let c = self.client().await?;
        Ok(c
            .query(
                &format!(
                    "SELECT {COLS} FROM feeds WHERE ($1::TEXT IS NULL OR tenant = $1) ORDER BY tenant COLLATE \"C\", name COLLATE \"C\""
                ),
                &[&tenant],
            )
            .await
            .map_err(backend("listing feeds"))?
            .iter()
            .map(to_feed)
            .collect())
    }

    async fn delete_feed(&self, tenant: &str, id: &str) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.execute(
            "DELETE FROM feeds WHERE tenant = $1 AND id = $2",
            &[&tenant, &id],
        )
        .await
        .map_err(backend("deleting a feed"))?
            > 0)
    }
}
