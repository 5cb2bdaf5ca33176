//! Live streaming: WebSocket `/api/v1/stream` and its SSE twin
//! `/api/v1/stream/sse`. Ticks come from the event bus as the ingestion
//! runner publishes accepted observations.
//!
//! WebSocket protocol (JSON text frames):
//! - client → server: `{"op":"subscribe","instruments":[…],"markets":[…]}`,
//!   `{"op":"unsubscribe","instruments":[…],"markets":[…]}`, `{"op":"ping"}`;
//! - server → client: `{"type":"subscribed","instruments":[…],"markets":[…]}`,
//!   `{"type":"tick","instrument_id","market_run","interval_start_utc",
//!   "interval_end_utc","components":{…},"vintage_utc"}`,
//!   `{"type":"error","code","message"}`, `{"type":"heartbeat","time_utc"}`,
//!   `{"type":"pong"}`.
//!
//! Entitlements: the connection needs some `lmp` grant on its channel
//! (`hub` for a web-hub session, `stream` for programs) or the upgrade is a
//! 403; subscribing to an instrument or market outside the grants answers
//! `{"type":"error","code":"forbidden"}` (audited) and adds nothing; and
//! every tick is checked against the policy again on its way out, so a
//! market subscription carries only the entitled instruments of that market.
//!
//! Each bus event is encoded once for all connections (one task turns it into
//! tick texts indexed by instrument and re-broadcasts that): a connection
//! subscribed to a few instruments looks them up instead of scanning the event,
//! and no tick is serialised twice.
//!
//! Every connection has a bounded queue. A consumer that lets it fill (or falls
//! behind the bus) gets `{"type":"error","code":"slow_consumer"}` and is
//! disconnected; a send that cannot complete within a few seconds drops the
//! connection. Neither ever slows the publisher or other clients.

use std::{
    collections::{BTreeSet, HashMap},
    fmt::Write as _,
    sync::{Arc, RwLock},
    time::Duration,
};

use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{Message, WebSocket},
    },
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use carbon_core::{InstrumentId, Market, Observation};
use chrono::{SecondsFormat, Utc};
use futures_util::SinkExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use carbon_auth::{Access, Principal, Transport};

use crate::{
    AppState,
    error::ApiError,
    params::{Query, list},
};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(websocket))
        .routes(routes!(sse))
}

/// Who is listening, for the per-tick policy check.
#[derive(Clone)]
struct Listener {
    access: Arc<Access>,
    who: Principal,
    /// Refused subscriptions count as entitlement denials.
    metrics: Arc<crate::metrics::Metrics>,
}

impl Listener {
    fn scope(&self) -> carbon_auth::Scope {
        self.access.scope(
            &self.who,
            None,
            Some("lmp"),
            self.who.channel(Transport::Stream),
        )
    }
}

/// What a connection wants.
#[derive(Debug, Default, Clone)]
struct Subscription {
    instruments: BTreeSet<String>,
    markets: BTreeSet<Market>,
}

impl Subscription {
    fn wants(&self, o: &Observation) -> bool {
        self.instruments.contains(o.instrument_id.as_str())
            || self.markets.contains(&o.instrument_id.market())
    }

    fn describe(&self, kind: &str) -> Value {
        json!({
            "type": kind,
            "instruments": self.instruments,
            "markets": self.markets.iter().map(|m| m.code()).collect::<Vec<_>>(),
        })
    }
}

/// The `tick` message of one observation, written directly (the same
/// document as serialising it through `serde_json::Value`, without the tree).
fn tick(o: &Observation) -> String {
    use carbon_core::time::push_rfc3339;
    let mut out = String::with_capacity(256);
    out.push_str("{\"type\":\"tick\",\"instrument_id\":");
    crate::prices::push_json_str(&mut out, o.instrument_id.as_str());
    out.push_str(",\"market_run\":\"");
    out.push_str(o.market_run.as_str());
    out.push_str("\",\"interval_start_utc\":\"");
    push_rfc3339(&mut out, o.interval_start, 0);
    out.push_str("\",\"interval_end_utc\":\"");
    push_rfc3339(&mut out, o.interval_end, 0);
    out.push_str("\",\"components\":{");
    let finite = o.values.iter().filter(|(_, x)| x.is_finite());
    for (i, (c, x)) in finite.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(c.as_str());
        let _ = write!(out, "\":{x:?}");
    }
    out.push_str("},\"vintage_utc\":\"");
    push_rfc3339(&mut out, o.vintage, 0);
    out.push_str("\"}");
    out
}

/// One bus event, encoded once for every connection.
pub(crate) struct Encoded {
    /// The event itself.
    event: Arc<carbon_bus::BusEvent>,
    /// Tick text of each observation, in event order.
    ticks: Vec<Arc<str>>,
    /// Instrument id → positions in `ticks`.
    by_instrument: HashMap<String, Vec<usize>>,
}

