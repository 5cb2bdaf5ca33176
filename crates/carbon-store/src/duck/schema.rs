//! Schema migrations of the DuckDB backend, versioned in code.
//!
//! Each migration runs once, in its own transaction, in version order; the
//! applied versions are recorded in `schema_migrations`. A migration is never
//! edited after release: changes are new migrations.

/// (version, description, SQL).
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[(
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
)];

/// The newest schema version this build knows.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}
