//! Monthly market briefs: one market's calendar month (on its clock)
//! gathered from the stores into [`carbon_report::Brief`] — hub statistics,
//! daily prices, the forward curve against a month earlier, the volatility
//! regime, fundamentals and data quality — then rendered by `carbon-report`.
//!
//! A brief is an export of dataset `market_brief` (see [`crate::exports`]):
//! the same job, object store, manifest, links and retention. What the
//! tenant may see is fixed when it is asked for ([`BriefSpec`]'s hub list and
//! the curves/fundamentals switches) and the brief shows nothing else.

use std::{collections::BTreeMap, sync::Arc};

use carbon_core::{
    Block, LocationKind, Market, MarketRun,
    time::{day_start, hour_of, market_date, next_month},
};
use carbon_report::{Brief, CurveComparison, Fundamental, HubStats, Quality, Regime, Series};
use carbon_store::{
    CurveRunFilter, CurveStore, FundamentalQuery, FundamentalStore, InstrumentQuery, PriceQuery,
    PriceRow, StatsFilter, Store,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What a brief covers and what its tenant may see in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BriefSpec {
    /// The market.
    pub market: Market,
    /// The month, `YYYY-MM` on the market clock.
    pub month: String,
    /// Hubs the tenant may see (`None`: every hub of the market).
    #[serde(default)]
    pub hubs: Option<Vec<String>>,
    /// Whether forward curves are shown (product `curves`).
    #[serde(default)]
    pub curves: bool,
    /// Whether the market's own fundamentals (its load) are shown.
    #[serde(default)]
    pub fundamentals: bool,
    /// Whether market-wide fundamentals (gas, storage, weather) are shown.
    #[serde(default)]
    pub market_wide: bool,
    /// Set when a brief feed made it (its outcome is the feed's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<crate::exports::FeedTarget>,
}

impl BriefSpec {
    /// The month's first day.
    pub fn first_day(&self) -> Result<NaiveDate> {
        parse_month(&self.month)
    }
}

/// `YYYY-MM` → its first day (param `month` when it is not one).
pub fn parse_month(s: &str) -> Result<NaiveDate> {
    let bad = || Error::param("month", format!("`{s}`: a month as YYYY-MM, e.g. 2021-02"));
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(1990..=2100).contains(&y) {
        return Err(bad());
    }
    NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)
}

/// The stores briefs and the non-price datasets of exports read.
#[derive(Clone)]
pub struct DataSources {
    /// Prices and series statistics.
    pub store: Arc<dyn Store>,
    /// Research outputs.
    pub research: Arc<dyn carbon_store::ResearchStore>,
    /// Fundamentals.
    pub fundamentals: Arc<dyn FundamentalStore>,
    /// Forward-curve runs.
    pub curves: Arc<dyn CurveStore>,
}

/// Runs tried in order for the brief's prices: day-ahead first, then
/// real-time (hourly, then 5- and 15-minute averaged to hours).
const BASIS: [(MarketRun, &str); 4] = [
    (MarketRun::Da, "day-ahead"),
    (MarketRun::Rt, "real-time (hourly)"),
    (MarketRun::Rt5, "real-time (hourly mean of 5-minute)"),
    (MarketRun::Rtpd, "real-time (hourly mean of 15-minute)"),
];

/// Most hubs one brief lists.
const MAX_HUBS: usize = 24;

/// Temperature stations EIA publishes per market (entities of the stored
/// `temperature` series).
fn stations(m: Market) -> &'static [&'static str] {
    match m {
        Market::Miso => &[
            "Indianapolis",
            "Minneapolis",
            "New Orleans International Airport",
        ],
        Market::Ercot => &["Dallas / Fort Worth", "Houston International Airport"],
        Market::Caiso => &["Los Angeles", "San Francisco", "Sacramento"],
        _ => &[],
    }
}

