//! The scenario document: YAML or JSON (a document whose first character is
//! `{` is read as JSON), one schema ([`schema`]).
//!
//! ```yaml
//! name: Gas +1, carbon 25
//! instrument: MISO.INDIANA.HUB
//! base: { curve_id: MISO_INDIANA_HUB_FWD }        # latest build; or as_of, or run_id
//! calibration: { start: 2021-01-01, end: 2022-01-01, gas: Henry Hub/spot_price }
//! drivers:
//!   gas: { shift: 1.0 }                           # $/MMBtu, or { pct: 10, curve: {…} }
//!   carbon: { price: { "2027": 25, "2028..": 30 } }
//!   load_growth: { rate: 0.02 }
//!   adder: { onpeak: { "2027-07..2027-08": 5 } }
//! monte_carlo: { paths: 1000, seed: 42 }
//! ```
//!
//! A driver value is a number (every month) or a map by period: `YYYY-MM` (a
//! month), `YYYY` (a year), `YYYY-MM..YYYY-MM` (a range, both ends included),
//! `default`. A month takes the most specific entry: month, then range, then
//! year, then `default`; ranges may not overlap. Every check is made while the
//! document is read, so each error names the field and its line and column:
//! `drivers.gas.shift["2027-13"]: not a month … (line 7, column 5)`.

use std::fmt;

use carbon_core::{InstrumentId, MarketRun};
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A malformed document: where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DslError {
    /// The field (`drivers.gas.shift`; `.` for the document itself).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

impl fmt::Display for DslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.starts_with('[') {
            write!(f, "{}{}", self.path, self.message)?;
        } else {
            write!(f, "{}: {}", self.path, self.message)?;
        }
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, " (line {l}, column {c})")?;
        }
        Ok(())
    }
}

impl std::error::Error for DslError {}

/// A calendar month `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Year.
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let (year, month) = (y.parse().ok()?, m.parse().ok()?);
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    /// The month of a date.
    pub fn of(d: NaiveDate) -> Month {
        use chrono::Datelike;
        Month {
            year: d.year(),
            month: d.month(),
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Month::parse(&s).ok_or_else(|| de::Error::custom(format!("`{s}` is not a month (YYYY-MM)")))
    }
}

impl JsonSchema for Month {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Month".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$",
            "description": "A calendar month, YYYY-MM."
        })
    }
}

/// Which months a driver entry applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKey {
    /// One month.
    Month(Month),
    /// Every month of a year.
    Year(i32),
    /// Months `from..=to`.
    Range(Month, Month),
    /// Every month no other entry names.
    Default,
}

const KEY_FORMS: &str = "a month (YYYY-MM), a year (YYYY), a range (YYYY-MM..YYYY-MM) or `default`";

impl PeriodKey {
    /// Parses a key, or says why it is not one.
    pub fn parse(s: &str) -> Result<PeriodKey, String> {
        let t = s.trim();
        if t == "default" {
            return Ok(PeriodKey::Default);
        }
        if let Some((a, b)) = t.split_once("..") {
            let (from, to) = match (Month::parse(a), Month::parse(b)) {
                (Some(x), Some(y)) => (x, y),
                _ => return Err(format!("[{s:?}]: not a range of months (YYYY-MM..YYYY-MM)")),
            };
            if to < from {
                return Err(format!("[{s:?}]: the range ends before it starts"));
            }
            return Ok(PeriodKey::Range(from, to));
        }
        if t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()) {
            return t
                .parse()
                .map(PeriodKey::Year)
                .map_err(|e| format!("[{s:?}]: {e}"));
        }
        if t.len() == 7 && t.as_bytes()[4] == b'-' {
            return Month::parse(t)
                .map(PeriodKey::Month)
                .ok_or_else(|| format!("[{s:?}]: not a month (YYYY-MM, month 01–12)"));
        }
        Err(format!("[{s:?}]: not {KEY_FORMS}"))
    }

    fn contains(&self, m: Month) -> bool {
        match *self {
            PeriodKey::Month(x) => x == m,
            PeriodKey::Year(y) => m.year == y,
            PeriodKey::Range(a, b) => a <= m && m <= b,
            PeriodKey::Default => true,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            PeriodKey::Month(_) => 0,
            PeriodKey::Range(..) => 1,
            PeriodKey::Year(_) => 2,
            PeriodKey::Default => 3,
        }
    }
}

