//! Operations: health, readiness, Prometheus metrics, the OpenAPI document
//! and its docs page, ingest runs and data quality, and the problem+json 404.

use std::fmt::Write as _;

use axum::{
    Extension, Json,
    extract::State,
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use carbon_auth::{Principal, Transport};
use carbon_core::{InstrumentId, Market};
use carbon_store::{RunFilter, RunStatus, StatsFilter};
use chrono::Utc;
use serde_json::{Value, json};

use crate::{AppState, error::ApiError, params::Params};

use crate::catalog::{limit, visible};

/// The OpenAPI document (kept beside the code; a test checks it lists every route).
pub(crate) const OPENAPI: &str = include_str!("../assets/openapi.json");

pub(crate) async fn openapi() -> Response {
    let mut resp = (StatusCode::OK, OPENAPI).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The self-contained API docs page (its inline script and style are allowed by hash).
pub(crate) const DOCS_HTML: &str = include_str!("../assets/docs.html");

pub(crate) async fn docs() -> axum::response::Html<&'static str> {
    axum::response::Html(DOCS_HTML)
}

/// Prometheus text exposition.
pub(crate) async fn metrics(State(s): State<AppState>) -> Response {
    let mut out = String::new();
    s.metrics.render(&mut out);
    s.metrics.render_security(&mut out);
    let _ = writeln!(
        out,
        "# HELP carbon_hub_sessions Hub sessions live now.\n# TYPE carbon_hub_sessions gauge\ncarbon_hub_sessions {}",
        s.access.live_sessions()
    );
    let up = u8::from(s.store.ping().await.is_ok());
    out.push_str(
        "# HELP carbon_store_up Whether the store answers.\n# TYPE carbon_store_up gauge\n",
    );
    let _ = writeln!(
        out,
        "carbon_store_up{{backend=\"{}\"}} {up}",
        s.store.backend()
    );
    if let Some(c) = s.store.cache_stats() {
        for (name, kind, help, value) in [
            (
                "hits_total",
                "counter",
                "Price queries answered from memory.",
                c.hits,
            ),
            (
                "misses_total",
                "counter",
                "Price queries that read the store.",
                c.misses,
            ),
            (
                "entries",
                "gauge",
                "Answers and series chunks held.",
                c.entries as u64,
            ),
            (
                "chunks",
                "gauge",
                "Series chunks (an instrument's latest rows on one UTC day) held.",
                c.chunks as u64,
            ),
            ("bytes", "gauge", "Approximate memory held.", c.bytes as u64),
            (
                "budget_bytes",
                "gauge",
                "Memory the cache may hold (0: off).",
                c.budget as u64,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP carbon_query_cache_{name} {help}\n# TYPE carbon_query_cache_{name} {kind}\ncarbon_query_cache_{name} {value}"
            );
        }
    }
    let runs = recent_runs(&s).await;
    out.push_str("# HELP carbon_ingest_last_run_timestamp_seconds End of the newest ingest run per connector and status.\n# TYPE carbon_ingest_last_run_timestamp_seconds gauge\n");
    let mut seen = std::collections::BTreeSet::new();
    for r in &runs {
        if let Some(f) = r.finished
            && seen.insert((r.connector.clone(), r.status.as_str()))
        {
            let _ = writeln!(
                out,
                "carbon_ingest_last_run_timestamp_seconds{{connector=\"{}\",status=\"{}\"}} {}",
                crate::metrics::label(&r.connector),
                r.status.as_str(),
                f.timestamp()
            );
        }
    }
    out.push_str("# HELP carbon_ingest_rows_accepted Versions stored by the newest runs (up to 500).\n# TYPE carbon_ingest_rows_accepted gauge\n");
    let mut per: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for r in &runs {
        let e = per.entry(r.connector.as_str()).or_default();
        e.0 += r.rows_accepted;
        e.1 += r.rows_rejected;
    }
    for (c, (acc, rej)) in &per {
        let c = crate::metrics::label(c);
        let _ = writeln!(
            out,
            "carbon_ingest_rows_accepted{{connector=\"{c}\"}} {acc}"
        );
        let _ = writeln!(
            out,
            "carbon_ingest_rows_rejected{{connector=\"{c}\"}} {rej}"
        );
    }
    let mut resp = (StatusCode::OK, out).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// The newest ingest runs, for readiness and metrics (an unreadable run log
/// reports no sources rather than failing the probe).
pub(crate) async fn recent_runs(s: &AppState) -> Vec<carbon_store::IngestRun> {
    s.log
        .runs(RunFilter {
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap_or_default()
}

/// Anything else: the web hub for a browser's `GET` outside `/api/`, a 404
/// problem otherwise.
pub(crate) async fn not_found(method: axum::http::Method, uri: Uri) -> Response {
    let api = uri.path().starts_with("/api/") || uri.path().starts_with("/.well-known/");
    if !api && (method == axum::http::Method::GET || method == axum::http::Method::HEAD) {
        return crate::hub::serve(uri).await;
    }
    ApiError::not_found(format!("no route {}", uri.path())).into_response()
}

pub(crate) async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

use carbon_service::rfc3339;

/// Store reachable, and per source: the last run, the last successful one and
/// how far behind it is.
pub(crate) async fn ready(State(s): State<AppState>) -> Response {
    let store_ok = s.store.ping().await;
    let runs = recent_runs(&s).await;
    let now = Utc::now();
    let mut sources: Vec<Value> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for r in &runs {
        if seen.contains(&r.connector) {
            continue;
        }
        seen.push(r.connector.clone());
        let last_ok = runs
            .iter()
            .filter(|x| x.connector == r.connector && x.status == RunStatus::Ok)
            .find_map(|x| x.finished);
        sources.push(json!({
            "connector": r.connector,
            "last_status": r.status.as_str(),
            "last_run_utc": r.finished.map(rfc3339),
            "last_error": r.error,
            "last_ok_utc": last_ok.map(rfc3339),
            "lag_seconds": last_ok.map(|t| (now - t).num_seconds()),
        }));
    }
    let body = json!({
        "ready": store_ok.is_ok(),
        "store": match &store_ok { Ok(()) => "ok".to_string(), Err(e) => e.to_string() },
        "backend": s.store.backend(),
        "sources": sources,
    });
    let status = if store_ok.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Ingest runs, newest first.
pub(crate) async fn ingest_runs(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(uri.query(), &["connector", "limit"])?;
    let scope = s
        .scope(&who, None, None, Transport::Rest, "/api/v1/ingest/runs")
        .await?;
    let runs = s
        .log
        .runs(RunFilter {
            connector: p.one("connector").map(str::to_string),
            limit: Some(limit(&p, 50, 1000)?),
            ..Default::default()
        })
        .await?;
    let runs: Vec<_> = runs
        .into_iter()
        .filter(|r| visible(&scope, &who, r.connector.parse().ok()))
        .collect();
    Ok(Json(json!({ "data": runs })))
}

/// Data quality: per-run findings and quarantined rows (`run_id`), and
/// freshness per series (`market`).
pub(crate) async fn quality(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(uri.query(), &["run_id", "market", "limit"])?;
    let scope = s
        .scope(&who, None, None, Transport::Rest, "/api/v1/quality")
        .await?;
    let n = limit(&p, 100, 10_000)?;
    let run_id = p.one("run_id").map(str::to_string);
    let runs = s
        .log
        .runs(RunFilter {
            id: run_id.clone(),
            limit: Some(n.min(1000)),
            ..Default::default()
        })
        .await?;
    if let Some(id) = &run_id
        && runs.is_empty()
    {
        return Err(ApiError::not_found(format!("no ingest run {id}")));
    }
    let runs: Vec<Value> = runs
        .into_iter()
        .filter(|r| visible(&scope, &who, r.connector.parse().ok()))
        .map(|r| json!({ "run_id": r.id, "status": r.status.as_str(), "findings": r.quality }))
        .collect();
    let quarantined: Vec<_> = s
        .log
        .quarantined(run_id, n)
        .await?
        .into_iter()
        .filter(
            |q| match q.instrument_id.as_deref().map(InstrumentId::parse) {
                Some(Ok(id)) => scope.sees(id.market(), id.as_str(), None),
                _ => visible(&scope, &who, None),
            },
        )
        .collect();
    let now = Utc::now();
    let freshness: Vec<Value> = s
        .store
        .series_stats(StatsFilter {
            market: p.parsed::<Market>("market")?,
            instruments: Vec::new(),
        })
        .await?
        .into_iter()
        .filter(|x| scope.sees(x.instrument_id.market(), x.instrument_id.as_str(), None))
        .map(|x| {
            json!({
                "instrument_id": x.instrument_id.as_str(),
                "market_run": x.market_run.as_str(),
                "last_interval_end_utc": rfc3339(x.last_interval_end),
                "last_ingested_utc": rfc3339(x.last_ingested),
                "data_age_seconds": (now - x.last_interval_end).num_seconds(),
            })
        })
        .collect();
    Ok(Json(
        json!({ "runs": runs, "quarantined": quarantined, "freshness": freshness }),
    ))
}
