//! The live CAISO connector: OASIS `SingleZip` price reports.
//!
//! | run    | queryname       | market_run_id | version | price column |
//! |--------|-----------------|---------------|---------|--------------|
//! | `da`   | `PRC_LMP`       | `DAM`         | 12      | `MW`         |
//! | `rtpd` | `PRC_RTPD_LMP`  | `RTPD`        | 3       | `PRC`        |
//! | `rt5`  | `PRC_INTVL_LMP` | `RTM`         | 3       | `VALUE`      |
//!
//! Windows are split to OASIS's limits: a node list may span 31 days; all
//! nodes (`grp_type=ALL_APNODES`) one day for DAM and one hour for RT. The
//! client leaves ≥ 5 s between requests and retries 429 with backoff. The
//! default is the **hub-only** pilot: TH_SP15_GEN-APND, TH_NP15_GEN-APND,
//! TH_ZP26_GEN-APND.

use std::sync::Arc;

use carbon_core::{Instrument, InstrumentId, Market, MarketRun, time};
use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    connector::{Connector, Expected, PollJob, Request, Wants, keep_nodes},
    detect::SourceHint,
    error::{Error, Result},
    http::HttpClient,
    parsed::Parsed,
};

/// The CAISO trading hubs of the hub-only pilot.
pub const CAISO_HUBS: [&str; 3] = ["TH_SP15_GEN-APND", "TH_NP15_GEN-APND", "TH_ZP26_GEN-APND"];

/// `[[connectors]] type = "caiso"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaisoConfig {
    /// The OASIS `SingleZip` endpoint.
    pub url: String,
    /// Runs a backfill fetches by default.
    pub market_runs: Vec<MarketRun>,
    /// Nodes asked for (default: the three trading hubs).
    pub nodes: Vec<String>,
    /// Ask for every APNode (`grp_type=ALL_APNODES`) instead of `nodes`.
    pub all_nodes: bool,
    /// Seconds between request starts (OASIS asks for ≈ 5).
    pub spacing_secs: f64,
    /// Hours of real-time data a poll asks for (ending at the next hour).
    pub poll_hours: u32,
}

impl Default for CaisoConfig {
    fn default() -> Self {
        Self {
            url: "https://oasis.caiso.com/oasisapi/SingleZip".into(),
            market_runs: vec![MarketRun::Da, MarketRun::Rtpd, MarketRun::Rt5],
            nodes: CAISO_HUBS.iter().map(|s| s.to_string()).collect(),
            all_nodes: false,
            spacing_secs: 5.0,
            poll_hours: 2,
        }
    }
}

/// CAISO over HTTP.
#[derive(Debug)]
pub struct CaisoConnector {
    config: CaisoConfig,
    http: Arc<HttpClient>,
}

fn report(run: MarketRun) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match run {
        MarketRun::Da => ("PRC_LMP", "DAM", "12"),
        MarketRun::Rtpd => ("PRC_RTPD_LMP", "RTPD", "3"),
        MarketRun::Rt5 => ("PRC_INTVL_LMP", "RTM", "3"),
        _ => return None,
    })
}

/// OASIS's GMT datetime format.
fn oasis_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H:%M-0000").to_string()
}

impl CaisoConnector {
    /// A connector fetching through `http`.
    pub fn new(config: CaisoConfig, http: Arc<HttpClient>) -> Self {
        Self { config, http }
    }

    fn request(
        &self,
        run: MarketRun,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        settles: bool,
    ) -> Option<Request> {
        let (queryname, market_run_id, version) = report(run)?;
        let mut query = vec![
            ("queryname".to_string(), queryname.to_string()),
            ("startdatetime".to_string(), oasis_time(start)),
            ("enddatetime".to_string(), oasis_time(end)),
            ("version".to_string(), version.to_string()),
            ("market_run_id".to_string(), market_run_id.to_string()),
        ];
        let nodes = if self.config.all_nodes {
            query.push(("grp_type".into(), "ALL_APNODES".into()));
            None
        } else {
            query.push(("node".into(), self.config.nodes.join(",")));
            Some(self.config.nodes.clone())
        };
        query.push(("resultformat".into(), "6".into()));
        let minutes = (end - start).num_minutes().max(0) as usize;
        Some(Request {
            key: format!(
                "caiso/{}/{}/{}",
                run.as_str(),
                start.format("%Y-%m-%dT%H:%MZ"),
                end.format("%Y-%m-%dT%H:%MZ")
            ),
            url: self.config.url.clone(),
            query,
            wants: Wants::Prices {
                market_run: run,
                expected: Expected {
                    intervals_per_node: minutes / run.interval_minutes().max(1) as usize,
                    nodes,
                },
            },
            window_start: start,
            window_end: end,
            settles,
        })
    }

