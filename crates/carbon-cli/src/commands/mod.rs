//! Command implementations. Each takes the effective [`Config`] and its
//! arguments and returns an exit code; errors bubble up as `anyhow` with context.

mod admin;
mod calendar;
mod curve;
mod db;
mod ingest;
mod jobs;
pub mod live;
mod query;
mod research;

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::Path,
    process::ExitCode,
};

use anyhow::{Context, Result};
use carbon_store::DuckdbStore;
use tracing_subscriber::EnvFilter;

use crate::{
    cli::{CalendarCommand, Cli, Command, ConfigCommand, DbCommand, Format, QueryCommand},
    config::{Config, LogFormat},
    output::{Cell, RowWriter},
};

/// An error caused by what the user typed (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// Whether an error chain was caused by user input rather than a failure.
pub fn is_user_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<UserError>().is_some()
            || c.downcast_ref::<carbon_core::Error>().is_some()
            || c.downcast_ref::<carbon_store::Error>()
                .is_some_and(|s| s.is_user_error())
    }) || e.chain().any(|c| {
        c.downcast_ref::<carbon_ingest::Error>().is_some_and(|e| {
            matches!(
                e,
                carbon_ingest::Error::Parse(_) | carbon_ingest::Error::Io(_)
            )
        })
    })
}

/// A service's error as the CLI reports it: the caller's mistakes (exit 2)
/// name the parameter they concern; failures of the platform are exit 1.
pub(crate) fn service_error(e: carbon_service::Error) -> anyhow::Error {
    use carbon_service::Error as E;
    if !e.is_user_error() {
        return anyhow::Error::new(e);
    }
    UserError(match &e {
        E::Invalid { param, message } => format!("{param}: {message}"),
        E::Unprocessable {
            param: Some(p),
            message,
            ..
        } => format!("{p}: {message}"),
        other => other.to_string(),
    })
    .into()
}

/// Wraps a parse error with the flag it came from.
pub(crate) fn flag<T, E: std::fmt::Display>(name: &str, r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| UserError(format!("{name}: {e}")).into())
}

/// Runs the parsed command line; `carbon serve` runs `front` (the binary's
/// HTTP API).
pub fn run(cli: Cli, front: &mut dyn live::Front) -> Result<ExitCode> {
    let (config, file) = Config::load(cli.config.as_deref(), &cli.overrides())?;
    init_logging(&config)?;
    tracing::debug!(config_file = ?file, data_dir = %config.data_dir.display(), "configuration loaded");
    match cli.command {
        Command::Init => init(&config),
        Command::Db {
            command: DbCommand::Stats { market, format },
        } => db::stats(&config, market.as_deref(), format),
        Command::Db {
            command: DbCommand::Compact,
        } => live::compact(&config),
        Command::Backfill(args) => live::backfill(&config, &args),
        Command::Poll { connector, job } => live::poll(&config, &connector, &job),
        Command::Serve {
            bind,
            no_schedule,
            exit_after,
            tls_cert,
            tls_key,
        } => live::serve(
            &config,
            live::ServeArgs {
                bind,
                no_schedule,
                exit_after,
                tls: tls_cert
                    .zip(tls_key)
                    .map(|(cert, key)| live::TlsPaths { cert, key }),
            },
            front,
        ),
        Command::Query {
            command: QueryCommand::Prices(args),
        } => query::prices(&config, &args),
        Command::Ingest { command } => ingest::run(&config, command),
        Command::Quality { run, limit, format } => ingest::quality(&config, run, limit, format),
        Command::Markets { format } => markets(format),
        Command::Calendar { command } => match command {
            CalendarCommand::Holidays { year } => calendar::holidays(year),
            CalendarCommand::Hours {
                market,
                year,
                format,
            } => calendar::hours(&market, year, format),
        },
        Command::Admin { command } => admin::admin(&config, command),
        Command::Audit { command } => admin::audit(&config, command),
        Command::Jobs { command } => jobs::jobs(&config, command),
        Command::Curve {
            command: crate::cli::CurveCommand::Build(args),
        } => curve::build(&config, &args),
        Command::Research { command } => research::research(&config, command),
        Command::Backtest(args) => research::backtest(&config, &args),
        Command::Fundamentals { command } => research::fundamentals(&config, command),
        Command::Config {
            command: ConfigCommand::Show,
        } => {
            if let Some(f) = &file {
                println!("# from {} + environment + flags", f.display());
            } else {
                println!("# defaults + environment + flags (no carbon.toml found)");
            }
            print!("{}", toml::to_string_pretty(&config)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init_logging(config: &Config) -> Result<()> {
    let filter = EnvFilter::try_new(&config.log.level)
        .map_err(|e| UserError(format!("log filter `{}`: {e}", config.log.level)))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr);
    let res = match config.log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    // A second init (tests) is harmless.
    drop(res);
    Ok(())
}

/// Opens the store of the configured data directory.
pub(crate) fn open_store(config: &Config) -> Result<DuckdbStore> {
    Ok(DuckdbStore::open(&config.data_dir)?)
}

/// A tokio runtime for the async store API.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Standard output or a file.
pub(crate) fn output(path: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    })
}

fn init(config: &Config) -> Result<ExitCode> {
    let store = std::sync::Arc::new(open_store(config)?);
    runtime()?.block_on(async {
        let access = admin::open_access(config, store.clone()).await?;
        admin::bootstrap(&access, &config.data_dir).await
    })?;
    store.checkpoint()?;
    println!("data directory: {}", config.data_dir.display());
    println!("database:       {}", store.path().display());
    println!("schema version: {}", store.schema_version()?);
    println!(
        "ready. Open it in DuckDB with: duckdb {}",
        store.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

fn markets(format: Format) -> Result<ExitCode> {
    let mut w = RowWriter::new(
        output(None)?,
        format,
        &[
            "market",
            "name",
            "zone",
            "peak_days",
            "peak_hour_endings",
            "clock",
        ],
    )?;
    for m in carbon_core::Market::ALL {
        let i = m.info();
        w.row(vec![
            Cell::Text(i.code.into()),
            Cell::Text(i.name.into()),
            Cell::Text(i.zone.name().into()),
            Cell::Text(
                match i.peak.days {
                    carbon_core::PeakDays::MonFri => "Mon-Fri",
                    carbon_core::PeakDays::MonSat => "Mon-Sat",
                }
                .into(),
            ),
            Cell::Text(format!(
                "HE{}-HE{}",
                i.peak.first_hour_ending, i.peak.last_hour_ending
            )),
            Cell::Text(i.clock_note.into()),
        ])?;
    }
    w.finish()?;
    Ok(ExitCode::SUCCESS)
}
