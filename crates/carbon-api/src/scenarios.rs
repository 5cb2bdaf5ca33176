//! Scenarios over HTTP (the engine is `carbon-scenario`, the service
//! [`carbon_service::scenarios`]). Entitlement product `scenarios`, per market
//! of the scenario's instrument; scenarios belong to the caller's tenant
//! (another tenant's is a 404).
//!
//! - `GET /api/v1/scenarios/schema`: the document's JSON Schema.
//! - `POST /api/v1/scenarios/validate {"document": "…"}`: errors with field,
//!   line and column (200 either way).
//! - `GET|POST /api/v1/scenarios`: list; save a new scenario (version 1).
//! - `GET|PUT /api/v1/scenarios/{id}`: the latest version; save the next one.
//! - `GET /api/v1/scenarios/{id}/versions[/{version}]`, `…/diff?from&to`.
//! - `GET|POST /api/v1/scenarios/{id}/runs`: finished runs; queue a run (a
//!   `scenario_run` job, 202).
//! - `GET /api/v1/scenarios/compare?a&b`: two runs by month × block.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use carbon_auth::{Principal, Transport};
use carbon_core::Market;
use carbon_service::{
    jobs::JobSpec,
    scenarios::{self as svc, Change, Comparison, RunSpec, Validation},
};
use carbon_store::{ScenarioRun, ScenarioSummary, ScenarioVersion};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{AppState, catalog::Data, error::ApiError, jobs::Job, params::Query};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(schema))
        .routes(routes!(validate))
        .routes(routes!(list, create))
        .routes(routes!(compare))
        .routes(routes!(latest, update))
        .routes(routes!(versions))
        .routes(routes!(one_version))
        .routes(routes!(diff))
        .routes(routes!(runs, run))
}

const PRODUCT: &str = "scenarios";

/// A scenario document.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Document {
    /// The document, YAML or JSON text (the schema is at `/api/v1/scenarios/schema`).
    document: String,
}

/// What to run.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRun {
    /// The version (default: the latest).
    #[serde(default)]
    version: Option<u32>,
}

/// Versions to compare.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DiffParams {
    /// The first version.
    #[param(minimum = 1, maximum = 4294967295_u64)]
    from: u32,
    /// The second version.
    #[param(minimum = 1, maximum = 4294967295_u64)]
    to: u32,
}

/// Runs to compare.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct CompareParams {
    /// The first run (its curve run id).
    a: String,
    /// The second run.
    b: String,
}

impl AppState {
    /// The caller has `scenarios` on some market of its channel (403, audited, if not).
    async fn scenarios_scope(&self, who: &Principal, route: &str) -> Result<(), ApiError> {
        self.scope(who, None, Some(PRODUCT), Transport::Rest, route)
            .await
            .map(|_| ())
    }

    /// A version of the caller's tenant's scenario, entitled on its market.
    async fn own_version(
        &self,
        who: &Principal,
        id: &str,
        version: Option<u32>,
        route: &str,
    ) -> Result<ScenarioVersion, ApiError> {
        self.scenarios_scope(who, route).await?;
        let v = svc::version(&self.research_deps(), &who.tenant, id, version).await?;
        let market = v.market.parse::<Market>().ok();
        self.entitle_product(who, market, PRODUCT, route).await?;
        Ok(v)
    }
}

fn market_of(text: &str) -> Result<Market, ApiError> {
    let s = svc::read(text)?;
    Ok(svc::market_of(&s)?)
}

/// The scenario document's JSON Schema (draft 2020-12).
#[utoipa::path(get, path = "/api/v1/scenarios/schema", tag = "scenarios",
    responses((status = 200, description = "JSON Schema", body = Object)))]
pub(crate) async fn schema(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    s.scenarios_scope(&who, "/api/v1/scenarios/schema").await?;
    Ok(Json(carbon_scenario::dsl::schema()))
}

