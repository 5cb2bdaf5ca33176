//! `carbon jobs …`: the durable job queue in the data directory (list, show,
//! wait, cancel). Jobs run in `carbon serve`'s workers.

use std::{process::ExitCode, time::Duration};

use anyhow::Result;
use carbon_service::jobs::Jobs;
use carbon_store::{JobFilter, JobStatus};

use super::{UserError, open_store, output, runtime, service_error};
use crate::{
    cli::JobsCommand,
    config::Config,
    output::{Cell, RowWriter},
};

/// `carbon jobs …`
pub fn jobs(config: &Config, command: JobsCommand) -> Result<ExitCode> {
    let jobs = match super::shared() {
        Some(s) => s.jobs.clone(),
        None => {
            let store = open_store(config)?;
            Jobs::new(
                store.clone(),
                carbon_service::research::ResearchDeps::of(store),
            )
        }
    };
    let rt = runtime()?;
    rt.block_on(async {
        match command {
            JobsCommand::List {
                tenant,
                status,
                kind,
                limit,
                format,
            } => {
                let status = status
                    .map(|s| {
                        JobStatus::parse(&s).ok_or_else(|| {
                            UserError(format!(
                                "--status {s}: queued, running, succeeded, failed or cancelled"
                            ))
                        })
                    })
                    .transpose()?;
                let list = jobs
                    .list(JobFilter {
                        tenant,
                        status,
                        kind,
                        limit: Some(limit),
                    })
                    .await
                    .map_err(service_error)?;
                let mut w = RowWriter::new(
                    output(None)?,
                    format,
                    &[
                        "id", "kind", "tenant", "owner", "status", "progress", "created",
                        "finished", "result", "error",
                    ],
                )?;
                for j in list {
                    w.row(vec![
                        Cell::Text(j.id),
                        Cell::Text(j.kind),
                        Cell::Text(j.tenant),
                        Cell::Text(j.owner),
                        Cell::Text(j.status.as_str().into()),
                        Cell::Num(j.progress),
                        Cell::time(j.created),
                        Cell::time_or_empty(j.finished),
                        j.result
                            .map(|r| Cell::Text(r.to_string()))
                            .unwrap_or(Cell::Empty),
                        j.error.map(Cell::Text).unwrap_or(Cell::Empty),
                    ])?;
                }
                w.finish()?;
                Ok(ExitCode::SUCCESS)
            }
            JobsCommand::Show { id } => {
                let j = jobs
                    .get(&id)
                    .await
                    .map_err(service_error)?
                    .ok_or_else(|| UserError(format!("no job `{id}`")))?;
                outln!("{}", serde_json::to_string_pretty(&j)?);
                Ok(ExitCode::SUCCESS)
            }
            JobsCommand::Wait { id, timeout } => {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
                loop {
                    let j = jobs
                        .get(&id)
                        .await
                        .map_err(service_error)?
                        .ok_or_else(|| UserError(format!("no job `{id}`")))?;
                    if j.status.is_final() {
                        outln!(
                            "job {id} {}{}",
                            j.status.as_str(),
                            j.result
                                .map(|r| format!(": {r}"))
                                .or(j.error.map(|e| format!(": {e}")))
                                .unwrap_or_default()
                        );
                        return Ok(if j.status == JobStatus::Succeeded {
                            ExitCode::SUCCESS
                        } else {
                            ExitCode::from(1)
                        });
                    }
                    if tokio::time::Instant::now() >= deadline {
                        outln!(
                            "job {id} still {} after {timeout} s ({:.0}%: {})",
                            j.status.as_str(),
                            j.progress * 100.0,
                            j.message
                        );
                        return Ok(ExitCode::from(1));
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
            JobsCommand::Cancel { id } => {
                let status = jobs.cancel(&id).await.map_err(service_error)?;
                match status {
                    JobStatus::Running => {
                        outln!("job {id}: cancel requested; its worker stops at its next check")
                    }
                    s => outln!("job {id}: {}", s.as_str()),
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
