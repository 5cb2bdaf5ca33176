//! # carbon-service — what the platform does, whoever asks
//!
//! The application services the HTTP API, the CLI and the scheduler share:
//! forward-curve builds with their recorded runs ([`curves`]), analyses and
//! backtests with their stored outputs ([`research`]), and durable jobs that
//! run them in the background ([`jobs`]). Each takes typed
//! input and returns typed output or one [`Error`], classified once (user
//! error or platform failure).
//!
//! It must not know about HTTP or the command line: `carbon-api` maps
//! [`Error`] to problem+json in one place, `carbon-cli` to exit codes in one
//! place. Entitlements are the caller's (the adapter asks the policy before
//! calling a service).

pub mod curves;
pub mod datasets;
pub mod error;
pub mod exports;
pub mod feeds;
pub mod jobs;
pub mod objects;
pub mod reports;
pub mod research;
pub mod scenarios;
pub mod settings;

pub use error::{Error, Result};

use chrono::{DateTime, Utc};

/// An instant as RFC 3339 in UTC, whole seconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(20);
    carbon_core::time::push_rfc3339(&mut out, t, 0);
    out
}

/// `<prefix>_` and 20 random hex digits: ids of stored runs.
pub fn random_id(prefix: &str) -> String {
    use rand::RngCore;
    let mut b = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{prefix}_{hex}")
}
