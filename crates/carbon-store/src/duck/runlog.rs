//! [`RunLog`] on DuckDB.

use async_trait::async_trait;
use chrono::Utc;
use duckdb::{OptionalExt, params};

use super::{DuckdbStore, from_micros, ts};
use crate::{
    error::{Error, Result},
    runlog::{IngestRun, QuarantinedRow, RunFilter, RunLog, RunStatus},
};

fn json_text(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(|v| v.to_string())
}

fn json_value(s: Option<String>) -> Option<serde_json::Value> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

#[async_trait]
impl RunLog for DuckdbStore {
    async fn save_run(&self, run: IngestRun) -> Result<()> {
        self.blocking(move |s| {
            let c = s.writer();
            c.execute(
                "INSERT OR REPLACE INTO ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    run.id,
                    run.connector,
                    run.source,
                    run.window_start.map(ts),
                    run.window_end.map(ts),
                    ts(run.started),
                    run.finished.map(ts),
                    run.status.as_str(),
                    run.rows_accepted as i64,
                    run.rows_unchanged as i64,
                    run.rows_rejected as i64,
                    run.error,
                    json_text(&run.quality),
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn runs(&self, filter: RunFilter) -> Result<Vec<IngestRun>> {
        self.blocking(move |s| {
            let c = s.reader();
            let limit = filter.limit.unwrap_or(50).max(1);
            let mut stmt = c.prepare(&format!(
                "SELECT id, connector, source, epoch_us(window_start_utc), epoch_us(window_end_utc),
                        epoch_us(started_utc), epoch_us(finished_utc), status, rows_accepted,
                        rows_unchanged, rows_rejected, error, quality
                 FROM ingest_runs WHERE (? IS NULL OR connector = ?) AND (? IS NULL OR id = ?)
                 ORDER BY started_utc DESC, id DESC LIMIT {limit}"
            ))?;
            let mut rows = stmt.query(params![
                filter.connector,
                filter.connector,
                filter.id,
                filter.id
            ])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let status: String = r.get(7)?;
                out.push(IngestRun {
                    id: r.get(0)?,
                    connector: r.get(1)?,
                    source: r.get(2)?,
                    window_start: r.get::<_, Option<i64>>(3)?.map(from_micros),
                    window_end: r.get::<_, Option<i64>>(4)?.map(from_micros),
                    started: from_micros(r.get(5)?),
                    finished: r.get::<_, Option<i64>>(6)?.map(from_micros),
                    status: RunStatus::parse(&status)
                        .ok_or_else(|| Error::Backend(format!("unknown run status {status}")))?,
                    rows_accepted: r.get::<_, i64>(8)? as u64,
                    rows_unchanged: r.get::<_, i64>(9)? as u64,
                    rows_rejected: r.get::<_, i64>(10)? as u64,
                    error: r.get(11)?,
                    quality: json_value(r.get(12)?),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn quarantine(&self, rows: Vec<QuarantinedRow>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.blocking(move |s| {
            let mut c = s.writer();
            let tx = c.transaction()?;
            {
                let mut app = tx.appender("quarantine")?;
                let now = ts(Utc::now());
                for q in &rows {
                    app.append_row(params![
                        q.run_id,
                        q.source,
                        q.source_row.map(|r| r as i64),
                        q.instrument_id,
                        q.market_run,
                        q.interval_start.map(ts),
                        q.reason,
                        json_text(&q.detail),
                        now.clone(),
                    ])?;
                }
                app.flush()?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn quarantined(
        &self,
        run_id: Option<String>,
        limit: usize,
    ) -> Result<Vec<QuarantinedRow>> {
        self.blocking(move |s| {
            let c = s.reader();
            let mut stmt = c.prepare(&format!(
                "SELECT run_id, source, source_row, instrument_id, market_run,
                        epoch_us(interval_start_utc), reason, detail
                 FROM quarantine WHERE (? IS NULL OR run_id = ?)
                 ORDER BY quarantined_utc DESC, source, source_row LIMIT {}",
                limit.max(1)
            ))?;
            let mut rows = stmt.query(params![run_id, run_id])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(QuarantinedRow {
                    run_id: r.get(0)?,
                    source: r.get(1)?,
                    source_row: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
                    instrument_id: r.get(3)?,
                    market_run: r.get(4)?,
                    interval_start: r.get::<_, Option<i64>>(5)?.map(from_micros),
                    reason: r.get(6)?,
                    detail: json_value(r.get(7)?),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn set_checkpoint(&self, name: &str, value: serde_json::Value) -> Result<()> {
        let name = name.to_string();
        self.blocking(move |s| {
            s.writer().execute(
                "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?)",
                params![name, value.to_string(), ts(Utc::now())],
            )?;
            Ok(())
        })
        .await
    }

    async fn checkpoint(&self, name: &str) -> Result<Option<serde_json::Value>> {
        let name = name.to_string();
        self.blocking(move |s| {
            let v: Option<String> = s
                .reader()
                .query_row(
                    "SELECT value FROM checkpoints WHERE name = ?",
                    [name],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(json_value(v))
        })
        .await
    }
}
