//! Command implementations. Each takes the effective [`Config`] and its
//! arguments and returns an exit code; errors bubble up as `anyhow` with context.

mod admin;
mod calendar;
mod curve;
mod db;
mod export;
mod exports;
mod feed;
mod ingest;
mod jobs;
pub mod live;
mod query;
mod report;
mod research;
mod scenario;

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
/// HTTP API). When a server holds the data directory, every command but
/// `serve`, `config`, `markets` and `calendar` is run by that server for
/// this process ([`crate::local`]), with the same output.
pub fn run(cli: Cli, front: &mut dyn live::Front) -> Result<ExitCode> {
    let (config, file) = Config::load(cli.config.as_deref(), &cli.overrides())?;
    init_logging(&config)?;
    tracing::debug!(config_file = ?file, data_dir = %config.data_dir.display(), "configuration loaded");
    #[cfg(unix)]
    if crate::local::forwarded(&cli.command) {
        let argv: Vec<String> = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        if let Some(code) = crate::local::forward(&config.data_dir, argv)? {
            return Ok(code);
        }
    }
    run_command(&config, file.as_deref(), cli.command, front)
}

/// Runs one command with `config` (`file`: where it came from).
pub(crate) fn run_command(
    config: &Config,
    file: Option<&Path>,
    command: Command,
    front: &mut dyn live::Front,
) -> Result<ExitCode> {
    let config = config.clone();
    match command {
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
        Command::Scenario { command } => scenario::scenario(&config, command),
        Command::Export { command } => export::export(&config, command),
        Command::Report { command } => report::report(&config, command),
        Command::Feed { command } => feed::feed(&config, command),
        Command::Curve {
            command: crate::cli::CurveCommand::Build(args),
        } => curve::build(&config, &args),
        Command::Research { command } => research::research(&config, command),
        Command::Backtest(args) => research::backtest(&config, &args),
        Command::Fundamentals { command } => research::fundamentals(&config, command),
        Command::Config {
            command: ConfigCommand::Show,
        } => {
            if let Some(f) = file {
                outln!("# from {} + environment + flags", f.display());
            } else {
                outln!("# defaults + environment + flags (no carbon.toml found)");
            }
            out!("{}", toml::to_string_pretty(&config)?);
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

/// What a running `carbon serve` shares with the commands it runs for local
/// clients ([`crate::local`]): its one open store (DuckDB has one writer),
/// its event bus (ingests stream to its clients), its access layer (admin
/// changes reach its caches) and its jobs.
pub struct Shared {
    /// The open store.
    pub store: std::sync::Arc<DuckdbStore>,
    /// The event bus the stream serves.
    pub bus: std::sync::Arc<carbon_ingest::bus::InProcessBus>,
    /// Identity, entitlements, audit.
    pub access: std::sync::Arc<carbon_auth::Access>,
    /// Durable jobs.
    pub jobs: std::sync::Arc<carbon_service::jobs::Jobs>,
    /// The download center.
    pub exports: Option<std::sync::Arc<carbon_service::exports::Exports>>,
    /// Scheduled feeds.
    pub feeds: Option<std::sync::Arc<carbon_service::feeds::Feeds>>,
}

static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();

/// The server's shared parts, when this process is `carbon serve`.
pub(crate) fn shared() -> Option<&'static Shared> {
    SHARED.get()
}

/// Makes this process's commands use the server's parts (once).
pub(crate) fn set_shared(s: Shared) {
    let _ = SHARED.set(s);
}

/// The store of the configured data directory (inside `carbon serve`: the
/// server's own).
pub(crate) fn open_store(config: &Config) -> Result<std::sync::Arc<DuckdbStore>> {
    if let Some(s) = shared() {
        return Ok(s.store.clone());
    }
    Ok(std::sync::Arc::new(DuckdbStore::open_with(
        &config.data_dir,
        &config.store,
    )?))
}

/// The event bus ingests publish to (inside `carbon serve`: the one its
/// stream serves).
pub(crate) fn bus() -> std::sync::Arc<carbon_ingest::bus::InProcessBus> {
    shared().map_or_else(Default::default, |s| s.bus.clone())
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
        None => Box::new(BufWriter::new(crate::console::stdout())),
    })
}

fn init(config: &Config) -> Result<ExitCode> {
    let store = open_store(config)?;
    runtime()?.block_on(async {
        let access = admin::open_access(config, store.clone()).await?;
        admin::bootstrap(&access, &config.data_dir).await
    })?;
    store.checkpoint()?;
    outln!("data directory: {}", config.data_dir.display());
    outln!("database:       {}", store.path().display());
    outln!("schema version: {}", store.schema_version()?);
    outln!(
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
