//! The polite HTTP client every live connector fetches through.
//!
//! - **Offline switch**: with `offline = true` no request leaves the process;
//!   every fetch fails with [`FetchErrorKind::Offline`].
//! - **Spacing**: at least `spacing` between the starts of two requests made by
//!   the same client (OASIS asks for ≈ 5 s), retries included.
//! - **Retries**: 429 and 5xx answers and transport failures (refused, timed
//!   out, truncated body) are retried with exponential backoff; a `Retry-After`
//!   in seconds is honoured (capped by `max_backoff`).
//! - **Timeouts**: connect and whole-request timeouts.
//! - **Integrity**: a body shorter than its `Content-Length` is an error, never
//!   parsed.
//!
//! Blocking by design (ureq): connectors call it from `spawn_blocking`.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::runner::Payload;

/// Settings of the HTTP client (the `[http]` table of `carbon.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// No outbound requests at all.
    pub offline: bool,
    /// Whole-request timeout, seconds.
    pub timeout_secs: f64,
    /// Connect timeout, seconds.
    pub connect_timeout_secs: f64,
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff, seconds (doubled on each retry).
    pub backoff_secs: f64,
    /// Longest wait between attempts, seconds.
    pub max_backoff_secs: f64,
    /// Largest body accepted, bytes.
    pub max_body_bytes: u64,
    /// `User-Agent` sent with every request.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            offline: false,
            timeout_secs: 120.0,
            connect_timeout_secs: 15.0,
            retries: 3,
            backoff_secs: 5.0,
            max_backoff_secs: 120.0,
            max_body_bytes: 1 << 30,
            user_agent: concat!("254carbon/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// Why a fetch failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchErrorKind {
    /// Outbound requests are switched off (`--offline`).
    Offline,
    /// DNS, refused or reset connection: the source cannot be reached.
    Unreachable,
    /// No complete answer within the timeout.
    Timeout,
    /// The body ended before its `Content-Length`.
    Truncated,
    /// 404/410: nothing published at that address (yet).
    NotFound,
    /// Any other non-success status after the retries.
    Status(u16),
    /// Anything else (TLS, protocol, body too large).
    Other,
}

/// A failed fetch, naming the URL and the attempts made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{url}: {message} (after {attempts} attempt{})", if *attempts == 1 { "" } else { "s" })]
pub struct FetchError {
    /// The URL.
    pub url: String,
    /// The kind.
    pub kind: FetchErrorKind,
    /// Details.
    pub message: String,
    /// Attempts made.
    pub attempts: u32,
}

impl FetchError {
    fn retryable(&self) -> bool {
        match self.kind {
            FetchErrorKind::Unreachable | FetchErrorKind::Timeout | FetchErrorKind::Truncated => {
                true
            }
            FetchErrorKind::Status(s) => s == 429 || s >= 500,
            _ => false,
        }
    }
}

/// One spaced, retrying HTTP client. Share it (`Arc`) between the connectors
/// that hit the same host so spacing holds across them.
pub struct HttpClient {
    agent: ureq::Agent,
    config: HttpConfig,
    spacing: Duration,
    last_start: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.config)
            .field("spacing", &self.spacing)
            .finish()
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

