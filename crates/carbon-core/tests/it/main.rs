//! Integration tests of carbon-core: golden power-block hour counts and DST
//! arithmetic on the days the foundation issue names.
#![allow(clippy::unwrap_used, missing_docs)]

mod blocks;
mod dst;
