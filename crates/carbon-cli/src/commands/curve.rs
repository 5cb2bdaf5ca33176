//! `carbon curve build`: contracts (and a prior) in, the curve and its report out.

use std::{io::Write, process::ExitCode};

use anyhow::{Context, Result};
use carbon_core::Market;
use carbon_curves::{
    build::{self, Policy, Request},
    engine::PriorMode,
    grid::Granularity,
    reconcile::Finding,
};
use chrono::{NaiveDate, SecondsFormat};
use serde_json::{Value, json};

use super::{UserError, flag, output};
use crate::cli::CurveBuildArgs;

fn read(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| UserError(format!("{}: {e}", path.display())).into())
}

fn finding_json(f: &Finding) -> Value {
    match f {
        Finding::Nested {
            parent,
            children,
            parent_price,
            implied,
            gap,
        } => json!({
            "kind": "nested", "parent": parent, "children": children,
            "parent_price": parent_price, "implied": implied, "gap": gap,
        }),
        Finding::Overlap { a, b } => json!({ "kind": "overlap", "contracts": [a, b] }),
    }
}

/// Runs the build and writes the curve (and the report).
pub fn build(args: &CurveBuildArgs) -> Result<ExitCode> {
    let market: Market = flag("--market", args.market.parse())?;
    let granularity: Granularity = flag("--grid", args.grid.parse())?;
    let policy: Policy = flag("--policy", args.policy.parse())?;
    let trade_date = flag(
        "--trade-date",
        NaiveDate::parse_from_str(&args.trade_date, "%Y-%m-%d"),
    )?;
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
    let name = args.contracts.display().to_string();
    let contracts = build::parse_contracts(&name, &read(&args.contracts)?)
        .map_err(|e| UserError(e.to_string()))?;
    let prior = match &args.prior {
        None => None,
        Some(p) => {
            let grid = build::grid_for(market, granularity, &contracts)
                .map_err(|e| UserError(e.to_string()))?;
            let values = build::parse_prior(&p.display().to_string(), &read(p)?, &grid)
                .map_err(|e| UserError(e.to_string()))?;
            Some((values, mode))
        }
    };
    let req = Request {
        market,
        trade_date,
        granularity,
        contracts,
        prior,
        policy,
        tension: args.tension,
    };
    let built = build::build(&req).map_err(|e| UserError(e.to_string()))?;
    let t = |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut out = output(args.out.as_deref())?;
    if args.format == "csv" {
        writeln!(out, "delivery_start,delivery_end,price")?;
        for (p, v) in built.grid.points.iter().zip(&built.curve) {
            writeln!(out, "{},{},{v}", t(p.start), t(p.end))?;
        }
    } else {
        let points: Vec<Value> = built
            .grid
            .points
            .iter()
            .zip(&built.curve)
            .map(|(p, v)| json!({ "delivery_start": t(p.start), "delivery_end": t(p.end), "price": v }))
            .collect();
        writeln!(
            out,
            "{}",
            json!({ "input_hash": built.input_hash, "points": points })
        )?;
    }
    out.flush()?;
    if let Some(path) = &args.report {
        let report = json!({
            "input_hash": built.input_hash,
            "engine": build::ENGINE_VERSION,
            "market": market.code(),
            "trade_date": trade_date.to_string(),
            "grid": args.grid,
            "policy": args.policy,
            "solver": built.solver,
            "objective": built.objective,
            "contracts": built.contracts.iter().map(|c| json!({
                "name": c.name, "quoted": c.quoted, "repriced": c.repriced,
                "error": c.error, "dual": c.dual, "dropped": c.dropped,
            })).collect::<Vec<_>>(),
            "reconciliation": built.findings.iter().map(finding_json).collect::<Vec<_>>(),
            "views": build::views(&built.grid, &built.curve, &carbon_core::Block::ALL)
                .iter()
                .map(|v| json!({
                    "period": v.period, "block": v.block.as_str(),
                    "price": v.price, "partial": v.partial,
                }))
                .collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
