//! What every response owes a browser and a security reviewer: CORS
//! (tower-http's `CorsLayer`, from `[api] cors_origins`), security headers
//! (a Content-Security-Policy per kind of page, `nosniff`, no framing, no
//! referrer), and 5xx answers that say nothing of the backend — their detail
//! goes to the log under the request id the client is given.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{ApiSettings, error::ApiError};

/// The headers a browser may read from a cross-origin answer.
const EXPOSED: [&str; 6] = [
    "x-request-id",
    "x-next-cursor",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "retry-after",
];

/// The CORS layer for `cors_origins`, or `None` (same origin only) when the
/// list is empty. `*` lets any origin read answers to requests made *without*
/// credentials — never with them (browsers then refuse a credentialed answer);
/// only origins named in the list get `Access-Control-Allow-Credentials`.
/// A list holding `*` and names is `*` for all of them.
pub(crate) fn cors_layer(settings: &ApiSettings) -> Option<CorsLayer> {
    if settings.cors_origins.is_empty() {
        return None;
    }
    let base = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-api-key"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers(EXPOSED.map(HeaderName::from_static))
        .max_age(Duration::from_secs(600));
    if settings.cors_origins.iter().any(|o| o.trim() == "*") {
        return Some(base.allow_origin(AllowOrigin::any()));
    }
    let origins: Vec<HeaderValue> = settings
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim().trim_end_matches('/')).ok())
        .collect();
    Some(
        base.allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true),
    )
}

pub use carbon_service::settings::{check_cors_origins, check_trusted_proxies};

/// The Content-Security-Policy values, made once per server.
#[derive(Debug)]
pub(crate) struct Policies {
    hub: HeaderValue,
    docs: HeaderValue,
    other: HeaderValue,
    hsts: Option<HeaderValue>,
}

/// `'sha256-…'` of the text between the first `<tag>` and `</tag>` of `html`.
fn inline_hash(html: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let body = html
        .split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map_or("", |(body, _)| body);
    let digest = Sha256::digest(body.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

impl Policies {
    /// `oidc_origin`: the identity provider's origin, which the hub's sign-in
    /// page reads discovery from and exchanges its code at; `hsts` when served
    /// over TLS.
    pub(crate) fn new(docs_html: &str, oidc_origin: Option<&str>, hsts: bool) -> Self {
        let extra = oidc_origin.map(|o| format!(" {o}")).unwrap_or_default();
        let hub = format!(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'{extra}; \
             object-src 'none'; base-uri 'none'; form-action 'self'{extra}; frame-ancestors 'none'"
        );
        let docs = format!(
            "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; img-src 'self'; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            inline_hash(docs_html, "script"),
            inline_hash(docs_html, "style")
        );
        let value = |s: &str| {
            HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static("default-src 'none'"))
        };
        Self {
            hub: value(&hub),
            docs: value(&docs),
            other: HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
            hsts: hsts.then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains")),
        }
    }
}

/// The origin (`scheme://host[:port]`) of a URL.
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && !host.contains(['\'', ';', ' ', ',']))
        .then(|| format!("{scheme}://{host}"))
}

/// Sets the security headers on every response (unless a handler set its own).
pub(crate) async fn headers(State(p): State<Arc<Policies>>, req: Request, next: Next) -> Response {
    let docs = req.uri().path() == "/docs";
    let mut resp = next.run(req).await;
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let csp = match (docs, html) {
        (true, _) => p.docs.clone(),
        (false, true) => p.hub.clone(),
        _ => p.other.clone(),
    };
    let h = resp.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(csp);
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    if let Some(v) = &p.hsts {
        h.entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(v.clone());
    }
    resp
}

/// What a 5xx answer was about, kept for the log (never sent).
#[derive(Debug, Clone)]
pub(crate) struct Withheld {
    pub status: StatusCode,
    pub code: &'static str,
    pub public: String,
    pub detail: String,
}

/// Logs a withheld 5xx detail under the request id and puts the id in the
/// answer (`detail` and a `request_id` member), keeping the other headers.
pub(crate) fn finish_withheld(resp: Response, request_id: &str) -> Response {
    let Some(w) = resp.extensions().get::<Withheld>().cloned() else {
        return resp;
    };
    tracing::error!(
        request_id,
        status = w.status.as_u16(),
        code = w.code,
        detail = %w.detail,
        "request failed"
    );
    let (parts, _) = resp.into_parts();
    let mut fresh = ApiError {
        status: w.status,
        code: w.code,
        detail: format!("{} (request id {request_id})", w.public),
        param: None,
    }
    .problem_response(Some(request_id));
    for (name, value) in &parts.headers {
        if name != header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name, value.clone());
        }
    }
    fresh
}

/// A handler that panicked: a 500 whose detail (the panic message) is withheld.
pub(crate) fn panicked(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "a handler panicked".to_string());
    ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "internal",
        detail: format!("panic: {message}"),
        param: None,
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked() {
        assert!(check_cors_origins(&["*".into(), "https://hub.example.com".into()]).is_ok());
        assert!(check_cors_origins(&["http://127.0.0.1:5173/".into()]).is_ok());
        for bad in [
            "hub.example.com",
            "https://a.com/path",
            "ftp://x",
            "https://",
            "https://*.a.com",
        ] {
            let e = check_cors_origins(&[bad.into()]).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn inline_hash_is_sha256_of_the_element_text() {
        // sha256("x") in base64, computed independently (`printf x | openssl dgst -sha256 -binary | base64`).
        assert_eq!(
            inline_hash("<p><script>x</script>", "script"),
            "'sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE='"
        );
    }

    #[test]
    fn origin_of_urls() {
        assert_eq!(
            origin_of("https://idp.example.com:8443/realms/x").as_deref(),
            Some("https://idp.example.com:8443")
        );
        assert_eq!(origin_of("no scheme"), None);
    }
}
