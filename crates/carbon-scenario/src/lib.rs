//! # carbon-scenario — what prices do if the fundamentals move
//!
//! Pure computation, no storage and no I/O (the service layer feeds it stored
//! series and keeps what it returns):
//!
//! - [`dsl`]: the scenario document (YAML or JSON, one schema): base curve,
//!   calibration window, drivers (gas, carbon, load growth, adders) by month,
//!   range or year, horizon, Monte Carlo. Errors name the field, line and column.
//! - [`calibrate`]: per calendar month × block (on-/off-peak on the market's
//!   clock, NERC holidays), OLS of the day's block-average price on the day's
//!   gas price (and load): the implied marginal heat rate β_G, with fallbacks
//!   (month pooled, all pooled) reported.
//! - [`apply`]: a base curve plus, per delivery hour, `ΔP = β_G·ΔG + β_L·ΔL +
//!   C·β_G·0.05306 + adder`, hour-weighted onto each point, with the
//!   attribution per driver; zero shocks return the base bit for bit.
//! - [`montecarlo`]: a seeded mean-reverting log-price process with seasonal
//!   jumps around the scenario curve; bands per month × block.

pub mod apply;
pub mod calibrate;
pub mod dsl;
pub mod error;
pub mod montecarlo;

pub use error::{Result, ScenarioError};

/// Tonnes of CO₂ per MMBtu of natural gas burned (EIA: 117.0 lb/MMBtu ≈
/// 0.05306 t): the marginal unit's emissions are heat rate × this.
pub const GAS_CO2_T_PER_MMBTU: f64 = 0.05306;
