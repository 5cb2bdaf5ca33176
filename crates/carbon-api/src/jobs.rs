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
    http::{HeaderValue, StatusCode, Uri, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use carbon_auth::{Principal, Transport};
use carbon_service::jobs::JobSpec;
use carbon_store::{Job, JobFilter, JobStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{AppState, error::ApiError, params::Params};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewJob {
    kind: String,
    spec: Value,
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

    /// Jobs run analyses and curve builds: a caller with neither `research`
    /// nor `curves` on its channel has no business with them (403, audited).
    async fn jobs_scope(&self, who: &Principal, route: &str) -> Result<(), ApiError> {
        let channel = who.channel(Transport::Rest);
        let any = ["research", "curves"]
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

/// `POST /api/v1/jobs`.
pub(crate) async fn submit(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    const ROUTE: &str = "/api/v1/jobs";
    let b: NewJob = serde_json::from_slice(&bytes).map_err(|e| ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid_body",
        detail: format!("request body: {e}"),
        param: None,
    })?;
    let spec = JobSpec::parse(&b.kind, b.spec)?;
    for m in spec.markets()? {
        s.entitle_product(&who, m, spec.product(), ROUTE).await?;
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
    let mut resp = (StatusCode::ACCEPTED, Json(json!(job))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/jobs/{}", job.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// `GET /api/v1/jobs`.
pub(crate) async fn list(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    s.jobs_scope(&who, "/api/v1/jobs").await?;
    let p = Params::parse(uri.query(), &["status", "kind", "limit", "tenant"])?;
    let status = p
        .one("status")
        .map(|v| {
            JobStatus::parse(v).ok_or_else(|| {
                ApiError::param(
                    "status",
                    format!("`{v}`: queued, running, succeeded, failed or cancelled"),
                )
            })
        })
        .transpose()?;
    let tenant = match p.one("tenant") {
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
            kind: p.one("kind").map(str::to_string),
            limit: Some(p.parsed::<usize>("limit")?.unwrap_or(50).clamp(1, 1000)),
        })
        .await?;
    Ok(Json(json!({ "data": jobs })))
}

/// `GET /api/v1/jobs/{id}`.
pub(crate) async fn get(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    s.jobs_scope(&who, "/api/v1/jobs/{id}").await?;
    Ok(Json(json!(s.own_job(&who, &id).await?)))
}

/// `DELETE /api/v1/jobs/{id}`: cancels; answers the job as it is then.
pub(crate) async fn cancel(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!(s.own_job(&who, &id).await?)))
}

/// How often the event stream looks at the job.
const EVENTS_EVERY: Duration = Duration::from_millis(250);

/// `GET /api/v1/jobs/{id}/events`.
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
