//! A read-through cache of price query answers and series chunks.
//!
//! Dashboards and API clients ask the same questions over and over (this
//! month of a hub, the last day of a node); each costs DuckDB a few
//! milliseconds of planning and scanning. The answer to a [`PriceQuery`]
//! depends only on the observations of the instruments it names (market
//! clocks and calendars are fixed), and this process is the file's only
//! writer, so an answer stays right until one of those instruments is written.
//!
//! The rule that keeps it right: a logical clock ticks on every write that
//! stores something, and the write marks its instruments with the new tick
//! **after** it commits. A query reads the clock **before** it runs and stores
//! its answer under that stamp; an answer is served only while none of its
//! instruments carries a later mark. A write that commits after the stamp was
//! read therefore always invalidates the answer (whether or not the query saw
//! the write), and a stamp read after the mark belongs to a query that started
//! after the commit. Memory is bounded: least recently used answers go first.
//!
//! Besides whole answers it holds *series chunks*: the latest rows of one
//! instrument on one UTC day, from which `query.rs::query_chunked` assembles
//! any latest flat window. A write drops the chunks of the days it wrote
//! when it commits, and logs them, so a chunk read by a query that raced
//! that write is refused when the query stores it: a chunk held is current.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicUsize, Ordering},
    },
};

use carbon_core::{Components, MarketRun};

use crate::model::{PricePage, PriceQuery, PriceRow};

/// Hits, misses and size, for tests, benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Answers served from memory.
    pub hits: u64,
    /// Queries that went to DuckDB (and were then cached).
    pub misses: u64,
    /// Answers and series chunks held.
    pub entries: usize,
    /// Series chunks held (one instrument's latest rows on one UTC day).
    pub chunks: usize,
    /// Approximate bytes held.
    pub bytes: usize,
    /// The budget in bytes (0: the cache is off).
    pub budget: usize,
}

struct Entry {
    stamp: u64,
    instruments: Vec<String>,
    page: Arc<PricePage>,
    bytes: usize,
    used: u64,
}

/// One stored interval's latest version, as a series chunk holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChunkRow {
    pub run: MarketRun,
    /// Interval start and end, vintage: UTC microseconds.
    pub start: i64,
    pub end: i64,
    pub values: Components,
    pub vintage: i64,
}

/// The latest rows of one instrument whose intervals start on one UTC day,
/// ordered by (market run name, start).
pub(crate) type Chunk = Arc<Vec<ChunkRow>>;

/// Microseconds in a UTC day: chunks are numbered by `start.div_euclid(DAY_US)`.
pub(crate) const DAY_US: i64 = 86_400_000_000;

/// Writes remembered for chunks being read while they commit.
const WRITE_LOG: usize = 8192;

struct ChunkEntry {
    rows: Chunk,
    bytes: usize,
    used: u64,
}

/// One instrument's part of a committed write: the UTC days it touched.
struct Written {
    tick: u64,
    instrument: String,
    days: std::ops::RangeInclusive<i64>,
}

#[derive(Default)]
struct State {
    /// Ticks on each write that stored something.
    clock: u64,
    /// Instrument id → the tick of its last write.
    marks: HashMap<String, u64>,
    entries: HashMap<String, Entry>,
    /// Instrument id → UTC day → chunk. A chunk held is always fresh: a write
    /// drops the chunks of the days it touched when it commits.
    chunks: HashMap<String, BTreeMap<i64, ChunkEntry>>,
    /// The latest writes, oldest first, for chunks stored after a write that
    /// committed while they were being read.
    log: VecDeque<Written>,
    /// The newest tick with entries dropped from the log.
    forgotten: u64,
    bytes: usize,
    /// Recency counter for eviction.
    uses: u64,
    hits: u64,
    misses: u64,
}

pub(crate) struct QueryCache {
    /// Bytes; 0: off. Changed at run time by [`QueryCache::set_budget`].
    budget: AtomicUsize,
    state: Mutex<State>,
}

/// What [`QueryCache::chunks`] hands back: the chunks held for each day asked
/// (`None` where missing) and the stamp to store loaded ones with.
pub(crate) struct ChunkLookup {
    pub found: Vec<Option<Chunk>>,
    pub stamp: u64,
}

