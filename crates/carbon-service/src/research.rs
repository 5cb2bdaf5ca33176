//! Research analytics and backtests: the one place an analysis is loaded,
//! computed (on a blocking thread, within size limits), stored and returned
//! ([`run_analysis`]; the API, the CLI and scheduled jobs call it).
//!
//! A series is a price (`instrument_id`, `market_run`, `component`) or a
//! fundamentals series (`entity`, `variable`), read latest or `as_of`, over
//! `[start, end)`, optionally resampled. Entitlement product `research` on the
//! series' market (market-wide series such as gas and weather need a `*`
//! grant); fundamentals reads ask product `fundamentals`.

use std::{collections::BTreeMap, sync::Arc};

use carbon_core::{
    Aggregation, Block, Component, Frequency, InstrumentId, Market, MarketRun, time,
};
use carbon_research::{
    backtest::{self, Baseline, GateRule, Pair},
    balance, decompose, features, regimes, weather,
};
use carbon_store::{
    BASE_SCENARIO, CurveRunFilter, CurveStore, FundamentalQuery, FundamentalStore, PriceQuery,
    Resample, ResearchRun, ResearchStore, Store,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{error::Error, rfc3339};

/// Receives (fraction done, what is being done) of a long analysis.
pub type Report = Arc<dyn Fn(f64, &str) + Send + Sync>;

/// How a long analysis reports how far it is, and learns it should stop
/// (a cancelled job): checked between its steps (regime candidates, HMM
/// state counts, backtest origins and curve runs).
#[derive(Clone, Default)]
pub struct Progress {
    report: Option<Report>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Progress {
    /// Reports to `report`, stops when `stop` is set.
    pub fn new(report: Report, stop: Arc<std::sync::atomic::AtomicBool>) -> Self {
        Self {
            report: Some(report),
            stop,
        }
    }

    /// Step `done` of `total`, with what is being done; false when the work
    /// should stop.
    pub fn step(&self, done: usize, total: usize, what: &str) -> bool {
        if let Some(r) = &self.report {
            r((done as f64 / total.max(1) as f64).clamp(0.0, 1.0), what);
        }
        !self.stop.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the work was told to stop.
    pub fn cancelled(&self) -> bool {
        self.stop.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// An error for a stopped analysis.
    fn stopped() -> Error {
        Error::Internal("stopped: the job was cancelled".into())
    }
}

/// The version stamped on every stored output.
pub const MODEL_VERSION: &str = concat!("carbon-research ", env!("CARGO_PKG_VERSION"));

/// What an analysis reads and writes.
#[derive(Clone)]
pub struct ResearchDeps {
    /// Prices.
    pub store: Arc<dyn Store>,
    /// Fundamentals.
    pub fundamentals: Arc<dyn FundamentalStore>,
    /// Stored outputs.
    pub research: Arc<dyn ResearchStore>,
    /// Forward curves (backtests of stored curves).
    pub curves: Option<Arc<dyn CurveStore>>,
    /// Scenarios (their versions and runs).
    pub scenarios: Option<Arc<dyn carbon_store::ScenarioStore>>,
}

impl ResearchDeps {
    /// Every part from one backend that keeps them all (the embedded store).
    pub fn of<S>(store: Arc<S>) -> Self
    where
        S: Store + FundamentalStore + ResearchStore + CurveStore + carbon_store::ScenarioStore,
    {
        Self {
            store: store.clone(),
            fundamentals: store.clone(),
            research: store.clone(),
            curves: Some(store.clone()),
            scenarios: Some(store),
        }
    }
}

/// One series an analysis reads.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeriesRef {
    /// A price series: the instrument…
    pub instrument_id: Option<String>,
    /// …its market run (default `da`)…
    pub market_run: Option<String>,
    /// …and component (default `lmp`).
    pub component: Option<String>,
    /// A fundamentals series: entity…
    pub entity: Option<String>,
    /// …and variable.
    pub variable: Option<String>,
    /// Scenario of a fundamentals series (default `BASE`).
    pub scenario_id: Option<String>,
    /// Range start (RFC 3339, a date (UTC), or `-30d`); prices default to
    /// ten years before `end`.
    pub start: Option<String>,
    /// Range end, exclusive.
    pub end: Option<String>,
    /// Read what was known at this instant.
    pub as_of: Option<String>,
    /// Resample: `1h`, `1d`, `1w`, `1mo` (prices on the market clock,
    /// fundamentals on UTC days).
    pub resample: Option<String>,
    /// Aggregation for `resample`: mean (default), sum, min, max, first, last.
    pub agg: Option<String>,
}

impl SeriesRef {
    /// `price:INSTRUMENT[:RUN[:COMPONENT]]` or `fund:ENTITY/VARIABLE`.
    pub fn parse_text(s: &str) -> Result<Self, String> {
        if let Some(rest) = s.strip_prefix("price:") {
            let mut it = rest.split(':');
            return Ok(Self {
                instrument_id: it.next().map(str::to_string),
                market_run: it.next().map(str::to_string),
                component: it.next().map(str::to_string),
                ..Self::default()
            });
        }
        if let Some(rest) = s.strip_prefix("fund:") {
            let (e, v) = rest
                .rsplit_once('/')
                .ok_or_else(|| format!("`{s}`: expected fund:ENTITY/VARIABLE"))?;
            return Ok(Self {
                entity: Some(e.to_string()),
                variable: Some(v.to_string()),
                ..Self::default()
            });
        }
        Err(format!(
            "`{s}`: expected price:INSTRUMENT[:RUN[:COMPONENT]] or fund:ENTITY/VARIABLE"
        ))
    }

    fn label(&self) -> String {
        match (&self.instrument_id, &self.entity) {
            (Some(i), _) => format!(
                "{i}:{}:{}",
                self.market_run.as_deref().unwrap_or("da"),
                self.component.as_deref().unwrap_or("lmp")
            ),
            (None, Some(e)) => format!("{e}/{}", self.variable.as_deref().unwrap_or("")),
            _ => "?".into(),
        }
    }
}

/// A loaded series.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// `INSTRUMENT:run:component` or `ENTITY/variable`.
    pub label: String,
    /// The market, when the series has one.
    pub market: Option<Market>,
    /// Local clock for calendars (the market's, else UTC).
    pub tz: Tz,
    /// Interval starts.
    pub times: Vec<DateTime<Utc>>,
    /// Values.
    pub values: Vec<f64>,
    /// Unit (`$/MWh` for prices; the stored unit of a fundamentals series,
    /// `None` when nothing was read).
    pub unit: Option<String>,
}

/// An instant: RFC 3339, a date (UTC midnight), or relative to now
/// (`-30d`, `-12h`) for scheduled jobs.
fn instant(name: &str, v: &str) -> Result<DateTime<Utc>, Error> {
    if let Some(rel) = v.strip_prefix('-') {
        let (n, unit) = rel.split_at(rel.len().saturating_sub(1));
        if let Ok(n) = n.parse::<i64>() {
            match unit {
                "d" if n <= 36_500 => return Ok(Utc::now() - Duration::days(n)),
                "h" if n <= 876_000 => return Ok(Utc::now() - Duration::hours(n)),
                _ => {}
            }
        }
        return Err(Error::param(
            name,
            format!("`{v}`: expected RFC 3339, a date, or -Nd / -Nh"),
        ));
    }
    time::parse_instant(v, None).map_err(|e| Error::param(name, e.to_string()))
}

fn frequency(name: &str, s: &str) -> Result<Frequency, Error> {
    s.parse::<Frequency>()
        .map_err(|e| Error::param(name, e.to_string()))
}

/// The market a fundamentals entity belongs to (`ERCOT`, `ERCOT Coast`), if any.
pub fn entity_market(entity: &str) -> Option<Market> {
    entity.split_whitespace().next()?.parse().ok()
}

/// Reads a series (no entitlement check: callers ask first).
pub async fn load_series(deps: &ResearchDeps, r: &SeriesRef) -> Result<Loaded, Error> {
    let start = r
        .start
        .as_deref()
        .map(|v| instant("start", v))
        .transpose()?;
    let end = r.end.as_deref().map(|v| instant("end", v)).transpose()?;
    let as_of = r
        .as_of
        .as_deref()
        .map(|v| instant("as_of", v))
        .transpose()?;
    match (&r.instrument_id, &r.entity) {
        (Some(id), None) => {
            let id = InstrumentId::parse(id)
                .map_err(|e| Error::param("instrument_id", e.to_string()))?;
            let run: MarketRun = r
                .market_run
                .as_deref()
                .unwrap_or("da")
                .parse()
                .map_err(|e: carbon_core::Error| Error::param("market_run", e.to_string()))?;
            let component: Component = r
                .component
                .as_deref()
                .unwrap_or("lmp")
                .parse()
                .map_err(|e: carbon_core::Error| Error::param("component", e.to_string()))?;
            // Without a range: the ten years up to tomorrow.
            let end = end.unwrap_or_else(|| Utc::now() + Duration::days(2));
            let start = start.unwrap_or(end - Duration::days(3_652));
            let mut q = PriceQuery::new(vec![id.clone()], start, end);
            q.market_runs = vec![run];
            q.components = vec![component];
            q.as_of = as_of;
            if let Some(f) = &r.resample {
                let agg = match r.agg.as_deref() {
                    None => Aggregation::Mean,
                    Some(a) => a
                        .parse::<Aggregation>()
                        .map_err(|e| Error::param("agg", e.to_string()))?,
                };
                q.resample = Some(Resample {
                    freq: frequency("resample", f)?,
                    agg,
                });
            }
            let page = deps.store.query_prices(q).await?;
            let (times, values) = page
                .rows
                .into_iter()
                .filter_map(|row| row.values.get(component).map(|v| (row.interval_start, v)))
                .unzip();
            Ok(Loaded {
                label: r.label(),
                market: Some(id.market()),
                tz: id.market().zone(),
                times,
                values,
                unit: Some("$/MWh".into()),
            })
        }
        (None, Some(entity)) => {
            let variable = r
                .variable
                .clone()
                .ok_or_else(|| Error::param("variable", "required with entity"))?;
            let points = deps
                .fundamentals
                .fundamentals(FundamentalQuery {
                    entity: entity.clone(),
                    variable,
                    start,
                    end,
                    as_of,
                    scenario_id: r.scenario_id.clone(),
                })
                .await?;
            let unit = points.last().map(|p| p.unit.clone());
            let mut times: Vec<DateTime<Utc>> = points.iter().map(|p| p.interval_start).collect();
            let mut values: Vec<f64> = points.iter().map(|p| p.value).collect();
            if let Some(f) = &r.resample {
                (times, values) =
                    resample_utc(&times, &values, f, r.agg.as_deref().unwrap_or("mean"))?;
            }
            let market = entity_market(entity);
            Ok(Loaded {
                label: r.label(),
                market,
                tz: market.map_or(chrono_tz::UTC, |m| m.zone()),
                times,
                values,
                unit,
            })
        }
        _ => Err(Error::param(
            "series",
            "give instrument_id (a price) or entity + variable (a fundamentals series)",
        )),
    }
}

/// The frequencies [`resample_utc`] buckets by (`1w`: weeks from Monday).
pub const UTC_FREQUENCIES: [&str; 5] = ["1h", "1d", "1w", "1mo", "1y"];

/// The aggregations [`resample_utc`] combines a bucket with.
pub const UTC_AGGREGATIONS: [&str; 6] = ["mean", "sum", "min", "max", "first", "last"];

/// Buckets on UTC calendar boundaries (fundamentals have no market clock):
/// `freq` one of [`UTC_FREQUENCIES`] (or its long name, `weekly`); `agg`
/// one of [`UTC_AGGREGATIONS`].
pub fn resample_utc(
    times: &[DateTime<Utc>],
    values: &[f64],
    freq: &str,
    agg: &str,
) -> Result<(Vec<DateTime<Utc>>, Vec<f64>), Error> {
    let day = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let bucket: Box<dyn Fn(DateTime<Utc>) -> DateTime<Utc>> = match freq {
        "1h" | "hourly" => Box::new(|t: DateTime<Utc>| {
            DateTime::from_timestamp(t.timestamp() - t.timestamp().rem_euclid(3600), 0).unwrap_or(t)
        }),
        "1d" | "daily" => Box::new(move |t: DateTime<Utc>| day(t.date_naive())),
        "1w" | "weekly" => Box::new(move |t: DateTime<Utc>| {
            let d = t.date_naive();
            day(d - Duration::days(i64::from(d.weekday().num_days_from_monday())))
        }),
        "1mo" | "monthly" => Box::new(move |t: DateTime<Utc>| {
            day(t.date_naive().with_day(1).unwrap_or(t.date_naive()))
        }),
        "1y" | "yearly" => Box::new(move |t: DateTime<Utc>| {
            day(NaiveDate::from_ymd_opt(t.year(), 1, 1).unwrap_or(t.date_naive()))
        }),
        f => {
            return Err(Error::param(
                "resample",
                format!("`{f}`: expected one of {}", UTC_FREQUENCIES.join(", ")),
            ));
        }
    };
    if !UTC_AGGREGATIONS.contains(&agg) {
        return Err(Error::param(
            "agg",
            format!("`{agg}`: expected one of {}", UTC_AGGREGATIONS.join(", ")),
        ));
    }
    let mut groups: BTreeMap<DateTime<Utc>, Vec<f64>> = BTreeMap::new();
    for (t, v) in times.iter().zip(values) {
        groups.entry(bucket(*t)).or_default().push(*v);
    }
    Ok(groups
        .into_iter()
        .map(|(t, v)| {
            let x = match agg {
                "sum" => v.iter().sum(),
                "min" => v.iter().copied().fold(f64::INFINITY, f64::min),
                "max" => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                "first" => v[0],
                "last" => v[v.len() - 1],
                _ => v.iter().sum::<f64>() / v.len() as f64,
            };
            (t, x)
        })
        .unzip())
}

/// How the values enter a regime model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// As they are.
    #[default]
    Level,
    /// First differences.
    Diff,
    /// Log returns (positive series only).
    LogReturn,
}

/// An analysis to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Analysis {
    /// STL (one period) or MSTL (several).
    Decompose {
        /// The series.
        series: SeriesRef,
        /// Seasonal periods in observations (one: STL; several: MSTL).
        periods: Vec<usize>,
        /// STL parameters.
        #[serde(default)]
        stl: Option<decompose::StlOptions>,
        /// MSTL parameters.
        #[serde(default)]
        mstl: Option<decompose::MstlOptions>,
    },
    /// Markov-switching regimes; several candidates are compared by BIC.
    Regimes {
        /// The series.
        series: SeriesRef,
        /// Level, differences or log returns.
        #[serde(default)]
        transform: Transform,
        /// Candidate models (default: k = 2 and 3 with switching variance).
        #[serde(default)]
        candidates: Vec<regimes::MsSpec>,
        /// `markov_switching` (default) or `gaussian_hmm` (a multivariate
        /// Gaussian HMM on return features of the levels; `transform` is
        /// ignored).
        #[serde(default)]
        method: Option<String>,
        /// States tried by the Gaussian HMM (default 2 and 3), chosen by BIC.
        #[serde(default)]
        states: Vec<usize>,
    },
    /// Gas storage balance (and its correlation with a price), or power load
    /// against temperature-normal load.
    Balance {
        /// Weekly storage (an entity/variable series).
        #[serde(default)]
        storage: Option<Box<SeriesRef>>,
        /// A price to correlate changes with (resampled weekly, last value).
        #[serde(default)]
        price: Option<Box<SeriesRef>>,
        /// CUSUM threshold and allowance in σ (default 4 and 0.5).
        #[serde(default)]
        threshold_sigma: Option<f64>,
        /// See `threshold_sigma`.
        #[serde(default)]
        allowance_sigma: Option<f64>,
        /// Rolling correlation window in weeks (default 52).
        #[serde(default)]
        window: Option<usize>,
        /// Hourly load (power balance).
        #[serde(default)]
        load: Option<Box<SeriesRef>>,
        /// Hourly temperature (power balance).
        #[serde(default)]
        temperature: Option<Box<SeriesRef>>,
    },
    /// Price or load on temperature terms.
    Weather {
        /// What is explained.
        target: SeriesRef,
        /// Temperatures (°F).
        temperature: SeriesRef,
        /// Terms, lags, quantiles, rolling window, extreme threshold.
        #[serde(default)]
        options: weather::WeatherOptions,
    },
    /// Forecasts against realised prices read as of the evaluation time.
    Backtest(BacktestSpec),
}

