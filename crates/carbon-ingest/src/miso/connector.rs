//! The live MISO connector: daily market reports and the 5-minute public API.
//!
//! - Reports: `{reports_url}/{YYYYMMDD}_{da_expost_lmp|da_exante_lmp|rt_lmp_final|rt_lmp_prelim}.csv`,
//!   one request per market day and run; a published report is final for its
//!   key (a 404 means "not published yet" and is retried by the next poll).
//! - 5-minute: `{api_url}/MarketPricing/GetRealTimeFiveMinExPost/{Current|Previous}`
//!   (today so far / the previous market day). MISO serves nothing older, so a
//!   5-minute backfill may only ask for those two days.

use std::sync::Arc;

use carbon_core::{Instrument, InstrumentId, LocationKind, Market, MarketRun, time};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    connector::{Connector, Expected, PollJob, Request, Wants, keep_hubs, keep_nodes},
    detect::SourceHint,
    error::{Error, Result},
    http::HttpClient,
    parsed::Parsed,
};

/// The eight MISO trading hubs.
pub const MISO_HUBS: [&str; 8] = [
    "ARKANSAS.HUB",
    "ILLINOIS.HUB",
    "INDIANA.HUB",
    "LOUISIANA.HUB",
    "MICHIGAN.HUB",
    "MINN.HUB",
    "MS.HUB",
    "TEXAS.HUB",
];

/// `[[connectors]] type = "miso"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MisoConfig {
    /// Base URL of the market reports.
    pub reports_url: String,
    /// Base URL of the public API.
    pub api_url: String,
    /// Hourly runs a backfill fetches by default.
    pub market_runs: Vec<MarketRun>,
    /// Only these nodes (MISO names, e.g. `INDIANA.HUB`); empty: all.
    pub nodes: Vec<String>,
    /// Only nodes MISO types `Hub`.
    pub hubs_only: bool,
    /// Seconds between request starts.
    pub spacing_secs: f64,
    /// How many past days the real-time poll looks at for final reports.
    pub final_lookback_days: u32,
}

impl Default for MisoConfig {
    fn default() -> Self {
        Self {
            reports_url: "https://docs.misoenergy.org/marketreports".into(),
            api_url: "https://public-api.misoenergy.org/api".into(),
            market_runs: vec![
                MarketRun::Da,
                MarketRun::DaExante,
                MarketRun::Rt,
                MarketRun::RtPrelim,
            ],
            nodes: Vec::new(),
            hubs_only: false,
            spacing_secs: 1.0,
            final_lookback_days: 10,
        }
    }
}

/// MISO over HTTP.
#[derive(Debug)]
pub struct MisoConnector {
    config: MisoConfig,
    http: Arc<HttpClient>,
}

fn report_name(run: MarketRun) -> Option<&'static str> {
    Some(match run {
        MarketRun::Da => "da_expost_lmp",
        MarketRun::DaExante => "da_exante_lmp",
        MarketRun::Rt => "rt_lmp_final",
        MarketRun::RtPrelim => "rt_lmp_prelim",
        _ => return None,
    })
}

impl MisoConnector {
    /// A connector fetching through `http`.
    pub fn new(config: MisoConfig, http: Arc<HttpClient>) -> Self {
        Self { config, http }
    }

    fn expected(&self, run: MarketRun, date: NaiveDate) -> Expected {
        let per_hour = (60 / run.interval_minutes().max(1)) as usize;
        Expected {
            intervals_per_node: time::hours_in_day(Market::Miso, date) as usize * per_hour,
            nodes: (!self.config.nodes.is_empty()).then(|| self.config.nodes.clone()),
        }
    }

    fn report(&self, run: MarketRun, date: NaiveDate) -> Option<Request> {
        let name = report_name(run)?;
        Some(Request {
            key: format!("miso/{}/{date}", run.as_str()),
            url: format!(
                "{}/{}_{name}.csv",
                self.config.reports_url.trim_end_matches('/'),
                date.format("%Y%m%d")
            ),
            query: Vec::new(),
            wants: Wants::Prices {
                market_run: run,
                expected: self.expected(run, date),
            },
            window_start: time::day_start(Market::Miso, date),
            window_end: time::day_start(Market::Miso, date + Duration::days(1)),
            settles: true,
        })
    }

