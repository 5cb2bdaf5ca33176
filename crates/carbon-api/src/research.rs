//! Fundamentals, research analytics and backtests over HTTP. Running and
//! storing an analysis is [`carbon_service::research::run_analysis`]
//! (shared with the CLI and scheduled jobs).
//!
//! - `GET /api/v1/fundamentals?entity&variable&start&end&as_of&resample&agg`
//!   and `GET /api/v1/fundamentals/series` (product `fundamentals`).
//! - `POST /api/v1/research/{decompose|regimes|balance|weather}` and
//!   `POST /api/v1/backtests`: run, store (kind, subject, model version, run
//!   id) and answer the output (201).
//! - `GET /api/v1/research/runs?kind&subject&limit`,
//!   `GET /api/v1/research/runs/{run_id}`, `GET /api/v1/backtests`.
//!
//! Entitlement product `research` on the series' market (market-wide series
//! such as gas and weather need a `*` grant); fundamentals reads ask product
//! `fundamentals`.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use carbon_auth::{Principal, Transport};
use carbon_core::Market;
pub use carbon_service::research::*;
use carbon_store::{ResearchFilter, ResearchRun};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    catalog::Data,
    error::ApiError,
    jobs::Job,
    params::{Query, text},
    routes::rfc3339,
};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(fundamentals))
        .routes(routes!(fundamental_series))
        .routes(routes!(decompose))
        .routes(routes!(regimes))
        .routes(routes!(balance))
        .routes(routes!(weather))
        .routes(routes!(research_runs))
        .routes(routes!(research_run))
        .routes(routes!(backtest_runs, backtest))
}

/// A stored research run.
#[derive(Serialize, ToSchema)]
pub(crate) struct ResearchRunInfo {
    /// Id (`rr_…`).
    run_id: String,
    /// `stl`, `mstl`, `regimes`, `balance`, `weather` or `backtest`.
    kind: String,
    /// What it analysed.
    subject: String,
    /// The model's version.
    model_version: String,
    /// `succeeded` or `failed`.
    status: String,
    /// Why it failed.
    error: Option<String>,
    /// Who ran it.
    created_by: String,
    /// Start.
    started: String,
    /// End.
    finished: String,
    /// Its length.
    duration_ms: i64,
    /// The request as run (one run's page and a new run only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    params: Option<Value>,
    /// The output (one run's page and a new run only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    output: Option<Value>,
}

impl AppState {
    pub(crate) fn research_deps(&self) -> ResearchDeps {
        ResearchDeps {
            store: self.store.clone(),
            fundamentals: self.fundamentals.clone(),
            research: self.research.clone(),
            curves: Some(self.curves.clone()),
            scenarios: Some(self.scenarios.clone()),
        }
    }
}

fn run_json(r: &ResearchRun, full: bool) -> ResearchRunInfo {
    ResearchRunInfo {
        run_id: r.run_id.clone(),
        kind: r.kind.clone(),
        subject: r.subject.clone(),
        model_version: r.model_version.clone(),
        status: r.status.clone(),
        error: r.error.clone(),
        created_by: r.created_by.clone(),
        started: rfc3339(r.started),
        finished: rfc3339(r.finished),
        duration_ms: (r.finished - r.started).num_milliseconds(),
        params: full.then(|| r.params.clone()),
        output: full.then(|| r.output.clone()),
    }
}

async fn analyse(
    s: AppState,
    who: Principal,
    body: Bytes,
    kind: &str,
    route: &str,
) -> Result<Response, ApiError> {
    let mut v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::param("body", format!("not JSON: {e}")))?;
    let Some(o) = v.as_object_mut() else {
        return Err(ApiError::param("body", "expected a JSON object"));
    };
    o.insert("kind".into(), Value::String(kind.into()));
    let a: Analysis =
        serde_json::from_value(v).map_err(|e| ApiError::param("body", e.to_string()))?;
    let deps = s.research_deps();
    for m in a.markets()? {
        s.entitle_product(&who, m, "research", route).await?;
    }
    s.own_scenario_backtest(&who, &a).await?;
    let actor = who.actor();
    let budget = s.settings.job_after_seconds;
    if budget == 0 {
        let run = run_analysis(&deps, &a, &actor).await?;
        return Ok((StatusCode::CREATED, Json(run_json(&run, true))).into_response());
    }
    let spec = carbon_service::jobs::JobSpec::of_analysis(a.clone());
    let work = {
        let actor = actor.clone();
        move |progress| async move {
            carbon_service::research::run_analysis_with(&deps, &a, &actor, progress).await
        }
    };
    let outcome = s
        .jobs
        .run_or_hand_over(
            &spec,
            &who.tenant,
            &actor,
            std::time::Duration::from_secs(budget),
            work,
            |run: &ResearchRun| json!({ "research_run": run.run_id }),
        )
        .await?;
    Ok(match outcome {
        Ok(run) => (StatusCode::CREATED, Json(run_json(&run, true))).into_response(),
        Err(job) => crate::jobs::accepted(&job),
    })
}