impl fmt::Display for PeriodKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeriodKey::Month(m) => write!(f, "{m}"),
            PeriodKey::Year(y) => write!(f, "{y:04}"),
            PeriodKey::Range(a, b) => write!(f, "{a}..{b}"),
            PeriodKey::Default => f.write_str("default"),
        }
    }
}

/// A driver value: one number, or numbers by period.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ByPeriod {
    /// `(period, value)` in document order.
    pub entries: Vec<(PeriodKey, f64)>,
}

impl ByPeriod {
    /// The same value every month.
    pub fn constant(v: f64) -> Self {
        Self {
            entries: vec![(PeriodKey::Default, v)],
        }
    }

    /// The value in force in month `m` (the most specific entry), if any.
    pub fn at(&self, m: Month) -> Option<f64> {
        self.entries
            .iter()
            .filter(|(k, _)| k.contains(m))
            .min_by_key(|(k, _)| k.rank())
            .map(|(_, v)| *v)
    }

    /// Every value (to check bounds).
    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.entries.iter().map(|(_, v)| *v)
    }

    fn check(&self, ok: impl Fn(f64) -> bool, what: &str) -> Result<(), String> {
        match self.entries.iter().find(|(_, v)| !ok(*v)) {
            None => Ok(()),
            Some((PeriodKey::Default, v)) if self.entries.len() == 1 => {
                Err(format!("{v} is not {what}"))
            }
            Some((k, v)) => Err(format!("[\"{k}\"]: {v} is not {what}")),
        }
    }
}

impl Serialize for ByPeriod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if let [(PeriodKey::Default, v)] = self.entries.as_slice() {
            return s.serialize_f64(*v);
        }
        let mut m = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            m.serialize_entry(&k.to_string(), v)?;
        }
        m.end()
    }
}

/// Most entries a driver map may have.
pub const MAX_ENTRIES: usize = 1_200;

struct ByPeriodVisitor;

impl<'de> de::Visitor<'de> for ByPeriodVisitor {
    type Value = ByPeriod;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a number, or a map from {KEY_FORMS} to numbers")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<ByPeriod, E> {
        if !v.is_finite() {
            return Err(E::custom(format!("{v} is not a finite number")));
        }
        Ok(ByPeriod::constant(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByPeriod, E> {
        Ok(ByPeriod::constant(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByPeriod, E> {
        Ok(ByPeriod::constant(v as f64))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<ByPeriod, A::Error> {
        let mut out = ByPeriod::default();
        while let Some(key) = map.next_key::<String>()? {
            if out.entries.len() == MAX_ENTRIES {
                return Err(de::Error::custom(format!(
                    "more than {MAX_ENTRIES} periods (a century of months)"
                )));
            }
            let k = PeriodKey::parse(&key).map_err(de::Error::custom)?;
            let v: f64 = map.next_value()?;
            if !v.is_finite() {
                return Err(de::Error::custom(format!(
                    "[{key:?}]: {v} is not a finite number"
                )));
            }
            for (other, _) in &out.entries {
                let overlap = match (other, &k) {
                    (PeriodKey::Range(a, b), PeriodKey::Range(c, d)) => a <= d && c <= b,
                    _ => *other == k,
                };
                if overlap {
                    let what = if *other == k {
                        "given twice"
                    } else {
                        "overlaps"
                    };
                    return Err(de::Error::custom(format!("[{key:?}]: {what} \"{other}\"")));
                }
            }
            out.entries.push((k, v));
        }
        if out.entries.is_empty() {
            return Err(de::Error::custom(
                "an empty map: give a number or at least one period",
            ));
        }
        Ok(out)
    }
}

impl<'de> Deserialize<'de> for ByPeriod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ByPeriodVisitor)
    }
}

impl JsonSchema for ByPeriod {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ByPeriod".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A number for every month, or numbers by period: YYYY-MM, YYYY, YYYY-MM..YYYY-MM or default (the most specific applies).",
            "oneOf": [
                { "type": "number" },
                {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": { "pattern": "^([0-9]{4}(-(0[1-9]|1[0-2]))?|[0-9]{4}-(0[1-9]|1[0-2])\\.\\.[0-9]{4}-(0[1-9]|1[0-2])|default)$" },
                    "additionalProperties": { "type": "number" }
                }
            ]
        })
    }
}

