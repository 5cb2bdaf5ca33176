//! Reads: instrument search, price queries (latest / as-of, resample, blocks,
//! keyset pagination) and series statistics.
//!
//! Daily and monthly buckets and power blocks depend on each market's clock,
//! which DuckDB (without ICU) cannot compute. So for every query that needs
//! them, a per-connection temporary calendar is filled from `carbon-core`: one
//! row per (market, UTC hour) in range — only the hours of the requested block —
//! with the bucket that hour belongs to. Prices join it on their hour.

use std::fmt::Write as _;

use carbon_core::{
    Aggregation, Block, Components, Frequency, Instrument, InstrumentId, LocationKind, Market,
    MarketRun, time,
};
use chrono::{DateTime, Duration, DurationRound, Utc};
use duckdb::{Connection, params_from_iter, types::Value};

use super::{
    Inner,
    cache::{Chunk, ChunkRow, DAY_US},
    from_micros, ts,
};
use crate::{
    error::{Error, Result},
    model::{
        Cursor, InstrumentPage, InstrumentQuery, PricePage, PriceQuery, PriceRow, SeriesStats,
        StatsFilter,
    },
};

/// Longest range a calendar is built for (days); protects memory on absurd queries.
const MAX_CALENDAR_DAYS: i64 = 366 * 30;