/// STL (one period) or MSTL (several) decomposition of one series:
/// `{"series": {…}, "periods": [24], "stl": {…}, "mstl": {…}}`.
#[utoipa::path(post, path = "/api/v1/research/decompose", tag = "research",
    request_body(content = Object, description = "`series` (a price `instrument_id`/`market_run`/`component` or a fundamentals `entity`/`variable`, with `start`, `end`, `as_of`, `resample`, `agg`), `periods`, optional `stl` and `mstl` options"),
    responses((status = 201, description = "The stored run with its output", body = ResearchRunInfo),
              (status = 202, description = "Continues as a job", body = Job)))]
pub(crate) async fn decompose(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    analyse(s, who, body, "decompose", "/api/v1/research/decompose").await
}

/// Markov-switching regimes (candidates compared by BIC) or a Gaussian HMM.
#[utoipa::path(post, path = "/api/v1/research/regimes", tag = "research",
    request_body(content = Object, description = "`series`, optional `transform` (`level`, `diff`, `log_return`), `candidates`, `method` (`markov_switching` or `gaussian_hmm`), `states`"),
    responses((status = 201, description = "The stored run with its output", body = ResearchRunInfo),
              (status = 202, description = "Continues as a job", body = Job)))]
pub(crate) async fn regimes(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    analyse(s, who, body, "regimes", "/api/v1/research/regimes").await
}

/// Gas storage balance (with a price's correlation) or power load against
/// temperature-normal load.
#[utoipa::path(post, path = "/api/v1/research/balance", tag = "research",
    request_body(content = Object, description = "`storage` and optional `price`, `threshold_sigma`, `allowance_sigma`, `window`; or `load` and `temperature`"),
    responses((status = 201, description = "The stored run with its output", body = ResearchRunInfo),
              (status = 202, description = "Continues as a job", body = Job)))]
pub(crate) async fn balance(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    analyse(s, who, body, "balance", "/api/v1/research/balance").await
}

/// Price or load on temperature terms.
#[utoipa::path(post, path = "/api/v1/research/weather", tag = "research",
    request_body(content = Object, description = "`target`, `temperature` and optional `options` (terms, lags, quantiles, rolling window, extreme threshold)"),
    responses((status = 201, description = "The stored run with its output", body = ResearchRunInfo),
              (status = 202, description = "Continues as a job", body = Job)))]
pub(crate) async fn weather(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    analyse(s, who, body, "weather", "/api/v1/research/weather").await
}

/// Scores a stored forward curve and baselines against realised prices read
/// as of the evaluation time.
#[utoipa::path(post, path = "/api/v1/backtests", tag = "research",
    request_body(content = Object, description = "`instrument_id`, optional `market_run`, `curve_id`, `scenario_id`, `as_of_dates`, `baselines`, `granularity`, `block`, `horizon_days`, `evaluated_at`, `gate`"),
    responses((status = 201, description = "The stored run with its output", body = ResearchRunInfo),
              (status = 202, description = "Continues as a job", body = Job)))]
pub(crate) async fn backtest(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    analyse(s, who, body, "backtest", "/api/v1/backtests").await
}

impl AppState {
    /// A backtest of a scenario's curve (`scenario_id: sc_…`) is for the
    /// scenario's tenant only (else 404, as if it did not exist).
    pub(crate) async fn own_scenario_backtest(
        &self,
        who: &Principal,
        a: &Analysis,
    ) -> Result<(), ApiError> {
        if let Analysis::Backtest(b) = a
            && let Some(id) = b.scenario_id.as_deref()
            && carbon_service::scenarios::is_scenario_id(id)
            && self
                .scenarios
                .scenario_version(&who.tenant, id, None)
                .await?
                .is_none()
        {
            return Err(ApiError::not_found(format!("no scenario `{id}`")));
        }
        Ok(())
    }
}

/// Markets a run's params touch (to decide who may read it).
pub(crate) fn run_markets(r: &ResearchRun) -> Vec<Option<Market>> {
    serde_json::from_value::<Analysis>(r.params.clone())
        .ok()
        .and_then(|a| a.markets().ok())
        .unwrap_or_else(|| vec![None])
}

/// The scenario (`sc_…`) a run belongs to: a scenario's calibration, or a
/// backtest of a scenario's curve.
pub(crate) fn scenario_of(r: &ResearchRun) -> Option<&str> {
    r.params
        .get("scenario_id")
        .and_then(|v| v.as_str())
        .filter(|id| carbon_service::scenarios::is_scenario_id(id))
}