    fn five_minute(&self, date: NaiveDate, today: NaiveDate) -> Option<Request> {
        let which = if date == today {
            "Current"
        } else if date + Duration::days(1) == today {
            "Previous"
        } else {
            return None;
        };
        Some(Request {
            key: format!("miso/rt5/{date}"),
            url: format!(
                "{}/MarketPricing/GetRealTimeFiveMinExPost/{which}",
                self.config.api_url.trim_end_matches('/')
            ),
            query: Vec::new(),
            wants: Wants::Prices {
                market_run: MarketRun::Rt5,
                expected: self.expected(MarketRun::Rt5, date),
            },
            window_start: time::day_start(Market::Miso, date),
            window_end: time::day_start(Market::Miso, date + Duration::days(1)),
            // Yesterday's answer is complete; today's grows every 5 minutes.
            settles: date != today,
        })
    }
}

impl Connector for MisoConnector {
    fn name(&self) -> &str {
        "miso"
    }

    fn market(&self) -> Option<Market> {
        Some(Market::Miso)
    }

    fn hint(&self) -> SourceHint {
        SourceHint::Miso
    }

    fn locations(&self) -> Vec<Instrument> {
        let names: Vec<&str> = if self.config.nodes.is_empty() {
            MISO_HUBS.to_vec()
        } else {
            self.config.nodes.iter().map(String::as_str).collect()
        };
        names
            .into_iter()
            .filter_map(|n| InstrumentId::new(Market::Miso, n).ok())
            .map(|id| {
                let kind = if id.node().ends_with(".HUB") {
                    LocationKind::Hub
                } else {
                    LocationKind::Node
                };
                Instrument::new(id, kind)
            })
            .collect()
    }

    fn market_runs(&self) -> Vec<MarketRun> {
        vec![
            MarketRun::Da,
            MarketRun::DaExante,
            MarketRun::Rt,
            MarketRun::RtPrelim,
            MarketRun::Rt5,
        ]
    }

    fn plan_backfill(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        runs: &[MarketRun],
    ) -> Result<Vec<Request>> {
        let runs = if runs.is_empty() {
            self.config.market_runs.clone()
        } else {
            runs.to_vec()
        };
        let today = time::market_date(Market::Miso, Utc::now());
        let mut out = Vec::new();
        for run in runs {
            for date in from.iter_days().take_while(|d| *d <= to) {
                let req = if run == MarketRun::Rt5 {
                    self.five_minute(date, today).ok_or_else(|| {
                        Error::Plan(format!(
                            "MISO's 5-minute API serves only the current and previous market day \
                             ({} and {today}); {date} is outside",
                            today - Duration::days(1)
                        ))
                    })?
                } else {
                    self.report(run, date).ok_or_else(|| {
                        Error::Plan(format!(
                            "MISO has no {run} market run; use da, da_exante, rt, rt_prelim or rt5"
                        ))
                    })?
                };
                out.push(req);
            }
        }
        Ok(out)
    }

    fn plan_poll(&self, job: PollJob, now: DateTime<Utc>) -> Vec<Request> {
        let today = time::market_date(Market::Miso, now);
        let tomorrow = today + Duration::days(1);
        let yesterday = today - Duration::days(1);
        match job {
            PollJob::DayAhead => [today, tomorrow]
                .into_iter()
                .flat_map(|d| [MarketRun::DaExante, MarketRun::Da].map(|r| self.report(r, d)))
                .flatten()
                .collect(),
            PollJob::RealTimeHourly => {
                let mut out: Vec<Request> = self
                    .report(MarketRun::RtPrelim, yesterday)
                    .into_iter()
                    .collect();
                for back in 1..=i64::from(self.config.final_lookback_days) {
                    out.extend(self.report(MarketRun::Rt, today - Duration::days(back)));
                }
                out
            }
            PollJob::FiveMinute => [yesterday, today]
                .into_iter()
                .filter_map(|d| self.five_minute(d, today))
                .collect(),
            PollJob::FifteenMinute | PollJob::Fundamentals => Vec::new(),
        }
    }

    fn http(&self) -> &HttpClient {
        &self.http
    }

    fn restrict(&self, parsed: &mut Parsed) {
        if !self.config.nodes.is_empty() {
            keep_nodes(parsed, Market::Miso, &self.config.nodes);
        }
        if self.config.hubs_only {
            keep_hubs(parsed);
        }
    }
}
