//! Forward curves over HTTP (the build itself is
//! [`carbon_service::curves::run_build`], shared with the CLI and jobs).
//!
//! - `POST /api/v1/curves/build`: contracts (JSON or CSV text), grid, policy,
//!   smoothness, discounting, a prior (CSV text or a shape from stored
//!   prices); with a `curve_id` the run and its points are stored.
//! - `GET /api/v1/curves`: stored runs (newest first), for browsing.
//! - `GET /api/v1/curves/runs/{run_id}`: one run: lineage, inputs, report.
//! - `GET /api/v1/curves/forward`: a stored curve at its own or a coarser
//!   granularity, for a block or hour mask, JSON or CSV.
//!
//! Entitlement product `curves` on the curve's market; a shape from history
//! also needs `lmp` on the instrument it reads.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use carbon_auth::{Principal, Transport};
use carbon_core::Market;
use carbon_curves::{
    build::{self},
    grid::{Granularity, Shape},
};
use carbon_store::{CurveRun, CurveRunFilter};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub use carbon_service::curves::{
    BuildSpec, CurveFailure, CurveJob, CurveOutcome, check_id, grid_of, history, inputs_json,
    run_build,
};
use carbon_service::curves::{date, parse_as as parse};

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
        .routes(routes!(build_curve))
        .routes(routes!(curve_runs))
        .routes(routes!(curve_run))
        .routes(routes!(forward))
}

/// One point of a built or stored curve.
#[derive(Serialize, ToSchema)]
pub(crate) struct Point {
    /// First instant of delivery (UTC).
    delivery_start: String,
    /// End of delivery (UTC, exclusive).
    delivery_end: String,
    /// Tenor label on the market clock (`2027-01`, `2027-01-05`, `2027-01-05 HE07`).
    tenor: String,
    /// Price, $/MWh.
    price: f64,
}

/// A built curve.
#[derive(Serialize, ToSchema)]
pub(crate) struct Built {
    /// The stored run (with `curve_id`), else null.
    run_id: Option<String>,
    /// The curve id it was stored under.
    curve_id: Option<String>,
    /// Scenario.
    scenario_id: String,
    /// SHA-256 of the canonical inputs and engine version.
    input_hash: String,
    /// Contracts repriced, duals, findings, solver and views.
    #[schema(value_type = Object)]
    report: Value,
    /// The curve.
    points: Vec<Point>,
}

/// Builds a forward curve from contracts (exact max-smoothness fit); with a
/// `curve_id` the run and its points are stored (201). A stored build that
/// runs longer than the server's `job_after_seconds` continues as a job (202).
#[utoipa::path(post, path = "/api/v1/curves/build", tag = "curves", request_body = BuildSpec,
    responses((status = 200, description = "The curve (not stored)", body = Built),
              (status = 201, description = "The curve, stored", body = Built),
              (status = 202, description = "Continues as a job", body = Job)))]
