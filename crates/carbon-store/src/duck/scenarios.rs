//! [`ScenarioStore`] on DuckDB. A save checks and inserts under the one
//! writer connection in a transaction, so two saves of the same next version
//! cannot both succeed.

use async_trait::async_trait;
use duckdb::{Row, params};

use super::{DuckdbStore, from_micros, ts};
use crate::{
    error::{Error, Result},
    scenarios::{ScenarioRun, ScenarioStore, ScenarioSummary, ScenarioVersion},
};

const VERSION_COLS: &str = "scenario_id, tenant, version, name, market, format, document, \
                            canonical, hash, created_by, epoch_us(created_utc) FROM scenario_versions";

fn to_version(r: &Row<'_>) -> duckdb::Result<std::result::Result<ScenarioVersion, String>> {
    let canonical: String = r.get(7)?;
    let canonical = match serde_json::from_str(&canonical) {
        Ok(v) => v,
        Err(e) => return Ok(Err(format!("bad stored scenario: {e}"))),
    };
    Ok(Ok(ScenarioVersion {
        scenario_id: r.get(0)?,
        tenant: r.get(1)?,
        version: r.get::<_, i64>(2)? as u32,
        name: r.get(3)?,
        market: r.get(4)?,
        format: r.get(5)?,
        document: r.get(6)?,
        canonical,
        hash: r.get(8)?,
        created_by: r.get(9)?,
        created: from_micros(r.get(10)?),
    }))
}

const RUN_COLS: &str = "curve_run_id, scenario_id, tenant, version, base_run_id, \
                        calibration_run_id, job_id, created_by, epoch_us(created_utc) FROM scenario_runs";

fn to_run(r: &Row<'_>) -> duckdb::Result<ScenarioRun> {
    Ok(ScenarioRun {
        curve_run_id: r.get(0)?,
        scenario_id: r.get(1)?,
        tenant: r.get(2)?,
        version: r.get::<_, i64>(3)? as u32,
        base_run_id: r.get(4)?,
        calibration_run_id: r.get(5)?,
        job_id: r.get(6)?,
        created_by: r.get(7)?,
        created: from_micros(r.get(8)?),
    })
}

