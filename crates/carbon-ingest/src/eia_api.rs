//! The live path for EIA fundamentals: the EIA v2 API
//! (`https://api.eia.gov/v2/<route>/data/`), one configured series at a time,
//! an API key from the configuration (or `CARBON_EIA_API_KEY`), paged 5,000
//! rows at a time, through the shared [`HttpClient`] (offline switch, spacing,
//! retries, timeouts). Each page is one payload; the runner stores it as one
//! atomic fundamentals batch and records an ingest run.

use carbon_store::{BASE_SCENARIO, FundamentalPoint};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use carbon_store::RunStatus;

use crate::{
    eia::FundamentalFile,
    error::ParseError,
    http::{FetchError, HttpClient},
    runner::{Outcome, Runner, fetch_status},
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

/// `[eia]`: the EIA v2 API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EiaApiConfig {
    /// Base URL of the v2 API.
    pub url: String,
    /// The API key (else env `CARBON_EIA_API_KEY`); without one nothing is fetched.
    pub api_key: Option<String>,
    /// Series to fetch.
    pub series: Vec<EiaSeries>,
    /// Seconds between `carbon serve`'s polls (0: no polling).
    pub every_secs: u64,
    /// Days back each poll asks for (revisions land as new vintages).
    pub poll_days: u32,
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
            every_secs: 6 * 3600,
            poll_days: 14,
        }
    }
}

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

