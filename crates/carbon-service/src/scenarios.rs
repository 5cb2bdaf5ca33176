//! Scenarios: documents saved as immutable versions of a tenant's scenario,
//! and runs that calibrate the instrument's history, shift a stored base
//! curve and draw Monte Carlo bands — stored as a curve run (scenario id set,
//! lineage in its request and report) so forward-curve reads and backtests
//! work on scenario curves unchanged — and compared by month × block.

use std::sync::Arc;

use carbon_core::{InstrumentId, Market};
use carbon_scenario::{
    apply::{BasePoint, MonthBlock, apply},
    calibrate::{Calibration, Inputs, calibrate, day_blocks},
    dsl::{DslError, Scenario, parse as parse_document},
    montecarlo::{Band, ProcessParams, calibrate_process, simulate},
};
use carbon_store::{
    BASE_SCENARIO, CurvePoint, CurveRun, CurveRunFilter, FundamentalQuery, ResearchRun,
    ScenarioRun, ScenarioStore, ScenarioSummary, ScenarioVersion,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    Error, Result,
    research::{Progress, ResearchDeps, SeriesRef, load_series},
};

/// The version stamped on scenario outputs.
pub const ENGINE_VERSION: &str = concat!("carbon-scenario ", env!("CARGO_PKG_VERSION"));

/// What checking a document found.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Validation {
    /// No errors.
    pub valid: bool,
    /// `yaml` or `json`.
    pub format: String,
    /// The errors (the first one the reader met), each with field, line and column.
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<DslError>,
    /// The document as read, defaults filled in (when valid).
    #[schema(value_type = Option<Object>)]
    pub scenario: Option<Value>,
}

fn format_of(text: &str) -> &'static str {
    if text.trim_start().starts_with('{') {
        "json"
    } else {
        "yaml"
    }
}

/// Whether a curve run's scenario id names a scenario (`sc_…`: its runs
/// belong to the scenario's tenant) rather than a label like `BASE`.
pub fn is_scenario_id(id: &str) -> bool {
    id.starts_with("sc_")
}

/// Checks a document.
pub fn validate(text: &str) -> Validation {
    match parse_document(text) {
        Ok(s) => Validation {
            valid: true,
            format: format_of(text).into(),
            errors: Vec::new(),
            scenario: serde_json::to_value(&s).ok(),
        },
        Err(e) => Validation {
            valid: false,
            format: format_of(text).into(),
            errors: vec![e],
            scenario: None,
        },
    }
}

/// Reads a document; an error names the field (as the parameter), line and column.
pub fn read(text: &str) -> Result<Scenario> {
    parse_document(text).map_err(|e| Error::param(&e.path.clone(), e.to_string()))
}