/// `entity/variable` of a stored fundamentals series (split at the last `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesName {
    /// Entity (`Henry Hub`).
    pub entity: String,
    /// Variable (`spot_price`).
    pub variable: String,
}

impl SeriesName {
    fn parse(s: &str) -> Option<SeriesName> {
        let (e, v) = s.rsplit_once('/')?;
        let (e, v) = (e.trim(), v.trim());
        (!e.is_empty() && !v.is_empty()).then(|| SeriesName {
            entity: e.to_string(),
            variable: v.to_string(),
        })
    }
}

impl fmt::Display for SeriesName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.entity, self.variable)
    }
}

impl Serialize for SeriesName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SeriesName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SeriesName::parse(&s).ok_or_else(|| {
            de::Error::custom(format!(
                "`{s}` is not a fundamentals series (entity/variable)"
            ))
        })
    }
}

impl JsonSchema for SeriesName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SeriesName".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^.+/[^/]+$",
            "description": "A stored fundamentals series, entity/variable (e.g. Henry Hub/spot_price)."
        })
    }
}

fn default_gas() -> SeriesName {
    SeriesName {
        entity: "Henry Hub".into(),
        variable: "spot_price".into(),
    }
}

fn default_run() -> String {
    "da".into()
}

/// A scenario document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name shown in lists (1–100 characters).
    #[serde(deserialize_with = "name")]
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The market instrument whose history calibrates the scenario
    /// (`MISO.INDIANA.HUB`); its market gives the clock and the blocks.
    #[serde(deserialize_with = "instrument")]
    pub instrument: String,
    /// The price run calibrated on (`da` by default).
    #[serde(default = "default_run", deserialize_with = "market_run")]
    pub market_run: String,
    /// The stored curve run the scenario shifts.
    pub base: Base,
    /// The history the sensitivities are estimated on.
    pub calibration: CalibrationSpec,
    /// What moves.
    #[serde(default)]
    pub drivers: Drivers,
    /// Only delivery months in this range (default: every point of the base).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon: Option<Horizon>,
    /// Price bands by simulation (none: no bands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monte_carlo: Option<MonteCarloSpec>,
}

fn name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 100 {
        return Err(de::Error::custom("must be 1–100 characters"));
    }
    Ok(t.to_string())
}

fn instrument<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<InstrumentId>()
        .map(|i| i.to_string())
        .map_err(|e| de::Error::custom(format!("`{s}`: {e}")))
}

fn market_run<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<MarketRun>()
        .map(|r| r.as_str().to_string())
        .map_err(|e| de::Error::custom(format!("`{s}`: {e}")))
}

