//! Schema migrations of the DuckDB backend, versioned in code.
//!
//! Each migration runs once, in its own transaction, in version order; the
//! applied versions are recorded in `schema_migrations`. A migration is never
//! edited after release: changes are new migrations.

/// (version, description, SQL).
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "instruments, observations with vintages, prices view",
        r#"
CREATE SEQUENCE instrument_key_seq START 1;

-- One row per priced location. `key` is the compact integer used by observations.
CREATE TABLE instruments (
    id          VARCHAR PRIMARY KEY,              -- '<ISO>.<node>'
    key         INTEGER NOT NULL UNIQUE DEFAULT nextval('instrument_key_seq'),
    market      VARCHAR NOT NULL,                 -- 'MISO', 'CAISO', ...
    node        VARCHAR NOT NULL,                 -- the ISO's node name
    kind        VARCHAR NOT NULL,                 -- hub, zone, interface, generator, aggregate, node
    name        VARCHAR,
    created_utc TIMESTAMP NOT NULL,
    updated_utc TIMESTAMP NOT NULL
);

-- Every published version of every interval. All TIMESTAMP columns are UTC.
-- A version is visible "as of" T when vintage_utc <= T and (superseded_utc IS NULL
-- or superseded_utc > T); superseded_utc is the vintage of the next version.
CREATE TABLE observations (
    instrument_key     INTEGER NOT NULL,
    market_run         VARCHAR NOT NULL,
    interval_start_utc TIMESTAMP NOT NULL,
    interval_end_utc   TIMESTAMP NOT NULL,
    vintage_utc        TIMESTAMP NOT NULL,
    superseded_utc     TIMESTAMP,
    lmp        DOUBLE,
    energy     DOUBLE,
    congestion DOUBLE,
    loss       DOUBLE,
    ghg        DOUBLE,
    source       VARCHAR NOT NULL,
    source_row   BIGINT,
    ingested_utc TIMESTAMP NOT NULL,
    CHECK (interval_end_utc > interval_start_utc),
    CHECK (superseded_utc IS NULL OR superseded_utc > vintage_utc)
);

-- Convenience for people opening the file in DuckDB's CLI, Python or R:
-- the latest version of every interval, with instrument ids.
CREATE VIEW prices AS
SELECT i.id AS instrument_id, i.market, o.market_run,
       o.interval_start_utc, o.interval_end_utc,
       o.lmp, o.energy, o.congestion, o.loss, o.ghg,
       o.vintage_utc, o.source, o.source_row
