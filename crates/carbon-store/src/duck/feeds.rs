//! [`FeedStore`] on DuckDB.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use duckdb::{Row, params};

use super::{DuckdbStore, from_micros, ts};
use crate::{
    error::{Error, Result},
    feeds::{Feed, FeedStore},
};

const COLS: &str = "id, tenant, owner, name, spec, enabled, epoch_us(created_utc), \
                    epoch_us(next_due_utc), epoch_us(last_run_utc), epoch_us(last_success_utc), \
                    last_error, failures, runs FROM feeds";

fn to_feed(r: &Row<'_>) -> duckdb::Result<std::result::Result<Feed, String>> {
    let spec: String = r.get(4)?;
    let spec = match serde_json::from_str(&spec) {
        Ok(v) => v,
        Err(e) => return Ok(Err(format!("bad stored feed spec: {e}"))),
    };
    Ok(Ok(Feed {
        id: r.get(0)?,
        tenant: r.get(1)?,
        owner: r.get(2)?,
        name: r.get(3)?,
        spec,
        enabled: r.get(5)?,
        created: from_micros(r.get(6)?),
        next_due: from_micros(r.get(7)?),
        last_run: r.get::<_, Option<i64>>(8)?.map(from_micros),
        last_success: r.get::<_, Option<i64>>(9)?.map(from_micros),
        last_error: r.get(10)?,
        failures: r.get::<_, i64>(11)? as u32,
        runs: r.get::<_, i64>(12)? as u64,
    }))
}

fn many(c: &duckdb::Connection, sql: &str, p: &[&dyn duckdb::ToSql]) -> Result<Vec<Feed>> {
    super::read_rows(c, sql, p, to_feed)
}

#[async_trait]
impl FeedStore for DuckdbStore {
    async fn create_feed(&self, f: Feed) -> Result<()> {
        self.blocking(move |s| {
            let mut c = s.writer();
            let tx = c.transaction()?;
            let taken: i64 = tx.query_row(
                "SELECT count(*) FROM feeds WHERE tenant = ? AND name = ?",
                params![f.tenant, f.name],
                |r| r.get(0),
            )?;
            if taken > 0 {
                return Err(Error::Conflict(format!(
                    "a feed named `{}` exists already",
                    f.name
                )));
            }
            tx.execute(
                "INSERT INTO feeds (id, tenant, owner, name, spec, enabled, created_utc, \
                 next_due_utc, last_run_utc, last_success_utc, last_error, failures, runs) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    f.id,
                    f.tenant,
                    f.owner,
                    f.name,
                    f.spec.to_string(),
                    f.enabled,
                    ts(f.created),
                    ts(f.next_due),
                    f.last_run.map(ts),
                    f.last_success.map(ts),
                    f.last_error,
                    i64::from(f.failures),
                    f.runs as i64
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn update_feed(&self, f: &Feed) -> Result<bool> {
        let f = f.clone();
        self.blocking(move |s| {
            let n = s.writer().execute(
                "UPDATE feeds SET spec = ?, enabled = ?, next_due_utc = ?, last_run_utc = ?, \
                 last_success_utc = ?, last_error = ?, failures = ?, runs = ? \
                 WHERE tenant = ? AND id = ?",
                params![
                    f.spec.to_string(),
                    f.enabled,
                    ts(f.next_due),
                    f.last_run.map(ts),
                    f.last_success.map(ts),
                    f.last_error,
                    i64::from(f.failures),
                    f.runs as i64,
                    f.tenant,
                    f.id
                ],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn record_firing(
        &self,
        tenant: &str,
        id: &str,
        at: DateTime<Utc>,
        next_due: Option<DateTime<Utc>>,
        error: Option<String>,
    ) -> Result<bool> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.blocking(move |s| {
            let failed = i64::from(error.is_some());
            let n = s.writer().execute(
                "UPDATE feeds SET next_due_utc = coalesce(?, next_due_utc), last_run_utc = ?, \
                 runs = runs + 1, failures = failures + ?, \
                 last_error = CASE WHEN ? = 1 THEN ? ELSE last_error END \
                 WHERE tenant = ? AND id = ?",
                params![next_due.map(ts), ts(at), failed, failed, error, tenant, id],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn record_outcome(
        &self,
        tenant: &str,
        id: &str,
        at: DateTime<Utc>,
        error: Option<String>,
    ) -> Result<bool> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.blocking(move |s| {
            let n = match error {
                None => s.writer().execute(
                    "UPDATE feeds SET last_success_utc = ?, failures = 0, last_error = NULL \
                     WHERE tenant = ? AND id = ?",
                    params![ts(at), tenant, id],
                )?,
                Some(e) => s.writer().execute(
                    "UPDATE feeds SET failures = failures + 1, last_error = ? \
                     WHERE tenant = ? AND id = ?",
                    params![e, tenant, id],
                )?,
            };
            Ok(n > 0)
        })
        .await
    }

    async fn set_feed_enabled(
        &self,
        tenant: &str,
        id: &str,
        enabled: bool,
        next_due: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.blocking(move |s| {
            let n = s.writer().execute(
                "UPDATE feeds SET enabled = ?, next_due_utc = coalesce(?, next_due_utc) \
                 WHERE tenant = ? AND id = ?",
                params![enabled, next_due.map(ts), tenant, id],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn feed(&self, tenant: &str, id: &str) -> Result<Option<Feed>> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.blocking(move |s| {
            Ok(many(
                &s.reader(),
                &format!("SELECT {COLS} WHERE tenant = ? AND id = ?"),
                &[&tenant, &id],
            )?
            .into_iter()
            .next())
        })
        .await
    }

    async fn feeds(&self, tenant: Option<&str>) -> Result<Vec<Feed>> {
        let tenant = tenant.map(str::to_string);
        self.blocking(move |s| match &tenant {
            Some(t) => many(
                &s.reader(),
                &format!("SELECT {COLS} WHERE tenant = ? ORDER BY name"),
                &[t],
            ),
            None => many(
                &s.reader(),
                &format!("SELECT {COLS} ORDER BY tenant, name"),
                &[],
            ),
        })
        .await
    }

    async fn delete_feed(&self, tenant: &str, id: &str) -> Result<bool> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.blocking(move |s| {
            let n = s.writer().execute(
                "DELETE FROM feeds WHERE tenant = ? AND id = ?",
                params![tenant, id],
            )?;
            Ok(n > 0)
        })
        .await
    }
}
