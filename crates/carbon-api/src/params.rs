//! Query-string parameters: repeatable (`instrument_id=A&instrument_id=B`)
//! and comma-separated (`components=lmp,energy`) alike, percent-decoded, and
//! unknown names rejected so a typo never silently means "default".

use std::str::FromStr;

use crate::error::ApiError;

/// Decoded `name=value` pairs in order.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

fn decode(s: &str) -> Result<String, ApiError> {
    carbon_core::text::percent_decode(s).ok_or_else(|| {
        ApiError::param("query", format!("`{s}`: bad percent-encoding or not UTF-8"))
    })
}

impl Params {
    /// Parses a raw query string, accepting only `allowed` names.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut out = Vec::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode(k)?;
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::param(
                    &k,
                    format!(
                        "unknown parameter `{k}`; expected one of {}",
                        allowed.join(", ")
                    ),
                ));
            }
            out.push((k, decode(v)?));
        }
        Ok(Self(out))
    }

    /// The value of a single-valued parameter (the last one given).
    pub fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A required single-valued parameter.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.one(name)
            .ok_or_else(|| ApiError::param(name, format!("`{name}` is required")))
    }

    /// Every value of a repeatable, comma-separable parameter.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Parses an optional parameter with `FromStr`, naming it on failure.
    pub fn parsed<T: FromStr>(&self, name: &str) -> Result<Option<T>, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        self.one(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|e| ApiError::param(name, format!("`{v}`: {e}")))
            })
            .transpose()
    }

    /// Parses every value of a repeatable parameter.
    pub fn parsed_all<T: FromStr>(&self, name: &str) -> Result<Vec<T>, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        self.all(name)
            .into_iter()
            .map(|v| {
                v.parse::<T>()
                    .map_err(|e| ApiError::param(name, format!("`{v}`: {e}")))
            })
            .collect()
    }
}
