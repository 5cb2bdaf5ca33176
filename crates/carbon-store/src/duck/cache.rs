//! A read-through cache of price query answers, invalidated per instrument.
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

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, Weak},
};

use crate::model::{PricePage, PriceQuery, PriceRow};

/// Hits, misses and size, for tests, benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Answers served from memory.
    pub hits: u64,
    /// Queries that went to DuckDB (and were then cached).
    pub misses: u64,
    /// Answers held.
    pub entries: usize,
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

#[derive(Default)]
struct State {
    /// Ticks on each write that stored something.
    clock: u64,
    /// Instrument id → the tick of its last write.
    marks: HashMap<String, u64>,
    entries: HashMap<String, Entry>,
    bytes: usize,
    /// Recency counter for eviction.
    uses: u64,
    hits: u64,
    misses: u64,
}

pub(crate) struct QueryCache {
    budget: usize,
    state: Mutex<State>,
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
            budget,
            state: Mutex::new(State::default()),
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
        if self.budget == 0 {
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
        if bytes > self.budget / 4 {
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
        if st.bytes > self.budget {
            // Evict the least recently used down to 3/4 of the budget.
            let mut by_use: Vec<(u64, String)> = st
                .entries
                .iter()
                .map(|(k, e)| (e.used, k.clone()))
                .collect();
            by_use.sort_unstable();
            for (_, k) in by_use {
                if st.bytes <= self.budget / 4 * 3 {
                    break;
                }
                if let Some(e) = st.entries.remove(&k) {
                    st.bytes -= e.bytes;
                }
            }
        }
    }

    /// Marks `instruments` as written; call after the write has committed
    /// (or failed: a needless mark only costs a recomputation).
    pub(crate) fn written<'a>(&self, instruments: impl IntoIterator<Item = &'a str>) {
        if self.budget == 0 {
            return;
        }
        let mut st = self.state();
        st.clock += 1;
        let tick = st.clock;
        for i in instruments {
            match st.marks.get_mut(i) {
                Some(m) => *m = tick,
                None => {
                    st.marks.insert(i.to_string(), tick);
                }
            }
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let st = self.state();
        CacheStats {
            hits: st.hits,
            misses: st.misses,
            entries: st.entries.len(),
            bytes: st.bytes,
            budget: self.budget,
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

    #[test]
    fn a_write_after_the_stamp_invalidates_even_if_stored_later() {
        let c = QueryCache::new(1 << 20);
        let q = query("A");
        // The query starts (stamp taken), a write commits, then the answer lands.
        let Err(Some(t)) = c.lookup(&q) else { panic!() };
        c.written(["MISO.A"]);
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
        c.written(["MISO.B"]);
        assert!(c.lookup(&q).is_ok());
        // Off: never stores.
        let off = QueryCache::new(0);
        assert!(matches!(off.lookup(&q), Err(None)));
    }
}
