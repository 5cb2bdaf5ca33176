//! From a contracts table to a curve: parsing `contracts.csv` and `prior.csv`,
//! the reconciliation policy, the solve, and the report with the input hash.
//!
//! `contracts.csv`: `name,start,end,price` with optional `bid,ask,block,weight`
//! (dates inclusive, `block` one of flat/onpeak/offpeak/2x16/7x8 or an hour
//! mask such as `he:8-23@peak`, default flat). `prior.csv`: `date,value` (daily grid) or `timestamp,value` (hourly
//! grid, RFC 3339) — one row per grid point.

use std::collections::HashMap;

use carbon_core::{Block, Market};
use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use crate::{
    engine::{self, Contract, PriorMode, Problem},
    grid::{Granularity, Grid, Shape},
    qp,
    reconcile::{self, Finding},
};

/// Version of the engine, part of every input hash.
pub const ENGINE_VERSION: &str = concat!("carbon-curves/", env!("CARGO_PKG_VERSION"));

/// One row of `contracts.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractSpec {
    /// Name.
    pub name: String,
    /// First delivery date.
    pub start: NaiveDate,
    /// Last delivery date (inclusive).
    pub end: NaiveDate,
    /// Quote (mid).
    pub price: f64,
    /// Bid, when quoted as a band.
    pub bid: Option<f64>,
    /// Ask, when quoted as a band.
    pub ask: Option<f64>,
    /// Block or hour mask.
    pub block: Shape,
    /// Weight multiplier (default 1).
    pub weight: f64,
}

/// How overlapping tenors are reconciled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Fail with the report when any nesting has a gap.
    Strict,
    /// Drop the parents of tiling nestings (keep the finer tenors).
    DropParents,
    /// Every quote becomes a weighted penalty instead of an equality.
    LeastSquares,
    /// Solve within each contract's bid/ask (clarabel).
    BidAsk,
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "strict" => Ok(Policy::Strict),
            "drop_parents" => Ok(Policy::DropParents),
            "least_squares" => Ok(Policy::LeastSquares),
            "bid_ask" => Ok(Policy::BidAsk),
            o => Err(format!(
                "`{o}`: expected strict, drop_parents, least_squares or bid_ask"
            )),
        }
    }
}

/// Everything a build needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Market (clock, peak window, holidays).
    pub market: Market,
    /// Trade date (lineage).
    pub trade_date: NaiveDate,
    /// Grid spacing.
    pub granularity: Granularity,
    /// The contracts.
    pub contracts: Vec<ContractSpec>,
    /// Prior values, one per grid point, and how they combine.
    pub prior: Option<(Vec<f64>, PriorMode)>,
    /// Reconciliation policy.
    pub policy: Policy,
    /// Tension on first differences.
    pub tension: f64,
    /// Flat annual discount rate (continuous, ACT/365 from the trade date to
    /// the middle of each grid point); weights are hours × discount factor.
    pub discount_rate: Option<f64>,
    /// Extend the grid past the last contract to this date (inclusive).
    pub until: Option<NaiveDate>,
    /// Hold `x` flat after the last contract's delivery (with no `until`,
    /// the last two points: a zero end slope).
    pub flat_long_end: bool,
}

impl Request {
    /// A request with the defaults: no prior, strict, no tension, no
    /// discounting, grid ending with the last contract.
    pub fn new(
        market: Market,
        trade_date: NaiveDate,
        granularity: Granularity,
        contracts: Vec<ContractSpec>,
    ) -> Request {
        Request {
            market,
            trade_date,
            granularity,
            contracts,
            prior: None,
            policy: Policy::Strict,
            tension: 0.0,
            discount_rate: None,
            until: None,
            flat_long_end: false,
        }
    }
}

/// One contract in the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractResult {
    /// Name.
    pub name: String,
    /// Quote.
    pub quoted: f64,
    /// The curve's average over its delivery.
    pub repriced: f64,
    /// `repriced − quoted`.
    pub error: f64,
    /// Dual (KKT solves only).
    pub dual: Option<f64>,
    /// Left out by the policy.
    pub dropped: bool,
}