/// The market of a scenario's instrument.
pub fn market_of(s: &Scenario) -> Result<Market> {
    s.instrument
        .parse::<InstrumentId>()
        .map(|i| i.market())
        .map_err(|e| Error::param("instrument", e.to_string()))
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn curve_store(deps: &ResearchDeps) -> Result<&Arc<dyn carbon_store::CurveStore>> {
    deps.curves
        .as_ref()
        .ok_or_else(|| Error::Internal("no curve store configured".into()))
}

fn scenarios(deps: &ResearchDeps) -> Result<&Arc<dyn ScenarioStore>> {
    deps.scenarios
        .as_ref()
        .ok_or_else(|| Error::Internal("no scenario store configured".into()))
}

/// Saves `text` as the next version of scenario `id` of `tenant` (a new
/// scenario when `id` is `None`). A save that lost a race is a conflict.
pub async fn save(
    deps: &ResearchDeps,
    tenant: &str,
    owner: &str,
    id: Option<&str>,
    text: &str,
) -> Result<ScenarioVersion> {
    let s = read(text)?;
    let market = market_of(&s)?;
    let store = scenarios(deps)?;
    let (scenario_id, version) = match id {
        Some(id) => {
            let latest = store
                .scenario_version(tenant, id, None)
                .await?
                .ok_or_else(|| Error::not_found(format!("no scenario `{id}`")))?;
            (id.to_string(), latest.version + 1)
        }
        None => (crate::random_id("sc"), 1),
    };
    let canonical = serde_json::to_value(&s).map_err(|e| Error::Internal(e.to_string()))?;
    let v = ScenarioVersion {
        scenario_id,
        tenant: tenant.into(),
        version,
        name: s.name.clone(),
        market: market.code().into(),
        format: format_of(text).into(),
        document: text.into(),
        hash: sha256_hex(&canonical.to_string()),
        canonical,
        created_by: owner.into(),
        created: Utc::now(),
    };
    store.save_scenario_version(v.clone()).await?;
    Ok(v)
}

/// A version of a tenant's scenario (`None`: the latest).
pub async fn version(
    deps: &ResearchDeps,
    tenant: &str,
    id: &str,
    version: Option<u32>,
) -> Result<ScenarioVersion> {
    scenarios(deps)?
        .scenario_version(tenant, id, version)
        .await?
        .ok_or_else(|| match version {
            Some(v) => Error::not_found(format!("no version {v} of scenario `{id}`")),
            None => Error::not_found(format!("no scenario `{id}`")),
        })
}

/// Every version, oldest first.
pub async fn versions(deps: &ResearchDeps, tenant: &str, id: &str) -> Result<Vec<ScenarioVersion>> {
    let all = scenarios(deps)?.scenario_versions(tenant, id).await?;
    if all.is_empty() {
        return Err(Error::not_found(format!("no scenario `{id}`")));
    }
    Ok(all)
}

/// A tenant's scenarios in `markets` (`None`: all).
pub async fn list(
    deps: &ResearchDeps,
    tenant: &str,
    markets: Option<Vec<String>>,
) -> Result<Vec<ScenarioSummary>> {
    Ok(scenarios(deps)?.scenarios(tenant, markets).await?)
}

/// One difference between two documents.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Change {
    /// The field (`drivers.gas.shift`).
    pub path: String,
    /// Its value in the first (absent: added).
    #[schema(value_type = Option<Object>)]
    pub from: Option<Value>,
    /// Its value in the second (absent: removed).
    #[schema(value_type = Option<Object>)]
    pub to: Option<Value>,
}

/// The fields that differ between two canonical documents, in path order.
pub fn diff(a: &Value, b: &Value) -> Vec<Change> {
    fn walk(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<Change>) {
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&p, x.get(k), y.get(k), out);
                }
            }
            (x, y) if x != y => out.push(Change {
                path: path.to_string(),
                from: x.cloned(),
                to: y.cloned(),
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", Some(a), Some(b), &mut out);
    out
}

/// What a scenario run runs (the spec of a `scenario_run` job).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// The scenario.
    pub scenario_id: String,
    /// Its version (default: the latest when submitted).
    #[serde(default)]
    pub version: Option<u32>,
    /// Its market (entitlements; checked against the scenario when it runs).
    pub market: String,
}

/// What a run stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunOutcome {
    /// The curve run holding the scenario curve.
    pub curve_run_id: String,
    /// The research run holding the calibration.
    pub calibration_run_id: String,
    /// The base curve run.
    pub base_run_id: String,
    /// The scenario and version that ran.
    pub scenario_id: String,
    /// See `scenario_id`.
    pub version: u32,
    /// Points stored.
    pub points: usize,
    /// Per delivery month × block: base, scenario, Δ and its attribution.
    #[schema(value_type = Vec<Object>)]
    pub summary: Vec<MonthBlock>,
    /// Monte Carlo bands per month × block (when asked for).
    #[schema(value_type = Option<Vec<Object>>)]
    pub bands: Option<Vec<Band>>,
}

