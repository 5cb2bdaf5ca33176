//! `carbon scenario …`: scenario documents (validate, save as the next
//! version, show, diff, list) and runs (run, runs, compare) of a tenant's
//! scenarios, through the same service as the API.

use std::{process::ExitCode, sync::Arc};

use anyhow::{Context, Result};
use carbon_service::{
    research::{Progress, ResearchDeps},
    scenarios::{self, RunSpec},
};

use super::{open_store, output, runtime, service_error};
use crate::{
    cli::ScenarioCommand,
    config::Config,
    output::{Cell, RowWriter},
};

fn read(path: &std::path::Path) -> Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn num(v: Option<f64>) -> Cell {
    v.map_or(Cell::Empty, Cell::Num)
}

/// `carbon scenario …`
pub fn scenario(config: &Config, command: ScenarioCommand) -> Result<ExitCode> {
    if let ScenarioCommand::Validate { file } = &command {
        let text = read(file)?;
        let v = scenarios::validate(&text);
        return Ok(match v.errors.first() {
            None => {
                outln!("valid ({})", v.format);
                ExitCode::SUCCESS
            }
            Some(e) => {
                errln!("{}: {e}", file.display());
                ExitCode::from(2)
            }
        });
    }
    if let ScenarioCommand::Schema = &command {
        outln!(
            "{}",
            serde_json::to_string_pretty(&carbon_scenario::dsl::schema())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let store = open_store(config)?;
    let deps = ResearchDeps::of(store);
    runtime()?.block_on(async {
        match command {
            ScenarioCommand::Validate { .. } | ScenarioCommand::Schema => unreachable!(),
            ScenarioCommand::Save {
                file,
                id,
                tenant,
                owner,
            } => {
                let text = read(&file)?;
                let v = scenarios::save(&deps, &tenant, &owner, id.as_deref(), &text)
                    .await
                    .map_err(service_error)?;
                outln!(
                    "{} version {} saved ({}, {})",
                    v.scenario_id,
                    v.version,
                    v.name,
                    v.market
                );
                Ok(ExitCode::SUCCESS)
            }
            ScenarioCommand::Show {
                id,
                version,
                tenant,
                json,
            } => {
                let v = scenarios::version(&deps, &tenant, &id, version)
                    .await
                    .map_err(service_error)?;
                if json {
                    outln!("{}", serde_json::to_string_pretty(&v)?);
                } else {
                    out!("{}", v.document);
                    if !v.document.ends_with('\n') {
                        outln!();
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            ScenarioCommand::List { tenant, format } => {
                let list = scenarios::list(&deps, &tenant, None)
                    .await
                    .map_err(service_error)?;
                let mut w = RowWriter::new(
                    output(None)?,
                    format,
                    &[
                        "scenario_id",
                        "name",
                        "market",
                        "latest_version",
                        "created",
                        "updated",
                    ],
                )?;
                for s in list {
                    w.row(vec![
                        Cell::Text(s.scenario_id),
                        Cell::Text(s.name),
                        Cell::Text(s.market),
                        Cell::Int(u64::from(s.latest_version)),
                        Cell::time(s.created),
                        Cell::time(s.updated),
                    ])?;
                }
                w.finish()?;
                Ok(ExitCode::SUCCESS)
            }
            ScenarioCommand::Diff {
                id,
                from,
                to,
                tenant,
                format,
            } => {
                let a = scenarios::version(&deps, &tenant, &id, Some(from))
                    .await
                    .map_err(service_error)?;
                let b = scenarios::version(&deps, &tenant, &id, Some(to))
                    .await
                    .map_err(service_error)?;
                let mut w = RowWriter::new(output(None)?, format, &["field", "from", "to"])?;
                let show = |v: Option<serde_json::Value>| {
                    v.map_or(Cell::Empty, |v| Cell::Text(v.to_string()))
                };
                for c in scenarios::diff(&a.canonical, &b.canonical) {
                    w.row(vec![Cell::Text(c.path), show(c.from), show(c.to)])?;
                }
                w.finish()?;
                Ok(ExitCode::SUCCESS)
            }
            ScenarioCommand::Run {
                id,
                version,
                tenant,
                owner,
                format,
            } => {
                let v = scenarios::version(&deps, &tenant, &id, version)
                    .await
                    .map_err(service_error)?;
                let report: carbon_service::research::Report = Arc::new(|_, what: &str| {
                    errln!("… {what}");
                });
                let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let spec = RunSpec {
                    scenario_id: v.scenario_id.clone(),
                    version: Some(v.version),
                    market: v.market.clone(),
                };
                let o = scenarios::run(
                    &deps,
                    &tenant,
                    &owner,
                    &spec,
                    None,
                    Progress::new(report, stop),
                )
                .await
                .map_err(service_error)?;
                errln!(
                    "{} version {}: curve run {} ({} points over base {}), calibration {}",
                    o.scenario_id,
                    o.version,
                    o.curve_run_id,
                    o.points,
                    o.base_run_id,
                    o.calibration_run_id
                );
                let mut w = RowWriter::new(
                    output(None)?,
                    format,
                    &[
                        "month", "block", "base", "scenario", "delta", "gas", "carbon", "load",
                        "adder", "beta_gas", "p5", "p50", "p95",
                    ],
                )?;
                for m in &o.summary {
                    let band = o
                        .bands
                        .as_ref()
                        .and_then(|b| b.iter().find(|x| x.month == m.month && x.block == m.block));
                    w.row(vec![
                        Cell::Text(m.month.to_string()),
                        Cell::Text(m.block.as_str().into()),
                        Cell::Num(m.base),
                        Cell::Num(m.scenario),
                        Cell::Num(m.delta),
                        Cell::Num(m.attribution.gas),
                        Cell::Num(m.attribution.carbon),
                        Cell::Num(m.attribution.load),
                        Cell::Num(m.attribution.adder),
                        Cell::Num(m.beta_gas),
                        num(band.map(|b| b.p5)),
                        num(band.map(|b| b.p50)),
                        num(band.map(|b| b.p95)),
                    ])?;
                }
                w.finish()?;
                Ok(ExitCode::SUCCESS)
            }
            ScenarioCommand::Runs { id, tenant, format } => {
                let runs = scenarios::runs(&deps, &tenant, &id)
                    .await
                    .map_err(service_error)?;
                let mut w = RowWriter::new(
                    output(None)?,
                    format,
                    &[
                        "curve_run_id",
                        "version",
                        "base_run_id",
                        "calibration_run_id",
                        "job_id",
                        "created",
                    ],
                )?;
                for r in runs {
                    w.row(vec![
                        Cell::Text(r.curve_run_id),
                        Cell::Int(u64::from(r.version)),
                        Cell::Text(r.base_run_id),
                        Cell::Text(r.calibration_run_id),
                        r.job_id.map_or(Cell::Empty, Cell::Text),
                        Cell::time(r.created),
                    ])?;
                }
                w.finish()?;
                Ok(ExitCode::SUCCESS)
            }
            ScenarioCommand::Compare {
                a,
                b,
                tenant,
                format,
            } => {
                let c = scenarios::compare(&deps, &tenant, &a, &b)
                    .await
                    .map_err(service_error)?;
                let mut w = RowWriter::new(
                    output(None)?,
                    format,
                    &[
                        "month",
                        "block",
                        "a_base",
                        "a_scenario",
                        "b_base",
                        "b_scenario",
                        "difference",
                    ],
                )?;
                for r in c.rows {
                    w.row(vec![
                        Cell::Text(r.month),
                        Cell::Text(r.block),
                        num(r.a.as_ref().map(|s| s.base)),
                        num(r.a.as_ref().map(|s| s.scenario)),
                        num(r.b.as_ref().map(|s| s.base)),
                        num(r.b.as_ref().map(|s| s.scenario)),
                        num(r.difference),
                    ])?;
                }
                w.finish()?;
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
