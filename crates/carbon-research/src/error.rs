//! The crate's one error type.

use thiserror::Error;

/// Why an analysis could not run. Each variant names the input at fault.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ResearchError {
    /// A parameter is out of range or inconsistent with the others.
    #[error("parameter `{name}`: {message}")]
    Parameter {
        /// The parameter's name as the CLI/API spells it.
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// The series is too short for what was asked.
    #[error("series too short: {message}")]
    TooShort {
        /// What length was needed and what was given.
        message: String,
    },
    /// A missing or non-finite value where the method needs a complete series.
    #[error("gap in the series at index {index}{at}: {message}")]
    Gap {
        /// Position in the series.
        index: usize,
        /// The time stamp at that position, when known (" (2021-02-14T06:00Z)").
        at: String,
        /// What was found.
        message: String,
    },
    /// The design matrix has no unique least-squares solution.
    #[error("singular design matrix: {message}")]
    Singular {
        /// Which columns are collinear or constant.
        message: String,
    },
    /// An iterative fit did not converge from any start.
    #[error("no convergence: {message}")]
    NoConvergence {
        /// What was tried.
        message: String,
    },
}

impl ResearchError {
    /// A [`ResearchError::Parameter`].
    pub fn param(name: &str, message: impl Into<String>) -> Self {
        Self::Parameter {
            name: name.to_string(),
            message: message.into(),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, ResearchError>;

/// Every value finite, or a [`ResearchError::Gap`] naming the first that is not.
pub fn require_finite(y: &[f64]) -> Result<()> {
    match y.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(ResearchError::Gap {
            index,
            at: String::new(),
            message: format!("value {} (fill or drop the gap first)", y[index]),
        }),
    }
}
