//! Integration tests of carbon-auth: OIDC against a real JWKS server on
//! 127.0.0.1 with keys generated per run, and the access layer (logins, keys,
//! the pilots' entitlements, audit) over a real DuckDB file.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod access;
mod oidc;
