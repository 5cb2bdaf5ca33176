//! `carbon feed …`: scheduled feeds. Beside a running server the commands
//! use its feeds service (a feed fired there runs on its workers); alone,
//! `run` starts a worker here and waits for the file.

use std::{process::ExitCode, sync::Arc};

use anyhow::Result;
use carbon_service::feeds::{FeedDays, FeedSpec, Feeds};
use serde_json::json;

use super::{UserError, open_store, output, runtime, service_error};
use crate::{
    cli::FeedCommand,
    config::Config,
    output::{Cell, RowWriter},
};

/// The feeds service: the running server's, or one over the data dir.
fn service(config: &Config) -> Result<(Arc<Feeds>, Option<Arc<carbon_service::jobs::Jobs>>)> {
    if let Some(s) = super::shared()
        && let Some(f) = s.feeds.clone()
    {
        return Ok((f, None));
    }
    let store = open_store(config)?;
    let exports = super::exports::open(config, store.clone())?;
    let jobs = carbon_service::jobs::Jobs::new(
        store.clone(),
        carbon_service::research::ResearchDeps::of(store.clone()),
    );
    jobs.set_exports(exports.clone());
    Ok((Feeds::new(store, exports, jobs.clone()), Some(jobs)))
}

pub fn feed(config: &Config, command: FeedCommand) -> Result<ExitCode> {
    let (feeds, local_jobs) = service(config)?;
    let rt = runtime()?;
    let enable = matches!(command, FeedCommand::Resume { .. });
    rt.block_on(async {
        match command {
            FeedCommand::Create {
                name,
                instruments,
                brief,
                day_of_month,
                market_runs,
                file_format,
                gzip,
                at,
                weekdays,
                days_back,
                destination,
                prefix,
                run_now,
                tenant,
            } => {
                let mut v = json!({
                    "instruments": instruments, "format": file_format, "gzip": gzip, "at": at,
                    "days": if weekdays { FeedDays::Weekdays } else { FeedDays::Every },
                    "days_back": days_back, "destination": destination, "prefix": prefix,
                });
                if !market_runs.is_empty() {
                    v["market_runs"] = json!(market_runs);
                }
                if let Some(m) = brief {
                    v["kind"] = json!("brief");
                    v["market"] = json!(m.to_ascii_uppercase());
                    v["day_of_month"] = json!(day_of_month);
                }
                let spec: FeedSpec =
                    serde_json::from_value(v).map_err(|e| UserError(format!("the feed: {e}")))?;
                let f = feeds
                    .create(&tenant, "cli", &name, spec, run_now)
                    .await
                    .map_err(service_error)?;
                outln!("{}: next due {}", f.id, carbon_service::rfc3339(f.next_due));
                Ok(ExitCode::SUCCESS)
            }
            FeedCommand::List { tenant, format } => {
                let list = feeds.list(&tenant).await.map_err(service_error)?;
                let mut w = RowWriter::new(
                    output(None)?,
                    format,
                    &[
                        "id",
                        "name",
                        "enabled",
                        "next_due",
                        "last_run",
                        "last_success",
                        "failures",
                        "runs",
                        "last_error",
                    ],
                )?;
                for f in list {
                    w.row(vec![
                        Cell::Text(f.id),
                        Cell::Text(f.name),
                        Cell::Text(f.enabled.to_string()),
                        Cell::time(f.next_due),
                        f.last_run.map_or(Cell::Empty, Cell::time),
                        f.last_success.map_or(Cell::Empty, Cell::time),
                        Cell::Int(u64::from(f.failures)),
                        Cell::Int(f.runs),
                        f.last_error.map_or(Cell::Empty, Cell::Text),
                    ])?;
                }
                w.finish()?;
                Ok(ExitCode::SUCCESS)
            }
            FeedCommand::Runs { id, tenant } => {
                for e in feeds
                    .history(&tenant, &id, 100)
                    .await
                    .map_err(service_error)?
                {
                    outln!(
                        "{} {} {} rows {}",
                        e.id,
                        e.status,
                        e.spec["feed"]["folder"].as_str().unwrap_or_default(),
                        e.rows
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            FeedCommand::Run { id, tenant } => {
                let e = feeds
                    .fire(&tenant, &id, chrono::Utc::now())
                    .await
                    .map_err(service_error)?;
                let Some(jobs) = local_jobs else {
                    outln!(
                        "{} queued on the server (carbon jobs wait {})",
                        e.id,
                        e.job_id.unwrap_or_default()
                    );
                    return Ok(ExitCode::SUCCESS);
                };
                // No server: a worker here writes it, and we wait.
                let workers = jobs.start_workers(1);
                let exports = super::export::service(config)?;
                let done = loop {
                    let now = exports.get(&tenant, &e.id).await.map_err(service_error)?;
                    if !matches!(now.status.as_str(), "queued" | "running") {
                        break now;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                };
                for w in workers {
                    w.abort();
                }
                outln!(
                    "{}: {} ({} rows) into {}",
                    done.id,
                    done.status,
                    done.rows,
                    done.spec["feed"]["folder"].as_str().unwrap_or_default()
                );
                Ok(if done.status == "succeeded" {
                    ExitCode::SUCCESS
                } else {
                    errln!("{}", done.error.unwrap_or_default());
                    ExitCode::from(1)
                })
            }
            FeedCommand::Pause { id, tenant } | FeedCommand::Resume { id, tenant } => {
                let f = feeds
                    .set_enabled(&tenant, &id, enable)
                    .await
                    .map_err(service_error)?;
                outln!(
                    "{}: {}, next due {}",
                    f.id,
                    if f.enabled { "enabled" } else { "paused" },
                    carbon_service::rfc3339(f.next_due)
                );
                Ok(ExitCode::SUCCESS)
            }
            FeedCommand::Delete { id, tenant } => {
                feeds.delete(&tenant, &id).await.map_err(service_error)?;
                outln!("{id}: deleted");
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
