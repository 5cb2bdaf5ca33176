//! Integration tests of carbon-ingest: golden parses of the real fixtures, the
//! CAISO/MISO clock rules, the runner on a real DuckDB store, and parser
//! robustness on arbitrary bytes.
#![allow(clippy::unwrap_used, missing_docs)]

mod dst;
mod eia;
mod eia_api;
mod golden;
mod live;
mod properties;
mod runner;

use std::path::{Path, PathBuf};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/iso")
}

pub fn fixture(rel: &str) -> PathBuf {
    fixtures().join(rel)
}