/// What [`QueryCache::lookup`] hands back on a miss: store the answer with it.
pub(crate) struct Ticket {
    key: String,
    stamp: u64,
}

/// One cache per database file in this process, so that two handles on one
/// file (tests open several) see each other's writes.
static BY_FILE: Mutex<Vec<(PathBuf, Weak<QueryCache>)>> = Mutex::new(Vec::new());

impl QueryCache {
    /// A cache holding about `budget` bytes of answers (0 turns it off).
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget: AtomicUsize::new(budget),
            state: Mutex::new(State::default()),
        }
    }

    fn budget(&self) -> usize {
        self.budget.load(Ordering::Relaxed)
    }

    /// Whether answers are kept at all.
    pub(crate) fn enabled(&self) -> bool {
        self.budget() > 0
    }

    /// Changes the budget; 0 turns the cache off and drops what it holds.
    pub(crate) fn set_budget(&self, bytes: usize) {
        let mut st = self.state();
        self.budget.store(bytes, Ordering::Relaxed);
        if bytes == 0 {
            st.entries.clear();
            st.chunks.clear();
            st.bytes = 0;
        } else {
            evict(&mut st, bytes);
        }
    }

    /// The cache of the database file at `path` (created with `budget()`
    /// bytes when no open handle has one).
    pub(crate) fn for_file(path: &Path, budget: impl FnOnce() -> usize) -> Arc<Self> {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut all = BY_FILE.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|(_, w)| w.strong_count() > 0);
        if let Some(c) = all
            .iter()
            .find(|(p, _)| *p == key)
            .and_then(|(_, w)| w.upgrade())
        {
            return c;
        }
        let c = Arc::new(Self::new(budget()));
        all.push((key, Arc::downgrade(&c)));
        c
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached answer, or a ticket to store the one about to be computed.
    pub(crate) fn lookup(&self, q: &PriceQuery) -> Result<PricePage, Option<Ticket>> {
        if !self.enabled() {
            return Err(None);
        }
        let key = format!("{q:?}");
        let page: Arc<PricePage> = {
            let mut guard = self.state();
            guard.uses += 1;
            let uses = guard.uses;
            let st = &mut *guard;
            let mut hit = None;
            if let Some(e) = st.entries.get_mut(&key) {
                let fresh = e
                    .instruments
                    .iter()
                    .all(|i| st.marks.get(i).is_none_or(|m| *m <= e.stamp));
                if fresh {
                    e.used = uses;
                    st.hits += 1;
                    hit = Some(e.page.clone());
                } else {
                    let bytes = e.bytes;
                    st.entries.remove(&key);
                    st.bytes -= bytes;
                }
            }
            match hit {
                Some(page) => page,
                None => {
                    st.misses += 1;
                    return Err(Some(Ticket {
                        key,
                        stamp: st.clock,
                    }));
                }
            }
        };
        // The rows are copied outside the lock (an answer can be megabytes).
        Ok(PricePage::clone(&page))
    }

    /// Stores an answer computed after `ticket` was issued.
    pub(crate) fn store(&self, ticket: Ticket, q: &PriceQuery, page: &PricePage) {
        let bytes = ticket.key.len()
            + page.rows.len() * std::mem::size_of::<PriceRow>()
            + page.next_cursor.as_ref().map_or(0, String::len)
            + 128;
        let budget = self.budget();
        if bytes > budget / 4 {
            return; // one answer may not crowd out the rest
        }
        let mut st = self.state();
        st.uses += 1;
        let entry = Entry {
            stamp: ticket.stamp,
            instruments: q
                .instruments
                .iter()
                .map(|i| i.as_str().to_string())
                .collect(),
            page: Arc::new(page.clone()),
            bytes,
            used: st.uses,
        };
        if let Some(old) = st.entries.insert(ticket.key, entry) {
            st.bytes -= old.bytes;
        }
        st.bytes += bytes;
        evict(&mut st, budget);
    }

    /// The chunks of `instrument` for `days` (UTC day numbers), or `None`
    /// when the cache is off.
    pub(crate) fn chunks(
        &self,
        instrument: &str,
        days: std::ops::RangeInclusive<i64>,
    ) -> Option<ChunkLookup> {
        if !self.enabled() {
            return None;
        }
        let mut guard = self.state();
        let st = &mut *guard;
        let (first, last) = (*days.start(), *days.end());
        let n = usize::try_from(last - first + 1).unwrap_or(0);
        let mut found = vec![None; n];
        if let Some(series) = st.chunks.get_mut(instrument) {
            st.uses += 1;
            for (day, e) in series.range_mut(days) {
                e.used = st.uses;
                found[usize::try_from(day - first).unwrap_or(0)] = Some(e.rows.clone());
            }
        }
        Some(ChunkLookup {
            found,
            stamp: st.clock,
        })
    }

    /// Stores chunks (instrument, UTC day, rows) read by a query that took
    /// `stamp` before it read them, except those a write committed since then
    /// touched (all of them when that cannot be told), and nothing when they
    /// would take more than a quarter of the budget.
    pub(crate) fn store_chunks(&self, stamp: u64, chunks: Vec<(&str, i64, Chunk)>) {
        let budget = self.budget();
        let size = |rows: &Chunk| rows.len() * std::mem::size_of::<ChunkRow>() + 96;
        let total: usize = chunks.iter().map(|(i, _, c)| i.len() + size(c)).sum();
        if total > budget / 4 {
            return;
        }
        let mut guard = self.state();
        let st = &mut *guard;
        if st.forgotten > stamp {
            return; // writes after the stamp may have left the log
        }
        let since: Vec<&Written> = st.log.iter().rev().take_while(|w| w.tick > stamp).collect();
        for (instrument, day, rows) in chunks {
            if since
                .iter()
                .any(|w| w.instrument == instrument && w.days.contains(&day))
            {
                continue;
            }
            st.uses += 1;
            let entry = ChunkEntry {
                bytes: instrument.len() + size(&rows),
                rows,
                used: st.uses,
            };
            st.bytes += entry.bytes;
            let series = match st.chunks.get_mut(instrument) {
                Some(s) => s,
                None => st.chunks.entry(instrument.to_string()).or_default(),
            };
            if let Some(old) = series.insert(day, entry) {
                st.bytes -= old.bytes;
            }
        }
        evict(st, budget);
    }

    /// Counts a query answered from chunks (`hit`) or one that read DuckDB.
    pub(crate) fn count(&self, hit: bool) {
        let mut st = self.state();
        if hit {
            st.hits += 1;
        } else {
            st.misses += 1;
        }
    }

    /// Records a committed write: each instrument with the UTC days its rows
    /// start on (first, last). Answers naming an instrument stamped before now
    /// become stale; chunks of the days written are dropped. Call after the
    /// commit (or a failure: a needless mark only costs a recomputation).
    /// Marks are kept while the cache is off too, so that turning it back on
    /// can never accept an answer read before a write it did not see.
    pub(crate) fn written<'a>(&self, writes: impl IntoIterator<Item = (&'a str, i64, i64)>) {
        let mut guard = self.state();
        let st = &mut *guard;
        st.clock += 1;
        let tick = st.clock;
        for (instrument, first, last) in writes {
            match st.marks.get_mut(instrument) {
                Some(m) => *m = tick,
                None => {
                    st.marks.insert(instrument.to_string(), tick);
                }
            }
            if let Some(series) = st.chunks.get_mut(instrument) {
                let days: Vec<i64> = series.range(first..=last).map(|(d, _)| *d).collect();
                for d in days {
                    if let Some(e) = series.remove(&d) {
                        st.bytes -= e.bytes;
                    }
                }
            }
            st.log.push_back(Written {
                tick,
                instrument: instrument.to_string(),
                days: first..=last,
            });
        }
        while st.log.len() > WRITE_LOG {
            if let Some(w) = st.log.pop_front() {
                st.forgotten = w.tick;
            }
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let st = self.state();
        let chunks = st.chunks.values().map(BTreeMap::len).sum::<usize>();
        CacheStats {
            hits: st.hits,
            misses: st.misses,
            entries: st.entries.len() + chunks,
            chunks,
            bytes: st.bytes,
            budget: self.budget(),
        }
    }
}