/// The base curve run a scenario of `tenant` names, and its points. A
/// scenario's curve run is a base only for its own tenant (to others it does
/// not exist).
async fn base_of(
    deps: &ResearchDeps,
    tenant: &str,
    s: &Scenario,
) -> Result<(CurveRun, Vec<CurvePoint>)> {
    let curves = curve_store(deps)?;
    let run = match (&s.base.run_id, &s.base.curve_id) {
        (Some(id), _) => {
            let missing = || Error::param("base.run_id", format!("no curve run `{id}`"));
            let run = curves.curve_run(id).await?.ok_or_else(missing)?;
            if is_scenario_id(&run.scenario_id)
                && scenarios(deps)?.scenario_run(tenant, id).await?.is_none()
            {
                return Err(missing());
            }
            run
        }
        (None, Some(curve)) => curves
            .curve_runs(CurveRunFilter {
                curve_id: Some(curve.clone()),
                as_of_date: s.base.as_of,
                scenario_id: Some(BASE_SCENARIO.into()),
                status: Some("succeeded".into()),
                limit: Some(1),
                ..CurveRunFilter::default()
            })
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::param(
                    "base.curve_id",
                    match s.base.as_of {
                        Some(d) => format!("no succeeded build of curve `{curve}` marked {d}"),
                        None => format!("no succeeded build of curve `{curve}`"),
                    },
                )
            })?,
        (None, None) => return Err(Error::param("base", "give curve_id or run_id")),
    };
    if run.status != "succeeded" {
        return Err(Error::param(
            "base",
            format!(
                "curve run `{}` {}: it has no points",
                run.run_id, run.status
            ),
        ));
    }
    let market = market_of(s)?;
    if run.market != market.code() {
        return Err(Error::param(
            "base",
            format!(
                "curve run `{}` is a {} curve; the scenario's instrument {} is {}",
                run.run_id,
                run.market,
                s.instrument,
                market.code()
            ),
        ));
    }
    let points = curves.curve_points(&run.run_id).await?;
    Ok((run, points))
}

