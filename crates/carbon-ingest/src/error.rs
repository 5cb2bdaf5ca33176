//! Errors.

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
        Self { source_name: source.to_string(), line, field: field.map(str::to_string), message }
    }
}