/// A built curve and its report.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The grid.
    pub grid: Grid,
    /// The curve, one value per grid point.
    pub curve: Vec<f64>,
    /// Per contract.
    pub contracts: Vec<ContractResult>,
    /// Reconciliation findings.
    pub findings: Vec<Finding>,
    /// Objective `xᵀQx`.
    pub objective: f64,
    /// Which solver answered.
    pub solver: String,
    /// Solver status (`optimal`, or clarabel's `Solved`/`AlmostSolved`).
    pub status: String,
    /// Interior-point iterations or refinement steps.
    pub iterations: u32,
    /// Wall time of the solve, in seconds (not part of the reproducible output).
    pub solve_seconds: f64,
    /// SHA-256 of the canonical inputs and the engine version.
    pub input_hash: String,
}

/// A build failure, naming what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A row or field of an input file.
    #[error("{file} row {row}, field `{field}`: {message}")]
    Row {
        /// File.
        file: String,
        /// 1-based data row (the header is row 0).
        row: usize,
        /// Column.
        field: String,
        /// Problem.
        message: String,
    },
    /// The file as a whole.
    #[error("{file}: {message}")]
    File {
        /// File.
        file: String,
        /// Problem.
        message: String,
    },
    /// The engine refused the problem.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// `strict` and the quotes disagree.
    #[error("strict policy: arbitrage between nested contracts: {0}")]
    Arbitrage(String),
}

fn row_err(file: &str, row: usize, field: &str, message: impl Into<String>) -> BuildError {
    BuildError::Row {
        file: file.into(),
        row,
        field: field.into(),
        message: message.into(),
    }
}

/// A trimming CSV reader over `text` and its header row.
fn table<'a>(
    file: &str,
    text: &'a str,
) -> Result<(csv::Reader<&'a [u8]>, csv::StringRecord), BuildError> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| BuildError::File {
            file: file.into(),
            message: e.to_string(),
        })?
        .clone();
    Ok((rdr, headers))
}

/// One contract as given (CSV row or JSON object), before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawContract<'a> {
    /// Name.
    pub name: Option<&'a str>,
    /// First delivery date, `YYYY-MM-DD`.
    pub start: Option<&'a str>,
    /// Last delivery date (inclusive).
    pub end: Option<&'a str>,
    /// Price.
    pub price: Option<f64>,
    /// Bid.
    pub bid: Option<f64>,
    /// Ask.
    pub ask: Option<f64>,
    /// Block or hour mask (default flat).
    pub block: Option<&'a str>,
    /// Weight (default 1).
    pub weight: Option<f64>,
}

/// Validates one contract; the error names the field.
pub fn contract_spec(raw: &RawContract<'_>) -> Result<ContractSpec, (&'static str, String)> {
    let name = raw
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or(("name", "missing".to_string()))?
        .to_string();
    let date = |f: &'static str, v: Option<&str>| -> Result<NaiveDate, (&'static str, String)> {
        let v = v.ok_or((f, "missing".to_string()))?;
        NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|e| (f, format!("`{v}` is not YYYY-MM-DD ({e})")))
    };
    let (start, end) = (date("start", raw.start)?, date("end", raw.end)?);
    if end < start {
        return Err(("end", format!("{end} is before start {start}")));
    }
    for (f, v) in [
        ("price", raw.price),
        ("bid", raw.bid),
        ("ask", raw.ask),
        ("weight", raw.weight),
    ] {
        if let Some(x) = v
            && !x.is_finite()
        {
            return Err((f, format!("{x} is not a number")));
        }
    }
    let (bid, ask) = (raw.bid, raw.ask);
    if bid.is_some() != ask.is_some() {
        return Err((
            if bid.is_some() { "ask" } else { "bid" },
            "a band needs both bid and ask".into(),
        ));
    }
    let price = match (raw.price, bid, ask) {
        (Some(p), _, _) => p,
        (None, Some(b), Some(a)) => (b + a) / 2.0,
        _ => return Err(("price", "missing (give price, or bid and ask)".into())),
    };
    if let (Some(b), Some(a)) = (bid, ask)
        && b > a
    {
        return Err(("ask", format!("ask {a} is below bid {b}")));
    }
    let block = match raw.block.filter(|b| !b.trim().is_empty()) {
        None => Shape::Block(Block::Flat),
        Some(b) => b.parse::<Shape>().map_err(|e| ("block", e))?,
    };
    let weight = raw.weight.unwrap_or(1.0);
    if weight <= 0.0 {
        return Err(("weight", "must be > 0".into()));
    }
    Ok(ContractSpec {
        name,
        start,
        end,
        price,
        bid,
        ask,
        block,
        weight,
    })
}

