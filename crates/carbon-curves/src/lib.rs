//! # carbon-curves — forward curves a desk can defend
//!
//! A curve on a grid (hourly, daily or monthly on the market clock) is
//! `f = prior + x` (or `prior · x`), and `x` is the smoothest vector — least
//! squared second differences, optionally plus a tension on first differences
//! and a flat long end — whose weighted average over each contract's delivery
//! hours (block or hour mask, × discount factor) equals the contract's price,
//! or lies within its bid/ask.
//!
//! - [`engine`]: the equality problem solved exactly through its KKT system
//!   (banded Schur complement + iterative refinement; a dense reference), and
//!   the least-squares variant.
//! - [`qp`]: clarabel for bid/ask bands, polished to the exact optimum.
//! - [`grid`]: grids, blocks and hour masks, weights.
//! - [`reconcile`]: nested/overlapping tenors and their arbitrage gaps.
//! - [`build`]: from contract tables to a curve, its report, input hash,
//!   views and aggregation to coarser periods.
//! - [`shape`]: a prior from stored prices (hourly profile by month × day type).
//!
//! It must not know about storage or HTTP: it takes numbers and returns
//! numbers; the CLI and the API store runs through `carbon-store`.

pub mod banded;
pub mod build;
pub mod engine;
pub mod grid;
pub mod qp;
pub mod reconcile;
pub mod shape;