/// Checks a document without saving it: the first error with field, line and column.
#[utoipa::path(post, path = "/api/v1/scenarios/validate", tag = "scenarios", request_body = Document,
    responses((status = 200, description = "Whether it is valid, and why not", body = Validation)))]
pub(crate) async fn validate(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Result<Json<Validation>, ApiError> {
    s.scenarios_scope(&who, "/api/v1/scenarios/validate")
        .await?;
    let d: Document = crate::auth::body(&bytes)?;
    Ok(Json(svc::validate(&d.document)))
}

/// The caller's tenant's scenarios on markets it may see, newest update first.
#[utoipa::path(get, path = "/api/v1/scenarios", tag = "scenarios",
    responses((status = 200, description = "Scenarios", body = Data<ScenarioSummary>)))]
pub(crate) async fn list(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Data<ScenarioSummary>>, ApiError> {
    let scope = s
        .scope(
            &who,
            None,
            Some(PRODUCT),
            Transport::Rest,
            "/api/v1/scenarios",
        )
        .await?;
    let markets: Vec<String> = Market::ALL
        .iter()
        .filter(|m| scope.sees_market(**m))
        .map(|m| m.code().to_string())
        .collect();
    let data = svc::list(&s.research_deps(), &who.tenant, Some(markets)).await?;
    Ok(Json(Data { data }))
}

/// Saves a new scenario (version 1). A malformed document is a 400 naming
/// the field, line and column.
#[utoipa::path(post, path = "/api/v1/scenarios", tag = "scenarios", request_body = Document,
    responses((status = 201, description = "Version 1", body = ScenarioVersion)))]
pub(crate) async fn create(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/scenarios";
    // Only a caller with `scenarios` somewhere gets its document read.
    s.scenarios_scope(&who, ROUTE).await?;
    let d: Document = crate::auth::body(&bytes)?;
    let market = market_of(&d.document)?;
    s.entitle_product(&who, Some(market), PRODUCT, ROUTE)
        .await?;
    let v = svc::save(
        &s.research_deps(),
        &who.tenant,
        &who.actor(),
        None,
        &d.document,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// The latest version.
#[utoipa::path(get, path = "/api/v1/scenarios/{id}", tag = "scenarios",
    params(("id" = String, Path, description = "The scenario")),
    responses((status = 200, description = "The latest version", body = ScenarioVersion)))]
pub(crate) async fn latest(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<ScenarioVersion>, ApiError> {
    Ok(Json(
        s.own_version(&who, &id, None, "/api/v1/scenarios/{id}")
            .await?,
    ))
}

/// Saves the next version (versions are immutable; a save that lost a race is a 409).
#[utoipa::path(put, path = "/api/v1/scenarios/{id}", tag = "scenarios", request_body = Document,
    params(("id" = String, Path, description = "The scenario")),
    responses((status = 201, description = "The new version", body = ScenarioVersion)))]
pub(crate) async fn update(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/scenarios/{id}";
    let d: Document = crate::auth::body(&bytes)?;
    s.own_version(&who, &id, None, ROUTE).await?;
    let market = market_of(&d.document)?;
    s.entitle_product(&who, Some(market), PRODUCT, ROUTE)
        .await?;
    let v = svc::save(
        &s.research_deps(),
        &who.tenant,
        &who.actor(),
        Some(&id),
        &d.document,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Every version, oldest first.
#[utoipa::path(get, path = "/api/v1/scenarios/{id}/versions", tag = "scenarios",
    params(("id" = String, Path, description = "The scenario")),
    responses((status = 200, description = "Versions", body = Data<ScenarioVersion>)))]
pub(crate) async fn versions(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Data<ScenarioVersion>>, ApiError> {
    s.own_version(&who, &id, None, "/api/v1/scenarios/{id}/versions")
        .await?;
    let data = svc::versions(&s.research_deps(), &who.tenant, &id).await?;
    Ok(Json(Data { data }))
}

/// One version.
#[utoipa::path(get, path = "/api/v1/scenarios/{id}/versions/{version}", tag = "scenarios",
    params(("id" = String, Path, description = "The scenario"),
           ("version" = u32, Path, description = "The version", minimum = 1, maximum = 4294967295_u64)),
    responses((status = 200, description = "The version", body = ScenarioVersion)))]
