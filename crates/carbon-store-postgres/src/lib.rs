//! # carbon-store-postgres — the scale-out backend's relational half
//!
//! PostgreSQL holds what several `carbon` processes must share and agree on:
//! durable jobs (each claimed exactly once across processes: the claim is one
//! `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)`), export records,
//! scheduled feeds, scenario versions and runs, the ingest run log (runs,
//! quarantine, checkpoints), research runs, and the access directory with
//! its hash-chained audit log (appends serialised across processes by an
//! advisory lock). It implements `carbon-store`'s traits and passes the
//! same conformance checks as DuckDB for them; prices, fundamentals and curve
//! points belong to ClickHouse (not here). Text sorts byte by byte
//! (`COLLATE "C"`), as on DuckDB, whatever the database's collation.
//!
//! A [`PgStore`] lives in one schema of one database (so test runs and
//! deployments sharing a server stay apart); its migrations are versioned,
//! applied under an advisory lock (two processes starting at once apply each
//! once) and recorded in `schema_migrations`. It must not know HTTP or the
//! services; errors are `carbon_store::Error` (a unique violation is a
//! `Conflict`, anything else an internal `Backend` error whose text names
//! the statement's purpose, never a value).

mod directory;
mod exports;
mod feeds;
mod jobs;
mod migrate;
mod research;
mod runlog;
mod scenarios;

use carbon_store::{Error, Result};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

/// Metadata stores on PostgreSQL.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    schema: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// A schema name: a letter or `_`, then letters, digits and `_`, at most 63.
fn check_schema(s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            param: "schema",
            message: format!("`{s}`: lower-case letters, digits and `_`, starting with a letter"),
        })
    }
}

/// A backend error: what was being done, and the server's words (never the
/// connection string, which may hold a password).
pub(crate) fn backend(what: &str) -> impl Fn(tokio_postgres::Error) -> Error + '_ {
    move |e| {
        if let Some(db) = e.as_db_error() {
            use tokio_postgres::error::SqlState;
            if db.code() == &SqlState::UNIQUE_VIOLATION {
                return Error::Conflict(format!("{what}: it exists already"));
            }
            // Text PostgreSQL cannot hold (a NUL character): the input's
            // fault, as DuckDB would have stored it.
            if db.code() == &SqlState::UNTRANSLATABLE_CHARACTER
                || db.code() == &SqlState::CHARACTER_NOT_IN_REPERTOIRE
            {
                return Error::InvalidParameter {
                    param: "text",
                    message: format!("{what}: text with a NUL character cannot be stored"),
                };
            }
        }
        // tokio-postgres shows only the error's kind ("db error"): say the
        // server's code and message (never its detail, which can quote
        // values), or the cause of a connection failure.
        let why = match (e.as_db_error(), std::error::Error::source(&e)) {
            (Some(db), _) => format!("{} ({})", db.message(), db.code().code()),
            (None, Some(cause)) => format!("{e}: {cause}"),
            (None, None) => e.to_string(),
        };
        Error::Backend(format!("postgres, {what}: {why}"))
    }
}

pub(crate) fn pool_error(e: deadpool_postgres::PoolError) -> Error {
    Error::Backend(format!("postgres pool: {e}"))
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`, a password from the
    /// URL or `PGPASSWORD`) and uses `schema` (made when missing), bringing
    /// it up to this build's migrations.
    pub async fn connect(url: &str, schema: &str) -> Result<Self> {
        check_schema(schema)?;
        let mut cfg: tokio_postgres::Config = url
            .parse()
            .map_err(|e| Error::Backend(format!("postgres url: {e}")))?;
        if cfg.get_password().is_none()
            && let Ok(p) = std::env::var("PGPASSWORD")
        {
            cfg.password(p);
        }
        // The schema first, on a connection of its own.
        {
            let (mut client, conn) = cfg.connect(NoTls).await.map_err(backend("connecting"))?;
            let task = tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::warn!(error = %e, "postgres connection ended");
                }
            });
            // `IF NOT EXISTS` still races (two creators: a unique
            // violation): one creator at a time per schema name.
            let tx = client
                .transaction()
                .await
                .map_err(backend("creating the schema"))?;
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext('carbon-schema:' || $1))",
                &[&schema],
            )
            .await
            .map_err(backend("locking to create the schema"))?;
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await
                .map_err(backend("creating the schema"))?;
            tx.commit().await.map_err(backend("creating the schema"))?;
            drop(client);
            let _ = task.await;
        }
        cfg.options(format!("-c search_path={schema}"));
        let manager = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(8)
            .build()
            .map_err(|e| Error::Backend(format!("postgres pool: {e}")))?;
        let s = Self {
            pool,
            schema: schema.to_string(),
        };
        migrate::migrate(&s).await?;
        Ok(s)
    }

    /// The schema it lives in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The newest migration applied.
    pub async fn schema_version(&self) -> Result<i64> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await
            .map_err(backend("reading the schema version"))?;
        Ok(row.get(0))
    }

    /// Drops the schema and everything in it (tests clean up with it).
    pub async fn drop_schema(self) -> Result<()> {
        let c = self.client().await?;
        c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .await
            .map_err(backend("dropping the schema"))
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }
}
