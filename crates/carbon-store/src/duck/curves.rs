//! [`CurveStore`] on DuckDB.

use async_trait::async_trait;
use duckdb::{OptionalExt, params};

use super::{DuckdbStore, from_micros, ts};
use crate::{
    curvestore::{CurvePoint, CurveRun, CurveRunFilter, CurveStore},
    error::{Error, Result},
};

const RUN_COLUMNS: &str =
    "run_id, curve_id, scenario_id, CAST(as_of_date AS VARCHAR), market, granularity,
    input_hash, status, error, created_by, epoch_us(started_utc), epoch_us(finished_utc), points,
    request, report";

fn run_of(r: &duckdb::Row<'_>) -> Result<CurveRun> {
    let date: String = r.get(3)?;
    let json = |s: String| {
        serde_json::from_str(&s).map_err(|e| Error::Backend(format!("curve run JSON: {e}")))
    };
    Ok(CurveRun {
        run_id: r.get(0)?,
        curve_id: r.get(1)?,
        scenario_id: r.get(2)?,
        as_of_date: date
            .parse()
            .map_err(|e| Error::Backend(format!("curve run date `{date}`: {e}")))?,
        market: r.get(4)?,
        granularity: r.get(5)?,
        input_hash: r.get(6)?,
        status: r.get(7)?,
        error: r.get(8)?,
        created_by: r.get(9)?,
        started: from_micros(r.get(10)?),
        finished: from_micros(r.get(11)?),
        points: r.get::<_, i64>(12)? as u64,
        request: json(r.get(13)?)?,
        report: json(r.get(14)?)?,
    })
}

#[async_trait]
impl CurveStore for DuckdbStore {
    async fn save_curve(&self, run: CurveRun, points: Vec<CurvePoint>) -> Result<()> {
        self.blocking(move |s| {
            let mut c = s.writer();
            let tx = c.transaction()?;
            let exists: Option<String> = tx
                .query_row(
                    "SELECT run_id FROM curve_runs WHERE run_id = ?",
                    params![run.run_id],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_some() {
                return Err(Error::param(
                    "run_id",
                    format!("curve run `{}` already exists", run.run_id),
                ));
            }
            tx.execute(
                "INSERT INTO curve_runs VALUES (?, ?, ?, CAST(? AS DATE), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    run.run_id,
                    run.curve_id,
                    run.scenario_id,
                    run.as_of_date.to_string(),
                    run.market,
                    run.granularity,
                    run.input_hash,
                    run.status,
                    run.error,
                    run.created_by,
                    ts(run.started),
                    ts(run.finished),
                    points.len() as i64,
                    run.request.to_string(),
                    run.report.to_string(),
                ],
            )?;
            {
                let mut app = tx.appender("curve_points")?;
                for p in &points {
                    if !p.price.is_finite() {
                        return Err(Error::param(
                            "price",
                            format!("curve point {} has a non-finite price", p.tenor),
                        ));
                    }
                    app.append_row(params![
                        run.run_id,
                        ts(p.delivery_start),
                        ts(p.delivery_end),
                        p.tenor,
                        p.price
                    ])?;
                }
                app.flush()?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn curve_run(&self, run_id: &str) -> Result<Option<CurveRun>> {
        let id = run_id.to_string();
        self.blocking(move |s| {
            let c = s.reader();
            let mut stmt = c.prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM curve_runs WHERE run_id = ?"
            ))?;
            let mut rows = stmt.query(params![id])?;
            match rows.next()? {
                Some(r) => Ok(Some(run_of(r)?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn curve_runs(&self, f: CurveRunFilter) -> Result<Vec<CurveRun>> {
        self.blocking(move |s| {
            let c = s.reader();
            let limit = f.limit.unwrap_or(50).clamp(1, 10_000);
            let markets = f.markets.as_ref().map(|m| m.join(","));
            let mut stmt = c.prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM curve_runs
                 WHERE (? IS NULL OR curve_id = ?) AND (? IS NULL OR as_of_date = CAST(? AS DATE))
                   AND (? IS NULL OR scenario_id = ?) AND (? IS NULL OR status = ?)
                   AND (? IS NULL OR list_contains(string_split(?, ','), market))
                 ORDER BY as_of_date DESC, started_utc DESC, run_id DESC LIMIT {limit}"
            ))?;
            let date = f.as_of_date.map(|d| d.to_string());
            let mut rows = stmt.query(params![
                f.curve_id,
                f.curve_id,
                date,
                date,
                f.scenario_id,
                f.scenario_id,
                f.status,
                f.status,
                markets,
                markets
            ])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(run_of(r)?);
            }
            Ok(out)
        })
        .await
    }

    async fn curve_points(&self, run_id: &str) -> Result<Vec<CurvePoint>> {
        let id = run_id.to_string();
        self.blocking(move |s| {
            let c = s.reader();
            let mut stmt = c.prepare(
                "SELECT epoch_us(delivery_start_utc), epoch_us(delivery_end_utc), tenor, price
                 FROM curve_points WHERE run_id = ? ORDER BY delivery_start_utc",
            )?;
            let mut rows = stmt.query(params![id])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(CurvePoint {
                    delivery_start: from_micros(r.get(0)?),
                    delivery_end: from_micros(r.get(1)?),
                    tenor: r.get(2)?,
                    price: r.get(3)?,
                });
            }
            Ok(out)
        })
        .await
    }
}
