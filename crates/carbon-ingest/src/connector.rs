//! The connector SDK.
//!
//! A connector is built from its serde config ([`ConnectorConfig::build`], the
//! pattern of vector's `SourceConfig::build`) and turns *what to fetch* into
//! [`Request`]s: a backfill plans requests for market days, a poll job plans the
//! few requests that may hold new data now. Each request knows its URL, its
//! window, what a complete answer should contain ([`Expected`]) and whether the
//! answer is final (so a resumed backfill or the next poll skips it). Fetching
//! goes through the shared [`HttpClient`]; parsing, data quality, the atomic
//! store write and the bus are the [`crate::runner::Runner`]'s job.
//!
//! A request asks for ISO prices of one market run ([`Wants::Prices`]) or for
//! one fundamentals series ([`Wants::Fundamentals`], the EIA v2 API): both run
//! through the same plan → fetch → checkpoint → run-log path.

use std::{sync::Arc, time::Duration};

use carbon_core::{Instrument, InstrumentId, LocationKind, Market, MarketRun};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    caiso::connector::{CaisoConfig, CaisoConnector},
    detect::SourceHint,
    eia_api::{EiaApiConfig, EiaConnector},
    error::Result,
    http::{FetchError, HttpClient, HttpConfig},
    miso::connector::{MisoConfig, MisoConnector},
    parsed::Parsed,
    runner::{Content, Payload, Runner},
};

/// What a complete answer to a request holds, per node and market run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// Intervals per node and run (e.g. 24 for a DA day, 23 on spring-forward).
    pub intervals_per_node: usize,
    /// The nodes asked for, when the request names them (`None`: every node).
    pub nodes: Option<Vec<String>>,
}

/// How a fundamentals series is stored: the names its points get and the
/// period its source dates them by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundamentalSeries {
    /// The source's own series id (EIA `RNGWHHD`).
    pub source_id: String,
    /// `daily`, `weekly`, `monthly` or `hourly`: how a period reads.
    pub frequency: String,
    /// Stored as this entity…
    pub entity: String,
    /// …variable…
    pub variable: String,
    /// …and unit.
    pub unit: String,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Wants {
    /// ISO prices of one market run.
    Prices {
        /// Market run asked for.
        market_run: MarketRun,
        /// What a complete answer holds.
        expected: Expected,
    },
    /// One fundamentals series.
    Fundamentals(FundamentalSeries),
}

/// One fetch a connector wants made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Stable identity, used as checkpoint name once the answer is final
    /// (`miso/da/2026-10-01`, `caiso/rtpd/2026-10-01T07:00Z/…`).
    pub key: String,
    /// Base URL.
    pub url: String,
    /// Query parameters (never a credential: requests are logged and
    /// recorded; a connector adds its key when it fetches).
    pub query: Vec<(String, String)>,
    /// What it asks for.
    pub wants: Wants,
    /// UTC window asked for, `[start, end)`.
    pub window_start: DateTime<Utc>,
    /// End of the window.
    pub window_end: DateTime<Utc>,
    /// Whether a successful answer is final for this key (a published daily
    /// report) rather than growing (today's 5-minute prices).
    pub settles: bool,
}

impl Request {
    /// The market run a price request asks for.
    pub fn market_run(&self) -> Option<MarketRun> {
        match &self.wants {
            Wants::Prices { market_run, .. } => Some(*market_run),
            Wants::Fundamentals(_) => None,
        }
    }

    /// What a complete answer to a price request holds.
    pub fn expected(&self) -> Option<&Expected> {
        match &self.wants {
            Wants::Prices { expected, .. } => Some(expected),
            Wants::Fundamentals(_) => None,
        }
    }

    /// A query parameter's value (empty when absent).
    pub fn query_value(&self, name: &str) -> &str {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Query parameters as the HTTP client takes them.
    pub fn query_pairs(&self) -> Vec<(&str, String)> {
        self.query
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect()
    }

    /// The full URL.
    pub fn full_url(&self) -> String {
        crate::http::with_query(&self.url, &self.query_pairs())
    }
}

/// The scheduled jobs a connector offers (`carbon poll <job>` runs one once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollJob {
    /// Day-ahead prices for today and tomorrow (after publication).
    DayAhead,
    /// Hourly real-time reports of recent days (MISO prelim and final).
    RealTimeHourly,
    /// 15-minute real-time pre-dispatch (CAISO RTPD), recent hours.
    FifteenMinute,
    /// 5-minute real-time prices, recent intervals.
    FiveMinute,
    /// Fundamentals series, their recent periods (revisions land as new vintages).
    Fundamentals,
}

impl PollJob {
    /// Every job.
    pub const ALL: [PollJob; 5] = [
        PollJob::DayAhead,
        PollJob::RealTimeHourly,
        PollJob::FifteenMinute,
        PollJob::FiveMinute,
        PollJob::Fundamentals,
    ];

    /// Name in config and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PollJob::DayAhead => "day_ahead",
            PollJob::RealTimeHourly => "real_time_hourly",
            PollJob::FifteenMinute => "fifteen_minute",
            PollJob::FiveMinute => "five_minute",
            PollJob::Fundamentals => "fundamentals",
        }
    }
}

