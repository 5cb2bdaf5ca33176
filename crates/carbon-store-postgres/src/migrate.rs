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
    (
        4,
        "scenarios",
        r#"
-- Every save is a new version; a version is never updated or deleted.
CREATE TABLE scenario_versions (
    tenant       TEXT NOT NULL,
    scenario_id  TEXT NOT NULL,
    version      BIGINT NOT NULL,
    name         TEXT NOT NULL,
    market       TEXT NOT NULL,
    format       TEXT NOT NULL,
    document     TEXT NOT NULL,
    canonical    JSONB NOT NULL,
    hash         TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_utc  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, scenario_id, version)
);
CREATE TABLE scenario_runs (
    curve_run_id       TEXT PRIMARY KEY,
    tenant             TEXT NOT NULL,
    scenario_id        TEXT NOT NULL,
    version            BIGINT NOT NULL,
    base_run_id        TEXT NOT NULL,
    calibration_run_id TEXT NOT NULL,
    job_id             TEXT,
    created_by         TEXT NOT NULL,
    created_utc        TIMESTAMPTZ NOT NULL
);
CREATE INDEX scenario_runs_of ON scenario_runs (tenant, scenario_id, created_utc DESC);
"#,
    ),
    (
        5,
        "ingest run log",
        r#"
CREATE TABLE ingest_runs (
    id               TEXT PRIMARY KEY,
    connector        TEXT NOT NULL,
    source           TEXT NOT NULL,
    window_start_utc TIMESTAMPTZ,
    window_end_utc   TIMESTAMPTZ,
    started_utc      TIMESTAMPTZ NOT NULL,
    finished_utc     TIMESTAMPTZ,
    status           TEXT NOT NULL,
    rows_accepted    BIGINT NOT NULL,
    rows_unchanged   BIGINT NOT NULL,
    rows_rejected    BIGINT NOT NULL,
    error            TEXT,
    quality          JSONB
);
CREATE INDEX ingest_runs_recent ON ingest_runs (connector, started_utc DESC);
CREATE TABLE quarantine (
    run_id             TEXT NOT NULL,
    source             TEXT NOT NULL,
    source_row         BIGINT,
    instrument_id      TEXT,
    market_run         TEXT,
    interval_start_utc TIMESTAMPTZ,
    reason             TEXT NOT NULL,
    detail             JSONB,
    quarantined_utc    TIMESTAMPTZ NOT NULL
);
CREATE INDEX quarantine_of_run ON quarantine (run_id);
CREATE TABLE checkpoints (
    name        TEXT PRIMARY KEY,
    value       JSONB NOT NULL,
    updated_utc TIMESTAMPTZ NOT NULL
);
"#,
    ),
    (
        6,
        "directory and audit log",
        r#"
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_utc TIMESTAMPTZ NOT NULL,
    ip_allow    JSONB
);
CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    tenant        TEXT NOT NULL,
    password_hash TEXT NOT NULL,            -- argon2id PHC string
    roles         JSONB NOT NULL,
    disabled      BOOLEAN NOT NULL,
    created_utc   TIMESTAMPTZ NOT NULL
);
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    tenant        TEXT NOT NULL,
    owner         TEXT,
    name          TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,            -- only the SHA-256 of the secret
    created_utc   TIMESTAMPTZ NOT NULL,
    revoked_utc   TIMESTAMPTZ,
    expires_utc   TIMESTAMPTZ,
    last_used_utc TIMESTAMPTZ,
    ip_allow      JSONB
);
CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    market      TEXT NOT NULL,
    product     TEXT NOT NULL,
    channels    JSONB NOT NULL,
    instruments JSONB,
    start_date  DATE,
    end_date    DATE,
    created_utc TIMESTAMPTZ NOT NULL
);
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    public_jwk  JSONB NOT NULL,
    created_utc TIMESTAMPTZ NOT NULL,
    retired_utc TIMESTAMPTZ
);
-- Append-only, hash-chained; `detail` is the exact JSON text that was hashed.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    time_utc  TIMESTAMPTZ NOT NULL,
    actor     TEXT NOT NULL,
    tenant    TEXT,
    action    TEXT NOT NULL,
    target    TEXT,
    outcome   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
"#,
    ),
    (
        7,
        "research runs",
        r#"
CREATE TABLE research_runs (
    run_id        TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    subject       TEXT NOT NULL,
    model_version TEXT NOT NULL,
    status        TEXT NOT NULL,
    error         TEXT,
    created_by    TEXT NOT NULL,
    started_utc   TIMESTAMPTZ NOT NULL,
    finished_utc  TIMESTAMPTZ NOT NULL,
    params        JSONB NOT NULL,
    output        JSONB NOT NULL
);
CREATE INDEX research_runs_recent ON research_runs (started_utc DESC, run_id DESC);
"#,
    ),
    (
        8,
        "job leases",
        r#"
-- A running job's worker and how long its hold lasts (renewed while it runs).
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until TIMESTAMPTZ;
CREATE INDEX jobs_running ON jobs (lease_until) WHERE status = 'running';
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
