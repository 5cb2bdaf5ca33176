//! The error type of the storage crate.

/// Everything a [`crate::Store`] can fail with.
///
/// Errors are classified once ([`Error::is_user_error`], [`Error::code`]) so that
/// the API maps them to HTTP in a single place: user errors become 4xx problems
/// naming the parameter or row, internal ones a 500 without internals.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A domain value was invalid.
    #[error(transparent)]
    Domain(#[from] carbon_core::Error),
    /// A query parameter is unacceptable.
    #[error("invalid parameter `{param}`: {message}")]
    InvalidParameter {
        /// The parameter name (`start`, `cursor`, …).
        param: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// An instrument is not in the store.
    #[error("unknown instrument `{id}`{context}")]
    UnknownInstrument {
        /// The instrument id.
        id: String,
        /// Where it was referenced (e.g. ` (batch row 12, source x.csv:40)`).
        context: String,
    },
    /// A row of an append batch is invalid; nothing of the batch was stored.
    #[error("batch row {index} ({source_ref}): {message}; nothing from this batch was stored")]
    InvalidRow {
        /// 0-based position in the batch.
        index: usize,
        /// The row's provenance (`file:row`).
        source_ref: String,
        /// What is wrong.
        message: String,
    },
    /// A batch re-states an existing (instrument, run, interval, vintage) with
    /// different values. A vintage is immutable: a correction must carry a new vintage.
    #[error(
        "vintage conflict for {instrument} {market_run} interval {interval_start} vintage {vintage}: \
         the store already holds different values for this version ({detail}); nothing from this batch was stored"
    )]
    VintageConflict {
        /// Instrument id.
        instrument: String,
        /// Market run.
        market_run: String,
        /// Interval start (RFC 3339).
        interval_start: String,
        /// Vintage (RFC 3339).
        vintage: String,
        /// Stored vs new values.
        detail: String,
    },
    /// The data directory is held by another process (DuckDB allows one writer process).
    #[error(
        "the data directory {path} is in use by another carbon process{holder}. Stop it, or run this \
         command against the running server, or point --data-dir elsewhere"
    )]
    Busy {
        /// Database path.
        path: String,
        /// ` (pid N)` when known.
        holder: String,
    },
    /// The database was written by a newer version of carbon.
    #[error(
        "the database at {path} has schema version {found}; this carbon knows up to {known}. Upgrade carbon"
    )]
    SchemaTooNew {
        /// Database path.
        path: String,
        /// Version found on disk.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// A write that would replace what exists or lost a race (a scenario
    /// version saved twice): nothing was stored.
    #[error("{0}")]
    Conflict(String),
    /// A backend failure (I/O, SQL). Internal: never caused by user input.
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl Error {
    /// True when the caller's input caused the error (a 4xx), false for internal failures.
    pub fn is_user_error(&self) -> bool {
        !matches!(
            self,
            Error::Backend(_) | Error::Busy { .. } | Error::SchemaTooNew { .. }
        )
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Domain(_) => "invalid_value",
            Error::InvalidParameter { .. } => "invalid_parameter",
            Error::UnknownInstrument { .. } => "unknown_instrument",
            Error::InvalidRow { .. } => "invalid_row",
            Error::VintageConflict { .. } => "vintage_conflict",
            Error::Conflict(_) => "conflict",
            Error::Busy { .. } => "store_busy",
            Error::SchemaTooNew { .. } => "schema_too_new",
            Error::Backend(_) => "internal",
        }
    }

    /// Shorthand for [`Error::InvalidParameter`].
    pub fn param(param: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidParameter {
            param,
            message: message.into(),
        }
    }
}

impl From<duckdb::Error> for Error {
    fn from(e: duckdb::Error) -> Self {
        Error::Backend(e.to_string())
    }
}

/// Result with the storage [`Error`] as default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
