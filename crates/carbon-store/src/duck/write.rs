//! Atomic, idempotent appends.
//!
//! A batch is checked in Rust (invariants, known instruments, repeated keys)
//! and turned into one Arrow record batch. Then, inside one transaction:
//!
//! - **fresh span** (no stored row has an instrument key and interval start
//!   inside the batch's bounding box — the normal case for new market days):
//!   the record batch is appended straight into `observations`;
//! - **otherwise** it goes to a per-connection staging table, is checked against
//!   stored versions (same key with other values is a conflict), stripped of
//!   versions already stored and of new vintages equal to the version they
//!   would follow, inserted, and — only when it revises intervals already
//!   stored — the `superseded_utc` chain of those intervals is recomputed.
//!
//! Any error rolls the whole batch back.

use std::{collections::HashMap, sync::Arc};

use carbon_core::{Component, ObservationBatch};
use chrono::{SecondsFormat, Utc};
use duckdb::{
    Transaction,
    arrow::{
        array::{
            ArrayRef, Float64Array, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
        },
        record_batch::RecordBatch,
    },
};

use super::{Inner, from_micros};
use crate::{
    error::{Error, Result},
    model::AppendSummary,
};

/// Same columns, in the same order, as `observations`, so one record batch
/// fits both and `INSERT … SELECT *` moves staged rows.
const STAGE_DDL: &str = "CREATE TEMP TABLE IF NOT EXISTS stage_obs AS
    SELECT * FROM observations LIMIT 0";

/// Join condition of a staged row and a stored row of the same interval.
const SAME_INTERVAL: &str = "o.instrument_key = s.instrument_key AND o.market_run = s.market_run \
     AND o.interval_start_utc = s.interval_start_utc";

fn source_ref(b: &ObservationBatch, i: usize) -> String {
    match b.source_row(i) {
        Some(r) => format!("{}:{}", b.source(i), r),
        None => b.source(i).to_string(),
    }
}

fn same_version(b: &ObservationBatch, i: usize, j: usize) -> bool {
    b.interval_end(i) == b.interval_end(j) && b.components(i) == b.components(j)
}

