//! The EIA v2 API (`https://api.eia.gov/v2/<route>/data/`) as a connector on
//! the same SDK as MISO and CAISO: [`EiaConnector`] plans one request per
//! configured series and window (a calendar year of daily, weekly or monthly
//! periods, a month of hourly ones; a poll asks for the last `poll_days`),
//! fetches every page of it (5,000 rows each) through the shared
//! [`HttpClient`] (offline switch, spacing, retries, timeouts) and hands the
//! runner one payload per request, so a request is stored as **one atomic
//! fundamentals batch** (a page that fails stores nothing of the request) and
//! recorded as one ingest run of connector `eia`. Windows that ended more than
//! `poll_days` ago settle: a resumed backfill skips them by checkpoint.
//!
//! The API key comes from the configuration (or `CARBON_EIA_API_KEY`); it is
//! added when fetching, never put on a [`Request`] (requests are printed and
//! recorded), and the HTTP client redacts it from every source it reports.

use std::sync::Arc;

use carbon_core::{Instrument, Market, MarketRun};
use carbon_store::{BASE_SCENARIO, FundamentalPoint};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    connector::{Connector, FundamentalSeries, PollJob, Request, Wants},
    detect::SourceHint,
    eia::FundamentalFile,
    error::{Error, ParseError, Result},
    http::{FetchError, FetchErrorKind, HttpClient},
    parsed::Parsed,
    runner::{Content, Payload},
};

/// One EIA v2 series and how it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EiaSeries {
    /// API route, e.g. `natural-gas/pri/fut`.
    pub route: String,
    /// `daily`, `weekly`, `monthly`, `hourly`.
    pub frequency: String,
    /// The `series` facet, e.g. `RNGWHHD`.
    pub series: String,
    /// Stored as this entity…
    pub entity: String,
    /// …variable…
    pub variable: String,
    /// …and unit.
    pub unit: String,
}

impl EiaSeries {
    /// How its points are stored.
    pub fn meta(&self) -> FundamentalSeries {
        FundamentalSeries {
            source_id: self.series.clone(),
            frequency: self.frequency.clone(),
            entity: self.entity.clone(),
            variable: self.variable.clone(),
            unit: self.unit.clone(),
        }
    }
}

/// `[eia]`: the EIA v2 API connector (`eia`; its poll job is `fundamentals`
/// in `[schedule]`). Its `Debug` and serialized forms never carry the key.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EiaApiConfig {
    /// Base URL of the v2 API.
    pub url: String,
    /// The API key (else env `CARBON_EIA_API_KEY`); without one nothing is fetched.
    #[serde(skip_serializing)]
    pub api_key: Option<String>,
    /// Series to fetch.
    pub series: Vec<EiaSeries>,
    /// Days back each poll asks for (revisions land as new vintages); older
    /// windows are final for a backfill.
    pub poll_days: u32,
    /// Seconds between two requests to the API.
    pub spacing_secs: f64,
}

impl Default for EiaApiConfig {
    fn default() -> Self {
        Self {
            url: "https://api.eia.gov/v2".into(),
            api_key: None,
            series: vec![
                EiaSeries {
                    route: "natural-gas/pri/fut".into(),
                    frequency: "daily".into(),
                    series: "RNGWHHD".into(),
                    entity: "Henry Hub".into(),
                    variable: "spot_price".into(),
                    unit: "USD/MMBtu".into(),
                },
                EiaSeries {
                    route: "natural-gas/stor/wkly".into(),
                    frequency: "weekly".into(),
                    series: "NW2_EPG0_SWO_R48_BCF".into(),
                    entity: "Total Lower 48".into(),
                    variable: "storage".into(),
                    unit: "Bcf".into(),
                },
            ],
            poll_days: 14,
            spacing_secs: 0.5,
        }
    }
}

impl std::fmt::Debug for EiaApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EiaApiConfig")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("series", &self.series)
            .field("poll_days", &self.poll_days)
            .field("spacing_secs", &self.spacing_secs)
            .finish()
    }
}

/// What a missing key says.
pub const NO_KEY: &str = "no EIA API key: set [eia] api_key in carbon.toml or CARBON_EIA_API_KEY";

impl EiaApiConfig {
    /// The key from the configuration, else from `CARBON_EIA_API_KEY`.
    pub fn key(&self) -> Option<String> {
        self.api_key.clone().filter(|k| !k.is_empty()).or_else(|| {
            std::env::var("CARBON_EIA_API_KEY")
                .ok()
                .filter(|k| !k.is_empty())
        })
    }
}

/// Rows per page (the API's maximum).
pub const PAGE: usize = 5_000;

