//! Durable jobs over HTTP (the jobs themselves are
//! [`carbon_service::jobs`]):
//!
//! - `POST /api/v1/jobs {"kind": "analysis" | "backtest" | "curve_build",
//!   "spec": {…}}`: queued (202, `Location`), after the same entitlement
//!   check as the synchronous route (product `research` on every market an
//!   analysis reads; `curves` on a curve's market, and `lmp` on the
//!   instrument a shape prior reads).
//! - `GET /api/v1/jobs?status&kind&limit`: the caller's tenant's jobs, newest
//!   first (admins: every tenant's, `tenant=` to narrow).
//! - `GET /api/v1/jobs/{id}`, `DELETE /api/v1/jobs/{id}` (cancel).
//! - `GET /api/v1/jobs/{id}/events`: Server-Sent Events, one `job` event
//!   each time its status or progress changes, until it ends.
//!
//! Another tenant's job is a 404, to read and to cancel.

use std::time::Duration;

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use carbon_auth::{Principal, Transport};
use carbon_service::jobs::JobSpec;
pub(crate) use carbon_store::Job;
use carbon_store::{JobFilter, JobStatus};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    catalog::Data,
    error::ApiError,
    params::{Query, text},
};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, submit))
        .routes(routes!(get, cancel))
        .routes(routes!(events))
}

/// A job to queue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewJob {
    /// `analysis`, `backtest` or `curve_build`.
    #[schema(value_type = crate::openapi::JobKind)]
    kind: String,
    /// The request body the synchronous route takes: an analysis (with its
    /// `analysis` name), a backtest, or a curve build.
    #[schema(value_type = Object)]
    spec: Value,
}

/// Job-list parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct JobParams {
    /// Only jobs in this state.
    #[serde(default)]
    #[param(value_type = Option<JobStatus>)]
    status: Option<String>,
    /// Only this kind.
    #[serde(default, deserialize_with = "text")]
    kind: Option<String>,
    /// Most jobs (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Admins: only this tenant's jobs.
    #[serde(default, deserialize_with = "text")]
    tenant: Option<String>,
}

impl AppState {
    /// A job the caller may see: its own tenant's (any, for admins).
    async fn own_job(&self, who: &Principal, id: &str) -> Result<Job, ApiError> {
        self.jobs
            .get(id)
            .await?
            .filter(|j| who.is_admin() || j.tenant == who.tenant)
            .ok_or_else(|| ApiError::not_found(format!("no job `{id}`")))
    }

    /// Jobs run analyses, curve builds and scenarios: a caller with none of
    /// `research`, `curves` or `scenarios` on its channel has no business
    /// with them (403, audited).
    async fn jobs_scope(&self, who: &Principal, route: &str) -> Result<(), ApiError> {
        let channel = who.channel(Transport::Rest);
        let any = ["research", "curves", "scenarios"]
            .iter()
            .any(|p| !self.access.scope(who, None, Some(p), channel).is_empty());
        if any {
            return Ok(());
        }
        self.scope(who, None, Some("research"), Transport::Rest, route)
            .await
            .map(|_| ())
    }
}

/// Queues a job after the same entitlement check as its synchronous route.
#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", request_body = NewJob,
    responses((status = 202, description = "Queued (`Location` names it)", body = Job)))]
pub(crate) async fn submit(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/jobs";
    let b: NewJob = crate::auth::body(&bytes)?;
    let spec = JobSpec::parse(&b.kind, b.spec)?;
    for m in spec.markets()? {
        s.entitle_product(&who, m, spec.product(), ROUTE).await?;
    }
    if let Some(a) = spec.analysis() {
        s.own_scenario_backtest(&who, &a).await?;
    }
    if let JobSpec::CurveBuild(build) = &spec
        && let Some((id, _)) = build.shape_source()?
    {
        s.entitle_lmp(&who, &id, None, Transport::Rest, ROUTE)
            .await?;
    }
    let job = s.jobs.submit(&spec, &who.tenant, &who.actor()).await?;
    Ok(accepted(&job))
}

