//! # carbon-ingest — getting ISO data in
//!
//! Owns the parsers of ISO payloads (MISO market reports and 5-minute JSON,
//! CAISO OASIS zips/CSVs, EIA fundamentals files), format detection, data quality (row checks that
//! quarantine, batch findings), the [`runner::Runner`] that writes **one atomic
//! batch per payload** and records an ingest run, file mode, and the
//! [`bus::EventBus`] accepted observations are published on.
//!
//! It must not serve HTTP or know about users; it reaches storage only through
//! `carbon-store`'s traits.

/// The event bus (its own crate: the API streams from it without ingest).
pub use carbon_bus as bus;
pub mod caiso;
pub mod connector;
pub mod detect;
pub mod dq;
pub mod eia;
pub mod eia_api;
pub mod error;
pub mod files;
pub mod http;
pub mod miso;
pub mod parsed;
pub mod runner;
pub mod sync;

pub use error::{Error, ParseError, Result};
