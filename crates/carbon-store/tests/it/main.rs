//! Integration tests of carbon-store: the conformance suite on a real DuckDB
//! file in a temporary directory, plus DuckDB-specific checks.
#![allow(clippy::unwrap_used, missing_docs)]

mod duckdb_backend;