/// What a backtest compares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestSpec {
    /// The realised series' instrument.
    pub instrument_id: String,
    /// Its market run (default `da`).
    #[serde(default)]
    pub market_run: Option<String>,
    /// Stored forward curve to score (every run of it, or `as_of_dates`).
    #[serde(default)]
    pub curve_id: Option<String>,
    /// Scenario of the curve (default `BASE`).
    #[serde(default)]
    pub scenario_id: Option<String>,
    /// Forecast dates (trade dates of the curve; origins of the baselines).
    #[serde(default)]
    pub as_of_dates: Vec<NaiveDate>,
    /// Built-in baselines to score alongside.
    #[serde(default)]
    pub baselines: Vec<Baseline>,
    /// Delivery periods scored: `day`, `month` (default) or `contract` (each
    /// quoted contract of the stored curve, its own period and block).
    #[serde(default)]
    pub granularity: Option<String>,
    /// Block scored: flat, onpeak, offpeak (default flat).
    #[serde(default)]
    pub block: Option<String>,
    /// Days ahead the baselines forecast (default 62).
    #[serde(default)]
    pub horizon_days: Option<usize>,
    /// Read realised prices as known at this instant (default: now).
    #[serde(default)]
    pub evaluated_at: Option<String>,
    /// Quality gate (default: MAPE ≤ 12% for months 1–6 of hub curves).
    #[serde(default)]
    pub gate: Vec<GateRule>,
}

