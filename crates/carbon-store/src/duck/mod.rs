//! The embedded DuckDB backend: one file, `<data-dir>/carbon.duckdb`.
//!
//! DuckDB allows one writing process per file. Inside the process, one writer
//! connection (behind a mutex) serialises appends; a small pool of cloned reader
//! connections serves queries concurrently. Blocking DuckDB calls run on tokio's
//! blocking pool, so the async API never stalls the runtime.

mod cache;
mod compact;
mod curves;
mod directory;
mod exports;
mod feeds;
mod fundamentals;
mod jobs;
mod query;
mod runlog;
mod scenarios;
mod schema;
mod write;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard, RwLock,
        atomic::{AtomicUsize, Ordering},
    },
};

use async_trait::async_trait;
use carbon_core::{Instrument, InstrumentId, LocationKind, Market, ObservationBatch};
use chrono::{DateTime, Utc};
use duckdb::{
    Connection, OptionalExt,
    types::{TimeUnit, Value},
};

use crate::{
    error::{Error, Result},
    model::{
        AppendSummary, CompactSummary, InstrumentPage, InstrumentQuery, PricePage, PriceQuery,
        SeriesStats, StatsFilter, UpsertSummary,
    },
    store::Store,
};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "carbon.duckdb";

const READERS: usize = 4;

/// The embedded DuckDB [`Store`].
#[derive(Clone)]
pub struct DuckdbStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// id → its stored row: every instrument, kept in step with the table
    /// after each committed upsert (this process is the only writer of the
    /// file). Appends map ids to keys with it; an upsert that would change
    /// nothing (every poll re-sends its nodes) skips DuckDB.
    instruments: RwLock<HashMap<String, Stored>>,
    /// Price query answers, invalidated per instrument by appends; shared by
    /// every handle this process opens on the same file.
    cache: Arc<cache::QueryCache>,
}

pub use cache::CacheStats;

/// Default budget of the price query cache (`[store] query_cache_mb`; 0
/// turns the cache off).
const QUERY_CACHE_MB: usize = 64;

impl std::fmt::Debug for DuckdbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckdbStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

/// `[store]`: how the embedded store runs (the CLI's layered configuration
/// fills it from `carbon.toml` and `CARBON_DUCKDB_THREADS` /
/// `CARBON_QUERY_CACHE_MB`; the store itself reads no environment).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// DuckDB threads; unset: the command's own choice (one for `carbon
    /// serve`, every core for batch commands).
    pub duckdb_threads: Option<u32>,
    /// Budget of the price query cache, MiB (0 turns it off).
    pub query_cache_mb: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            duckdb_threads: None,
            query_cache_mb: QUERY_CACHE_MB,
        }
    }
}

pub(crate) fn ts(t: DateTime<Utc>) -> Value {
    Value::Timestamp(TimeUnit::Microsecond, t.timestamp_micros())
}

/// Rows of `sql`, each read by `read` (whose inner `Err` is a stored value
/// that does not read back: a backend error).
pub(crate) fn read_rows<T>(
    c: &duckdb::Connection,
    sql: &str,
    p: &[&dyn duckdb::ToSql],
    read: fn(&duckdb::Row<'_>) -> duckdb::Result<std::result::Result<T, String>>,
) -> crate::error::Result<Vec<T>> {
    let mut stmt = c.prepare(sql)?;
    let rows = stmt.query_map(p, read)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?.map_err(crate::error::Error::Backend)?);
    }
    Ok(out)
}

pub(crate) fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

