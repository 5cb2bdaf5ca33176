//! # carbon-api — the front door
//!
//! The REST API over the [`carbon_store::Store`] (axum). This first part serves
//! health and readiness, markets, instrument search and the price query
//! (latest or as-of, resampled, blocked, paginated, JSON or CSV, any output
//! time zone). Every error is `application/problem+json` naming the parameter
//! at fault; bad input is never a 5xx; every response carries `X-Request-Id`.
//! Identity, entitlements, rate limits, streaming and OpenAPI follow (issue 4).
//!
//! It must not parse ISO files or write data: it reads through the store's traits.

pub mod error;
mod metrics;
mod params;
mod routes;
mod stream;

use std::{future::Future, sync::Arc};

use axum::Router;
use carbon_store::{RunLog, Store};

pub use error::ApiError;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Prices and instruments.
    pub store: Arc<dyn Store>,
    /// Ingest runs (readiness, freshness).
    pub log: Arc<dyn RunLog>,
    metrics: Arc<metrics::Metrics>,
    bus: Option<Arc<dyn carbon_ingest::bus::EventBus>>,
    stream_queue: usize,
}

impl AppState {
    /// State over a store and its run log.
    pub fn new(store: Arc<dyn Store>, log: Arc<dyn RunLog>) -> Self {
        Self {
            store,
            log,
            metrics: Arc::default(),
            bus: None,
            stream_queue: 4096,
        }
    }

    /// Streams what `bus` publishes (WebSocket and SSE).
    pub fn with_bus(mut self, bus: Arc<dyn carbon_ingest::bus::EventBus>) -> Self {
        self.bus = Some(bus);
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

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
