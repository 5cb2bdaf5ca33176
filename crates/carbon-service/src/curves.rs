//! Forward-curve builds: the one place a build is run and recorded (the API,
//! the CLI and jobs call [`run_build`]), and the price history a shape is
//! read from.

use std::sync::Arc;

use carbon_core::{Component, InstrumentId, Market, MarketRun, time};
use carbon_curves::{
    build::{self, Built, ContractSpec, Policy, RawContract, Request},
    engine::PriorMode,
    grid::{Granularity, Grid},
    shape::HourlyShape,
};
use carbon_store::{CurvePoint, CurveRun, CurveStore, PriceQuery, Resample, Store};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Error;

/// A build to run, with what lineage needs.
#[derive(Debug, Clone)]
pub struct CurveJob {
    /// The engine's request.
    pub request: Request,
    /// Store under this curve id (`None`: build only).
    pub curve_id: Option<String>,
    /// Scenario (default `BASE`).
    pub scenario_id: String,
    /// Who asked (`user:…`, `key:…`, `cli`).
    pub created_by: String,
    /// The inputs as given, kept with the run.
    pub inputs: Value,
}

/// A finished build.
#[derive(Debug, Clone)]
pub struct CurveOutcome {
    /// The stored run's id (when stored).
    pub run_id: Option<String>,
    /// The curve and its statistics.
    pub built: Built,
    /// The report, with lineage fields.
    pub report: Value,
    /// Points with delivery periods and tenors.
    pub points: Vec<CurvePoint>,
}

/// A failed build (recorded as a failed run when it was to be stored).
#[derive(Debug, Clone)]
pub struct CurveFailure {
    /// The failed run's id, when recorded.
    pub run_id: Option<String>,
    /// What is wrong with the inputs.
    pub message: String,
}

/// Checks an id (curve or scenario): 1–64 of `A-Z a-z 0-9 _ . -`.
pub fn check_id(what: &str, id: &str) -> Result<(), String> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(format!(
            "{what} `{id}`: use 1–64 letters, digits, `_`, `.` or `-`"
        ));
    }
    Ok(())
}

/// Runs a build (on a blocking thread: an hourly grid takes a moment) and,
/// with a curve id, stores the run — failed runs too, without points.
pub async fn run_build(
    curves: Option<Arc<dyn CurveStore>>,
    job: CurveJob,
) -> Result<Result<CurveOutcome, CurveFailure>, carbon_store::Error> {
    let started = Utc::now();
    let req = job.request.clone();
    let result = tokio::task::spawn_blocking(move || {
        let built = build::build(&req)?;
        let report = built.report(&req);
        Ok::<_, build::BuildError>((built, report))
    })
    .await
    .map_err(|e| carbon_store::Error::Backend(format!("curve build task: {e}")))?;
    let finished = Utc::now();
    let store = match (&job.curve_id, curves) {
        (Some(id), Some(c)) => Some((id.clone(), c)),
        _ => None,
    };
    let run_id = store.as_ref().map(|_| crate::random_id("cr"));
    let r = &job.request;
    let run = |status: &str, error: Option<String>, report: Value| {
        store.as_ref().map(|(curve_id, _)| CurveRun {
            run_id: run_id.clone().unwrap_or_default(),
            curve_id: curve_id.clone(),
            scenario_id: job.scenario_id.clone(),
            as_of_date: r.trade_date,
            market: r.market.code().to_string(),
            granularity: format!("{:?}", r.granularity).to_lowercase(),
            input_hash: build::input_hash(r),
            status: status.to_string(),
            error,
            created_by: job.created_by.clone(),
            started,
            finished,
            points: 0,
            request: job.inputs.clone(),
            report,
        })
    };
    match result {
        Err(e) => {
            let message = e.to_string();
            if let (Some(run), Some((_, c))) =
                (run("failed", Some(message.clone()), json!({})), &store)
            {
                c.save_curve(run, Vec::new()).await?;
            }
            Ok(Err(CurveFailure { run_id, message }))
        }
        Ok((built, mut report)) => {
            let tenors = build::tenors(&built.grid);
            let points: Vec<CurvePoint> = built
                .grid
                .points
                .iter()
                .zip(&built.curve)
                .zip(tenors)
                .map(|((p, v), tenor)| CurvePoint {
                    delivery_start: p.start,
                    delivery_end: p.end,
                    tenor,
                    price: *v,
                })
                .collect();
            if let Some(o) = report.as_object_mut() {
                o.insert("run_id".into(), json!(run_id));
                o.insert("curve_id".into(), json!(job.curve_id));
                o.insert("scenario_id".into(), json!(job.scenario_id));
                o.insert("as_of_date".into(), json!(r.trade_date.to_string()));
            }
            if let (Some(run), Some((_, c))) = (run("succeeded", None, report.clone()), &store) {
                c.save_curve(run, points.clone()).await?;
            }
            Ok(Ok(CurveOutcome {
                run_id,
                built,
                report,
                points,
            }))
        }
    }
}