FROM observations o JOIN instruments i ON i.key = o.instrument_key
WHERE o.superseded_utc IS NULL;
"#,
    ),
    (
        2,
        "ingest runs, quarantine, checkpoints",
        r#"
-- One row per ingest run (a payload fetched or a file read, and what became of it).
CREATE TABLE ingest_runs (
    id            VARCHAR PRIMARY KEY,
    connector     VARCHAR NOT NULL,       -- 'miso', 'caiso', 'file'
    source        VARCHAR NOT NULL,       -- URL or path
    window_start_utc TIMESTAMP,
    window_end_utc   TIMESTAMP,
    started_utc   TIMESTAMP NOT NULL,
    finished_utc  TIMESTAMP,
    status        VARCHAR NOT NULL,       -- running, ok, partial, failed, unreachable, no_data
    rows_accepted BIGINT NOT NULL DEFAULT 0,
    rows_unchanged BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    error         VARCHAR,
    quality       VARCHAR                 -- JSON: data-quality findings
);

-- Rows rejected by data quality, with the reason; never in `observations`.
CREATE TABLE quarantine (
    run_id        VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    source_row    BIGINT,
    instrument_id VARCHAR,
    market_run    VARCHAR,
    interval_start_utc TIMESTAMP,
    reason        VARCHAR NOT NULL,
    detail        VARCHAR,                -- JSON: the rejected values
    quarantined_utc TIMESTAMP NOT NULL
);

-- Resume points of connectors and backfills (JSON values).
CREATE TABLE checkpoints (
    name        VARCHAR PRIMARY KEY,
    value       VARCHAR NOT NULL,
    updated_utc TIMESTAMP NOT NULL
);
"#,
    ),
    (
        3,
        "compaction bookkeeping",
        r#"
-- UTC months of `observations` rewritten in series order (instrument, run,
-- interval, vintage), and what they held then; a month whose row count or
-- newest ingest time has changed since is compacted again.
CREATE TABLE compactions (
    period_start_utc TIMESTAMP PRIMARY KEY,
    rows             BIGINT NOT NULL,
    max_ingested_utc TIMESTAMP NOT NULL,
    compacted_utc    TIMESTAMP NOT NULL
);
"#,
    ),
    (
        4,
        "identity, entitlements, signing keys, audit log",
        r#"
CREATE TABLE tenants (
    id          VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL,
    created_utc TIMESTAMP NOT NULL
);

-- Built-in identity. password_hash is an argon2id PHC string.
CREATE TABLE users (
    username      VARCHAR PRIMARY KEY,
    tenant        VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    roles         VARCHAR NOT NULL,       -- JSON array
    disabled      BOOLEAN NOT NULL,
    created_utc   TIMESTAMP NOT NULL
);

-- API keys: only the SHA-256 of the secret is kept.
CREATE TABLE api_keys (
    id          VARCHAR PRIMARY KEY,
    tenant      VARCHAR NOT NULL,
    owner       VARCHAR,
    name        VARCHAR NOT NULL,
    secret_hash VARCHAR NOT NULL,
    created_utc TIMESTAMP NOT NULL,
    revoked_utc TIMESTAMP
);

-- Entitlements: tenant x market x product x channels x instruments x dates.
CREATE TABLE grants (
    id          VARCHAR PRIMARY KEY,
    tenant      VARCHAR NOT NULL,
    market      VARCHAR NOT NULL,         -- code or '*'
    product     VARCHAR NOT NULL,         -- lmp, curves, ... or '*'
    channels    VARCHAR NOT NULL,         -- JSON array
    instruments VARCHAR,                  -- JSON array, NULL = all
    start_date  DATE,
    end_date    DATE,
    created_utc TIMESTAMP NOT NULL
);

-- Keys the server signs session tokens with (published as JWKS).
CREATE TABLE signing_keys (
    kid         VARCHAR PRIMARY KEY,
    alg         VARCHAR NOT NULL,
    private_pem VARCHAR NOT NULL,
    public_jwk  VARCHAR NOT NULL,
    created_utc TIMESTAMP NOT NULL
);

-- Append-only security events, hash-chained (see directory.rs).
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    time_utc  TIMESTAMP NOT NULL,
    actor     VARCHAR NOT NULL,
    tenant    VARCHAR,
    action    VARCHAR NOT NULL,
    target    VARCHAR,
    outcome   VARCHAR NOT NULL,
    detail    VARCHAR NOT NULL,           -- JSON
    prev_hash VARCHAR NOT NULL,
    hash      VARCHAR NOT NULL
);

