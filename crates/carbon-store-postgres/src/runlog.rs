//! [`RunLog`] on PostgreSQL: ingest runs (a run saved again replaces its
//! row: it is saved when it starts and when it ends), quarantined rows
//! (one multi-row insert per batch) and checkpoints.

use async_trait::async_trait;
use carbon_store::{Error, IngestRun, QuarantinedRow, Result, RunFilter, RunLog, RunStatus};
use chrono::Utc;

use crate::{PgStore, backend};

#[async_trait]
impl RunLog for PgStore {
    async fn save_run(&self, run: IngestRun) -> Result<()> {
        let c = self.client().await?;
        let (acc, unch, rej) = (
            run.rows_accepted as i64,
            run.rows_unchanged as i64,
            run.rows_rejected as i64,
        );
        c.execute(
            "INSERT INTO ingest_runs (id, connector, source, window_start_utc, window_end_utc, \
             started_utc, finished_utc, status, rows_accepted, rows_unchanged, rows_rejected, \
             error, quality) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (id) DO UPDATE SET connector = EXCLUDED.connector, \
             source = EXCLUDED.source, window_start_utc = EXCLUDED.window_start_utc, \
             window_end_utc = EXCLUDED.window_end_utc, started_utc = EXCLUDED.started_utc, \
             finished_utc = EXCLUDED.finished_utc, status = EXCLUDED.status, \
             rows_accepted = EXCLUDED.rows_accepted, rows_unchanged = EXCLUDED.rows_unchanged, \
             rows_rejected = EXCLUDED.rows_rejected, error = EXCLUDED.error, \
             quality = EXCLUDED.quality",
            &[
                &run.id,
                &run.connector,
                &run.source,
                &run.window_start,
                &run.window_end,
                &run.started,
                &run.finished,
                &run.status.as_str(),
                &acc,
                &unch,
                &rej,
                &run.error,
                &run.quality,
            ],
        )
        .await
        .map_err(backend("saving an ingest run"))?;
        Ok(())
    }

    async fn runs(&self, filter: RunFilter) -> Result<Vec<IngestRun>> {
        let c = self.client().await?;
        let limit = filter.limit.unwrap_or(50).max(1) as i64;
        let rows = c
            .query(
                "SELECT id, connector, source, window_start_utc, window_end_utc, started_utc, \
                        finished_utc, status, rows_accepted, rows_unchanged, rows_rejected, \
                        error, quality \
                 FROM ingest_runs WHERE ($1::TEXT IS NULL OR connector = $1) \
                 AND ($2::TEXT IS NULL OR id = $2) \
                 ORDER BY started_utc DESC, id COLLATE \"C\" DESC LIMIT $3",
                &[&filter.connector, &filter.id, &limit],
            )
            .await
            .map_err(backend("listing ingest runs"))?;
        rows.iter()
            .map(|r| {
                let status: String = r.get(7);
                Ok(IngestRun {
                    id: r.get(0),
                    connector: r.get(1),
                    source: r.get(2),
                    window_start: r.get(3),
                    window_end: r.get(4),
                    started: r.get(5),
                    finished: r.get(6),
                    status: RunStatus::parse(&status)
                        .ok_or_else(|| Error::Backend(format!("unknown run status {status}")))?,
                    rows_accepted: r.get::<_, i64>(8).max(0) as u64,
                    rows_unchanged: r.get::<_, i64>(9).max(0) as u64,
                    rows_rejected: r.get::<_, i64>(10).max(0) as u64,
                    error: r.get(11),
                    quality: r.get(12),
                })
            })
            .collect()
    }

    async fn quarantine(&self, rows: Vec<QuarantinedRow>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(backend("quarantining rows"))?;
        let stmt = tx
            .prepare(
                "INSERT INTO quarantine (run_id, source, source_row, instrument_id, market_run, \
                 interval_start_utc, reason, detail, quarantined_utc) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .await
            .map_err(backend("quarantining rows"))?;
        let now = Utc::now();
        for q in &rows {
            let source_row = q.source_row.map(|r| r as i64);
            tx.execute(
                &stmt,
                &[
                    &q.run_id,
                    &q.source,
                    &source_row,
                    &q.instrument_id,
                    &q.market_run,
                    &q.interval_start,
                    &q.reason,
                    &q.detail,
                    &now,
                ],
            )
            .await
            .map_err(backend("quarantining rows"))?;
        }
        tx.commit().await.map_err(backend("quarantining rows"))
    }

    async fn quarantined(
        &self,
        run_id: Option<String>,
        limit: usize,
    ) -> Result<Vec<QuarantinedRow>> {
        let c = self.client().await?;
        let limit = limit.max(1) as i64;
        Ok(c.query(
            "SELECT run_id, source, source_row, instrument_id, market_run, \
                        interval_start_utc, reason, detail \
                 FROM quarantine WHERE ($1::TEXT IS NULL OR run_id = $1) \
                 ORDER BY quarantined_utc DESC, source COLLATE \"C\", source_row LIMIT $2",
            &[&run_id, &limit],
        )
        .await
        .map_err(backend("reading quarantined rows"))?
        .iter()
        .map(|r| QuarantinedRow {
            run_id: r.get(0),
            source: r.get(1),
            source_row: r.get::<_, Option<i64>>(2).map(|v| v.max(0) as u64),
            instrument_id: r.get(3),
            market_run: r.get(4),
            interval_start: r.get(5),
            reason: r.get(6),
            detail: r.get(7),
        })
        .collect())
    }

    async fn set_checkpoint(&self, name: &str, value: serde_json::Value) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO checkpoints (name, value, updated_utc) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_utc = EXCLUDED.updated_utc",
            &[&name, &value, &Utc::now()],
        )
        .await
        .map_err(backend("saving a checkpoint"))?;
        Ok(())
    }

    async fn checkpoint(&self, name: &str) -> Result<Option<serde_json::Value>> {
        let c = self.client().await?;
        Ok(
            c.query_opt("SELECT value FROM checkpoints WHERE name = $1", &[&name])
                .await
                .map_err(backend("reading a checkpoint"))?
                .map(|r| r.get(0)),
        )
    }
}
