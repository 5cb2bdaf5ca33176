//! Routes and handlers.

use std::{
    fmt::Write as _,
    sync::atomic::{AtomicU64, Ordering},
};

use axum::{
    Extension, Json, Router,
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, Uri, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, patch, post, put},
};
use carbon_auth::{Principal, Transport};
use carbon_core::{
    Aggregation, Block, Component, Frequency, InstrumentId, LocationKind, Market, MarketRun, time,
};
use carbon_store::{
    InstrumentQuery, PriceQuery, PriceRow, Resample, RunFilter, RunStatus, StatsFilter,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use tower_http::catch_panic::CatchPanicLayer;

use crate::{AppState, auth, error::ApiError, params::Params, security};

/// Rows per price page unless `limit` says otherwise, and the most a page may hold.
const DEFAULT_LIMIT: usize = 10_000;
const MAX_LIMIT: usize = 100_000;

pub(crate) fn router(state: AppState) -> Router {
    let router = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/docs", get(docs))
        .route("/api/v1/markets", get(markets))
        .route("/api/v1/instruments", get(instruments))
        .route("/api/v1/prices", get(prices))
        .route("/api/v1/prices/latest", get(latest))
        .route("/api/v1/prices/spread", get(spread))
        .route("/api/v1/ingest/runs", get(ingest_runs))
        .route("/api/v1/quality", get(quality))
        .route("/api/v1/stream", get(crate::stream::websocket))
        .route("/api/v1/stream/sse", get(crate::stream::sse))
        .route("/api/v1/exports/prices", get(export_prices))
        .route("/api/v1/curves", get(crate::curves::curve_runs))
        .route("/api/v1/curves/build", post(crate::curves::build_curve))
        .route(
            "/api/v1/curves/runs/{run_id}",
            get(crate::curves::curve_run),
        )
        .route("/api/v1/curves/forward", get(crate::curves::forward))
        .route("/api/v1/fundamentals", get(crate::research::fundamentals))
        .route(
            "/api/v1/fundamentals/series",
            get(crate::research::fundamental_series),
        )
        .route(
            "/api/v1/research/decompose",
            post(crate::research::analysis_route),
        )
        .route(
            "/api/v1/research/regimes",
            post(crate::research::analysis_route),
        )
        .route(
            "/api/v1/research/balance",
            post(crate::research::analysis_route),
        )
        .route(
            "/api/v1/research/weather",
            post(crate::research::analysis_route),
        )
        .route("/api/v1/research/runs", get(crate::research::research_runs))
        .route(
            "/api/v1/research/runs/{run_id}",
            get(crate::research::research_run),
        )
        .route(
            "/api/v1/backtests",
            get(crate::research::backtest_runs).post(crate::research::analysis_route),
        )
        .route(
            "/api/v1/jobs",
            get(crate::jobs::list).post(crate::jobs::submit),
        )
        .route(
            "/api/v1/jobs/{id}",
            get(crate::jobs::get).delete(crate::jobs::cancel),
        )
        .route("/api/v1/jobs/{id}/events", get(crate::jobs::events))
        .route("/.well-known/jwks.json", get(auth::jwks))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/auth/oidc/session", post(auth::oidc_session))
        .route("/api/v1/auth/config", get(auth::auth_config))
        .route("/api/v1/auth/me", get(auth::me))
        .route("/api/v1/keys", get(auth::my_keys).post(auth::create_my_key))
        .route("/api/v1/keys/{id}", delete(auth::revoke_my_key))
        .route("/api/v1/keys/{id}/rotate", post(auth::rotate_my_key))
        .route(
            "/api/v1/admin/tenants",
            get(auth::admin_tenants).post(auth::admin_tenants),
        )
        .route(
            "/api/v1/admin/users",
            get(auth::admin_users).post(auth::admin_users),
        )
        .route(
            "/api/v1/admin/users/{username}",
            patch(auth::admin_user_patch),
        )
        .route(
            "/api/v1/admin/keys",
            get(auth::admin_keys).post(auth::admin_keys),
        )
        .route("/api/v1/admin/keys/{id}", delete(auth::admin_revoke_key))
        .route(
            "/api/v1/admin/keys/{id}/rotate",
            post(auth::admin_rotate_key),
        )
        .route(
            "/api/v1/admin/tenants/{id}/ip-allowlist",
            put(auth::admin_tenant_ip_allow),
        )
        .route("/api/v1/admin/signing-keys", get(auth::admin_signing_keys))
        .route(
            "/api/v1/admin/signing-keys/rotate",
            post(auth::admin_rotate_signing_key),
        )
        .route(
            "/api/v1/admin/signing-keys/{kid}",
            delete(auth::admin_withdraw_signing_key),
        )
        .route(
            "/api/v1/admin/entitlements",
            get(auth::admin_grants).post(auth::admin_grants),
        )
        .route(
            "/api/v1/admin/entitlements/{id}",
            delete(auth::admin_remove_grant),
        )
        .route("/api/v1/admin/audit", get(auth::admin_audit))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth::gate))
        .layer(middleware::from_fn_with_state(state.clone(), limits))
        .layer(middleware::from_fn_with_state(state.clone(), observe));
    // CORS answers preflights before authentication; none when no origin is configured.
    let router = match security::cors_layer(&state.settings) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    let oidc_origin = state
        .access
        .oidc()
        .and_then(|o| security::origin_of(&o.config().issuer));
    let policies = std::sync::Arc::new(security::Policies::new(
        DOCS_HTML,
        oidc_origin.as_deref(),
        state.settings.secure_cookies,
    ));
    router
        .layer(DefaultBodyLimit::max(state.settings.body_limit_bytes))
        .layer(middleware::from_fn_with_state(policies, security::headers))
        .layer(CatchPanicLayer::custom(security::panicked))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(0);

