//! The crate's one error type.

use thiserror::Error;

/// Why a scenario could not be read, calibrated or applied.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ScenarioError {
    /// The document is malformed: the field, and where in the text.
    #[error("{0}")]
    Document(#[from] crate::dsl::DslError),
    /// An input is missing or unusable for what was asked (names which).
    #[error("{name}: {message}")]
    Input {
        /// The input, as the scenario or the API names it.
        name: String,
        /// What is wrong.
        message: String,
    },
}

impl ScenarioError {
    /// A [`ScenarioError::Input`].
    pub fn input(name: &str, message: impl Into<String>) -> Self {
        Self::Input {
            name: name.to_string(),
            message: message.into(),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, ScenarioError>;