/// [`run_build`] with a failed build as the caller's error (422 naming
/// `contracts`, and the failed run when one was recorded).
pub async fn build(
    curves: Option<Arc<dyn CurveStore>>,
    job: CurveJob,
) -> Result<CurveOutcome, Error> {
    run_build(curves, job).await?.map_err(|f| {
        Error::unprocessable(
            "invalid_curve_input",
            Some("contracts"),
            match f.run_id {
                Some(id) => format!("{} (recorded as failed run {id})", f.message),
                None => f.message,
            },
        )
    })
}

/// The hourly rows of `instrument` (market run `run`, LMP) the store holds.
pub async fn history(
    store: &dyn Store,
    instrument: &InstrumentId,
    run: MarketRun,
) -> Result<Vec<(DateTime<Utc>, f64)>, carbon_store::Error> {
    let mut q = PriceQuery::new(
        vec![instrument.clone()],
        DateTime::<Utc>::from_timestamp(946_684_800, 0).unwrap_or_default(),
        Utc::now() + chrono::Duration::days(800),
    );
    q.market_runs = vec![run];
    q.components = vec![Component::Lmp];
    q.resample = Some(Resample {
        freq: carbon_core::Frequency::Hour,
        agg: carbon_core::Aggregation::Mean,
    });
    let page = store.query_prices(q).await?;
    Ok(page
        .rows
        .into_iter()
        .filter_map(|r| r.values.lmp.map(|v| (r.interval_start, v)))
        .collect())
}

/// The contracts and parameters as given, canonical (kept with the run).
pub fn inputs_json(req: &Request, prior_source: Value) -> Value {
    json!({
        "market": req.market.code(),
        "trade_date": req.trade_date.to_string(),
        "grid": format!("{:?}", req.granularity).to_lowercase(),
        "policy": format!("{:?}", req.policy),
        "tension": req.tension,
        "discount_rate": req.discount_rate,
        "until": req.until.map(|d| d.to_string()),
        "flat_long_end": req.flat_long_end,
        "prior": prior_source,
        "contracts": req.contracts.iter().map(|c| json!({
            "name": c.name, "start": c.start.to_string(), "end": c.end.to_string(),
            "price": c.price, "bid": c.bid, "ask": c.ask,
            "block": c.block.as_text(), "weight": c.weight,
        })).collect::<Vec<_>>(),
    })
}

/// The grid of a stored run, rebuilt from its market, granularity and first
/// and last points, and checked against the points (a mismatch is a corrupt
/// run: an internal error).
pub fn grid_of(run: &CurveRun, points: &[CurvePoint]) -> Result<Grid, Error> {
    let market: Market = run
        .market
        .parse()
        .map_err(|_| Error::not_found(format!("curve run `{}`", run.run_id)))?;
    let g: Granularity = run.granularity.parse().map_err(Error::NotFound)?;
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Err(Error::not_found(format!(
            "curve run `{}` has no points",
            run.run_id
        )));
    };
    let from = time::market_date(market, first.delivery_start);
    let to = time::market_date(market, last.delivery_end - chrono::Duration::seconds(1));
    let grid = Grid::new(market, g, from, to).map_err(Error::NotFound)?;
    if grid.len() != points.len()
        || grid
            .points
            .iter()
            .zip(points)
            .any(|(a, b)| a.start != b.delivery_start)
    {
        return Err(Error::Internal(format!(
            "the points of curve run `{}` do not match its grid",
            run.run_id
        )));
    }
    Ok(grid)
}

/// One contract of a JSON build request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractIn {
    /// Name (`2027-01`, `Cal-27`).
    pub name: Option<String>,
    /// First delivery day (YYYY-MM-DD).
    #[schema(format = Date)]
    pub start: Option<String>,
    /// Last delivery day (YYYY-MM-DD, inclusive).
    #[schema(format = Date)]
    pub end: Option<String>,
    /// Settlement price.
    pub price: Option<f64>,
    /// Bid (with `ask`, instead of `price`).
    pub bid: Option<f64>,
    /// Ask.
    pub ask: Option<f64>,
    /// Power block (flat, onpeak, offpeak, 2x16, 7x8).
    #[schema(value_type = Option<carbon_core::Block>)]
    pub block: Option<String>,
    /// Weight in the fit.
    pub weight: Option<f64>,
}