/// Echoes a sane incoming `X-Request-Id` or makes one; sets it on the response.
async fn request_id(req: Request, next: Next) -> Response {
    let incoming = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string);
    let id = incoming.unwrap_or_else(|| {
        format!(
            "{:x}-{:x}",
            Utc::now().timestamp_micros(),
            REQUEST_SEQ.fetch_add(1, Ordering::Relaxed)
        )
    });
    let resp = next.run(req).await;
    let mut resp = security::finish_withheld(resp, &id);
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// Body size (by `Content-Length`; longer streamed bodies are cut by the
/// body limit) and the request timeout (not for streams). A timeout is a 503:
/// the request was acceptable, the platform was too slow.
async fn limits(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > s.settings.body_limit_bytes) {
        return ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "body_too_large",
            detail: format!(
                "request bodies are limited to {} bytes",
                s.settings.body_limit_bytes
            ),
            param: None,
        }
        .into_response();
    }
    if req.uri().path().starts_with("/api/v1/stream") {
        return next.run(req).await;
    }
    match tokio::time::timeout(crate::timeout(&s.settings), next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "timeout",
            detail: format!(
                "the request took longer than {} s; narrow the query or page through it",
                s.settings.request_timeout_seconds
            ),
            param: None,
        }
        .into_response(),
    }
}

/// Counts every request by route template and status, and times it.
async fn observe(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().as_str().to_string();
    let t = std::time::Instant::now();
    let resp = next.run(req).await;
    s.metrics
        .observe(&method, &route, resp.status().as_u16(), t.elapsed());
    resp
}

/// The OpenAPI document (kept beside the code; a test checks it lists every route).
pub(crate) const OPENAPI: &str = include_str!("../assets/openapi.json");

async fn openapi() -> Response {
    let mut resp = (StatusCode::OK, OPENAPI).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The self-contained API docs page (its inline script and style are allowed by hash).
const DOCS_HTML: &str = include_str!("../assets/docs.html");

async fn docs() -> axum::response::Html<&'static str> {
    axum::response::Html(DOCS_HTML)
}