/// A market's hubs (every instrument of kind hub), by id.
pub async fn market_hubs(store: &dyn Store, m: Market) -> Result<Vec<carbon_core::InstrumentId>> {
    let mut hubs = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .search_instruments(InstrumentQuery {
                market: Some(m),
                kind: Some(LocationKind::Hub),
                text: None,
                limit: Some(500),
                cursor,
            })
            .await?;
        hubs.extend(page.instruments.into_iter().map(|i| i.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    hubs.sort();
    Ok(hubs)
}

/// The brief's period of `spec`: the market-clock month, `[start, end)` in UTC.
pub fn month_range(spec: &BriefSpec) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let first = spec.first_day()?;
    Ok((
        day_start(spec.market, first),
        day_start(spec.market, next_month(first)),
    ))
}

/// An hourly price: (UTC hour start, value).
type Hourly = Vec<(DateTime<Utc>, f64)>;

/// The brief of `spec`, computed at `now`.
pub async fn gather(src: &DataSources, spec: &BriefSpec, now: DateTime<Utc>) -> Result<Brief> {
    let m = spec.market;
    let first = spec.first_day()?;
    let (a, b) = (day_start(m, first), day_start(m, next_month(first)));
    if a >= now {
        return Err(Error::param(
            "month",
            format!("{} has not begun on the {} clock", spec.month, m.code()),
        ));
    }
    // The market's hubs the tenant may see.
    let mut hubs = market_hubs(src.store.as_ref(), m).await?;
    if let Some(allowed) = &spec.hubs {
        hubs.retain(|h| allowed.iter().any(|x| x == h.as_str()));
    }
    hubs.sort();
    let stats = src
        .store
        .series_stats(StatsFilter {
            market: Some(m),
            instruments: hubs.clone(),
        })
        .await?;
    let covers = |run: MarketRun, id: &carbon_core::InstrumentId| {
        stats.iter().any(|s| {
            &s.instrument_id == id
                && s.market_run == run
                && s.first_interval_start < b
                && s.last_interval_end > a
        })
    };
    let basis = BASIS
        .iter()
        .find(|(run, _)| hubs.iter().any(|h| covers(*run, h)))
        .copied();
    hubs.retain(|h| basis.is_some_and(|(run, _)| covers(run, h)));
    hubs.truncate(MAX_HUBS);

    let mut hub_stats = Vec::new();
    let mut daily = Vec::new();
    let mut quality = Vec::new();
    let mut regime = None;
    if let Some((run, _)) = basis {
        for (i, h) in hubs.iter().enumerate() {
            let (rows, hourly) = hourly_prices(src, h, run, a, b).await?;
            // DA − RT where both are stored: the hourly real-time mean.
            let mut spread = None;
            if run == MarketRun::Da
                && let Some(rt) = [MarketRun::Rt, MarketRun::Rt5, MarketRun::Rtpd]
                    .into_iter()
                    .find(|r| covers(*r, h))
            {
                let (_, rt_hourly) = hourly_prices(src, h, rt, a, b).await?;
                let rt: BTreeMap<_, _> = rt_hourly.into_iter().collect();
                let d: Vec<f64> = hourly
                    .iter()
                    .filter_map(|(t, v)| rt.get(t).map(|r| v - r))
                    .collect();
                spread = mean(&d);
            }
            let days = daily_means(m, &hourly);
            let vol = volatility(&days);
            hub_stats.push(hub_row(m, h.as_str(), &hourly, vol, spread));
            daily.push(Series {
                name: h.as_str().to_string(),
                unit: "$/MWh".into(),
                points: days.clone(),
            });
            let expected = ((b - a).num_minutes() / i64::from(run.interval_minutes())) as u64;
            let last = stats
                .iter()
                .find(|s| &s.instrument_id == h && s.market_run == run)
                .map(|s| crate::rfc3339(s.last_ingested));
            quality.push(Quality {
                series: format!("{} {}", h.as_str(), run.as_str()),
                expected,
                present: rows as u64,
                completeness: if expected == 0 {
                    0.0
                } else {
                    (rows as f64 / expected as f64).min(1.0)
                },
                last_ingested: last,
            });
            if i == 0 {
                regime = Some(regime_of(src, h, run, m, first, vol).await?);
            }
        }
    }
    let curve = if spec.curves {
        curve_comparison(src, m, first).await?
    } else {
        None
    };
    let fundamentals = if spec.fundamentals || spec.market_wide {
        fundamentals_of(src, m, a, b, spec.fundamentals, spec.market_wide).await?
    } else {
        Vec::new()
    };
    let basis_name = basis.map_or("day-ahead", |(_, n)| n);
    Ok(Brief {
        market: m.code().to_string(),
        month: spec.month.clone(),
        timezone: m.zone().name().to_string(),
        generated: crate::rfc3339(now),
        currency: "$/MWh".into(),
        basis: basis_name.into(),
        hubs: hub_stats,
        daily,
        curve,
        regime,
        fundamentals,
        quality,
        methods: methods(m, basis_name, spec),
    })
}

/// The rows of one series in `[a, b)` (every page) and their hourly means
/// (hour-start instants; 5- and 15-minute intervals averaged per hour).
async fn hourly_prices(
    src: &DataSources,
    id: &carbon_core::InstrumentId,
    run: MarketRun,
    a: DateTime<Utc>,
    b: DateTime<Utc>,
) -> Result<(usize, Hourly)> {
    let mut q = PriceQuery::new(vec![id.clone()], a, b);
    q.market_runs = vec![run];
    q.limit = Some(100_000);
    let mut rows: Vec<PriceRow> = Vec::new();
    loop {
        let page = src.store.query_prices(q.clone()).await?;
        rows.extend(page.rows);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    let mut hours: BTreeMap<DateTime<Utc>, (f64, u32)> = BTreeMap::new();
    for r in &rows {
        if let Some(v) = r.values.lmp.filter(|v| v.is_finite()) {
            let t = r.interval_start;
            let h = t - Duration::seconds(t.timestamp().rem_euclid(3600));
            let e = hours.entry(h).or_default();
            e.0 += v;
            e.1 += 1;
        }
    }
    Ok((
        rows.len(),
        hours
            .into_iter()
            .map(|(t, (s, n))| (t, s / f64::from(n)))
            .collect(),
    ))
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Daily means on the market clock.
fn daily_means(m: Market, hourly: &Hourly) -> Vec<(NaiveDate, f64)> {
    let mut days: BTreeMap<NaiveDate, (f64, u32)> = BTreeMap::new();
    for (t, v) in hourly {
        let e = days.entry(market_date(m, *t)).or_default();
        e.0 += v;
        e.1 += 1;
    }
    days.into_iter()
        .map(|(d, (s, n))| (d, s / f64::from(n)))
        .collect()
}

/// Annualised volatility: the sample standard deviation of day-to-day log
/// changes of the daily mean, × √365 (days with a mean ≤ 0 break the chain).
fn volatility(days: &[(NaiveDate, f64)]) -> Option<f64> {
    let r: Vec<f64> = days
        .windows(2)
        .filter(|w| w[0].1 > 0.0 && w[1].1 > 0.0 && (w[1].0 - w[0].0).num_days() == 1)
        .map(|w| (w[1].1 / w[0].1).ln())
        .collect();
    if r.len() < 2 {
        return None;
    }
    let mu = r.iter().sum::<f64>() / r.len() as f64;
    let var = r.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (r.len() - 1) as f64;
    Some(var.sqrt() * 365f64.sqrt())
}

fn hub_row(
    m: Market,
    name: &str,
    hourly: &Hourly,
    vol: Option<f64>,
    spread: Option<f64>,
) -> HubStats {
    let all: Vec<f64> = hourly.iter().map(|(_, v)| *v).collect();
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for (t, v) in hourly {
        if Block::OnPeak.contains(m, &hour_of(m, *t)) {
            on.push(*v);
        } else {
            off.push(*v);
        }
    }
    HubStats {
        name: name.to_string(),
        on_peak_avg: mean(&on),
        off_peak_avg: mean(&off),
        avg: mean(&all),
        min: all.iter().copied().reduce(f64::min),
        max: all.iter().copied().reduce(f64::max),
        volatility: vol,
        da_rt_spread: spread,
    }
}

/// The month's realised volatility against the months stored before it
/// (up to 36): a label from the level, a percentile when ≥ 6 earlier months
/// are stored.
async fn regime_of(
    src: &DataSources,
    id: &carbon_core::InstrumentId,
    run: MarketRun,
    m: Market,
    first: NaiveDate,
    vol: Option<f64>,
) -> Result<Regime> {
    let Some(vol) = vol else {
        return Ok(Regime {
            label: "unranked".into(),
            realized_vol: f64::NAN,
            percentile: None,
            note: "Too few days with positive prices to measure volatility.".into(),
        });
    };
    let from = first - chrono::Months::new(36);
    let (_, hourly) = hourly_prices(src, id, run, day_start(m, from), day_start(m, first)).await?;
    let days = daily_means(m, &hourly);
    let mut months: BTreeMap<(i32, u32), Vec<(NaiveDate, f64)>> = BTreeMap::new();
    for d in days {
        months.entry((d.0.year(), d.0.month())).or_default().push(d);
    }
    let earlier: Vec<f64> = months
        .values()
        .filter(|d| d.len() >= 20)
        .filter_map(|d| volatility(d))
        .collect();
    let label = match vol {
        v if v < 0.5 => "calm",
        v if v < 1.0 => "normal",
        v if v < 2.0 => "elevated",
        _ => "extreme",
    };
    let (percentile, note) = if earlier.len() >= 6 {
        let below = earlier.iter().filter(|x| **x < vol).count();
        let p = 100.0 * below as f64 / earlier.len() as f64;
        (
            Some(p),
            format!(
                "{} ranked against the {} earlier months stored for {}: above {below} of them.",
                label_cap(label),
                earlier.len(),
                id.as_str()
            ),
        )
    } else {
        (
            None,
            format!(
                "{} by level (under 50% calm, under 100% normal, under 200% elevated); \
                 {} earlier month(s) stored for {}, too few to rank (6 needed).",
                label_cap(label),
                earlier.len(),
                id.as_str()
            ),
        )
    };
    Ok(Regime {
        label: label.into(),
        realized_vol: vol,
        percentile,
        note,
    })
}

fn label_cap(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The latest base-case curve built by the month's end against the latest
/// of the same curve built a month earlier.
async fn curve_comparison(
    src: &DataSources,
    m: Market,
    first: NaiveDate,
) -> Result<Option<CurveComparison>> {
    let end = next_month(first) - Duration::days(1);
    let prior_end = first - Duration::days(1);
    let runs = src
        .curves
        .curve_runs(CurveRunFilter {
            markets: Some(vec![m.code().to_string()]),
            status: Some("succeeded".into()),
            limit: Some(1000),
            ..Default::default()
        })
        .await?;
    let base = |r: &&carbon_store::CurveRun| {
        r.scenario_id.is_empty() || r.scenario_id.eq_ignore_ascii_case("BASE")
    };
    let Some(now) = runs
        .iter()
        .filter(base)
        .filter(|r| r.as_of_date <= end)
        .max_by_key(|r| (r.as_of_date, r.finished))
    else {
        return Ok(None);
    };
    let prior = runs
        .iter()
        .filter(base)
        .filter(|r| r.curve_id == now.curve_id && r.as_of_date <= prior_end)
        .max_by_key(|r| (r.as_of_date, r.finished));
    let points = |run_id: String| async move {
        let p = src.curves.curve_points(&run_id).await?;
        Ok::<_, Error>(
            p.into_iter()
                .map(|p| (p.delivery_start.format("%Y-%m").to_string(), p.price))
                .collect::<Vec<_>>(),
        )
    };
    let now_pts = monthly(points(now.run_id.clone()).await?);
    let prior_pts = match prior {
        Some(p) => monthly(points(p.run_id.clone()).await?),
        None => Vec::new(),
    };
    Ok(Some(CurveComparison {
        curve_id: now.curve_id.clone(),
        now_label: format!("as of {}", now.as_of_date),
        prior_label: prior.map_or("no run a month earlier".into(), |p| {
            format!("as of {}", p.as_of_date)
        }),
        now: now_pts,
        prior: prior_pts,
    }))
}

/// Curve points averaged per delivery month (daily or hourly curves become
/// one point a month).
fn monthly(points: Vec<(String, f64)>) -> Vec<(String, f64)> {
    let mut by: BTreeMap<String, (f64, u32)> = BTreeMap::new();
    for (k, v) in points {
        let e = by.entry(k).or_default();
        e.0 += v;
        e.1 += 1;
    }
    by.into_iter()
        .map(|(k, (s, n))| (k, s / f64::from(n)))
        .collect()
}

/// Load of the market, temperatures of its stations, Henry Hub gas and
/// Lower-48 storage, where stored.
async fn fundamentals_of(
    src: &DataSources,
    m: Market,
    a: DateTime<Utc>,
    b: DateTime<Utc>,
    own: bool,
    market_wide: bool,
) -> Result<Vec<Fundamental>> {
    let series = src.fundamentals.fundamental_series().await?;
    let code = m.code();
    // The market's own series (its load) need its fundamentals grant;
    // market-wide ones (gas, storage, weather stations: no market in their
    // entity) a market-wide grant, as `/fundamentals` asks.
    let allowed = |entity: &str| match crate::research::entity_market(entity) {
        Some(x) => own && x == m,
        None => market_wide,
    };
    let wanted = |s: &carbon_store::FundamentalSeries| {
        allowed(&s.entity)
            && ((s.variable == "load"
                && (s.entity == code || s.entity.starts_with(&format!("{code} "))))
                || (s.variable == "temperature" && stations(m).contains(&s.entity.as_str()))
                || (s.entity == "Henry Hub" && s.variable == "spot_price")
                || (s.entity == "Total Lower 48" && s.variable == "storage"))
    };
    let mut out = Vec::new();
    for s in series
        .iter()
        .filter(|s| s.scenario_id == carbon_store::BASE_SCENARIO && wanted(s))
        // Weekly storage: the week ending inside the month counts.
        .filter(|s| s.first < b && s.last >= a - Duration::days(7))
        .take(8)
    {
        let pts = src
            .fundamentals
            .fundamentals(FundamentalQuery {
                entity: s.entity.clone(),
                variable: s.variable.clone(),
                start: Some(a),
                end: Some(b),
                as_of: None,
                scenario_id: None,
            })
            .await?;
        let vals: Vec<f64> = pts
            .iter()
            .map(|p| p.value)
            .filter(|v| v.is_finite())
            .collect();
        if vals.is_empty() {
            continue;
        }
        let mut days: BTreeMap<NaiveDate, (f64, u32)> = BTreeMap::new();
        for p in &pts {
            let e = days.entry(market_date(m, p.interval_start)).or_default();
            e.0 += p.value;
            e.1 += 1;
        }
        out.push(Fundamental {
            name: format!("{} {}", s.entity, s.variable.replace('_', " ")),
            unit: s.unit.clone(),
            avg: mean(&vals),
            min: vals.iter().copied().reduce(f64::min),
            max: vals.iter().copied().reduce(f64::max),
            points: days
                .into_iter()
                .map(|(d, (s, n))| (d, s / f64::from(n)))
                .collect(),
        });
    }
    Ok(out)
}

fn methods(m: Market, basis: &str, spec: &BriefSpec) -> Vec<String> {
    let peak = m.peak();
    let mut v = vec![
        format!(
            "Prices are the {basis} LMPs stored for each hub, latest vintage, in $/MWh. \
             The month runs from local midnight of its first day to local midnight of the \
             next month's first day on the {} clock ({}); hours are market hours, so a \
             daylight-saving day has 23 or 25 of them.",
            m.code(),
            m.zone().name()
        ),
        format!(
            "On-peak is hour ending {}–{} on {} except NERC holidays; every other hour is \
             off-peak. Averages are hour-weighted means of hourly prices (sub-hourly \
             intervals are first averaged to hours).",
            peak.first_hour_ending,
            peak.last_hour_ending,
            if peak.days.per_week() == 6 {
                "Monday to Saturday"
            } else {
                "Monday to Friday"
            }
        ),
        "Volatility is the sample standard deviation of day-to-day log changes of the \
         daily mean price, annualised by √365; a day with a mean at or below zero breaks \
         the chain. The regime label reads that level (under 50% calm, under 100% normal, \
         under 200% elevated, else extreme) and, with six or more earlier months stored, \
         its rank among up to 36 earlier months."
            .to_string(),
        "DA–RT is the mean over hours with both prices of the day-ahead minus the hourly \
         real-time price. Completeness is the share of the month's intervals stored for \
         the series; last ingested is when its newest value arrived."
            .to_string(),
    ];
    if spec.curves {
        v.push(
            "The forward curve is the latest base-case run built by the month's last day, \
             against the latest run of the same curve built by the previous month's last \
             day; points are averaged per delivery month."
                .into(),
        );
    }
    if spec.hubs.is_some() {
        v.push("This brief shows only the hubs the reader is entitled to.".into());
    }
    v
}
