//! [`FundamentalStore`] and [`ResearchStore`] on DuckDB.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::SecondsFormat;
use duckdb::{OptionalExt, params};

use super::{DuckdbStore, from_micros, ts};
use crate::{
    error::{Error, Result},
    fundstore::{
        BASE_SCENARIO, FundamentalAppend, FundamentalPoint, FundamentalQuery, FundamentalSeries,
        FundamentalStore, ResearchFilter, ResearchRun, ResearchStore,
    },
};

fn check(p: &FundamentalPoint) -> Result<()> {
    let at = || p.interval_start.to_rfc3339_opts(SecondsFormat::Secs, true);
    let bad = |field: &'static str, why: String| {
        Err(Error::param(
            field,
            format!("{} / {} at {}: {why}", p.entity, p.variable, at()),
        ))
    };
    if p.entity.trim().is_empty() {
        return bad("entity", "empty entity".into());
    }
    if p.variable.trim().is_empty() {
        return bad("variable", "empty variable".into());
    }
    if !p.value.is_finite() {
        return bad("value", format!("value {} is not a finite number", p.value));
    }
    if p.interval_end <= p.interval_start {
        return bad("interval_end", "interval end is not after its start".into());
    }
    Ok(())
}

#[async_trait]
impl FundamentalStore for DuckdbStore {
    async fn append_fundamentals(
        &self,
        points: Vec<FundamentalPoint>,
    ) -> Result<FundamentalAppend> {
        for p in &points {
            check(p)?;
        }
        self.blocking(move |s| {
            let mut c = s.writer();
            let tx = c.transaction()?;
            // The vintages already stored for the batch's series and span.
            type Key = (String, String, String);
            let mut spans: BTreeMap<Key, (i64, i64)> = BTreeMap::new();
            for p in &points {
                let k = (p.entity.clone(), p.variable.clone(), p.scenario_id.clone());
                let t = p.interval_start.timestamp_micros();
                let e = spans.entry(k).or_insert((t, t));
                e.0 = e.0.min(t);
                e.1 = e.1.max(t);
            }
            // (series, start) → [(vintage, value)] sorted by vintage.
            let mut existing: HashMap<(Key, i64), Vec<(i64, f64)>> = HashMap::new();
            {
                let mut stmt = tx.prepare(
                    "SELECT epoch_us(interval_start_utc), epoch_us(vintage_utc), value FROM fundamentals
                     WHERE entity = ? AND variable = ? AND scenario_id = ?
                       AND interval_start_utc BETWEEN make_timestamp(?) AND make_timestamp(?)",
                )?;
                for (k, (lo, hi)) in &spans {
                    let mut rows = stmt.query(params![k.0, k.1, k.2, lo, hi])?;
                    while let Some(r) = rows.next()? {
                        existing
                            .entry((k.clone(), r.get(0)?))
                            .or_default()
                            .push((r.get(1)?, r.get(2)?));
                    }
                }
            }
            for v in existing.values_mut() {
                v.sort_by_key(|x| x.0);
            }
            let mut out = FundamentalAppend::default();
            let mut replace = Vec::new();
            let mut fresh = Vec::new();
            for p in points {
                let k = (p.entity.clone(), p.variable.clone(), p.scenario_id.clone());
                let t = p.interval_start.timestamp_micros();
                let v = p.vintage.timestamp_micros();
                let prior = existing
                    .get(&(k, t))
                    .and_then(|vs| vs.iter().rev().find(|(vin, _)| *vin <= v).copied());
                match prior {
                    Some((_, val)) if val == p.value => out.unchanged += 1,
                    Some((vin, _)) if vin == v => replace.push(p),
                    _ => fresh.push(p),
                }
            }
            for p in &replace {
                tx.execute(
                    "DELETE FROM fundamentals WHERE entity = ? AND variable = ? AND scenario_id = ?
                       AND interval_start_utc = ? AND vintage_utc = ?",
                    params![p.entity, p.variable, p.scenario_id, ts(p.interval_start), ts(p.vintage)],
                )?;
            }
            {
                let mut app = tx.appender("fundamentals")?;
                let mut seen = std::collections::HashSet::new();
                for p in replace.iter().chain(&fresh) {
                    let key = (
                        p.entity.as_str(),
                        p.variable.as_str(),
                        p.scenario_id.as_str(),
                        p.interval_start,
                        p.vintage,
                    );
                    if !seen.insert(key) {
                        return Err(Error::param(
                            "interval_start",
                            format!(
                                "{} / {} at {} appears twice in one batch",
                                p.entity,
                                p.variable,
                                p.interval_start.to_rfc3339_opts(SecondsFormat::Secs, true)
                            ),
                        ));
                    }
                    app.append_row(params![
                        p.entity,
                        p.variable,
                        p.scenario_id,
                        ts(p.interval_start),
                        ts(p.interval_end),
                        ts(p.vintage),
                        p.value,
                        p.unit,
                        p.source
                    ])?;
                }
                app.flush()?;
            }
            tx.commit()?;
            out.stored = (replace.len() + fresh.len()) as u64;
            Ok(out)
        })
        .await
    }