impl Analysis {
    /// The stored kind (`stl`, `mstl`, `regimes`, `balance`, `weather`, `backtest`).
    pub fn kind(&self) -> &'static str {
        match self {
            Analysis::Decompose { periods, .. } if periods.len() > 1 => "mstl",
            Analysis::Decompose { .. } => "stl",
            Analysis::Regimes { .. } => "regimes",
            Analysis::Balance { .. } => "balance",
            Analysis::Weather { .. } => "weather",
            Analysis::Backtest(_) => "backtest",
        }
    }

    /// Every series the analysis reads, with the product it is asked under.
    fn series(&self) -> Vec<&SeriesRef> {
        match self {
            Analysis::Decompose { series, .. } | Analysis::Regimes { series, .. } => vec![series],
            Analysis::Balance {
                storage,
                price,
                load,
                temperature,
                ..
            } => [storage, price, load, temperature]
                .into_iter()
                .flatten()
                .map(|b| &**b)
                .collect(),
            Analysis::Weather {
                target,
                temperature,
                ..
            } => vec![target, temperature],
            Analysis::Backtest(_) => Vec::new(),
        }
    }

    fn subject(&self) -> String {
        match self {
            Analysis::Backtest(b) => format!(
                "{}:{}",
                b.instrument_id,
                b.curve_id.as_deref().unwrap_or("baselines")
            ),
            a => a
                .series()
                .iter()
                .map(|s| s.label())
                .collect::<Vec<_>>()
                .join(" ~ "),
        }
    }

    /// The markets the analysis touches (`None`: a market-wide series).
    pub fn markets(&self) -> Result<Vec<Option<Market>>, Error> {
        let mut out = Vec::new();
        for s in self.series() {
            out.push(match (&s.instrument_id, &s.entity) {
                (Some(i), _) => Some(
                    InstrumentId::parse(i)
                        .map_err(|e| Error::param("instrument_id", e.to_string()))?
                        .market(),
                ),
                (None, Some(e)) => entity_market(e),
                _ => None,
            });
        }
        if let Analysis::Backtest(b) = self {
            out.push(Some(
                InstrumentId::parse(&b.instrument_id)
                    .map_err(|e| Error::param("instrument_id", e.to_string()))?
                    .market(),
            ));
        }
        Ok(out)
    }
}

