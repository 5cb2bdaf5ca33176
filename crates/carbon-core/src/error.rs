//! The error type of the domain crate.

use chrono::NaiveDate;

/// Everything that can go wrong while building or checking a domain value.
///
/// Every variant is a *user* error: the domain crate does no I/O, so a failure
/// always means that some input was not acceptable. Messages name the offending
/// value and say what was expected.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// A textual value could not be parsed as the named kind of thing.
    #[error("unknown {kind} `{value}`; expected one of: {expected}")]
    Unknown {
        /// What was being parsed (`market`, `market run`, `block`, …).
        kind: &'static str,
        /// The rejected text.
        value: String,
        /// The accepted spellings.
        expected: String,
    },
    /// An instrument id is not of the form `<ISO>.<node>`.
    #[error("invalid instrument id `{value}`: {reason}")]
    InvalidInstrumentId {
        /// The rejected text.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An hour-ending (or hour ordinal) does not exist on that market day.
    #[error("hour {hour} does not exist on {date} in {market} ({hours} hours that day){detail}")]
    InvalidHour {
        /// Market code.
        market: &'static str,
        /// The market day.
        date: NaiveDate,
        /// The rejected hour (ending or ordinal).
        hour: u32,
        /// How many hours the day has.
        hours: u32,
        /// Extra detail, already prefixed with `: ` when non-empty.
        detail: String,
    },
    /// An observation breaks an invariant (interval order, values).
    #[error("invalid observation for {instrument} at {start}: {reason}")]
    InvalidObservation {
        /// The instrument id.
        instrument: String,
        /// The interval start, RFC 3339.
        start: String,
        /// What is wrong.
        reason: String,
    },
    /// A time range is empty or inverted.
    #[error("invalid time range: start {start} must be before end {end}")]
    InvalidRange {
        /// Range start as given.
        start: String,
        /// Range end as given.
        end: String,
    },
    /// A date or time could not be parsed.
    #[error("invalid time `{value}`: {reason}")]
    InvalidTime {
        /// The rejected text.
        value: String,
        /// What was expected.
        reason: String,
    },
}

/// Result with the domain [`Error`] as default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Builds an [`Error::Unknown`] from the list of accepted names.
pub(crate) fn unknown(kind: &'static str, value: &str, expected: &[&str]) -> Error {
    Error::Unknown {
        kind,
        value: value.to_string(),
        expected: expected.join(", "),
    }
}