pub(crate) async fn build_curve(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/curves/build";
    let body: BuildSpec = crate::auth::body(&bytes)?;
    let market = body.market()?;
    s.entitle_product(&who, Some(market), "curves", ROUTE)
        .await?;
    if let Some((id, _)) = body.shape_source()? {
        s.entitle_lmp(&who, &id, None, Transport::Rest, ROUTE)
            .await?;
    }
    let job = body.to_job(s.store.as_ref(), &who.actor()).await?;
    let scenario_id = job.scenario_id.clone();
    let curves = s.curves.clone();
    let work = carbon_service::curves::build(Some(curves), job);
    let budget = s.settings.job_after_seconds;
    // Only a stored curve can continue as a job: its output is the run.
    let outcome = if budget > 0 && body.curve_id.is_some() {
        s.jobs
            .run_or_hand_over(
                &carbon_service::jobs::JobSpec::CurveBuild(Box::new(body.clone())),
                &who.tenant,
                &who.actor(),
                std::time::Duration::from_secs(budget),
                |_progress| work,
                |o: &CurveOutcome| json!({ "curve_run": o.run_id }),
            )
            .await?
    } else {
        Ok(work.await?)
    };
    match outcome {
        Err(job) => Ok(crate::jobs::accepted(&job)),
        Ok(o) => {
            let points = o
                .points
                .iter()
                .map(|p| Point {
                    delivery_start: rfc3339(p.delivery_start),
                    delivery_end: rfc3339(p.delivery_end),
                    tenor: p.tenor.clone(),
                    price: p.price,
                })
                .collect();
            let status = if o.run_id.is_some() {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((
                status,
                Json(Built {
                    run_id: o.run_id,
                    curve_id: body.curve_id,
                    scenario_id,
                    input_hash: o.built.input_hash,
                    report: o.report,
                    points,
                }),
            )
                .into_response())
        }
    }
}

/// A stored curve run.
#[derive(Serialize, ToSchema)]
pub(crate) struct CurveRunInfo {
    /// Unique id of the build.
    run_id: String,
    /// The curve's name.
    curve_id: String,
    /// Scenario.
    scenario_id: String,
    /// Trade date the curve is marked for.
    #[schema(format = Date)]
    as_of_date: String,
    /// Market code.
    market: String,
    /// `hourly`, `daily` or `monthly`.
    granularity: String,
    /// SHA-256 of the canonical inputs and engine version.
    input_hash: String,
    /// `succeeded` or `failed`.
    status: String,
    /// Why a failed build failed.
    error: Option<String>,
    /// Who asked for it.
    created_by: String,
    /// Start of the build.
    started: String,
    /// End of the build.
    finished: String,
    /// Its length.
    duration_ms: i64,
    /// Points stored.
    points: u64,
    /// The inputs as given (one run's page only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    request: Option<Value>,
    /// The build report (one run's page only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    report: Option<Value>,
}

fn run_json(r: &CurveRun, full: bool) -> CurveRunInfo {
    CurveRunInfo {
        run_id: r.run_id.clone(),
        curve_id: r.curve_id.clone(),
        scenario_id: r.scenario_id.clone(),
        as_of_date: r.as_of_date.to_string(),
        market: r.market.clone(),
        granularity: r.granularity.clone(),
        input_hash: r.input_hash.clone(),
        status: r.status.clone(),
        error: r.error.clone(),
        created_by: r.created_by.clone(),
        started: rfc3339(r.started),
        finished: rfc3339(r.finished),
        duration_ms: (r.finished - r.started).num_milliseconds(),
        points: r.points,
        request: full.then(|| r.request.clone()),
        report: full.then(|| r.report.clone()),
    }
}

impl AppState {
    /// The run, if `who` may see curves of its market (else 403, audited);
    /// a scenario's run only for the scenario's tenant (else 404, as if it
    /// did not exist). `missing` is what the caller is then told: the words
    /// for a run that does not exist, built from what they asked for (never
    /// the run's id).
    async fn visible_run(
        &self,
        who: &Principal,
        run: CurveRun,
        route: &str,
        missing: String,
    ) -> Result<CurveRun, ApiError> {
        let market: Market = run
            .market
            .parse()
            .map_err(|_| ApiError::not_found(missing.clone()))?;
        if !self.owns_curve_run(who, &run).await? {
            return Err(ApiError::not_found(missing));
        }
        self.entitle_product(who, Some(market), "curves", route)
            .await?;
        Ok(run)
    }

    /// Whether `who`'s tenant may see `run`: every tenant a curve's own
    /// (BASE or named) builds, only its own tenant a scenario run.
    pub(crate) async fn owns_curve_run(
        &self,
        who: &Principal,
        run: &CurveRun,
    ) -> Result<bool, ApiError> {
        if !carbon_service::scenarios::is_scenario_id(&run.scenario_id) {
            return Ok(true);
        }
        Ok(self
            .scenarios
            .scenario_run(&who.tenant, &run.run_id)
            .await?
            .is_some())
    }
}

/// Curve-run filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunFilterParams {
    /// Only this curve.
    #[serde(default, deserialize_with = "text")]
    curve_id: Option<String>,
    /// Only runs marked for this trade date.
    #[serde(default)]
    #[param(value_type = Option<String>, format = Date)]
    as_of_date: Option<String>,
    /// Only this scenario.
    #[serde(default, deserialize_with = "text")]
    scenario_id: Option<String>,
    /// Only `succeeded` or `failed` runs.
    #[serde(default)]
    #[param(value_type = Option<crate::openapi::RunOutcome>)]
    status: Option<String>,
    /// Most runs (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Stored curve runs of markets the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/curves", tag = "curves", params(RunFilterParams),
    responses((status = 200, description = "Runs", body = Data<CurveRunInfo>)))]