/// Over budget: drops the least recently used answers and chunks down to 3/4
/// of the budget.
fn evict(st: &mut State, budget: usize) {
    if st.bytes <= budget {
        return;
    }
    enum Victim {
        Answer(String),
        Chunk(String, i64),
    }
    let mut by_use: Vec<(u64, Victim)> = st
        .entries
        .iter()
        .map(|(k, e)| (e.used, Victim::Answer(k.clone())))
        .collect();
    for (id, series) in &st.chunks {
        by_use.extend(
            series
                .iter()
                .map(|(m, e)| (e.used, Victim::Chunk(id.clone(), *m))),
        );
    }
    by_use.sort_unstable_by_key(|(used, _)| *used);
    for (_, victim) in by_use {
        if st.bytes <= budget / 4 * 3 {
            break;
        }
        match victim {
            Victim::Answer(k) => {
                if let Some(e) = st.entries.remove(&k) {
                    st.bytes -= e.bytes;
                }
            }
            Victim::Chunk(id, m) => {
                let Some(series) = st.chunks.get_mut(&id) else {
                    continue;
                };
                if let Some(e) = series.remove(&m) {
                    st.bytes -= e.bytes;
                }
                if series.is_empty() {
                    st.chunks.remove(&id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use carbon_core::{Components, InstrumentId, MarketRun};
    use chrono::{DateTime, Duration, Utc};

    use super::*;

    fn query(node: &str) -> PriceQuery {
        let t: DateTime<Utc> = "2025-01-01T05:00:00Z".parse().unwrap();
        let id: InstrumentId = format!("MISO.{node}").parse().unwrap();
        PriceQuery::new(vec![id], t, t + Duration::days(1))
    }

    fn page(node: &str, rows: usize) -> PricePage {
        let q = query(node);
        PricePage {
            rows: (0..rows)
                .map(|h| PriceRow {
                    instrument_id: q.instruments[0].clone(),
                    market_run: MarketRun::Da,
                    interval_start: q.start + Duration::hours(h as i64),
                    interval_end: q.start + Duration::hours(h as i64 + 1),
                    values: Components {
                        lmp: Some(h as f64),
                        ..Default::default()
                    },
                    vintage: Some(q.start),
                    samples: None,
                })
                .collect(),
            next_cursor: None,
        }
    }

    fn fill(c: &QueryCache, node: &str, rows: usize) {
        let q = query(node);
        match c.lookup(&q) {
            Err(Some(t)) => c.store(t, &q, &page(node, rows)),
            other => panic!("expected a miss for {node}: {:?}", other.is_ok()),
        }
    }

    #[test]
    fn least_recently_used_answers_go_first_and_the_budget_holds() {
        let one = 24 * std::mem::size_of::<PriceRow>() + 400;
        let c = QueryCache::new(one * 10);
        for i in 0..8 {
            fill(&c, &format!("N{i}"), 24);
        }
        // N0 used again: it is now the most recent.
        assert!(c.lookup(&query("N0")).is_ok());
        for i in 8..14 {
            fill(&c, &format!("N{i}"), 24);
        }
        let s = c.stats();
        assert!(s.bytes <= s.budget, "{s:?}");
        assert!(c.lookup(&query("N0")).is_ok(), "recently used was evicted");
        assert!(
            c.lookup(&query("N1")).is_err(),
            "least recently used was kept"
        );
        assert!(c.lookup(&query("N13")).is_ok());
        // An answer bigger than a quarter of the budget is not kept.
        let q = query("BIG");
        let Err(Some(t)) = c.lookup(&q) else { panic!() };
        c.store(t, &q, &page("BIG", 24 * 4));
        assert!(c.lookup(&q).is_err());
    }

    fn chunk(rows: usize) -> Chunk {
        Arc::new(
            (0..rows)
                .map(|i| ChunkRow {
                    run: MarketRun::Da,
                    start: i as i64,
                    end: i as i64 + 1,
                    values: Components::default(),
                    vintage: 0,
                })
                .collect(),
        )
    }

    fn held(c: &QueryCache, id: &str, days: std::ops::RangeInclusive<i64>) -> Vec<bool> {
        c.chunks(id, days)
            .unwrap()
            .found
            .iter()
            .map(Option::is_some)
            .collect()
    }

    #[test]
    fn writes_drop_the_chunks_of_their_days_and_the_budget_is_shared() {
        let one = 100 * std::mem::size_of::<ChunkRow>() + 96 + 6;
        let c = QueryCache::new(one * 40);
        // Read before a write to day 1 that committed before the store: days
        // the write touched are not kept, the others are.
        let l = c.chunks("MISO.A", 0..=2).unwrap();
        assert_eq!(l.found, vec![None, None, None]);
        c.written([("MISO.A", 1, 1), ("MISO.B", 0, 2)]);
        c.store_chunks(l.stamp, (0..3).map(|d| ("MISO.A", d, chunk(100))).collect());
        assert_eq!(held(&c, "MISO.A", 0..=2), vec![true, false, true]);
        assert_eq!(c.stats().chunks, 2);
        // Read after the write: kept; a later write drops only its days.
        let l = c.chunks("MISO.A", 0..=2).unwrap();
        c.store_chunks(l.stamp, vec![("MISO.A", 1, chunk(100))]);
        assert_eq!(held(&c, "MISO.A", 0..=2), vec![true, true, true]);
        c.written([("MISO.A", 2, 5)]);
        c.written([("MISO.C", 0, 9)]);
        assert_eq!(held(&c, "MISO.A", 0..=3), vec![true, true, false, false]);
        assert_eq!(
            c.chunks("MISO.A", 1..=1).unwrap().found[0].as_deref(),
            Some(&*chunk(100))
        );
        // More writes than the log remembers since a stamp: nothing is kept.
        let l = c.chunks("MISO.D", 0..=0).unwrap();
        for i in 0..=WRITE_LOG {
            c.written([("MISO.E", i as i64, i as i64)]);
        }
        c.store_chunks(l.stamp, vec![("MISO.D", 0, chunk(1))]);
        assert_eq!(held(&c, "MISO.D", 0..=0), vec![false]);
        // Many more chunks and answers: the budget holds, the recently used stay.
        for d in 1..60 {
            fill(&c, &format!("N{d}"), 24);
            let l = c.chunks("MISO.B", d..=d).unwrap();
            c.store_chunks(l.stamp, vec![("MISO.B", d, chunk(100))]);
            assert_eq!(held(&c, "MISO.A", 1..=1), vec![true]);
        }
        let s = c.stats();
        assert!(s.bytes <= s.budget, "{s:?}");
        assert!(s.chunks < 40 && s.entries > s.chunks, "{s:?}");
        assert_eq!(held(&c, "MISO.B", 1..=1), vec![false]);
        // More than a quarter of the budget at once is not kept.
        let l = c.chunks("MISO.C", 0..=0).unwrap();
        c.store_chunks(l.stamp, vec![("MISO.C", 0, chunk(1100))]);
        assert_eq!(held(&c, "MISO.C", 0..=0), vec![false]);
        // Turned off: nothing held, nothing looked up.
        c.set_budget(0);
        assert!(c.chunks("MISO.A", 1..=1).is_none());
        assert_eq!((c.stats().entries, c.stats().bytes), (0, 0));
    }

    #[test]
    fn a_write_after_the_stamp_invalidates_even_if_stored_later() {
        let c = QueryCache::new(1 << 20);
        let q = query("A");
        // The query starts (stamp taken), a write commits, then the answer lands.
        let Err(Some(t)) = c.lookup(&q) else { panic!() };
        c.written([("MISO.A", 0, 0)]);
        c.store(t, &q, &page("A", 2));
        assert!(
            c.lookup(&q).is_err(),
            "an answer older than a write was served"
        );
        // Computed after the write: served.
        let Err(Some(t)) = c.lookup(&q) else { panic!() };
        c.store(t, &q, &page("A", 2));
        assert_eq!(c.lookup(&q).ok(), Some(page("A", 2)));
        // Writes elsewhere do not matter.
        c.written([("MISO.B", 0, 0)]);
        assert!(c.lookup(&q).is_ok());
        // Off: never stores.
        let off = QueryCache::new(0);
        assert!(matches!(off.lookup(&q), Err(None)));
    }
}