/// Whether `who` may read run `r`: research on its markets; a scenario's run
/// only within the scenario's tenant, entitled to `scenarios` on its market.
async fn visible(s: &AppState, who: &Principal, r: &ResearchRun) -> bool {
    if let Some(id) = scenario_of(r) {
        return match s.scenarios.scenario_version(&who.tenant, id, None).await {
            Ok(Some(v)) => s.may_read(who, v.market.parse().ok(), "scenarios"),
            _ => false,
        };
    }
    run_markets(r)
        .into_iter()
        .all(|m| s.may_read(who, m, "research"))
}

/// Research-run filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunParams {
    /// Only this kind (`stl`, `mstl`, `regimes`, `balance`, `weather`, `backtest`).
    #[serde(default, deserialize_with = "text")]
    kind: Option<String>,
    /// Only this subject.
    #[serde(default, deserialize_with = "text")]
    subject: Option<String>,
    /// Most runs (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Stored research runs the caller may read, newest first.
#[utoipa::path(get, path = "/api/v1/research/runs", tag = "research", params(RunParams),
    responses((status = 200, description = "Runs", body = Data<ResearchRunInfo>)))]
pub(crate) async fn research_runs(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<RunParams>,
) -> Result<Json<Data<ResearchRunInfo>>, ApiError> {
    list_runs(s, who, p, None).await
}

/// Stored backtests the caller may read, newest first.
#[utoipa::path(get, path = "/api/v1/backtests", tag = "research", params(RunParams),
    responses((status = 200, description = "Backtests", body = Data<ResearchRunInfo>)))]
pub(crate) async fn backtest_runs(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<RunParams>,
) -> Result<Json<Data<ResearchRunInfo>>, ApiError> {
    list_runs(s, who, p, Some("backtest")).await
}

async fn list_runs(
    s: AppState,
    who: Principal,
    p: RunParams,
    kind: Option<&str>,
) -> Result<Json<Data<ResearchRunInfo>>, ApiError> {
    // A caller with no research at all on its channel is refused (and the
    // refusal audited) rather than shown an empty list.
    let route = if kind.is_some() {
        "/api/v1/backtests"
    } else {
        "/api/v1/research/runs"
    };
    s.scope(&who, None, Some("research"), Transport::Rest, route)
        .await?;
    let deps = s.research_deps();
    let limit = crate::catalog::limit(p.limit, 50, 1000)?;
    let runs = deps
        .research
        .research_runs(ResearchFilter {
            kind: kind.map(str::to_string).or_else(|| p.kind.clone()),
            subject: p.subject.clone(),
            limit: Some(limit * 4),
        })
        .await?;
    let mut out = Vec::new();
    for r in &runs {
        if out.len() >= limit {
            break;
        }
        if visible(&s, &who, r).await {
            out.push(run_json(r, false));
        }
    }
    Ok(Json(Data { data: out }))
}

/// One stored research run with its request and output.
#[utoipa::path(get, path = "/api/v1/research/runs/{run_id}", tag = "research",
    params(("run_id" = String, Path, description = "The run")),
    responses((status = 200, description = "The run", body = ResearchRunInfo)))]
pub(crate) async fn research_run(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<ResearchRunInfo>, ApiError> {
    let deps = s.research_deps();
    let r = deps
        .research
        .research_run(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("research run `{id}`")))?;
    if let Some(scenario) = scenario_of(&r) {
        // Another tenant's scenario does not exist for the caller.
        let v = s
            .scenarios
            .scenario_version(&who.tenant, scenario, None)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("research run `{id}`")))?;
        s.entitle_product(
            &who,
            v.market.parse().ok(),
            "scenarios",
            "/api/v1/research/runs/{run_id}",
        )
        .await?;
        return Ok(Json(run_json(&r, true)));
    }
    for m in run_markets(&r) {
        s.entitle_product(&who, m, "research", "/api/v1/research/runs/{run_id}")
            .await?;
    }
    Ok(Json(run_json(&r, true)))
}

