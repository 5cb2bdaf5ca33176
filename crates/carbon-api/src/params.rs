//! Query strings: each route declares its parameters as a typed struct
//! (`Deserialize` + `utoipa::IntoParams`, `deny_unknown_fields`) read by
//! [`Query`] through `serde_html_form`, so the document and the parser are
//! the same type. Repeatable parameters take `name=a&name=b` and
//! `name=a,b` alike ([`list`]); an empty value of free text counts as
//! absent ([`text`]), of a closed set it is refused like any other word;
//! an unknown name, a malformed value or a single-valued parameter given
//! twice is a 400 naming the parameter.

use axum::{extract::FromRequestParts, http::request::Parts};
use serde::{Deserialize, Deserializer, de::DeserializeOwned};

use crate::error::ApiError;

/// A typed query string.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse(parts.uri.query().unwrap_or("")).map(Query)
    }
}

/// Reads `raw` as `T`, naming the parameter at fault.
pub(crate) fn parse<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    // The form decoder replaces what does not decode; a query that does not
    // decode is refused instead, so a value never silently changes.
    for part in raw.split(['&', '=']).filter(|p| p.contains('%')) {
        if carbon_core::text::percent_decode(part).is_none() {
            return Err(ApiError::param(
                "query",
                format!("`{part}`: bad percent-encoding or not UTF-8"),
            ));
        }
    }
    let de = serde_html_form::Deserializer::from_bytes(raw.as_bytes());
    serde_path_to_error::deserialize(de).map_err(|e| {
        let message = e.inner().to_string();
        if let Some(rest) = message.strip_prefix("unknown field `")
            && let Some((name, expected)) = rest.split_once('`')
        {
            let expected = expected
                .trim_start_matches(", expected one of ")
                .trim_start_matches(", expected ")
                .replace('`', "");
            let expected = if expected.starts_with(", there are no fields") {
                "none".to_string()
            } else {
                expected
            };
            return ApiError::param(
                name,
                format!("unknown parameter `{name}`; expected one of {expected}"),
            );
        }
        if let Some(rest) = message.strip_prefix("missing field `")
            && let Some((name, _)) = rest.split_once('`')
        {
            return ApiError::param(name, format!("`{name}` is required"));
        }
        let path = e.path().to_string();
        let name = path.split('.').find(|p| !p.is_empty()).unwrap_or("query");
        let message = if message == "unsupported value" {
            "given more than once; it takes one value".to_string()
        } else {
            message
        };
        ApiError::param(name, format!("`{name}`: {message}"))
    })
}

/// A single text value: trimmed, and absent when empty.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<String>::deserialize(d)?;
    Ok(v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
}

/// Every value of a repeatable, comma-separable parameter, trimmed, empties dropped.
pub(crate) fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    Ok(v.iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// Parses an optional text parameter with `FromStr`, naming it on failure.
pub(crate) fn parsed<T: std::str::FromStr>(
    name: &str,
    v: Option<&str>,
) -> Result<Option<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    v.map(|v| {
        v.parse::<T>()
            .map_err(|e| ApiError::param(name, format!("`{v}`: {e}")))
    })
    .transpose()
}

/// Parses every value of a repeatable parameter.
pub(crate) fn parsed_all<T: std::str::FromStr>(name: &str, v: &[String]) -> Result<Vec<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    v.iter()
        .map(|v| {
            v.parse::<T>()
                .map_err(|e| ApiError::param(name, format!("`{v}`: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Q {
        #[serde(default, deserialize_with = "text")]
        start: Option<String>,
        #[serde(default, deserialize_with = "list")]
        instrument_id: Vec<String>,
        limit: Option<u32>,
    }

    #[test]
    fn reads_repeated_and_comma_separated_values_and_names_bad_ones() {
        let q: Q = parse("instrument_id=A,B&instrument_id=C&start=&limit=5").unwrap();
        assert_eq!(q.instrument_id, ["A", "B", "C"]);
        assert_eq!(q.start, None);
        assert_eq!(q.limit, Some(5));
        let q: Q = parse("start=2025-01-01%2B01:00").unwrap();
        assert_eq!(q.start.as_deref(), Some("2025-01-01+01:00"));
        let e = parse::<Q>("limt=5").unwrap_err();
        assert_eq!(e.param.as_deref(), Some("limt"));
        assert!(
            e.detail.contains("start, instrument_id, limit"),
            "{}",
            e.detail
        );
        let e = parse::<Q>("limit=x").unwrap_err();
        assert_eq!(e.param.as_deref(), Some("limit"));
        assert!(
            e.detail.starts_with("`limit`: invalid digit"),
            "{}",
            e.detail
        );
        let e = parse::<Q>("start=a&start=b").unwrap_err();
        assert_eq!(e.param.as_deref(), Some("start"));
        assert!(e.detail.contains("more than once"), "{}", e.detail);
    }
}