fn day(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// Reads the calibration inputs and calibrates.
async fn calibration_of(
    deps: &ResearchDeps,
    s: &Scenario,
    market: Market,
) -> Result<(Calibration, Vec<(DateTime<Utc>, f64)>)> {
    let c = &s.calibration;
    let (from, to) = (
        carbon_core::time::day_start(market, c.start),
        carbon_core::time::day_start(market, c.end),
    );
    let prices = load_series(
        deps,
        &SeriesRef {
            instrument_id: Some(s.instrument.clone()),
            market_run: Some(s.market_run.clone()),
            start: Some(crate::rfc3339(from)),
            end: Some(crate::rfc3339(to)),
            resample: Some("1h".into()),
            ..SeriesRef::default()
        },
    )
    .await?;
    let prices: Vec<(DateTime<Utc>, f64)> = prices.times.into_iter().zip(prices.values).collect();
    if prices.is_empty() {
        return Err(Error::unprocessable(
            "no_data",
            Some("calibration"),
            format!(
                "no {} {} prices stored between {} and {}",
                s.instrument, s.market_run, c.start, c.end
            ),
        ));
    }
    // Gas from two weeks before the window, so its first days have a quote to carry.
    let gas_points = deps
        .fundamentals
        .fundamentals(FundamentalQuery {
            entity: c.gas.entity.clone(),
            variable: c.gas.variable.clone(),
            start: Some(day(c.start) - Duration::days(14)),
            end: Some(day(c.end) + Duration::days(1)),
            ..FundamentalQuery::default()
        })
        .await?;
    if gas_points.is_empty() {
        return Err(Error::unprocessable(
            "no_data",
            Some("calibration.gas"),
            format!("no `{}` values stored for the window", c.gas),
        ));
    }
    let mut gas: Vec<(NaiveDate, f64)> = gas_points
        .iter()
        .map(|p| (p.interval_start.date_naive(), p.value))
        .collect();
    gas.sort_by_key(|g| g.0);
    gas.dedup_by_key(|g| g.0);
    let load = match &c.load {
        Some(l) => {
            let pts = deps
                .fundamentals
                .fundamentals(FundamentalQuery {
                    entity: l.entity.clone(),
                    variable: l.variable.clone(),
                    start: Some(from - Duration::days(1)),
                    end: Some(to + Duration::days(1)),
                    ..FundamentalQuery::default()
                })
                .await?;
            if pts.is_empty() {
                return Err(Error::unprocessable(
                    "no_data",
                    Some("calibration.load"),
                    format!("no `{l}` values stored for the window"),
                ));
            }
            Some(
                pts.into_iter()
                    .map(|p| (p.interval_start, p.interval_end, p.value))
                    .collect::<Vec<_>>(),
            )
        }
        None => None,
    };
    let cal = calibrate(Inputs {
        market,
        prices: &prices,
        gas: &gas,
        load: load.as_deref(),
        start: c.start,
        end: c.end,
    })
    .map_err(|e| Error::unprocessable("calibration_failed", Some("calibration"), e.to_string()))?;
    Ok((cal, prices))
}

fn stopped() -> Error {
    Error::Internal("stopped: the job was cancelled".into())
}

/// Runs a scenario version for `tenant`: calibration (stored as a research
/// run), scenario curve (stored as a curve run), bands, lineage.
pub async fn run(
    deps: &ResearchDeps,
    tenant: &str,
    owner: &str,
    spec: &RunSpec,
    job_id: Option<&str>,
    progress: Progress,
) -> Result<RunOutcome> {
    let started = Utc::now();
    let v = version(deps, tenant, &spec.scenario_id, spec.version).await?;
    if v.market != spec.market {
        return Err(Error::param(
            "market",
            format!(
                "scenario `{}` is a {} scenario, not {}",
                v.scenario_id, v.market, spec.market
            ),
        ));
    }
    let s: Scenario = serde_json::from_value(v.canonical.clone())
        .map_err(|e| Error::Internal(format!("stored scenario does not read back: {e}")))?;
    let market = market_of(&s)?;
    if !progress.step(0, 5, "reading the base curve") {
        return Err(stopped());
    }
    let (base_run, base_points) = base_of(deps, tenant, &s).await?;
    if !progress.step(1, 5, "calibrating") {
        return Err(stopped());
    }
    let (cal, prices) = calibration_of(deps, &s, market).await?;
    let calibration_run_id = crate::random_id("rr");
    // Stored with the curve at the end: a run that fails leaves nothing.
    let calibration_run = ResearchRun {
        run_id: calibration_run_id.clone(),
        kind: "scenario_calibration".into(),
        subject: format!("{}:{}", s.instrument, s.market_run),
        model_version: ENGINE_VERSION.into(),
        status: "succeeded".into(),
        error: None,
        created_by: owner.into(),
        started,
        finished: Utc::now(),
        params: json!({
            "scenario_id": v.scenario_id, "version": v.version,
            "calibration": s.calibration, "instrument": s.instrument, "market_run": s.market_run,
        }),
        output: serde_json::to_value(&cal).unwrap_or(Value::Null),
    };
    if !progress.step(2, 5, "shifting the base curve") {
        return Err(stopped());
    }
    let base: Vec<BasePoint> = base_points
        .iter()
        .map(|p| BasePoint {
            delivery_start: p.delivery_start,
            delivery_end: p.delivery_end,
            tenor: p.tenor.clone(),
            price: p.price,
        })
        .collect();
    let applied = apply(&cal, &s.drivers, s.horizon.as_ref(), &base)
        .map_err(|e| Error::unprocessable("scenario_failed", Some("drivers"), e.to_string()))?;
    if applied.points.is_empty() {
        return Err(Error::unprocessable(
            "no_data",
            Some("horizon"),
            format!(
                "the base curve run `{}` has no points in the horizon",
                base_run.run_id
            ),
        ));
    }
    if !progress.step(3, 5, "simulating bands") {
        return Err(stopped());
    }
    let (bands, processes) = match &s.monte_carlo {
        Some(mc) => {
            let history = day_blocks(market, &prices, s.calibration.start, s.calibration.end);
            let processes: Vec<ProcessParams> = carbon_scenario::calibrate::BLOCKS
                .iter()
                .map(|b| calibrate_process(&history, *b))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| {
                    Error::unprocessable("calibration_failed", Some("monte_carlo"), e.to_string())
                })?;
            let (targets, paths, seed, procs) = (
                applied.day_blocks.clone(),
                mc.paths,
                mc.seed,
                processes.clone(),
            );
            let bands =
                tokio::task::spawn_blocking(move || simulate(&procs, &targets, paths, seed))
                    .await
                    .map_err(|e| Error::Internal(format!("simulation task: {e}")))?
                    .map_err(|e| {
                        Error::unprocessable("scenario_failed", Some("monte_carlo"), e.to_string())
                    })?;
            (Some(bands), Some(processes))
        }
        None => (None, None),
    };
    if !progress.step(4, 5, "storing") {
        return Err(stopped());
    }
    let curves = curve_store(deps)?;
    let curve_run_id = crate::random_id("cr");
    let input_hash = sha256_hex(&format!(
        "{}|{}|{}|{}",
        v.hash,
        base_run.input_hash,
        serde_json::to_string(&cal.cells).unwrap_or_default(),
        ENGINE_VERSION
    ));
    let points: Vec<CurvePoint> = applied
        .points
        .iter()
        .map(|p| CurvePoint {
            delivery_start: p.delivery_start,
            delivery_end: p.delivery_end,
            tenor: p.tenor.clone(),
            price: p.price,
        })
        .collect();
    let run = CurveRun {
        run_id: curve_run_id.clone(),
        curve_id: base_run.curve_id.clone(),
        scenario_id: v.scenario_id.clone(),
        as_of_date: base_run.as_of_date,
        market: base_run.market.clone(),
        granularity: base_run.granularity.clone(),
        input_hash,
        status: "succeeded".into(),
        error: None,
        created_by: owner.into(),
        started,
        finished: Utc::now(),
        points: points.len() as u64,
        request: json!({
            "scenario_id": v.scenario_id,
            "scenario_version": v.version,
            "scenario_hash": v.hash,
            "base_run_id": base_run.run_id,
            "calibration_run_id": calibration_run_id,
            "engine": ENGINE_VERSION,
        }),
        report: json!({
            "kind": "scenario",
            "summary": applied.summary,
            "bands": bands,
            "processes": processes,
            "attribution": applied.points.iter().map(|p| json!({
                "tenor": p.tenor, "base": p.base, "price": p.price, "drivers": p.attribution,
            })).collect::<Vec<_>>(),
            "calibration": {
                "run_id": calibration_run_id,
                "start": cal.start, "end": cal.end,
                "used": cal.used, "gas_carried_days": cal.gas_carried_days,
                "fallbacks": cal.cells.iter().filter(|c| c.fallback.is_some()).map(|c| json!({
                    "month": c.month, "block": c.block, "fit": c.fit, "reason": c.fallback,
                })).collect::<Vec<_>>(),
            },
        }),
    };
    deps.research.save_research_run(calibration_run).await?;
    curves.save_curve(run, points).await?;
    scenarios(deps)?
        .save_scenario_run(ScenarioRun {
            curve_run_id: curve_run_id.clone(),
            scenario_id: v.scenario_id.clone(),
            tenant: tenant.into(),
            version: v.version,
            base_run_id: base_run.run_id.clone(),
            calibration_run_id: calibration_run_id.clone(),
            job_id: job_id.map(str::to_string),
            created_by: owner.into(),
            created: Utc::now(),
        })
        .await?;
    Ok(RunOutcome {
        curve_run_id,
        calibration_run_id,
        base_run_id: base_run.run_id,
        scenario_id: v.scenario_id,
        version: v.version,
        points: applied.points.len(),
        summary: applied.summary,
        bands,
    })
}