const CAL_DDL: &str = "CREATE TEMP TABLE IF NOT EXISTS cal (
    market VARCHAR, hour_utc TIMESTAMP, bucket_start TIMESTAMP, bucket_end TIMESTAMP)";

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Inner {
    pub(crate) fn search_instruments(&self, q: &InstrumentQuery) -> Result<InstrumentPage> {
        if q.limit == Some(0) {
            return Err(Error::param("limit", "must be at least 1"));
        }
        let mut sql = String::from("SELECT id, kind, name FROM instruments WHERE true");
        let mut args: Vec<Value> = Vec::new();
        if let Some(m) = q.market {
            sql.push_str(" AND market = ?");
            args.push(Value::Text(m.code().to_string()));
        }
        if let Some(k) = q.kind {
            sql.push_str(" AND kind = ?");
            args.push(Value::Text(k.as_str().to_string()));
        }
        if let Some(t) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            sql.push_str(" AND (contains(lower(id), lower(?)) OR contains(lower(coalesce(name, '')), lower(?)))");
            args.push(Value::Text(t.to_string()));
            args.push(Value::Text(t.to_string()));
        }
        if let Some(c) = &q.cursor {
            let c = Cursor::decode(c)?;
            sql.push_str(" AND id > ?");
            args.push(Value::Text(c.key));
        }
        sql.push_str(" ORDER BY id");
        if let Some(n) = q.limit {
            write!(sql, " LIMIT {}", n + 1).ok();
        }
        let c = self.reader();
        let mut stmt = c.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut instruments = Vec::new();
        for row in rows {
            let (id, kind, name) = row?;
            instruments.push(Instrument {
                id: InstrumentId::parse(&id)?,
                kind: kind.parse::<LocationKind>()?,
                name,
            });
        }
        let next_cursor = next_page(&mut instruments, q.limit, |i| Cursor {
            key: i.id.to_string(),
            run: String::new(),
            micros: 0,
        });
        Ok(InstrumentPage {
            instruments,
            next_cursor,
        })
    }

    /// The stored key of each of the query's instruments, in its order.
    fn keys_of(&self, q: &PriceQuery) -> Result<Vec<i32>> {
        q.instruments
            .iter()
            .map(|id| {
                self.lookup(id.as_str()).map(|(key, _)| key).ok_or_else(|| {
                    Error::UnknownInstrument {
                        id: id.to_string(),
                        context: String::new(),
                    }
                })
            })
            .collect()
    }

    pub(crate) fn query_prices(&self, q: &PriceQuery) -> Result<PricePage> {
        q.validate()?;
        let keys = self.keys_of(q)?;
        let cursor = q.cursor.as_deref().map(Cursor::decode).transpose()?;
        let freq = q.resample.map(|r| r.freq);
        let needs_cal =
            q.block != Block::Flat || matches!(freq, Some(Frequency::Day | Frequency::Month));

        if q.resample.is_none() && !needs_cal {
            return self.query_raw(q, &keys, cursor.as_ref());
        }

        let conn = self.reader();
        if needs_cal {
            fill_calendar(&conn, &q.markets(), q.start, q.end, q.block, freq)?;
        }

        let mut args: Vec<Value> = vec![ts(q.start), ts(q.end)];
        let key_list = keys
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let mut filter = format!(
            "o.instrument_key IN ({key_list}) AND o.interval_start_utc >= ? AND o.interval_start_utc < ?"
        );
        filter.push_str(&run_and_vintage_filter(q));
        let cal_join = if needs_cal {
            " JOIN temp.cal c ON c.market = i.market AND c.hour_utc = date_trunc('hour', o.interval_start_utc)"
        } else {
            ""
        };

        let inner = match q.resample {
            None => format!(
                "SELECT i.id AS id, o.market_run AS run, o.interval_start_utc AS s, o.interval_end_utc AS e,
                        o.lmp, o.energy, o.congestion, o.loss, o.ghg, epoch_us(o.vintage_utc) AS v,
                        NULL::BIGINT AS n
                 FROM observations o JOIN instruments i ON i.key = o.instrument_key{cal_join}
                 WHERE {filter}"
            ),
            Some(r) => {
                let (bs, be) = match r.freq.fixed_minutes() {
                    Some(m) => (
                        format!("time_bucket(INTERVAL '{m} minutes', o.interval_start_utc)"),
                        format!("time_bucket(INTERVAL '{m} minutes', o.interval_start_utc) + INTERVAL '{m} minutes'"),
                    ),
                    None => ("c.bucket_start".to_string(), "c.bucket_end".to_string()),
                };
                let agg = |col: &str| match r.agg {
                    Aggregation::Mean => format!("avg({col})"),
                    Aggregation::Min => format!("min({col})"),
                    Aggregation::Max => format!("max({col})"),
                    Aggregation::First => format!("arg_min({col}, s0) FILTER (WHERE {col} IS NOT NULL)"),
                    Aggregation::Last => format!("arg_max({col}, s0) FILTER (WHERE {col} IS NOT NULL)"),
                };
                format!(
                    "SELECT id, run, s, e, {lmp} AS lmp, {energy} AS energy, {cong} AS congestion,
                            {loss} AS loss, {ghg} AS ghg, NULL::BIGINT AS v, count(*) AS n
                     FROM (SELECT i.id AS id, o.market_run AS run, {bs} AS s, {be} AS e,
                                  o.interval_start_utc AS s0, o.lmp, o.energy, o.congestion, o.loss, o.ghg
                           FROM observations o JOIN instruments i ON i.key = o.instrument_key{cal_join}
                           WHERE {filter})
                     GROUP BY id, run, s, e",
                    lmp = agg("lmp"),
                    energy = agg("energy"),
                    cong = agg("congestion"),
                    loss = agg("loss"),
                    ghg = agg("ghg"),
                )
            }
        };

        let mut sql = format!(
            "SELECT id, run, epoch_us(s), epoch_us(e), lmp, energy, congestion, loss, ghg, v, n FROM ({inner}) q"
        );
        if let Some(c) = &cursor {
            sql.push_str(" WHERE (id > ? OR (id = ? AND (run > ? OR (run = ? AND s > make_timestamp(?::BIGINT)))))");
            args.push(Value::Text(c.key.clone()));
            args.push(Value::Text(c.key.clone()));
            args.push(Value::Text(c.run.clone()));
            args.push(Value::Text(c.run.clone()));
            args.push(Value::BigInt(c.micros));
        }
        sql.push_str(" ORDER BY id, run, s");
        if let Some(n) = q.limit {
            write!(sql, " LIMIT {}", n + 1).ok();
        }

        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let run: String = r.get(1)?;
            let values = components_at(r, 4)?;
            let values = if q.components.is_empty() {
                values
            } else {
                values.retain(&q.components)
            };
            out.push(PriceRow {
                instrument_id: InstrumentId::parse(&id)?,
                market_run: run.parse::<MarketRun>()?,
                interval_start: from_micros(r.get(2)?),
                interval_end: from_micros(r.get(3)?),
                values,
                vintage: r.get::<_, Option<i64>>(9)?.map(from_micros),
                samples: r
                    .get::<_, Option<i64>>(10)?
                    .and_then(|n| u32::try_from(n).ok()),
            });
        }
        let next_cursor = next_page(&mut out, q.limit, price_cursor);
        Ok(PricePage {
            rows: out,
            next_cursor,
        })
    }

    /// Stored intervals as they are (no buckets, no blocks): the hottest query.
    /// Reads `observations` alone — ids come from the in-memory key map, every
    /// bound is an inlined constant so DuckDB prunes row groups by min/max — and
    /// the statement is cached per connection.
    fn query_raw(
        &self,
        q: &PriceQuery,
        keys: &[i32],
        cursor: Option<&Cursor>,
    ) -> Result<PricePage> {
        // Instruments in id order; rows come back ordered by (id, run, start).
        let mut order: Vec<(&str, i32)> = q
            .instruments
            .iter()
            .map(InstrumentId::as_str)
            .zip(keys.iter().copied())
            .collect();
        order.sort();
        order.dedup();
        let rank = if order.len() == 1 {
            "0".to_string()
        } else {
            let mut c = String::from("CASE o.instrument_key");
            for (i, (_, k)) in order.iter().enumerate() {
                write!(c, " WHEN {k} THEN {i}").ok();
            }
            c.push_str(" END");
            c
        };
        // Keys and bounds are parameters, so the statement text depends only
        // on the query's shape and `prepare_cached` hits across instruments
        // and windows (planning costs ~3 ms; the scan itself ~2 ms).
        let key_list = vec!["?"; order.len()].join(",");
        let mut args: Vec<Value> = order.iter().map(|(_, k)| Value::Int(*k)).collect();
        args.push(Value::BigInt(q.start.timestamp_micros()));
        args.push(Value::BigInt(q.end.timestamp_micros()));
        let mut sql = format!(
            "SELECT {rank} AS r, {PRICE_COLUMNS}
             FROM observations o
             WHERE o.instrument_key IN ({key_list})
               AND o.interval_start_utc >= make_timestamp(?::BIGINT)
               AND o.interval_start_utc < make_timestamp(?::BIGINT)"
        );
        sql.push_str(&run_and_vintage_filter(q));
        if let Some(c) = cursor {
            // Rank of the cursor's instrument among the requested ones (ids
            // not requested sort where they would).
            let pos = order.partition_point(|(id, _)| *id < c.key.as_str());
            let exact = order.get(pos).is_some_and(|(id, _)| *id == c.key);
            if exact {
                write!(
                    sql,
                    " AND ({rank} > {pos} OR ({rank} = {pos} AND (o.market_run > {run} OR \
                     (o.market_run = {run} AND o.interval_start_utc > make_timestamp({m}::BIGINT)))))",
                    run = sql_str(&c.run),
                    m = c.micros
                )
                .ok();
            } else {
                write!(sql, " AND {rank} >= {pos}").ok();
            }
        }
        // A page needs SQL's order; a whole result is sorted here instead (a
        // DuckDB sort costs about a millisecond even for a few hundred rows).
        if let Some(n) = q.limit {
            write!(sql, " ORDER BY 1, 2, 3 LIMIT {}", n + 1).ok();
        }
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&sql)?;
        let ids: Vec<InstrumentId> = order
            .iter()
            .map(|(id, _)| InstrumentId::parse(id))
            .collect::<std::result::Result<_, _>>()?;
        let mut out = Vec::new();
        read_price_rows(&mut stmt, args, |rank, r| {
            out.push((
                rank,
                r.price_row(
                    ids.get(usize::try_from(rank).unwrap_or(usize::MAX))
                        .cloned()
                        .ok_or_else(|| {
                            Error::Backend(format!("unexpected instrument rank {rank}"))
                        })?,
                    &q.components,
                ),
            ));
            Ok(())
        })?;
        if q.limit.is_none() {
            out.sort_by(|(ra, a), (rb, b)| {
                (ra, a.market_run.as_str(), a.interval_start).cmp(&(
                    rb,
                    b.market_run.as_str(),
                    b.interval_start,
                ))
            });
        }
        let mut out: Vec<PriceRow> = out.into_iter().map(|(_, r)| r).collect();
        let next_cursor = next_page(&mut out, q.limit, price_cursor);
        Ok(PricePage {
            rows: out,
            next_cursor,
        })
    }

    pub(crate) fn series_stats(&self, f: &StatsFilter) -> Result<Vec<SeriesStats>> {
        let mut sql = String::from(
            "SELECT i.id, o.market_run,
                    count(*) FILTER (WHERE o.superseded_utc IS NULL), count(*),
                    epoch_us(min(o.interval_start_utc)), epoch_us(max(o.interval_end_utc)),
                    epoch_us(max(o.vintage_utc)), epoch_us(max(o.ingested_utc))
             FROM observations o JOIN instruments i ON i.key = o.instrument_key WHERE true",
        );
        let mut args: Vec<Value> = Vec::new();
        if let Some(m) = f.market {
            sql.push_str(" AND i.market = ?");
            args.push(Value::Text(m.code().to_string()));
        }
        if !f.instruments.is_empty() {
            let ids = f
                .instruments
                .iter()
                .map(|i| sql_str(i.as_str()))
                .collect::<Vec<_>>()
                .join(",");
            write!(sql, " AND i.id IN ({ids})").ok();
        }
        sql.push_str(" GROUP BY i.id, o.market_run ORDER BY i.id, o.market_run");
        let c = self.reader();
        let mut stmt = c.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let run: String = r.get(1)?;
            out.push(SeriesStats {
                instrument_id: InstrumentId::parse(&id)?,
                market_run: run.parse()?,
                rows: r.get::<_, i64>(2)? as u64,
                versions: r.get::<_, i64>(3)? as u64,
                first_interval_start: from_micros(r.get(4)?),
                last_interval_end: from_micros(r.get(5)?),
                last_vintage: from_micros(r.get(6)?),
                last_ingested: from_micros(r.get(7)?),
            });
        }
        Ok(out)
    }
}

