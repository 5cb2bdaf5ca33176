//! `carbon` — the 254Carbon binary. Glue only: parse arguments, run the command,
//! map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod commands;
mod config;
mod output;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match commands::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if commands::is_user_error(&e) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