/// A prior shaped from stored prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShapeFrom {
    /// The instrument whose hourly shape is used.
    pub instrument_id: String,
    /// Its market run (default `da`).
    #[schema(value_type = Option<carbon_core::MarketRun>)]
    pub market_run: Option<String>,
}

/// A curve build as asked for (the body of `POST /api/v1/curves/build`, and
/// the spec of a `curve_build` job).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildSpec {
    /// Store the run under this curve id.
    pub curve_id: Option<String>,
    /// Scenario (default `BASE`).
    pub scenario_id: Option<String>,
    /// Market (default MISO).
    #[schema(value_type = Option<carbon_core::Market>)]
    pub market: Option<String>,
    /// Trade date (YYYY-MM-DD).
    #[schema(format = Date)]
    pub trade_date: String,
    /// Grid: hourly, daily, monthly.
    #[schema(value_type = String, pattern = "^(hourly|daily|monthly)$")]
    pub grid: String,
    /// Contract policy.
    pub policy: Option<String>,
    /// Tension (≥ 0).
    pub tension: Option<f64>,
    /// Discount rate.
    pub discount_rate: Option<f64>,
    /// Extend the curve to this date.
    #[schema(format = Date)]
    pub until: Option<String>,
    /// Hold the curve flat after the last contract.
    pub flat_long_end: Option<bool>,
    /// Contracts as JSON…
    pub contracts: Option<Vec<ContractIn>>,
    /// …or as CSV text.
    pub contracts_csv: Option<String>,
    /// A prior as CSV text.
    pub prior_csv: Option<String>,
    /// `additive` (default) or `multiplicative`.
    #[schema(pattern = "^(additive|multiplicative)$")]
    pub prior_mode: Option<String>,
    /// A prior shaped from stored prices.
    pub shape_from: Option<ShapeFrom>,
}

fn invalid_input(param: &str, message: impl Into<String>) -> Error {
    Error::unprocessable("invalid_curve_input", Some(param), message)
}

/// `v` parsed as a `T`, or an error naming `param` and the value.
pub fn parse_as<T: std::str::FromStr>(param: &str, v: &str) -> Result<T, Error>
where
    T::Err: std::fmt::Display,
{
    v.parse::<T>()
        .map_err(|e| Error::param(param, format!("`{v}`: {e}")))
}

/// A `YYYY-MM-DD` date, or an error naming `param` and the value.
pub fn date(param: &str, v: &str) -> Result<NaiveDate, Error> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|e| Error::param(param, format!("`{v}` is not YYYY-MM-DD ({e})")))
}

impl BuildSpec {
    /// The curve's market.
    pub fn market(&self) -> Result<Market, Error> {
        parse_as("market", self.market.as_deref().unwrap_or("MISO"))
    }

    /// The scenario, checked.
    pub fn scenario(&self) -> Result<String, Error> {
        let s = self.scenario_id.clone().unwrap_or_else(|| "BASE".into());
        check_id("scenario_id", &s).map_err(|m| Error::param("scenario_id", m))?;
        if crate::scenarios::is_scenario_id(&s) {
            return Err(Error::param(
                "scenario_id",
                format!(
                    "`{s}`: ids starting with `sc_` are the scenario engine's (run the scenario instead)"
                ),
            ));
        }
        Ok(s)
    }

    /// The instrument a shape prior reads (the caller must be entitled to
    /// its prices).
    pub fn shape_source(&self) -> Result<Option<(InstrumentId, MarketRun)>, Error> {
        self.shape_from
            .as_ref()
            .map(|sf| {
                Ok((
                    parse_as("shape_from.instrument_id", &sf.instrument_id)?,
                    parse_as(
                        "shape_from.market_run",
                        sf.market_run.as_deref().unwrap_or("da"),
                    )?,
                ))
            })
            .transpose()
    }

