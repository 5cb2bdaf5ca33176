//! Integration tests of the `carbon` binary: real processes against real DuckDB
//! files in temporary directories.
#![allow(clippy::unwrap_used, missing_docs)]

mod beside;
mod cli;
mod crash;
mod curve;
mod export;
mod ingest;
mod jobs;
mod keys;
mod live;
mod query;
mod research;
mod scenario;
mod security;