/// The query of one page (keys already percent-encoded: EIA's are bracketed).
pub fn page_query(
    key: &str,
    s: &EiaSeries,
    from: NaiveDate,
    to: NaiveDate,
    offset: usize,
) -> Vec<(&'static str, String)> {
    vec![
        ("api_key", key.to_string()),
        ("frequency", s.frequency.clone()),
        ("data%5B0%5D", "value".into()),
        ("facets%5Bseries%5D%5B%5D", s.series.clone()),
        ("start", from.to_string()),
        ("end", to.to_string()),
        ("sort%5B0%5D%5Bcolumn%5D", "period".into()),
        ("sort%5B0%5D%5Bdirection%5D", "asc".into()),
        ("offset", offset.to_string()),
        ("length", PAGE.to_string()),
    ]
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

fn interval(frequency: &str, period: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let day = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    match frequency {
        "daily" => {
            let d = NaiveDate::parse_from_str(period, "%Y-%m-%d").ok()?;
            Some((day(d)?, day(d + Duration::days(1))?))
        }
        // EIA dates a storage week by its last day (the Friday).
        "weekly" => {
            let d = NaiveDate::parse_from_str(period, "%Y-%m-%d").ok()?;
            Some((day(d - Duration::days(6))?, day(d + Duration::days(1))?))
        }
        "monthly" => {
            let d = NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").ok()?;
            Some((day(d)?, day(carbon_core::time::next_month(d))?))
        }
        "hourly" => {
            let t = chrono::NaiveDateTime::parse_from_str(period, "%Y-%m-%dT%H")
                .ok()?
                .and_utc();
            Some((t, t + Duration::hours(1)))
        }
        _ => None,
    }
}

/// One page of an EIA v2 answer: the points and the total row count the
/// API reports. An `error` answer is a parse error carrying EIA's message.
pub fn parse_page(
    bytes: &[u8],
    source: &str,
    vintage: DateTime<Utc>,
    s: &EiaSeries,
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
    let total = body
        .total
        .and_then(|t| {
            t.as_u64()
                .or_else(|| t.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(body.data.len() as u64) as usize;
    let mut out = FundamentalFile::default();
    for (i, row) in body.data.iter().enumerate() {
        let period = row.get("period").and_then(|v| v.as_str()).ok_or_else(|| {
            ParseError::new(
                source,
                Some(i as u64 + 1),
                Some("period"),
                "missing period".into(),
            )
        })?;
        let (start, end) = interval(&s.frequency, period).ok_or_else(|| {
            ParseError::new(
                source,
                Some(i as u64 + 1),
                Some("period"),
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
                .ok_or_else(|| {
                    ParseError::new(
                        source,
                        Some(i as u64 + 1),
                        Some("value"),
                        format!("`{v}` is not a number"),
                    )
                })?,
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

/// Fetches every page of series `s` for `[from, to]`: (source URL without the
/// key, bytes) per page, or the first fetch error.
pub fn fetch(
    http: &HttpClient,
    cfg: &EiaApiConfig,
    s: &EiaSeries,
    from: NaiveDate,
    to: NaiveDate,
    vintage: DateTime<Utc>,
) -> Result<Vec<(String, FundamentalFile)>, EiaFetchError> {
    let key = cfg.key().ok_or(EiaFetchError::NoKey)?;
    let url = format!(
        "{}/{}/data/",
        cfg.url.trim_end_matches('/'),
        s.route.trim_matches('/')
    );
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let q = page_query(&key, s, from, to, offset);
        let payload = http.get(&url, &q).map_err(EiaFetchError::Fetch)?;
        // The client redacts the key from the source it reports.
        let source = payload.source.clone();
        let (file, total) =
            parse_page(&payload.bytes, &source, vintage, s).map_err(EiaFetchError::Parse)?;
        let rows = file.points.len() + file.missing.values().sum::<u64>() as usize;
        out.push((source, file));
        offset += rows;
        if rows == 0 || offset >= total || out.len() >= 1_000 {
            return Ok(out);
        }
    }
}

/// What syncing one series did.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSync {
    /// The series.
    pub series: EiaSeries,
    /// Points stored (new or revised) and repeated unchanged.
    pub stored: u64,
    /// See `stored`.
    pub unchanged: u64,
    /// Why it failed (recorded as an ingest run of `eia` with this status).
    pub failure: Option<(RunStatus, String)>,
}

/// Fetches every configured series for `[from, to]` and stores each page as
/// one batch (an ingest run of connector `eia`); a series that cannot be
/// fetched is recorded as a failed or unreachable run and the others go on.
/// Without an API key nothing is fetched: [`crate::Error::Plan`].
pub async fn sync(
    runner: &Runner,
    http: Arc<HttpClient>,
    cfg: &EiaApiConfig,
    from: NaiveDate,
    to: NaiveDate,
) -> crate::Result<Vec<SeriesSync>> {
    if cfg.key().is_none() {
        return Err(crate::Error::Plan(EiaFetchError::NoKey.to_string()));
    }
    let mut out = Vec::new();
    for s in &cfg.series {
        let (h, c, series) = (http.clone(), cfg.clone(), s.clone());
        let fetched =
            tokio::task::spawn_blocking(move || fetch(&h, &c, &series, from, to, Utc::now()))
                .await
                .map_err(|e| crate::Error::Internal(format!("EIA fetch task failed: {e}")))?;
        let mut done = SeriesSync {
            series: s.clone(),
            stored: 0,
            unchanged: 0,
            failure: None,
        };
        match fetched {
            Ok(pages) => {
                for (source, file) in pages {
                    if let Outcome::Run(r) =
                        runner.ingest_fundamental_file("eia", source, file).await?
                    {
                        done.stored += r.rows_accepted;
                        done.unchanged += r.rows_unchanged;
                    }
                }
            }
            Err(e) => {
                let status = match &e {
                    EiaFetchError::Fetch(f) => fetch_status(f.kind),
                    _ => RunStatus::Failed,
                };
                let source = format!("{}/{}", cfg.url, s.route);
                runner
                    .record_source_failure("eia", &source, status, e.to_string())
                    .await?;
                done.failure = Some((status, e.to_string()));
            }
        }
        out.push(done);
    }
    Ok(out)
}

/// Why an EIA fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum EiaFetchError {
    /// No API key configured.
    #[error("no EIA API key: set [eia] api_key in carbon.toml or CARBON_EIA_API_KEY")]
    NoKey,
    /// The request failed.
    #[error(transparent)]
    Fetch(FetchError),
    /// The answer was not usable.
    #[error(transparent)]
    Parse(ParseError),
}