fn open_error(path: &Path, e: duckdb::Error) -> Error {
    let msg = e.to_string();
    if msg.contains("Could not set lock") || msg.contains("Conflicting lock") {
        let holder = msg
            .split("PID ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .filter(|p| !p.is_empty())
            .map(|p| format!(" (pid {p})"))
            .unwrap_or_default();
        return Error::Busy {
            path: path.display().to_string(),
            holder,
        };
    }
    Error::Backend(format!("cannot open {}: {msg}", path.display()))
}

/// What the store keeps in memory of one `instruments` row.
struct Stored {
    key: i32,
    market: Market,
    kind: LocationKind,
    name: Option<String>,
}

/// Catalog name of the attached database file.
pub(crate) const CATALOG: &str = "carbon";

/// Rows per row group of newly written data (a multiple of DuckDB's 2,048-row vector).
const ROW_GROUP_SIZE: usize = 16_384;

impl DuckdbStore {
    /// Opens (creating if needed) `<data_dir>/carbon.duckdb` and applies migrations.
    pub fn open(data_dir: &Path) -> Result<Self> {
        Self::open_with(data_dir, &StoreConfig::default())
    }

    /// [`DuckdbStore::open`] with `[store]` settings.
    pub fn open_with(data_dir: &Path, config: &StoreConfig) -> Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            Error::Backend(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        Self::open_file_with(&data_dir.join(DB_FILE), config)
    }

    /// Opens (creating if needed) a database file and applies migrations.
    pub fn open_file(path: &Path) -> Result<Self> {
        Self::open_file_with(path, &StoreConfig::default())
    }

    /// [`DuckdbStore::open_file`] with `[store]` settings.
    pub fn open_file_with(path: &Path, config: &StoreConfig) -> Result<Self> {
        // The file is attached to an in-memory instance rather than opened
        // directly, because only ATTACH takes storage options: row groups of
        // ROW_GROUP_SIZE rows (DuckDB's default is 122,880) give min/max
        // pruning 7.5× finer grain for per-instrument reads (ARCHITECTURE.md).
        let writer = Connection::open_in_memory()?;
        let target = path.display().to_string().replace('\'', "''");
        writer
            .execute_batch(&format!(
                "ATTACH '{target}' AS {CATALOG} (ROW_GROUP_SIZE {ROW_GROUP_SIZE}); USE {CATALOG};"
            ))
            .map_err(|e| open_error(path, e))?;
        migrate(&writer, path)?;
        if let Some(n) = config.duckdb_threads.filter(|n| *n > 0) {
            writer.execute_batch(&format!("SET threads = {n}"))?;
        }
        let readers = (0..READERS)
            .map(|_| {
                let c = writer.try_clone()?;
                c.execute_batch(&format!("USE {CATALOG};"))?;
                Ok(Mutex::new(c))
            })
            .collect::<std::result::Result<Vec<_>, duckdb::Error>>()?;
        let inner = Inner {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            instruments: RwLock::new(HashMap::new()),
            cache: cache::QueryCache::for_file(path, || config.query_cache_mb << 20),
        };
        inner.reload_instruments(None)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The version of the DuckDB library this process runs on (`v1.5.6`): the
    /// prebuilt libduckdb.so it links, or the one compiled in (`bundled`).
    pub fn library_version() -> Result<String> {
        let c = Connection::open_in_memory()?;
        Ok(
            c.query_row("SELECT library_version FROM pragma_version()", [], |r| {
                r.get(0)
            })?,
        )
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Sets how many threads DuckDB runs a query on (the whole database).
    /// `carbon serve` uses 1 (many small concurrent queries: each on its own
    /// thread gives half the tail latency); batch commands keep DuckDB's
    /// default, every core. `[store] duckdb_threads` wins over both.
    pub fn set_threads(&self, n: u32) -> Result<()> {
        if n == 0 {
            return Err(Error::param("threads", "must be at least 1"));
        }
        self.inner
            .writer()
            .execute_batch(&format!("SET threads = {n}"))?;
        Ok(())
    }

    /// DuckDB's current thread count.
    pub fn threads(&self) -> Result<u32> {
        let n: i64 = self.inner.reader().query_row(
            "SELECT current_setting('threads')::BIGINT",
            [],
            |r| r.get(0),
        )?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The price query cache's hits, misses and size.
    pub fn cache_stats(&self) -> CacheStats {
        self.inner.cache.stats()
    }

    /// Sets the price query cache's budget in bytes for every handle on this
    /// file; 0 turns it off and drops what it holds (benchmarks measure the
    /// uncached path with it).
    pub fn set_query_cache_budget(&self, bytes: usize) {
        self.inner.cache.set_budget(bytes);
    }

    /// Applied schema version.
    pub fn schema_version(&self) -> Result<i64> {
        let c = self.inner.reader();
        Ok(c.query_row(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )?)
    }

    /// Forces a checkpoint (WAL → database file).
    pub fn checkpoint(&self) -> Result<()> {
        self.inner.writer().execute_batch("CHECKPOINT")?;
        Ok(())
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| Error::Backend(format!("storage task failed: {e}")))?
    }
}

fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, description VARCHAR NOT NULL, applied_utc TIMESTAMP NOT NULL)",
    )?;
    let current: i64 = conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let known = schema::latest_version();
    if current > known {
        return Err(Error::SchemaTooNew {
            path: path.display().to_string(),
            found: current,
            known,
        });
    }
    for (version, description, sql) in schema::MIGRATIONS.iter().filter(|m| m.0 > current) {
        let run = || -> duckdb::Result<()> {
            conn.execute_batch("BEGIN TRANSACTION")?;
            conn.execute_batch(sql)?;
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                duckdb::params![version, description, ts(Utc::now())],
            )?;
            conn.execute_batch("COMMIT")
        };
        if let Err(e) = run() {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(Error::Backend(format!(
                "migration {version} ({description}) failed: {e}"
            )));
        }
        tracing::info!(version, description, "applied schema migration");
    }
    Ok(())
}