pub(crate) async fn curve_runs(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<RunFilterParams>,
) -> Result<Json<Data<CurveRunInfo>>, ApiError> {
    if let Some(st) = p.status.as_deref()
        && st != "succeeded"
        && st != "failed"
    {
        return Err(ApiError::param(
            "status",
            format!("`{st}`: expected succeeded or failed"),
        ));
    }
    let scope = s
        .scope(
            &who,
            None,
            Some("curves"),
            Transport::Rest,
            "/api/v1/curves",
        )
        .await?;
    let limit = crate::catalog::limit(p.limit, 100, 1000)?;
    let markets: Vec<String> = Market::ALL
        .iter()
        .filter(|m| scope.sees_market(**m))
        .map(|m| m.code().to_string())
        .collect();
    let runs = s
        .curves
        .curve_runs(CurveRunFilter {
            curve_id: p.curve_id.clone(),
            as_of_date: p
                .as_of_date
                .as_deref()
                .map(|d| date("as_of_date", d))
                .transpose()?,
            scenario_id: p.scenario_id.clone(),
            status: p.status.clone(),
            markets: Some(markets),
            // Other tenants' scenario runs are dropped below: read more so
            // a page is still `limit` long where there are that many.
            limit: Some(limit * 4),
        })
        .await?;
    let mut data = Vec::with_capacity(limit);
    for r in &runs {
        if data.len() == limit {
            break;
        }
        if s.owns_curve_run(&who, r).await? {
            data.push(run_json(r, false));
        }
    }
    Ok(Json(Data { data }))
}

/// One stored run: lineage, inputs, report.
#[utoipa::path(get, path = "/api/v1/curves/runs/{run_id}", tag = "curves",
    params(("run_id" = String, Path, description = "The run")),
    responses((status = 200, description = "The run", body = CurveRunInfo)))]
pub(crate) async fn curve_run(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(run_id): Path<String>,
) -> Result<Json<CurveRunInfo>, ApiError> {
    let run = s
        .curves
        .curve_run(&run_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no curve run `{run_id}`")))?;
    let run = s
        .visible_run(
            &who,
            run,
            "/api/v1/curves/runs",
            format!("no curve run `{run_id}`"),
        )
        .await?;
    Ok(Json(run_json(&run, true)))
}

/// Forward-curve parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ForwardParams {
    /// The curve (its newest successful run; or give `run_id`).
    #[serde(default, deserialize_with = "text")]
    curve_id: Option<String>,
    /// The newest run marked for this trade date.
    #[serde(default)]
    #[param(value_type = Option<String>, format = Date)]
    as_of_date: Option<String>,
    /// Scenario (default `BASE`).
    #[serde(default, deserialize_with = "text")]
    scenario_id: Option<String>,
    /// One run.
    #[serde(default, deserialize_with = "text")]
    run_id: Option<String>,
    /// `hourly`, `daily` or `monthly` (the run's own or coarser; default its own).
    #[serde(default)]
    #[param(value_type = Option<crate::openapi::GridName>)]
    granularity: Option<String>,
    /// A power block or hour mask (default `flat`).
    #[serde(default, deserialize_with = "text")]
    block: Option<String>,
    /// `json` (default) or `csv`.
    #[serde(default)]
    #[param(value_type = Option<crate::openapi::JsonOrCsv>)]
    format: Option<String>,
}

