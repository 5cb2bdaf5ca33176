//! Forward-curve builds: the one place a build is run and recorded (the API,
//! the CLI and jobs call [`run_build`]), and the price history a shape is
//! read from.

use std::sync::Arc;

use carbon_core::{Component, InstrumentId, Market, MarketRun, time};
use carbon_curves::{
    build::{self, Built, Request},
    grid::{Granularity, Grid},
};
use carbon_store::{CurvePoint, CurveRun, CurveStore, PriceQuery, Resample, Store};
use chrono::{DateTime, Utc};
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
