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
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use carbon_auth::{Principal, Transport};
use carbon_core::Market;
use carbon_curves::{
    build::{self},
    grid::{Granularity, Shape},
};
use carbon_store::{CurveRun, CurveRunFilter};
use serde_json::{Value, json};

pub use carbon_service::curves::{
    BuildSpec, CurveFailure, CurveJob, CurveOutcome, check_id, grid_of, history, inputs_json,
    run_build,
};
use carbon_service::curves::{date, parse_as as parse};

use crate::{AppState, error::ApiError, params::Params, routes::rfc3339};

pub(crate) async fn build_curve(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/curves/build";
    let body: BuildSpec = serde_json::from_slice(&bytes).map_err(|e| ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid_body",
        detail: format!("request body: {e}"),
        param: None,
    })?;
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
            let points: Vec<Value> = o
                .points
                .iter()
                .map(|p| {
                    json!({
                        "delivery_start": rfc3339(p.delivery_start),
                        "delivery_end": rfc3339(p.delivery_end),
                        "tenor": p.tenor, "price": p.price,
                    })
                })
                .collect();
            let status = if o.run_id.is_some() {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((
                status,
                Json(json!({
                    "run_id": o.run_id,
                    "curve_id": body.curve_id,
                    "scenario_id": scenario_id,
                    "input_hash": o.built.input_hash,
                    "report": o.report,
                    "points": points,
                })),
            )
                .into_response())
        }
    }
}

fn run_json(r: &CurveRun, full: bool) -> Value {
    let mut v = json!({
        "run_id": r.run_id, "curve_id": r.curve_id, "scenario_id": r.scenario_id,
        "as_of_date": r.as_of_date.to_string(), "market": r.market,
        "granularity": r.granularity, "input_hash": r.input_hash,
        "status": r.status, "error": r.error, "created_by": r.created_by,
        "started": rfc3339(r.started), "finished": rfc3339(r.finished),
        "duration_ms": (r.finished - r.started).num_milliseconds(),
        "points": r.points,
    });
    if full && let Some(o) = v.as_object_mut() {
        o.insert("request".into(), r.request.clone());
        o.insert("report".into(), r.report.clone());
    }
    v
}

impl AppState {
    /// The run, if `who` may see curves of its market (else 403, audited).
    async fn visible_run(
        &self,
        who: &Principal,
        run: CurveRun,
        route: &str,
    ) -> Result<CurveRun, ApiError> {
        let market: Market = run
            .market
            .parse()
            .map_err(|_| ApiError::not_found(format!("curve run `{}`", run.run_id)))?;
        self.entitle_product(who, Some(market), "curves", route)
            .await?;
        Ok(run)
    }
}

pub(crate) async fn curve_runs(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(
        uri.query(),
        &["curve_id", "as_of_date", "scenario_id", "status", "limit"],
    )?;
    let scope = s
        .scope(
            &who,
            None,
            Some("curves"),
            Transport::Rest,
            "/api/v1/curves",
        )
        .await?;
    let limit = match p.parsed::<usize>("limit")? {
        None => 100,
        Some(n) if (1..=1000).contains(&n) => n,
        Some(_) => return Err(ApiError::param("limit", "between 1 and 1000")),
    };
    let markets: Vec<String> = Market::ALL
        .iter()
        .filter(|m| scope.sees_market(**m))
        .map(|m| m.code().to_string())
        .collect();
    let runs = s
        .curves
        .curve_runs(CurveRunFilter {
            curve_id: p.one("curve_id").map(str::to_string),
            as_of_date: p
                .one("as_of_date")
                .map(|d| date("as_of_date", d))
                .transpose()?,
            scenario_id: p.one("scenario_id").map(str::to_string),
            status: p.one("status").map(str::to_string),
            markets: Some(markets),
            limit: Some(limit),
        })
        .await?;
    Ok(Json(json!({
        "data": runs.iter().map(|r| run_json(r, false)).collect::<Vec<_>>()
    })))
}

pub(crate) async fn curve_run(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(run_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let run = s
        .curves
        .curve_run(&run_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no curve run `{run_id}`")))?;
    let run = s.visible_run(&who, run, "/api/v1/curves/runs").await?;
    Ok(Json(run_json(&run, true)))
}

/// Rebuilds the grid a run's points lie on (same market, granularity, dates).
pub(crate) async fn forward(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/curves/forward";
    let p = Params::parse(
        uri.query(),
        &[
            "curve_id",
            "as_of_date",
            "scenario_id",
            "run_id",
            "granularity",
            "block",
            "format",
        ],
    )?;
    let store = s.curves.clone();
    let run = match p.one("run_id") {
        Some(id) => store
            .curve_run(id)
            .await?
            .filter(|r| r.status == "succeeded")
            .ok_or_else(|| ApiError::not_found(format!("no successful curve run `{id}`")))?,
        None => {
            let curve_id = p
                .one("curve_id")
                .ok_or_else(|| ApiError::param("curve_id", "required (or run_id)"))?;
            let as_of = p
                .one("as_of_date")
                .map(|d| date("as_of_date", d))
                .transpose()?;
            let scenario = p.one("scenario_id").unwrap_or("BASE");
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
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "no stored curve `{curve_id}` (scenario {scenario}{})",
                        as_of.map(|d| format!(", as of {d}")).unwrap_or_default()
                    ))
                })?
        }
    };
    let run = s.visible_run(&who, run, ROUTE).await?;
    let points = store.curve_points(&run.run_id).await?;
    let grid = grid_of(&run, &points)?;
    let target = match p.one("granularity") {
        None => grid.granularity,
        Some(g) => parse::<Granularity>("granularity", g)?,
    };
    let shape = match p.one("block") {
        None => Shape::Block(carbon_core::Block::Flat),
        Some(b) => parse::<Shape>("block", b)?,
    };
    let prices: Vec<f64> = points.iter().map(|p| p.price).collect();
    let periods = build::aggregate(&grid, &prices, target, shape)
        .map_err(|m| ApiError::param("granularity", m))?;
    let format = p.one("format").unwrap_or("json");
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
        "json" => Ok(Json(json!({
            "run": run_json(&run, false),
            "granularity": format!("{target:?}").to_lowercase(),
            "block": shape.as_text(),
            "data": periods.iter().map(|x| json!({
                "delivery_start": rfc3339(x.start), "delivery_end": rfc3339(x.end),
                "tenor": x.tenor, "price": x.price,
            })).collect::<Vec<_>>(),
        }))
        .into_response()),
        o => Err(ApiError::param(
            "format",
            format!("`{o}`: expected json or csv"),
        )),
    }
}
