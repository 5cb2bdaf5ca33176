//! # carbon-api — the front door
//!
//! The REST and streaming API over the [`carbon_store::Store`] (axum): health
//! and readiness, metrics, OpenAPI, markets, instrument search, the price
//! query (latest or as-of, resampled, blocked, paginated, JSON, CSV or
//! Parquet, any output time zone), spreads, exports, ingest runs and quality,
//! the WebSocket/SSE stream, login and the admin API, fundamentals, research
//! analytics and backtests ([`research`]).
//!
//! Every `/api/v1` route but login needs credentials ([`carbon_auth`]); each
//! asks the entitlement policy with the channel the credential implies, and
//! counts against the caller's rate limit. Every error is
//! `application/problem+json` naming the parameter at fault; bad input is
//! never a 5xx; every response carries `X-Request-Id`.
//!
//! It must not parse ISO files or write market data: it reads through the
//! store's traits; the only things it writes are forward-curve runs
//! ([`curves`]), research outputs ([`research`]) and the directory's records through `carbon-auth`.

mod admin;
mod auth;
mod catalog;
pub mod curves;
pub mod error;
mod exports;
mod feeds;
pub mod hub;
mod jobs;
mod metrics;
mod middleware;
pub mod openapi;
mod ops;
mod params;
mod prices;
pub mod ratelimit;
mod reports;
pub mod research;
mod routes;
mod scenarios;
pub mod security;
mod stream;

use std::{future::Future, sync::Arc, time::Duration};

use axum::Router;
use carbon_auth::Access;
use carbon_store::{RunLog, Store};

pub use auth::SESSION_COOKIE;
pub use error::ApiError;

pub use carbon_service::settings::{ApiSettings, RateLimits};

/// The request timeout of `settings` (at least a second).
fn timeout(settings: &ApiSettings) -> Duration {
    Duration::from_secs(settings.request_timeout_seconds.max(1))
}

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Prices and instruments.
    pub store: Arc<dyn Store>,
    /// Ingest runs (readiness, freshness).
    pub log: Arc<dyn RunLog>,
    /// Identity, entitlements and audit.
    pub access: Arc<Access>,
    /// Forward curve runs and points.
    pub curves: Arc<dyn carbon_store::CurveStore>,
    /// Fundamentals series.
    pub fundamentals: Arc<dyn carbon_store::FundamentalStore>,
    /// Stored research outputs.
    pub research: Arc<dyn carbon_store::ResearchStore>,
    /// Durable jobs (their workers run beside the API: `carbon serve`).
    pub jobs: Arc<carbon_service::jobs::Jobs>,
    /// Scenario versions and runs.
    pub scenarios: Arc<dyn carbon_store::ScenarioStore>,
    /// Exports into the object store (none: the routes answer 404).
    pub exports: Option<Arc<carbon_service::exports::Exports>>,
    /// Scheduled feeds (none when the server keeps no exports).
    pub feeds: Option<Arc<carbon_service::feeds::Feeds>>,
    metrics: Arc<metrics::Metrics>,
    bus: Arc<dyn carbon_bus::EventBus>,
    stream_queue: usize,
    ticks: Arc<std::sync::OnceLock<tokio::sync::broadcast::Sender<Arc<stream::Encoded>>>>,
    settings: Arc<ApiSettings>,
    limiter: Arc<ratelimit::Limiter>,
    trusted_proxies: Arc<Vec<ipnet::IpNet>>,
}

/// The stores the API reads and writes; one backend may be all of them.
#[derive(Clone)]
pub struct Stores {
    /// Prices and instruments.
    pub prices: Arc<dyn Store>,
    /// Ingest runs.
    pub runs: Arc<dyn RunLog>,
    /// Forward curves.
    pub curves: Arc<dyn carbon_store::CurveStore>,
    /// Fundamentals.
    pub fundamentals: Arc<dyn carbon_store::FundamentalStore>,
    /// Research outputs.
    pub research: Arc<dyn carbon_store::ResearchStore>,
    /// Durable jobs.
    pub jobs: Arc<dyn carbon_store::JobStore>,
    /// Scenarios.
    pub scenarios: Arc<dyn carbon_store::ScenarioStore>,
}

