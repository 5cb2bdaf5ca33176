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
//! Every connection has a bounded queue. A consumer that lets it fill (or falls
//! behind the bus) gets `{"type":"error","code":"slow_consumer"}` and is
//! disconnected; a send that cannot complete within a few seconds drops the
//! connection. Neither ever slows the publisher or other clients.

use std::{
    collections::BTreeSet,
    sync::{Arc, RwLock},
    time::Duration,
};

use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{Message, WebSocket},
    },
    http::Uri,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use carbon_core::{InstrumentId, Market, Observation};
use chrono::{SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use carbon_auth::{Access, Principal, Transport};

use crate::{AppState, error::ApiError, params::Params};

/// Who is listening, for the per-tick policy check.
#[derive(Clone)]
struct Listener {
    access: Arc<Access>,
    who: Principal,
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

fn tick(o: &Observation) -> String {
    let t = |d: chrono::DateTime<Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({
        "type": "tick",
        "instrument_id": o.instrument_id.as_str(),
        "market_run": o.market_run.as_str(),
        "interval_start_utc": t(o.interval_start),
        "interval_end_utc": t(o.interval_end),
        "components": o.values,
        "vintage_utc": t(o.vintage),
    })
    .to_string()
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
    mut bus: broadcast::Receiver<Arc<carbon_ingest::bus::BusEvent>>,
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
                event
                    .observations
                    .iter()
                    .filter(|o| {
                        s.wants(o)
                            && scope.sees(
                                o.instrument_id.market(),
                                o.instrument_id.as_str(),
                                Some(o.interval_start),
                            )
                    })
                    .map(tick)
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
    };
    let Some(bus) = s.bus.clone() else {
        return ApiError {
            status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
            code: "no_stream",
            detail: "this server has no event bus".into(),
            param: None,
        }
        .into_response();
    };
    let queue = s.stream_queue;
    ws.on_upgrade(move |socket| session(socket, bus.subscribe(), listener, queue))
}

const SEND_TIMEOUT: Duration = Duration::from_secs(5);
const HEARTBEAT: Duration = Duration::from_secs(15);

async fn session(
    mut socket: WebSocket,
    bus: broadcast::Receiver<Arc<carbon_ingest::bus::BusEvent>>,
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
                    Ok(m) if m.op == "subscribe" && !refused(&listener, &m).is_empty() => {
                        let no = refused(&listener, &m);
                        let why = format!("not entitled to {}; nothing was subscribed", no.join(", "));
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
        match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(out.into()))).await {
            Ok(Ok(())) if !last => {}
            _ => break,
        }
    }
    forward.abort();
    // The close frame gets the same bound as any send: a stalled client's
    // connection is dropped, never waited for.
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(None))).await;
}

/// SSE twin: `GET /api/v1/stream/sse?instruments=…&markets=…`; events `tick`
/// (and `error` before a slow consumer is dropped), keep-alive comments.
pub(crate) async fn sse(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let route = "/api/v1/stream/sse";
    s.scope(&who, None, Some("lmp"), Transport::Stream, route)
        .await?;
    let p = Params::parse(uri.query(), &["instruments", "markets"])?;
    let msg = ClientMsg {
        op: "subscribe".into(),
        instruments: p
            .all("instruments")
            .into_iter()
            .map(str::to_string)
            .collect(),
        markets: p.all("markets").into_iter().map(str::to_string).collect(),
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
    let bus = s.bus.clone().ok_or_else(|| ApiError {
        status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
        code: "no_stream",
        detail: "this server has no event bus".into(),
        param: None,
    })?;
    let (tx, rx) = mpsc::channel::<String>(s.stream_queue.max(1));
    let reason = Arc::new(std::sync::Mutex::new(None));
    let forward = fan_out(bus.subscribe(), listener, sub, tx, reason.clone());
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
