//! Settings of the adapters, as data: the layered configuration (`carbon.toml`,
//! `CARBON_…`, flags) holds them, the HTTP adapter reads them. Kept here so
//! that the CLI, which loads the configuration, need not know HTTP.

use serde::{Deserialize, Serialize};

/// `[api]` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    /// Requests per second per caller.
    pub rate_limits: RateLimits,
    /// Origins allowed to call the API from a browser (`*` for any); empty
    /// means same-origin only.
    pub cors_origins: Vec<String>,
    /// Largest request body, bytes.
    pub body_limit_bytes: usize,
    /// Longest a request (not a stream) may take, seconds.
    pub request_timeout_seconds: u64,
    /// Mark the session cookie `Secure` and send HSTS (when served over
    /// HTTPS; `carbon serve --tls-cert` sets it).
    pub secure_cookies: bool,
    /// Reverse proxies (CIDR) whose `X-Forwarded-For` names the client;
    /// from any other peer the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// Rows per store page of a streamed CSV export.
    pub export_page_rows: usize,
    /// An analysis, backtest or curve build asked for synchronously that
    /// runs longer than this many seconds continues as a job (the answer is
    /// 202 with the job); 0: never.
    pub job_after_seconds: u64,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            rate_limits: RateLimits::default(),
            cors_origins: Vec::new(),
            body_limit_bytes: 1 << 20,
            request_timeout_seconds: 30,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            export_page_rows: 10_000,
            job_after_seconds: 10,
        }
    }
}

impl ApiSettings {
    /// Checks what serde cannot: origins are origins, proxies are networks.
    pub fn validate(&self) -> Result<(), String> {
        check_cors_origins(&self.cors_origins)?;
        check_trusted_proxies(&self.trusted_proxies)
    }
}

/// `[api.rate_limits]`: requests per second per caller (burst: one second's worth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// General requests per second.
    pub general: f64,
    /// Data requests per second.
    pub data: f64,
    /// Exports per second.
    pub exports: f64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            general: 100.0,
            data: 50.0,
            exports: 1.0,
        }
    }
}

/// Checks `cors_origins` entries: `*` or `scheme://host[:port]`.
pub fn check_cors_origins(origins: &[String]) -> Result<(), String> {
    for o in origins {
        let o = o.trim();
        if o == "*" {
            continue;
        }
        let rest = o
            .strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"));
        let ok = rest.is_some_and(|r| {
            let r = r.trim_end_matches('/');
            !r.is_empty() && !r.contains(['/', '?', '#', ' ', '*', ','])
        });
        if !ok {
            return Err(format!(
                "api.cors_origins: {o:?} is not an origin (`*` or scheme://host[:port], e.g. https://hub.example.com)"
            ));
        }
    }
    Ok(())
}

/// Checks `trusted_proxies` entries: CIDR networks.
pub fn check_trusted_proxies(list: &[String]) -> Result<(), String> {
    carbon_auth::net::parse_cidrs("trusted_proxies", list)
        .map(|_| ())
        .map_err(|e| format!("api.{e}"))
}
