//! Data quality: per-row checks that quarantine, per-batch findings that inform.

use std::collections::{BTreeMap, HashMap, HashSet};

use carbon_core::{
    Component, Components, Market, MarketRun, Observation, ObservationBatch, hash::Fx, time,
};
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
    accepted: &ObservationBatch,
    run: MarketRun,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    expected: &crate::connector::Expected,
    live_before: &[String],
) -> WindowCheck {
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..accepted.len() {
        let t = accepted.interval_start(i);
        if accepted.market_run(i) == run && t >= start && t < end {
            *per_node.entry(accepted.instrument(i).as_str()).or_default() += 1;
        }
    }
    // From the rows: a filtered batch still lists instruments it dropped.
    let present: HashSet<&str> = (0..accepted.len())
        .map(|i| accepted.instrument(i).as_str())
        .collect();
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
    /// Rows that pass, in their order.
    pub accepted: ObservationBatch,
    /// Rows that fail, with the reason.
    pub rejected: Vec<(Observation, String)>,
    /// Findings.
    pub findings: Findings,
}

/// Checks one row's component values; `Err(reason)` quarantines the row.
pub fn check_values(values: &Components, cfg: &DqConfig) -> Result<(), String> {
    for (c, v) in values.iter() {
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
    let v = values;
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

/// Whether row `i` passes [`check_values`], read in place for the common row
/// (LMP and energy present, every part finite, LMP in range, parts summing
/// within tolerance); other rows take the full check. Absent components are
/// stored as 0, which is what the sum takes for them.
fn row_verdict(b: &ObservationBatch, i: usize, cfg: &DqConfig) -> Result<(), String> {
    let (&[lmp, energy, congestion, loss, ghg], present) = b.raw_values(i);
    if present & 0b11 == 0b11
        && [lmp, energy, congestion, loss, ghg]
            .iter()
            .all(|x| x.is_finite())
        && (cfg.min_price..=cfg.max_price).contains(&lmp)
        && (lmp - energy - congestion - loss - ghg).abs() <= cfg.sum_tolerance
    {
        return Ok(());
    }
    check_values(&b.components(i), cfg)
}

/// Checks a parsed batch.
pub fn check(market: Market, observations: ObservationBatch, cfg: &DqConfig) -> Checked {
    let mut out = Checked::default();
    let obs = &observations;
    out.findings.rows = obs.len();
    // Pass 1 (reading rows in place): duplicates, row verdicts, intervals per series-day.
    // Rows that do not pass, by index: `None` a duplicate, `Some` the reason.
    let mut bad: Vec<(usize, Option<String>)> = Vec::new();
    // Instruments as small integers, one per distinct name (a batch may list
    // an instrument more than once): looked up once per dictionary entry.
    let mut index: HashMap<&str, u32, Fx> = HashMap::default();
    let mut names: Vec<&str> = Vec::new();
    let entry_name: Vec<u32> = obs
        .instruments()
        .iter()
        .map(|id| {
            let next = names.len() as u32;
            let i = *index.entry(id.as_str()).or_insert(next);
            if i == next {
                names.push(id.as_str());
            }
            i
        })
        .collect();
    let mut counts: HashMap<(u32, MarketRun, NaiveDate), usize, Fx> = HashMap::default();
    {
        // Parsers usually emit each series once, in time order: then no key
        // can repeat and the per-row set is not needed.
        let mut seen: Option<HashSet<(u32, MarketRun, i64, i64), Fx>> = (!obs
            .keys_grouped_and_increasing())
        .then(|| HashSet::with_capacity_and_hasher(obs.len(), Fx::default()));
        // The market day of the last row, with its UTC bounds.
        let mut last_day: Option<(
            chrono::DateTime<chrono::Utc>,
            chrono::DateTime<chrono::Utc>,
            NaiveDate,
        )> = None;
        // A run of rows of one series-day, counted before it goes in the map.
        let mut run: Option<((u32, MarketRun, NaiveDate), usize)> = None;
        for row in 0..obs.len() {
            let i = entry_name[obs.instrument_index(row) as usize];
            if let Some(seen) = seen.as_mut()
                && !seen.insert((
                    i,
                    obs.market_run(row),
                    obs.interval_start(row).timestamp_micros(),
                    obs.vintage(row).timestamp_micros(),
                ))
            {
                bad.push((row, None));
                continue;
            }
            if let Err(reason) = row_verdict(obs, row, cfg) {
                bad.push((row, Some(reason)));
            } else {
                let t = obs.interval_start(row);
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
                let k = (i, obs.market_run(row), day);
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
        }
        if let Some((rk, n)) = run {
            *counts.entry(rk).or_default() += n;
        }
    }
    // Hours of each market day, looked up once per day.
    let mut hours: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    let mut incomplete: Vec<(&str, MarketRun, NaiveDate, usize, usize)> = counts
        .into_iter()
        .filter_map(|((i, run, day), found)| {
            let per_hour = (60 / run.interval_minutes().max(1)) as usize;
            let day_hours = *hours
                .entry(day)
                .or_insert_with(|| time::hours_in_day(market, day) as usize);
            let expected = day_hours * per_hour;
            (found != expected).then_some((names[i as usize], run, day, expected, found))
        })
        .collect();
    // Listed by series and day (only the incomplete ones need sorting).
    incomplete.sort_unstable();
    out.findings.incomplete_total = incomplete.len();
    out.findings.incomplete = incomplete
        .into_iter()
        .take(50)
        .map(|(id, market_run, market_day, expected, found)| Incomplete {
            instrument_id: id.to_string(),
            market_run,
            market_day,
            expected,
            found,
        })
        .collect();
    // Pass 2: split — or, when every row passes, keep the batch as it is.
    if !bad.is_empty() {
        let mut keep = vec![true; obs.len()];
        for (row, verdict) in bad {
            keep[row] = false;
            match verdict {
                None => out.findings.duplicates += 1,
                Some(reason) => out.rejected.push((obs.get(row), reason)),
            }
        }
        out.accepted = obs.filter(|row| keep[row]);
    } else {
        out.accepted = observations;
    }
    out.findings.rejected = out.rejected.len();
    out
}

#[cfg(test)]
mod tests {
    use carbon_core::{Components, InstrumentId, Provenance};
    use chrono::{DateTime, Duration, Utc};

    use super::*;

    fn row(node: &str, h: i64, lmp: f64) -> Observation {
        let day: DateTime<Utc> = "2025-03-01T05:00:00Z".parse().unwrap();
        Observation {
            instrument_id: InstrumentId::new(Market::Miso, node).unwrap(),
            market_run: MarketRun::Da,
            interval_start: day + Duration::hours(h),
            interval_end: day + Duration::hours(h + 1),
            values: Components {
                lmp: Some(lmp),
                energy: Some(lmp - 1.0),
                congestion: Some(0.5),
                loss: Some(0.5),
                ghg: None,
            },
            vintage: day,
            provenance: Provenance::new("t", Some(h as u64 + 1)),
        }
    }

    /// A node whose every row was quarantined is missing from the answer,
    /// though the accepted batch still lists it among its instruments.
    #[test]
    fn window_check_counts_nodes_by_their_accepted_rows() {
        let mut rows: Vec<Observation> = (0..24).map(|h| row("A", h, 20.0)).collect();
        rows.extend((0..24).map(|h| row("B", h, 99_999.0)));
        rows.extend((0..20).map(|h| row("C", h, 30.0)));
        let c = check(Market::Miso, rows.into(), &DqConfig::default());
        assert_eq!((c.accepted.len(), c.rejected.len()), (44, 24));
        let start: DateTime<Utc> = "2025-03-01T05:00:00Z".parse().unwrap();
        let expected = crate::connector::Expected {
            intervals_per_node: 24,
            nodes: Some(vec!["A".into(), "B".into(), "C".into()]),
        };
        let w = check_window(
            Market::Miso,
            &c.accepted,
            MarketRun::Da,
            start,
            start + Duration::days(1),
            &expected,
            &[],
        );
        assert_eq!((w.nodes, w.short_series), (2, 1));
        assert_eq!(w.missing_nodes, vec!["MISO.B".to_string()]);
        assert_eq!(w.missing_nodes_total, 1);
    }

    /// The grouped fast path and the hash path give the same split, in order.
    #[test]
    fn duplicates_rejections_and_incomplete_days() {
        // A: a full day; B: 23 hours, one of them out of range; then A's
        // hour 3 again (groups come back: the hash path finds the repeat).
        let mut rows: Vec<Observation> = (0..24).map(|h| row("A", h, 20.0 + h as f64)).collect();
        rows.extend((0..23).map(|h| row("B", h, if h == 7 { 25_000.0 } else { 30.0 })));
        rows.push(row("A", 3, 23.0));
        let c = check(Market::Miso, rows.clone().into(), &DqConfig::default());
        assert_eq!(c.findings.rows, 48);
        assert_eq!(c.findings.duplicates, 1);
        assert_eq!(c.rejected.len(), 1);
        assert!(
            c.rejected[0].1.contains("sanity range"),
            "{}",
            c.rejected[0].1
        );
        assert_eq!(c.rejected[0].0.interval_start, rows[31].interval_start);
        assert_eq!(c.accepted.len(), 46);
        let accepted: Vec<Observation> = c.accepted.iter().collect();
        assert_eq!(accepted[..24], rows[..24]);
        assert_eq!(accepted[24..31], rows[24..31]);
        // B has 22 good hours of 24: incomplete; A is complete.
        assert_eq!(c.findings.incomplete_total, 1);
        let inc = &c.findings.incomplete[0];
        assert_eq!(
            (inc.instrument_id.as_str(), inc.expected, inc.found),
            ("MISO.B", 24, 22)
        );

        // Without the repeat the rows are grouped and increasing: same verdicts.
        rows.pop();
        let fast = check(Market::Miso, rows.clone().into(), &DqConfig::default());
        assert_eq!((fast.findings.duplicates, fast.rejected.len()), (0, 1));
        assert_eq!(fast.accepted, c.accepted);
        // All good: the vector is kept as it came.
        rows.remove(31);
        let all = check(Market::Miso, rows.clone().into(), &DqConfig::default());
        assert!(all.rejected.is_empty());
        assert_eq!(Vec::from(all.accepted), rows);
    }
}
