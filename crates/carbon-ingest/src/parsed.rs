//! What a parser hands to the runner.

use std::collections::BTreeSet;

use carbon_core::{Instrument, Market, MarketRun, ObservationBatch};
use chrono::NaiveDate;

/// The normalised content of one payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The market.
    pub market: Market,
    /// Market runs present.
    pub market_runs: BTreeSet<MarketRun>,
    /// Instruments seen, with their kind.
    pub instruments: Vec<Instrument>,
    /// Observations, in source order, column by column.
    pub observations: ObservationBatch,
    /// Market days the payload covers.
    pub market_days: BTreeSet<NaiveDate>,
}