/// 202 with the job and its `Location`.
pub(crate) fn accepted(job: &Job) -> Response {
    let mut resp = (StatusCode::ACCEPTED, Json(job.clone())).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/jobs/{}", job.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// The caller's tenant's jobs, newest first (admins: every tenant's).
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", params(JobParams),
    responses((status = 200, description = "Jobs", body = Data<Job>)))]
pub(crate) async fn list(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<JobParams>,
) -> Result<Json<Data<Job>>, ApiError> {
    s.jobs_scope(&who, "/api/v1/jobs").await?;
    let status = p
        .status
        .as_deref()
        .map(|v| {
            JobStatus::parse(v).ok_or_else(|| {
                ApiError::param(
                    "status",
                    format!("`{v}`: queued, running, succeeded, failed or cancelled"),
                )
            })
        })
        .transpose()?;
    let tenant = match p.tenant.as_deref() {
        Some(t) if who.is_admin() => Some(t.to_string()),
        Some(_) => {
            return Err(ApiError::param(
                "tenant",
                "only admins list other tenants' jobs",
            ));
        }
        None if who.is_admin() => None,
        None => Some(who.tenant.clone()),
    };
    let jobs = s
        .jobs
        .list(JobFilter {
            tenant,
            status,
            kind: p.kind.clone(),
            limit: Some(crate::catalog::limit(p.limit, 50, 1000)?),
        })
        .await?;
    Ok(Json(Data { data: jobs }))
}

/// One job of the caller's tenant.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job")),
    responses((status = 200, description = "The job", body = Job)))]
pub(crate) async fn get(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    s.jobs_scope(&who, "/api/v1/jobs/{id}").await?;
    Ok(Json(s.own_job(&who, &id).await?))
}

/// Cancels a queued or running job (a running one stops at its next step);
/// answers the job as it is then. An ended job is a 409.
#[utoipa::path(delete, path = "/api/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job")),
    responses((status = 200, description = "The job, cancelled or cancelling", body = Job)))]
pub(crate) async fn cancel(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    s.jobs_scope(&who, "/api/v1/jobs/{id}").await?;
    let job = s.own_job(&who, &id).await?;
    if job.status.is_final() {
        return Err(ApiError {
            status: StatusCode::CONFLICT,
            code: "job_ended",
            detail: format!("job `{id}` has already ended ({})", job.status.as_str()),
            param: None,
        });
    }
    s.jobs.cancel(&id).await?;
    s.access
        .audit(
            &who.actor(),
            Some(&job.tenant),
            "job_cancelled",
            Some(&id),
            "ok",
            json!({ "kind": job.kind }),
        )
        .await;
    Ok(Json(s.own_job(&who, &id).await?))
}

/// How often the event stream looks at the job.
const EVENTS_EVERY: Duration = Duration::from_millis(250);

/// Server-Sent Events: one `job` event (the job as JSON) each time its
/// status or progress changes, until it ends.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/events", tag = "jobs",
    params(("id" = String, Path, description = "The job")),
    responses((status = 200, description = "`text/event-stream` of `job` events", content_type = "text/event-stream", body = String)))]
pub(crate) async fn events(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    s.jobs_scope(&who, "/api/v1/jobs/{id}/events").await?;
    let first = s.own_job(&who, &id).await?;
    let jobs = s.jobs.clone();
    // State: the job last sent (None before the first), and whether the
    // stream is done.
    let stream = futures_util::stream::unfold(
        (None::<Job>, Some(first), false),
        move |(last, mut next, done)| {
            let (jobs, id) = (jobs.clone(), id.clone());
            async move {
                if done {
                    return None;
                }
                loop {
                    let current = match next.take() {
                        Some(j) => j,
                        None => {
                            tokio::time::sleep(EVENTS_EVERY).await;
                            match jobs.get(&id).await {
                                Ok(Some(j)) => j,
                                _ => return None,
                            }
                        }
                    };
                    let changed = last.as_ref().is_none_or(|l| {
                        l.status != current.status
                            || l.progress != current.progress
                            || l.message != current.message
                    });
                    if changed {
                        let end = current.status.is_final();
                        let event = Event::default()
                            .event("job")
                            .data(json!(current).to_string());
                        return Some((
                            Ok::<_, std::convert::Infallible>(event),
                            (Some(current), None, end),
                        ));
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}