impl Stores {
    /// Every store from one backend that keeps them all (the embedded one).
    pub fn of<S>(s: Arc<S>) -> Self
    where
        S: Store
            + RunLog
            + carbon_store::CurveStore
            + carbon_store::FundamentalStore
            + carbon_store::ResearchStore
            + carbon_store::JobStore
            + carbon_store::ScenarioStore,
    {
        Self {
            prices: s.clone(),
            runs: s.clone(),
            curves: s.clone(),
            fundamentals: s.clone(),
            research: s.clone(),
            jobs: s.clone(),
            scenarios: s,
        }
    }
}

impl AppState {
    /// State over the stores, the access layer, the event bus the stream
    /// serves and the jobs service, with default settings.
    pub fn new(
        stores: Stores,
        access: Arc<Access>,
        bus: Arc<dyn carbon_bus::EventBus>,
        jobs: Arc<carbon_service::jobs::Jobs>,
    ) -> Self {
        let settings = ApiSettings::default();
        Self {
            store: stores.prices,
            log: stores.runs,
            access,
            curves: stores.curves,
            fundamentals: stores.fundamentals,
            research: stores.research,
            scenarios: stores.scenarios,
            exports: None,
            feeds: None,
            jobs,
            metrics: Arc::default(),
            bus,
            stream_queue: 4096,
            ticks: Arc::default(),
            limiter: Arc::new(ratelimit::Limiter::new(settings.rate_limits.clone())),
            settings: Arc::new(settings),
            trusted_proxies: Arc::default(),
        }
    }

    /// Rate limits, CORS, body size, timeouts and trusted proxies (checked
    /// beforehand with [`security::check_trusted_proxies`]; an entry that does
    /// not parse trusts nothing).
    pub fn with_settings(mut self, settings: ApiSettings) -> Self {
        self.limiter = Arc::new(ratelimit::Limiter::new(settings.rate_limits.clone()));
        self.trusted_proxies = Arc::new(
            carbon_auth::net::parse_cidrs("trusted_proxies", &settings.trusted_proxies)
                .unwrap_or_default(),
        );
        self.settings = Arc::new(settings);
        self
    }

    /// Exports written into an object store (`carbon serve` always has them).
    pub fn with_exports(mut self, exports: Arc<carbon_service::exports::Exports>) -> Self {
        self.exports = Some(exports);
        self
    }

    /// Scheduled feeds, fired by `carbon serve`'s scheduler.
    pub fn with_feeds(mut self, feeds: Arc<carbon_service::feeds::Feeds>) -> Self {
        self.feeds = Some(feeds);
        self
    }

    /// Messages a stream connection may have queued before it counts as a
    /// slow consumer and is dropped (default 4,096).
    pub fn with_stream_queue(mut self, n: usize) -> Self {
        self.stream_queue = n.max(1);
        self
    }
}

/// The application: every route, the request-id layer and the problem+json fallback.
pub fn create_app(state: AppState) -> Router {
    routes::router(state)
}

/// Where `carbon serve --tls-cert/--tls-key` finds its certificate chain
/// and private key (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: std::path::PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: std::path::PathBuf,
}

/// A loaded certificate and key, ready to serve.
pub type TlsConfig = axum_server::tls_rustls::RustlsConfig;

/// Reads and checks the certificate and key (rustls, ring provider): the
/// error names the file at fault.
pub async fn tls_config(files: &TlsFiles) -> Result<axum_server::tls_rustls::RustlsConfig, String> {
    for (flag, path) in [("--tls-cert", &files.cert), ("--tls-key", &files.key)] {
        if let Err(e) = std::fs::metadata(path) {
            return Err(format!("{flag} {}: {e}", path.display()));
        }
    }
    axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .map_err(|e| {
            format!(
                "--tls-cert {} / --tls-key {}: {e}",
                files.cert.display(),
                files.key.display()
            )
        })
}

/// Serves `app` over TLS on `listener` until `shutdown` completes (then
/// lets open requests finish for up to 10 s).
pub async fn serve_tls(
    listener: std::net::TcpListener,
    config: axum_server::tls_rustls::RustlsConfig,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    axum_server::from_tcp_rustls(listener, config)?
        .handle(handle)
        .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
