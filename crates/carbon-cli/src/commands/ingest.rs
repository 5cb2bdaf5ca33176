//! `carbon ingest file|runs` and `carbon quality`.

use std::process::ExitCode;

use anyhow::Result;
use carbon_ingest::{
    detect::SourceHint,
    dq::DqConfig,
    files,
    runner::{Outcome, Runner},
};
use carbon_store::{RunFilter, RunLog, RunStatus};

use super::{UserError, flag, open_store, output, runtime};
use crate::{
    cli::{Format, IngestCommand, SourceArg},
    config::Config,
    output::{Cell, RowWriter},
};

pub fn run(config: &Config, command: IngestCommand) -> Result<ExitCode> {
    match command {
        IngestCommand::File {
            paths,
            source,
            vintage,
        } => {
            let vintage = vintage
                .as_deref()
                .map(|v| flag("--vintage", carbon_core::time::parse_instant(v, None)))
                .transpose()?;
            let hint = source.map(|s| match s {
                SourceArg::Miso => SourceHint::Miso,
                SourceArg::Caiso => SourceHint::Caiso,
                SourceArg::Eia => SourceHint::Eia,
            });
            file(config, &paths, hint, vintage)
        }
        IngestCommand::Runs {
            connector,
            limit,
            format,
        } => runs(config, connector, limit, format),
    }
}

fn file(
    config: &Config,
    paths: &[std::path::PathBuf],
    hint: Option<SourceHint>,
    vintage: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<ExitCode> {
    let list = files::collect(paths)?;
    if list.is_empty() {
        return Err(
            UserError("no CSV, JSON, ZIP or XML files found at the given paths".into()).into(),
        );
    }
    let store = open_store(config)?;
    let runner = Runner::new(
        store.clone(),
        store.clone(),
        super::bus(),
        DqConfig::default(),
    )
    .with_fundamentals(store.clone());
    let rt = runtime()?;
    let (mut accepted, mut unchanged, mut rejected, mut failed) = (0u64, 0u64, 0u64, 0usize);
    // The next file is read, parsed and checked while this one is stored.
    rt.block_on(
        runner.ingest_files("file", &list, vintage, hint, |path, outcome| {
            match outcome {
                Outcome::Skipped(why) => outln!("skipped  {}: {why}", path.display()),
                Outcome::Run(r) => {
                    accepted += r.rows_accepted;
                    unchanged += r.rows_unchanged;
                    rejected += r.rows_rejected;
                    match r.status {
                        RunStatus::Ok | RunStatus::Partial => outln!(
                            "{:<8} {}: {} new, {} unchanged, {} quarantined (run {})",
                            r.status.as_str(),
                            path.display(),
                            r.rows_accepted,
                            r.rows_unchanged,
                            r.rows_rejected,
                            r.id
                        ),
                        RunStatus::NoData => outln!(
                            "no_data  {}: {}",
                            path.display(),
                            r.error.unwrap_or_default()
                        ),
                        _ => {
                            failed += 1;
                            errln!("failed   {}", r.error.unwrap_or_default());
                        }
                    }
                }
            }
            Ok::<(), anyhow::Error>(())
        }),
    )?;
    outln!(
        "{} file(s): {accepted} new rows, {unchanged} unchanged, {rejected} quarantined, {failed} failed",
        list.len()
    );
    Ok(if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn runs(
    config: &Config,
    connector: Option<String>,
    limit: usize,
    format: Format,
) -> Result<ExitCode> {
    let store = open_store(config)?;
    let runs = runtime()?.block_on(store.runs(RunFilter {
        connector,
        limit: Some(limit),
        ..Default::default()
    }))?;
    let mut w = RowWriter::new(
        output(None)?,
        format,
        &[
            "id",
            "connector",
            "status",
            "started_utc",
            "seconds",
            "new",
            "unchanged",
            "quarantined",
            "source",
            "error",
        ],
    )?;
    for r in runs {
        let secs = r
            .finished
            .map(|f| (f - r.started).num_milliseconds() as f64 / 1000.0);
        w.row(vec![
            Cell::Text(r.id),
            Cell::Text(r.connector),
            Cell::Text(r.status.as_str().into()),
            Cell::time(r.started),
            Cell::from(secs),
            Cell::Int(r.rows_accepted),
            Cell::Int(r.rows_unchanged),
            Cell::Int(r.rows_rejected),
            Cell::Text(r.source),
            r.error.map(Cell::Text).unwrap_or(Cell::Empty),
        ])?;
    }
    w.finish()?;
    Ok(ExitCode::SUCCESS)
}

pub fn quality(
    config: &Config,
    run: Option<String>,
    limit: usize,
    format: Format,
) -> Result<ExitCode> {
    let store = open_store(config)?;
    let rt = runtime()?;
    if format == Format::Table {
        let runs = rt.block_on(store.runs(RunFilter {
            id: run.clone(),
            limit: Some(20),
            ..Default::default()
        }))?;
        for r in &runs {
            let q = r
                .quality
                .as_ref()
                .map(|q| q.to_string())
                .unwrap_or_default();
            outln!("{} {} {}: {q}", r.id, r.status.as_str(), r.source);
        }
        outln!();
    }
    let rows = rt.block_on(store.quarantined(run, limit))?;
    let mut w = RowWriter::new(
        output(None)?,
        format,
        &[
            "run_id",
            "source",
            "row",
            "instrument_id",
            "market_run",
            "interval_start_utc",
            "reason",
        ],
    )?;
    for q in rows {
        w.row(vec![
            Cell::Text(q.run_id),
            Cell::Text(q.source),
            q.source_row.map(Cell::Int).unwrap_or(Cell::Empty),
            q.instrument_id.map(Cell::Text).unwrap_or(Cell::Empty),
            q.market_run.map(Cell::Text).unwrap_or(Cell::Empty),
            Cell::time_or_empty(q.interval_start),
            Cell::Text(q.reason),
        ])?;
    }
    w.finish()?;
    Ok(ExitCode::SUCCESS)
}