#[async_trait]
impl ScenarioStore for DuckdbStore {
    async fn save_scenario_version(&self, v: ScenarioVersion) -> Result<()> {
        self.blocking(move |s| {
            let mut c = s.writer();
            let tx = c.transaction()?;
            let latest: i64 = tx.query_row(
                "SELECT coalesce(max(version), 0) FROM scenario_versions \
                 WHERE tenant = ? AND scenario_id = ?",
                params![v.tenant, v.scenario_id],
                |r| r.get(0),
            )?;
            if i64::from(v.version) != latest + 1 {
                return Err(Error::Conflict(format!(
                    "scenario `{}` is at version {latest}; version {} cannot be saved \
                     (versions are never replaced; save again to make version {})",
                    v.scenario_id,
                    v.version,
                    latest + 1
                )));
            }
            tx.execute(
                "INSERT INTO scenario_versions (tenant, scenario_id, version, name, market, \
                 format, document, canonical, hash, created_by, created_utc) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    v.tenant,
                    v.scenario_id,
                    i64::from(v.version),
                    v.name,
                    v.market,
                    v.format,
                    v.document,
                    v.canonical.to_string(),
                    v.hash,
                    v.created_by,
                    ts(v.created)
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn scenario_version(
        &self,
        tenant: &str,
        scenario_id: &str,
        version: Option<u32>,
    ) -> Result<Option<ScenarioVersion>> {
        let (tenant, id) = (tenant.to_string(), scenario_id.to_string());
        self.blocking(move |s| {
            let c = s.reader();
            let mut stmt = c.prepare(&format!(
                "SELECT {VERSION_COLS} WHERE tenant = ? AND scenario_id = ? \
                 AND (? IS NULL OR version = ?) ORDER BY version DESC LIMIT 1"
            ))?;
            let v = version.map(i64::from);
            let mut rows = stmt.query_map(params![tenant, id, v, v], to_version)?;
            rows.next()
                .transpose()?
                .map(|r| r.map_err(Error::Backend))
                .transpose()
        })
        .await
    }

    async fn scenario_versions(
        &self,
        tenant: &str,
        scenario_id: &str,
    ) -> Result<Vec<ScenarioVersion>> {
        let (tenant, id) = (tenant.to_string(), scenario_id.to_string());
        self.blocking(move |s| {
            let c = s.reader();
            let mut stmt = c.prepare(&format!(
                "SELECT {VERSION_COLS} WHERE tenant = ? AND scenario_id = ? ORDER BY version"
            ))?;
            let rows = stmt.query_map(params![tenant, id], to_version)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(r?.map_err(Error::Backend)?);
            }
            Ok(out)
        })
        .await
    }

    async fn scenarios(
        &self,
        tenant: &str,
        markets: Option<Vec<String>>,
    ) -> Result<Vec<ScenarioSummary>> {
        let tenant = tenant.to_string();
        self.blocking(move |s| {
            let c = s.reader();
            let mut stmt = c.prepare(
                "SELECT scenario_id, tenant, arg_max(name, version), arg_max(market, version), \
                 max(version), epoch_us(min(created_utc)), epoch_us(max(created_utc)) \
                 FROM scenario_versions WHERE tenant = ? GROUP BY scenario_id, tenant \
                 ORDER BY max(created_utc) DESC, scenario_id",
            )?;
            let rows = stmt.query_map(params![tenant], |r| {
                Ok(ScenarioSummary {
                    scenario_id: r.get(0)?,
                    tenant: r.get(1)?,
                    name: r.get(2)?,
                    market: r.get(3)?,
                    latest_version: r.get::<_, i64>(4)? as u32,
                    created: from_micros(r.get(5)?),
                    updated: from_micros(r.get(6)?),
                })
            })?;
            let mut out = Vec::new();
            for r in rows {
                let r = r?;
                if markets.as_ref().is_none_or(|m| m.contains(&r.market)) {
                    out.push(r);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn save_scenario_run(&self, run: ScenarioRun) -> Result<()> {
        self.blocking(move |s| {
            let n = s.writer().execute(
                "INSERT INTO scenario_runs (curve_run_id, tenant, scenario_id, version, \
                 base_run_id, calibration_run_id, job_id, created_by, created_utc) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                params![
                    run.curve_run_id,
                    run.tenant,
                    run.scenario_id,
                    i64::from(run.version),
                    run.base_run_id,
                    run.calibration_run_id,
                    run.job_id,
                    run.created_by,
                    ts(run.created)
                ],
            )?;
            if n == 0 {
                return Err(Error::Conflict(format!(
                    "scenario run `{}` is already recorded",
                    run.curve_run_id
                )));
            }
            Ok(())
        })
        .await
    }

    async fn scenario_run(&self, tenant: &str, curve_run_id: &str) -> Result<Option<ScenarioRun>> {
        let (tenant, id) = (tenant.to_string(), curve_run_id.to_string());
        self.blocking(move |s| {
            let c = s.reader();
            let mut stmt = c.prepare(&format!(
                "SELECT {RUN_COLS} WHERE tenant = ? AND curve_run_id = ?"
            ))?;
            let mut rows = stmt.query_map(params![tenant, id], to_run)?;
            Ok(rows.next().transpose()?)
        })
        .await
    }

    async fn scenario_runs(&self, tenant: &str, scenario_id: &str) -> Result<Vec<ScenarioRun>> {
        let (tenant, id) = (tenant.to_string(), scenario_id.to_string());
        self.blocking(move |s| {
            let c = s.reader();
            let mut stmt = c.prepare(&format!(
                "SELECT {RUN_COLS} WHERE tenant = ? AND scenario_id = ? \
                 ORDER BY created_utc DESC, curve_run_id DESC"
            ))?;
            let rows = stmt.query_map(params![tenant, id], to_run)?;
            Ok(rows.collect::<duckdb::Result<Vec<_>>>()?)
        })
        .await
    }
}
