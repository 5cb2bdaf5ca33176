//! Data quality: per-row checks that quarantine, per-batch findings that inform.

use std::collections::{BTreeMap, HashMap, HashSet};

use carbon_core::{Component, Market, MarketRun, Observation, hash::Fx, time};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Data-quality settings (`[quality]` in carbon.toml).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DqConfig {
    /// Lowest credible price, $/MWh (negative prices are normal).
    pub min_price: f64,
    /// Highest credible price, $/MWh.
    pub max_price: f64,
    /// Largest accepted |LMP − (energy + congestion + loss + ghg)|, $/MWh.
    pub sum_tolerance: f64,
}

impl Default for DqConfig {
    fn default() -> Self {
        Self {
            min_price: -2000.0,
            max_price: 20000.0,
            sum_tolerance: 0.02,
        }
    }
}

/// A series whose market day is not complete in this payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incomplete {
    /// Instrument.
    pub instrument_id: String,
    /// Market run.
    pub market_run: MarketRun,
    /// Market day.
    pub market_day: NaiveDate,
    /// Intervals a full day has (23/24/25 hours × intervals per hour).
    pub expected: usize,
    /// Intervals present.
    pub found: usize,
}

/// Batch-level findings, stored with the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Findings {
    /// Rows checked.
    pub rows: usize,
    /// Rows quarantined.
    pub rejected: usize,
    /// Exact duplicate rows in the payload (kept once).
    pub duplicates: usize,
    /// Series × days with fewer or more intervals than the day has (at most 50 listed).
    pub incomplete: Vec<Incomplete>,
    /// Number of incomplete series × days in all.
    pub incomplete_total: usize,
    /// For a connector's request: the answer against what the window should hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowCheck>,
}

/// A connector's answer checked against its request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowCheck {
    /// Intervals a complete series has in the window.
    pub expected_per_node: usize,
    /// Nodes with data in the answer.
    pub nodes: usize,
    /// Nodes with fewer intervals than expected (the window may still be filling).
    pub short_series: usize,
    /// Nodes asked for — or live right before the window — that are absent (at most 50 listed).
    pub missing_nodes: Vec<String>,
    /// Number of absent nodes in all.
    pub missing_nodes_total: usize,
}

/// Checks accepted rows of one request against its window and expected nodes.
/// `live_before`: instrument ids whose series ran up to the window's start.
pub fn check_window(
    market: Market,
    accepted: &[Observation],
    run: MarketRun,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    expected: &crate::connector::Expected,
    live_before: &[String],
) -> WindowCheck {
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for o in accepted {
        if o.market_run == run && o.interval_start >= start && o.interval_start < end {
            *per_node.entry(o.instrument_id.as_str()).or_default() += 1;
        }
    }
    let present: HashSet<&str> = accepted.iter().map(|o| o.instrument_id.as_str()).collect();
    let wanted: Vec<String> = match &expected.nodes {
        Some(nodes) => nodes
            .iter()
            .map(|n| format!("{}.{n}", market.code()))
            .collect(),
        None => live_before.to_vec(),
    };
    let missing: Vec<String> = wanted
        .into_iter()
        .filter(|id| !present.contains(id.as_str()))
        .collect();
    WindowCheck {
        expected_per_node: expected.intervals_per_node,
        nodes: per_node.len(),
        short_series: per_node
            .values()
            .filter(|n| **n < expected.intervals_per_node)
            .count(),
        missing_nodes_total: missing.len(),
        missing_nodes: missing.into_iter().take(50).collect(),
    }
}

/// Result of checking a batch.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Rows that pass.
    pub accepted: Vec<Observation>,
    /// Rows that fail, with the reason.
    pub rejected: Vec<(Observation, String)>,
    /// Findings.
    pub findings: Findings,
}

/// Checks one row; `Err(reason)` quarantines it.
pub fn check_row(o: &Observation, cfg: &DqConfig) -> Result<(), String> {
    // The common case without iterating: finite parts, LMP in range, sum ok.
    let v = &o.values;
    if let (Some(lmp), Some(energy), Some(r)) = (v.lmp, v.energy, v.residual())
        && lmp.is_finite()
        && energy.is_finite()
        && [v.congestion, v.loss, v.ghg]
            .iter()
            .flatten()
            .all(|x| x.is_finite())
        && (cfg.min_price..=cfg.max_price).contains(&lmp)
        && r.abs() <= cfg.sum_tolerance
    {
        return Ok(());
    }
    check_row_slow(o, cfg)
}

fn check_row_slow(o: &Observation, cfg: &DqConfig) -> Result<(), String> {
    for (c, v) in o.values.iter() {
        if !v.is_finite() {
            return Err(format!("{c} is not a finite number"));
        }
        if c == Component::Lmp && !(cfg.min_price..=cfg.max_price).contains(&v) {
            return Err(format!(
                "lmp {v} outside the sanity range {}..{} $/MWh",
                cfg.min_price, cfg.max_price
            ));
        }
    }
    let v = &o.values;
    if let (Some(lmp), Some(_), Some(r)) = (v.lmp, v.energy, v.residual())
        && r.abs() > cfg.sum_tolerance
    {
        return Err(format!(
            "components do not sum to the LMP: lmp {lmp} − (energy + congestion + loss + ghg) = {r:.5} (tolerance {})",
            cfg.sum_tolerance
        ));
    }
    Ok(())
}