impl Inner {
    pub(crate) fn append(&self, batch: ObservationBatch) -> Result<AppendSummary> {
        // 1. Checks that need no database: invariants, instruments, repeated keys.
        // Each row's instrument key, through the batch's instrument list
        // (looked up once per entry); rows kept, by index.
        let mut entry_key: Vec<Option<i32>> = vec![None; batch.instruments().len()];
        let mut keys: Vec<i32> = Vec::with_capacity(batch.len());
        let mut kept: Vec<usize> = Vec::with_capacity(batch.len());
        // Batches whose keys are provably distinct (see
        // `keys_grouped_and_increasing`) skip the repeated-key map.
        let distinct = batch.keys_grouped_and_increasing();
        let mut first_of: HashMap<(i32, &str, i64, i64), usize, carbon_core::hash::Fx> =
            HashMap::with_capacity_and_hasher(
                if distinct { 0 } else { batch.len() },
                Default::default(),
            );
        for index in 0..batch.len() {
            batch.validate_row(index).map_err(|e| Error::InvalidRow {
                index,
                source_ref: source_ref(&batch, index),
                message: e.to_string(),
            })?;
            let entry = batch.instrument_index(index) as usize;
            let key = match entry_key[entry] {
                Some(key) => key,
                None => {
                    let id = batch.instrument(index);
                    let (key, _) =
                        self.lookup(id.as_str())
                            .ok_or_else(|| Error::UnknownInstrument {
                                id: id.to_string(),
                                context: format!(
                                    " (batch row {index}, {}); upsert it first",
                                    source_ref(&batch, index)
                                ),
                            })?;
                    entry_key[entry] = Some(key);
                    key
                }
            };
            keys.push(key);
            if distinct {
                kept.push(index);
                continue;
            }
            let k = (
                key,
                batch.market_run(index).as_str(),
                batch.interval_start(index).timestamp_micros(),
                batch.vintage(index).timestamp_micros(),
            );
            match first_of.get(&k) {
                Some(&j) if same_version(&batch, j, index) => continue,
                Some(&j) => {
                    return Err(Error::InvalidRow {
                        index,
                        source_ref: source_ref(&batch, index),
                        message: format!(
                            "repeats the interval and vintage of batch row {j} ({}) with different values",
                            source_ref(&batch, j)
                        ),
                    });
                }
                None => {
                    first_of.insert(k, index);
                    kept.push(index);
                }
            }
        }
        let mut summary = AppendSummary {
            received: kept.len(),
            ..Default::default()
        };
        if kept.is_empty() {
            return Ok(summary);
        }

        // 2. One transaction.
        // Every join with stored rows is restricted to the batch's key and time
        // span, so DuckDB prunes row groups by their min/max.
        // Rows left out (repeats) lie inside the bounds of the rows they repeat.
        let (kmin, kmax) = keys
            .iter()
            .fold((i32::MAX, i32::MIN), |(a, b), k| (a.min(*k), b.max(*k)));
        let (tmin, tmax) = (0..batch.len()).fold((i64::MAX, i64::MIN), |(a, b), i| {
            let t = batch.interval_start(i).timestamp_micros();
            (a.min(t), b.max(t))
        });
        let span = format!(
            "o.instrument_key BETWEEN {kmin} AND {kmax} AND o.interval_start_utc BETWEEN \
             make_timestamp({tmin}::BIGINT) AND make_timestamp({tmax}::BIGINT)"
        );

        let mut conn = self.writer();
        // Ingest time is read under the writer lock, so it never precedes a
        // compaction that ran while this batch waited (see compact.rs).
        let rows = to_record_batch(&batch, &keys, &kept, Utc::now().timestamp_micros())?;
        conn.execute_batch(STAGE_DDL)?;
        let tx = conn.transaction()?;
        let overlaps: bool = tx.query_row(
            &format!("SELECT EXISTS (SELECT 1 FROM observations o WHERE {span})"),
            [],
            |r| r.get(0),
        )?;
        if !overlaps {
            {
                let mut app =
                    tx.appender_to_catalog_and_db("observations", super::CATALOG, "main")?;
                app.append_record_batch(rows)?;
                app.flush()?;
            }
            tx.commit()?;
            summary.inserted = summary.received;
            return Ok(summary);
        }
        tx.execute_batch("DELETE FROM temp.stage_obs")?;
        {
            let mut app = tx.appender_to_catalog_and_db("stage_obs", "temp", "main")?;
            app.append_record_batch(rows)?;
            app.flush()?;
        }

        check_conflicts(&tx, &span)?;

        let unchanged = tx.execute(
            &format!(
                "DELETE FROM temp.stage_obs s WHERE EXISTS (SELECT 1 FROM observations o
                 WHERE {span} AND {SAME_INTERVAL} AND o.vintage_utc = s.vintage_utc)"
            ),
            [],
        )?;
        // A new vintage equal to the version it would follow adds no information:
        // skip it (live polls re-fetch unchanged data with a fresh fetch time).
        let redundant = tx.execute(
            &format!(
                "DELETE FROM temp.stage_obs s WHERE EXISTS (SELECT 1 FROM observations o
                 WHERE {span} AND {SAME_INTERVAL} AND o.vintage_utc < s.vintage_utc
                   AND (o.superseded_utc IS NULL OR o.superseded_utc > s.vintage_utc)
                   AND o.interval_end_utc = s.interval_end_utc
                   AND o.lmp IS NOT DISTINCT FROM s.lmp AND o.energy IS NOT DISTINCT FROM s.energy
                   AND o.congestion IS NOT DISTINCT FROM s.congestion
                   AND o.loss IS NOT DISTINCT FROM s.loss AND o.ghg IS NOT DISTINCT FROM s.ghg)"
            ),
            [],
        )?;
        summary.unchanged = unchanged + redundant;
        summary.inserted = summary.received - summary.unchanged;
        if summary.inserted == 0 {
            tx.commit()?;
            return Ok(summary);
        }
        summary.revisions = tx.query_row(
            &format!(
                "SELECT count(*) FROM temp.stage_obs s WHERE EXISTS (SELECT 1 FROM observations o
                 WHERE {span} AND {SAME_INTERVAL})"
            ),
            [],
            |r| r.get::<_, i64>(0),
        )? as usize;
        tx.execute("INSERT INTO observations SELECT * FROM temp.stage_obs", [])?;
        if summary.revisions > 0 {
            // Recompute the version chain of every interval the batch touched.
            tx.execute(
                &format!(
                    "UPDATE observations AS t SET superseded_utc = x.next_vintage
                     FROM (
                        SELECT o.instrument_key, o.market_run, o.interval_start_utc, o.vintage_utc,
                               lead(o.vintage_utc) OVER (
                                   PARTITION BY o.instrument_key, o.market_run, o.interval_start_utc
                                   ORDER BY o.vintage_utc) AS next_vintage,
                               o.superseded_utc AS old
                        FROM observations o
                        WHERE {span} AND EXISTS (SELECT 1 FROM temp.stage_obs s WHERE {SAME_INTERVAL})
                     ) x
                     WHERE t.instrument_key = x.instrument_key AND t.market_run = x.market_run
                       AND t.interval_start_utc = x.interval_start_utc AND t.vintage_utc = x.vintage_utc
                       AND x.old IS DISTINCT FROM x.next_vintage"
                ),
                [],
            )?;
        }
        tx.commit()?;
        Ok(summary)
    }
}