/// Prometheus text exposition.
async fn metrics(State(s): State<AppState>) -> Response {
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
async fn recent_runs(s: &AppState) -> Vec<carbon_store::IngestRun> {
    s.log
        .runs(RunFilter {
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap_or_default()
}

/// Output encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Parquet,
}

fn format(p: &Params, default: Format, allowed: &[Format]) -> Result<Format, ApiError> {
    let f = match p.one("format") {
        None => default,
        Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some("parquet") => Format::Parquet,
        Some(other) => {
            return Err(ApiError::param(
                "format",
                format!("`{other}`: expected json, csv or parquet"),
            ));
        }
    };
    if allowed.contains(&f) {
        Ok(f)
    } else {
        Err(ApiError::param(
            "format",
            format!("{f:?} is not offered here").to_lowercase(),
        ))
    }
}

/// `format`: `json` (default) or `csv`; true for CSV.
fn wants_csv(p: &Params) -> Result<bool, ApiError> {
    Ok(format(p, Format::Json, &[Format::Json, Format::Csv])? == Format::Csv)
}

/// A CSV body, with the next page's cursor in `X-Next-Cursor` when there is one.
fn csv_response(body: String, next_cursor: Option<&str>) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Some(c) = next_cursor.and_then(|c| HeaderValue::from_str(c).ok()) {
        resp.headers_mut().insert("x-next-cursor", c);
    }
    resp
}

/// Anything else: the web hub for a browser's `GET` outside `/api/`, a 404
/// problem otherwise.
async fn not_found(method: axum::http::Method, uri: Uri) -> Response {
    let api = uri.path().starts_with("/api/") || uri.path().starts_with("/.well-known/");
    if !api && (method == axum::http::Method::GET || method == axum::http::Method::HEAD) {
        return crate::hub::serve(uri).await;
    }
    ApiError::not_found(format!("no route {}", uri.path())).into_response()
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub(crate) use carbon_service::rfc3339;

/// Store reachable, and per source: the last run, the last successful one and
/// how far behind it is.
async fn ready(State(s): State<AppState>) -> Response {
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

/// The markets the caller is entitled to on its channel.
async fn markets(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    let scope = s
        .scope(&who, None, None, Transport::Rest, "/api/v1/markets")
        .await?;
    let data: Vec<_> = Market::ALL
        .iter()
        .filter(|m| scope.sees_market(**m))
        .map(|m| m.info())
        .collect();
    Ok(Json(json!({ "data": data })))
}

/// Whether data of `market` (None: of no one market, such as file runs or
/// rows without an instrument) is visible to `who`: a market with its grants;
/// market-less data to callers who see every market, and to admins.
fn visible(scope: &carbon_auth::Scope, who: &Principal, market: Option<Market>) -> bool {
    match market {
        Some(m) => scope.sees_market(m),
        None => scope.sees_everything() || who.is_admin(),
    }
}

fn limit(p: &Params, default: usize, max: usize) -> Result<usize, ApiError> {
    match p.parsed::<usize>("limit")? {
        None => Ok(default),
        Some(0) => Err(ApiError::param("limit", "must be at least 1")),
        Some(n) if n > max => Err(ApiError::param("limit", format!("at most {max}"))),
        Some(n) => Ok(n),
    }
}

async fn instruments(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(
        uri.query(),
        &["market", "kind", "product", "q", "limit", "cursor"],
    )?;
    if let Some(product) = p.one("product")
        && product != "lmp"
    {
        return Err(ApiError::param(
            "product",
            format!("`{product}`: only `lmp` instruments exist so far"),
        ));
    }
    let market = p.parsed::<Market>("market")?;
    let route = "/api/v1/instruments";
    let scope = s
        .scope(&who, market, Some("lmp"), Transport::Rest, route)
        .await?;
    let want = limit(&p, 1000, 10_000)?;
    // Store pages are filtered to what the caller may see; a caller entitled
    // to a few listed instruments gets them without paging through the rest.
    let mut visible = Vec::new();
    let mut cursor = p.one("cursor").map(str::to_string);
    let mut next_cursor;
    let mut rounds = 0;
    loop {
        let page = s
            .store
            .search_instruments(InstrumentQuery {
                market,
                kind: p.parsed::<LocationKind>("kind")?,
                text: p.one("q").map(str::to_string),
                limit: Some(want),
                cursor: cursor.clone(),
            })
            .await?;
        next_cursor = page.next_cursor.clone();
        for i in page.instruments {
            if visible.len() < want && scope.sees(i.market(), i.id.as_str(), None) {
                visible.push(i);
            }
        }
        rounds += 1;
        if visible.len() >= want || next_cursor.is_none() || rounds >= 50 {
            break;
        }
        cursor = next_cursor.clone();
    }
    let data: Vec<Value> = visible
        .iter()
        .map(|i| {
            json!({
                "id": i.id.as_str(),
                "market": i.market().code(),
                "node": i.id.node(),
                "kind": i.kind.as_str(),
                "name": i.name,
            })
        })
        .collect();
    Ok(Json(json!({ "data": data, "next_cursor": next_cursor })))
}

/// The clock naive times are read on and results are shown in.
#[derive(Debug, Clone, Copy)]
enum Clock {
    /// Each instrument's market clock.
    Market,
    /// UTC.
    Utc,
    /// Any IANA zone.
    Zone(Tz),
}

fn clock(p: &Params) -> Result<Clock, ApiError> {
    Ok(match p.one("timezone") {
        None => Clock::Market,
        Some(t) if t.eq_ignore_ascii_case("market") => Clock::Market,
        Some(t) if t.eq_ignore_ascii_case("utc") => Clock::Utc,
        Some(t) => Clock::Zone(t.parse::<Tz>().map_err(|_| {
            ApiError::param(
                "timezone",
                format!("`{t}` is not `market`, `UTC` or an IANA zone name"),
            )
        })?),
    })
}

/// RFC 3339 as given; a naive time or date on `clock`.
fn read_time(
    name: &str,
    text: &str,
    clock: Clock,
    markets: &[Market],
) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    match clock {
        Clock::Utc => time::parse_instant(text, None),
        Clock::Market => match markets {
            [m] => time::parse_instant(text, Some(*m)),
            _ => {
                return Err(ApiError::param(
                    name,
                    format!(
                        "`{text}` has no UTC offset and the instruments are in several markets; \
                         give an offset or set timezone"
                    ),
                ));
            }
        },
        Clock::Zone(tz) => {
            let naive = [
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%d %H:%M",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .or_else(|| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .map(|d| d.and_time(chrono::NaiveTime::MIN))
            });
            return naive
                .and_then(|n| tz.from_local_datetime(&n).earliest())
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| {
                    ApiError::param(
                        name,
                        format!("`{text}` is not RFC 3339, a date or a time in {tz}"),
                    )
                });
        }
    }
    .map_err(|e| ApiError::param(name, e.to_string()))
}

