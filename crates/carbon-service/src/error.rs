//! The services' one error type, classified once: the API maps it to HTTP in
//! `carbon-api/src/error.rs`, the CLI to exit codes in `carbon-cli`.

/// Everything a service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, naming the parameter (HTTP 400, exit 2).
    #[error("{message}")]
    Invalid {
        /// The parameter (or body field) at fault.
        param: String,
        /// What is wrong with it.
        message: String,
    },
    /// Well-formed input the service cannot act on: no data in the range, a
    /// series too large, an analysis that does not converge (HTTP 422, exit 2).
    #[error("{message}")]
    Unprocessable {
        /// Stable code (`no_data`, `too_large`, `analysis_failed`, …).
        code: &'static str,
        /// The parameter it concerns, when one does.
        param: Option<String>,
        /// What went wrong, for people.
        message: String,
    },
    /// Something named does not exist (HTTP 404, exit 2).
    #[error("{0}")]
    NotFound(String),
    /// The store failed (classified by the store: user error or internal).
    #[error(transparent)]
    Store(#[from] carbon_store::Error),
    /// A failure of the platform itself (HTTP 500, exit 1).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn param(param: &str, message: impl Into<String>) -> Self {
        Error::Invalid {
            param: param.to_string(),
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }

    /// Shorthand for [`Error::Unprocessable`].
    pub fn unprocessable(
        code: &'static str,
        param: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Error::Unprocessable {
            code,
            param: param.map(str::to_string),
            message: message.into(),
        }
    }

    /// True when the caller's input is at fault (4xx; exit 2), false for a
    /// failure of the platform.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Invalid { .. } | Error::Unprocessable { .. } | Error::NotFound(_) => true,
            Error::Store(e) => e.is_user_error(),
            Error::Internal(_) => false,
        }
    }

    /// The same error with `suffix` appended to its message (user errors
    /// only; others are returned as they are).
    pub fn with_suffix(self, suffix: &str) -> Self {
        match self {
            Error::Invalid { param, message } => Error::Invalid {
                param,
                message: format!("{message}{suffix}"),
            },
            Error::Unprocessable {
                code,
                param,
                message,
            } => Error::Unprocessable {
                code,
                param,
                message: format!("{message}{suffix}"),
            },
            Error::NotFound(m) => Error::NotFound(format!("{m}{suffix}")),
            other => other,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