/// Parses `contracts.csv`.
pub fn parse_contracts(file: &str, text: &str) -> Result<Vec<ContractSpec>, BuildError> {
    let (mut rdr, headers) = table(file, text)?;
    let col: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    for need in ["name", "start", "end", "price"] {
        if !col.contains_key(need) {
            return Err(BuildError::File {
                file: file.into(),
                message: format!(
                    "no `{need}` column (need name,start,end,price; optional bid,ask,block,weight)"
                ),
            });
        }
    }
    for h in headers.iter() {
        if ![
            "name", "start", "end", "price", "bid", "ask", "block", "weight",
        ]
        .contains(&h)
        {
            return Err(BuildError::File {
                file: file.into(),
                message: format!("unknown column `{h}`"),
            });
        }
    }
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 1;
        let rec = rec.map_err(|e| BuildError::File {
            file: file.into(),
            message: format!("row {row}: {e}"),
        })?;
        let get = |f: &str| {
            col.get(f)
                .and_then(|&c| rec.get(c))
                .filter(|v| !v.is_empty())
        };
        let num = |f: &str| -> Result<Option<f64>, BuildError> {
            get(f)
                .map(|v| {
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .ok_or_else(|| row_err(file, row, f, format!("`{v}` is not a number")))
                })
                .transpose()
        };
        let raw = RawContract {
            name: get("name"),
            start: get("start"),
            end: get("end"),
            price: num("price")?,
            bid: num("bid")?,
            ask: num("ask")?,
            block: get("block"),
            weight: num("weight")?,
        };
        out.push(contract_spec(&raw).map_err(|(f, m)| row_err(file, row, f, m))?);
    }
    if out.is_empty() {
        return Err(BuildError::File {
            file: file.into(),
            message: "no contracts".into(),
        });
    }
    Ok(out)
}

/// Parses `prior.csv` against a grid: one value per point, in order.
pub fn parse_prior(file: &str, text: &str, grid: &Grid) -> Result<Vec<f64>, BuildError> {
    let (mut rdr, headers) = table(file, text)?;
    let key = headers.get(0).unwrap_or_default().to_string();
    if headers.len() != 2
        || headers.get(1) != Some("value")
        || !(key == "date" || key == "timestamp")
    {
        return Err(BuildError::File {
            file: file.into(),
            message: "columns must be `date,value` (daily grid) or `timestamp,value` (hourly grid)"
                .into(),
        });
    }
    let mut values: HashMap<DateTime<Utc>, f64> = HashMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 1;
        let rec = rec.map_err(|e| BuildError::File {
            file: file.into(),
            message: format!("row {row}: {e}"),
        })?;
        let (k, v) = (rec.get(0).unwrap_or(""), rec.get(1).unwrap_or(""));
        let at = if key == "date" {
            let d = NaiveDate::parse_from_str(k, "%Y-%m-%d")
                .map_err(|e| row_err(file, row, "date", format!("`{k}`: {e}")))?;
            carbon_core::time::day_start(grid.market, d)
        } else {
            DateTime::parse_from_rfc3339(k)
                .map_err(|e| row_err(file, row, "timestamp", format!("`{k}`: {e}")))?
                .with_timezone(&Utc)
        };
        let x = v
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| row_err(file, row, "value", format!("`{v}` is not a number")))?;
        values.insert(at, x);
    }
    grid.points
        .iter()
        .map(|p| {
            values
                .get(&p.start)
                .copied()
                .ok_or_else(|| BuildError::File {
                    file: file.into(),
                    message: format!(
                        "no value for the grid point starting {}",
                        p.start.to_rfc3339()
                    ),
                })
        })
        .collect()
}