fn show(t: DateTime<Utc>, clock: Clock, market: Market) -> String {
    let mut out = String::with_capacity(25);
    carbon_core::time::push_rfc3339(&mut out, t, offset_of(t, clock, market));
    out
}

/// The UTC offset (seconds) `clock` shows `t` at.
fn offset_of(t: DateTime<Utc>, clock: Clock, market: Market) -> i32 {
    use chrono::Offset;
    match clock {
        Clock::Utc => 0,
        Clock::Market => t
            .with_timezone(&market.zone())
            .offset()
            .fix()
            .local_minus_utc(),
        Clock::Zone(tz) => t.with_timezone(&tz).offset().fix().local_minus_utc(),
    }
}

const PRICE_PARAMS: [&str; 13] = [
    "instrument_id",
    "start",
    "end",
    "market_run",
    "components",
    "as_of",
    "resample",
    "agg",
    "block",
    "timezone",
    "format",
    "limit",
    "cursor",
];

fn price_query(p: &Params) -> Result<(PriceQuery, Clock), ApiError> {
    let instruments = p.parsed_all::<InstrumentId>("instrument_id")?;
    if instruments.is_empty() {
        return Err(ApiError::param(
            "instrument_id",
            "at least one `instrument_id` is required",
        ));
    }
    let mut markets: Vec<Market> = instruments.iter().map(InstrumentId::market).collect();
    markets.sort();
    markets.dedup();
    let clock = clock(p)?;
    let start = read_time("start", p.required("start")?, clock, &markets)?;
    let end = read_time("end", p.required("end")?, clock, &markets)?;
    if start >= end {
        return Err(ApiError::param(
            "end",
            format!(
                "end {} must be after start {}",
                rfc3339(end),
                rfc3339(start)
            ),
        ));
    }
    let mut q = PriceQuery::new(instruments, start, end);
    q.market_runs = p.parsed_all::<MarketRun>("market_run")?;
    q.components = p.parsed_all::<Component>("components")?;
    q.as_of = p
        .one("as_of")
        .map(|t| read_time("as_of", t, clock, &markets))
        .transpose()?;
    q.block = p.parsed::<Block>("block")?.unwrap_or(Block::Flat);
    let agg = p.parsed::<Aggregation>("agg")?;
    q.resample = match p.parsed::<Frequency>("resample")? {
        Some(freq) => Some(Resample {
            freq,
            agg: agg.unwrap_or(Aggregation::Mean),
        }),
        None if agg.is_some() => {
            return Err(ApiError::param("agg", "`agg` needs `resample`"));
        }
        None => None,
    };
    q.limit = Some(limit(p, DEFAULT_LIMIT, MAX_LIMIT)?);
    q.cursor = p.one("cursor").map(str::to_string);
    Ok((q, clock))
}

fn component(v: Option<f64>) -> Value {
    v.map(Value::from).unwrap_or(Value::Null)
}

