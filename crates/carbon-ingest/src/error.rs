//! The error type of the ingestion crate.

/// A payload that cannot be read as a whole; nothing from it is stored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{source_name}{}{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default(), field.as_ref().map(|f| format!(", field {f}")).unwrap_or_default())]
pub struct ParseError {
    /// File path or URL.
    pub source_name: String,
    /// 1-based line (or record) number.
    pub line: Option<u64>,
    /// Column or field name.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    /// Builds a parse error.
    pub fn new(source: &str, line: Option<u64>, field: Option<&str>, message: String) -> Self {
        Self {
            source_name: source.to_string(),
            line,
            field: field.map(str::to_string),
            message,
        }
    }
}

/// Everything ingestion can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The payload is malformed (names file, line, field).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// OASIS answered with an XML report instead of data.
    #[error("{source_name}: OASIS returned no data: {} {message}", code.clone().unwrap_or_default())]
    Oasis {
        /// URL or file.
        source_name: String,
        /// `ERR_CODE`.
        code: Option<String>,
        /// `ERR_DESC`.
        message: String,
    },
    /// Fetching from a live source failed.
    #[error(transparent)]
    Fetch(#[from] crate::http::FetchError),
    /// A backfill or poll cannot be planned as asked (names the parameter).
    #[error("{0}")]
    Plan(String),
    /// A recognised file this version does not ingest.
    #[error("not ingested: {0}")]
    Unsupported(String),
    /// Reading a file failed.
    #[error("cannot read {0}")]
    Io(String),
    /// The store refused the batch.
    #[error(transparent)]
    Store(#[from] carbon_store::Error),
    /// A bug or a failed task.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result with the ingestion [`Error`] as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
