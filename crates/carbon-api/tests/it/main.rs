//! carbon-api against a real DuckDB store on a real socket on 127.0.0.1.
#![allow(clippy::unwrap_used, missing_docs)]

mod access;
mod api;
mod contract;
mod curves;
mod exports;
mod hardening;
mod jobs;
mod matrix;
mod research;
mod scenarios;
mod stream;