fn research_error(e: carbon_research::ResearchError) -> Error {
    use carbon_research::ResearchError as E;
    let param = match &e {
        E::Parameter { name, .. } => name.clone(),
        E::TooShort { .. } | E::Gap { .. } => "series".into(),
        E::Singular { .. } => "design".into(),
        E::NoConvergence { .. } => "model".into(),
    };
    Error::Unprocessable {
        code: "analysis_failed",
        param: Some(param),
        message: e.to_string(),
    }
}

fn times_json(t: &[DateTime<Utc>]) -> Value {
    Value::Array(t.iter().map(|t| Value::String(rfc3339(*t))).collect())
}

/// A warning when the series has gaps (a step more than 1.5× the usual one,
/// e.g. a missing hour, or weekends in a trading-day series): the methods
/// treat observations as consecutive.
pub fn gap_warning(times: &[DateTime<Utc>]) -> Option<String> {
    if times.len() < 3 {
        return None;
    }
    let mut steps: Vec<i64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).num_seconds())
        .collect();
    let gaps: Vec<(DateTime<Utc>, i64)> = {
        let mut sorted = steps.clone();
        sorted.sort_unstable();
        let usual = sorted[sorted.len() / 2];
        times
            .windows(2)
            .zip(steps.iter_mut())
            .filter(|(_, s)| **s * 2 > usual * 3)
            .map(|(w, s)| (w[0], *s / usual.max(1) - 1))
            .collect()
    };
    let first = gaps.first()?;
    Some(format!(
        "{} gaps in the series (the first after {}, about {} observations missing): the analysis treats observations as consecutive; fill or resample the series if that matters",
        gaps.len(),
        rfc3339(first.0),
        first.1
    ))
}

fn nonempty(l: &Loaded, what: &str) -> Result<(), Error> {
    if l.values.is_empty() {
        return Err(Error::unprocessable(
            "no_data",
            Some(what),
            format!("no data for {} ({what}) in the range asked", l.label),
        ));
    }
    if l.values.len() > MAX_OBSERVATIONS {
        return Err(Error::unprocessable(
            "too_large",
            Some(what),
            format!(
                "{} has {} observations in the range asked; at most {MAX_OBSERVATIONS} (narrow the range or resample)",
                l.label,
                l.values.len()
            ),
        ));
    }
    Ok(())
}

/// Most observations one analysis reads per series (ten years hourly is 87,660).
pub const MAX_OBSERVATIONS: usize = 200_000;

fn limit(name: &str, v: usize, max: usize) -> Result<(), Error> {
    if v > max {
        return Err(Error::param(name, format!("at most {max}, got {v}")));
    }
    Ok(())
}

