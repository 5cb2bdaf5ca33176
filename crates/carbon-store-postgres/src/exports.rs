//! [`ExportStore`] on PostgreSQL: a new export and its idempotency key are
//! one `INSERT … ON CONFLICT (tenant, idempotency_key) DO NOTHING`, so two
//! processes creating with one key make one export.

use async_trait::async_trait;
use carbon_store::{Export, ExportStore, Result};
use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use crate::{PgStore, backend};

const COLS: &str = "id, tenant, owner, job_id, dataset, format, gzip, spec, status, \
                    idempotency_key, created_utc, finished_utc, expires_utc, rows, bytes, manifest, error";

fn to_export(r: &Row) -> Export {
    Export {
        id: r.get(0),
        tenant: r.get(1),
        owner: r.get(2),
        job_id: r.get(3),
        dataset: r.get(4),
        format: r.get(5),
        gzip: r.get(6),
        spec: r.get(7),
        status: r.get(8),
        idempotency_key: r.get(9),
        created: r.get(10),
        finished: r.get(11),
        expires: r.get(12),
        rows: r.get::<_, i64>(13).max(0) as u64,
        bytes: r.get::<_, i64>(14).max(0) as u64,
        manifest: r.get(15),
        error: r.get(16),
    }
}

#[async_trait]
impl ExportStore for PgStore {
    async fn create_export(&self, e: Export) -> Result<Export> {
        let c = self.client().await?;
        let (rows, bytes) = (e.rows as i64, e.bytes as i64);
        let inserted = c
            .execute(
                &format!(
                    "INSERT INTO exports ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                     $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (tenant, idempotency_key) DO NOTHING"
                ),
                &[
                    &e.id,
                    &e.tenant,
                    &e.owner,
                    &e.job_id,
                    &e.dataset,
                    &e.format,
                    &e.gzip,
                    &e.spec,
                    &e.status,
                    &e.idempotency_key,
                    &e.created,
                    &e.finished,
                    &e.expires,
                    &rows,
                    &bytes,
                    &e.manifest,
                    &e.error,
                ],
            )
            .await
            .map_err(backend("recording an export"))?;
        if inserted == 1 {
            return Ok(e);
        }
        // The key was taken: the export that holds it.
        let row = c
            .query_one(
                &format!("SELECT {COLS} FROM exports WHERE tenant = $1 AND idempotency_key = $2"),
                &[&e.tenant, &e.idempotency_key],
            )
            .await
            .map_err(backend("reading the export of an idempotency key"))?;
        Ok(to_export(&row))
    }

    async fn export(&self, tenant: &str, id: &str) -> Result<Option<Export>> {
        let c = self.client().await?;
        Ok(c.query_opt(
            &format!("SELECT {COLS} FROM exports WHERE tenant = $1 AND id = $2"),
            &[&tenant, &id],
        )
        .await
        .map_err(backend("reading an export"))?
        .as_ref()
        .map(to_export))
    }

    async fn exports(&self, tenant: &str, limit: usize) -> Result<Vec<Export>> {
        let c = self.client().await?;
        let limit = limit.clamp(1, 10_000) as i64;
        Ok(c.query(
            &format!(
                "SELECT {COLS} FROM exports WHERE tenant = $1 \
                     ORDER BY created_utc DESC, id COLLATE \"C\" DESC LIMIT $2"
            ),
            &[&tenant, &limit],
        )
        .await
        .map_err(backend("listing exports"))?
        .iter()
        .map(to_export)
        .collect())
    }

    async fn update_export(&self, e: &Export) -> Result<bool> {
        let c = self.client().await?;
        let (rows, bytes) = (e.rows as i64, e.bytes as i64);
        Ok(c.execute(
            "UPDATE exports SET job_id = coalesce($1, job_id), status = $2, finished_utc = $3, \
                 rows = $4, bytes = $5, manifest = $6, error = $7 WHERE tenant = $8 AND id = $9",
            &[
                &e.job_id,
                &e.status,
                &e.finished,
                &rows,
                &bytes,
                &e.manifest,
                &e.error,
                &e.tenant,
                &e.id,
            ],
        )
        .await
        .map_err(backend("updating an export"))?
            > 0)
    }

    async fn set_export_job(&self, tenant: &str, id: &str, job_id: &str) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE exports SET job_id = $1 WHERE tenant = $2 AND id = $3",
            &[&job_id, &tenant, &id],
        )
        .await
        .map_err(backend("noting an export's job"))?
            > 0)
    }

    async fn expired_exports(&self, t: DateTime<Utc>) -> Result<Vec<Export>> {
        let c = self.client().await?;
        Ok(c.query(
            &format!(
                "SELECT {COLS} FROM exports WHERE expires_utc < $1 AND status <> 'expired' \
                     ORDER BY expires_utc, id COLLATE \"C\""
            ),
            &[&t],
        )
        .await
        .map_err(backend("listing expired exports"))?
        .iter()
        .map(to_export)
        .collect())
    }

    async fn export_bytes(&self, tenant: &str) -> Result<u64> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one(
                "SELECT coalesce(sum(bytes), 0)::BIGINT FROM exports WHERE tenant = $1 AND status <> 'expired'",
                &[&tenant],
            )
            .await
            .map_err(backend("summing export bytes"))?
            .get(0);
        Ok(n.max(0) as u64)
    }
}