-- The newest (seq, hash) of audit_log, so a truncated tail is detected.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash VARCHAR NOT NULL
);
"#,
    ),
    (
        5,
        "forward curves: runs with lineage, points with delivery periods",
        r#"
-- One record per curve build (failed builds too, without points).
CREATE TABLE curve_runs (
    run_id       VARCHAR PRIMARY KEY,
    curve_id     VARCHAR NOT NULL,
    scenario_id  VARCHAR NOT NULL,
    as_of_date   DATE NOT NULL,
    market       VARCHAR NOT NULL,
    granularity  VARCHAR NOT NULL,
    input_hash   VARCHAR NOT NULL,
    status       VARCHAR NOT NULL,          -- succeeded | failed
    error        VARCHAR,
    created_by   VARCHAR NOT NULL,
    started_utc  TIMESTAMP NOT NULL,
    finished_utc TIMESTAMP NOT NULL,
    points       BIGINT NOT NULL,
    request      VARCHAR NOT NULL,          -- JSON
    report       VARCHAR NOT NULL           -- JSON
);
CREATE INDEX curve_runs_curve ON curve_runs (curve_id, as_of_date, scenario_id);

-- The points of each successful build, with real delivery periods (UTC).
CREATE TABLE curve_points (
    run_id             VARCHAR NOT NULL,
    delivery_start_utc TIMESTAMP NOT NULL,
    delivery_end_utc   TIMESTAMP NOT NULL,
    tenor              VARCHAR NOT NULL,
    price              DOUBLE NOT NULL,
    PRIMARY KEY (run_id, delivery_start_utc)
);

-- For readers of the file: every point of every successful run with its
-- curve, scenario and trade date (a view to read; builds write the tables).
CREATE VIEW forward_curves AS
SELECT r.curve_id, r.scenario_id, r.as_of_date, r.market, r.granularity, p.run_id,
       p.delivery_start_utc, p.delivery_end_utc, p.tenor, p.price
FROM curve_points p JOIN curve_runs r USING (run_id)
WHERE r.status = 'succeeded';
"#,
    ),
    (
        6,
        "fundamentals with vintages; research outputs",
        r#"
-- Fundamentals: one value of one variable of one entity over one interval,
-- per vintage (a later vintage revises; queries read as of an instant).
CREATE TABLE fundamentals (
    entity             VARCHAR NOT NULL,
    variable           VARCHAR NOT NULL,
    scenario_id        VARCHAR NOT NULL,
    interval_start_utc TIMESTAMP NOT NULL,
    interval_end_utc   TIMESTAMP NOT NULL,
    vintage_utc        TIMESTAMP NOT NULL,
    value              DOUBLE NOT NULL,
    unit               VARCHAR NOT NULL,
    source             VARCHAR NOT NULL,
    PRIMARY KEY (entity, variable, scenario_id, interval_start_utc, vintage_utc)
);

-- Stored research outputs (decompositions, regimes, balances, weather fits,
-- backtests) with their parameters and model version.
CREATE TABLE research_runs (
    run_id        VARCHAR PRIMARY KEY,
    kind          VARCHAR NOT NULL,
    subject       VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,          -- succeeded | failed
    error         VARCHAR,
    created_by    VARCHAR NOT NULL,
    started_utc   TIMESTAMP NOT NULL,
    finished_utc  TIMESTAMP NOT NULL,
    params        VARCHAR NOT NULL,          -- JSON
    output        VARCHAR NOT NULL           -- JSON
);
CREATE INDEX research_runs_kind ON research_runs (kind, subject, started_utc);
"#,
    ),
    (
        7,
        "IP allowlists; API key expiry and last use; signing-key retirement",
        r#"
-- CIDR lists (JSON arrays); NULL means no limit.
ALTER TABLE tenants ADD COLUMN ip_allow VARCHAR;
ALTER TABLE api_keys ADD COLUMN expires_utc TIMESTAMP;
ALTER TABLE api_keys ADD COLUMN last_used_utc TIMESTAMP;
ALTER TABLE api_keys ADD COLUMN ip_allow VARCHAR;
-- A retired key signs nothing; its tokens verify until they expire.
ALTER TABLE signing_keys ADD COLUMN retired_utc TIMESTAMP;
"#,
    ),
    (
        8,
        "durable jobs",
        r#"
-- Work that outlives a request: queued, claimed by one worker, ended once.
CREATE TABLE jobs (
    id               VARCHAR PRIMARY KEY,
    kind             VARCHAR NOT NULL,
    spec             VARCHAR NOT NULL,          -- JSON
    tenant           VARCHAR NOT NULL,
    owner            VARCHAR NOT NULL,
    status           VARCHAR NOT NULL,          -- queued | running | succeeded | failed | cancelled
    progress         DOUBLE NOT NULL,
    message          VARCHAR NOT NULL,
    created_utc      TIMESTAMP NOT NULL,
    started_utc      TIMESTAMP,
    finished_utc     TIMESTAMP,
    result           VARCHAR,                   -- JSON
    error            VARCHAR,
    cancel_requested BOOLEAN NOT NULL,
    attempts         BIGINT NOT NULL
);
"#,
    ),
    (
        9,
        "scenarios: immutable versions and runs",
        r#"
-- Every save is a new version; a version is never updated or deleted.
CREATE TABLE scenario_versions (
    tenant       VARCHAR NOT NULL,
    scenario_id  VARCHAR NOT NULL,
    version      BIGINT NOT NULL,
    name         VARCHAR NOT NULL,
    market       VARCHAR NOT NULL,
    format       VARCHAR NOT NULL,          -- yaml | json
    document     VARCHAR NOT NULL,
    canonical    VARCHAR NOT NULL,          -- JSON
    hash         VARCHAR NOT NULL,
    created_by   VARCHAR NOT NULL,
    created_utc  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant, scenario_id, version)
);
CREATE TABLE scenario_runs (
    curve_run_id       VARCHAR PRIMARY KEY,
    tenant             VARCHAR NOT NULL,
    scenario_id        VARCHAR NOT NULL,
    version            BIGINT NOT NULL,
    base_run_id        VARCHAR NOT NULL,
    calibration_run_id VARCHAR NOT NULL,
    job_id             VARCHAR,
    created_by         VARCHAR NOT NULL,
    created_utc        TIMESTAMP NOT NULL
);
"#,
    ),
    (
        10,
        "exports",
        r#"
-- A tenant's export: what was asked, and once every part is written, its manifest.
CREATE TABLE exports (
    id              VARCHAR PRIMARY KEY,
    tenant          VARCHAR NOT NULL,
    owner           VARCHAR NOT NULL,
    job_id          VARCHAR,
    dataset         VARCHAR NOT NULL,
    format          VARCHAR NOT NULL,
    gzip            BOOLEAN NOT NULL,
    spec            VARCHAR NOT NULL,          -- JSON
    status          VARCHAR NOT NULL,          -- queued | running | succeeded | failed | cancelled | expired
    idempotency_key VARCHAR,
    created_utc     TIMESTAMP NOT NULL,
    finished_utc    TIMESTAMP,
    expires_utc     TIMESTAMP NOT NULL,
    rows            BIGINT NOT NULL,
    bytes           BIGINT NOT NULL,
    manifest        VARCHAR,                   -- JSON
    error           VARCHAR,
    UNIQUE (tenant, idempotency_key)
);
"#,
    ),
    (
        11,
        "feeds",
        r#"
-- A tenant's scheduled feed and the scheduler's state of it.
CREATE TABLE feeds (
    id               VARCHAR PRIMARY KEY,
    tenant           VARCHAR NOT NULL,
    owner            VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    spec             VARCHAR NOT NULL,         -- JSON
    enabled          BOOLEAN NOT NULL,
    created_utc      TIMESTAMP NOT NULL,
    next_due_utc     TIMESTAMP NOT NULL,
    last_run_utc     TIMESTAMP,
    last_success_utc TIMESTAMP,
    last_error       VARCHAR,
    failures         BIGINT NOT NULL,
    runs             BIGINT NOT NULL,
    UNIQUE (tenant, name)
);
"#,
    ),
    (
        12,
        "job leases",
        r#"
-- A running job's worker and how long its hold lasts (renewed while it runs).
ALTER TABLE jobs ADD COLUMN lease_owner VARCHAR;
ALTER TABLE jobs ADD COLUMN lease_until TIMESTAMP;
"#,
    ),
];

/// The newest schema version this build knows.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}
