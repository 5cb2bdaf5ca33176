//! Prices: the price query (JSON, CSV, Parquet; any clock; latest or as
//! of; resampled and blocked; paginated), latest prices, spreads and
//! exports.

use std::fmt::Write as _;

use axum::{
    Extension, Json,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use carbon_auth::{Principal, Transport};
use carbon_core::{
    Aggregation, Block, Component, Frequency, InstrumentId, Market, MarketRun, time,
};
use carbon_store::{InstrumentQuery, PriceQuery, PriceRow, Resample};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use carbon_service::rfc3339;

use crate::{
    AppState,
    error::ApiError,
    openapi::{InstrumentIdText, JsonCsvParquet, JsonOrCsv, ZoneName},
    params::{Query, list, parsed, parsed_all, text},
};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(prices))
        .routes(routes!(latest))
        .routes(routes!(spread))
}

use crate::catalog::limit;

/// Rows per price page unless `limit` says otherwise, and the most a page may hold.
pub(crate) const DEFAULT_LIMIT: usize = 10_000;
pub(crate) const MAX_LIMIT: usize = 100_000;

/// Output encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Csv,
    Parquet,
}

pub(crate) fn format(
    v: Option<&str>,
    default: Format,
    allowed: &[Format],
) -> Result<Format, ApiError> {
    let f = match v {
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

/// A CSV body, with the next page's cursor in `X-Next-Cursor` when there is one.
pub(crate) fn csv_response(body: String, next_cursor: Option<&str>) -> Response {
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

/// The clock naive times are read on and results are shown in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Clock {
    /// Each instrument's market clock.
    Market,
    /// UTC.
    Utc,
    /// Any IANA zone.
    Zone(Tz),
}

pub(crate) fn clock(v: Option<&str>) -> Result<Clock, ApiError> {
    Ok(match v {
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
pub(crate) fn read_time(
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

pub(crate) fn show(t: DateTime<Utc>, clock: Clock, market: Market) -> String {
    let mut out = String::with_capacity(25);
    carbon_core::time::push_rfc3339(&mut out, t, offset_of(t, clock, market));
    out
}

/// The UTC offset (seconds) `clock` shows `t` at.
pub(crate) fn offset_of(t: DateTime<Utc>, clock: Clock, market: Market) -> i32 {
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

/// The price query's parameters (`/prices`, `/exports/prices`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PriceParams {
    /// Instruments (`MARKET.NODE`); repeat the parameter or separate with commas.
    #[serde(deserialize_with = "list")]
    #[param(min_items = 1, max_items = 500, value_type = Vec<InstrumentIdText>)]
    pub instrument_id: Vec<String>,
    /// Start of the range (inclusive): RFC 3339, or a date or naive time on
    /// the `timezone` clock.
    #[param(format = DateTime)]
    pub start: String,
    /// End of the range (exclusive), as `start`.
    #[param(format = DateTime)]
    pub end: String,
    /// Market runs (`da`, `rt`, `rt5`, …); all when absent.
    #[serde(default, deserialize_with = "list")]
    #[param(value_type = Vec<carbon_core::MarketRun>)]
    pub market_run: Vec<String>,
    /// Price components (`lmp`, `energy`, `congestion`, `loss`, `ghg`); all when absent.
    #[serde(default, deserialize_with = "list")]
    #[param(value_type = Vec<Component>)]
    pub components: Vec<String>,
    /// The versions known at this instant (point-in-time); the latest when absent.
    #[serde(default)]
    #[param(value_type = Option<String>, format = DateTime)]
    pub as_of: Option<String>,
    /// Resample to this frequency on the market clock.
    #[serde(default)]
    #[param(value_type = Option<Frequency>)]
    pub resample: Option<String>,
    /// How a resampled bucket combines its intervals (needs `resample`; default `mean`).
    #[serde(default)]
    #[param(value_type = Option<Aggregation>)]
    pub agg: Option<String>,
    /// Only the hours of this power block on the market clock (default `flat`).
    #[serde(default)]
    #[param(value_type = Option<Block>)]
    pub block: Option<String>,
    /// The clock of naive times and of the answer: `market` (default), `UTC` or an IANA zone.
    #[serde(default)]
    #[param(value_type = Option<ZoneName>)]
    pub timezone: Option<String>,
    /// `json` (default on /prices), `csv` or `parquet` (exports: `csv` default, or `parquet`).
    #[serde(default)]
    #[param(value_type = Option<JsonCsvParquet>)]
    pub format: Option<String>,
    /// Rows per page (default 10,000).
    #[param(minimum = 1, maximum = 100000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "text")]
    pub cursor: Option<String>,
}

pub(crate) fn price_query(p: &PriceParams) -> Result<(PriceQuery, Clock), ApiError> {
    let instruments = parsed_all::<InstrumentId>("instrument_id", &p.instrument_id)?;
    if instruments.is_empty() {
        return Err(ApiError::param(
            "instrument_id",
            "at least one `instrument_id` is required",
        ));
    }
    let mut markets: Vec<Market> = instruments.iter().map(InstrumentId::market).collect();
    markets.sort();
    markets.dedup();
    let clock = clock(p.timezone.as_deref())?;
    let start = read_time("start", &p.start, clock, &markets)?;
    let end = read_time("end", &p.end, clock, &markets)?;
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
    q.market_runs = parsed_all::<MarketRun>("market_run", &p.market_run)?;
    q.components = parsed_all::<Component>("components", &p.components)?;
    q.as_of = p
        .as_of
        .as_deref()
        .map(|t| read_time("as_of", t, clock, &markets))
        .transpose()?;
    q.block = parsed::<Block>("block", p.block.as_deref())?.unwrap_or(Block::Flat);
    let agg = parsed::<Aggregation>("agg", p.agg.as_deref())?;
    q.resample = match parsed::<Frequency>("resample", p.resample.as_deref())? {
        Some(freq) => Some(Resample {
            freq,
            agg: agg.unwrap_or(Aggregation::Mean),
        }),
        None if agg.is_some() => {
            return Err(ApiError::param("agg", "`agg` needs `resample`"));
        }
        None => None,
    };
    q.limit = Some(limit(p.limit, DEFAULT_LIMIT, MAX_LIMIT)?);
    q.cursor = p.cursor.clone();
    Ok((q, clock))
}

/// One price interval of one instrument and market run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Price {
    /// Instrument (`MARKET.NODE`).
    pub instrument_id: String,
    /// Market run.
    pub market_run: MarketRun,
    /// Interval start on the answer's clock (`timezone`), with its offset.
    pub interval_start: String,
    /// Interval end on the answer's clock.
    pub interval_end: String,
    /// Interval start in UTC.
    pub interval_start_utc: String,
    /// Interval end in UTC.
    pub interval_end_utc: String,
    /// Locational marginal price, $/MWh.
    pub lmp: Option<f64>,
    /// Energy component.
    pub energy: Option<f64>,
    /// Congestion component.
    pub congestion: Option<f64>,
    /// Loss component.
    pub loss: Option<f64>,
    /// Greenhouse-gas component (CAISO).
    pub ghg: Option<f64>,
    /// When this version was published (the vintage), when known.
    pub vintage_utc: Option<String>,
    /// Intervals combined into a resampled bucket.
    pub samples: Option<u32>,
}

/// A page of prices.
#[derive(Serialize, ToSchema)]
pub(crate) struct PricePage {
    /// Intervals ordered by instrument, market run and start.
    pub data: Vec<Price>,
    /// Where the next page starts (`cursor`); null on the last page.
    pub next_cursor: Option<String>,
}

/// Latest prices.
#[derive(Serialize, ToSchema)]
pub(crate) struct LatestPrices {
    /// The newest interval of each instrument and market run.
    pub data: Vec<Price>,
}

pub(crate) fn row_json(r: &PriceRow, clock: Clock) -> Price {
    let m = r.instrument_id.market();
    let v = &r.values;
    Price {
        instrument_id: r.instrument_id.as_str().to_string(),
        market_run: r.market_run,
        interval_start: show(r.interval_start, clock, m),
        interval_end: show(r.interval_end, clock, m),
        interval_start_utc: rfc3339(r.interval_start),
        interval_end_utc: rfc3339(r.interval_end),
        lmp: v.lmp.filter(|x| x.is_finite()),
        energy: v.energy.filter(|x| x.is_finite()),
        congestion: v.congestion.filter(|x| x.is_finite()),
        loss: v.loss.filter(|x| x.is_finite()),
        ghg: v.ghg.filter(|x| x.is_finite()),
        vintage_utc: r.vintage.map(rfc3339),
        samples: r.samples,
    }
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

pub(crate) fn push_json_num(out: &mut String, v: Option<f64>) {
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
pub(crate) fn json_rows(rows: &[PriceRow], clock: Clock, next_cursor: Option<&str>) -> Response {
    let mut resp = (StatusCode::OK, json_rows_text(rows, clock, next_cursor)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

pub(crate) fn json_rows_text(rows: &[PriceRow], clock: Clock, next_cursor: Option<&str>) -> String {
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
pub(crate) const CSV_COLUMNS: &str = carbon_store::export::PRICES_CSV_COLUMNS;

/// Asks the policy for each instrument of a price query over its range.
pub(crate) async fn entitle_query(
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

pub(crate) fn csv_body(rows: &[PriceRow]) -> String {
    let mut out = String::with_capacity(64 * (rows.len() + 1));
    out.push_str(CSV_COLUMNS);
    out.push('\n');
    push_csv_rows(&mut out, rows);
    out
}

pub(crate) fn push_csv_rows(out: &mut String, rows: &[PriceRow]) {
    carbon_store::export::push_prices_csv(out, rows);
}

pub(crate) async fn parquet_response(
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

/// Prices: latest or as of an instant, resampled and blocked on the market
/// clock, shown on any clock, paginated; JSON, CSV or Parquet.
#[utoipa::path(get, path = "/api/v1/prices", tag = "prices", params(PriceParams),
    responses((status = 200, description = "A page of prices (CSV and Parquet carry the next cursor in `X-Next-Cursor`)",
        content((PricePage = "application/json"), (String = "text/csv"), (Vec<u8> = "application/vnd.apache.parquet")))))]
pub(crate) async fn prices(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<PriceParams>,
) -> Result<Response, ApiError> {
    let fmt = format(
        p.format.as_deref(),
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

/// Latest-price parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct LatestParams {
    /// Instruments (`MARKET.NODE`); give these and/or `market`.
    #[serde(default, deserialize_with = "list")]
    #[param(max_items = 500, value_type = Vec<InstrumentIdText>)]
    instrument_id: Vec<String>,
    /// Every instrument of this market the caller may see.
    #[serde(default)]
    #[param(value_type = Option<Market>)]
    market: Option<String>,
    /// Market runs; all when absent.
    #[serde(default, deserialize_with = "list")]
    #[param(value_type = Vec<carbon_core::MarketRun>)]
    market_run: Vec<String>,
    /// How far back to look (days, default 7).
    #[param(minimum = 1, maximum = 366)]
    lookback_days: Option<u32>,
    /// The clock of the answer: `market` (default), `UTC` or an IANA zone.
    #[serde(default)]
    #[param(value_type = Option<ZoneName>)]
    timezone: Option<String>,
}

/// The newest interval of each requested instrument and market run
/// (`instrument_id` and/or `market`; looks back `lookback_days`, default 7).
#[utoipa::path(get, path = "/api/v1/prices/latest", tag = "prices", params(LatestParams),
    responses((status = 200, description = "Latest prices", body = LatestPrices)))]
pub(crate) async fn latest(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<LatestParams>,
) -> Result<Json<LatestPrices>, ApiError> {
    let route = "/api/v1/prices/latest";
    let mut ids = parsed_all::<InstrumentId>("instrument_id", &p.instrument_id)?;
    for id in &ids {
        s.entitle_lmp(&who, id, None, Transport::Rest, route)
            .await?;
    }
    if let Some(m) = parsed::<Market>("market", p.market.as_deref())? {
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
    let days = i64::from(p.lookback_days.unwrap_or(7));
    if !(1..=366).contains(&days) {
        return Err(ApiError::param("lookback_days", "between 1 and 366"));
    }
    let clock = clock(p.timezone.as_deref())?;
    let end = Utc::now() + chrono::Duration::days(2);
    let mut q = PriceQuery::new(ids, end - chrono::Duration::days(days + 2), end);
    q.market_runs = parsed_all::<MarketRun>("market_run", &p.market_run)?;
    let rows = s.store.query_prices(q).await?.rows;
    // Rows are ordered by (instrument, run, start): keep the last of each series.
    let mut data: Vec<Price> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let next_same = rows
            .get(i + 1)
            .is_some_and(|n| n.instrument_id == r.instrument_id && n.market_run == r.market_run);
        if !next_same {
            data.push(row_json(r, clock));
        }
    }
    Ok(Json(LatestPrices { data }))
}

/// Spread parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SpreadParams {
    /// The first leg's instrument.
    #[param(value_type = InstrumentIdText)]
    a: String,
    /// The second leg's instrument (default: `a`, for a spread between runs).
    #[serde(default, deserialize_with = "text")]
    #[param(value_type = Option<InstrumentIdText>)]
    b: Option<String>,
    /// The first leg's market run (default `da`).
    #[serde(default)]
    #[param(value_type = Option<MarketRun>)]
    a_market_run: Option<String>,
    /// The second leg's market run (default: `a_market_run`).
    #[serde(default)]
    #[param(value_type = Option<MarketRun>)]
    b_market_run: Option<String>,
    /// The component compared (default `lmp`).
    #[serde(default)]
    #[param(value_type = Option<Component>)]
    component: Option<String>,
    /// Start of the range, as for /prices.
    #[param(format = DateTime)]
    start: String,
    /// End of the range, as for /prices.
    #[param(format = DateTime)]
    end: String,
    /// Versions known at this instant.
    #[serde(default)]
    #[param(value_type = Option<String>, format = DateTime)]
    as_of: Option<String>,
    /// Resample both legs to this frequency.
    #[serde(default)]
    #[param(value_type = Option<Frequency>)]
    resample: Option<String>,
    /// How buckets combine (default `mean`).
    #[serde(default)]
    #[param(value_type = Option<Aggregation>)]
    agg: Option<String>,
    /// Only this power block's hours.
    #[serde(default)]
    #[param(value_type = Option<Block>)]
    block: Option<String>,
    /// The clock of naive times and of the answer.
    #[serde(default)]
    #[param(value_type = Option<ZoneName>)]
    timezone: Option<String>,
    /// `json` (default) or `csv`.
    #[serde(default)]
    #[param(value_type = Option<JsonOrCsv>)]
    format: Option<String>,
}

/// One leg of a spread.
#[derive(Serialize, ToSchema)]
pub(crate) struct Leg {
    /// Instrument.
    instrument_id: String,
    /// Market run.
    market_run: MarketRun,
}

/// The spread of one interval or bucket.
#[derive(Serialize, ToSchema)]
pub(crate) struct SpreadPoint {
    /// Start on the answer's clock.
    interval_start: String,
    /// End on the answer's clock.
    interval_end: String,
    /// Start in UTC.
    interval_start_utc: String,
    /// End in UTC.
    interval_end_utc: String,
    /// Leg a's value.
    a: f64,
    /// Leg b's value.
    b: f64,
    /// a − b.
    spread: f64,
}

/// A spread.
#[derive(Serialize, ToSchema)]
pub(crate) struct Spread {
    /// Leg a.
    a: Leg,
    /// Leg b.
    b: Leg,
    /// The component compared.
    component: Component,
    /// Where both legs have a value.
    data: Vec<SpreadPoint>,
}

/// `a − b` per interval (or bucket) where both exist: DA−RT (same node, two
/// runs) or node−hub basis (two nodes, one run). Takes the price query's time,
/// resample, block and format parameters.
#[utoipa::path(get, path = "/api/v1/prices/spread", tag = "prices", params(SpreadParams),
    responses((status = 200, description = "The spread per interval or bucket",
        content((Spread = "application/json"), (String = "text/csv")))))]
pub(crate) async fn spread(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(p): Query<SpreadParams>,
) -> Result<Response, ApiError> {
    let a =
        InstrumentId::parse(&p.a).map_err(|e| ApiError::param("a", format!("`{}`: {e}", p.a)))?;
    let b = parsed::<InstrumentId>("b", p.b.as_deref())?.unwrap_or_else(|| a.clone());
    let run_a =
        parsed::<MarketRun>("a_market_run", p.a_market_run.as_deref())?.unwrap_or(MarketRun::Da);
    let run_b = parsed::<MarketRun>("b_market_run", p.b_market_run.as_deref())?.unwrap_or(run_a);
    if a == b && run_a == run_b {
        return Err(ApiError::param(
            "b",
            "a spread needs two instruments or two market runs (b_market_run)",
        ));
    }
    let component =
        parsed::<Component>("component", p.component.as_deref())?.unwrap_or(Component::Lmp);
    let csv = format(
        p.format.as_deref(),
        Format::Json,
        &[Format::Json, Format::Csv],
    )? == Format::Csv;
    let mut markets = vec![a.market(), b.market()];
    markets.dedup();
    let clock = clock(p.timezone.as_deref())?;
    let start = read_time("start", &p.start, clock, &markets)?;
    let end = read_time("end", &p.end, clock, &markets)?;
    if start >= end {
        return Err(ApiError::param("end", "end must be after start"));
    }
    let side = |id: &InstrumentId, run: MarketRun| -> Result<PriceQuery, ApiError> {
        let mut q = PriceQuery::new(vec![id.clone()], start, end);
        q.market_runs = vec![run];
        q.as_of = p
            .as_of
            .as_deref()
            .map(|t| read_time("as_of", t, clock, &markets))
            .transpose()?;
        q.block = parsed::<Block>("block", p.block.as_deref())?.unwrap_or(Block::Flat);
        let agg = parsed::<Aggregation>("agg", p.agg.as_deref())?;
        q.resample = parsed::<Frequency>("resample", p.resample.as_deref())?.map(|freq| Resample {
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
    let data = rows
        .iter()
        .map(|(s0, e0, va, vb)| SpreadPoint {
            interval_start: show(*s0, clock, m),
            interval_end: show(*e0, clock, m),
            interval_start_utc: rfc3339(*s0),
            interval_end_utc: rfc3339(*e0),
            a: *va,
            b: *vb,
            spread: va - vb,
        })
        .collect();
    Ok(Json(Spread {
        a: Leg {
            instrument_id: a.as_str().to_string(),
            market_run: run_a,
        },
        b: Leg {
            instrument_id: b.as_str().to_string(),
            market_run: run_b,
        },
        component,
        data,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

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
