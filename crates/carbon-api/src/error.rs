//! The API's one error type and its one mapping to HTTP: RFC 9457
//! `application/problem+json` bodies naming the offending parameter. Bad input
//! is always 4xx; only failures of the platform itself are 5xx.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// An API error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`invalid_parameter`, `not_found`, …).
    pub code: &'static str,
    /// What went wrong, for people.
    pub detail: String,
    /// The query parameter at fault, when one is.
    pub param: Option<String>,
}

impl ApiError {
    /// 400 naming a parameter.
    pub fn param(name: &str, detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_parameter",
            detail: detail.into(),
            param: Some(name.to_string()),
        }
    }

    /// 401.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthenticated",
            detail: detail.into(),
            param: None,
        }
    }

    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            detail: detail.into(),
            param: None,
        }
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            detail: detail.into(),
            param: None,
        }
    }
}

impl From<carbon_store::Error> for ApiError {
    fn from(e: carbon_store::Error) -> Self {
        use carbon_store::Error as E;
        let (status, param) = match &e {
            E::UnknownInstrument { .. } => {
                (StatusCode::NOT_FOUND, Some("instrument_id".to_string()))
            }
            E::InvalidParameter { param, .. } => (StatusCode::BAD_REQUEST, Some(param.to_string())),
            E::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, None),
            _ if e.is_user_error() => (StatusCode::UNPROCESSABLE_ENTITY, None),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, None),
        };
        if status.is_server_error() {
            tracing::error!(error = %e, "store failure");
        }
        Self {
            status,
            code: e.code(),
            detail: e.to_string(),
            param,
        }
    }
}

impl From<carbon_auth::Error> for ApiError {
    fn from(e: carbon_auth::Error) -> Self {
        use carbon_auth::Error as E;
        match e {
            E::Unauthenticated(d) => ApiError::unauthenticated(d),
            E::Forbidden(d) => ApiError::forbidden(d),
            E::Invalid { field, message } => ApiError::param(field, message),
            E::NotFound(d) => ApiError::not_found(d),
            E::Provider(d) => {
                tracing::warn!(error = %d, "identity provider unavailable");
                ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "identity_provider_unavailable",
                    detail: format!("the identity provider cannot be reached: {d}"),
                    param: None,
                }
            }
            E::Store(e) => e.into(),
            E::Crypto(d) => {
                tracing::error!(error = %d, "crypto failure");
                ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal",
                    detail: "internal error".into(),
                    param: None,
                }
            }
        }
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    param: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("https://254carbon.dev/problems/{}", self.code),
            title: self.status.canonical_reason().unwrap_or("error"),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
            param: self.param.as_deref(),
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"carbon\""),
            );
        }
        resp
    }
}
