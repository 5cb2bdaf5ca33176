//! The one entitlement policy. Every channel asks [`decide`] (or [`Scope`],
//! its per-instrument form for listings and stream fan-out); nothing else
//! grants access.
//!
//! A request is allowed when at least one grant of the caller's tenant matches
//! all of: market (or `*`), product (or `*`), the channel, the instrument (when
//! the grant lists instruments) and the dates asked for (when the grant is
//! bounded: every day of the requested range must lie within `[start, end]`,
//! UTC dates, both inclusive). No matching grant is a denial that says which
//! part did not match.

use std::fmt;

use carbon_core::Market;
use carbon_store::Grant;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How data leaves the platform. Derived from how the caller authenticated and
/// which route it called — never from a request parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The web hub (a browser session made by logging in).
    Hub,
    /// Programs calling REST (API key or OIDC token).
    Api,
    /// Programs on the WebSocket/SSE stream.
    Stream,
    /// File exports.
    Downloads,
    /// Reports.
    Reports,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 5] = [
        Channel::Hub,
        Channel::Api,
        Channel::Stream,
        Channel::Downloads,
        Channel::Reports,
    ];

    /// Canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Hub => "hub",
            Channel::Api => "api",
            Channel::Stream => "stream",
            Channel::Downloads => "downloads",
            Channel::Reports => "reports",
        }
    }

    /// Parses a canonical name.
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Products a grant can name.
pub const PRODUCTS: [&str; 5] = ["lmp", "curves", "fundamentals", "research", "scenarios"];

/// What a request asks for.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// Market of the data; `None` for market-wide data (gas, weather), which
    /// only a grant for market `*` covers.
    pub market: Option<Market>,
    /// Product (`lmp`, …).
    pub product: &'a str,
    /// Channel the caller uses.
    pub channel: Channel,
    /// The instrument, when one is named.
    pub instrument: Option<&'a str>,
    /// The time range of the data, when bounded (`[start, end)`).
    pub range: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

fn market_matches(g: &Grant, m: Option<Market>) -> bool {
    g.market == "*" || m.is_some_and(|m| g.market.eq_ignore_ascii_case(m.code()))
}

fn product_matches(g: &Grant, p: &str) -> bool {
    g.product == "*" || g.product == p
}

fn channel_matches(g: &Grant, c: Channel) -> bool {
    g.channels.iter().any(|x| x == c.as_str())
}

fn instrument_matches(g: &Grant, i: Option<&str>) -> bool {
    match (&g.instruments, i) {
        (None, _) => true,
        (Some(list), Some(i)) => list.iter().any(|x| x == i),
        // A listed grant does not cover "the whole market".
        (Some(_), None) => false,
    }
}

fn dates_match(g: &Grant, range: Option<(DateTime<Utc>, DateTime<Utc>)>) -> bool {
    let Some((start, end)) = range else {
        return g.start.is_none() && g.end.is_none();
    };
    let first = start.date_naive();
    // `end` is exclusive: the last day touched is that of end − 1 µs.
    let last = (end - chrono::Duration::microseconds(1)).date_naive();
    g.start.is_none_or(|s| first >= s) && g.end.is_none_or(|e| last <= e)
}

fn dates_of(g: &Grant) -> String {
    let d = |x: Option<NaiveDate>| x.map(|d| d.to_string()).unwrap_or_else(|| "…".into());
    format!("{}..{}", d(g.start), d(g.end))
}

/// Allowed, or denied with the reason (for the 403 and the audit log).
///
/// Called on every request: the grants are scanned without allocating, and
/// only a denial looks again to say which part did not match.
pub fn decide(grants: &[Grant], tenant: &str, ask: &Ask<'_>) -> Result<(), String> {
    let market_product = |g: &&Grant| {
        g.tenant == tenant && market_matches(g, ask.market) && product_matches(g, ask.product)
    };
    let channel = |g: &&Grant| channel_matches(g, ask.channel);
    let instrument = |g: &&Grant| instrument_matches(g, ask.instrument);
    if grants
        .iter()
        .filter(market_product)
        .filter(channel)
        .filter(instrument)
        .any(|g| dates_match(g, ask.range))
    {
        return Ok(());
    }
    let what = match ask.instrument {
        Some(i) => format!("`{i}`"),
        None => format!("{} data", ask.market.map_or("market-wide", |m| m.code())),
    };
    let (m, p, c) = (
        ask.market.map_or("market-wide", |m| m.code()),
        ask.product,
        ask.channel,
    );
    Err(if !grants.iter().any(|g| market_product(&g)) {
        format!("tenant `{tenant}` is not entitled to {m} {p} data")
    } else if !grants.iter().filter(market_product).any(|g| channel(&g)) {
        format!("tenant `{tenant}` may not read {m} {p} data through the `{c}` channel")
    } else if !grants
        .iter()
        .filter(market_product)
        .filter(channel)
        .any(|g| instrument(&g))
    {
        format!("tenant `{tenant}` is not entitled to {what} through the `{c}` channel")
    } else {
        let windows: Vec<String> = grants
            .iter()
            .filter(market_product)
            .filter(channel)
            .filter(instrument)
            .map(dates_of)
            .collect();
        format!(
            "tenant `{tenant}` is entitled to {what} only for dates {}",
            windows.join(", ")
        )
    })
}