/// SHA-256 over the canonical request (and the engine version).
pub fn input_hash(r: &Request) -> String {
    let mut h = Sha256::new();
    let mut put = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    put(ENGINE_VERSION);
    put(r.market.code());
    put(&r.trade_date.to_string());
    put(&format!("{:?}", r.granularity));
    put(&format!("{:?}", r.policy));
    put(&r.tension.to_bits().to_string());
    put(&format!(
        "{:?}|{:?}|{}",
        r.discount_rate.map(f64::to_bits),
        r.until,
        r.flat_long_end
    ));
    for c in &r.contracts {
        put(&format!(
            "{}|{}|{}|{}|{:?}|{:?}|{}|{}",
            c.name,
            c.start,
            c.end,
            c.price.to_bits(),
            c.bid.map(f64::to_bits),
            c.ask.map(f64::to_bits),
            c.block.as_text(),
            c.weight.to_bits()
        ));
    }
    if let Some((v, mode)) = &r.prior {
        put(&format!("{mode:?}"));
        for x in v {
            put(&x.to_bits().to_string());
        }
    }
    h.finalize().iter().map(|x| format!("{x:02x}")).collect()
}

/// Most contracts in one build.
pub const MAX_CONTRACTS: usize = 400;
/// Longest span (days) of an hourly grid: 10 years.
pub const MAX_HOURLY_DAYS: i64 = 3_653;
/// Longest span (days) of a daily or monthly grid: 30 years.
pub const MAX_DAYS: i64 = 10_958;

/// The grid spanning every contract (and `until`), within the size limits.
pub fn grid_for(
    market: Market,
    g: Granularity,
    contracts: &[ContractSpec],
    until: Option<NaiveDate>,
) -> Result<Grid, BuildError> {
    let first = contracts.iter().map(|c| c.start).min();
    let last = contracts
        .iter()
        .map(|c| c.end)
        .max()
        .map(|l| until.map_or(l, |u| u.max(l)));
    if contracts.len() > MAX_CONTRACTS {
        return Err(BuildError::File {
            file: "contracts".into(),
            message: format!("{} contracts; at most {MAX_CONTRACTS}", contracts.len()),
        });
    }
    if let (Some(f), Some(l)) = (first, last) {
        let (limit, what) = match g {
            Granularity::Hourly => (MAX_HOURLY_DAYS, "an hourly grid spans at most 10 years"),
            _ => (MAX_DAYS, "a grid spans at most 30 years"),
        };
        if (l - f).num_days() >= limit {
            return Err(BuildError::File {
                file: "contracts".into(),
                message: format!("{f} to {l}: {what}"),
            });
        }
    }
    match (first, last) {
        (Some(f), Some(l)) => Grid::new(market, g, f, l).map_err(|m| BuildError::File {
            file: "contracts".into(),
            message: m,
        }),
        _ => Err(BuildError::Engine(engine::Error::Empty)),
    }
}

