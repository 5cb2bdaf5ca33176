//! `carbon report create|list|link`: monthly market briefs in the download
//! center. Without a running server a brief is gathered, rendered and stored
//! here and now; beside one (`carbon serve` sharing its store) it is queued
//! as a job like the API's.

use std::process::ExitCode;

use anyhow::Result;
use carbon_service::{exports::BRIEF_DATASET, reports::BriefSpec};

use super::{UserError, output, runtime, service_error};
use crate::{
    cli::ReportCommand,
    config::Config,
    output::{Cell, RowWriter},
};

pub fn report(config: &Config, command: ReportCommand) -> Result<ExitCode> {
    let exports = super::export::service(config)?;
    let rt = runtime()?;
    rt.block_on(async {
        match command {
            ReportCommand::Create {
                market,
                month,
                out,
                idempotency_key,
                tenant,
            } => {
                let market: carbon_core::Market = market
                    .parse()
                    .map_err(|e: carbon_core::Error| UserError(format!("--market: {e}")))?;
                // The platform tenant (the operator) sees every hub, curve
                // and fundamental of the market.
                let spec = BriefSpec {
                    market,
                    month,
                    hubs: None,
                    curves: true,
                    fundamentals: true,
                    market_wide: true,
                    feed: None,
                };
                let (e, fresh) = exports
                    .create_report(&tenant, "cli", &spec, idempotency_key)
                    .await
                    .map_err(service_error)?;
                if !fresh {
                    outln!("{} (made earlier with this key): {}", e.id, e.status);
                    return Ok(ExitCode::SUCCESS);
                }
                let Some(done) = super::export::queue_or_run(&exports, e, "cli").await? else {
                    return Ok(ExitCode::SUCCESS);
                };
                outln!("{}: {} bytes", done.id, done.bytes);
                let names: Vec<String> = done
                    .manifest
                    .iter()
                    .flat_map(|m| m["parts"].as_array().cloned().unwrap_or_default())
                    .filter_map(|p| p["name"].as_str().map(str::to_string))
                    .collect();
                for name in &names {
                    match &out {
                        Some(dir) => {
                            std::fs::create_dir_all(dir)
                                .map_err(|x| UserError(format!("--out {}: {x}", dir.display())))?;
                            let bytes = exports
                                .file_bytes(&done, name)
                                .await
                                .map_err(service_error)?;
                            let path = dir.join(name);
                            std::fs::write(&path, &bytes).map_err(|x| {
                                UserError(format!("writing {}: {x}", path.display()))
                            })?;
                            outln!("  {}", path.display());
                        }
                        None => outln!("  {name}"),
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            ReportCommand::List { tenant, format } => {
                let list = exports.list(&tenant, 10_000).await.map_err(service_error)?;
                let mut w = RowWriter::new(
                    output(None)?,
                    format,
                    &[
                        "id", "market", "month", "status", "bytes", "created", "expires", "error",
                    ],
                )?;
                for e in list.into_iter().filter(|e| e.dataset == BRIEF_DATASET) {
                    let text = |k: &str| Cell::Text(e.spec[k].as_str().unwrap_or_default().into());
                    w.row(vec![
                        Cell::Text(e.id.clone()),
                        text("market"),
                        text("month"),
                        Cell::Text(e.status.clone()),
                        Cell::Int(e.bytes),
                        Cell::time(e.created),
                        Cell::time(e.expires),
                        e.error.clone().map_or(Cell::Empty, Cell::Text),
                    ])?;
                }
                w.finish()?;
                Ok(ExitCode::SUCCESS)
            }
            ReportCommand::Link {
                id,
                file,
                ttl,
                tenant,
            } => {
                if !(1..=7 * 86_400).contains(&ttl) {
                    return Err(UserError("--ttl: 1 to 604800 seconds".into()).into());
                }
                let e = exports.get(&tenant, &id).await.map_err(service_error)?;
                if e.dataset != BRIEF_DATASET {
                    return Err(UserError(format!("`{id}` is an export, not a report")).into());
                }
                let url = exports
                    .link(
                        &e,
                        &file,
                        chrono::Duration::seconds(ttl as i64),
                        chrono::Utc::now(),
                    )
                    .await
                    .map_err(service_error)?;
                outln!("{url}");
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
