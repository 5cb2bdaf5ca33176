//! `carbon` — the 254Carbon binary. Glue only: parse arguments, run the
//! command (`carbon-cli`) with the HTTP API (`carbon-api`) as `carbon serve`'s
//! front, map the outcome to an exit code.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

mod front;

fn main() -> ExitCode {
    let mut command = carbon_cli::cli::Cli::command();
    if std::env::args_os().any(|a| a == "--version" || a == "-V") {
        // Names the DuckDB library actually linked (prebuilt or compiled in);
        // only computed when asked, as it opens an in-memory database.
        let duckdb = carbon_store::DuckdbStore::library_version()
            .unwrap_or_else(|e| format!("unavailable: {e}"));
        let line = format!("{} (DuckDB {duckdb})", env!("CARGO_PKG_VERSION"));
        command = command.version(&*Box::leak(line.into_boxed_str()));
    }
    let args = match carbon_cli::cli::Cli::from_arg_matches(&command.get_matches()) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    match carbon_cli::commands::run(args, &mut front::Http::default()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if carbon_cli::commands::is_user_error(&e) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