/// A tenant's runs of a scenario, newest first.
pub async fn runs(deps: &ResearchDeps, tenant: &str, id: &str) -> Result<Vec<ScenarioRun>> {
    version(deps, tenant, id, None).await?;
    Ok(scenarios(deps)?.scenario_runs(tenant, id).await?)
}

/// One side of a comparison row.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Side {
    /// Its base price.
    pub base: f64,
    /// Its scenario price.
    pub scenario: f64,
    /// `scenario − base`.
    pub delta: f64,
    /// The move per driver.
    #[schema(value_type = Object)]
    pub attribution: Value,
    /// Its band, when simulated.
    #[schema(value_type = Option<Object>)]
    pub band: Option<Value>,
}

/// Two runs side by side for one delivery month × block.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CompareRow {
    /// Delivery month `YYYY-MM`.
    pub month: String,
    /// `onpeak` or `offpeak`.
    pub block: String,
    /// The first run (absent where it has no such month).
    pub a: Option<Side>,
    /// The second run.
    pub b: Option<Side>,
    /// `b.scenario − a.scenario`, when both have the month.
    pub difference: Option<f64>,
}

/// Two runs compared.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Comparison {
    /// The first run's lineage (scenario, version, base, calibration).
    #[schema(value_type = Object)]
    pub a: Value,
    /// The second's.
    #[schema(value_type = Object)]
    pub b: Value,
    /// By month × block.
    pub rows: Vec<CompareRow>,
}