    fn contracts(&self) -> Result<Vec<ContractSpec>, Error> {
        match (&self.contracts, &self.contracts_csv) {
            (Some(_), Some(_)) => Err(Error::param(
                "contracts",
                "give `contracts` or `contracts_csv`, not both",
            )),
            (None, None) => Err(Error::param(
                "contracts",
                "no contracts: give `contracts` (JSON) or `contracts_csv`",
            )),
            (None, Some(text)) => build::parse_contracts("contracts_csv", text)
                .map_err(|e| invalid_input("contracts_csv", e.to_string())),
            (Some(list), None) => {
                if list.is_empty() {
                    return Err(Error::param("contracts", "no contracts"));
                }
                list.iter()
                    .enumerate()
                    .map(|(i, c)| {
                        build::contract_spec(&RawContract {
                            name: c.name.as_deref(),
                            start: c.start.as_deref(),
                            end: c.end.as_deref(),
                            price: c.price,
                            bid: c.bid,
                            ask: c.ask,
                            block: c.block.as_deref(),
                            weight: c.weight,
                        })
                        .map_err(|(f, m)| {
                            let name = c.name.as_deref().unwrap_or("?");
                            invalid_input(
                                &format!("contracts[{i}].{f}"),
                                format!("contract {i} (`{name}`), field `{f}`: {m}"),
                            )
                        })
                    })
                    .collect()
            }
        }
    }

    /// The checks that need no data: ids, market, dates, grid, contracts
    /// (a job is refused at once rather than failing later).
    pub fn check(&self) -> Result<(), Error> {
        self.market()?;
        self.scenario()?;
        if let Some(id) = &self.curve_id {
            check_id("curve_id", id).map_err(|m| Error::param("curve_id", m))?;
        }
        date("trade_date", &self.trade_date)?;
        parse_as::<Granularity>("grid", &self.grid)?;
        self.shape_source()?;
        self.contracts().map(|_| ())
    }

    /// Checks everything and makes the engine's request (reading the shape
    /// prior's prices from `store`), ready to run.
    pub async fn to_job(&self, store: &dyn Store, created_by: &str) -> Result<CurveJob, Error> {
        let market = self.market()?;
        let scenario_id = self.scenario()?;
        if let Some(id) = &self.curve_id {
            check_id("curve_id", id).map_err(|m| Error::param("curve_id", m))?;
        }
        let mut req = Request::new(
            market,
            date("trade_date", &self.trade_date)?,
            parse_as::<Granularity>("grid", &self.grid)?,
            self.contracts()?,
        );
        if let Some(p) = &self.policy {
            req.policy = parse_as::<Policy>("policy", p)?;
        }
        if let Some(t) = self.tension {
            if !(t.is_finite() && t >= 0.0) {
                return Err(Error::param("tension", "must be a number ≥ 0"));
            }
            req.tension = t;
        }
        req.discount_rate = self.discount_rate;
        req.until = self
            .until
            .as_deref()
            .map(|u| date("until", u))
            .transpose()?;
        req.flat_long_end = self.flat_long_end.unwrap_or(false);
        let mode = match self.prior_mode.as_deref() {
            None => None,
            Some("additive") => Some(PriorMode::Additive),
            Some("multiplicative") => Some(PriorMode::Multiplicative),
            Some(o) => {
                return Err(Error::param(
                    "prior_mode",
                    format!("`{o}`: expected additive or multiplicative"),
                ));
            }
        };
        let grid = |req: &Request| {
            build::grid_for(req.market, req.granularity, &req.contracts, req.until)
                .map_err(|e| invalid_input("contracts", e.to_string()))
        };
        let prior_source = match (&self.prior_csv, self.shape_source()?) {
            (Some(_), Some(_)) => {
                return Err(Error::param(
                    "prior_csv",
                    "give `prior_csv` or `shape_from`, not both",
                ));
            }
            (Some(text), None) => {
                let values = build::parse_prior("prior_csv", text, &grid(&req)?)
                    .map_err(|e| invalid_input("prior_csv", e.to_string()))?;
                let m = mode.unwrap_or(PriorMode::Additive);
                let source = json!({ "kind": "csv", "mode": format!("{m:?}").to_lowercase(), "values": values });
                req.prior = Some((values, m));
                source
            }
            (None, Some((id, run))) => {
                let rows = history(store, &id, run).await?;
                let shape = HourlyShape::from_prices(req.market, &rows)
                    .map_err(|m| invalid_input("shape_from", format!("{}: {m}", id.as_str())))?;
                let values = shape.prior(&grid(&req)?);
                req.prior = Some((values, PriorMode::Multiplicative));
                json!({
                    "kind": "shape_from_history", "instrument_id": id.as_str(),
                    "market_run": run.as_str(), "hours_used": shape.hours_used,
                    "months_with_history": shape.months_with_history,
                })
            }
            (None, None) => {
                if mode.is_some() {
                    return Err(Error::param("prior_mode", "given without `prior_csv`"));
                }
                Value::Null
            }
        };
        let inputs = inputs_json(&req, prior_source);
        Ok(CurveJob {
            request: req,
            curve_id: self.curve_id.clone(),
            scenario_id,
            created_by: created_by.to_string(),
            inputs,
        })
    }
}
