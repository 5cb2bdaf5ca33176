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

use carbon_store::{IngestRun, QuarantinedRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    catalog::Data,
    error::ApiError,
    params::{Query, parsed, text},
};

use crate::catalog::{limit, visible};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics))
        .routes(routes!(openapi))
        .routes(routes!(docs))
        .routes(routes!(ingest_runs))
        .routes(routes!(quality))
}

/// This document: the API contract generated from the code.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub(crate) async fn openapi() -> Response {
    let mut resp = (StatusCode::OK, crate::openapi::json()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The self-contained API docs page (its inline script and style are allowed by hash).
pub(crate) const DOCS_HTML: &str = include_str!("../assets/docs.html");

/// The API docs page (renders this document).
#[utoipa::path(get, path = "/docs", tag = "ops",
    responses((status = 200, description = "HTML", content_type = "text/html", body = String)))]
pub(crate) async fn docs() -> axum::response::Html<&'static str> {
    axum::response::Html(DOCS_HTML)
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String)))]
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
    if let Some(feeds) = &s.feeds {
        feed_metrics(&mut out, feeds).await;
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

/// Liveness.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "ops",
    responses((status = 200, description = "Alive", body = Health)))]
pub(crate) async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness of one source.
#[derive(Serialize, ToSchema)]
pub(crate) struct SourceReadiness {
    /// Connector name.
    connector: String,
    /// Status of its newest run.
    last_status: carbon_store::RunStatus,
    /// When its newest run ended.
    last_run_utc: Option<String>,
    /// Its newest run's error, if it failed.
    last_error: Option<String>,
    /// When its newest successful run ended.
    last_ok_utc: Option<String>,
    /// Seconds since then.
    lag_seconds: Option<i64>,
}

/// Readiness.
#[derive(Serialize, ToSchema)]
pub(crate) struct Readiness {
    /// Whether the store answers.
    ready: bool,
    /// `ok` or why the store does not answer.
    store: String,
    /// Store backend (`duckdb`).
    backend: String,
    /// Per source: the last run, the last successful one and how far behind it is.
    sources: Vec<SourceReadiness>,
}

use carbon_service::rfc3339;

/// Store reachable, and per source: the last run, the last successful one and
/// how far behind it is.
#[utoipa::path(get, path = "/ready", tag = "ops",
    responses((status = 200, description = "Ready", body = Readiness),
              (status = 503, description = "The store does not answer", body = Readiness)))]
pub(crate) async fn ready(State(s): State<AppState>) -> Response {
    let store_ok = s.store.ping().await;
    let runs = recent_runs(&s).await;
    let now = Utc::now();
    let mut sources: Vec<SourceReadiness> = Vec::new();
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
        sources.push(SourceReadiness {
            connector: r.connector.clone(),
            last_status: r.status,
            last_run_utc: r.finished.map(rfc3339),
            last_error: r.error.clone(),
            last_ok_utc: last_ok.map(rfc3339),
            lag_seconds: last_ok.map(|t| (now - t).num_seconds()),
        });
    }
    let body = Readiness {
        ready: store_ok.is_ok(),
        store: match &store_ok {
            Ok(()) => "ok".to_string(),
            Err(e) => e.to_string(),
        },
        backend: s.store.backend().to_string(),
        sources,
    };
    let status = if store_ok.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Ingest-run parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunParams {
    /// Only this connector's runs (`miso`, `caiso`, `eia`, `file`).
    #[serde(default, deserialize_with = "text")]
    connector: Option<String>,
    /// Most runs (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Ingest runs the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/ingest/runs", tag = "ops", params(RunParams),
    responses((status = 200, description = "Runs", body = Data<IngestRun>)))]
pub(crate) async fn ingest_runs(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<RunParams>,
) -> Result<Json<Data<IngestRun>>, ApiError> {
    let scope = s
        .scope(&who, None, None, Transport::Rest, "/api/v1/ingest/runs")
        .await?;
    let runs = s
        .log
        .runs(RunFilter {
            connector: p.connector.clone(),
            limit: Some(limit(p.limit, 50, 1000)?),
            ..Default::default()
        })
        .await?;
    let data = runs
        .into_iter()
        .filter(|r| visible(&scope, &who, r.connector.parse().ok()))
        .collect();
    Ok(Json(Data { data }))
}

/// Quality parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct QualityParams {
    /// One ingest run's findings and quarantined rows.
    #[serde(default, deserialize_with = "text")]
    run_id: Option<String>,
    /// Freshness of this market's series only.
    #[serde(default)]
    #[param(value_type = Option<Market>)]
    market: Option<String>,
    /// Most runs and quarantined rows (default 100).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<u32>,
}