    async fn fundamentals(&self, q: FundamentalQuery) -> Result<Vec<FundamentalPoint>> {
        if let (Some(s), Some(e)) = (q.start, q.end)
            && e <= s
        {
            return Err(Error::param("end", "end must be after start"));
        }
        self.blocking(move |s| {
            let c = s.reader();
            let scenario = q.scenario_id.clone().unwrap_or_else(|| BASE_SCENARIO.to_string());
            let mut stmt = c.prepare(
                "SELECT epoch_us(interval_start_utc), epoch_us(interval_end_utc), value, unit, source,
                        epoch_us(vintage_utc)
                 FROM (SELECT *, row_number() OVER (PARTITION BY interval_start_utc ORDER BY vintage_utc DESC) AS rn
                       FROM fundamentals
                       WHERE entity = ? AND variable = ? AND scenario_id = ?
                         AND (? IS NULL OR interval_start_utc >= make_timestamp(?))
                         AND (? IS NULL OR interval_start_utc < make_timestamp(?))
                         AND (? IS NULL OR vintage_utc <= make_timestamp(?)))
                 WHERE rn = 1 ORDER BY interval_start_utc",
            )?;
            let us = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.timestamp_micros());
            let (st, en, asof) = (us(q.start), us(q.end), us(q.as_of));
            let mut rows = stmt.query(params![
                q.entity, q.variable, scenario, st, st, en, en, asof, asof
            ])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(FundamentalPoint {
                    entity: q.entity.clone(),
                    variable: q.variable.clone(),
                    interval_start: from_micros(r.get(0)?),
                    interval_end: from_micros(r.get(1)?),
                    value: r.get(2)?,
                    unit: r.get(3)?,
                    source: r.get(4)?,
                    vintage: from_micros(r.get(5)?),
                    scenario_id: scenario.clone(),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn fundamental_series(&self) -> Result<Vec<FundamentalSeries>> {
        self.blocking(|s| {
            let c = s.reader();
            let mut stmt = c.prepare(
                "SELECT entity, variable, scenario_id, arg_max(unit, vintage_utc), arg_max(source, vintage_utc),
                        count(DISTINCT interval_start_utc), epoch_us(min(interval_start_utc)),
                        epoch_us(max(interval_start_utc)), epoch_us(max(vintage_utc))
                 FROM fundamentals GROUP BY entity, variable, scenario_id
                 ORDER BY entity, variable, scenario_id",
            )?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(FundamentalSeries {
                    entity: r.get(0)?,
                    variable: r.get(1)?,
                    scenario_id: r.get(2)?,
                    unit: r.get(3)?,
                    source: r.get(4)?,
                    intervals: r.get::<_, i64>(5)? as u64,
                    first: from_micros(r.get(6)?),
                    last: from_micros(r.get(7)?),
                    latest_vintage: from_micros(r.get(8)?),
                });
            }
            Ok(out)
        })
        .await
    }
}

/// The run's columns but the output, which follows: `output`, or `'null'`
/// in listings (outputs can be megabytes; a listing does not read them).
const RESEARCH_COLUMNS: &str = "run_id, kind, subject, model_version, status, error, created_by,
    epoch_us(started_utc), epoch_us(finished_utc), params";

fn research_of(r: &duckdb::Row<'_>) -> Result<ResearchRun> {
    let json = |s: String| {
        serde_json::from_str(&s).map_err(|e| Error::Backend(format!("research run JSON: {e}")))
    };
    Ok(ResearchRun {
        run_id: r.get(0)?,
        kind: r.get(1)?,
        subject: r.get(2)?,
        model_version: r.get(3)?,
        status: r.get(4)?,
        error: r.get(5)?,
        created_by: r.get(6)?,
        started: from_micros(r.get(7)?),
        finished: from_micros(r.get(8)?),
        params: json(r.get(9)?)?,
        output: json(r.get(10)?)?,
    })
}

#[async_trait]
impl ResearchStore for DuckdbStore {
    async fn save_research_run(&self, run: ResearchRun) -> Result<()> {
        self.blocking(move |s| {
            let c = s.writer();
            let exists: Option<String> = c
                .query_row(
                    "SELECT run_id FROM research_runs WHERE run_id = ?",
                    params![run.run_id],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_some() {
                return Err(Error::param(
                    "run_id",
                    format!("research run `{}` already exists", run.run_id),
                ));
            }
            c.execute(
                "INSERT INTO research_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    run.run_id,
                    run.kind,
                    run.subject,
                    run.model_version,
                    run.status,
                    run.error,
                    run.created_by,
                    ts(run.started),
                    ts(run.finished),
                    run.params.to_string(),
                    run.output.to_string()
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn research_run(&self, run_id: &str) -> Result<Option<ResearchRun>> {
        let id = run_id.to_string();
        self.blocking(move |s| {
            let c = s.reader();
            let mut stmt = c.prepare(&format!(
                "SELECT {RESEARCH_COLUMNS}, output FROM research_runs WHERE run_id = ?"
            ))?;
            let mut rows = stmt.query(params![id])?;
            match rows.next()? {
                Some(r) => Ok(Some(research_of(r)?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn research_runs(&self, f: ResearchFilter) -> Result<Vec<ResearchRun>> {
        self.blocking(move |s| {
            let c = s.reader();
            let limit = f.limit.unwrap_or(50).clamp(1, 10_000);
            let mut stmt = c.prepare(&format!(
                "SELECT {RESEARCH_COLUMNS}, 'null' FROM research_runs
                 WHERE (? IS NULL OR kind = ?) AND (? IS NULL OR subject = ?)
                 ORDER BY started_utc DESC, run_id DESC LIMIT {limit}"
            ))?;
            let mut rows = stmt.query(params![f.kind, f.kind, f.subject, f.subject])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(research_of(r)?);
            }
            Ok(out)
        })
        .await
    }
}