fn row_json(r: &PriceRow, clock: Clock) -> Value {
    let m = r.instrument_id.market();
    let v = &r.values;
    json!({
        "instrument_id": r.instrument_id.as_str(),
        "market_run": r.market_run.as_str(),
        "interval_start": show(r.interval_start, clock, m),
        "interval_end": show(r.interval_end, clock, m),
        "interval_start_utc": rfc3339(r.interval_start),
        "interval_end_utc": rfc3339(r.interval_end),
        "lmp": component(v.lmp),
        "energy": component(v.energy),
        "congestion": component(v.congestion),
        "loss": component(v.loss),
        "ghg": component(v.ghg),
        "vintage_utc": r.vintage.map(rfc3339),
        "samples": r.samples,
    })
}

/// A JSON string literal.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    // Ids and run names rarely need escaping: copy them whole.
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_json_num(out: &mut String, v: Option<f64>) {
    match v {
        // Debug gives the shortest round-trip form, as serde_json does.
        Some(x) if x.is_finite() => {
            let _ = write!(out, "{x:?}");
        }
        _ => out.push_str("null"),
    }
}

/// `{"data":[rows…],"next_cursor":…}` written straight into one string: the
/// same document as [`row_json`] per row, without building a `Value` tree
/// (that took two thirds of a one-month query's time).
fn json_rows(rows: &[PriceRow], clock: Clock, next_cursor: Option<&str>) -> Response {
    let mut resp = (StatusCode::OK, json_rows_text(rows, clock, next_cursor)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn json_rows_text(rows: &[PriceRow], clock: Clock, next_cursor: Option<&str>) -> String {
    let mut out = String::with_capacity(64 + rows.len() * 420);
    let mut last_offset: Option<(DateTime<Utc>, Market, i32)> = None;
    out.push_str("{\"data\":[");
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let m = r.instrument_id.market();
        out.push_str("{\"instrument_id\":");
        push_json_str(&mut out, r.instrument_id.as_str());
        out.push_str(",\"market_run\":");
        push_json_str(&mut out, r.market_run.as_str());
        // Consecutive rows share instants (one's end is the next's start):
        // the zone lookup is remembered for the last instant.
        let mut offset = |t: DateTime<Utc>| match last_offset {
            Some((lt, lm, o)) if lt == t && lm == m => o,
            _ => {
                let o = offset_of(t, clock, m);
                last_offset = Some((t, m, o));
                o
            }
        };
        let (os, oe) = (offset(r.interval_start), offset(r.interval_end));
        for (name, t, o) in [
            ("interval_start", r.interval_start, os),
            ("interval_end", r.interval_end, oe),
            ("interval_start_utc", r.interval_start, 0),
            ("interval_end_utc", r.interval_end, 0),
        ] {
            out.push_str(",\"");
            out.push_str(name);
            out.push_str("\":\"");
            carbon_core::time::push_rfc3339(&mut out, t, o);
            out.push('"');
        }
        for c in carbon_core::Component::ALL {
            out.push_str(",\"");
            out.push_str(c.as_str());
            out.push_str("\":");
            push_json_num(&mut out, r.values.get(*c));
        }
        out.push_str(",\"vintage_utc\":");
        match r.vintage {
            Some(t) => {
                out.push('"');
                carbon_core::time::push_rfc3339(&mut out, t, 0);
                out.push('"');
            }
            None => out.push_str("null"),
        }
        out.push_str(",\"samples\":");
        match r.samples {
            Some(n) => {
                let _ = write!(out, "{n}");
            }
            None => out.push_str("null"),
        }
        out.push('}');
    }
    out.push_str("],\"next_cursor\":");
    match next_cursor {
        Some(c) => push_json_str(&mut out, c),
        None => out.push_str("null"),
    }
    out.push('}');
    out
}

/// The CSV columns (the same as `carbon query prices --format csv`).
pub(crate) const CSV_COLUMNS: &str =
    "instrument_id,market_run,interval_start_utc,interval_end_utc,lmp,energy,congestion,loss,ghg";

fn csv_cell(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Asks the policy for each instrument of a price query over its range.
async fn entitle_query(
    s: &AppState,
    who: &Principal,
    q: &PriceQuery,
    transport: Transport,
    route: &str,
) -> Result<(), ApiError> {
    for id in &q.instruments {
        s.entitle_lmp(who, id, Some((q.start, q.end)), transport, route)
            .await?;
    }
    Ok(())
}

fn csv_body(rows: &[PriceRow]) -> String {
    let mut out = String::with_capacity(64 * (rows.len() + 1));
    out.push_str(CSV_COLUMNS);
    out.push('\n');
    push_csv_rows(&mut out, rows);
    out
}

fn push_csv_rows(out: &mut String, rows: &[PriceRow]) {
    for r in rows {
        let v = &r.values;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            r.instrument_id.as_str(),
            r.market_run.as_str(),
            rfc3339(r.interval_start),
            rfc3339(r.interval_end),
            csv_cell(v.lmp),
            csv_cell(v.energy),
            csv_cell(v.congestion),
            csv_cell(v.loss),
            csv_cell(v.ghg),
        ));
    }
}