impl Inner {
    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        for r in &self.readers {
            if let Ok(g) = r.try_lock() {
                return g;
            }
        }
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refreshes the id → key cache: every instrument (`ids = None`, at open) or
    /// only those just upserted, so an ingest poll does not rescan the table.
    fn reload_instruments(&self, ids: Option<&[String]>) -> Result<()> {
        let c = self.reader();
        let mut sql = String::from("SELECT id, key, kind, name FROM instruments");
        if let Some(ids) = ids {
            if ids.is_empty() {
                return Ok(());
            }
            let list: Vec<String> = ids
                .iter()
                .map(|i| format!("'{}'", i.replace('\'', "''")))
                .collect();
            sql.push_str(&format!(" WHERE id IN ({})", list.join(",")));
        }
        let mut stmt = c.prepare(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i32>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?;
        let mut found = Vec::new();
        for row in rows {
            let (id, key, kind, name) = row?;
            let market = InstrumentId::parse(&id)?.market();
            let kind = kind.parse::<LocationKind>()?;
            found.push((
                id,
                Stored {
                    key,
                    market,
                    kind,
                    name,
                },
            ));
        }
        let mut map = self.instruments.write().unwrap_or_else(|p| p.into_inner());
        if ids.is_none() {
            map.clear();
        }
        map.extend(found);
        Ok(())
    }

    /// (key, market) of an instrument, if stored.
    fn lookup(&self, id: &str) -> Option<(i32, Market)> {
        self.instruments
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .map(|s| (s.key, s.market))
    }

    fn upsert(&self, instruments: Vec<Instrument>) -> Result<UpsertSummary> {
        let mut summary = UpsertSummary::default();
        let now = ts(Utc::now());
        // What would change a stored row: a new id, a more specific kind
        // (`node` never replaces one), a name that differs. The rest only count.
        let changes: Vec<&Instrument> = {
            let stored = self.instruments.read().unwrap_or_else(|p| p.into_inner());
            instruments
                .iter()
                .filter(|i| match stored.get(i.id.as_str()) {
                    None => true,
                    Some(s) => {
                        (i.kind != s.kind && i.kind != LocationKind::Node)
                            || (i.name.is_some() && i.name != s.name)
                    }
                })
                .collect()
        };
        if changes.is_empty() {
            let mut seen = std::collections::HashSet::new();
            summary.updated = instruments
                .iter()
                .filter(|i| seen.insert(i.id.as_str()))
                .count();
            return Ok(summary);
        }
        // Re-read what changed (keys never change, so new ids need theirs).
        let changed_ids: Vec<String> = changes.iter().map(|i| i.id.to_string()).collect();
        {
            // One statement for the whole batch (a payload names thousands of
            // nodes): stage, then insert new ids and update changed ones only.
            let mut conn = self.writer();
            conn.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS stage_inst (
                    id VARCHAR, market VARCHAR, node VARCHAR, kind VARCHAR, name VARCHAR)",
            )?;
            let tx = conn.transaction()?;
            tx.execute_batch("DELETE FROM temp.stage_inst")?;
            {
                let mut app = tx.appender_to_catalog_and_db("stage_inst", "temp", "main")?;
                let mut seen = std::collections::HashSet::new();
                for i in &instruments {
                    if !seen.insert(i.id.as_str()) {
                        continue;
                    }
                    if self.lookup(i.id.as_str()).is_some() {
                        summary.updated += 1;
                    } else {
                        summary.inserted += 1;
                    }
                    app.append_row(duckdb::params![
                        i.id.as_str(),
                        i.market().code(),
                        i.id.node(),
                        i.kind.as_str(),
                        i.name,
                    ])?;
                }
                app.flush()?;
            }
            tx.execute(
                "INSERT INTO instruments (id, market, node, kind, name, created_utc, updated_utc)
                 SELECT s.id, s.market, s.node, s.kind, s.name, ?, ?
                 FROM temp.stage_inst s LEFT JOIN instruments i ON i.id = s.id
                 WHERE i.id IS NULL OR (i.kind <> s.kind AND s.kind <> 'node')
                    OR (s.name IS NOT NULL AND i.name IS DISTINCT FROM s.name)
                 ON CONFLICT (id) DO UPDATE SET
                    kind = CASE WHEN excluded.kind = 'node' THEN instruments.kind
                                ELSE excluded.kind END,
                    name = coalesce(excluded.name, instruments.name),
                    updated_utc = excluded.updated_utc",
                duckdb::params![now.clone(), now],
            )?;
            tx.commit()?;
        }
        self.reload_instruments(Some(&changed_ids))?;
        Ok(summary)
    }