impl HttpClient {
    /// A client leaving at least `spacing` between request starts.
    pub fn new(config: HttpConfig, spacing: Duration) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(secs(config.timeout_secs)))
            .timeout_connect(Some(secs(config.connect_timeout_secs)))
            .http_status_as_error(false)
            .user_agent(config.user_agent.as_str())
            .build()
            .into();
        Self {
            agent,
            config,
            spacing,
            last_start: Mutex::new(None),
        }
    }

    /// Whether outbound requests are off.
    pub fn offline(&self) -> bool {
        self.config.offline
    }

    /// GETs `url` with query parameters, spaced and retried.
    pub fn get(&self, url: &str, query: &[(&str, String)]) -> Result<Payload, FetchError> {
        let full = with_query(url, query);
        // What logs, errors and provenance show: never an API key.
        let shown = redact(&full);
        if self.config.offline {
            return Err(FetchError {
                url: shown,
                kind: FetchErrorKind::Offline,
                message: "outbound requests are off (--offline)".into(),
                attempts: 0,
            });
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.wait_turn();
            let (result, retry_after) = self.attempt(&full);
            match result {
                Ok(mut p) => {
                    p.source = shown;
                    return Ok(p);
                }
                Err(mut e) => {
                    e.attempts = attempt;
                    e.url = shown.clone();
                    e.message = redact(&e.message);
                    if !e.retryable() || attempt > self.config.retries {
                        return Err(e);
                    }
                    let backoff = secs(self.config.backoff_secs) * 2u32.pow(attempt - 1);
                    let wait = retry_after
                        .unwrap_or(backoff)
                        .min(secs(self.config.max_backoff_secs));
                    tracing::warn!(url = %shown, attempt, error = %e.message, wait_ms = wait.as_millis() as u64, "retrying");
                    std::thread::sleep(wait);
                }
            }
        }
    }

    fn wait_turn(&self) {
        let mut last = self.last_start.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = *last {
            let next = t + self.spacing;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        }
        *last = Some(Instant::now());
    }

    fn attempt(&self, url: &str) -> (Result<Payload, FetchError>, Option<Duration>) {
        let fail = |kind, message: String| FetchError {
            url: url.to_string(),
            kind,
            message,
            attempts: 1,
        };
        let fetched_at = Utc::now();
        let mut resp = match self.agent.get(url).call() {
            Ok(r) => r,
            Err(e) => return (Err(fail(transport_kind(&e), e.to_string())), None),
        };
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header("retry-after")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(secs);
        let published_at = header("last-modified")
            .and_then(|v| DateTime::parse_from_rfc2822(&v).ok())
            .map(|t| t.with_timezone(&Utc));
        let expected_len = header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
        if !(200..300).contains(&status) {
            let kind = if status == 404 || status == 410 {
                FetchErrorKind::NotFound
            } else {
                FetchErrorKind::Status(status)
            };
            let reason = resp.status().canonical_reason().unwrap_or("").to_string();
            return (
                Err(fail(kind, format!("HTTP {status} {reason}"))),
                retry_after,
            );
        }
        let bytes = match resp
            .body_mut()
            .with_config()
            .limit(self.config.max_body_bytes)
            .read_to_vec()
        {
            Ok(b) => b,
            Err(e) => {
                let kind = match transport_kind(&e) {
                    FetchErrorKind::Unreachable | FetchErrorKind::Other
                        if expected_len.is_some() =>
                    {
                        FetchErrorKind::Truncated
                    }
                    k => k,
                };
                let message = match (kind, expected_len) {
                    (FetchErrorKind::Truncated, Some(n)) => {
                        format!("body truncated before its Content-Length of {n} bytes: {e}")
                    }
                    _ => format!("reading the body: {e}"),
                };
                return (Err(fail(kind, message)), None);
            }
        };
        if let Some(n) = expected_len
            && (bytes.len() as u64) < n
        {
            return (
                Err(fail(
                    FetchErrorKind::Truncated,
                    format!("body truncated: {} of {n} bytes", bytes.len()),
                )),
                None,
            );
        }
        (
            Ok(Payload {
                source: url.to_string(),
                bytes,
                fetched_at,
                published_at,
            }),
            None,
        )
    }
}

fn transport_kind(e: &ureq::Error) -> FetchErrorKind {
    match e {
        ureq::Error::Timeout(_) => FetchErrorKind::Timeout,
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => FetchErrorKind::Unreachable,
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                FetchErrorKind::Timeout
            }
            std::io::ErrorKind::UnexpectedEof => FetchErrorKind::Truncated,
            _ => FetchErrorKind::Unreachable,
        },
        _ => FetchErrorKind::Other,
    }
}

/// `text` with the value of every `api_key=` parameter replaced by `***`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("api_key=") {
        out.push_str(&rest[..i + "api_key=".len()]);
        out.push_str("***");
        rest = &rest[i + "api_key=".len()..];
        let end = rest.find(['&', ' ', '"', '\'', ')']).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `url?k=v&…` with values percent-encoded.
pub fn with_query(url: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return url.to_string();
    }
    let mut out = String::from(url);
    out.push(if url.contains('?') { '&' } else { '?' });
    for (i, (k, v)) in query.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        for b in v.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~:,".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}
