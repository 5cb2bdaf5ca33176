//! `carbon export …`: the download center from the command line. Beside a
//! running server an export is queued as a job of the server's workers;
//! without one it is written here and now. Either way the files land in the
//! configured object store with their manifest.

use std::{process::ExitCode, sync::Arc};

use anyhow::Result;
use carbon_service::{
    datasets::{DataExport, DataSpec},
    exports::{ExportFormat, ExportSpec, Exports},
    research::Progress,
};

use super::{UserError, open_store, output, runtime, service_error};
use crate::{
    cli::{ExportCommand, ExportPricesArgs},
    config::Config,
    output::{Cell, RowWriter},
};

fn spec(a: &ExportPricesArgs) -> Result<ExportSpec> {
    let prices = super::query::build_query(&a.query)?;
    let format: ExportFormat =
        serde_json::from_value(serde_json::Value::String(a.file_format.clone())).map_err(|_| {
            UserError(format!(
                "--as {}: csv, parquet, jsonl or xlsx",
                a.file_format
            ))
        })?;
    Ok(ExportSpec {
        prices,
        format,
        gzip: a.gzip,
        idempotency_key: a.idempotency_key.clone(),
        feed: None,
    })
}

pub(super) fn service(config: &Config) -> Result<Arc<Exports>> {
    if let Some(e) = super::shared().and_then(|s| s.exports.clone()) {
        return Ok(e);
    }
    super::exports::open(config, open_store(config)?)
}

/// `carbon export …`
pub fn export(config: &Config, command: ExportCommand) -> Result<ExitCode> {
    let exports = service(config)?;
    let rt = runtime()?;
    rt.block_on(async {
        match command {
            ExportCommand::Estimate(a) => {
                let e = exports.estimate(&spec(&a)?).await.map_err(service_error)?;
                outln!(
                    "about {} rows, {} bytes, {} part(s)",
                    e.rows,
                    e.bytes,
                    e.parts
                );
                Ok(ExitCode::SUCCESS)
            }
            ExportCommand::Prices(a) => {
                let s = spec(&a)?;
                let (e, fresh) = exports
                    .create(&a.tenant, &a.owner, &s)
                    .await
                    .map_err(service_error)?;
                if !fresh {
                    outln!("{} (made earlier with this key): {}", e.id, e.status);
                    return Ok(ExitCode::SUCCESS);
                }
                if let Some(done) = queue_or_run(&exports, e, &a.owner).await? {
                    print_parts(&done);
                }
                Ok(ExitCode::SUCCESS)
            }
            ExportCommand::Fundamentals {
                entity,
                variable,
                start,
                end,
                as_of,
                file,
            } => {
                let at = |flag: &str, v: Option<String>| -> Result<_> {
                    v.map(|v| {
                        carbon_core::time::parse_instant(&v, None)
                            .map_err(|e| UserError(format!("--{flag}: {e}")).into())
                    })
                    .transpose()
                };
                let data = DataSpec::Fundamentals {
                    entity,
                    variable,
                    start: at("start", start)?,
                    end: at("end", end)?,
                    as_of: at("as-of", as_of)?,
                    scenario_id: None,
                };
                write_data(&exports, data, file).await
            }
            ExportCommand::CurveRun { run_id, file } => {
                write_data(&exports, DataSpec::CurveRun { run_id }, file).await
            }
            ExportCommand::ResearchRun { run_id, file } => {
                write_data(&exports, DataSpec::ResearchRun { run_id }, file).await
            }
            ExportCommand::List { tenant, format } => {
                let list = exports.list(&tenant, 1000).await.map_err(service_error)?;
                let mut w = RowWriter::new(
                    output(None)?,
                    format,
                    &[
                        "id", "status", "format", "gzip", "rows", "bytes", "created", "expires",
                        "error",
                    ],
                )?;
                for e in list {
                    w.row(vec![
                        Cell::Text(e.id),
                        Cell::Text(e.status),
                        Cell::Text(e.format),
                        Cell::Text(e.gzip.to_string()),
                        Cell::Int(e.rows),
                        Cell::Int(e.bytes),
                        Cell::time(e.created),
                        Cell::time(e.expires),
                        e.error.map_or(Cell::Empty, Cell::Text),
                    ])?;
                }
                w.finish()?;
                Ok(ExitCode::SUCCESS)
            }
            ExportCommand::Show { id, tenant } => {
                let e = exports.get(&tenant, &id).await.map_err(service_error)?;
                outln!("{}", serde_json::to_string_pretty(&e)?);
                Ok(ExitCode::SUCCESS)
            }
            ExportCommand::Link {
                id,
                file,
                ttl,
                tenant,
            } => {
                if !(1..=7 * 86_400).contains(&ttl) {
                    return Err(UserError("--ttl: 1 to 604800 seconds".into()).into());
                }
                let e = exports.get(&tenant, &id).await.map_err(service_error)?;
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

/// Writes a non-price export here and now (beside a server: queued as its job).
async fn write_data(
    exports: &Arc<Exports>,
    data: DataSpec,
    file: crate::cli::ExportFileArgs,
) -> Result<ExitCode> {
    let format: ExportFormat = serde_json::from_value(serde_json::Value::String(
        file.file_format.clone(),
    ))
    .map_err(|_| {
        UserError(format!(
            "--as {}: csv, parquet, jsonl or xlsx",
            file.file_format
        ))
    })?;
    let spec = DataExport {
        data,
        format,
        gzip: file.gzip,
        idempotency_key: None,
    };
    let (e, _) = exports
        .create_data(&file.tenant, "cli", &spec)
        .await
        .map_err(service_error)?;
    if let Some(done) = queue_or_run(exports, e, "cli").await? {
        print_parts(&done);
    }
    Ok(ExitCode::SUCCESS)
}

/// Beside a running server: queued as its job (`None`). Alone: written here
/// and now, progress on stderr, the finished export returned.
pub(super) async fn queue_or_run(
    exports: &Arc<Exports>,
    e: carbon_store::Export,
    owner: &str,
) -> Result<Option<carbon_store::Export>> {
    if let Some(shared) = super::shared() {
        let e = shared
            .jobs
            .queue_export(exports, e, owner)
            .await
            .map_err(service_error)?;
        let job = e.job_id.unwrap_or_default();
        outln!("{} queued as {job} (carbon jobs wait {job})", e.id);
        return Ok(None);
    }
    let report: carbon_service::research::Report = Arc::new(|_, what: &str| errln!("… {what}"));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = exports
        .run(&e.tenant, &e.id, Progress::new(report, stop))
        .await
        .map_err(service_error)?;
    Ok(Some(done))
}

/// The totals and each file of a finished export.
fn print_parts(done: &carbon_store::Export) {
    outln!("{}: {} rows, {} bytes", done.id, done.rows, done.bytes);
    for p in done
        .manifest
        .iter()
        .flat_map(|m| m["parts"].as_array().cloned().unwrap_or_default())
    {
        outln!(
            "  {} {} rows sha256 {}",
            p["name"].as_str().unwrap_or_default(),
            p["rows"],
            p["sha256"].as_str().unwrap_or_default()
        );
    }
}