/// The batch's `rows` (indices, in order; `keys` is indexed by row) as one
/// record batch in the column order of `observations` (`superseded_utc`
/// NULL: the chain is fixed after insertion when needed).
fn to_record_batch(
    b: &ObservationBatch,
    keys: &[i32],
    rows: &[usize],
    ingested_us: i64,
) -> Result<RecordBatch> {
    let n = rows.len();
    let micros = |t: fn(&ObservationBatch, usize) -> chrono::DateTime<Utc>| {
        let us: Vec<i64> = rows.iter().map(|i| t(b, *i).timestamp_micros()).collect();
        Arc::new(TimestampMicrosecondArray::from(us)) as ArrayRef
    };
    let value = |c: Component| {
        Arc::new(Float64Array::from_iter(rows.iter().map(|i| b.value(*i, c)))) as ArrayRef
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "instrument_key",
            Arc::new(Int32Array::from_iter_values(rows.iter().map(|i| keys[*i]))),
        ),
        (
            "market_run",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|i| b.market_run(*i).as_str()),
            )),
        ),
        (
            "interval_start_utc",
            micros(ObservationBatch::interval_start),
        ),
        ("interval_end_utc", micros(ObservationBatch::interval_end)),
        ("vintage_utc", micros(ObservationBatch::vintage)),
        (
            "superseded_utc",
            Arc::new(TimestampMicrosecondArray::new_null(n)),
        ),
        ("lmp", value(Component::Lmp)),
        ("energy", value(Component::Energy)),
        ("congestion", value(Component::Congestion)),
        ("loss", value(Component::Loss)),
        ("ghg", value(Component::Ghg)),
        (
            "source",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|i| &**b.source(*i)),
            )),
        ),
        (
            "source_row",
            Arc::new(Int64Array::from_iter(
                rows.iter()
                    .map(|i| b.source_row(*i).and_then(|r| i64::try_from(r).ok())),
            )),
        ),
        (
            "ingested_utc",
            Arc::new(TimestampMicrosecondArray::from_value(ingested_us, n)),
        ),
    ];
    RecordBatch::try_from_iter(columns)
        .map_err(|e| Error::Backend(format!("building the append batch: {e}")))
}

/// Fails when a staged version exists with other values.
fn check_conflicts(tx: &Transaction<'_>, span: &str) -> Result<()> {
    let sql = format!(
        "SELECT i.id, s.market_run, epoch_us(s.interval_start_utc), epoch_us(s.vintage_utc),
                o.lmp, s.lmp, epoch_us(o.interval_end_utc), epoch_us(s.interval_end_utc)
         FROM temp.stage_obs s
         JOIN observations o ON {SAME_INTERVAL} AND o.vintage_utc = s.vintage_utc
         JOIN instruments i ON i.key = s.instrument_key
         WHERE {span} AND (
               o.interval_end_utc <> s.interval_end_utc
            OR o.lmp IS DISTINCT FROM s.lmp OR o.energy IS DISTINCT FROM s.energy
            OR o.congestion IS DISTINCT FROM s.congestion OR o.loss IS DISTINCT FROM s.loss
            OR o.ghg IS DISTINCT FROM s.ghg)
         ORDER BY 1, 2, 3 LIMIT 1"
    );
    let mut stmt = tx.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    if let Some(r) = rows.next()? {
        let fmt = |us: i64| from_micros(us).to_rfc3339_opts(SecondsFormat::Secs, true);
        let old_lmp: Option<f64> = r.get(4)?;
        let new_lmp: Option<f64> = r.get(5)?;
        let old_end: i64 = r.get(6)?;
        let new_end: i64 = r.get(7)?;
        let detail = if old_end != new_end {
            format!("stored interval end {}, new {}", fmt(old_end), fmt(new_end))
        } else {
            format!("stored lmp {old_lmp:?}, new lmp {new_lmp:?}, or another component differs")
        };
        return Err(Error::VintageConflict {
            instrument: r.get(0)?,
            market_run: r.get(1)?,
            interval_start: fmt(r.get(2)?),
            vintage: fmt(r.get(3)?),
            detail,
        });
    }
    Ok(())
}