impl Encoded {
    fn of(event: Arc<carbon_bus::BusEvent>) -> Encoded {
        let mut by_instrument: HashMap<String, Vec<usize>> = HashMap::new();
        let ticks = event
            .observations
            .iter()
            .enumerate()
            .map(|(i, o)| {
                by_instrument
                    .entry(o.instrument_id.as_str().to_string())
                    .or_default()
                    .push(i);
                Arc::from(tick(o))
            })
            .collect();
        Encoded {
            event,
            ticks,
            by_instrument,
        }
    }
}

/// The encoded-event channel, started on first use: one task subscribes to
/// the bus and encodes each event once.
fn encoded(s: &AppState, bus: &Arc<dyn carbon_bus::EventBus>) -> broadcast::Receiver<Arc<Encoded>> {
    s.ticks
        .get_or_init(|| {
            let (tx, _) = broadcast::channel::<Arc<Encoded>>(4096);
            let mut rx = bus.subscribe();
            let out = tx.clone();
            tokio::spawn(async move {
                loop {
                    match rx.recv().await {
                        Ok(e) => {
                            let _ = out.send(Arc::new(Encoded::of(e)));
                        }
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(events = n, "stream encoder fell behind the bus");
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            });
            tx
        })
        .subscribe()
}

fn error(code: &str, message: &str) -> String {
    json!({ "type": "error", "code": code, "message": message }).to_string()
}

/// How long a full connection queue may stay full before the consumer is dropped.
const QUEUE_GRACE: Duration = Duration::from_secs(2);

/// Forwards matching bus events into a bounded queue until the queue stays full,
/// the bus outruns the consumer, or the connection goes away.
/// The task owns the only sender: when it stops, the queue closes after its
/// last message, and the reason is left in `reason`.
fn fan_out(
    mut bus: broadcast::Receiver<Arc<Encoded>>,
    listener: Listener,
    sub: Arc<RwLock<Subscription>>,
    tx: mpsc::Sender<String>,
    reason: Arc<std::sync::Mutex<Option<String>>>,
) -> tokio::task::JoinHandle<()> {
    let give_up = move |why: String| {
        if let Ok(mut r) = reason.lock() {
            *r = Some(why);
        }
    };
    tokio::spawn(async move {
        loop {
            let event = match bus.recv().await {
                Ok(e) => e,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    give_up(format!("fell {n} events behind the bus; disconnecting"));
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            // Grants are read per event, so a revoked grant stops the flow.
            let scope = listener.scope();
            let wanted: Vec<String> = {
                let s = sub.read().unwrap_or_else(|p| p.into_inner());
                let visible = |i: &usize| {
                    let o = &event.event.observations[*i];
                    scope.sees(
                        o.instrument_id.market(),
                        o.instrument_id.as_str(),
                        Some(o.interval_start),
                    )
                };
                let mut idx: Vec<usize> = if s.markets.is_empty() {
                    // Look the subscribed instruments up instead of scanning.
                    s.instruments
                        .iter()
                        .filter_map(|i| event.by_instrument.get(i))
                        .flatten()
                        .copied()
                        .collect()
                } else {
                    (0..event.ticks.len())
                        .filter(|i| s.wants(&event.event.observations[*i]))
                        .collect()
                };
                idx.sort_unstable();
                idx.into_iter()
                    .filter(visible)
                    .map(|i| event.ticks[i].to_string())
                    .collect()
            };
            for msg in wanted {
                // A full queue gets QUEUE_GRACE to drain; a consumer that
                // cannot is dropped with the reason as its last frame.
                match tx.send_timeout(msg, QUEUE_GRACE).await {
                    Ok(()) => {}
                    Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                        give_up("the send queue stayed full; disconnecting".to_string());
                        return;
                    }
                    Err(mpsc::error::SendTimeoutError::Closed(_)) => return,
                }
            }
        }
    })
}

#[derive(Deserialize)]
struct ClientMsg {
    op: String,
    #[serde(default)]
    instruments: Vec<String>,
    #[serde(default)]
    markets: Vec<String>,
}

/// Instruments and markets of a subscribe the caller may not see.
fn refused(listener: &Listener, msg: &ClientMsg) -> Vec<String> {
    let scope = listener.scope();
    let mut out = Vec::new();
    for i in &msg.instruments {
        if let Ok(id) = InstrumentId::parse(i)
            && !scope.sees(id.market(), id.as_str(), None)
        {
            out.push(id.to_string());
        }
    }
    for m in &msg.markets {
        if let Ok(market) = m.parse::<Market>()
            && !scope.sees_market(market)
        {
            out.push(market.code().to_string());
        }
    }
    out
}

/// Applies a subscribe/unsubscribe; `Err` is a message for the client.
fn apply(sub: &RwLock<Subscription>, msg: &ClientMsg, add: bool) -> Result<(), String> {
    let ids = msg
        .instruments
        .iter()
        .map(|i| {
            InstrumentId::parse(i)
                .map(|id| id.to_string())
                .map_err(|e| format!("instruments: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let markets = msg
        .markets
        .iter()
        .map(|m| m.parse::<Market>().map_err(|e| format!("markets: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut s = sub.write().unwrap_or_else(|p| p.into_inner());
    for id in ids {
        if add {
            s.instruments.insert(id);
        } else {
            s.instruments.remove(&id);
        }
    }
    for m in markets {
        if add {
            s.markets.insert(m);
        } else {
            s.markets.remove(&m);
        }
    }
    Ok(())
}

/// The tick stream over WebSocket: send `{"op": "subscribe", "instruments":
/// […], "markets": […]}`; ticks arrive as `{"type": "tick", …}` frames,
/// heartbeats every 15 s; a slow consumer is told and dropped.
#[utoipa::path(get, path = "/api/v1/stream", tag = "stream",
    responses((status = 101, description = "Switching to the WebSocket protocol")))]
pub(crate) async fn websocket(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    ws: WebSocketUpgrade,
) -> Response {
    if let Err(e) = s
        .scope(&who, None, Some("lmp"), Transport::Stream, "/api/v1/stream")
        .await
    {
        return e.into_response();
    }
    let listener = Listener {
        access: s.access.clone(),
        who,
        metrics: s.metrics.clone(),
    };
    let bus = s.bus.clone();
    let queue = s.stream_queue;
    let events = encoded(&s, &bus);
    ws.on_upgrade(move |socket| session(socket, events, listener, queue))
}

const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Most queued frames written before one flush.
const SEND_BATCH: usize = 64;
const HEARTBEAT: Duration = Duration::from_secs(15);

async fn session(
    mut socket: WebSocket,
    bus: broadcast::Receiver<Arc<Encoded>>,
    listener: Listener,
    queue: usize,
) {
    let sub = Arc::new(RwLock::new(Subscription::default()));
    let (tx, mut rx) = mpsc::channel::<String>(queue.max(1));
    let reason = Arc::new(std::sync::Mutex::new(None));
    let forward = fan_out(bus, listener.clone(), sub.clone(), tx, reason.clone());
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    loop {
        let out: Option<String> = tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => Some(match serde_json::from_str::<ClientMsg>(&text) {
                    Ok(m) if m.op == "subscribe" && let no = refused(&listener, &m) && !no.is_empty() => {
                        let why = format!("not entitled to {}; nothing was subscribed", no.join(", "));
                        listener.metrics.denial(
                            &listener.who.tenant,
                            listener.who.channel(Transport::Stream).as_str(),
                        );
                        listener
                            .access
                            .audit(
                                &listener.who.actor(),
                                Some(&listener.who.tenant),
                                "access_denied",
                                Some("/api/v1/stream"),
                                "denied",
                                json!({ "reason": why }),
                            )
                            .await;
                        error("forbidden", &why)
                    }
                    Ok(m) if m.op == "subscribe" || m.op == "unsubscribe" => {
                        let add = m.op == "subscribe";
                        match apply(&sub, &m, add) {
                            Ok(()) => {
                                let s = sub.read().unwrap_or_else(|p| p.into_inner()).clone();
                                s.describe(if add { "subscribed" } else { "unsubscribed" }).to_string()
                            }
                            Err(e) => error("invalid_subscription", &e),
                        }
                    }
                    Ok(m) if m.op == "ping" => json!({ "type": "pong" }).to_string(),
                    Ok(m) => error("unknown_op", &format!("unknown op `{}`; expected subscribe, unsubscribe or ping", m.op)),
                    Err(e) => error("bad_message", &format!("not a JSON message with `op`: {e}")),
                }),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => None,
            },
            queued = rx.recv() => Some(queued.unwrap_or_else(|| {
                // The fan-out gave up: tell the client why, then close.
                let why = reason
                    .lock()
                    .ok()
                    .and_then(|r| r.clone())
                    .unwrap_or_else(|| "the stream ended".to_string());
                error("slow_consumer", &why)
            })),
            _ = heartbeat.tick() => Some(json!({
                "type": "heartbeat",
                "time_utc": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            }).to_string()),
        };
        let Some(out) = out else { continue };
        let last = out.contains("\"slow_consumer\"");
        if last {
            tracing::warn!("stream client dropped: slow consumer");
        }
        // Ticks queued behind this one go out in the same write (one flush,
        // not one system call per frame: an event fans out to many frames).
        let mut batch = vec![out];
        if !last {
            while batch.len() < SEND_BATCH {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
        }
        let send = async {
            for m in batch {
                socket.feed(Message::Text(m.into())).await?;
            }
            socket.flush().await
        };
        match tokio::time::timeout(SEND_TIMEOUT, send).await {
            Ok(Ok(())) if !last => {}
            _ => break,
        }
    }
    forward.abort();
    // The close frame gets the same bound as any send: a stalled client's
    // connection is dropped, never waited for.
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(None))).await;
}

/// What an SSE stream follows.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SseParams {
    /// Instruments (`MARKET.NODE`).
    #[serde(default, deserialize_with = "list")]
    instruments: Vec<String>,
    /// Every instrument of these markets.
    #[serde(default, deserialize_with = "list")]
    markets: Vec<String>,
}

/// SSE twin: `GET /api/v1/stream/sse?instruments=…&markets=…`; events `tick`
/// (and `error` before a slow consumer is dropped), keep-alive comments.
#[utoipa::path(get, path = "/api/v1/stream/sse", tag = "stream", params(SseParams),
    responses((status = 200, description = "`text/event-stream` of `tick` events", content_type = "text/event-stream", body = String)))]
pub(crate) async fn sse(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Query(p): Query<SseParams>,
) -> Result<Response, ApiError> {
    let route = "/api/v1/stream/sse";
    s.scope(&who, None, Some("lmp"), Transport::Stream, route)
        .await?;
    let msg = ClientMsg {
        op: "subscribe".into(),
        instruments: p.instruments,
        markets: p.markets,
    };
    if msg.instruments.is_empty() && msg.markets.is_empty() {
        return Err(ApiError::param(
            "instruments",
            "give `instruments` and/or `markets`",
        ));
    }
    let listener = Listener {
        access: s.access.clone(),
        who: who.clone(),
        metrics: s.metrics.clone(),
    };
    let no = refused(&listener, &msg);
    if !no.is_empty() {
        let why = format!("not entitled to {}", no.join(", "));
        s.deny(&who, route, &why).await;
        return Err(ApiError::forbidden(why));
    }
    let sub = Arc::new(RwLock::new(Subscription::default()));
    apply(&sub, &msg, true).map_err(|e| {
        let param = if e.starts_with("markets") {
            "markets"
        } else {
            "instruments"
        };
        ApiError::param(param, e)
    })?;
    let bus = s.bus.clone();
    let (tx, rx) = mpsc::channel::<String>(s.stream_queue.max(1));
    let reason = Arc::new(std::sync::Mutex::new(None));
    let forward = fan_out(encoded(&s, &bus), listener, sub, tx, reason.clone());
    let stream =
        futures_util::stream::unfold((rx, forward, false), move |(mut rx, forward, done)| {
            let reason = reason.clone();
            async move {
                if done {
                    forward.abort();
                    return None;
                }
                let msg = match rx.recv().await {
                    Some(m) => m,
                    None => error(
                        "slow_consumer",
                        &reason.lock().ok().and_then(|r| r.clone())?,
                    ),
                };
                let is_error = msg.contains("\"slow_consumer\"");
                let event = Event::default()
                    .event(if is_error { "error" } else { "tick" })
                    .data(msg);
                Some((
                    Ok::<_, std::convert::Infallible>(event),
                    (rx, forward, is_error),
                ))
            }
        });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written tick is the document serde_json builds.
    #[test]
    fn tick_text_equals_the_value_tree() {
        let t = |s: &str| s.parse::<chrono::DateTime<Utc>>().unwrap();
        for values in [
            carbon_core::Components {
                lmp: Some(39.52),
                energy: Some(40.0),
                congestion: Some(-0.7),
                loss: None,
                ghg: Some(1e-7),
            },
            carbon_core::Components {
                lmp: Some(1e21),
                ..Default::default()
            },
        ] {
            let o = Observation {
                instrument_id: "MISO.A \"Q\" NODE".parse().unwrap(),
                market_run: carbon_core::MarketRun::Rt5,
                interval_start: t("2026-11-01T05:00:00Z"),
                interval_end: t("2026-11-01T05:05:00Z"),
                values,
                vintage: t("2026-11-01T05:06:00Z"),
                provenance: carbon_core::Provenance::new("x.json", None),
            };
            let built = json!({
                "type": "tick",
                "instrument_id": o.instrument_id.as_str(),
                "market_run": o.market_run.as_str(),
                "interval_start_utc": "2026-11-01T05:00:00Z",
                "interval_end_utc": "2026-11-01T05:05:00Z",
                "components": o.values,
                "vintage_utc": "2026-11-01T05:06:00Z",
            });
            let text = tick(&o);
            assert_eq!(
                serde_json::from_str::<Value>(&text).unwrap(),
                built,
                "{text}"
            );
        }
    }
}