pub(crate) async fn one_version(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((id, version)): Path<(String, String)>,
) -> Result<Json<ScenarioVersion>, ApiError> {
    let version: u32 = version
        .parse()
        .map_err(|_| ApiError::param("version", format!("`{version}` is not a version number")))?;
    Ok(Json(
        s.own_version(
            &who,
            &id,
            Some(version),
            "/api/v1/scenarios/{id}/versions/{version}",
        )
        .await?,
    ))
}

/// What changed between two versions (field, old value, new value).
#[utoipa::path(get, path = "/api/v1/scenarios/{id}/diff", tag = "scenarios",
    params(("id" = String, Path, description = "The scenario"), DiffParams),
    responses((status = 200, description = "Changed fields", body = Data<Change>)))]
pub(crate) async fn diff(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(p): Query<DiffParams>,
) -> Result<Json<Data<Change>>, ApiError> {
    const ROUTE: &str = "/api/v1/scenarios/{id}/diff";
    let a = s.own_version(&who, &id, Some(p.from), ROUTE).await?;
    let b = s.own_version(&who, &id, Some(p.to), ROUTE).await?;
    Ok(Json(Data {
        data: svc::diff(&a.canonical, &b.canonical),
    }))
}

/// Finished runs, newest first (running and failed ones are jobs: `/api/v1/jobs`).
#[utoipa::path(get, path = "/api/v1/scenarios/{id}/runs", tag = "scenarios",
    params(("id" = String, Path, description = "The scenario")),
    responses((status = 200, description = "Runs", body = Data<ScenarioRun>)))]
pub(crate) async fn runs(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Data<ScenarioRun>>, ApiError> {
    s.own_version(&who, &id, None, "/api/v1/scenarios/{id}/runs")
        .await?;
    let data = svc::runs(&s.research_deps(), &who.tenant, &id).await?;
    Ok(Json(Data { data }))
}

/// Queues a run of a version (a `scenario_run` job: progress, cancel and
/// result at `/api/v1/jobs/{id}`).
#[utoipa::path(post, path = "/api/v1/scenarios/{id}/runs", tag = "scenarios", request_body = Option<NewRun>,
    params(("id" = String, Path, description = "The scenario")),
    responses((status = 202, description = "Queued (`Location` names the job)", body = Job)))]
pub(crate) async fn run(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let r: Option<NewRun> = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        crate::auth::body(&bytes)?
    };
    let r = r.unwrap_or_default();
    let v = s
        .own_version(&who, &id, r.version, "/api/v1/scenarios/{id}/runs")
        .await?;
    let spec = JobSpec::ScenarioRun(Box::new(RunSpec {
        scenario_id: v.scenario_id,
        version: Some(v.version),
        market: v.market,
    }));
    let job = s.jobs.submit(&spec, &who.tenant, &who.actor()).await?;
    Ok(crate::jobs::accepted(&job))
}

/// Two runs of the caller's tenant by month × block: base, scenario, Δ,
/// attribution and bands of each, and the difference.
#[utoipa::path(get, path = "/api/v1/scenarios/compare", tag = "scenarios", params(CompareParams),
    responses((status = 200, description = "The comparison", body = Comparison)))]
pub(crate) async fn compare(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<CompareParams>,
) -> Result<Json<Comparison>, ApiError> {
    const ROUTE: &str = "/api/v1/scenarios/compare";
    s.scenarios_scope(&who, ROUTE).await?;
    let c = svc::compare(&s.research_deps(), &who.tenant, &p.a, &p.b).await?;
    for lineage in [&c.a, &c.b] {
        let id = lineage["scenario_id"].as_str().unwrap_or_default();
        s.own_version(&who, id, None, ROUTE).await?;
    }
    Ok(Json(c))
}