/// The base curve: a curve's build (the latest, or the one marked for
/// `as_of`), or one run by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, try_from = "BaseDoc")]
pub struct Base {
    /// Curve id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve_id: Option<String>,
    /// Trade date of the build (with `curve_id`; default the latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<NaiveDate>,
    /// A curve run id (instead of `curve_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// The base curve: `curve_id` (latest build, or the one marked `as_of`) or `run_id`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct BaseDoc {
    /// Curve id.
    #[serde(default)]
    curve_id: Option<String>,
    /// Trade date of the build (with curve_id; default the latest).
    #[serde(default)]
    as_of: Option<NaiveDate>,
    /// A curve run id (instead of curve_id).
    #[serde(default)]
    run_id: Option<String>,
}

impl TryFrom<BaseDoc> for Base {
    type Error = String;
    fn try_from(b: BaseDoc) -> Result<Self, String> {
        match (&b.curve_id, &b.run_id) {
            (Some(_), Some(_)) => Err("give curve_id or run_id, not both".into()),
            (None, None) => Err("give curve_id (and as_of) or run_id".into()),
            (None, Some(_)) if b.as_of.is_some() => {
                Err("as_of goes with curve_id; a run_id names one build".into())
            }
            _ => Ok(Base {
                curve_id: b.curve_id,
                as_of: b.as_of,
                run_id: b.run_id,
            }),
        }
    }
}

/// The calibration window and the series read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, try_from = "CalibrationDoc")]
pub struct CalibrationSpec {
    /// First market day.
    pub start: NaiveDate,
    /// Day after the last (exclusive).
    pub end: NaiveDate,
    /// The gas price series (default `Henry Hub/spot_price`).
    pub gas: SeriesName,
    /// A load series (hourly or daily), to fit β_L as well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<SeriesName>,
}

/// The calibration window (at least 28 days) and the series read.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CalibrationDoc {
    /// First market day (YYYY-MM-DD).
    start: NaiveDate,
    /// Day after the last (exclusive).
    end: NaiveDate,
    /// Gas price series (default Henry Hub/spot_price).
    #[serde(default = "default_gas")]
    gas: SeriesName,
    /// Load series, to fit a load sensitivity as well.
    #[serde(default)]
    load: Option<SeriesName>,
}

impl TryFrom<CalibrationDoc> for CalibrationSpec {
    type Error = String;
    fn try_from(c: CalibrationDoc) -> Result<Self, String> {
        let days = (c.end - c.start).num_days();
        if days < 28 {
            return Err(format!(
                "the window {}..{} holds {days} day(s); give at least 28",
                c.start, c.end
            ));
        }
        if days > 366 * 20 {
            return Err("the window is longer than 20 years".into());
        }
        Ok(CalibrationSpec {
            start: c.start,
            end: c.end,
            gas: c.gas,
            load: c.load,
        })
    }
}

/// The drivers; each is optional (none at all: the base curve unchanged).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Drivers {
    /// Gas price change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas: Option<GasDriver>,
    /// Carbon price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carbon: Option<CarbonDriver>,
    /// Load growth (needs a calibration `load` series).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_growth: Option<LoadGrowth>,
    /// Free adders in $/MWh by block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adder: Option<Adder>,
}

/// The gas driver: an absolute shift in $/MMBtu, or a percentage of a gas
/// curve given here (ΔG = pct/100 × curve).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, try_from = "GasDoc")]
pub struct GasDriver {
    /// $/MMBtu added to gas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<ByPeriod>,
    /// Percent change of `curve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pct: Option<ByPeriod>,
    /// Gas prices ($/MMBtu) the percentage applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<ByPeriod>,
}

/// Gas: `shift` in $/MMBtu, or `pct` of the gas `curve` given here.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GasDoc {
    /// $/MMBtu added to gas.
    #[serde(default)]
    shift: Option<ByPeriod>,
    /// Percent change of `curve` (above -100).
    #[serde(default)]
    pct: Option<ByPeriod>,
    /// Gas prices ($/MMBtu) the percentage applies to.
    #[serde(default)]
    curve: Option<ByPeriod>,
}

