//! The middleware every request passes: request ids (and the withheld 5xx
//! detail logged under them), body size and timeout limits, metrics.

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::Utc;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{AppState, error::ApiError, security};

pub(crate) static REQUEST_SEQ: AtomicU64 = AtomicU64::new(0);

/// Echoes a sane incoming `X-Request-Id` or makes one; sets it on the response.
pub(crate) async fn request_id(req: Request, next: Next) -> Response {
    let incoming = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string);
    let id = incoming.unwrap_or_else(|| {
        format!(
            "{:x}-{:x}",
            Utc::now().timestamp_micros(),
            REQUEST_SEQ.fetch_add(1, Ordering::Relaxed)
        )
    });
    let resp = next.run(req).await;
    let mut resp = security::finish_withheld(resp, &id);
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// Body size (by `Content-Length`; longer streamed bodies are cut by the
/// body limit) and the request timeout (not for streams). A timeout is a 503:
/// the request was acceptable, the platform was too slow.
pub(crate) async fn limits(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > s.settings.body_limit_bytes) {
        return ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "body_too_large",
            detail: format!(
                "request bodies are limited to {} bytes",
                s.settings.body_limit_bytes
            ),
            param: None,
        }
        .into_response();
    }
    if req.uri().path().starts_with("/api/v1/stream") {
        return next.run(req).await;
    }
    match tokio::time::timeout(crate::timeout(&s.settings), next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "timeout",
            detail: format!(
                "the request took longer than {} s; narrow the query or page through it",
                s.settings.request_timeout_seconds
            ),
            param: None,
        }
        .into_response(),
    }
}

/// Counts every request by route template and status, and times it.
pub(crate) async fn observe(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().as_str().to_string();
    let t = std::time::Instant::now();
    let resp = next.run(req).await;
    s.metrics
        .observe(&method, &route, resp.status().as_u16(), t.elapsed());
    resp
}
