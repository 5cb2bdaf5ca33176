//! # carbon-store — the storage contract and the embedded backend
//!
//! Owns the [`Store`] trait (instruments and price observations: atomic,
//! idempotent batches; latest or as-of vintages; resampling and power blocks on
//! the market clock; cursor pagination; search; per-series stats), the
//! `conformance` suite every backend must pass (feature `conformance`), and the embedded
//! [`DuckdbStore`] (one DuckDB file under the data directory, schema migrations
//! versioned in code).
//!
//! It also keeps the access-control records ([`Directory`]: tenants, users,
//! API keys, grants, signing keys, the hash-chained audit log) without deciding
//! anything about them, and forward curves ([`CurveStore`]: each build's run
//! with its lineage, and the points with real delivery periods), fundamentals
//! series with vintages ([`FundamentalStore`]), research outputs
//! ([`ResearchStore`]), durable jobs ([`JobStore`]) and versioned scenarios
//! ([`ScenarioStore`]). It must not know about HTTP or connectors: callers
//! speak in `carbon-core` types and [`model`] requests, never in SQL.

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod curvestore;
pub mod directory;
mod duck;
pub mod error;
pub mod export;
pub mod exports;
pub mod feeds;
pub mod fundstore;
pub mod jobs;
pub mod model;
pub mod runlog;
pub mod scenarios;
mod store;

pub use crate::duck::{CacheStats, DB_FILE, DuckdbStore, StoreConfig};
pub use curvestore::{CurvePoint, CurveRun, CurveRunFilter, CurveStore};
pub use directory::{
    ApiKey, AuditEvent, ChainReport, Directory, Grant, NewAuditEvent, SigningKey, Tenant, User,
    verify_chain,
};
pub use error::{Error, Result};
pub use exports::{Export, ExportStore};
pub use feeds::{Feed, FeedStore};
pub use fundstore::{
    BASE_SCENARIO, FundamentalAppend, FundamentalPoint, FundamentalQuery, FundamentalSeries,
    FundamentalStore, ResearchFilter, ResearchRun, ResearchStore,
};
pub use jobs::{Job, JobEnd, JobFilter, JobStatus, JobStore, Lease, Recovered};
pub use model::{
    AppendSummary, CompactSummary, Cursor, InstrumentPage, InstrumentQuery, PricePage, PriceQuery,
    PriceRow, Resample, SeriesStats, StatsFilter, UpsertSummary,
};
pub use runlog::{IngestRun, QuarantinedRow, RunFilter, RunLog, RunStatus};
pub use scenarios::{ScenarioRun, ScenarioStore, ScenarioSummary, ScenarioVersion};
pub use store::Store;