/// A run's quality findings.
#[derive(Serialize, ToSchema)]
pub(crate) struct RunQuality {
    /// The run.
    run_id: String,
    /// Its outcome.
    status: carbon_store::RunStatus,
    /// Its data-quality findings.
    findings: Option<serde_json::Value>,
}

/// How fresh one series is.
#[derive(Serialize, ToSchema)]
pub(crate) struct Freshness {
    /// Instrument.
    instrument_id: String,
    /// Market run.
    market_run: carbon_core::MarketRun,
    /// End of its newest interval.
    last_interval_end_utc: String,
    /// When it was last written.
    last_ingested_utc: String,
    /// Seconds from the newest interval's end to now.
    data_age_seconds: i64,
}

/// Data quality.
#[derive(Serialize, ToSchema)]
pub(crate) struct Quality {
    /// Per-run findings.
    runs: Vec<RunQuality>,
    /// Quarantined rows.
    quarantined: Vec<QuarantinedRow>,
    /// Freshness per series.
    freshness: Vec<Freshness>,
}

/// Data quality: per-run findings and quarantined rows (`run_id`), and
/// freshness per series (`market`).
#[utoipa::path(get, path = "/api/v1/quality", tag = "ops", params(QualityParams),
    responses((status = 200, description = "Findings, quarantine and freshness", body = Quality)))]
pub(crate) async fn quality(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<QualityParams>,
) -> Result<Json<Quality>, ApiError> {
    let scope = s
        .scope(&who, None, None, Transport::Rest, "/api/v1/quality")
        .await?;
    let n = limit(p.limit, 100, 10_000)?;
    let market = parsed::<Market>("market", p.market.as_deref())?;
    let run_id = p.run_id.clone();
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
    let runs = runs
        .into_iter()
        .filter(|r| visible(&scope, &who, r.connector.parse().ok()))
        .map(|r| RunQuality {
            run_id: r.id,
            status: r.status,
            findings: r.quality,
        })
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
    let freshness = s
        .store
        .series_stats(StatsFilter {
            market,
            instruments: Vec::new(),
        })
        .await?
        .into_iter()
        .filter(|x| scope.sees(x.instrument_id.market(), x.instrument_id.as_str(), None))
        .map(|x| Freshness {
            instrument_id: x.instrument_id.as_str().to_string(),
            market_run: x.market_run,
            last_interval_end_utc: rfc3339(x.last_interval_end),
            last_ingested_utc: rfc3339(x.last_ingested),
            data_age_seconds: (now - x.last_interval_end).num_seconds(),
        })
        .collect();
    Ok(Json(Quality {
        runs,
        quarantined,
        freshness,
    }))
}

/// Per feed (by tenant and id; names are the tenant's own words and stay
/// out of an unauthenticated page): last success, failures in a row (an
/// alert: > 0), runs, next slot. A scrape that cannot read the feeds says so in a comment.
async fn feed_metrics(out: &mut String, feeds: &carbon_service::feeds::Feeds) {
    use std::fmt::Write as _;
    let list = match feeds.all().await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "feeds not read for /metrics");
            out.push_str("# feeds: not readable now\n");
            return;
        }
    };
    let families = [
        (
            "carbon_feed_last_success_timestamp_seconds",
            "gauge",
            "When a run of the feed last succeeded (0: never).",
        ),
        (
            "carbon_feed_consecutive_failures",
            "gauge",
            "Runs of the feed failed in a row (alert when above 0).",
        ),
        (
            "carbon_feed_failing",
            "gauge",
            "1 while the feed's last run failed.",
        ),
        ("carbon_feed_runs_total", "counter", "Runs fired."),
        (
            "carbon_feed_next_due_timestamp_seconds",
            "gauge",
            "When the feed fires next.",
        ),
    ];
    for (i, (name, kind, help)) in families.iter().enumerate() {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for f in &list {
            let v = match i {
                0 => f.last_success.map_or(0, |t| t.timestamp()),
                1 => i64::from(f.failures),
                2 => i64::from(f.failures > 0),
                3 => f.runs as i64,
                _ => f.next_due.timestamp(),
            };
            let _ = writeln!(
                out,
                "{name}{{tenant=\"{}\",feed=\"{}\"}} {v}",
                crate::metrics::label(&f.tenant),
                crate::metrics::label(&f.id)
            );
        }
    }
}
