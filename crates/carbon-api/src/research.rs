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
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
};
use carbon_auth::{Principal, Transport};
use carbon_core::Market;
pub use carbon_service::research::*;
use carbon_store::{ResearchFilter, ResearchRun};
use serde_json::{Value, json};

use crate::{AppState, error::ApiError, params::Params, routes::rfc3339};

impl AppState {
    fn research_deps(&self) -> ResearchDeps {
        ResearchDeps {
            store: self.store.clone(),
            fundamentals: self.fundamentals.clone(),
            research: self.research.clone(),
            curves: Some(self.curves.clone()),
        }
    }
}

fn run_json(r: &ResearchRun, full: bool) -> Value {
    let mut v = json!({
        "run_id": r.run_id, "kind": r.kind, "subject": r.subject, "model_version": r.model_version,
        "status": r.status, "error": r.error, "created_by": r.created_by,
        "started": rfc3339(r.started), "finished": rfc3339(r.finished),
        "duration_ms": (r.finished - r.started).num_milliseconds(),
    });
    if full && let Some(o) = v.as_object_mut() {
        o.insert("params".into(), r.params.clone());
        o.insert("output".into(), r.output.clone());
    }
    v
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
    if let Some(o) = v.as_object_mut() {
        o.insert("kind".into(), Value::String(kind.into()));
    }
    let a: Analysis =
        serde_json::from_value(v).map_err(|e| ApiError::param("body", e.to_string()))?;
    let deps = s.research_deps();
    for m in a.markets()? {
        s.entitle_product(&who, m, "research", route).await?;
    }
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

/// `POST /api/v1/research/{decompose|regimes|balance|weather}` and
/// `POST /api/v1/backtests`: the kind comes from the route.
pub(crate) async fn analysis_route(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    let route = uri.path().to_string();
    let kind = match route.rsplit('/').next() {
        Some("backtests") => "backtest",
        Some(k) => k,
        None => "",
    };
    analyse(s, who, body, kind, &route).await
}

/// Markets a run's params touch (to decide who may read it).
fn run_markets(r: &ResearchRun) -> Vec<Option<Market>> {
    serde_json::from_value::<Analysis>(r.params.clone())
        .ok()
        .and_then(|a| a.markets().ok())
        .unwrap_or_else(|| vec![None])
}

async fn visible(s: &AppState, who: &Principal, r: &ResearchRun) -> bool {
    run_markets(r)
        .into_iter()
        .all(|m| s.may_read(who, m, "research"))
}

pub(crate) async fn research_runs(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    list_runs(s, who, uri, None).await
}

pub(crate) async fn backtest_runs(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    list_runs(s, who, uri, Some("backtest")).await
}

async fn list_runs(
    s: AppState,
    who: Principal,
    uri: Uri,
    kind: Option<&str>,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(uri.query(), &["kind", "subject", "limit"])?;
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
    let limit = p.parsed::<usize>("limit")?.unwrap_or(50).clamp(1, 1000);
    let runs = deps
        .research
        .research_runs(ResearchFilter {
            kind: kind
                .map(str::to_string)
                .or_else(|| p.one("kind").map(str::to_string)),
            subject: p.one("subject").map(str::to_string),
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
    Ok(Json(json!({ "data": out })))
}

pub(crate) async fn research_run(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let deps = s.research_deps();
    let r = deps
        .research
        .research_run(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("research run `{id}`")))?;
    for m in run_markets(&r) {
        s.entitle_product(&who, m, "research", "/api/v1/research/runs/{run_id}")
            .await?;
    }
    Ok(Json(run_json(&r, true)))
}

pub(crate) async fn fundamentals(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let p = Params::parse(
        uri.query(),
        &[
            "entity",
            "variable",
            "start",
            "end",
            "as_of",
            "resample",
            "agg",
            "scenario_id",
            "format",
        ],
    )?;
    let r = SeriesRef {
        entity: Some(p.required("entity")?.to_string()),
        variable: Some(p.required("variable")?.to_string()),
        scenario_id: p.one("scenario_id").map(str::to_string),
        start: p.one("start").map(str::to_string),
        end: p.one("end").map(str::to_string),
        as_of: p.one("as_of").map(str::to_string),
        resample: p.one("resample").map(str::to_string),
        agg: p.one("agg").map(str::to_string),
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
    match p.one("format").unwrap_or("json") {
        "json" => Ok(Json(json!({
            "entity": entity, "variable": r.variable, "unit": l.unit,
            "data": l.times.iter().zip(&l.values).map(|(t, v)| json!({"interval_start": rfc3339(*t), "value": v})).collect::<Vec<_>>(),
        }))
        .into_response()),
        "csv" => {
            let mut out = String::from("interval_start,value\n");
            for (t, v) in l.times.iter().zip(&l.values) {
                out.push_str(&format!("{},{v}\n", rfc3339(*t)));
            }
            Ok(([(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
        }
        o => Err(ApiError::param("format", format!("`{o}`: expected json or csv"))),
    }
}

pub(crate) async fn fundamental_series(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
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
            out.push(json!({"entity": x.entity, "variable": x.variable, "scenario_id": x.scenario_id, "unit": x.unit,
                "source": x.source, "intervals": x.intervals, "first": rfc3339(x.first), "last": rfc3339(x.last),
                "latest_vintage": rfc3339(x.latest_vintage)}));
        }
    }
    Ok(Json(json!({ "data": out })))
}
