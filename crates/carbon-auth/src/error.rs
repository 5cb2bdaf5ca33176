//! The error type of the access crate, classified once for the API's mapping.

/// Everything authentication, administration and policy can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No credentials, or credentials that prove nothing (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but the policy says no (403).
    #[error("{0}")]
    Forbidden(String),
    /// The client's address is outside an IP allowlist (403), naming the
    /// list and the address.
    #[error("{0}")]
    IpNotAllowed(String),
    /// An administrative request is malformed (400), naming the field.
    #[error("invalid `{field}`: {message}")]
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Something named does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The identity provider could not be reached or answered nonsense (503).
    #[error("identity provider: {0}")]
    Provider(String),
    /// The directory (store) failed.
    #[error(transparent)]
    Store(#[from] carbon_store::Error),
    /// A key or hash could not be produced (internal).
    #[error("crypto: {0}")]
    Crypto(String),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