    /// UTC windows covering market days `from..=to`, split to OASIS's limits.
    fn windows(
        &self,
        run: MarketRun,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut out = Vec::new();
        let step_days = if self.config.all_nodes { 1 } else { 31 };
        let mut d = from;
        while d <= to {
            let last = (d + Duration::days(step_days - 1)).min(to);
            let (s, e) = (
                time::day_start(Market::Caiso, d),
                time::day_start(Market::Caiso, last + Duration::days(1)),
            );
            if self.config.all_nodes && run != MarketRun::Da {
                let mut h = s;
                while h < e {
                    out.push((h, h + Duration::hours(1)));
                    h += Duration::hours(1);
                }
            } else {
                out.push((s, e));
            }
            d = last + Duration::days(1);
        }
        out
    }
}

impl Connector for CaisoConnector {
    fn name(&self) -> &str {
        "caiso"
    }

    fn market(&self) -> Option<Market> {
        Some(Market::Caiso)
    }

    fn hint(&self) -> SourceHint {
        SourceHint::Caiso
    }

    fn locations(&self) -> Vec<Instrument> {
        let names: Vec<&str> = if self.config.all_nodes {
            CAISO_HUBS.to_vec()
        } else {
            self.config.nodes.iter().map(String::as_str).collect()
        };
        names
            .into_iter()
            .filter_map(|n| InstrumentId::new(Market::Caiso, n).ok())
            .map(|id| {
                let kind = crate::caiso::parse::node_kind(id.node());
                Instrument::new(id, kind)
            })
            .collect()
    }

    fn market_runs(&self) -> Vec<MarketRun> {
        vec![MarketRun::Da, MarketRun::Rtpd, MarketRun::Rt5]
    }

    fn plan_backfill(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        runs: &[MarketRun],
    ) -> Result<Vec<Request>> {
        if !self.config.all_nodes && self.config.nodes.is_empty() {
            return Err(Error::Plan(
                "CAISO connector has no nodes; set `nodes` or `all_nodes = true`".into(),
            ));
        }
        let runs = if runs.is_empty() {
            self.config.market_runs.clone()
        } else {
            runs.to_vec()
        };
        let now = Utc::now();
        let mut out = Vec::new();
        for run in runs {
            if report(run).is_none() {
                return Err(Error::Plan(format!(
                    "CAISO has no {run} market run here; use da, rtpd or rt5"
                )));
            }
            for (s, e) in self.windows(run, from, to) {
                // A window still in progress is not final.
                out.extend(self.request(run, s, e, e <= now));
            }
        }
        Ok(out)
    }

    fn plan_poll(&self, job: PollJob, now: DateTime<Utc>) -> Vec<Request> {
        let today = time::market_date(Market::Caiso, now);
        let rt = |run: MarketRun| {
            let next_hour =
                now.duration_trunc(Duration::hours(1)).unwrap_or(now) + Duration::hours(1);
            let start = next_hour - Duration::hours(i64::from(self.config.poll_hours.max(1)));
            let mut out = Vec::new();
            let mut h = start;
            let step = if self.config.all_nodes {
                Duration::hours(1)
            } else {
                next_hour - start
            };
            while h < next_hour {
                out.extend(self.request(run, h, h + step, false));
                h += step;
            }
            out
        };
        match job {
            PollJob::DayAhead => [today, today + Duration::days(1)]
                .into_iter()
                .filter_map(|d| {
                    self.request(
                        MarketRun::Da,
                        time::day_start(Market::Caiso, d),
                        time::day_start(Market::Caiso, d + Duration::days(1)),
                        true,
                    )
                })
                .collect(),
            PollJob::FifteenMinute => rt(MarketRun::Rtpd),
            PollJob::FiveMinute => rt(MarketRun::Rt5),
            PollJob::RealTimeHourly | PollJob::Fundamentals => Vec::new(),
        }
    }

    fn http(&self) -> &HttpClient {
        &self.http
    }

    fn restrict(&self, parsed: &mut Parsed) {
        if !self.config.all_nodes {
            keep_nodes(parsed, Market::Caiso, &self.config.nodes);
        }
    }
}
