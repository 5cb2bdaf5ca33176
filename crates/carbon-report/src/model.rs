//! The brief's data model: everything the renderers draw, already computed.
//!
//! The service layer fills these from stored series; the renderers only read
//! them. Any number may be missing (`None`) or non-finite (NaN, ±inf): a
//! non-finite number is shown as missing, never as "NaN".

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One market's brief for one calendar month.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Brief {
    /// Market code, e.g. `"MISO"`.
    pub market: String,
    /// Calendar month `YYYY-MM` on the market clock, e.g. `"2021-02"`.
    pub month: String,
    /// The market clock (IANA name, e.g. `"America/Chicago"`): dates, hours and
    /// on/off-peak blocks are on this clock.
    pub timezone: String,
    /// When the brief was computed: an RFC 3339 instant in UTC.
    pub generated: String,
    /// Price unit, e.g. `"$/MWh"`.
    pub currency: String,
    /// Which prices the table and the daily chart are of, lower case, e.g.
    /// `"day-ahead"` or `"real-time (hourly)"` (a market whose month has no
    /// day-ahead prices stored is described by its real-time ones).
    #[serde(default = "day_ahead")]
    pub basis: String,
    /// The price table: one row per hub.
    pub hubs: Vec<HubStats>,
    /// Daily average price (of `basis`), one series per hub (chart 1).
    pub daily: Vec<Series>,
    /// Forward curve at month end compared with a month earlier (chart 2).
    pub curve: Option<CurveComparison>,
    /// The month's volatility regime.
    pub regime: Option<Regime>,
    /// Fundamentals stored for the market (load, temperature, gas, storage…).
    pub fundamentals: Vec<Fundamental>,
    /// Data quality of the month: one row per series.
    pub quality: Vec<Quality>,
    /// Methods footnote, one paragraph per entry.
    pub methods: Vec<String>,
}

fn day_ahead() -> String {
    "day-ahead".into()
}

/// Price statistics of one hub over the month, in the brief's currency.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HubStats {
    /// Hub name, e.g. `"MISO.INDIANA.HUB"`.
    pub name: String,
    /// Average day-ahead price over on-peak hours.
    pub on_peak_avg: Option<f64>,
    /// Average day-ahead price over off-peak hours.
    pub off_peak_avg: Option<f64>,
    /// Average day-ahead price over all hours.
    pub avg: Option<f64>,
    /// Lowest hourly day-ahead price.
    pub min: Option<f64>,
    /// Highest hourly day-ahead price.
    pub max: Option<f64>,
    /// Annualised volatility as a fraction (`0.85` is shown as `85.0%`).
    pub volatility: Option<f64>,
    /// Mean day-ahead minus real-time price.
    pub da_rt_spread: Option<f64>,
}

/// A named daily series.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Series {
    /// Legend name, e.g. the hub name.
    pub name: String,
    /// Unit of the values, e.g. `"$/MWh"`.
    pub unit: String,
    /// `(market-clock date, value)`; the order does not matter.
    pub points: Vec<(NaiveDate, f64)>,
}

/// A forward curve now compared with the same curve a month earlier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurveComparison {
    /// The curve's identifier.
    pub curve_id: String,
    /// Label of the current curve, e.g. `"as of 2021-02-28"`.
    pub now_label: String,
    /// Label of the earlier curve, e.g. `"as of 2021-01-31"`.
    pub prior_label: String,
    /// `(delivery period label, price)` of the current curve, e.g. `("2021-03", 31.2)`.
    pub now: Vec<(String, f64)>,
    /// `(delivery period label, price)` of the earlier curve; periods may
    /// differ from `now`'s (they are aligned by label).
    pub prior: Vec<(String, f64)>,
}

/// The month's volatility regime.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Regime {
    /// Regime name, e.g. `"High volatility"`.
    pub label: String,
    /// Realized volatility of the month, annualised, as a fraction.
    pub realized_vol: f64,
    /// Percentile (0–100) of the month's realized volatility within the
    /// market's history, when there is enough history.
    pub percentile: Option<f64>,
    /// One-paragraph explanation.
    pub note: String,
}

/// One fundamental series of the month (load, temperature, gas, storage…).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fundamental {
    /// Series name, e.g. `"Load (MISO total)"`.
    pub name: String,
    /// Unit, e.g. `"MW"`.
    pub unit: String,
    /// Average over the month.
    pub avg: Option<f64>,
    /// Minimum over the month.
    pub min: Option<f64>,
    /// Maximum over the month.
    pub max: Option<f64>,
    /// Daily values `(market-clock date, value)`.
    pub points: Vec<(NaiveDate, f64)>,
}

/// Data quality of one series over the month.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Quality {
    /// Series name.
    pub series: String,
    /// Observations expected in the month.
    pub expected: u64,
    /// Observations stored.
    pub present: u64,
    /// `present / expected` as a fraction (0..1).
    pub completeness: f64,
    /// When the series was last ingested (RFC 3339), if ever.
    pub last_ingested: Option<String>,
}