impl Analysis {
    /// Bounds that keep one request from taking the server down.
    pub fn check_limits(&self) -> Result<(), Error> {
        let stl = |o: &decompose::StlOptions| {
            for (n, w) in [
                ("seasonal", Some(o.seasonal)),
                ("trend", o.trend),
                ("low_pass", o.low_pass),
            ] {
                limit(n, w.unwrap_or(0), 100_001)?;
            }
            limit("inner_iter", o.inner_iter.unwrap_or(0), 100)?;
            limit("outer_iter", o.outer_iter.unwrap_or(0), 100)
        };
        match self {
            Analysis::Decompose {
                periods,
                stl: s,
                mstl: m,
                ..
            } => {
                limit("periods", periods.len(), 6)?;
                if let Some(o) = s {
                    stl(o)?;
                }
                if let Some(o) = m {
                    stl(&o.stl)?;
                    limit("iterations", o.iterations, 20)?;
                    for w in o.windows.iter().flatten() {
                        limit("windows", *w, 100_001)?;
                    }
                }
                Ok(())
            }
            Analysis::Regimes {
                candidates, states, ..
            } => {
                limit("candidates", candidates.len(), 8)?;
                limit("states", states.len(), 4)?;
                for c in candidates {
                    limit("random_starts", c.random_starts, 50)?;
                }
                Ok(())
            }
            Analysis::Balance { window, .. } => limit("window", window.unwrap_or(0), 10_000),
            Analysis::Weather { options, .. } => {
                limit("quantiles", options.quantiles.len(), 9)?;
                limit("lags", options.lags.len(), 8)?;
                for l in &options.lags {
                    limit("lags", *l, 8_784)?;
                }
                Ok(())
            }
            Analysis::Backtest(b) => {
                limit("as_of_dates", b.as_of_dates.len(), 120)?;
                limit("baselines", b.baselines.len(), 3)?;
                limit("gate", b.gate.len(), 50)
            }
        }
    }
}

/// Runs an analysis (reading through `deps`) and returns its output.
pub async fn compute(deps: &ResearchDeps, a: &Analysis) -> Result<Value, Error> {
    compute_with(deps, a, &Progress::default()).await
}

/// [`compute`] reporting progress and stopping early when asked.
pub async fn compute_with(
    deps: &ResearchDeps,
    a: &Analysis,
    progress: &Progress,
) -> Result<Value, Error> {
    match a {
        Analysis::Decompose {
            series,
            periods,
            stl,
            mstl,
        } => {
            let l = load_series(deps, series).await?;
            nonempty(&l, "series")?;
            let d = match periods.as_slice() {
                [] => {
                    return Err(Error::param(
                        "periods",
                        "give one period (STL) or several (MSTL)",
                    ));
                }
                [p] => decompose::stl(&l.values, *p, &stl.clone().unwrap_or_default()),
                ps => decompose::mstl(&l.values, ps, &mstl.clone().unwrap_or_default()),
            }
            .map_err(research_error)?;
            Ok(
                json!({ "series": l.label, "times": times_json(&l.times), "decomposition": d,
                "warnings": gap_warning(&l.times).into_iter().collect::<Vec<_>>() }),
            )
        }
        Analysis::Regimes {
            series,
            transform,
            candidates,
            method,
            states,
        } => {
            let l = load_series(deps, series).await?;
            nonempty(&l, "series")?;
            match method.as_deref() {
                None | Some("markov_switching") => {}
                Some("gaussian_hmm") => {
                    let (offset, x) =
                        features::return_features(&l.values).map_err(research_error)?;
                    let ks = if states.is_empty() {
                        vec![2, 3]
                    } else {
                        states.clone()
                    };
                    let mut fits = Vec::new();
                    for (i, k) in ks.iter().enumerate() {
                        if !progress.step(i, ks.len(), &format!("Gaussian HMM, {k} states")) {
                            return Err(Progress::stopped());
                        }
                        fits.push(features::fit_hmm(&x, *k, 5, 254).map_err(research_error)?);
                    }
                    let best = fits
                        .iter()
                        .enumerate()
                        .min_by(|a, b| a.1.bic.total_cmp(&b.1.bic))
                        .map_or(0, |(i, _)| i);
                    let table: Vec<Value> = fits
                        .iter()
                        .map(|f| json!({"k": f.k, "llf": f.llf, "bic": f.bic, "converged": f.converged}))
                        .collect();
                    return Ok(json!({
                        "series": l.label, "method": "gaussian_hmm", "features": features::FEATURES,
                        "warnings": gap_warning(&l.times).into_iter().collect::<Vec<_>>(),
                        "times": times_json(&l.times[offset..]), "candidates": table, "chosen": best,
                        "model": fits[best],
                    }));
                }
                Some(m) => {
                    return Err(Error::param(
                        "method",
                        format!("`{m}`: markov_switching or gaussian_hmm"),
                    ));
                }
            }
            let (times, y): (Vec<DateTime<Utc>>, Vec<f64>) = match transform {
                Transform::Level => (l.times.clone(), l.values.clone()),
                Transform::Diff => l
                    .times
                    .iter()
                    .skip(1)
                    .copied()
                    .zip(l.values.windows(2).map(|w| w[1] - w[0]))
                    .unzip(),
                Transform::LogReturn => {
                    if let Some(i) = l.values.iter().position(|v| *v <= 0.0) {
                        return Err(Error::param(
                            "transform",
                            format!(
                                "log returns need positive values; {} at {}",
                                l.values[i],
                                rfc3339(l.times[i])
                            ),
                        ));
                    }
                    l.times
                        .iter()
                        .skip(1)
                        .copied()
                        .zip(l.values.windows(2).map(|w| (w[1] / w[0]).ln()))
                        .unzip()
                }
            };
            let cands = if candidates.is_empty() {
                (2..=3)
                    .map(|k| regimes::MsSpec {
                        k,
                        switching_variance: true,
                        ..Default::default()
                    })
                    .collect()
            } else {
                candidates.clone()
            };
            let mut stopped = false;
            let (fits, best) = regimes::select_by_bic_with(&y, &cands, &mut |i| {
                let c = &cands[i];
                let go = progress.step(
                    i,
                    cands.len(),
                    &format!("regime model k={} ar={}", c.k, c.ar),
                );
                stopped |= !go;
                go
            })
            .map_err(|e| {
                if stopped {
                    Progress::stopped()
                } else {
                    research_error(e)
                }
            })?;
            let table: Vec<Value> = fits
                .iter()
                .map(|f| json!({"k": f.spec.k, "ar": f.spec.ar, "switching_variance": f.spec.switching_variance,
                    "switching_ar": f.spec.switching_ar, "llf": f.llf, "bic": f.bic, "aic": f.aic, "converged": f.converged}))
                .collect();
            let chosen = &fits[best];
            Ok(json!({
                "series": l.label, "transform": transform,
                "warnings": gap_warning(&l.times).into_iter().collect::<Vec<_>>(),
                "times": times_json(&times[chosen.first_index..]),
                "candidates": table, "chosen": best, "model": chosen,
            }))
        }
        Analysis::Balance {
            storage,
            price,
            threshold_sigma,
            allowance_sigma,
            window,
            load,
            temperature,
        } => {
            let mut out = serde_json::Map::new();
            if let Some(s) = storage {
                let l = load_series(deps, s).await?;
                nonempty(&l, "storage")?;
                let weekly: Vec<(NaiveDate, f64)> = l
                    .times
                    .iter()
                    .zip(&l.values)
                    .map(|(t, v)| ((*t + Duration::days(6)).date_naive(), *v))
                    .collect();
                let b = balance::storage(
                    &weekly,
                    threshold_sigma.unwrap_or(4.0),
                    allowance_sigma.unwrap_or(0.5),
                )
                .map_err(research_error)?;
                out.insert("storage".into(), json!({"series": l.label, "balance": b}));
                if let Some(p) = price {
                    let mut p = (**p).clone();
                    p.resample = Some("1w".into());
                    p.agg = Some("last".into());
                    let pl = load_series(deps, &p).await?;
                    nonempty(&pl, "price")?;
                    // Weekly buckets start on Monday; storage weeks end on Friday.
                    let prices: Vec<(NaiveDate, f64)> = pl
                        .times
                        .iter()
                        .zip(&pl.values)
                        .map(|(t, v)| ((*t + Duration::days(4)).date_naive(), *v))
                        .collect();
                    let c =
                        balance::rolling_change_correlation(&weekly, &prices, window.unwrap_or(52))
                            .map_err(research_error)?;
                    out.insert(
                        "price_inventory_correlation".into(),
                        json!({"price": pl.label, "window": window.unwrap_or(52), "rolling": c}),
                    );
                }
            }
            if let (Some(ld), Some(tp)) = (load, temperature) {
                let l = load_series(deps, ld).await?;
                let t = load_series(deps, tp).await?;
                nonempty(&l, "load")?;
                nonempty(&t, "temperature")?;
                let lv: Vec<(DateTime<Utc>, f64)> = l
                    .times
                    .iter()
                    .copied()
                    .zip(l.values.iter().copied())
                    .collect();
                let tv: Vec<(DateTime<Utc>, f64)> = t
                    .times
                    .iter()
                    .copied()
                    .zip(t.values.iter().copied())
                    .collect();
                let n = balance::normal_load(&lv, &tv, l.tz, 65.0).map_err(research_error)?;
                out.insert(
                    "power".into(),
                    json!({"load": l.label, "temperature": t.label, "normal_load": n}),
                );
            }
            if out.is_empty() {
                return Err(Error::param(
                    "storage",
                    "give storage (gas) or load + temperature (power)",
                ));
            }
            Ok(Value::Object(out))
        }
        Analysis::Weather {
            target,
            temperature,
            options,
        } => {
            let y = load_series(deps, target).await?;
            let t = load_series(deps, temperature).await?;
            nonempty(&y, "target")?;
            nonempty(&t, "temperature")?;
            let yv: Vec<(DateTime<Utc>, f64)> = y
                .times
                .iter()
                .copied()
                .zip(y.values.iter().copied())
                .collect();
            let tv: Vec<(DateTime<Utc>, f64)> = t
                .times
                .iter()
                .copied()
                .zip(t.values.iter().copied())
                .collect();
            let w = weather::impact(&yv, &tv, y.tz, options).map_err(research_error)?;
            Ok(json!({"target": y.label, "temperature": t.label, "impact": w}))
        }
        Analysis::Backtest(b) => run_backtest(deps, b, progress).await,
    }
}

