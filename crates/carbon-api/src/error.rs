//! The API's one error type and its one mapping to HTTP: RFC 9457
//! `application/problem+json` bodies naming the offending parameter. Bad input
//! is always 4xx; only failures of the platform itself are 5xx, and their
//! bodies say only "internal error" (or "unavailable") and the request id: the
//! detail is withheld for the log ([`crate::security`]).

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
            E::Conflict(_) => (StatusCode::CONFLICT, None),
            _ if e.is_user_error() => (StatusCode::UNPROCESSABLE_ENTITY, None),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, None),
        };
        Self {
            status,
            code: e.code(),
            detail: e.to_string(),
            param,
        }
    }
}

impl From<carbon_service::Error> for ApiError {
    fn from(e: carbon_service::Error) -> Self {
        use carbon_service::Error as E;
        match e {
            E::Invalid { param, message } => ApiError::param(&param, message),
            E::Unprocessable {
                code,
                param,
                message,
            } => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code,
                detail: message,
                param,
            },
            E::NotFound(d) => ApiError::not_found(d),
            E::Store(e) => e.into(),
            E::Internal(d) => ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "internal",
                detail: d,
                param: None,
            },
        }
    }
}

impl From<carbon_auth::Error> for ApiError {
    fn from(e: carbon_auth::Error) -> Self {
        use carbon_auth::Error as E;
        match e {
            E::Unauthenticated(d) => ApiError::unauthenticated(d),
            E::Forbidden(d) => ApiError::forbidden(d),
            E::IpNotAllowed(d) => ApiError {
                status: StatusCode::FORBIDDEN,
                code: "ip_not_allowed",
                detail: d,
                param: None,
            },
            E::Invalid { field, message } => ApiError::param(field, message),
            E::NotFound(d) => ApiError::not_found(d),
            E::Provider(d) => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "identity_provider_unavailable",
                detail: format!("the identity provider cannot be reached: {d}"),
                param: None,
            },
            E::Store(e) => e.into(),
            E::Crypto(d) => ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "internal",
                detail: format!("crypto failure: {d}"),
                param: None,
            },
        }
    }
}

/// The error body of every 4xx and 5xx answer (RFC 9457).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Problem<'a> {
    /// `https://254carbon.dev/problems/{code}`.
    #[serde(rename = "type")]
    kind: String,
    /// The HTTP reason phrase.
    title: &'a str,
    /// The HTTP status.
    status: u16,
    /// What went wrong, for people (a 5xx says only "internal error" or "unavailable").
    detail: &'a str,
    /// Stable machine-readable code (`invalid_parameter`, `not_found`, `forbidden`, …).
    code: &'a str,
    /// The parameter or body field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    param: Option<&'a str>,
    /// The request id (also in `X-Request-Id`), on 5xx answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// What a 5xx answer may say of itself: the platform's own words about
/// waiting (a timeout names the limit), nothing of the backend.
fn public_detail(status: StatusCode, code: &str, detail: &str) -> String {
    match code {
        "timeout" => detail.to_string(),
        "identity_provider_unavailable" => "the identity provider cannot be reached".into(),
        _ if status == StatusCode::SERVICE_UNAVAILABLE => "service unavailable; retry later".into(),
        _ => "internal error".into(),
    }
}

impl ApiError {
    /// The problem+json answer as it is sent, with `request_id` when known.
    pub(crate) fn problem_response(&self, request_id: Option<&str>) -> Response {
        let body = Problem {
            kind: format!("https://254carbon.dev/problems/{}", self.code),
            title: self.status.canonical_reason().unwrap_or("error"),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
            param: self.param.as_deref(),
            request_id,
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if !self.status.is_server_error() {
            return self.problem_response(None);
        }
        let public = public_detail(self.status, self.code, &self.detail);
        let withheld = crate::security::Withheld {
            status: self.status,
            code: self.code,
            public: public.clone(),
            detail: self.detail,
        };
        let mut resp = ApiError {
            status: self.status,
            code: self.code,
            detail: public,
            param: None,
        }
        .problem_response(None);
        resp.extensions_mut().insert(withheld);
        resp
    }
}
