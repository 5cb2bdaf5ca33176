//! Routes and handlers.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::{
    Json, Router,
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, Uri, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use carbon_core::{
    Aggregation, Block, Component, Frequency, InstrumentId, LocationKind, Market, MarketRun, time,
};
use carbon_store::{
    InstrumentQuery, PriceQuery, PriceRow, Resample, RunFilter, RunStatus, StatsFilter,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::{AppState, error::ApiError, params::Params};

/// Rows per price page unless `limit` says otherwise, and the most a page may hold.
const DEFAULT_LIMIT: usize = 10_000;
const MAX_LIMIT: usize = 100_000;

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
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
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
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
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
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

async fn docs() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("../assets/docs.html"))
}

/// Prometheus text exposition.
async fn metrics(State(s): State<AppState>) -> Response {
    use std::fmt::Write as _;
    let mut out = String::new();
    s.metrics.render(&mut out);
    let up = u8::from(s.store.ping().await.is_ok());
    out.push_str(
        "# HELP carbon_store_up Whether the store answers.\n# TYPE carbon_store_up gauge\n",
    );
    let _ = writeln!(
        out,
        "carbon_store_up{{backend=\"{}\"}} {up}",
        s.store.backend()
    );
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

/// `format`: `json` (default) or `csv`; true for CSV.
fn wants_csv(p: &Params) -> Result<bool, ApiError> {
    match p.one("format").unwrap_or("json") {
        "json" => Ok(false),
        "csv" => Ok(true),
        other => Err(ApiError::param(
            "format",
            format!("`{other}`: expected json or csv"),
        )),
    }
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

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route {}", uri.path()))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

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

async fn markets() -> Json<Value> {
    let data: Vec<_> = Market::ALL.iter().map(|m| m.info()).collect();
    Json(json!({ "data": data }))
}

fn limit(p: &Params, default: usize, max: usize) -> Result<usize, ApiError> {
    match p.parsed::<usize>("limit")? {
        None => Ok(default),
        Some(0) => Err(ApiError::param("limit", "must be at least 1")),
        Some(n) if n > max => Err(ApiError::param("limit", format!("at most {max}"))),
        Some(n) => Ok(n),
    }
}

async fn instruments(State(s): State<AppState>, uri: Uri) -> Result<Json<Value>, ApiError> {
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
    let page = s
        .store
        .search_instruments(InstrumentQuery {
            market: p.parsed::<Market>("market")?,
            kind: p.parsed::<LocationKind>("kind")?,
            text: p.one("q").map(str::to_string),
            limit: Some(limit(&p, 1000, 10_000)?),
            cursor: p.one("cursor").map(str::to_string),
        })
        .await?;
    let data: Vec<Value> = page
        .instruments
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
    Ok(Json(
        json!({ "data": data, "next_cursor": page.next_cursor }),
    ))
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
    match clock {
        Clock::Utc => rfc3339(t),
        Clock::Market => t
            .with_timezone(&market.zone())
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        Clock::Zone(tz) => t
            .with_timezone(&tz)
            .to_rfc3339_opts(SecondsFormat::Secs, true),
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

/// The CSV columns (the same as `carbon query prices --format csv`).
pub(crate) const CSV_COLUMNS: &str =
    "instrument_id,market_run,interval_start_utc,interval_end_utc,lmp,energy,congestion,loss,ghg";

fn csv_cell(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

async fn prices(State(s): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let p = Params::parse(uri.query(), &PRICE_PARAMS)?;
    let csv = wants_csv(&p)?;
    let (q, clock) = price_query(&p)?;
    let page = s.store.query_prices(q).await?;
    if csv {
        let mut out = String::with_capacity(64 * (page.rows.len() + 1));
        out.push_str(CSV_COLUMNS);
        out.push('\n');
        for r in &page.rows {
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
        return Ok(csv_response(out, page.next_cursor.as_deref()));
    }
    let data: Vec<Value> = page.rows.iter().map(|r| row_json(r, clock)).collect();
    Ok(Json(json!({ "data": data, "next_cursor": page.next_cursor })).into_response())
}

/// Ingest runs, newest first.
async fn ingest_runs(State(s): State<AppState>, uri: Uri) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(uri.query(), &["connector", "limit"])?;
    let runs = s
        .log
        .runs(RunFilter {
            connector: p.one("connector").map(str::to_string),
            limit: Some(limit(&p, 50, 1000)?),
            ..Default::default()
        })
        .await?;
    Ok(Json(json!({ "data": runs })))
}

/// Data quality: per-run findings and quarantined rows (`run_id`), and
/// freshness per series (`market`).
async fn quality(State(s): State<AppState>, uri: Uri) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(uri.query(), &["run_id", "market", "limit"])?;
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
        .map(|r| json!({ "run_id": r.id, "status": r.status.as_str(), "findings": r.quality }))
        .collect();
    let quarantined = s.log.quarantined(run_id, n).await?;
    let now = Utc::now();
    let freshness: Vec<Value> = s
        .store
        .series_stats(StatsFilter {
            market: p.parsed::<Market>("market")?,
            instruments: Vec::new(),
        })
        .await?
        .into_iter()
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
async fn latest(State(s): State<AppState>, uri: Uri) -> Result<Json<Value>, ApiError> {
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
    if let Some(m) = p.parsed::<Market>("market")? {
        let page = s
            .store
            .search_instruments(InstrumentQuery {
                market: Some(m),
                limit: Some(10_000),
                ..Default::default()
            })
            .await?;
        ids.extend(page.instruments.into_iter().map(|i| i.id));
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
async fn spread(State(s): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
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