/// Builds the curve.
pub fn build(r: &Request) -> Result<Built, BuildError> {
    let grid = grid_for(r.market, r.granularity, &r.contracts, r.until)?;
    if let Some(rate) = r.discount_rate
        && !(rate.is_finite() && rate > -1.0 && rate < 1.0)
    {
        return Err(BuildError::File {
            file: "parameters".into(),
            message: format!("discount rate {rate} must be a yearly fraction between -1 and 1"),
        });
    }
    let factors = discount_factors(&grid, r.trade_date, r.discount_rate);
    let contracts: Vec<Contract> = r
        .contracts
        .iter()
        .map(|c| Contract {
            name: c.name.clone(),
            weights: grid
                .weights(c.start, c.end, c.block)
                .into_iter()
                .zip(&factors)
                .map(|(w, f)| w * c.weight * f)
                .collect(),
            price: c.price,
        })
        .collect();
    let findings = reconcile::findings(&contracts);
    let mut dropped = vec![false; contracts.len()];
    let nested_gaps: Vec<&Finding> = findings
        .iter()
        .filter(|f| matches!(f, Finding::Nested { gap, .. } if gap.abs() > 1e-9))
        .collect();
    match r.policy {
        Policy::Strict if !nested_gaps.is_empty() => {
            let text: Vec<String> = nested_gaps
                .iter()
                .map(|f| match f {
                    Finding::Nested { parent, children, parent_price, implied, gap } => format!(
                        "{} averaging {implied:.4} against {parent} at {parent_price} (gap {gap:+.4})",
                        children.join(" + ")
                    ),
                    Finding::Overlap { .. } => String::new(),
                })
                .collect();
            return Err(BuildError::Arbitrage(text.join("; ")));
        }
        Policy::DropParents => {
            for f in &findings {
                if let Finding::Nested { parent, .. } = f
                    && let Some(i) = contracts.iter().position(|c| &c.name == parent)
                {
                    dropped[i] = true;
                }
            }
        }
        _ => {}
    }
    let kept: Vec<Contract> = contracts
        .iter()
        .zip(&dropped)
        .filter(|(_, d)| !**d)
        .map(|(c, _)| c.clone())
        .collect();
    let last_delivery = r.contracts.iter().map(|c| c.end).max();
    let flat_from = match (r.flat_long_end, last_delivery) {
        (true, Some(end)) => {
            let inside = grid.points.iter().rposition(|p| p.first_date <= end);
            inside.map(|k| k.min(grid.len().saturating_sub(2)))
        }
        _ => None,
    };
    let problem = Problem {
        n: grid.len(),
        contracts: kept,
        prior: r.prior.clone(),
        tension: r.tension,
        flat_from,
    };
    let clock = std::time::Instant::now();
    let (curve, objective, duals, solver, status, iterations) = match r.policy {
        Policy::BidAsk => {
            let bands: Vec<Option<(f64, f64)>> = r
                .contracts
                .iter()
                .zip(&dropped)
                .filter(|(_, d)| !**d)
                .map(|(c, _)| c.bid.zip(c.ask))
                .collect();
            let s = qp::solve_bands(&problem, &bands)?;
            (
                s.curve,
                s.objective,
                s.duals,
                if s.polished {
                    "clarabel + exact KKT polish".to_string()
                } else {
                    "clarabel".to_string()
                },
                s.status,
                s.iterations,
            )
        }
        Policy::LeastSquares => {
            let s = engine::solve_penalised(&problem, LEAST_SQUARES_PENALTY)?;
            (
                s.curve,
                s.objective,
                None,
                "least squares (banded, penalty 1e4)".to_string(),
                "optimal".to_string(),
                s.refinements,
            )
        }
        _ => {
            let s = engine::solve_kkt(&problem)?;
            (
                s.curve,
                s.objective,
                Some(s.duals),
                "kkt (banded Schur complement)".to_string(),
                "optimal".to_string(),
                s.refinements,
            )
        }
    };
    let solve_seconds = clock.elapsed().as_secs_f64();
    let mut kept_i = 0;
    let results = contracts
        .iter()
        .zip(&dropped)
        .map(|(c, d)| {
            let total: f64 = c.weights.iter().sum();
            let repriced = c
                .weights
                .iter()
                .zip(&curve)
                .map(|(w, f)| w * f)
                .sum::<f64>()
                / total;
            let dual = if *d {
                None
            } else {
                kept_i += 1;
                duals.as_ref().map(|v| v[kept_i - 1])
            };
            ContractResult {
                name: c.name.clone(),
                quoted: c.price,
                repriced,
                error: repriced - c.price,
                dual,
                dropped: *d,
            }
        })
        .collect();
    Ok(Built {
        grid,
        curve,
        contracts: results,
        findings,
        objective,
        solver,
        status,
        iterations,
        solve_seconds,
        input_hash: input_hash(r),
    })
}

/// Weight of each quote's squared error under `least_squares`.
pub const LEAST_SQUARES_PENALTY: f64 = 1e4;

