//! [`ExportStore`] on DuckDB. Creation checks the idempotency key and inserts
//! under the one writer connection in a transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use duckdb::{OptionalExt, Row, params};

use super::{DuckdbStore, from_micros, ts};
use crate::{
    error::{Error, Result},
    exports::{Export, ExportStore},
};

const COLS: &str = "id, tenant, owner, job_id, dataset, format, gzip, spec, status, \
                    idempotency_key, epoch_us(created_utc), epoch_us(finished_utc), \
                    epoch_us(expires_utc), rows, bytes, manifest, error FROM exports";

fn to_export(r: &Row<'_>) -> duckdb::Result<std::result::Result<Export, String>> {
    let spec: String = r.get(7)?;
    let manifest: Option<String> = r.get(15)?;
    let spec = match serde_json::from_str(&spec) {
        Ok(v) => v,
        Err(e) => return Ok(Err(format!("bad stored export spec: {e}"))),
    };
    Ok(Ok(Export {
        id: r.get(0)?,
        tenant: r.get(1)?,
        owner: r.get(2)?,
        job_id: r.get(3)?,
        dataset: r.get(4)?,
        format: r.get(5)?,
        gzip: r.get(6)?,
        spec,
        status: r.get(8)?,
        idempotency_key: r.get(9)?,
        created: from_micros(r.get(10)?),
        finished: r.get::<_, Option<i64>>(11)?.map(from_micros),
        expires: from_micros(r.get(12)?),
        rows: r.get::<_, i64>(13)? as u64,
        bytes: r.get::<_, i64>(14)? as u64,
        manifest: manifest.and_then(|m| serde_json::from_str(&m).ok()),
        error: r.get(16)?,
    }))
}

fn many(c: &duckdb::Connection, sql: &str, p: &[&dyn duckdb::ToSql]) -> Result<Vec<Export>> {
    super::read_rows(c, sql, p, to_export)
}

#[async_trait]
impl ExportStore for DuckdbStore {
    async fn create_export(&self, e: Export) -> Result<Export> {
        self.blocking(move |s| {
            let mut c = s.writer();
            let tx = c.transaction()?;
            if let Some(key) = &e.idempotency_key {
                let found = tx
                    .query_row(
                        &format!("SELECT {COLS} WHERE tenant = ? AND idempotency_key = ?"),
                        params![e.tenant, key],
                        to_export,
                    )
                    .optional()?;
                if let Some(x) = found {
                    return x.map_err(Error::Backend);
                }
            }
            tx.execute(
                "INSERT INTO exports (id, tenant, owner, job_id, dataset, format, gzip, spec, \
                 status, idempotency_key, created_utc, finished_utc, expires_utc, rows, bytes, \
                 manifest, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    e.id,
                    e.tenant,
                    e.owner,
                    e.job_id,
                    e.dataset,
                    e.format,
                    e.gzip,
                    e.spec.to_string(),
                    e.status,
                    e.idempotency_key,
                    ts(e.created),
                    e.finished.map(ts),
                    ts(e.expires),
                    e.rows as i64,
                    e.bytes as i64,
                    e.manifest.as_ref().map(|m| m.to_string()),
                    e.error
                ],
            )?;
            tx.commit()?;
            Ok(e)
        })
        .await
    }

    async fn export(&self, tenant: &str, id: &str) -> Result<Option<Export>> {
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

    async fn exports(&self, tenant: &str, limit: usize) -> Result<Vec<Export>> {
        let tenant = tenant.to_string();
        let limit = limit.clamp(1, 10_000);
        self.blocking(move |s| {
            many(
                &s.reader(),
                &format!(
                    "SELECT {COLS} WHERE tenant = ? ORDER BY created_utc DESC, id DESC LIMIT {limit}"
                ),
                &[&tenant],
            )
        })
        .await
    }

    async fn update_export(&self, e: &Export) -> Result<bool> {
        let e = e.clone();
        self.blocking(move |s| {
            let n = s.writer().execute(
                "UPDATE exports SET job_id = coalesce(?, job_id), status = ?, finished_utc = ?, \
                 rows = ?, bytes = ?, manifest = ?, error = ? WHERE tenant = ? AND id = ?",
                params![
                    e.job_id,
                    e.status,
                    e.finished.map(ts),
                    e.rows as i64,
                    e.bytes as i64,
                    e.manifest.as_ref().map(|m| m.to_string()),
                    e.error,
                    e.tenant,
                    e.id
                ],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn set_export_job(&self, tenant: &str, id: &str, job_id: &str) -> Result<bool> {
        let (tenant, id, job) = (tenant.to_string(), id.to_string(), job_id.to_string());
        self.blocking(move |s| {
            let n = s.writer().execute(
                "UPDATE exports SET job_id = ? WHERE tenant = ? AND id = ?",
                params![job, tenant, id],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn expired_exports(&self, t: DateTime<Utc>) -> Result<Vec<Export>> {
        self.blocking(move |s| {
            many(
                &s.reader(),
                &format!("SELECT {COLS} WHERE expires_utc < ? AND status <> 'expired' ORDER BY expires_utc, id"),
                &[&ts(t)],
            )
        })
        .await
    }

    async fn export_bytes(&self, tenant: &str) -> Result<u64> {
        let tenant = tenant.to_string();
        self.blocking(move |s| {
            let n: i64 = s.reader().query_row(
                "SELECT coalesce(sum(bytes), 0) FROM exports WHERE tenant = ? AND status <> 'expired'",
                params![tenant],
                |r| r.get(0),
            )?;
            Ok(n.max(0) as u64)
        })
        .await
    }
}
