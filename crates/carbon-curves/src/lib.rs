//! # carbon-curves — forward curves a desk can defend
//!
//! First part of the curves issue: the engine's core. A curve on a grid is
//! `f = prior + x` (or `prior · x`), and `x` is the smoothest vector — least
//! squared second differences, optionally plus a tension on first differences —
//! whose weighted average over each contract's delivery points equals the
//! contract's price. [`engine::solve_kkt`] solves that equality-constrained
//! quadratic programme exactly through its KKT system. Contracts from dates and
//! blocks, bid/ask bands (clarabel), reconciliation, lineage, CLI and API follow.
//!
//! It must not know about storage or HTTP: it takes numbers and returns numbers.

pub mod banded;
pub mod build;
pub mod engine;
pub mod grid;
pub mod qp;
pub mod reconcile;