impl TryFrom<GasDoc> for GasDriver {
    type Error = String;
    fn try_from(g: GasDoc) -> Result<Self, String> {
        match (&g.shift, &g.pct, &g.curve) {
            (Some(_), Some(_), _) => Err("give shift or pct, not both".into()),
            (None, None, _) => Err("give shift ($/MMBtu) or pct with curve".into()),
            (None, Some(_), None) => Err("pct needs the gas curve it applies to (curve)".into()),
            (Some(_), None, Some(_)) => Err("curve goes with pct".into()),
            _ => {
                if let Some(p) = &g.pct {
                    p.check(|v| v > -100.0, "above −100 %")
                        .map_err(|e| format!("pct{e}"))?;
                }
                if let Some(c) = &g.curve {
                    c.check(|v| v > 0.0, "a positive price")
                        .map_err(|e| format!("curve{e}"))?;
                }
                Ok(GasDriver {
                    shift: g.shift,
                    pct: g.pct,
                    curve: g.curve,
                })
            }
        }
    }
}

impl GasDriver {
    /// ΔG in month `m` ($/MMBtu), 0 when no entry applies.
    pub fn delta(&self, m: Month) -> Result<f64, String> {
        if let Some(s) = &self.shift {
            return Ok(s.at(m).unwrap_or(0.0));
        }
        match (self.pct.as_ref().and_then(|p| p.at(m)), &self.curve) {
            (None, _) | (_, None) => Ok(0.0),
            (Some(p), Some(c)) => c
                .at(m)
                .map(|g| p / 100.0 * g)
                .ok_or_else(|| format!("drivers.gas.curve: no gas price for {m}")),
        }
    }
}

/// The carbon price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, try_from = "CarbonDoc")]
pub struct CarbonDriver {
    /// $/t CO₂ (≥ 0).
    pub price: ByPeriod,
}

/// The carbon price.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CarbonDoc {
    /// $/t CO2 (>= 0).
    price: ByPeriod,
}

impl TryFrom<CarbonDoc> for CarbonDriver {
    type Error = String;
    fn try_from(c: CarbonDoc) -> Result<Self, String> {
        c.price
            .check(|v| v >= 0.0, "a price ≥ 0")
            .map_err(|e| format!("price{}{e}", if e.starts_with('[') { "" } else { ": " }))?;
        Ok(CarbonDriver { price: c.price })
    }
}

/// Load growth per year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, try_from = "GrowthDoc")]
pub struct LoadGrowth {
    /// Fraction per year (0.02 = 2 %/yr), above −1.
    pub rate: ByPeriod,
}

/// Load growth per year.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GrowthDoc {
    /// Fraction per year (0.02 = 2 %/yr), between -1 and 1.
    rate: ByPeriod,
}

impl TryFrom<GrowthDoc> for LoadGrowth {
    type Error = String;
    fn try_from(g: GrowthDoc) -> Result<Self, String> {
        g.rate
            .check(
                |v| v > -1.0 && v < 1.0,
                "a yearly rate between −1 and 1 (0.02 = 2 %)",
            )
            .map_err(|e| format!("rate{}{e}", if e.starts_with('[') { "" } else { ": " }))?;
        Ok(LoadGrowth { rate: g.rate })
    }
}

/// Adders in $/MWh.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Adder {
    /// On-peak hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onpeak: Option<ByPeriod>,
    /// Off-peak hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offpeak: Option<ByPeriod>,
}

/// Delivery months kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, try_from = "HorizonDoc")]
pub struct Horizon {
    /// First month.
    pub start: Month,
    /// Last month (included).
    pub end: Month,
}

/// Delivery months kept.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct HorizonDoc {
    /// First month (YYYY-MM).
    start: Month,
    /// Last month, included (YYYY-MM).
    end: Month,
}

impl TryFrom<HorizonDoc> for Horizon {
    type Error = String;
    fn try_from(h: HorizonDoc) -> Result<Self, String> {
        if h.end < h.start {
            return Err(format!("end {} is before start {}", h.end, h.start));
        }
        Ok(Horizon {
            start: h.start,
            end: h.end,
        })
    }
}

