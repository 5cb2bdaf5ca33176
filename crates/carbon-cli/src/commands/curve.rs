//! `carbon curve build`: contracts (and a prior) in, the curve and its report
//! out; with `--curve-id` the run and its points are stored in the data
//! directory (the same code path as `POST /api/v1/curves/build`).

use std::{io::Write, process::ExitCode, sync::Arc};

use anyhow::{Context, Result};
use carbon_core::{InstrumentId, Market, MarketRun};
use carbon_curves::{
    build::{self, Policy, Request},
    engine::PriorMode,
    grid::Granularity,
    shape::HourlyShape,
};
use carbon_service::curves::{CurveJob, check_id, history, inputs_json, run_build};
use carbon_store::CurveStore;
use chrono::{NaiveDate, SecondsFormat};
use serde_json::{Value, json};

use super::{UserError, flag, open_store, output, runtime};
use crate::{cli::CurveBuildArgs, config::Config};

fn read(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| UserError(format!("{}: {e}", path.display())).into())
}

fn day(name: &str, v: &str) -> Result<NaiveDate> {
    flag(name, NaiveDate::parse_from_str(v, "%Y-%m-%d"))
}

/// Runs the build and writes the curve (and the report).
pub fn build(config: &Config, args: &CurveBuildArgs) -> Result<ExitCode> {
    let market: Market = flag("--market", args.market.parse())?;
    let granularity: Granularity = flag("--grid", args.grid.parse())?;
    let policy: Policy = flag("--policy", args.policy.parse())?;
    let trade_date = day("--trade-date", &args.trade_date)?;
    let mode = match args.prior_mode.as_str() {
        "additive" => PriorMode::Additive,
        "multiplicative" => PriorMode::Multiplicative,
        o => {
            return Err(UserError(format!(
                "--prior-mode `{o}`: expected additive or multiplicative"
            ))
            .into());
        }
    };
    if args.format != "csv" && args.format != "json" {
        return Err(UserError(format!("--format `{}`: expected csv or json", args.format)).into());
    }
    if let Some(id) = &args.curve_id {
        check_id("--curve-id", id).map_err(UserError)?;
    }
    check_id("--scenario-id", &args.scenario_id).map_err(UserError)?;
    if !(args.tension.is_finite() && args.tension >= 0.0) {
        return Err(UserError("--tension must be a number ≥ 0".into()).into());
    }
    let name = args.contracts.display().to_string();
    let contracts = build::parse_contracts(&name, &read(&args.contracts)?)
        .map_err(|e| UserError(e.to_string()))?;
    let mut req = Request::new(market, trade_date, granularity, contracts);
    req.policy = policy;
    req.tension = args.tension;
    req.discount_rate = args.discount_rate;
    req.until = args
        .until
        .as_deref()
        .map(|u| day("--until", u))
        .transpose()?;
    req.flat_long_end = args.flat_long_end;
    let grid = || {
        build::grid_for(market, granularity, &req.contracts, req.until)
            .map_err(|e| anyhow::Error::from(UserError(e.to_string())))
    };
    let rt = runtime()?;
    // The store is opened only when a stored shape or a stored run needs it.
    let store = if args.shape_from.is_some() || args.curve_id.is_some() {
        Some(open_store(config)?)
    } else {
        None
    };
    let prior_source = match (&args.prior, &args.shape_from, &store) {
        (Some(p), _, _) => {
            let values = build::parse_prior(&p.display().to_string(), &read(p)?, &grid()?)
                .map_err(|e| UserError(e.to_string()))?;
            let source = json!({ "kind": "csv", "file": p.display().to_string(),
                "mode": args.prior_mode, "values": values });
            req.prior = Some((values, mode));
            source
        }
        (None, Some(spec), Some(store)) => {
            // `INSTRUMENT` or `INSTRUMENT@RUN` (default run: da).
            let (id, run) = spec.split_once('@').unwrap_or((spec, "da"));
            let id: InstrumentId = flag("--shape-from", id.parse())?;
            let run: MarketRun = flag("--shape-from", run.parse())?;
            let rows = rt.block_on(history(store.as_ref(), &id, run))?;
            let shape = HourlyShape::from_prices(market, &rows)
                .map_err(|m| UserError(format!("--shape-from {}: {m}", id.as_str())))?;
            errln!(
                "shape from {} ({}): {} hours of history, months {:?}",
                id.as_str(),
                run.as_str(),
                shape.hours_used,
                shape.months_with_history
            );
            req.prior = Some((shape.prior(&grid()?), PriorMode::Multiplicative));
            json!({ "kind": "shape_from_history", "instrument_id": id.as_str(),
                "market_run": run.as_str(), "hours_used": shape.hours_used,
                "months_with_history": shape.months_with_history })
        }
        _ => Value::Null,
    };
    let mut inputs = inputs_json(&req, prior_source);
    inputs["contracts_file"] = json!(name);
    let job = CurveJob {
        request: req,
        curve_id: args.curve_id.clone(),
        scenario_id: args.scenario_id.clone(),
        created_by: "cli".into(),
        inputs,
    };
    let curves = store.map(|s| s as Arc<dyn CurveStore>);
    let outcome = match rt.block_on(run_build(curves, job))? {
        Ok(o) => o,
        Err(f) => {
            let mut m = f.message;
            if let Some(id) = f.run_id {
                m.push_str(&format!(" (recorded as failed run {id})"));
            }
            return Err(UserError(m).into());
        }
    };
    let t = |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut out = output(args.out.as_deref())?;
    if args.format == "csv" {
        writeln!(out, "delivery_start,delivery_end,price")?;
        for p in &outcome.points {
            writeln!(
                out,
                "{},{},{}",
                t(p.delivery_start),
                t(p.delivery_end),
                p.price
            )?;
        }
    } else {
        let points: Vec<Value> = outcome
            .points
            .iter()
            .map(|p| {
                json!({ "delivery_start": t(p.delivery_start), "delivery_end": t(p.delivery_end),
                "tenor": p.tenor, "price": p.price })
            })
            .collect();
        writeln!(
            out,
            "{}",
            json!({ "input_hash": outcome.built.input_hash, "run_id": outcome.run_id, "points": points })
        )?;
    }
    out.flush()?;
    if let Some(id) = &outcome.run_id {
        errln!(
            "stored curve {} as of {trade_date} (scenario {}) as run {id}",
            args.curve_id.as_deref().unwrap_or_default(),
            args.scenario_id
        );
    }
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&outcome.report)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