/// A stored curve at a granularity and block.
#[derive(Serialize, ToSchema)]
pub(crate) struct Forward {
    /// The run.
    run: CurveRunInfo,
    /// Granularity of the answer.
    granularity: String,
    /// Block or hour mask.
    block: String,
    /// Periods.
    data: Vec<Point>,
}

/// A stored curve at its own or a coarser granularity, for a block or hour
/// mask, JSON or CSV.
#[utoipa::path(get, path = "/api/v1/curves/forward", tag = "curves", params(ForwardParams),
    responses((status = 200, description = "The curve",
        content((Forward = "application/json"), (String = "text/csv")))))]
pub(crate) async fn forward(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<ForwardParams>,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/curves/forward";
    let store = s.curves.clone();
    let scenario = p.scenario_id.as_deref().unwrap_or("BASE");
    let missing = match (p.run_id.as_deref(), p.curve_id.as_deref()) {
        (Some(id), _) => format!("no successful curve run `{id}`"),
        (None, curve_id) => format!(
            "no stored curve `{}` (scenario {scenario}{})",
            curve_id.unwrap_or_default(),
            p.as_of_date
                .as_deref()
                .map(|d| format!(", as of {d}"))
                .unwrap_or_default()
        ),
    };
    let run = match p.run_id.as_deref() {
        Some(_) => store
            .curve_run(p.run_id.as_deref().unwrap_or_default())
            .await?
            .filter(|r| r.status == "succeeded")
            .ok_or_else(|| ApiError::not_found(missing.clone()))?,
        None => {
            let curve_id = p
                .curve_id
                .as_deref()
                .ok_or_else(|| ApiError::param("curve_id", "required (or run_id)"))?;
            let as_of = p
                .as_of_date
                .as_deref()
                .map(|d| date("as_of_date", d))
                .transpose()?;
            store
                .curve_runs(CurveRunFilter {
                    curve_id: Some(curve_id.to_string()),
                    as_of_date: as_of,
                    scenario_id: Some(scenario.to_string()),
                    status: Some("succeeded".into()),
                    markets: None,
                    // Runs come latest trade date first, newest build first.
                    limit: Some(1),
                })
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| ApiError::not_found(missing.clone()))?
        }
    };
    let run = s.visible_run(&who, run, ROUTE, missing).await?;
    let points = store.curve_points(&run.run_id).await?;
    let grid = grid_of(&run, &points)?;
    let target = match p.granularity.as_deref() {
        None => grid.granularity,
        Some(g) => parse::<Granularity>("granularity", g)?,
    };
    let shape = match p.block.as_deref() {
        None => Shape::Block(carbon_core::Block::Flat),
        Some(b) => parse::<Shape>("block", b)?,
    };
    let prices: Vec<f64> = points.iter().map(|p| p.price).collect();
    let periods = build::aggregate(&grid, &prices, target, shape)
        .map_err(|m| ApiError::param("granularity", m))?;
    let format = p.format.as_deref().unwrap_or("json");
    match format {
        "csv" => {
            let mut out = String::from("delivery_start,delivery_end,tenor,price\n");
            for x in &periods {
                out.push_str(&format!(
                    "{},{},{},{}\n",
                    rfc3339(x.start),
                    rfc3339(x.end),
                    x.tenor,
                    x.price
                ));
            }
            let mut resp = out.into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            Ok(resp)
        }
        "json" => Ok(Json(Forward {
            run: run_json(&run, false),
            granularity: format!("{target:?}").to_lowercase(),
            block: shape.as_text(),
            data: periods
                .iter()
                .map(|x| Point {
                    delivery_start: rfc3339(x.start),
                    delivery_end: rfc3339(x.end),
                    tenor: x.tenor.clone(),
                    price: x.price,
                })
                .collect(),
        })
        .into_response()),
        o => Err(ApiError::param(
            "format",
            format!("`{o}`: expected json or csv"),
        )),
    }
}
