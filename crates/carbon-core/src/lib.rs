//! # carbon-core — the 254Carbon domain
//!
//! Owns the vocabulary every other crate speaks: markets and their clocks
//! ([`Market`]), instruments (`<ISO>.<node>`, [`InstrumentId`]), series dimensions
//! ([`MarketRun`], [`Product`], [`Component`]), observations with vintage and
//! provenance ([`Observation`]), market-time arithmetic ([`time`]: 23/24/25-hour
//! days, hour-ending ↔ interval start), NERC holidays and power blocks
//! ([`calendar`]), and resampling buckets on the market clock ([`resample`]).
//!
//! **It must not do I/O**: no files, no network, no clock reads. Everything here
//! is a pure function of its inputs, so it can be tested exhaustively and reused
//! by every backend and connector.

pub mod batch;
pub mod calendar;
pub mod error;
pub mod hash;
pub mod instrument;
pub mod market;
pub mod observation;
pub mod resample;
pub mod series;
pub mod text;
pub mod time;

pub use batch::ObservationBatch;
pub use calendar::{Block, Holiday, is_nerc_holiday, is_peak_day, nerc_holidays};
pub use error::{Error, Result};
pub use instrument::{Instrument, InstrumentId, LocationKind};
pub use market::{Market, MarketInfo, PeakConvention, PeakDays};
pub use observation::{Observation, Provenance};
pub use resample::{Aggregation, Frequency};
pub use series::{Component, Components, MarketRun, Product, parse_components};