/// `exp(−r·t)` per grid point, `t` in years (ACT/365) from the start of the
/// trade date to the middle of the point; all ones without a rate.
pub fn discount_factors(grid: &Grid, trade_date: NaiveDate, rate: Option<f64>) -> Vec<f64> {
    let Some(rate) = rate else {
        return vec![1.0; grid.len()];
    };
    let t0 = carbon_core::time::day_start(grid.market, trade_date);
    grid.points
        .iter()
        .map(|p| {
            let mid = p.start + (p.end - p.start) / 2;
            let years = (mid - t0).num_seconds() as f64 / (365.0 * 86_400.0);
            (-rate * years).exp()
        })
        .collect()
}

/// A curve's average over a calendar period and block.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// `2027-01`, `2027-Q1` or `2027`.
    pub period: String,
    /// Block.
    pub block: Block,
    /// Hour-weighted average of the curve over the period's block hours.
    pub price: f64,
    /// True when the grid covers only part of the period.
    pub partial: bool,
}

/// Month, quarter and calendar-year views of a curve, per block (periods
/// with no hours of a block are left out).
pub fn views(grid: &Grid, curve: &[f64], blocks: &[Block]) -> Vec<View> {
    use chrono::Datelike;
    let (Some(first), Some(last)) = (
        grid.points.first().map(|p| p.first_date),
        grid.points.last().map(|p| p.last_date),
    ) else {
        return Vec::new();
    };
    let mut periods: Vec<(String, NaiveDate, NaiveDate)> = Vec::new();
    let end_of = |y: i32, m: u32| {
        carbon_core::time::next_month(NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(first))
            .pred_opt()
            .unwrap_or(first)
    };
    for y in first.year()..=last.year() {
        for m in 1..=12u32 {
            if let Some(s) = NaiveDate::from_ymd_opt(y, m, 1) {
                periods.push((format!("{y}-{m:02}"), s, end_of(y, m)));
            }
        }
        for q in 0..4u32 {
            if let Some(s) = NaiveDate::from_ymd_opt(y, 3 * q + 1, 1) {
                periods.push((format!("{y}-Q{}", q + 1), s, end_of(y, 3 * q + 3)));
            }
        }
        if let Some(s) = NaiveDate::from_ymd_opt(y, 1, 1) {
            periods.push((format!("{y}"), s, end_of(y, 12)));
        }
    }
    let mut out = Vec::new();
    for (period, s, e) in periods {
        if e < first || s > last {
            continue;
        }
        for &block in blocks {
            let w = grid.weights(s.max(first), e.min(last), block);
            let total: f64 = w.iter().sum();
            if total > 0.0 {
                let price = w.iter().zip(curve).map(|(a, b)| a * b).sum::<f64>() / total;
                out.push(View {
                    period: period.clone(),
                    block,
                    price,
                    partial: s < first || e > last,
                });
            }
        }
    }
    out
}

/// A reporting period of a curve: the stored or aggregated value over one
/// hour, day or month, for one block.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    /// First instant (UTC).
    pub start: DateTime<Utc>,
    /// End instant (UTC, exclusive).
    pub end: DateTime<Utc>,
    /// `2027-01`, `2027-01-05` or `2027-01-05 HE07` (`HE02*` for the repeated
    /// fall-back hour), on the market clock.
    pub tenor: String,
    /// Average of the curve over the period's hours in the block.
    pub price: f64,
}

/// The tenor label of each point of `grid`.
pub fn tenors(grid: &Grid) -> Vec<String> {
    grid.points
        .iter()
        .map(|p| match grid.granularity {
            Granularity::Monthly => p.first_date.format("%Y-%m").to_string(),
            Granularity::Daily => p.first_date.to_string(),
            Granularity::Hourly => {
                let h = carbon_core::time::hour_of(grid.market, p.start);
                format!(
                    "{} HE{:02}{}",
                    h.date,
                    h.hour_ending,
                    if h.repeated { "*" } else { "" }
                )
            }
        })
        .collect()
}