/// Fundamentals parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct FundamentalParams {
    /// Entity (`US`, `MISO`, `HENRY_HUB`, `KIND`, …; see /fundamentals/series).
    entity: String,
    /// Variable (`gas_storage_bcf`, `load_mw`, `temperature_f`, …).
    variable: String,
    /// Range start (RFC 3339, a UTC date, or `-30d`).
    #[serde(default, deserialize_with = "text")]
    start: Option<String>,
    /// Range end, exclusive.
    #[serde(default, deserialize_with = "text")]
    end: Option<String>,
    /// Read what was known at this instant.
    #[serde(default)]
    #[param(value_type = Option<String>, format = DateTime)]
    as_of: Option<String>,
    /// `1h`, `1d`, `1w` or `1mo` (UTC days).
    #[serde(default)]
    #[param(value_type = Option<crate::openapi::FundamentalFrequency>)]
    resample: Option<String>,
    /// How a bucket combines: mean (default), sum, min, max, first, last.
    #[serde(default)]
    #[param(value_type = Option<crate::openapi::Combine>)]
    agg: Option<String>,
    /// Scenario (default `BASE`).
    #[serde(default, deserialize_with = "text")]
    scenario_id: Option<String>,
    /// `json` (default) or `csv`.
    #[serde(default)]
    #[param(value_type = Option<crate::openapi::JsonOrCsv>)]
    format: Option<String>,
}

/// One observation.
#[derive(Serialize, ToSchema)]
pub(crate) struct Observation {
    /// Start of its interval (UTC).
    interval_start: String,
    /// Value (null where the source has none).
    value: Option<f64>,
}

/// A fundamentals series.
#[derive(Serialize, ToSchema)]
pub(crate) struct Fundamentals {
    /// Entity.
    entity: String,
    /// Variable.
    variable: Option<String>,
    /// Unit.
    unit: Option<String>,
    /// Observations in time order.
    data: Vec<Observation>,
}

/// A fundamentals series (latest or as of an instant, resampled).
#[utoipa::path(get, path = "/api/v1/fundamentals", tag = "fundamentals", params(FundamentalParams),
    responses((status = 200, description = "The series",
        content((Fundamentals = "application/json"), (String = "text/csv")))))]
pub(crate) async fn fundamentals(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<FundamentalParams>,
) -> Result<Response, ApiError> {
    let r = SeriesRef {
        entity: Some(p.entity.clone()),
        variable: Some(p.variable.clone()),
        scenario_id: p.scenario_id.clone(),
        start: p.start.clone(),
        end: p.end.clone(),
        as_of: p.as_of.clone(),
        resample: p.resample.clone(),
        agg: p.agg.clone(),
        ..SeriesRef::default()
    };
    let entity = r.entity.clone().unwrap_or_default();
    s.entitle_product(
        &who,
        entity_market(&entity),
        "fundamentals",
        "/api/v1/fundamentals",
    )
    .await?;
    let deps = s.research_deps();
    let l = load_series(&deps, &r).await?;
    match p.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(Fundamentals {
            entity,
            variable: r.variable.clone(),
            unit: l.unit.clone(),
            data: l
                .times
                .iter()
                .zip(&l.values)
                .map(|(t, v)| Observation {
                    interval_start: rfc3339(*t),
                    value: v.is_finite().then_some(*v),
                })
                .collect(),
        })
        .into_response()),
        "csv" => {
            let mut out = String::from("interval_start,value\n");
            for (t, v) in l.times.iter().zip(&l.values) {
                out.push_str(&format!("{},{v}\n", rfc3339(*t)));
            }
            Ok((
                [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
                out,
            )
                .into_response())
        }
        o => Err(ApiError::param(
            "format",
            format!("`{o}`: expected json or csv"),
        )),
    }
}

/// A stored fundamentals series.
#[derive(Serialize, ToSchema)]
pub(crate) struct SeriesInfo {
    /// Entity.
    entity: String,
    /// Variable.
    variable: String,
    /// Scenario.
    scenario_id: String,
    /// Unit.
    unit: String,
    /// Where it came from.
    source: String,
    /// Intervals stored.
    intervals: u64,
    /// First interval.
    first: String,
    /// Last interval.
    last: String,
    /// Newest vintage.
    latest_vintage: String,
}

/// The fundamentals series the caller may read.
#[utoipa::path(get, path = "/api/v1/fundamentals/series", tag = "fundamentals",
    responses((status = 200, description = "Series", body = Data<SeriesInfo>)))]
pub(crate) async fn fundamental_series(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Data<SeriesInfo>>, ApiError> {
    s.scope(
        &who,
        None,
        Some("fundamentals"),
        Transport::Rest,
        "/api/v1/fundamentals/series",
    )
    .await?;
    let deps = s.research_deps();
    let all = deps.fundamentals.fundamental_series().await?;
    let mut out = Vec::new();
    for x in all {
        if s.may_read(&who, entity_market(&x.entity), "fundamentals") {
            out.push(SeriesInfo {
                entity: x.entity,
                variable: x.variable,
                scenario_id: x.scenario_id,
                unit: x.unit,
                source: x.source,
                intervals: x.intervals,
                first: rfc3339(x.first),
                last: rfc3339(x.last),
                latest_vintage: rfc3339(x.latest_vintage),
            });
        }
    }
    Ok(Json(Data { data: out }))
}