/// Checks a parsed batch.
pub fn check(market: Market, observations: Vec<Observation>, cfg: &DqConfig) -> Checked {
    let mut out = Checked::default();
    out.findings.rows = observations.len();
    // Pass 1 (borrowing): duplicates, row verdicts, intervals per series-day.
    let mut verdicts: Vec<Option<Result<(), String>>> = Vec::with_capacity(observations.len());
    // Instruments as small integers: rows come grouped by instrument, so the
    // name is looked up once per group and the per-row keys hash integers.
    let mut index: HashMap<&str, u32, Fx> = HashMap::default();
    let mut names: Vec<&str> = Vec::new();
    let mut counts: HashMap<(u32, MarketRun, NaiveDate), usize, Fx> = HashMap::default();
    let mut rejected = 0usize;
    {
        // Parsers usually emit each series once, in time order: then no key
        // can repeat and the per-row set is not needed.
        let mut seen: Option<HashSet<(u32, MarketRun, i64, i64), Fx>> =
            (!carbon_core::observation::keys_grouped_and_increasing(&observations))
                .then(|| HashSet::with_capacity_and_hasher(observations.len(), Fx::default()));
        let mut last_id: Option<(&carbon_core::InstrumentId, u32)> = None;
        // The market day of the last row, with its UTC bounds.
        let mut last_day: Option<(
            chrono::DateTime<chrono::Utc>,
            chrono::DateTime<chrono::Utc>,
            NaiveDate,
        )> = None;
        // A run of rows of one series-day, counted before it goes in the map.
        let mut run: Option<((u32, MarketRun, NaiveDate), usize)> = None;
        for o in &observations {
            let i = match last_id {
                Some((id, i)) if *id == o.instrument_id => i,
                _ => {
                    let next = names.len() as u32;
                    let i = *index.entry(o.instrument_id.as_str()).or_insert(next);
                    if i == next {
                        names.push(o.instrument_id.as_str());
                    }
                    last_id = Some((&o.instrument_id, i));
                    i
                }
            };
            let key = (
                i,
                o.market_run,
                o.interval_start.timestamp(),
                o.vintage.timestamp_micros(),
            );
            if let Some(seen) = seen.as_mut()
                && !seen.insert(key)
            {
                verdicts.push(None);
                continue;
            }
            let verdict = check_row(o, cfg);
            rejected += usize::from(verdict.is_err());
            if verdict.is_ok() {
                let t = o.interval_start;
                let day = match last_day {
                    Some((from, to, d)) if from <= t && t < to => d,
                    _ => {
                        let d = time::market_date(market, t);
                        let from = time::day_start(market, d);
                        let to = time::day_start(market, d.succ_opt().unwrap_or(d));
                        last_day = Some((from, to, d));
                        d
                    }
                };
                let k = (i, o.market_run, day);
                match &mut run {
                    Some((rk, n)) if *rk == k => *n += 1,
                    _ => {
                        if let Some((rk, n)) = run.take() {
                            *counts.entry(rk).or_default() += n;
                        }
                        run = Some((k, 1));
                    }
                }
            }
            verdicts.push(Some(verdict));
        }
        if let Some((rk, n)) = run {
            *counts.entry(rk).or_default() += n;
        }
    }
    let mut counts: Vec<((String, MarketRun, NaiveDate), usize)> = counts
        .into_iter()
        .map(|((i, run, day), n)| ((names[i as usize].to_string(), run, day), n))
        .collect();
    counts.sort();
    // Pass 2 (moving): split — or, when every row passes, keep the vector.
    if rejected == 0 && verdicts.iter().all(Option::is_some) {
        out.accepted = observations;
    } else {
        out.accepted.reserve(observations.len());
        for (o, verdict) in observations.into_iter().zip(verdicts) {
            match verdict {
                None => out.findings.duplicates += 1,
                Some(Ok(())) => out.accepted.push(o),
                Some(Err(reason)) => out.rejected.push((o, reason)),
            }
        }
    }
    out.findings.rejected = out.rejected.len();
    for ((id, run, day), found) in counts {
        let per_hour = (60 / run.interval_minutes().max(1)) as usize;
        let expected = time::hours_in_day(market, day) as usize * per_hour;
        if found != expected {
            out.findings.incomplete_total += 1;
            if out.findings.incomplete.len() < 50 {
                out.findings.incomplete.push(Incomplete {
                    instrument_id: id,
                    market_run: run,
                    market_day: day,
                    expected,
                    found,
                });
            }
        }
    }
    out
}