/// Hourly LMPs of `id` (`run`, `block`) over `[start, end)` as known at `as_of`.
async fn hourly_lmp(
    deps: &ResearchDeps,
    id: &InstrumentId,
    run: MarketRun,
    block: Block,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> Result<Vec<f64>, Error> {
    let mut q = PriceQuery::new(vec![id.clone()], start, end);
    q.market_runs = vec![run];
    q.components = vec![Component::Lmp];
    q.as_of = Some(as_of);
    q.block = block;
    q.resample = Some(Resample {
        freq: Frequency::Hour,
        agg: Aggregation::Mean,
    });
    let rows = deps.store.query_prices(q).await?.rows;
    Ok(rows.iter().filter_map(|r| r.values.lmp).collect())
}

/// The realised mean over a delivery period, `None` without data.
async fn realised(
    deps: &ResearchDeps,
    id: &InstrumentId,
    run: MarketRun,
    block: Block,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> Result<Option<f64>, Error> {
    let v = hourly_lmp(deps, id, run, block, start, end, as_of).await?;
    Ok((!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64))
}

/// A stored run's contracts: (name, first and last delivery date, block, the
/// curve's price for it — the repriced value of the report, else the quote).
fn run_contracts(r: &carbon_store::CurveRun) -> Vec<(String, NaiveDate, NaiveDate, String, f64)> {
    let repriced = |name: &str| {
        r.report["contracts"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == name))
            .and_then(|c| c["repriced"].as_f64())
    };
    r.request["contracts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let name = c["name"].as_str()?.to_string();
            let start = c["start"].as_str()?.parse().ok()?;
            let end = c["end"].as_str()?.parse().ok()?;
            let block = c["block"].as_str().unwrap_or("flat").to_string();
            let price = repriced(&name).or_else(|| c["price"].as_f64())?;
            Some((name, start, end, block, price))
        })
        .collect()
}

fn months_between(from: NaiveDate, to: NaiveDate) -> i64 {
    i64::from(to.year() - from.year()) * 12 + i64::from(to.month()) - i64::from(from.month())
}