async fn sides(
    deps: &ResearchDeps,
    tenant: &str,
    curve_run_id: &str,
) -> Result<(Value, std::collections::BTreeMap<(String, String), Side>)> {
    let rec = scenarios(deps)?
        .scenario_run(tenant, curve_run_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("no scenario run `{curve_run_id}`")))?;
    let curves = curve_store(deps)?;
    let run = curves
        .curve_run(curve_run_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("no curve run `{curve_run_id}`")))?;
    let mut out = std::collections::BTreeMap::new();
    let bands = run.report["bands"].as_array().cloned().unwrap_or_default();
    for m in run.report["summary"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let key = (
            m["month"].as_str().unwrap_or_default().to_string(),
            m["block"].as_str().unwrap_or_default().to_string(),
        );
        let band = bands
            .iter()
            .find(|b| b["month"] == m["month"] && b["block"] == m["block"])
            .cloned();
        out.insert(
            key,
            Side {
                base: m["base"].as_f64().unwrap_or(f64::NAN),
                scenario: m["scenario"].as_f64().unwrap_or(f64::NAN),
                delta: m["delta"].as_f64().unwrap_or(f64::NAN),
                attribution: m["attribution"].clone(),
                band,
            },
        );
    }
    Ok((serde_json::to_value(&rec).unwrap_or(Value::Null), out))
}

/// Two of a tenant's scenario runs side by side (low / central / high).
pub async fn compare(deps: &ResearchDeps, tenant: &str, a: &str, b: &str) -> Result<Comparison> {
    let (la, sa) = sides(deps, tenant, a).await?;
    let (lb, sb) = sides(deps, tenant, b).await?;
    let mut keys: Vec<&(String, String)> = sa.keys().chain(sb.keys()).collect();
    keys.sort_by(|x, y| (&x.0, x.1 != "onpeak").cmp(&(&y.0, y.1 != "onpeak")));
    keys.dedup();
    let rows = keys
        .into_iter()
        .map(|k| {
            let (x, y) = (sa.get(k).cloned(), sb.get(k).cloned());
            CompareRow {
                month: k.0.clone(),
                block: k.1.clone(),
                difference: match (&x, &y) {
                    (Some(x), Some(y)) => Some(y.scenario - x.scenario),
                    _ => None,
                },
                a: x,
                b: y,
            }
        })
        .collect();
    Ok(Comparison { a: la, b: lb, rows })
}