/// A CSV export of the whole query, streamed: the store is read a page at a
/// time (keyset pagination) and each page is sent as it comes, so memory stays
/// bounded by one page however long the export.
fn csv_stream(s: &AppState, q: PriceQuery) -> Response {
    let store = s.store.clone();
    let page_rows = s.settings.export_page_rows.max(1);
    let pages = futures_util::stream::unfold(Some((q, true)), move |state| {
        let store = store.clone();
        async move {
            let (mut q, first) = state?;
            q.limit = Some(page_rows);
            match store.query_prices(q.clone()).await {
                Ok(page) => {
                    let mut text = String::with_capacity(64 * (page.rows.len() + 1));
                    if first {
                        text.push_str(CSV_COLUMNS);
                        text.push('\n');
                    }
                    push_csv_rows(&mut text, &page.rows);
                    let next = page.next_cursor.map(|c| {
                        q.cursor = Some(c);
                        (q, false)
                    });
                    Some((Ok::<_, std::io::Error>(text), next))
                }
                Err(e) => {
                    // Headers are gone: the only way to say it is to cut the body.
                    tracing::error!(error = %e, "export stream failed");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    let mut resp = axum::body::Body::from_stream(pages).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    resp
}

async fn parquet_response(
    rows: Vec<PriceRow>,
    next_cursor: Option<&str>,
) -> Result<Response, ApiError> {
    let bytes = tokio::task::spawn_blocking(move || carbon_store::export::prices_parquet(&rows))
        .await
        .map_err(|e| ApiError::from(carbon_store::Error::Backend(e.to_string())))??;
    let mut resp = (StatusCode::OK, bytes).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.apache.parquet"),
    );
    if let Some(c) = next_cursor.and_then(|c| HeaderValue::from_str(c).ok()) {
        resp.headers_mut().insert("x-next-cursor", c);
    }
    Ok(resp)
}

async fn prices(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let p = Params::parse(uri.query(), &PRICE_PARAMS)?;
    let fmt = format(
        &p,
        Format::Json,
        &[Format::Json, Format::Csv, Format::Parquet],
    )?;
    let (q, clock) = price_query(&p)?;
    entitle_query(&s, &who, &q, Transport::Rest, "/api/v1/prices").await?;
    let page = s.store.query_prices(q).await?;
    if fmt == Format::Parquet {
        return parquet_response(page.rows, page.next_cursor.as_deref()).await;
    }
    if fmt == Format::Csv {
        return Ok(csv_response(
            csv_body(&page.rows),
            page.next_cursor.as_deref(),
        ));
    }
    Ok(json_rows(&page.rows, clock, page.next_cursor.as_deref()))
}

/// `GET /api/v1/exports/prices`: the price query as a file (CSV by default,
/// or Parquet) — channel `downloads`, rate class `exports`, audited.
async fn export_prices(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let p = Params::parse(uri.query(), &PRICE_PARAMS)?;
    let fmt = format(&p, Format::Csv, &[Format::Csv, Format::Parquet])?;
    let (q, _) = price_query(&p)?;
    let route = "/api/v1/exports/prices";
    entitle_query(&s, &who, &q, Transport::Download, route).await?;
    let ids: Vec<&str> = q.instruments.iter().map(|i| i.as_str()).collect();
    let detail = json!({
        "instruments": ids, "start": rfc3339(q.start), "end": rfc3339(q.end),
        "format": format!("{fmt:?}").to_lowercase(),
    });
    let audit = |rows: Value| {
        let mut d = detail;
        d["rows"] = rows;
        let (s, who) = (s.clone(), who.clone());
        async move {
            s.access
                .audit(
                    &who.actor(),
                    Some(&who.tenant),
                    "export",
                    Some(route),
                    "ok",
                    d,
                )
                .await;
        }
    };
    if fmt == Format::Csv && p.one("limit").is_none() && p.one("cursor").is_none() {
        audit(json!("streamed")).await;
        let mut resp = csv_stream(&s, q);
        resp.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"prices.csv\""),
        );
        return Ok(resp);
    }
    let page = s.store.query_prices(q).await?;
    audit(json!(page.rows.len())).await;
    let (mut resp, name) = if fmt == Format::Parquet {
        (
            parquet_response(page.rows, page.next_cursor.as_deref()).await?,
            "prices.parquet",
        )
    } else {
        (
            csv_response(csv_body(&page.rows), page.next_cursor.as_deref()),
            "prices.csv",
        )
    };
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Ingest runs, newest first.
async fn ingest_runs(
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
async fn quality(
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

/// The newest interval of each requested instrument and market run
/// (`instrument_id` and/or `market`; looks back `lookback_days`, default 7).
async fn latest(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let route = "/api/v1/prices/latest";
    let p = Params::parse(
        uri.query(),
        &[
            "instrument_id",
            "market",
            "market_run",
            "lookback_days",
            "timezone",
        ],
    )?;
    let mut ids = p.parsed_all::<InstrumentId>("instrument_id")?;
    for id in &ids {
        s.entitle_lmp(&who, id, None, Transport::Rest, route)
            .await?;
    }
    if let Some(m) = p.parsed::<Market>("market")? {
        let scope = s
            .scope(&who, Some(m), Some("lmp"), Transport::Rest, route)
            .await?;
        let page = s
            .store
            .search_instruments(InstrumentQuery {
                market: Some(m),
                limit: Some(10_000),
                ..Default::default()
            })
            .await?;
        ids.extend(
            page.instruments
                .into_iter()
                .filter(|i| scope.sees(m, i.id.as_str(), None))
                .map(|i| i.id),
        );
    }
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err(ApiError::param(
            "instrument_id",
            "give `instrument_id` or `market`",
        ));
    }
    let days = p.parsed::<i64>("lookback_days")?.unwrap_or(7);
    if !(1..=366).contains(&days) {
        return Err(ApiError::param("lookback_days", "between 1 and 366"));
    }
    let clock = clock(&p)?;
    let end = Utc::now() + chrono::Duration::days(2);
    let mut q = PriceQuery::new(ids, end - chrono::Duration::days(days + 2), end);
    q.market_runs = p.parsed_all::<MarketRun>("market_run")?;
    let rows = s.store.query_prices(q).await?.rows;
    // Rows are ordered by (instrument, run, start): keep the last of each series.
    let mut data: Vec<Value> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let next_same = rows
            .get(i + 1)
            .is_some_and(|n| n.instrument_id == r.instrument_id && n.market_run == r.market_run);
        if !next_same {
            data.push(row_json(r, clock));
        }
    }
    Ok(Json(json!({ "data": data })))
}

/// `a − b` per interval (or bucket) where both exist: DA−RT (same node, two
/// runs) or node−hub basis (two nodes, one run). Takes the price query's time,
/// resample, block and format parameters.
async fn spread(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let p = Params::parse(
        uri.query(),
        &[
            "a",
            "b",
            "a_market_run",
            "b_market_run",
            "component",
            "start",
            "end",
            "as_of",
            "resample",
            "agg",
            "block",
            "timezone",
            "format",
        ],
    )?;
    let a = p
        .parsed::<InstrumentId>("a")?
        .ok_or_else(|| ApiError::param("a", "`a` (an instrument id) is required"))?;
    let b = p.parsed::<InstrumentId>("b")?.unwrap_or_else(|| a.clone());
    let run_a = p
        .parsed::<MarketRun>("a_market_run")?
        .unwrap_or(MarketRun::Da);
    let run_b = p.parsed::<MarketRun>("b_market_run")?.unwrap_or(run_a);
    if a == b && run_a == run_b {
        return Err(ApiError::param(
            "b",
            "a spread needs two instruments or two market runs (b_market_run)",
        ));
    }
    let component = p
        .parsed::<Component>("component")?
        .unwrap_or(Component::Lmp);
    let csv = wants_csv(&p)?;
    let mut markets = vec![a.market(), b.market()];
    markets.dedup();
    let clock = clock(&p)?;
    let start = read_time("start", p.required("start")?, clock, &markets)?;
    let end = read_time("end", p.required("end")?, clock, &markets)?;
    if start >= end {
        return Err(ApiError::param("end", "end must be after start"));
    }
    let side = |id: &InstrumentId, run: MarketRun| -> Result<PriceQuery, ApiError> {
        let mut q = PriceQuery::new(vec![id.clone()], start, end);
        q.market_runs = vec![run];
        q.as_of = p
            .one("as_of")
            .map(|t| read_time("as_of", t, clock, &markets))
            .transpose()?;
        q.block = p.parsed::<Block>("block")?.unwrap_or(Block::Flat);
        let agg = p.parsed::<Aggregation>("agg")?;
        q.resample = p.parsed::<Frequency>("resample")?.map(|freq| Resample {
            freq,
            agg: agg.unwrap_or(Aggregation::Mean),
        });
        q.limit = Some(MAX_LIMIT);
        Ok(q)
    };
    let qa = side(&a, run_a)?;
    let qb = side(&b, run_b)?;
    for q in [&qa, &qb] {
        entitle_query(&s, &who, q, Transport::Rest, "/api/v1/prices/spread").await?;
    }
    let (ra, rb) = (
        s.store.query_prices(qa).await?.rows,
        s.store.query_prices(qb).await?.rows,
    );
    let by_start: std::collections::HashMap<_, _> =
        rb.iter().map(|r| (r.interval_start, r)).collect();
    let mut rows: Vec<(DateTime<Utc>, DateTime<Utc>, f64, f64)> = Vec::new();
    for x in &ra {
        if let Some(y) = by_start.get(&x.interval_start)
            && let (Some(va), Some(vb)) = (x.values.get(component), y.values.get(component))
        {
            rows.push((x.interval_start, x.interval_end, va, vb));
        }
    }
    if csv {
        let mut out = String::from("interval_start_utc,interval_end_utc,a,b,spread\n");
        for (s0, e0, va, vb) in &rows {
            out.push_str(&format!(
                "{},{},{va},{vb},{}\n",
                rfc3339(*s0),
                rfc3339(*e0),
                va - vb
            ));
        }
        return Ok(csv_response(out, None));
    }
    let m = a.market();
    let data: Vec<Value> = rows
        .iter()
        .map(|(s0, e0, va, vb)| {
            json!({
                "interval_start": show(*s0, clock, m),
                "interval_end": show(*e0, clock, m),
                "interval_start_utc": rfc3339(*s0),
                "interval_end_utc": rfc3339(*e0),
                "a": va, "b": vb, "spread": va - vb,
            })
        })
        .collect();
    Ok(Json(json!({
        "a": { "instrument_id": a.as_str(), "market_run": run_a.as_str() },
        "b": { "instrument_id": b.as_str(), "market_run": run_b.as_str() },
        "component": component.as_str(),
        "data": data,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written JSON of price pages is the document `row_json` builds.
    #[test]
    fn json_rows_text_equals_the_value_tree() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let row = |id: &str, lmp, energy, vintage, samples| PriceRow {
            instrument_id: id.parse().unwrap(),
            market_run: MarketRun::Da,
            interval_start: t("2026-11-01T05:00:00Z"),
            interval_end: t("2026-11-01T06:00:00Z"),
            values: carbon_core::Components {
                lmp,
                energy,
                congestion: Some(-0.7),
                loss: None,
                ghg: Some(1e-7),
            },
            vintage,
            samples,
        };
        let rows = vec![
            row(
                "MISO.INDIANA.HUB",
                Some(39.52),
                Some(40.0),
                Some(t("2026-11-02T00:00:00Z")),
                None,
            ),
            row(
                "CAISO.TH_SP15_GEN-APND",
                None,
                Some(-1234.5678),
                None,
                Some(16),
            ),
            row("MISO.A \"Q\" NODE", Some(1e21), Some(0.1 + 0.2), None, None),
        ];
        for clock in [
            Clock::Market,
            Clock::Utc,
            Clock::Zone(chrono_tz::Europe::Berlin),
        ] {
            for cursor in [None, Some("abc")] {
                let text = json_rows_text(&rows, clock, cursor);
                let parsed: Value = serde_json::from_str(&text).unwrap();
                let built = json!({
                    "data": rows.iter().map(|r| row_json(r, clock)).collect::<Vec<_>>(),
                    "next_cursor": cursor,
                });
                assert_eq!(parsed, built, "{text}");
            }
        }
    }
}