/// Monte Carlo settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonteCarloSpec {
    /// Paths (1–100,000).
    #[serde(deserialize_with = "paths")]
    #[schemars(range(min = 1, max = 100_000))]
    pub paths: u32,
    /// Seed: the same seed gives the same bands.
    pub seed: u64,
}

fn paths<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u64::deserialize(d)?;
    if !(1..=100_000).contains(&n) {
        return Err(de::Error::custom(format!("{n} paths: give 1–100,000")));
    }
    Ok(n as u32)
}

/// The JSON Schema of a scenario document (draft 2020-12).
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default()
}

fn split_location(text: String) -> (String, Option<(usize, usize)>) {
    // Both serde_json and yaml_serde end their messages with " at line L column C".
    if let Some(i) = text.rfind(" at line ") {
        let tail = &text[i + " at line ".len()..];
        if let Some((l, c)) = tail.split_once(" column ")
            && let (Ok(l), Ok(c)) = (l.trim().parse(), c.trim().parse())
        {
            return (text[..i].to_string(), Some((l, c)));
        }
    }
    (text, None)
}

fn error(path: String, message: String, at: Option<(usize, usize)>) -> DslError {
    // A message may repeat the path the parser tracked itself.
    let path = if path.is_empty() || path == "?" {
        ".".to_string()
    } else {
        path
    };
    let message = match message.split_once(": ") {
        Some((head, rest)) if path == head || path.starts_with(&format!("{head}.")) => {
            rest.to_string()
        }
        _ => message,
    };
    DslError {
        path,
        message,
        line: at.map(|(l, _)| l),
        column: at.map(|(_, c)| c),
    }
}

/// Reads a scenario document (JSON when it starts with `{`, else YAML).
pub fn parse(text: &str) -> Result<Scenario, DslError> {
    if text.trim_start().starts_with('{') {
        let json_error = |path: String, inner: serde_json::Error| {
            let at = Some((inner.line(), inner.column()));
            let (message, _) = split_location(inner.to_string());
            error(path, message, at)
        };
        let mut de = serde_json::Deserializer::from_str(text);
        let s: Scenario = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| json_error(e.path().to_string(), e.into_inner()))?;
        de.end().map_err(|e| json_error(String::new(), e))?;
        return Ok(s);
    }
    if text.trim().is_empty() {
        return Err(error(String::new(), "the document is empty".into(), None));
    }
    let de = yaml_serde::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let mut at = inner.location().map(|l| (l.line(), l.column()));
        // A check made once a table is read (curve_id and run_id together)
        // is reported by the parser at the document's start: point at the
        // table's key instead.
        if matches!(at, None | Some((1, 1)))
            && let Some(found) = locate(text, &path)
        {
            at = Some(found);
        }
        let (message, _) = split_location(inner.to_string());
        error(path, message, at)
    })
}

/// The line and column of the key `path` (`drivers.gas.shift`) in a YAML
/// text: each segment is the next key of that name after its parent's.
fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    if path.is_empty() || path == "." {
        return None;
    }
    let mut from = 0;
    let mut found = None;
    for seg in path.split('.') {
        let seg = seg.trim_matches('?');
        let mut hit = None;
        for (i, _) in text[from..].match_indices(seg) {
            let at = from + i;
            let before = text[..at].chars().next_back();
            let after = text[at + seg.len()..].trim_start_matches(['"', '\'', ' ']);
            let key_start = matches!(before, None | Some('\n' | ' ' | '{' | ',' | '"' | '\''));
            if key_start && after.starts_with(':') {
                hit = Some(at);
                break;
            }
        }
        let at = hit?;
        from = at + seg.len();
        found = Some(at);
    }
    let at = found?;
    let line = text[..at].matches('\n').count() + 1;
    let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    Some((line, column))
}
