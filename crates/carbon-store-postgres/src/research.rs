//! [`ResearchStore`] on PostgreSQL: analysis runs with their parameters and
//! outputs (JSONB); listings leave the outputs unread.

use async_trait::async_trait;
use carbon_store::{Error, ResearchFilter, ResearchRun, ResearchStore, Result};
use tokio_postgres::Row;

use crate::{PgStore, backend};

const COLS: &str = "run_id, kind, subject, model_version, status, error, created_by, \
                    started_utc, finished_utc, params";

fn to_run(r: &Row, output: serde_json::Value) -> ResearchRun {
    ResearchRun {
        run_id: r.get(0),
        kind: r.get(1),
        subject: r.get(2),
        model_version: r.get(3),
        status: r.get(4),
        error: r.get(5),
        created_by: r.get(6),
        started: r.get(7),
        finished: r.get(8),
        params: r.get(9),
        output,
    }
}

#[async_trait]
impl ResearchStore for PgStore {
    async fn save_research_run(&self, run: ResearchRun) -> Result<()> {
        let c = self.client().await?;
        let n = c
            .execute(
                &format!(
                    "INSERT INTO research_runs ({COLS}, output) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (run_id) DO NOTHING"
                ),
                &[
                    &run.run_id,
                    &run.kind,
                    &run.subject,
                    &run.model_version,
                    &run.status,
                    &run.error,
                    &run.created_by,
                    &run.started,
                    &run.finished,
                    &run.params,
                    &run.output,
                ],
            )
            .await
            .map_err(backend("saving a research run"))?;
        if n == 0 {
            return Err(Error::param(
                "run_id",
                format!("research run `{}` already exists", run.run_id),
            ));
        }
        Ok(())
    }

    async fn research_run(&self, run_id: &str) -> Result<Option<ResearchRun>> {
        let c = self.client().await?;
        Ok(c.query_opt(
            &format!("SELECT {COLS}, output FROM research_runs WHERE run_id = $1"),
            &[&run_id],
        )
        .await
        .map_err(backend("reading a research run"))?
        .map(|r| {
            let output = r.get(10);
            to_run(&r, output)
        }))
    }

    async fn research_runs(&self, f: ResearchFilter) -> Result<Vec<ResearchRun>> {
        let c = self.client().await?;
        let limit = f.limit.unwrap_or(50).clamp(1, 10_000) as i64;
        Ok(c.query(
            &format!(
                "SELECT {COLS} FROM research_runs WHERE ($1::TEXT IS NULL OR kind = $1) \
                     AND ($2::TEXT IS NULL OR subject = $2) \
                     ORDER BY started_utc DESC, run_id COLLATE \"C\" DESC LIMIT $3"
            ),
            &[&f.kind, &f.subject, &limit],
        )
        .await
        .map_err(backend("listing research runs"))?
        .iter()
        .map(|r| to_run(r, serde_json::Value::Null))
        .collect())
    }
}
