//! WebSocket and SSE streaming of ticks published by a real ingest.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use carbon_ingest::{
    bus::InProcessBus,
    dq::DqConfig,
    runner::{Payload, Runner},
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use super::api::{Server, start_with};

pub fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/iso")
            .join(rel),
    )
    .unwrap()
}

/// The real DA report with INDIANA.HUB's hour-ending 1 revised (LMP and MCC
/// up by 1, energy unchanged): a new version of one interval.
pub fn revised_report() -> Vec<u8> {
    String::from_utf8(fixture(
        "miso/da_expost_lmp_20261001_hubs_interfaces_subset.csv",
    ))
    .unwrap()
    .replace("INDIANA.HUB,Hub,LMP,39.52", "INDIANA.HUB,Hub,LMP,40.52")
    .replace("INDIANA.HUB,Hub,MCC,.7", "INDIANA.HUB,Hub,MCC,1.7")
    .into_bytes()
}

pub fn payload(source: &str, bytes: Vec<u8>) -> Payload {
    // Later than any file time, so it is the newest vintage.
    let t = "2030-01-01T00:00:00Z".parse().unwrap();
    Payload {
        source: source.into(),
        bytes,
        fetched_at: t,
        published_at: Some(t),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn runner(s: &Server, bus: &Arc<InProcessBus>) -> Runner {
    Runner::new(
        s.store.clone(),
        s.store.clone(),
        bus.clone(),
        DqConfig::default(),
    )
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A WebSocket client of the server's stream; `recv_buffer` shrinks the
/// kernel's receive buffer (a client that cannot absorb a backlog).
async fn connect(s: &Server, recv_buffer: Option<u32>) -> Ws {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(n) = recv_buffer {
        sock.set_recv_buffer_size(n).unwrap();
    }
    let addr: std::net::SocketAddr = s.base.trim_start_matches("http://").parse().unwrap();
    let url = format!("{}/api/v1/stream", s.base.replace("http://", "ws://"));
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert("x-api-key", s.key.parse().unwrap());
    tokio_tungstenite::client_async(req, sock.connect(addr).await.unwrap())
        .await
        .unwrap()
        .0
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("stream open")
            .unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

#[test]
fn websocket_subscribe_receives_ingested_ticks_only_for_its_instruments() {
    let bus = Arc::new(InProcessBus::new(1024));
    let s = start_with(Some(bus.clone()), 4096);
    let rt = runtime();
    rt.block_on(async {
        let mut ws = connect(&s, None).await;
        send(
            &mut ws,
            json!({"op": "subscribe", "instruments": ["MISO.INDIANA.HUB"]}),
        )
        .await;
        let sub = next_json(&mut ws).await;
        assert_eq!(sub["type"], "subscribed");
        assert_eq!(sub["instruments"], json!(["MISO.INDIANA.HUB"]));

        // A real ingest of a new vintage of the real report publishes on the bus.
        let r = runner(&s, &bus);
        r.ingest(
            "file",
            payload("20261001_da_expost_lmp.csv", revised_report()),
            None,
        )
        .await
        .unwrap();
        let mut ticks = Vec::new();
        while ticks.len() < 24 {
            let m = next_json(&mut ws).await;
            assert_eq!(m["type"], "tick", "{m}");
            ticks.push(m);
        }
        // The payload's rows of the subscribed hub, the revised hour-ending 1
        // with its new components; nothing of the other 21 nodes.
        assert!(
            ticks
                .iter()
                .all(|t| t["instrument_id"] == "MISO.INDIANA.HUB")
        );
        ticks.sort_by_key(|t| t["interval_start_utc"].as_str().unwrap().to_string());
        assert_eq!(ticks[0]["market_run"], "da");
        assert_eq!(ticks[0]["interval_start_utc"], "2026-10-01T05:00:00Z");
        assert_eq!(ticks[0]["components"]["lmp"], 40.52);
        assert_eq!(ticks[0]["components"]["congestion"], 1.7);
        send(&mut ws, json!({"op": "ping"})).await;
        assert_eq!(
            next_json(&mut ws).await["type"],
            "pong",
            "no other tick queued"
        );

        // Unsubscribed: the 5-minute ingest (INDIANA.HUB included) sends nothing.
        send(
            &mut ws,
            json!({"op": "unsubscribe", "instruments": ["MISO.INDIANA.HUB"]}),
        )
        .await;
        assert_eq!(next_json(&mut ws).await["type"], "unsubscribed");
        r.ingest(
            "file",
            payload(
                "Previous.json",
                fixture("miso/api_GetRealTimeFiveMinExPost_Previous_20261001_first3intervals.json"),
            ),
            None,
        )
        .await
        .unwrap();
        send(&mut ws, json!({"op": "ping"})).await;
        assert_eq!(next_json(&mut ws).await["type"], "pong");

        // Bad messages get an error, and the connection stays.
        send(&mut ws, json!({"op": "dance"})).await;
        let e = next_json(&mut ws).await;
        assert_eq!(
            (e["type"].as_str(), e["code"].as_str()),
            (Some("error"), Some("unknown_op"))
        );
        send(&mut ws, json!({"op": "subscribe", "markets": ["XYZ"]})).await;
        assert_eq!(next_json(&mut ws).await["code"], "invalid_subscription");
        send(&mut ws, json!({"op": "ping"})).await;
        assert_eq!(next_json(&mut ws).await["type"], "pong");
    });
}

#[test]
fn a_slow_consumer_is_dropped_without_slowing_the_publisher_or_others() {
    let bus = Arc::new(InProcessBus::new(1024));
    let s = start_with(Some(bus.clone()), 64);
    let rt = runtime();
    rt.block_on(async {
        // The slow client also shrinks its receive buffer, so the kernel cannot
        // absorb the backlog on its behalf.
        let mut slow = connect(&s, Some(4096)).await;
        let mut fast = connect(&s, None).await;
        for ws in [&mut slow, &mut fast] {
            send(ws, json!({"op": "subscribe", "markets": ["MISO"]})).await;
            assert_eq!(next_json(ws).await["type"], "subscribed");
        }
        // SYNTHETIC load: 8,000 made-up nodes × 24 h in MISO's report layout.
        let report = carbon_testkit::synthetic_miso_report(2025, 3, 3, 8000);
        let expected = 8000 * 24;
        let r = runner(&s, &bus);
        let t = Instant::now();
        r.ingest(
            "file",
            payload("20250303_da_expost_lmp.csv", report.into_bytes()),
            None,
        )
        .await
        .unwrap();
        let publish = t.elapsed();
        // The fast client gets every tick while the slow one reads nothing.
        let mut got = 0;
        while got < expected {
            let m = next_json(&mut fast).await;
            assert_eq!(m["type"], "tick", "{m}");
            got += 1;
        }
        // Let the server give up on the slow one for certain: its queue has had
        // more than QUEUE_GRACE (2 s) and its socket more than SEND_TIMEOUT
        // (5 s) to drain, and 46 MB cannot fit in the kernel's buffers.
        tokio::time::sleep(Duration::from_secs(8)).await;
        // The slow one is cut off: its stream ends (after whatever was in flight,
        // ending with the reason when the socket could still take it).
        let t = Instant::now();
        let mut reason = None;
        loop {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "the slow consumer was never disconnected"
            );
            match tokio::time::timeout(Duration::from_secs(30), slow.next()).await {
                Ok(Some(Ok(Message::Text(txt)))) => {
                    let v: Value = serde_json::from_str(&txt).unwrap();
                    if v["type"] == "error" {
                        reason = v["code"].as_str().map(str::to_string);
                    }
                    assert_ne!(v["type"], "heartbeat", "still connected after the backlog");
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_))) | Ok(None) => break,
                Err(_) => panic!("the slow consumer was never disconnected"),
            }
        }
        assert!(t.elapsed() < Duration::from_secs(30));
        // The reason is the last frame when the socket could still take it
        // (here the client read nothing for 8 s, so it may not have fitted).
        if let Some(r) = reason {
            assert_eq!(r, "slow_consumer");
        }
        assert!(
            publish < Duration::from_secs(10),
            "publisher slowed: {publish:?}"
        );
    });
}

#[test]
fn sse_twin_streams_the_same_ticks() {
    use std::io::{BufRead, BufReader};
    let bus = Arc::new(InProcessBus::new(1024));
    let s = start_with(Some(bus.clone()), 4096);
    let bad = ureq::get(&format!("{}/api/v1/stream/sse", s.base))
        .header("x-api-key", &s.key)
        .call();
    assert!(matches!(bad, Err(ureq::Error::StatusCode(400))));
    let mut resp = ureq::get(&format!(
        "{}/api/v1/stream/sse?instruments=MISO.INDIANA.HUB",
        s.base
    ))
    .header("x-api-key", &s.key)
    .call()
    .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // Publish from a real ingest while this thread reads the event stream.
    let r = runner(&s, &bus);
    let ingest = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(r.ingest(
                "file",
                payload("20261001_da_expost_lmp.csv", revised_report()),
                None,
            ))
            .unwrap();
    });
    let mut lines = BufReader::new(resp.body_mut().as_reader()).lines();
    let mut ticks = Vec::new();
    let mut event = String::new();
    while ticks.len() < 24 {
        let line = lines.next().unwrap().unwrap();
        if let Some(e) = line.strip_prefix("event: ") {
            event = e.to_string();
        } else if let Some(d) = line.strip_prefix("data: ") {
            assert_eq!(event, "tick");
            ticks.push(serde_json::from_str::<Value>(d).unwrap());
        }
    }
    ingest.join().unwrap();
    assert!(
        ticks
            .iter()
            .all(|t| t["instrument_id"] == "MISO.INDIANA.HUB" && t["market_run"] == "da")
    );
    let he1 = ticks
        .iter()
        .find(|t| t["interval_start_utc"] == "2026-10-01T05:00:00Z")
        .unwrap();
    assert_eq!(he1["components"]["lmp"], 40.52);
}