/// Most instrument-days one query reads through series chunks (a year of one
/// instrument, a month of 25); wider queries go to DuckDB as they are (and to
/// the answer cache).
const MAX_CHUNKS_PER_QUERY: i64 = 800;

/// Most instrument-days one miss reads ahead to whole months (a month of
/// five-minute prices for 13 instruments is about 13 MB).
const MAX_READ_AHEAD: i64 = 400;

/// The UTC month holding day number `day`: its first day and the first day
/// of the next month.
fn month_of(day: i64) -> (i64, i64) {
    use chrono::Datelike;
    let date = from_micros(day * DAY_US).date_naive();
    let start = date.with_day(1).unwrap_or(date);
    let day_of = |d: chrono::NaiveDate| {
        d.and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_micros()
            .div_euclid(DAY_US)
    };
    (day_of(start), day_of(time::next_month(start)))
}

/// UTC day numbers of interval starts in `[start, end)` (first, last).
fn chunk_days(start: DateTime<Utc>, end: DateTime<Utc>) -> (i64, i64) {
    (
        start.timestamp_micros().div_euclid(DAY_US),
        (end.timestamp_micros() - 1).div_euclid(DAY_US),
    )
}

/// Whether `q` is answered from series chunks: the latest flat rows, not
/// resampled, over at most [`MAX_CHUNKS_PER_QUERY`] instrument-days.
pub(crate) fn chunkable(q: &PriceQuery) -> bool {
    let (first, last) = chunk_days(q.start, q.end);
    q.as_of.is_none()
        && q.resample.is_none()
        && q.block == Block::Flat
        && q.start < q.end
        && i64::try_from(q.instruments.len())
            .ok()
            .and_then(|n| n.checked_mul(last - first + 1))
            .is_some_and(|n| n <= MAX_CHUNKS_PER_QUERY)
}

