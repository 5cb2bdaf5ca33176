//! # carbon-cli — the command line
//!
//! Argument parsing ([`cli`]), the layered configuration ([`config`]:
//! defaults < `carbon.toml` < `CARBON_…` < flags) and the commands
//! ([`commands`]): ingest, backfill, poll, query, curves, research, admin,
//! audit and `carbon serve`'s orchestration (scheduler, research jobs, key
//! rotation) around a [`commands::live::Front`] the binary provides.
//!
//! It must not know HTTP: the binary (`crates/carbon`) plugs `carbon-api` in
//! as the front; the domain work is `carbon-service`'s, the storage
//! `carbon-store`'s. Errors are mapped to exit codes in one place
//! ([`commands::is_user_error`]: 2 for the caller's mistakes, 1 for failures).

#[macro_use]
pub mod console;
pub mod cli;
pub mod commands;
pub mod config;
#[cfg(unix)]
pub mod local;
mod output;