async fn run_backtest(
    deps: &ResearchDeps,
    b: &BacktestSpec,
    progress: &Progress,
) -> Result<Value, Error> {
    use carbon_curves::grid::{Granularity, Grid, Shape};
    let id = InstrumentId::parse(&b.instrument_id)
        .map_err(|e| Error::param("instrument_id", e.to_string()))?;
    let market = id.market();
    let run: MarketRun = b
        .market_run
        .as_deref()
        .unwrap_or("da")
        .parse()
        .map_err(|e: carbon_core::Error| Error::param("market_run", e.to_string()))?;
    let block: Block = b
        .block
        .as_deref()
        .unwrap_or("flat")
        .parse()
        .map_err(|e: carbon_core::Error| Error::param("block", e.to_string()))?;
    // `contract`: score each quoted contract of a stored curve over its own
    // delivery period and block (quarters, calendars, on-peak strips).
    let by_contract = b.granularity.as_deref() == Some("contract");
    let granularity = match b.granularity.as_deref().unwrap_or("month") {
        "day" | "daily" => Granularity::Daily,
        "month" | "monthly" | "contract" => Granularity::Monthly,
        g => {
            return Err(Error::param(
                "granularity",
                format!("`{g}`: day, month or contract"),
            ));
        }
    };
    if by_contract && b.curve_id.is_none() {
        return Err(Error::param(
            "granularity",
            "`contract` scores a stored curve: give curve_id",
        ));
    }
    let evaluated_at = match &b.evaluated_at {
        Some(v) => instant("evaluated_at", v)?,
        None => Utc::now(),
    };
    let mut pairs: Vec<Pair> = Vec::new();
    let mut details: Vec<Value> = Vec::new();
    let mut skipped_no_actual = 0usize;
    let mut warnings: Vec<String> = Vec::new();
    let group_in = |block: Block, source: &str, months: i64| {
        format!(
            "{}|{}|{}|{source}|{}",
            market.code(),
            id.node(),
            block.as_str(),
            backtest::horizon_bucket(months)
        )
    };
    let group = |source: &str, months: i64| group_in(block, source, months);
    // Stored curves.
    if let Some(curve_id) = &b.curve_id {
        let curves = deps
            .curves
            .as_ref()
            .ok_or_else(|| Error::param("curve_id", "this server has no curve store"))?;
        let runs = curves
            .curve_runs(CurveRunFilter {
                curve_id: Some(curve_id.clone()),
                scenario_id: Some(
                    b.scenario_id
                        .clone()
                        .unwrap_or_else(|| BASE_SCENARIO.into()),
                ),
                status: Some("succeeded".into()),
                limit: Some(1000),
                ..Default::default()
            })
            .await?;
        let runs: Vec<_> = runs
            .into_iter()
            .filter(|r| b.as_of_dates.is_empty() || b.as_of_dates.contains(&r.as_of_date))
            .collect();
        if runs.is_empty() {
            return Err(Error::not_found(format!(
                "no stored runs of curve `{curve_id}` to score"
            )));
        }
        let total = runs.len();
        for (i, r) in runs.into_iter().enumerate() {
            if !progress.step(i, total, &format!("scoring the curve of {}", r.as_of_date)) {
                return Err(Progress::stopped());
            }
            if by_contract {
                for (name, start, end, cblock, forecast) in run_contracts(&r) {
                    let (from, to) = (
                        time::day_start(market, start),
                        time::day_start(market, end + Duration::days(1)),
                    );
                    let Ok(cb) = cblock.parse::<Block>() else {
                        warnings.push(format!("run {}: contract `{name}` has block `{cblock}` (an hour mask): not scored", r.run_id));
                        continue;
                    };
                    if to > evaluated_at || start <= r.as_of_date {
                        continue;
                    }
                    let Some(actual) = realised(deps, &id, run, cb, from, to, evaluated_at).await?
                    else {
                        skipped_no_actual += 1;
                        continue;
                    };
                    let months = months_between(r.as_of_date, start);
                    pairs.push(Pair {
                        group: group_in(cb, curve_id, months),
                        forecast,
                        actual,
                    });
                    details.push(json!({"source": curve_id, "run_id": r.run_id, "as_of_date": r.as_of_date, "contract": name,
                        "block": cb.as_str(), "delivery_start": rfc3339(from), "delivery_end": rfc3339(to), "forecast": forecast, "actual": actual}));
                }
                continue;
            }
            let points = curves.curve_points(&r.run_id).await?;
            let grid = crate::curves::grid_of(&r, &points)?;
            let prices: Vec<f64> = points.iter().map(|p| p.price).collect();
            let periods =
                carbon_curves::build::aggregate(&grid, &prices, granularity, Shape::Block(block))
                    .map_err(|m| Error::param("granularity", m))?;
            for p in periods {
                if p.end > evaluated_at
                    || p.start < time::day_start(market, r.as_of_date + Duration::days(1))
                {
                    continue;
                }
                let Some(actual) =
                    realised(deps, &id, run, block, p.start, p.end, evaluated_at).await?
                else {
                    skipped_no_actual += 1;
                    continue;
                };
                let months = months_between(r.as_of_date, time::market_date(market, p.start));
                pairs.push(Pair {
                    group: group(curve_id, months),
                    forecast: p.price,
                    actual,
                });
                details.push(json!({"source": curve_id, "run_id": r.run_id, "as_of_date": r.as_of_date, "tenor": p.tenor,
                    "delivery_start": rfc3339(p.start), "delivery_end": rfc3339(p.end), "forecast": p.price, "actual": actual}));
            }
        }
    }
    // Baselines from each origin date.
    if !b.baselines.is_empty() {
        if b.as_of_dates.is_empty() {
            return Err(Error::param(
                "as_of_dates",
                "baselines need forecast origin dates",
            ));
        }
        let horizon_days = b.horizon_days.unwrap_or(62).clamp(1, 400);
        for (i, origin) in b.as_of_dates.iter().enumerate() {
            if !progress.step(i, b.as_of_dates.len(), &format!("baselines from {origin}")) {
                return Err(Progress::stopped());
            }
            let cut = time::day_start(market, *origin + Duration::days(1));
            // History known at the origin: the last 8 weeks of hourly prices.
            let from = cut - Duration::days(56);
            let mut hist = hourly_lmp(
                deps,
                &id,
                run,
                Block::Flat,
                from,
                cut,
                cut.min(evaluated_at),
            )
            .await?;
            if hist.is_empty() {
                // Files loaded after the fact carry later vintages: read the
                // same pre-origin hours as known at the evaluation time, and say so.
                hist = hourly_lmp(deps, &id, run, Block::Flat, from, cut, evaluated_at).await?;
                if !hist.is_empty() {
                    warnings.push(format!(
                        "origin {origin}: no price vintage was known at the origin; the baseline's history is read as of the evaluation time (a revision published after the origin can reach the forecast; load history with `carbon ingest file --vintage` to avoid it)"
                    ));
                }
            }
            let grid = Grid::new(
                market,
                Granularity::Hourly,
                *origin + Duration::days(1),
                *origin + Duration::days(horizon_days as i64),
            )
            .map_err(|m| Error::param("horizon_days", m))?;
            for method in &b.baselines {
                let name = serde_json::to_value(method)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let fc = backtest::baseline(&hist, grid.len(), *method, &[24, 168])
                    .map_err(research_error)?;
                let periods =
                    carbon_curves::build::aggregate(&grid, &fc, granularity, Shape::Block(block))
                        .map_err(|m| Error::param("granularity", m))?;
                for p in periods {
                    if p.end > evaluated_at {
                        continue;
                    }
                    let Some(actual) =
                        realised(deps, &id, run, block, p.start, p.end, evaluated_at).await?
                    else {
                        skipped_no_actual += 1;
                        continue;
                    };
                    let months = months_between(*origin, time::market_date(market, p.start));
                    pairs.push(Pair {
                        group: group(&name, months),
                        forecast: p.price,
                        actual,
                    });
                    details.push(json!({"source": name, "as_of_date": origin, "tenor": p.tenor,
                        "delivery_start": rfc3339(p.start), "delivery_end": rfc3339(p.end), "forecast": p.price, "actual": actual}));
                }
            }
        }
    }
    if pairs.is_empty() {
        return Err(Error::unprocessable(
            "no_data",
            Some("evaluated_at"),
            format!(
                "nothing to score: no delivery period ended by {} has realised prices ({skipped_no_actual} periods without data)",
                rfc3339(evaluated_at)
            ),
        ));
    }
    let groups = backtest::by_group(&pairs).map_err(research_error)?;
    let rules = if b.gate.is_empty() {
        vec![
            GateRule {
                contains: "|M1-3".into(),
                max_mape: 12.0,
            },
            GateRule {
                contains: "|M4-6".into(),
                max_mape: 12.0,
            },
        ]
    } else {
        b.gate.clone()
    };
    let gate = backtest::gate(&groups, &rules);
    Ok(json!({
        "instrument_id": id.as_str(), "market_run": run.as_str(), "block": block.as_str(),
        "evaluated_at": rfc3339(evaluated_at), "metrics": groups, "gate": gate,
        "pairs": details, "periods_without_actuals": skipped_no_actual, "warnings": warnings,
    }))
}