impl Inner {
    /// Answers a [`chunkable`] query from series chunks: each instrument's
    /// latest rows one UTC day at a time, kept in the query cache, so that
    /// any window over days already read is answered from memory (moving
    /// windows, other time zones, runs, components or pages of the same
    /// data). With `load = false` it answers only when every chunk is in
    /// memory (`Ok(None)` otherwise); with `load = true` the missing ones are
    /// read from DuckDB in one query. `Ok(None)` also when the cache is off.
    pub(crate) fn query_chunked(&self, q: &PriceQuery, load: bool) -> Result<Option<PricePage>> {
        q.validate()?;
        let cursor = q.cursor.as_deref().map(Cursor::decode).transpose()?;
        let mut order: Vec<(&InstrumentId, i32)> =
            q.instruments.iter().zip(self.keys_of(q)?).collect();
        order.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        order.dedup_by(|a, b| a.0 == b.0);
        let (first, last) = chunk_days(q.start, q.end);
        let mut chunks: Vec<Vec<Option<Chunk>>> = Vec::with_capacity(order.len());
        let mut stamp = u64::MAX;
        for (id, _) in &order {
            let Some(found) = self.cache.chunks(id.as_str(), first..=last) else {
                return Ok(None);
            };
            stamp = stamp.min(found.stamp);
            chunks.push(found.found);
        }
        let complete = chunks.iter().flatten().all(Option::is_some);
        if !complete {
            if !load {
                return Ok(None);
            }
            self.load_chunks(&order, first, &mut chunks, stamp)?;
        }
        self.cache.count(complete);

        let (s, e) = (q.start.timestamp_micros(), q.end.timestamp_micros());
        let cap = q.limit.map(|n| n + 1);
        let mut out = Vec::new();
        let mut rows: Vec<&ChunkRow> = Vec::new();
        'instruments: for ((id, _), per_day) in order.iter().zip(&chunks) {
            if let Some(c) = &cursor
                && id.as_str() < c.key.as_str()
            {
                continue;
            }
            rows.clear();
            rows.extend(per_day.iter().flatten().flat_map(|c| c.iter()).filter(|r| {
                (s..e).contains(&r.start)
                    && (q.market_runs.is_empty() || q.market_runs.contains(&r.run))
            }));
            // Each chunk is in order; days of several runs interleave.
            rows.sort_by(|a, b| (a.run.as_str(), a.start).cmp(&(b.run.as_str(), b.start)));
            out.reserve(cap.map_or(rows.len(), |n| rows.len().min(n)));
            for r in &rows {
                if let Some(c) = &cursor
                    && (id.as_str(), r.run.as_str(), r.start)
                        <= (c.key.as_str(), c.run.as_str(), c.micros)
                {
                    continue;
                }
                out.push(r.price_row((*id).clone(), &q.components));
                if cap.is_some_and(|n| out.len() >= n) {
                    break 'instruments;
                }
            }
        }
        let next_cursor = next_page(&mut out, q.limit, price_cursor);
        Ok(Some(PricePage {
            rows: out,
            next_cursor,
        }))
    }

    /// Reads the missing chunks of `chunks` (instruments in `order`, UTC days
    /// from `first`) in one DuckDB query — every instrument with a gap, from
    /// the first missing day to the last — and stores them under `stamp`,
    /// taken before the read.
    fn load_chunks(
        &self,
        order: &[(&InstrumentId, i32)],
        first: i64,
        chunks: &mut [Vec<Option<Chunk>>],
        stamp: u64,
    ) -> Result<()> {
        let need: Vec<usize> = (0..order.len())
            .filter(|&i| chunks[i].iter().any(Option::is_none))
            .collect();
        let lo = need
            .iter()
            .filter_map(|&i| chunks[i].iter().position(Option::is_none))
            .min()
            .unwrap_or(0);
        let hi = need
            .iter()
            .filter_map(|&i| chunks[i].iter().rposition(Option::is_none))
            .max()
            .unwrap_or(lo);
        // Read ahead: whole UTC months around the missing days (a window
        // moving on through time then finds its next days in memory), unless
        // that is more than MAX_READ_AHEAD instrument-days.
        let (miss_lo, miss_hi) = (first + lo as i64, first + hi as i64);
        let (mut day0, mut day_end) = (month_of(miss_lo).0, month_of(miss_hi).1);
        if (day_end - day0).saturating_mul(need.len() as i64) > MAX_READ_AHEAD {
            (day0, day_end) = (miss_lo, miss_hi + 1);
        }
        let span = usize::try_from(day_end - day0).unwrap_or(1);
        let key_list = vec!["?"; need.len()].join(",");
        let mut args: Vec<Value> = need.iter().map(|&i| Value::Int(order[i].1)).collect();
        args.push(Value::BigInt(day0 * DAY_US));
        args.push(Value::BigInt(day_end * DAY_US));
        let sql = format!(
            "SELECT o.instrument_key, {PRICE_COLUMNS}
             FROM observations o
             WHERE o.instrument_key IN ({key_list})
               AND o.interval_start_utc >= make_timestamp(?::BIGINT)
               AND o.interval_start_utc < make_timestamp(?::BIGINT)
               AND o.superseded_utc IS NULL"
        );
        // (instrument in `need`, day from `day0`) → rows.
        let mut buckets: Vec<Vec<ChunkRow>> = vec![Vec::new(); need.len() * span];
        {
            let conn = self.reader();
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut n = 0;
            read_price_rows(&mut stmt, args, |key, row| {
                if order[need[n]].1 != key {
                    n = need
                        .iter()
                        .position(|&i| order[i].1 == key)
                        .ok_or_else(|| {
                            Error::Backend(format!("unexpected instrument key {key}"))
                        })?;
                }
                let d = usize::try_from(row.start.div_euclid(DAY_US) - day0)
                    .unwrap_or(0)
                    .min(span - 1);
                buckets[n * span + d].push(row);
                Ok(())
            })?;
        }
        let mut fresh = Vec::with_capacity(buckets.len());
        let asked = chunks.first().map_or(0, Vec::len) as i64;
        for (b, mut rows) in buckets.into_iter().enumerate() {
            rows.sort_by(|a, b| (a.run.as_str(), a.start).cmp(&(b.run.as_str(), b.start)));
            let (n, day) = (b / span, day0 + (b % span) as i64);
            let chunk: Chunk = std::sync::Arc::new(rows);
            if (first..first + asked).contains(&day) {
                chunks[need[n]][(day - first) as usize] = Some(chunk.clone());
            }
            fresh.push((order[need[n]].0.as_str(), day, chunk));
        }
        self.cache.store_chunks(stamp, fresh);
        Ok(())
    }
}

