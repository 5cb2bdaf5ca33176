//! Research analytics on prices and fundamentals, native and checked against
//! published reference results: STL/MSTL decomposition ([`decompose`]),
//! Markov-switching volatility regimes ([`regimes`]) and a Gaussian HMM on
//! return features ([`features`]), regressions with
//! inference ([`regress`]), weather impact ([`weather`]), supply/demand balance
//! ([`balance`]) and forecast backtests ([`backtest`]).
//!
//! Everything here is pure computation on slices: the store, the CLI and the
//! API feed it series and keep its outputs. Bad input (gaps, too-short
//! series, constant series, singular designs, non-convergence) is an error or
//! an explicit warning in the output, never a silent NaN.

pub mod backtest;
pub mod balance;
pub mod decompose;
pub mod error;
pub mod features;
pub mod hmm;
pub mod regimes;
pub mod regress;
pub mod weather;

pub use error::{ResearchError, Result};