/// What a tenant may see in a market brief of one period (channel
/// `reports`), asked the same way every other channel is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BriefView {
    /// The hubs of `candidates` whose LMPs it may read over the period.
    pub hubs: Vec<String>,
    /// Forward curves of the market.
    pub curves: bool,
    /// Fundamentals of the market (its load).
    pub fundamentals: bool,
    /// Market-wide fundamentals (gas, storage, weather).
    pub market_wide: bool,
}

/// [`BriefView`] of `tenant` for `market` over `range`, among the market's
/// hubs `candidates`; `Err` when it may have no brief of the market at all.
pub fn brief_view(
    grants: &[Grant],
    tenant: &str,
    market: Market,
    range: (DateTime<Utc>, DateTime<Utc>),
    candidates: &[String],
) -> Result<BriefView, String> {
    let ask = |market, product, instrument, range| Ask {
        market,
        product,
        channel: Channel::Reports,
        instrument,
        range,
    };
    if Scope::of(grants, tenant, Some(market), Some("lmp"), Channel::Reports).is_empty() {
        return Err(format!(
            "tenant `{tenant}` has no entitlement to {} on the `reports` channel",
            market.code()
        ));
    }
    let hubs = candidates
        .iter()
        .filter(|h| {
            decide(
                grants,
                tenant,
                &ask(Some(market), "lmp", Some(h.as_str()), Some(range)),
            )
            .is_ok()
        })
        .cloned()
        .collect();
    let may = |m, product| decide(grants, tenant, &ask(m, product, None, None)).is_ok();
    Ok(BriefView {
        hubs,
        curves: may(Some(market), "curves"),
        fundamentals: may(Some(market), "fundamentals"),
        market_wide: may(None, "fundamentals"),
    })
}

/// What one tenant may see of one market × product through one channel: the
/// per-instrument form of [`decide`] for listings and stream fan-out.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    grants: Vec<Grant>,
}

impl Scope {
    /// The grants of `tenant` that match `market` (any when `None`),
    /// `product` (any when `None`) and `channel`.
    pub fn of(
        grants: &[Grant],
        tenant: &str,
        market: Option<Market>,
        product: Option<&str>,
        channel: Channel,
    ) -> Scope {
        Scope {
            grants: grants
                .iter()
                .filter(|g| {
                    g.tenant == tenant
                        && market.is_none_or(|m| market_matches(g, Some(m)))
                        && product.is_none_or(|p| product_matches(g, p))
                        && channel_matches(g, channel)
                })
                .cloned()
                .collect(),
        }
    }

    /// Nothing at all is visible.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }

    /// Whether a market is visible at all (some instrument of it).
    pub fn sees_market(&self, m: Market) -> bool {
        self.grants.iter().any(|g| market_matches(g, Some(m)))
    }

    /// Whether every market is visible in full (a `*` grant without an
    /// instrument list): what sees data of no single market, such as file runs.
    pub fn sees_everything(&self) -> bool {
        self.grants
            .iter()
            .any(|g| g.market == "*" && g.instruments.is_none())
    }

    /// Whether the whole market is visible (a grant without an instrument list).
    pub fn sees_all_of(&self, m: Market) -> bool {
        self.grants
            .iter()
            .any(|g| market_matches(g, Some(m)) && g.instruments.is_none())
    }

    /// Whether `instrument` (of `market`) is visible at `time` (any time when `None`).
    pub fn sees(&self, market: Market, instrument: &str, time: Option<DateTime<Utc>>) -> bool {
        self.grants.iter().any(|g| {
            market_matches(g, Some(market))
                && instrument_matches(g, Some(instrument))
                && time.is_none_or(|t| {
                    let d = t.date_naive();
                    g.start.is_none_or(|s| d >= s) && g.end.is_none_or(|e| d <= e)
                })
        })
    }
}
