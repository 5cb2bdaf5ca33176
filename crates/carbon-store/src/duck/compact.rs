//! Compaction: rewrite each UTC month of `observations` in series order.
//!
//! Ingestion appends time-major (a market day holds every node), so each row
//! group holds every instrument and a one-instrument query scans all of them.
//! Rewriting a month ordered by (instrument, run, interval, vintage) lets
//! DuckDB's per-row-group min/max on `instrument_key` skip all but one or two
//! row groups. A month is rewritten in one transaction (copy to a temporary
//! table in order, delete, re-insert), so readers see it either before or
//! after, never half-done; the content is unchanged row for row.

use chrono::Utc;
use duckdb::params;

use super::{Inner, from_micros, ts};
use crate::{error::Result, model::CompactSummary};

impl Inner {
    pub(crate) fn compact(&self) -> Result<CompactSummary> {
        let mut conn = self.writer();
        // Months whose content changed since their last compaction.
        let due: Vec<(i64, i64, i64)> = {
            let mut stmt = conn.prepare(
                "SELECT epoch_us(m.p), m.n, epoch_us(m.ing)
                 FROM (SELECT date_trunc('month', interval_start_utc) AS p, count(*) AS n,
                              max(ingested_utc) AS ing
                       FROM observations GROUP BY 1) m
                 LEFT JOIN compactions c ON c.period_start_utc = m.p
                 WHERE c.period_start_utc IS NULL OR c.rows <> m.n OR c.max_ingested_utc <> m.ing
                 ORDER BY 1",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        let mut summary = CompactSummary::default();
        for (period, n, max_ingested) in due {
            let start = from_micros(period);
            let end = carbon_core::time::next_month(start.date_naive())
                .and_time(chrono::NaiveTime::MIN)
                .and_utc();
            let tx = conn.transaction()?;
            tx.execute(
                "CREATE OR REPLACE TEMP TABLE compact_buf AS
                 SELECT * FROM observations
                 WHERE interval_start_utc >= ? AND interval_start_utc < ?
                 ORDER BY instrument_key, market_run, interval_start_utc, vintage_utc",
                params![ts(start), ts(end)],
            )?;
            tx.execute(
                "DELETE FROM observations WHERE interval_start_utc >= ? AND interval_start_utc < ?",
                params![ts(start), ts(end)],
            )?;
            let moved = tx.execute(
                "INSERT INTO observations SELECT * FROM temp.compact_buf",
                [],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO compactions VALUES (?, ?, ?, ?)",
                params![ts(start), n, ts(from_micros(max_ingested)), ts(Utc::now())],
            )?;
            tx.execute_batch("DROP TABLE temp.compact_buf")?;
            tx.commit()?;
            summary.partitions += 1;
            summary.rows += moved as u64;
        }
        if summary.partitions > 0 {
            // Reclaims the deleted row groups and writes the new order to disk.
            conn.execute_batch("CHECKPOINT")?;
        }
        Ok(summary)
    }
}
