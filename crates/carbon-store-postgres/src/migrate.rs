//! Versioned migrations: applied in order inside one transaction holding an
//! advisory lock, each recorded in `schema_migrations` — two processes
//! starting at once apply each migration once; a database written by a newer
//! build is refused.

use carbon_store::{Error, Result};

use crate::{PgStore, backend};

/// (version, name, SQL). Append only: a released migration never changes.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "jobs",
        r#"
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    spec             JSONB NOT NULL,
    tenant           TEXT NOT NULL,
    owner            TEXT NOT NULL,
    status           TEXT NOT NULL,            -- queued | running | succeeded | failed | cancelled
    progress         DOUBLE PRECISION NOT NULL,
    message          TEXT NOT NULL,
    created_utc      TIMESTAMPTZ NOT NULL,
    started_utc      TIMESTAMPTZ,
    finished_utc     TIMESTAMPTZ,
    result           JSONB,
    error            TEXT,
    cancel_requested BOOLEAN NOT NULL,
    attempts         BIGINT NOT NULL
);
CREATE INDEX jobs_queued ON jobs (created_utc, id) WHERE status = 'queued';
CREATE INDEX jobs_tenant ON jobs (tenant, created_utc DESC);
"#,
    ),
    (
        2,
        "exports",
        r#"
CREATE TABLE exports (
    id              TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    owner           TEXT NOT NULL,
    job_id          TEXT,
    dataset         TEXT NOT NULL,
    format          TEXT NOT NULL,
    gzip            BOOLEAN NOT NULL,
    spec            JSONB NOT NULL,
    status          TEXT NOT NULL,
    idempotency_key TEXT,
    created_utc     TIMESTAMPTZ NOT NULL,
    finished_utc    TIMESTAMPTZ,
    expires_utc     TIMESTAMPTZ NOT NULL,
    rows            BIGINT NOT NULL,
    bytes           BIGINT NOT NULL,
    manifest        JSONB,
    error           TEXT,
    UNIQUE (tenant, idempotency_key)
);
CREATE INDEX exports_tenant ON exports (tenant, created_utc DESC);
"#,
    ),
    (
        3,
        "feeds",
        r#"
CREATE TABLE feeds (
    id               TEXT PRIMARY KEY,
    tenant           TEXT NOT NULL,
    owner            TEXT NOT NULL,
    name             TEXT NOT NULL,
    spec             JSONB NOT NULL,
    enabled          BOOLEAN NOT NULL,
    created_utc      TIMESTAMPTZ NOT NULL,
    next_due_utc     TIMESTAMPTZ NOT NULL,
    last_run_utc     TIMESTAMPTZ,
    last_success_utc TIMESTAMPTZ,
    last_error       TEXT,
    failures         BIGINT NOT NULL,
    runs             BIGINT NOT NULL,
    UNIQUE (tenant, name)
);
"#,
    ),
];

/// The newest version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

pub(crate) async fn migrate(s: &PgStore) -> Result<()> {
    let mut c = s.client().await?;
    let tx = c
        .transaction()
        .await
        .map_err(backend("starting the migration"))?;
    // One migrator at a time per schema.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('carbon-migrations:' || current_schema()))",
        &[],
    )
    .await
    .map_err(backend("locking for the migration"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_utc TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .map_err(backend("creating schema_migrations"))?;
    let found: i64 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(backend("reading the schema version"))?
        .get(0);
    if found > latest() {
        return Err(Error::SchemaTooNew {
            path: format!("postgres schema {}", s.schema()),
            found,
            known: latest(),
        });
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        tx.batch_execute(sql)
            .await
            .map_err(backend(&format!("migration {version} ({name})")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await
        .map_err(backend("recording a migration"))?;
    }
    tx.commit()
        .await
        .map_err(backend("committing the migration"))
}
