//! [`ScenarioStore`] on PostgreSQL: versions are immutable and numbered
//! without gaps — a save takes the scenario's advisory lock, reads the
//! latest number and inserts the next (the primary key refuses a second
//! writer that got past anyway).

use async_trait::async_trait;
use carbon_store::{Error, Result, ScenarioRun, ScenarioStore, ScenarioSummary, ScenarioVersion};
use tokio_postgres::Row;

use crate::{PgStore, backend};

const VERSION_COLS: &str = "scenario_id, tenant, version, name, market, format, document, \
                            canonical, hash, created_by, created_utc";

fn to_version(r: &Row) -> ScenarioVersion {
    ScenarioVersion {
        scenario_id: r.get(0),
        tenant: r.get(1),
        version: u32::try_from(r.get::<_, i64>(2)).unwrap_or(0),
        name: r.get(3),
        market: r.get(4),
        format: r.get(5),
        document: r.get(6),
        canonical: r.get(7),
        hash: r.get(8),
        created_by: r.get(9),
        created: r.get(10),
    }
}

const RUN_COLS: &str = "curve_run_id, scenario_id, tenant, version, base_run_id, \
                        calibration_run_id, job_id, created_by, created_utc";

fn to_run(r: &Row) -> ScenarioRun {
    ScenarioRun {
        curve_run_id: r.get(0),
        scenario_id: r.get(1),
        tenant: r.get(2),
        version: u32::try_from(r.get::<_, i64>(3)).unwrap_or(0),
        base_run_id: r.get(4),
        calibration_run_id: r.get(5),
        job_id: r.get(6),
        created_by: r.get(7),
        created: r.get(8),
    }
}

#[async_trait]
impl ScenarioStore for PgStore {
    async fn save_scenario_version(&self, v: ScenarioVersion) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(backend("saving a scenario version"))?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('carbon-scenario:' || $1 || '/' || $2))",
            &[&v.tenant, &v.scenario_id],
        )
        .await
        .map_err(backend("locking a scenario"))?;
        let latest: i64 = tx
            .query_one(
                "SELECT coalesce(max(version), 0)::BIGINT FROM scenario_versions \
                 WHERE tenant = $1 AND scenario_id = $2",
                &[&v.tenant, &v.scenario_id],
            )
            .await
            .map_err(backend("reading a scenario's latest version"))?
            .get(0);
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
            &format!(
                "INSERT INTO scenario_versions ({VERSION_COLS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ),
            &[
                &v.scenario_id,
                &v.tenant,
                &i64::from(v.version),
                &v.name,
                &v.market,
                &v.format,
                &v.document,
                &v.canonical,
                &v.hash,
                &v.created_by,
                &v.created,
            ],
        )
        .await
        .map_err(backend("saving a scenario version"))?;
        tx.commit()
            .await
            .map_err(backend("saving a scenario version"))
    }

    async fn scenario_version(
        &self,
        tenant: &str,
        scenario_id: &str,
        version: Option<u32>,
    ) -> Result<Option<ScenarioVersion>> {
        let c = self.client().await?;
        let v = version.map(i64::from);
        Ok(c.query_opt(
            &format!(
                "SELECT {VERSION_COLS} FROM scenario_versions WHERE tenant = $1 \
                     AND scenario_id = $2 AND ($3::BIGINT IS NULL OR version = $3) \
                     ORDER BY version DESC LIMIT 1"
            ),
            &[&tenant, &scenario_id, &v],
        )
        .await
        .map_err(backend("reading a scenario version"))?
        .as_ref()
        .map(to_version))
    }

    async fn scenario_versions(
        &self,
        tenant: &str,
        scenario_id: &str,
    ) -> Result<Vec<ScenarioVersion>> {
        let c = self.client().await?;
        Ok(c.query(
            &format!(
                "SELECT {VERSION_COLS} FROM scenario_versions \
                     WHERE tenant = $1 AND scenario_id = $2 ORDER BY version"
            ),
            &[&tenant, &scenario_id],
        )
        .await
        .map_err(backend("listing a scenario's versions"))?
        .iter()
        .map(to_version)
        .collect())
    }

    async fn scenarios(
        &self,
        tenant: &str,
        markets: Option<Vec<String>>,
    ) -> Result<Vec<ScenarioSummary>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT DISTINCT ON (scenario_id) scenario_id, tenant, name, market, version, \
                        min(created_utc) OVER w, max(created_utc) OVER w \
                 FROM scenario_versions WHERE tenant = $1 \
                 WINDOW w AS (PARTITION BY scenario_id) \
                 ORDER BY scenario_id, version DESC",
                &[&tenant],
            )
            .await
            .map_err(backend("listing scenarios"))?;
        let mut out: Vec<ScenarioSummary> = rows
            .iter()
            .map(|r| ScenarioSummary {
                scenario_id: r.get(0),
                tenant: r.get(1),
                name: r.get(2),
                market: r.get(3),
                latest_version: u32::try_from(r.get::<_, i64>(4)).unwrap_or(0),
                created: r.get(5),
                updated: r.get(6),
            })
            .filter(|s| markets.as_ref().is_none_or(|m| m.contains(&s.market)))
            .collect();
        // Newest change first, as on every backend.
        out.sort_by(|a, b| {
            b.updated
                .cmp(&a.updated)
                .then_with(|| a.scenario_id.cmp(&b.scenario_id))
        });
        Ok(out)
    }

    async fn save_scenario_run(&self, run: ScenarioRun) -> Result<()> {
        let c = self.client().await?;
        let n = c
            .execute(
                &format!(
                    "INSERT INTO scenario_runs ({RUN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT DO NOTHING"
                ),
                &[
                    &run.curve_run_id,
                    &run.scenario_id,
                    &run.tenant,
                    &i64::from(run.version),
                    &run.base_run_id,
                    &run.calibration_run_id,
                    &run.job_id,
                    &run.created_by,
                    &run.created,
                ],
            )
            .await
            .map_err(backend("recording a scenario run"))?;
        if n == 0 {
            return Err(Error::Conflict(format!(
                "scenario run `{}` is already recorded",
                run.curve_run_id
            )));
        }
        Ok(())
    }

    async fn scenario_run(&self, tenant: &str, curve_run_id: &str) -> Result<Option<ScenarioRun>> {
        let c = self.client().await?;
        Ok(c.query_opt(
            &format!(
                "SELECT {RUN_COLS} FROM scenario_runs WHERE tenant = $1 AND curve_run_id = $2"
            ),
            &[&tenant, &curve_run_id],
        )
        .await
        .map_err(backend("reading a scenario run"))?
        .as_ref()
        .map(to_run))
    }

    async fn scenario_runs(&self, tenant: &str, scenario_id: &str) -> Result<Vec<ScenarioRun>> {
        let c = self.client().await?;
        Ok(c.query(
            &format!(
                "SELECT {RUN_COLS} FROM scenario_runs WHERE tenant = $1 AND scenario_id = $2 \
                     ORDER BY created_utc DESC, curve_run_id COLLATE \"C\" DESC"
            ),
            &[&tenant, &scenario_id],
        )
        .await
        .map_err(backend("listing scenario runs"))?
        .iter()
        .map(to_run)
        .collect())
    }
}
