//! # carbon-bus — accepted observations go out to whoever streams them
//!
//! The [`EventBus`] trait the ingest runner publishes to and the API's
//! WebSocket/SSE stream subscribes to, and its embedded implementation
//! ([`InProcessBus`], a tokio broadcast channel). A Kafka bus implements the
//! same trait for the scale-out path. It knows observations, not how they
//! were parsed or who may see them.

use std::sync::Arc;

use carbon_core::Observation;
use tokio::sync::broadcast;

/// One published batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BusEvent {
    /// The ingest run that stored it.
    pub run_id: String,
    /// The observations (as stored).
    pub observations: Vec<Observation>,
}

/// Publishes accepted observations.
pub trait EventBus: Send + Sync + 'static {
    /// Publishes an event; never blocks the publisher.
    fn publish(&self, event: Arc<BusEvent>);
    /// A receiver of every event published after this call.
    fn subscribe(&self) -> broadcast::Receiver<Arc<BusEvent>>;
    /// Whether anyone would receive a publication now (publishers may skip
    /// building events nobody reads). Buses that cannot tell say `true`.
    fn has_subscribers(&self) -> bool {
        true
    }
}

/// The embedded bus: a tokio broadcast channel. A subscriber that falls more
/// than `capacity` events behind misses events (it sees `Lagged`); the
/// publisher never waits.
#[derive(Debug)]
pub struct InProcessBus {
    tx: broadcast::Sender<Arc<BusEvent>>,
}

impl InProcessBus {
    /// A bus keeping up to `capacity` events per subscriber.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self { tx }
    }
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new(1024)
    }
}

impl EventBus for InProcessBus {
    fn publish(&self, event: Arc<BusEvent>) {
        // No subscriber is not an error.
        let _ = self.tx.send(event);
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<BusEvent>> {
        self.tx.subscribe()
    }

    fn has_subscribers(&self) -> bool {
        self.tx.receiver_count() > 0
    }
}