impl ChunkRow {
    /// The API row of `id` with `components` (all when empty).
    fn price_row(&self, id: InstrumentId, components: &[carbon_core::Component]) -> PriceRow {
        PriceRow {
            instrument_id: id,
            market_run: self.run,
            interval_start: from_micros(self.start),
            interval_end: from_micros(self.end),
            values: if components.is_empty() {
                self.values
            } else {
                self.values.retain(components)
            },
            vintage: Some(from_micros(self.vintage)),
            samples: None,
        }
    }
}

/// Where the next page of prices starts.
fn price_cursor(r: &PriceRow) -> Cursor {
    Cursor {
        key: r.instrument_id.to_string(),
        run: r.market_run.as_str().to_string(),
        micros: r.interval_start.timestamp_micros(),
    }
}

/// What [`read_price_rows`] reads after its INTEGER tag column.
const PRICE_COLUMNS: &str = "o.market_run, epoch_us(o.interval_start_utc), \
     epoch_us(o.interval_end_utc), o.lmp, o.energy, o.congestion, o.loss, o.ghg, \
     epoch_us(o.vintage_utc)";

/// Runs a price statement whose columns are an INTEGER tag then
/// [`PRICE_COLUMNS`] (market run, start µs, end µs, lmp, energy, congestion,
/// loss, ghg, vintage µs) and hands each row to `each`, reading DuckDB's Arrow batches column by column (the
/// row API converts every cell on its own: twice the cost on a month's rows).
fn read_price_rows(
    stmt: &mut duckdb::Statement<'_>,
    args: Vec<Value>,
    mut each: impl FnMut(i32, ChunkRow) -> Result<()>,
) -> Result<()> {
    use duckdb::arrow::array::{Array, Float64Array, Int32Array, Int64Array, StringArray};
    fn col<T: 'static>(b: &duckdb::arrow::record_batch::RecordBatch, i: usize) -> Result<&T> {
        b.column(i).as_any().downcast_ref::<T>().ok_or_else(|| {
            Error::Backend(format!(
                "price column {i} came back as {}",
                b.column(i).data_type()
            ))
        })
    }
    for batch in stmt.query_arrow(params_from_iter(args))? {
        let tag = col::<Int32Array>(&batch, 0)?;
        let runs = col::<StringArray>(&batch, 1)?;
        let (starts, ends, vintages) = (
            col::<Int64Array>(&batch, 2)?,
            col::<Int64Array>(&batch, 3)?,
            col::<Int64Array>(&batch, 9)?,
        );
        let comps = [4, 5, 6, 7, 8].map(|i| col::<Float64Array>(&batch, i));
        let [lmp, energy, congestion, loss, ghg] = comps;
        let (lmp, energy, congestion, loss, ghg) = (lmp?, energy?, congestion?, loss?, ghg?);
        let get = |a: &Float64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
        // Runs repeat: parse each distinct text once.
        let mut last_run: Option<(&str, MarketRun)> = None;
        for i in 0..batch.num_rows() {
            let text = runs.value(i);
            let run = match last_run {
                Some((t, r)) if t == text => r,
                _ => {
                    let r = text.parse::<MarketRun>()?;
                    last_run = Some((text, r));
                    r
                }
            };
            each(
                tag.value(i),
                ChunkRow {
                    run,
                    start: starts.value(i),
                    end: ends.value(i),
                    values: Components {
                        lmp: get(lmp, i),
                        energy: get(energy, i),
                        congestion: get(congestion, i),
                        loss: get(loss, i),
                        ghg: get(ghg, i),
                    },
                    vintage: vintages.value(i),
                },
            )?;
        }
    }
    Ok(())
}

