//! The storage contract.

use async_trait::async_trait;
use carbon_core::{Instrument, InstrumentId, Observation, ObservationBatch};

use crate::{
    error::Result,
    model::{
        AppendSummary, InstrumentPage, InstrumentQuery, PricePage, PriceQuery, SeriesStats,
        StatsFilter,
    },
};

/// Where instruments and price observations live.
///
/// Held as `Arc<dyn Store>`. The embedded default is [`crate::DuckdbStore`];
/// ClickHouse + PostgreSQL implement the same trait later, and every backend
/// must pass the conformance suite (feature `conformance`). Callers never see SQL.
///
/// Semantics every backend guarantees:
/// - **Atomic, idempotent appends.** A batch is stored whole or not at all. The
///   natural key is (instrument, market run, interval start, vintage): re-appending
///   a stored version with the same values changes nothing; with different values
///   it is a [`crate::Error::VintageConflict`]. A new vintage whose values equal
///   the version it would follow is not stored (it revises nothing).
/// - **Vintages.** Queries return, per interval, the version with the newest
///   vintage, or with `as_of` the newest vintage `≤ as_of`.
/// - **Market clock.** Daily and monthly buckets and power blocks are computed on
///   each instrument's market clock.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Short backend name (`duckdb`).
    fn backend(&self) -> &'static str;

    /// Inserts new instruments and refreshes kind/name of existing ones. The
    /// generic kind `node` (what a source that does not type its nodes says)
    /// never replaces a more specific kind, and a missing name never erases one.
    async fn upsert_instruments(
        &self,
        instruments: Vec<Instrument>,
    ) -> Result<crate::UpsertSummary>;

    /// One instrument by id.
    async fn instrument(&self, id: &InstrumentId) -> Result<Option<Instrument>>;

    /// Instruments by market, kind and text, ordered by id, paginated.
    async fn search_instruments(&self, query: InstrumentQuery) -> Result<InstrumentPage>;

    /// Appends one atomic, idempotent batch of observations. Every instrument
    /// must exist. Rows are taken as a columnar [`ObservationBatch`], what
    /// parsers produce; [`append`](Store::append) takes them as rows.
    async fn append_batch(&self, batch: ObservationBatch) -> Result<AppendSummary>;

    /// [`append_batch`](Store::append_batch) for rows.
    async fn append(&self, batch: Vec<Observation>) -> Result<AppendSummary> {
        self.append_batch(ObservationBatch::from(batch)).await
    }

    /// Prices for a query (latest or as-of, optionally resampled and blocked), paginated.
    async fn query_prices(&self, query: PriceQuery) -> Result<PricePage>;

    /// Per-series statistics.
    async fn series_stats(&self, filter: StatsFilter) -> Result<Vec<SeriesStats>>;

    /// Reorganises storage for reads (what ClickHouse calls a merge and
    /// PostgreSQL `CLUSTER`). The logical content — every version, vintage and
    /// provenance — is unchanged; only the physical order is. Safe to run at
    /// any time; returns quickly when there is nothing to do.
    async fn compact(&self) -> Result<crate::CompactSummary> {
        Ok(crate::CompactSummary::default())
    }

    /// Checks the backend is reachable.
    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    /// The price query cache's counters, for backends that keep one.
    fn cache_stats(&self) -> Option<crate::CacheStats> {
        None
    }
}