/// Pages one request may take before it is refused as too large.
const MAX_PAGES: usize = 1_000;

/// How the API reads a `start`/`end` bound of a frequency.
fn bound(frequency: &str, d: NaiveDate, end: bool) -> String {
    match frequency {
        "monthly" => d.format("%Y-%m").to_string(),
        "hourly" => format!("{}T{}", d.format("%Y-%m-%d"), if end { "23" } else { "00" }),
        _ => d.to_string(),
    }
}

/// The query of a series over `[from, to]`, without key and paging (keys
/// already percent-encoded: EIA's are bracketed).
pub fn series_query(s: &EiaSeries, from: NaiveDate, to: NaiveDate) -> Vec<(String, String)> {
    [
        ("frequency", s.frequency.clone()),
        ("data%5B0%5D", "value".into()),
        ("facets%5Bseries%5D%5B%5D", s.series.clone()),
        ("start", bound(&s.frequency, from, false)),
        ("end", bound(&s.frequency, to, true)),
        ("sort%5B0%5D%5Bcolumn%5D", "period".into()),
        ("sort%5B0%5D%5Bdirection%5D", "asc".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[derive(Deserialize)]
struct Envelope {
    response: Option<Body>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Body {
    total: Option<serde_json::Value>,
    data: Vec<serde_json::Map<String, serde_json::Value>>,
}

fn total_of(v: Option<&serde_json::Value>) -> Option<usize> {
    let v = v?;
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .map(|t| t as usize)
}

fn day(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

fn interval(frequency: &str, period: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    match frequency {
        "daily" => {
            let d = NaiveDate::parse_from_str(period, "%Y-%m-%d").ok()?;
            Some((day(d), day(d + Duration::days(1))))
        }
        // EIA dates a storage week by its last day (the Friday).
        "weekly" => {
            let d = NaiveDate::parse_from_str(period, "%Y-%m-%d").ok()?;
            Some((day(d - Duration::days(6)), day(d + Duration::days(1))))
        }
        "monthly" => {
            let d = NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").ok()?;
            Some((day(d), day(carbon_core::time::next_month(d))))
        }
        "hourly" => {
            let t =
                chrono::NaiveDateTime::parse_from_str(&format!("{period}:00"), "%Y-%m-%dT%H:%M")
                    .ok()?
                    .and_utc();
            Some((t, t + Duration::hours(1)))
        }
        _ => None,
    }
}

/// The frequencies a series may have.
pub const FREQUENCIES: [&str; 4] = ["hourly", "daily", "weekly", "monthly"];

/// One EIA v2 answer (a page, or a request's pages put together): the points
/// and the total row count the API reports. An `error` answer is a parse
/// error carrying EIA's message; a row is named by its 1-based position.
pub fn parse_page(
    bytes: &[u8],
    source: &str,
    vintage: DateTime<Utc>,
    s: &FundamentalSeries,
) -> Result<(FundamentalFile, usize), ParseError> {
    let bad = |msg: String| ParseError::new(source, None, None, msg);
    let env: Envelope = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("not an EIA v2 JSON answer: {e}")))?;
    if let Some(e) = env.error {
        return Err(bad(format!(
            "EIA answered with an error: {}",
            e.as_str().map_or(e.to_string(), str::to_string)
        )));
    }
    let body = env
        .response
        .ok_or_else(|| bad("no `response` in the answer".into()))?;
    let total = total_of(body.total.as_ref()).unwrap_or(body.data.len());
    let mut out = FundamentalFile::default();
    for (i, row) in body.data.iter().enumerate() {
        let at = |field: &'static str, msg: String| {
            ParseError::new(source, Some(i as u64 + 1), Some(field), msg)
        };
        let period = row
            .get("period")
            .and_then(|v| v.as_str())
            .ok_or_else(|| at("period", "missing period".into()))?;
        let (start, end) = interval(&s.frequency, period).ok_or_else(|| {
            at(
                "period",
                format!("`{period}` is not a {} period", s.frequency),
            )
        })?;
        let value = match row.get("value") {
            None | Some(serde_json::Value::Null) => {
                *out.missing.entry("value".into()).or_default() += 1;
                continue;
            }
            Some(v) => v
                .as_f64()
                .or_else(|| v.as_str().and_then(|t| t.trim().parse().ok()))
                .filter(|x: &f64| x.is_finite())
                .ok_or_else(|| at("value", format!("`{v}` is not a number")))?,
        };
        out.points.push(FundamentalPoint {
            entity: s.entity.clone(),
            variable: s.variable.clone(),
            interval_start: start,
            interval_end: end,
            value,
            unit: s.unit.clone(),
            source: source.to_string(),
            vintage,
            scenario_id: BASE_SCENARIO.into(),
        });
    }
    Ok((out, total))
}

/// The EIA v2 API connector.
#[derive(Debug)]
pub struct EiaConnector {
    config: EiaApiConfig,
    http: Arc<HttpClient>,
}

impl EiaConnector {
    /// A connector fetching through `http`.
    pub fn new(config: EiaApiConfig, http: Arc<HttpClient>) -> Self {
        Self { config, http }
    }

    /// The request of series `s` over the periods dated `[from, to]`.
    fn request(&self, s: &EiaSeries, from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Request {
        let start =
            interval(&s.frequency, &bound(&s.frequency, from, false)).map_or(day(from), |(a, _)| a);
        let end = interval(&s.frequency, &bound(&s.frequency, to, true))
            .map_or(day(to + Duration::days(1)), |(_, b)| b);
        Request {
            key: format!("eia/{}/{from}..{to}", s.series),
            url: format!(
                "{}/{}/data/",
                self.config.url.trim_end_matches('/'),
                s.route.trim_matches('/')
            ),
            query: series_query(s, from, to),
            wants: Wants::Fundamentals(s.meta()),
            window_start: start,
            window_end: end,
            // Past the revision window a period's value is final.
            settles: to + Duration::days(i64::from(self.config.poll_days)) < today,
        }
    }

    /// The next page of `request` from `offset`.
    fn page(&self, request: &Request, key: &str, offset: usize) -> Result<Payload, FetchError> {
        let mut q = request.query_pairs();
        q.push(("api_key", key.to_string()));
        q.push(("offset", offset.to_string()));
        q.push(("length", PAGE.to_string()));
        self.http.get(&request.url, &q)
    }
}

/// Chunks of `[from, to]` one request each: calendar years, or months for
/// hourly series.
fn chunks(frequency: &str, from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut a = from;
    while a <= to {
        let next = if frequency == "hourly" {
            carbon_core::time::next_month(a.with_day(1).unwrap_or(a))
        } else {
            NaiveDate::from_ymd_opt(a.year() + 1, 1, 1).unwrap_or(to + Duration::days(1))
        };
        let b = (next - Duration::days(1)).min(to);
        out.push((a, b));
        a = next;
    }
    out
}

impl Connector for EiaConnector {
    fn name(&self) -> &str {
        "eia"
    }

    fn market(&self) -> Option<Market> {
        None
    }

    fn hint(&self) -> SourceHint {
        SourceHint::Eia
    }

    fn missing_credentials(&self) -> Option<String> {
        self.config.key().is_none().then(|| NO_KEY.to_string())
    }

    fn locations(&self) -> Vec<Instrument> {
        Vec::new()
    }

    fn market_runs(&self) -> Vec<MarketRun> {
        Vec::new()
    }

    fn plan_backfill(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        runs: &[MarketRun],
    ) -> Result<Vec<Request>> {
        if !runs.is_empty() {
            return Err(Error::Plan(
                "eia has no market runs: it fetches the [eia] series".into(),
            ));
        }
        if self.config.series.is_empty() {
            return Err(Error::Plan(
                "eia: no series configured ([eia] series)".into(),
            ));
        }
        for (i, s) in self.config.series.iter().enumerate() {
            if !FREQUENCIES.contains(&s.frequency.as_str()) {
                return Err(Error::Plan(format!(
                    "eia.series[{i}].frequency: {:?} is not one of {}",
                    s.frequency,
                    FREQUENCIES.join(", ")
                )));
            }
        }
        let today = Utc::now().date_naive();
        Ok(self
            .config
            .series
            .iter()
            .flat_map(|s| {
                chunks(&s.frequency, from, to)
                    .into_iter()
                    .map(move |(a, b)| self.request(s, a, b, today))
            })
            .collect())
    }

    fn plan_poll(&self, job: PollJob, now: DateTime<Utc>) -> Vec<Request> {
        if job != PollJob::Fundamentals {
            return Vec::new();
        }
        let today = now.date_naive();
        let from = today - Duration::days(i64::from(self.config.poll_days.max(1)));
        self.config
            .series
            .iter()
            .filter(|s| FREQUENCIES.contains(&s.frequency.as_str()))
            .map(|s| self.request(s, from, today, today))
            .collect()
    }

    fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Every page of the request, put together as one answer: a request is
    /// stored whole or not at all. An answer that is not a page of rows
    /// (EIA's error message) is handed on as it is, for the parser to report.
    fn fetch(&self, request: &Request) -> Result<Payload, FetchError> {
        let key = self.config.key().ok_or_else(|| FetchError {
            url: request.full_url(),
            kind: FetchErrorKind::Other,
            message: NO_KEY.into(),
            attempts: 0,
        })?;
        let mut rows: Vec<serde_json::Value> = Vec::new();
        let mut first: Option<Payload> = None;
        for _ in 0..MAX_PAGES {
            let page = self.page(request, &key, rows.len())?;
            let body = serde_json::from_slice::<serde_json::Value>(&page.bytes)
                .ok()
                .and_then(|mut v| v.get_mut("response").map(serde_json::Value::take))
                .filter(|r| r.get("data").is_some_and(|d| d.is_array()));
            let Some(mut body) = body else {
                return Ok(Payload {
                    source: request.full_url(),
                    ..page
                });
            };
            let total = total_of(body.get("total"));
            let data = match body.get_mut("data").map(serde_json::Value::take) {
                Some(serde_json::Value::Array(d)) => d,
                _ => Vec::new(),
            };
            let got = data.len();
            rows.extend(data);
            let first = first.get_or_insert(page);
            if got == 0 || total.is_none_or(|t| rows.len() >= t) {
                let joined = serde_json::json!({
                    "response": { "total": rows.len(), "data": rows }
                });
                return Ok(Payload {
                    source: request.full_url(),
                    bytes: serde_json::to_vec(&joined).unwrap_or_default(),
                    fetched_at: first.fetched_at,
                    published_at: first.published_at,
                });
            }
        }
        Err(FetchError {
            url: request.full_url(),
            kind: FetchErrorKind::Other,
            message: format!("more than {MAX_PAGES} pages of {PAGE} rows: ask for a shorter range"),
            attempts: MAX_PAGES as u32,
        })
    }

    fn restrict(&self, _parsed: &mut Parsed) {}

    fn parse(&self, request: &Request, payload: &Payload) -> Result<Content> {
        let Wants::Fundamentals(series) = &request.wants else {
            return Err(Error::Plan(format!(
                "{}: not a fundamentals request",
                request.key
            )));
        };
        let (file, _) = parse_page(&payload.bytes, &payload.source, payload.vintage(), series)?;
        Ok(Content::Fundamentals(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_read_as_utc_intervals() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            interval("hourly", "2024-03-10T07"),
            Some((t("2024-03-10T07:00:00Z"), t("2024-03-10T08:00:00Z")))
        );
        // Week ending Friday 2024-04-12: Saturday 6th to Saturday 13th.
        assert_eq!(
            interval("weekly", "2024-04-12"),
            Some((t("2024-04-06T00:00:00Z"), t("2024-04-13T00:00:00Z")))
        );
        assert_eq!(
            interval("monthly", "2024-02"),
            Some((t("2024-02-01T00:00:00Z"), t("2024-03-01T00:00:00Z")))
        );
        assert_eq!(interval("daily", "2024-02-30"), None);
        assert_eq!(interval("yearly", "2024"), None);
    }

    #[test]
    fn ranges_split_by_year_or_by_month_for_hourly_series() {
        assert_eq!(
            chunks("daily", d("2023-11-15"), d("2025-02-01")),
            vec![
                (d("2023-11-15"), d("2023-12-31")),
                (d("2024-01-01"), d("2024-12-31")),
                (d("2025-01-01"), d("2025-02-01")),
            ]
        );
        assert_eq!(
            chunks("hourly", d("2024-01-31"), d("2024-03-01")),
            vec![
                (d("2024-01-31"), d("2024-01-31")),
                (d("2024-02-01"), d("2024-02-29")),
                (d("2024-03-01"), d("2024-03-01")),
            ]
        );
        assert_eq!(
            chunks("weekly", d("2024-05-05"), d("2024-05-05")),
            vec![(d("2024-05-05"), d("2024-05-05"))]
        );
    }

    #[test]
    fn the_key_is_never_printed_nor_serialized() {
        let cfg = EiaApiConfig {
            api_key: Some("secret-key-42".into()),
            ..EiaApiConfig::default()
        };
        assert!(!format!("{cfg:?}").contains("secret-key-42"));
        assert!(
            !serde_json::to_string(&cfg)
                .unwrap()
                .contains("secret-key-42")
        );
        assert_eq!(cfg.key().as_deref(), Some("secret-key-42"));
    }

    #[test]
    fn bounds_follow_the_frequency() {
        assert_eq!(bound("monthly", d("2024-03-15"), false), "2024-03");
        assert_eq!(bound("hourly", d("2024-03-15"), true), "2024-03-15T23");
        assert_eq!(bound("weekly", d("2024-03-15"), true), "2024-03-15");
    }
}