    fn instrument(&self, id: &InstrumentId) -> Result<Option<Instrument>> {
        let c = self.reader();
        let row = c
            .query_row(
                "SELECT kind, name FROM instruments WHERE id = ?",
                [id.as_str()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
            )
            .optional()?;
        row.map(|(kind, name)| {
            Ok(Instrument {
                id: id.clone(),
                kind: kind.parse::<LocationKind>()?,
                name,
            })
        })
        .transpose()
    }
}

#[async_trait]
impl Store for DuckdbStore {
    fn backend(&self) -> &'static str {
        "duckdb"
    }

    async fn upsert_instruments(&self, instruments: Vec<Instrument>) -> Result<UpsertSummary> {
        self.blocking(move |s| s.upsert(instruments)).await
    }

    async fn instrument(&self, id: &InstrumentId) -> Result<Option<Instrument>> {
        let id = id.clone();
        self.blocking(move |s| s.instrument(&id)).await
    }

    async fn search_instruments(&self, query: InstrumentQuery) -> Result<InstrumentPage> {
        self.blocking(move |s| s.search_instruments(&query)).await
    }

    async fn append_batch(&self, batch: ObservationBatch) -> Result<AppendSummary> {
        self.blocking(move |s| {
            // The batch's instruments (rows usually come grouped by
            // instrument) with the UTC days their intervals start on.
            let mut written: Vec<(InstrumentId, i64, i64)> = Vec::new();
            let mut last_entry = None;
            for i in 0..batch.len() {
                let day = (batch.interval_start(i).timestamp_micros()).div_euclid(cache::DAY_US);
                let entry = batch.instrument_index(i);
                match written.last_mut() {
                    Some((id, first, last))
                        if last_entry == Some(entry) || id == batch.instrument(i) =>
                    {
                        *first = (*first).min(day);
                        *last = (*last).max(day);
                    }
                    _ => written.push((batch.instrument(i).clone(), day, day)),
                }
                last_entry = Some(entry);
            }
            let result = s.append(batch);
            // After the commit: answers stamped before now are stale.
            if !matches!(&result, Ok(summary) if summary.inserted == 0) {
                s.cache
                    .written(written.iter().map(|(id, a, b)| (id.as_str(), *a, *b)));
            }
            result
        })
        .await
    }

    async fn query_prices(&self, query: PriceQuery) -> Result<PricePage> {
        // The latest flat rows of a few instrument-months: series chunks,
        // answered here when all are in memory, else read on a blocking thread.
        if self.inner.cache.enabled() && query::chunkable(&query) {
            if let Some(page) = self.inner.query_chunked(&query, false)? {
                return Ok(page);
            }
            return self
                .blocking(move |s| match s.query_chunked(&query, true)? {
                    Some(page) => Ok(page),
                    None => s.query_prices(&query),
                })
                .await;
        }
        let ticket = match self.inner.cache.lookup(&query) {
            Ok(page) => return Ok(page),
            Err(ticket) => ticket,
        };
        self.blocking(move |s| {
            let page = s.query_prices(&query)?;
            if let Some(t) = ticket {
                s.cache.store(t, &query, &page);
            }
            Ok(page)
        })
        .await
    }

    async fn series_stats(&self, filter: StatsFilter) -> Result<Vec<SeriesStats>> {
        self.blocking(move |s| s.series_stats(&filter)).await
    }

    async fn compact(&self) -> Result<CompactSummary> {
        self.blocking(|s| s.compact()).await
    }

    fn cache_stats(&self) -> Option<CacheStats> {
        Some(self.inner.cache.stats())
    }

    async fn ping(&self) -> Result<()> {
        self.blocking(|s| {
            s.reader()
                .query_row("SELECT 1", [], |r| r.get::<_, i32>(0))?;
            Ok(())
        })
        .await
    }
}