impl std::str::FromStr for PollJob {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PollJob::ALL
            .into_iter()
            .find(|j| j.as_str() == s.replace('-', "_"))
            .ok_or_else(|| {
                format!(
                    "unknown job {s:?}; expected one of {}",
                    PollJob::ALL.map(|j| j.as_str()).join(", ")
                )
            })
    }
}

/// A live source: ISO prices or fundamentals series.
pub trait Connector: Send + Sync {
    /// Name (`miso`, `caiso`, `eia`), used in runs and checkpoints.
    fn name(&self) -> &str;
    /// The market whose prices it fetches (`None`: fundamentals only).
    fn market(&self) -> Option<Market>;
    /// Format hint for parsing its payloads.
    fn hint(&self) -> SourceHint;
    /// Why it cannot fetch as configured (a missing API key), if so.
    fn missing_credentials(&self) -> Option<String> {
        None
    }
    /// Locations it is configured for (hub-only modes name them; otherwise the
    /// hubs it knows — more are discovered from payloads as they arrive).
    fn locations(&self) -> Vec<Instrument>;
    /// Market runs it can fetch.
    fn market_runs(&self) -> Vec<MarketRun>;
    /// Requests covering market days `from..=to` for `runs` (empty: its default runs).
    fn plan_backfill(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        runs: &[MarketRun],
    ) -> Result<Vec<Request>>;
    /// Requests of a poll job at `now` (empty when the job is not its own).
    fn plan_poll(&self, job: PollJob, now: DateTime<Utc>) -> Vec<Request>;
    /// The client it fetches through.
    fn http(&self) -> &HttpClient;
    /// Fetches one request (blocking; spaced and retried by the HTTP client).
    fn fetch(&self, request: &Request) -> Result<Payload, FetchError> {
        self.http().get(&request.url, &request.query_pairs())
    }
    /// Keeps only what the connector is configured for (hub-only modes).
    fn restrict(&self, parsed: &mut Parsed);
    /// Parses the answer to one of its requests: by default the format its
    /// hint and the bytes name, kept to what it is configured for.
    fn parse(&self, request: &Request, payload: &Payload) -> Result<Content> {
        let _ = request;
        let mut content = Runner::parse_content(payload, Some(self.hint()))?;
        if let Content::Prices(p) = &mut content {
            self.restrict(p);
        }
        Ok(content)
    }
}

/// Any connector's config, tagged by `type` (a `[[connectors]]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConnectorConfig {
    /// MISO market reports and the 5-minute API.
    Miso(MisoConfig),
    /// CAISO OASIS.
    Caiso(CaisoConfig),
    /// The EIA v2 API: configured by the `[eia]` table, never in `[[connectors]]`.
    #[serde(skip)]
    Eia(EiaApiConfig),
}

impl ConnectorConfig {
    /// The connector, fetching through a client built from `http`.
    pub fn build(&self, http: &HttpConfig) -> Arc<dyn Connector> {
        match self {
            ConnectorConfig::Miso(c) => Arc::new(MisoConnector::new(
                c.clone(),
                Arc::new(HttpClient::new(
                    http.clone(),
                    Duration::from_secs_f64(c.spacing_secs),
                )),
            )),
            ConnectorConfig::Caiso(c) => Arc::new(CaisoConnector::new(
                c.clone(),
                Arc::new(HttpClient::new(
                    http.clone(),
                    Duration::from_secs_f64(c.spacing_secs),
                )),
            )),
            ConnectorConfig::Eia(c) => Arc::new(EiaConnector::new(
                c.clone(),
                Arc::new(HttpClient::new(
                    http.clone(),
                    Duration::from_secs_f64(c.spacing_secs),
                )),
            )),
        }
    }

    /// The connector's name.
    pub fn name(&self) -> &'static str {
        match self {
            ConnectorConfig::Miso(_) => "miso",
            ConnectorConfig::Caiso(_) => "caiso",
            ConnectorConfig::Eia(_) => "eia",
        }
    }

    /// The default connectors: MISO (all nodes) and CAISO (hub-only pilot).
    pub fn defaults() -> Vec<ConnectorConfig> {
        vec![
            ConnectorConfig::Miso(MisoConfig::default()),
            ConnectorConfig::Caiso(CaisoConfig::default()),
        ]
    }
}

/// Keeps the observations (and instruments) of the listed nodes.
pub(crate) fn keep_nodes(parsed: &mut Parsed, market: Market, nodes: &[String]) {
    let ids: std::collections::HashSet<String> = nodes
        .iter()
        .filter_map(|n| InstrumentId::new(market, n).ok())
        .map(|i| i.to_string())
        .collect();
    let o = &parsed.observations;
    parsed.observations = o.filter(|i| ids.contains(o.instrument(i).as_str()));
    parsed.instruments.retain(|i| ids.contains(i.id.as_str()));
}

/// Keeps the observations of hubs only.
pub(crate) fn keep_hubs(parsed: &mut Parsed) {
    let hubs: std::collections::HashSet<String> = parsed
        .instruments
        .iter()
        .filter(|i| i.kind == LocationKind::Hub)
        .map(|i| i.id.to_string())
        .collect();
    let o = &parsed.observations;
    parsed.observations = o.filter(|i| hubs.contains(o.instrument(i).as_str()));
    parsed.instruments.retain(|i| i.kind == LocationKind::Hub);
}