/// Re-expresses a curve on `grid` at a coarser (or the same) `target`
/// granularity for one block or mask: each target period's value is the
/// hour-weighted average of the curve over the period's hours in the block,
/// periods without such hours are left out. `Err` when `target` is finer
/// than the grid.
pub fn aggregate(
    grid: &Grid,
    curve: &[f64],
    target: Granularity,
    shape: Shape,
) -> Result<Vec<Period>, String> {
    let rank = |g: Granularity| match g {
        Granularity::Hourly => 0,
        Granularity::Daily => 1,
        Granularity::Monthly => 2,
    };
    if rank(target) < rank(grid.granularity) {
        return Err(format!(
            "the curve is stored {:?}; it cannot be shown at a finer {:?} granularity",
            grid.granularity, target
        )
        .to_lowercase());
    }
    let (Some(first), Some(last)) = (
        grid.points.first().map(|p| p.first_date),
        grid.points.last().map(|p| p.last_date),
    ) else {
        return Ok(Vec::new());
    };
    let out_grid = Grid::new(grid.market, target, first, last)?;
    let labels = tenors(&out_grid);
    let mut out = Vec::new();
    for (i, (tp, tenor)) in out_grid.points.iter().zip(labels).enumerate() {
        let (total, sum) = if target == Granularity::Hourly {
            // Same grid: one hour each.
            let w = if out_grid.contains(i, shape) {
                1.0
            } else {
                0.0
            };
            (w, w * curve[i])
        } else {
            let w = grid.weights(tp.first_date, tp.last_date, shape);
            let total: f64 = w.iter().sum();
            (total, w.iter().zip(curve).map(|(a, b)| a * b).sum::<f64>())
        };
        if total > 0.0 {
            out.push(Period {
                start: tp.start,
                end: tp.end,
                tenor,
                price: sum / total,
            });
        }
    }
    Ok(out)
}

impl Built {
    /// The JSON report: input hash, engine, parameters, solver statistics,
    /// contracts with quoted/repriced/error/dual, reconciliation findings and
    /// month/quarter/calendar views per block.
    pub fn report(&self, r: &Request) -> serde_json::Value {
        use serde_json::json;
        let findings: Vec<serde_json::Value> = self
            .findings
            .iter()
            .map(|f| match f {
                Finding::Nested {
                    parent,
                    children,
                    parent_price,
                    implied,
                    gap,
                } => json!({
                    "kind": "nested", "parent": parent, "children": children,
                    "parent_price": parent_price, "implied": implied, "gap": gap,
                }),
                Finding::Overlap { a, b } => json!({ "kind": "overlap", "contracts": [a, b] }),
            })
            .collect();
        json!({
            "input_hash": self.input_hash,
            "engine": ENGINE_VERSION,
            "market": r.market.code(),
            "trade_date": r.trade_date.to_string(),
            "grid": format!("{:?}", r.granularity).to_lowercase(),
            "points": self.grid.len(),
            "policy": format!("{:?}", r.policy),
            "parameters": {
                "tension": r.tension,
                "discount_rate": r.discount_rate,
                "until": r.until.map(|d| d.to_string()),
                "flat_long_end": r.flat_long_end,
                "prior": r.prior.as_ref().map(|(_, m)| format!("{m:?}").to_lowercase()),
            },
            "solver": {
                "name": self.solver,
                "status": self.status,
                "iterations": self.iterations,
                "seconds": self.solve_seconds,
            },
            "objective": self.objective,
            "contracts": self.contracts.iter().zip(&r.contracts).map(|(c, spec)| json!({
                "name": c.name, "start": spec.start.to_string(), "end": spec.end.to_string(),
                "block": spec.block.as_text(), "bid": spec.bid, "ask": spec.ask,
                "quoted": c.quoted, "repriced": c.repriced,
                "error": c.error, "dual": c.dual, "dropped": c.dropped,
            })).collect::<Vec<_>>(),
            "reconciliation": findings,
            "views": views(&self.grid, &self.curve, &Block::ALL)
                .iter()
                .map(|v| json!({
                    "period": v.period, "block": v.block.as_str(),
                    "price": v.price, "partial": v.partial,
                }))
                .collect::<Vec<_>>(),
        })
    }
}