/// Runs `a`, stores the outcome (a failure too) and returns the stored run.
/// A failed analysis is returned as the error, naming the stored run.
pub async fn run_analysis(
    deps: &ResearchDeps,
    a: &Analysis,
    created_by: &str,
) -> Result<ResearchRun, Error> {
    run_analysis_with(deps, a, created_by, Progress::default()).await
}

/// [`run_analysis`] reporting progress and stopping early when asked (a
/// stopped analysis stores nothing).
pub async fn run_analysis_with(
    deps: &ResearchDeps,
    a: &Analysis,
    created_by: &str,
    progress: Progress,
) -> Result<ResearchRun, Error> {
    let started = Utc::now();
    a.check_limits()?;
    // The numerical work is CPU-bound: run it on a blocking thread so the
    // server's async workers keep answering other requests.
    let (d, job) = (deps.clone(), a.clone());
    let handle = tokio::runtime::Handle::current();
    let stop = progress.stop.clone();
    let result =
        tokio::task::spawn_blocking(move || handle.block_on(compute_with(&d, &job, &progress)))
            .await
            .map_err(|e| Error::Internal(format!("analysis task failed: {e}")))?;
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(Progress::stopped());
    }
    let (status, error, output, failure) = match result {
        Ok(v) => ("succeeded", None, v, None),
        Err(e) if e.is_user_error() => ("failed", Some(e.to_string()), Value::Null, Some(e)),
        Err(e) => return Err(e),
    };
    let run = ResearchRun {
        run_id: crate::random_id("rr"),
        kind: a.kind().to_string(),
        subject: a.subject(),
        model_version: format!("{MODEL_VERSION}/{}", a.kind()),
        status: status.to_string(),
        error,
        created_by: created_by.to_string(),
        started,
        finished: Utc::now(),
        params: serde_json::to_value(a).unwrap_or(Value::Null),
        output,
    };
    deps.research.save_research_run(run.clone()).await?;
    match failure {
        None => Ok(run),
        Some(e) => Err(e.with_suffix(&format!(" (recorded as failed run {})", run.run_id))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_reported_not_hidden() {
        let t = |h: i64| DateTime::<Utc>::from_timestamp(h * 3600, 0).unwrap_or_default();
        let regular: Vec<_> = (0..10).map(t).collect();
        assert_eq!(gap_warning(&regular), None);
        let holed: Vec<_> = (0..10).filter(|h| *h != 4 && *h != 5).map(t).collect();
        let w = gap_warning(&holed).unwrap_or_default();
        assert!(
            w.starts_with("1 gaps") && w.contains("1970-01-01T03:00:00Z") && w.contains("about 2"),
            "{w}"
        );
    }

    #[test]
    fn fundamentals_entities_map_to_markets_or_none() {
        assert_eq!(entity_market("ERCOT Coast"), Some(Market::Ercot));
        assert_eq!(entity_market("ERCOT"), Some(Market::Ercot));
        assert_eq!(entity_market("Henry Hub"), None);
        assert_eq!(entity_market("Total Lower 48"), None);
    }
}