/// The five component columns starting at column `first`.
fn components_at(r: &duckdb::Row<'_>, first: usize) -> duckdb::Result<Components> {
    Ok(Components {
        lmp: r.get(first)?,
        energy: r.get(first + 1)?,
        congestion: r.get(first + 2)?,
        loss: r.get(first + 3)?,
        ghg: r.get(first + 4)?,
    })
}

/// ` AND …` conditions on market runs and on the version visible (latest, or as of).
fn run_and_vintage_filter(q: &PriceQuery) -> String {
    let mut f = String::new();
    if !q.market_runs.is_empty() {
        let runs = q
            .market_runs
            .iter()
            .map(|r| sql_str(r.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        write!(f, " AND o.market_run IN ({runs})").ok();
    }
    match q.as_of {
        None => f.push_str(" AND o.superseded_utc IS NULL"),
        Some(t) => {
            let t = micros_sql(t);
            write!(
                f,
                " AND o.vintage_utc <= {t} AND (o.superseded_utc IS NULL OR o.superseded_utc > {t})"
            )
            .ok();
        }
    }
    f
}

/// A UTC instant as a DuckDB constant expression (folded at planning, so it
/// prunes row groups like a literal).
fn micros_sql(t: DateTime<Utc>) -> String {
    format!("make_timestamp({}::BIGINT)", t.timestamp_micros())
}

/// Keyset paging: queries fetch `limit + 1` rows; when the extra row came back,
/// drop it and return the cursor of the last row kept.
fn next_page<T>(
    rows: &mut Vec<T>,
    limit: Option<usize>,
    key: impl Fn(&T) -> Cursor,
) -> Option<String> {
    let n = limit?;
    if rows.len() <= n {
        return None;
    }
    rows.truncate(n);
    rows.last().map(|r| key(r).encode())
}

/// Fills `temp.cal` with the hours of `block` in `[start, end)` for each market,
/// each with its bucket for `freq` (days and months on the market clock).
fn fill_calendar(
    conn: &Connection,
    markets: &[Market],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    block: Block,
    freq: Option<Frequency>,
) -> Result<()> {
    if (end - start).num_days() > MAX_CALENDAR_DAYS {
        return Err(Error::param(
            "end",
            format!("a blocked or daily/monthly query may span at most {MAX_CALENDAR_DAYS} days"),
        ));
    }
    conn.execute_batch(CAL_DDL)?;
    conn.execute_batch("DELETE FROM temp.cal")?;
    let mut app = conn.appender_to_catalog_and_db("cal", "temp", "main")?;
    let first_hour = start.duration_trunc(Duration::hours(1)).unwrap_or(start);
    for &m in markets {
        // Walk market days so blocks and buckets come from carbon-core.
        let mut date = time::market_date(m, first_hour);
        while time::day_start(m, date) < end {
            let day_bucket = freq.map(|f| {
                let (a, b) = f.calendar_bucket(date);
                (time::day_start(m, a), time::day_start(m, b))
            });
            for hour in time::day_hours(m, date) {
                if hour.start < first_hour || hour.start >= end || !block.contains(m, &hour) {
                    continue;
                }
                let (bs, be) = day_bucket.unwrap_or((hour.start, hour.end));
                app.append_row(duckdb::params![m.code(), ts(hour.start), ts(bs), ts(be)])?;
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
    }
    app.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> i64 {
        let t: DateTime<Utc> = format!("{s}T00:00:00Z").parse().unwrap();
        t.timestamp_micros().div_euclid(DAY_US)
    }

    #[test]
    fn months_and_days_of_chunks() {
        assert_eq!(month_of(0), (0, 31));
        assert_eq!(
            month_of(day("2024-02-29")),
            (day("2024-02-01"), day("2024-03-01"))
        );
        assert_eq!(
            month_of(day("2025-12-31")),
            (day("2025-12-01"), day("2026-01-01"))
        );
        assert_eq!(month_of(day("1969-12-31")), (day("1969-12-01"), 0));
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        // The end is exclusive: a window ending at midnight ends the day before.
        assert_eq!(
            chunk_days(t("2025-03-01T05:00:00Z"), t("2025-04-01T00:00:00Z")),
            (day("2025-03-01"), day("2025-03-31"))
        );
        assert_eq!(
            chunk_days(t("2025-03-01T05:00:00Z"), t("2025-04-01T05:00:00Z")),
            (day("2025-03-01"), day("2025-04-01"))
        );
    }
}
