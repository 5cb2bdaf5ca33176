//! Identity and access through the real server: credentials on every route,
//! login sessions (cookie and bearer), the pilots' entitlement matrix on
//! REST, exports and the stream (including WebSocket fan-out), rate limits,
//! Parquet/CSV equal to JSON, the admin API and the audit trail.

use std::{sync::Arc, time::Duration};

use carbon_api::{ApiSettings, RateLimits};
use carbon_auth::AuthConfig;
use carbon_ingest::{
    bus::InProcessBus,
    dq::DqConfig,
    runner::{Payload, Runner},
};
use carbon_store::{ApiKey, Directory, verify_chain};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use super::{
    api::{Idp, Resp, Server, get, hub, hub_login, request, start, start_full},
    stream::{fixture, payload, revised_report},
};

const DAY: &str =
    "/api/v1/prices?instrument_id=MISO.INDIANA.HUB&start=2026-10-01&end=2026-10-02&market_run=da";
pub(crate) const SP15_DAY: &str = "/api/v1/prices?instrument_id=CAISO.TH_SP15_GEN-APND&start=2020-01-01T00:00:00Z&end=2020-01-03T00:00:00Z";

/// SYNTHETIC (labelled): the fixtures hold no CAISO hub file, so the real
/// CAISO DAM rows of node AFPR_1_TOT_GEN-APND are relabelled to the SP15
/// trading hub. The real file is ingested as well, under its own node.
fn caiso_hub_payload() -> Payload {
    let real = String::from_utf8(fixture(
        "caiso/oasis_PRC_LMP_DAM_20200101_ALL_APNODES_9rows.csv",
    ))
    .unwrap();
    payload(
        "synthetic-sp15-from-AFPR.csv",
        real.replace("AFPR_1_TOT_GEN-APND", "TH_SP15_GEN-APND")
            .into_bytes(),
    )
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Ingests the CAISO rows: the real file and the relabelled hub.
pub(crate) async fn ingest_caiso(r: &Runner) {
    let real = fixture("caiso/oasis_PRC_LMP_DAM_20200101_ALL_APNODES_9rows.csv");
    r.ingest("file", payload("oasis.csv", real), None)
        .await
        .unwrap();
    r.ingest("file", caiso_hub_payload(), None).await.unwrap();
}

/// Loads the CAISO rows into a server's store.
pub(crate) fn load_caiso(s: &Server) {
    let r = Runner::new(
        s.store.clone(),
        s.store.clone(),
        Arc::new(InProcessBus::default()),
        DqConfig::default(),
    );
    rt().block_on(ingest_caiso(&r));
}

fn password(s: &Server, user: &str) -> String {
    s.accounts.iter().find(|a| a.0 == user).unwrap().1.clone()
}

/// Logs in; returns the session's cookies (see [`hub_login`]).
fn login(s: &Server, user: &str) -> String {
    hub_login(s, user, &password(s, user))
}

fn as_cookie(s: &Server, cookie: &str, path: &str) -> Resp {
    request(s, "GET", path, &hub(cookie), None)
}

fn as_key(s: &Server, key: &str, path: &str) -> Resp {
    request(s, "GET", path, &[("x-api-key", key)], None)
}

/// A key for `tenant` written straight into the directory (as if made before
/// its grants changed): what the server does with a key the policy denies.
pub(crate) fn raw_key(s: &Server, tenant: &str) -> String {
    let id = "abcdef012345";
    let secret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t";
    rt().block_on(s.store.create_api_key(ApiKey {
        id: id.into(),
        tenant: tenant.into(),
        owner: None,
        name: "legacy".into(),
        secret_hash: carbon_auth::secret::sha256_hex(secret),
        created: chrono::Utc::now(),
        revoked: None,
        expires: None,
        last_used: None,
        ip_allow: None,
    }))
    .unwrap();
    format!("ck_{id}_{secret}")
}

fn ids(r: &Resp) -> Vec<String> {
    r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            x["id"]
                .as_str()
                .or(x["code"].as_str())
                .or(x["instrument_id"].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

/// The GET routes of the OpenAPI document, with parameters that make them valid.
fn data_routes() -> Vec<String> {
    vec![
        "/api/v1/markets".into(),
        "/api/v1/instruments".into(),
        DAY.into(),
        "/api/v1/prices/latest?instrument_id=MISO.INDIANA.HUB".into(),
        "/api/v1/prices/spread?a=MISO.INDIANA.HUB&b=MISO.MICHIGAN.HUB&start=2026-10-01&end=2026-10-02".into(),
        "/api/v1/ingest/runs".into(),
        "/api/v1/quality".into(),
        "/api/v1/exports/prices?instrument_id=MISO.INDIANA.HUB&start=2026-10-01&end=2026-10-02".into(),
        "/api/v1/stream/sse?markets=MISO".into(),
        "/api/v1/auth/me".into(),
        "/api/v1/keys".into(),
        "/api/v1/admin/tenants".into(),
        "/api/v1/admin/audit".into(),
    ]
}

#[test]
fn every_api_route_needs_credentials_and_bad_ones_are_401() {
    let s = start();
    // The OpenAPI document lists every route these tests call.
    let spec = get(&s, "/openapi.json").json();
    for route in data_routes() {
        let path = route.split('?').next().unwrap();
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} missing from openapi.json"
        );
        for headers in [
            vec![],
            vec![("x-api-key", "ck_000000000000_nope")],
            vec![("authorization", "Bearer not.a.jwt")],
            vec![("cookie", "carbon_session=garbage")],
        ] {
            let r = request(&s, "GET", &route, &headers, None);
            assert_eq!(r.status, 401, "{route} {headers:?}: {}", r.body);
            assert_eq!(r.content_type, "application/problem+json");
            assert!(r.header("www-authenticate").is_some());
        }
    }
    // Public: health, readiness, metrics, the spec, docs, JWKS, login config.
    for p in [
        "/health",
        "/ready",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/.well-known/jwks.json",
        "/api/v1/auth/config",
    ] {
        let r = request(&s, "GET", p, &[], None);
        assert_eq!(r.status, 200, "{p}");
    }
    // Bearer API keys work like X-API-Key.
    let r = request(
        &s,
        "GET",
        DAY,
        &[("authorization", &format!("Bearer {}", s.key))],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn login_sessions_cookie_bearer_jwks_and_logout() {
    let s = start();
    let bad = request(
        &s,
        "POST",
        "/api/v1/auth/login",
        &[],
        Some(&json!({ "username": "admin", "password": "not-the-password" })),
    );
    assert_eq!(bad.status, 401);
    let malformed = request(
        &s,
        "POST",
        "/api/v1/auth/login",
        &[],
        Some(&json!({ "user": "admin" })),
    );
    assert_eq!(malformed.status, 422, "{}", malformed.body);

    let cookie = login(&s, "admin");
    let token = cookie
        .split("; ")
        .find_map(|kv| kv.strip_prefix("carbon_session="))
        .unwrap()
        .to_string();
    // The session token verifies against the published JWKS.
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(get(&s, "/.well-known/jwks.json").json()).unwrap();
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&["carbon-hub"]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(
        (claims["sub"].as_str(), claims["chn"].as_str()),
        (Some("admin"), Some("hub"))
    );
    let me = as_cookie(&s, &cookie, "/api/v1/auth/me").json();
    assert_eq!(me["subject"], "admin");
    assert_eq!(me["channels"]["rest"], "hub");
    assert_eq!(me["admin"], true);
    assert_eq!(
        me["csrf_token"], claims["csrf"],
        "the hub recovers its CSRF token after a reload"
    );

    // The session replayed by a program, as a bearer token or an API key
    // header, on REST and on the stream: refused, saying how programs sign in.
    for (path, header, value) in [
        (
            "/api/v1/auth/me",
            "authorization",
            format!("Bearer {token}"),
        ),
        (DAY, "authorization", format!("Bearer {token}")),
        (
            "/api/v1/stream/sse?instruments=MISO.INDIANA.HUB",
            "authorization",
            format!("Bearer {token}"),
        ),
        (DAY, "x-api-key", token.clone()),
    ] {
        let r = request(&s, "GET", path, &[(header, &value)], None);
        assert_eq!(r.status, 401, "{path} {header}: {}", r.body);
        let detail = r.json()["detail"].as_str().unwrap().to_string();
        assert!(
            detail.contains("API key") || detail.contains("invalid API key"),
            "{path} {header}: {detail}"
        );
        if header == "authorization" {
            assert_eq!(detail, carbon_auth::SESSION_NOT_A_BEARER);
        }
    }

    // CSRF: a state change on the cookie without the session's token, or
    // with another one, is refused (and audited); with it, it goes through.
    let bare = [("cookie", cookie.as_str())];
    let wrong = [
        ("cookie", cookie.as_str()),
        ("x-csrf-token", "not-the-token"),
    ];
    for headers in [&bare[..], &wrong[..]] {
        let r = request(
            &s,
            "POST",
            "/api/v1/keys",
            headers,
            Some(&json!({ "name": "csrf" })),
        );
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(r.json()["code"], "csrf_required");
    }
    let r = request(
        &s,
        "POST",
        "/api/v1/keys",
        &hub(&cookie),
        Some(&json!({ "name": "csrf" })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // A read needs no CSRF token (SameSite=Strict keeps other sites' pages out).
    assert_eq!(request(&s, "GET", DAY, &bare, None).status, 200);
    // A page of another origin cannot use the session, even for a read.
    let foreign = [
        ("cookie", cookie.as_str()),
        ("origin", "http://evil.example"),
    ];
    let r = request(&s, "GET", DAY, &foreign, None);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["code"], "foreign_origin");
    let own = s.base.clone();
    assert_eq!(
        request(
            &s,
            "GET",
            DAY,
            &[("cookie", cookie.as_str()), ("origin", own.as_str())],
            None
        )
        .status,
        200
    );

    // Sign-out ends the session on the server: the cookie, replayed, is dead.
    let out = request(&s, "POST", "/api/v1/auth/logout", &hub(&cookie), None);
    assert_eq!(out.status, 204);
    assert!(
        out.headers_all("set-cookie")
            .iter()
            .all(|c| c.contains("Max-Age=0")),
        "{:?}",
        out.headers_all("set-cookie")
    );
    let r = as_cookie(&s, &cookie, "/api/v1/auth/me");
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains("ended"), "{}", r.body);
    // The audit log holds the refusals and the sign-out.
    let admin = login(&s, "admin");
    let audit = as_cookie(&s, &admin, "/api/v1/admin/audit?limit=10000").json();
    let events = audit["data"].as_array().unwrap().clone();
    let text = serde_json::to_string(&events).unwrap();
    for want in ["\"csrf\"", "\"foreign_origin\"", "\"logout\""] {
        assert!(text.contains(want), "{want} not audited: {text}");
    }
}

#[test]
fn pilot_entitlement_matrix_on_rest_and_exports() {
    let s = start();
    load_caiso(&s);
    let caiso_hub = login(&s, "caiso_demo");
    let miso_hub = login(&s, "miso_demo");
    let miso_key = {
        let r = request(
            &s,
            "POST",
            "/api/v1/keys",
            &hub(&miso_hub),
            Some(&json!({ "name": "etl" })),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["key"].as_str().unwrap().to_string()
    };
    let caiso_key = raw_key(&s, "pilot_caiso");

    // pilot_caiso through the hub: the three CAISO hubs and nothing else.
    let sp15 = as_cookie(&s, &caiso_hub, SP15_DAY);
    assert_eq!(sp15.status, 200, "{}", sp15.body);
    let rows = sp15.json()["data"].as_array().unwrap().clone();
    // The file holds 8 hourly LMP rows and one MCC row (of an hour already there).
    assert_eq!(rows.len(), 8);
    // 2020-01-02T01:00Z is the real file's 37.19566 (relabelled to SP15).
    let he18 = rows
        .iter()
        .find(|r| r["interval_start_utc"] == "2020-01-02T01:00:00Z")
        .unwrap();
    assert_eq!(he18["lmp"], 37.19566);
    assert_eq!(
        ids(&as_cookie(&s, &caiso_hub, "/api/v1/markets")),
        ["CAISO"]
    );
    assert_eq!(
        ids(&as_cookie(&s, &caiso_hub, "/api/v1/instruments")),
        ["CAISO.TH_SP15_GEN-APND"]
    );
    for denied in [
        DAY.to_string(),
        "/api/v1/prices?instrument_id=CAISO.AFPR_1_TOT_GEN-APND&start=2020-01-01&end=2020-01-03"
            .into(),
        "/api/v1/instruments?market=MISO".into(),
    ] {
        let r = as_cookie(&s, &caiso_hub, &denied);
        assert_eq!(r.status, 403, "{denied}: {}", r.body);
        assert_eq!(r.json()["code"], "forbidden");
    }
    // Downloads are allowed for the hubs (channel `downloads`).
    let export = as_cookie(
        &s,
        &caiso_hub,
        &SP15_DAY.replace("/api/v1/prices", "/api/v1/exports/prices"),
    );
    assert_eq!(export.status, 200, "{}", export.body);
    assert!(
        export
            .header("content-disposition")
            .unwrap()
            .contains("prices.csv")
    );
    assert_eq!(export.body.lines().count(), 1 + 8);
    // pilot_caiso cannot make API keys, and a key it somehow holds opens nothing.
    let r = request(
        &s,
        "POST",
        "/api/v1/keys",
        &hub(&caiso_hub),
        Some(&json!({ "name": "x" })),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    for route in data_routes().iter().filter(|r| {
        !r.contains("/admin/") && !r.contains("/auth/me") && !r.contains("/api/v1/keys")
    }) {
        let r = as_key(&s, &caiso_key, route);
        assert_eq!(r.status, 403, "pilot_caiso key {route}: {}", r.body);
    }
    // (The loop above used this key's one export per second.)
    std::thread::sleep(Duration::from_millis(1100));
    let r = as_key(
        &s,
        &caiso_key,
        &SP15_DAY.replace("/api/v1/prices", "/api/v1/exports/prices"),
    );
    assert_eq!(r.status, 200, "downloads stays open to the key: {}", r.body);

    // pilot_miso: MISO on every channel, CAISO on none.
    for (who, cred) in [
        ("hub", ("cookie", miso_hub.as_str())),
        ("key", ("x-api-key", miso_key.as_str())),
    ] {
        let ok = request(&s, "GET", DAY, &[cred], None);
        assert_eq!(ok.status, 200, "{who}");
        let no = request(&s, "GET", SP15_DAY, &[cred], None);
        assert_eq!(no.status, 403, "{who}: {}", no.body);
        let markets = ids(&request(&s, "GET", "/api/v1/markets", &[cred], None));
        assert_eq!(markets, ["MISO"], "{who}");
        let inst = ids(&request(&s, "GET", "/api/v1/instruments", &[cred], None));
        assert!(
            !inst.is_empty() && inst.iter().all(|i| i.starts_with("MISO.")),
            "{who}: {inst:?}"
        );
        let q = request(&s, "GET", "/api/v1/quality", &[cred], None).json();
        assert!(
            q["freshness"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["instrument_id"].as_str().unwrap().starts_with("MISO."))
        );
        let latest = request(
            &s,
            "GET",
            "/api/v1/prices/latest?market=CAISO",
            &[cred],
            None,
        );
        assert_eq!(latest.status, 403, "{who}");
        let export = request(
            &s,
            "GET",
            &SP15_DAY.replace("/api/v1/prices", "/api/v1/exports/prices"),
            &[cred],
            None,
        );
        assert_eq!(export.status, 403, "{who}");
    }
    // Every denial is in the audit log, and the chain verifies.
    let events = rt().block_on(s.store.audit_events(0, 10_000)).unwrap();
    let denied = events
        .iter()
        .filter(|e| e.event.action == "access_denied")
        .count();
    assert!(denied >= 10, "{denied}");
    assert!(events.iter().any(|e| e.event.action == "export" && e.event.tenant.as_deref() == Some("pilot_caiso")));
    let head = rt().block_on(s.store.audit_head()).unwrap();
    assert!(verify_chain(&events, head).intact());
}

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn ws_connect(s: &Server, header: (&str, &str)) -> Result<Ws, u16> {
    let url = format!("{}/api/v1/stream", s.base.replace("http://", "ws://"));
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert(axum_header(header.0), header.1.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

fn axum_header(name: &str) -> tokio_tungstenite::tungstenite::http::HeaderName {
    name.parse().unwrap()
}

pub(crate) async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("open")
            .unwrap();
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] != "heartbeat" {
                return v;
            }
        }
    }
}

#[test]
fn stream_entitlements_and_fan_out_per_tenant() {
    let bus = Arc::new(InProcessBus::new(1024));
    let s = start_full(
        Some(bus.clone()),
        4096,
        ApiSettings::default(),
        AuthConfig::default(),
    );
    let caiso_key = raw_key(&s, "pilot_caiso");
    let miso_hub = login(&s, "miso_demo");
    let caiso_hub = login(&s, "caiso_demo");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // pilot_caiso's key: the upgrade itself is refused.
        assert_eq!(
            ws_connect(&s, ("x-api-key", &caiso_key)).await.err(),
            Some(403)
        );
        // pilot_miso's hub session subscribes to both markets: CAISO is refused.
        let mut miso = ws_connect(&s, ("cookie", &miso_hub)).await.unwrap();
        miso.send(Message::Text(
            json!({"op":"subscribe","markets":["CAISO"]})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
        let e = next_json(&mut miso).await;
        assert_eq!(
            (e["type"].as_str(), e["code"].as_str()),
            (Some("error"), Some("forbidden"))
        );
        miso.send(Message::Text(
            json!({"op":"subscribe","markets":["MISO"]})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
        assert_eq!(next_json(&mut miso).await["type"], "subscribed");
        // pilot_caiso's hub session may subscribe to its hubs, not to a whole other node.
        let mut caiso = ws_connect(&s, ("cookie", &caiso_hub)).await.unwrap();
        caiso
            .send(Message::Text(
                json!({"op":"subscribe","instruments":["CAISO.AFPR_1_TOT_GEN-APND"]})
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
        assert_eq!(next_json(&mut caiso).await["code"], "forbidden");
        caiso
            .send(Message::Text(
                json!({"op":"subscribe","markets":["CAISO"]})
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
        assert_eq!(next_json(&mut caiso).await["type"], "subscribed");
        // A real ingest of CAISO (real node + SP15) then MISO rows.
        let r = Runner::new(
            s.store.clone(),
            s.store.clone(),
            bus.clone(),
            DqConfig::default(),
        );
        ingest_caiso(&r).await;
        r.ingest(
            "file",
            payload("20261001_da_expost_lmp.csv", revised_report()),
            None,
        )
        .await
        .unwrap();
        // CAISO hub session: exactly the 8 SP15 ticks, never the other node.
        for _ in 0..8 {
            let t = next_json(&mut caiso).await;
            assert_eq!(
                (t["type"].as_str(), t["instrument_id"].as_str()),
                (Some("tick"), Some("CAISO.TH_SP15_GEN-APND"))
            );
        }
        // MISO session: MISO ticks only (the CAISO events came first and were filtered).
        let t = next_json(&mut miso).await;
        assert_eq!(t["type"], "tick");
        assert!(
            t["instrument_id"].as_str().unwrap().starts_with("MISO."),
            "{t}"
        );
        // Nothing more for CAISO: a ping is answered before any further tick.
        caiso
            .send(Message::Text(json!({"op":"ping"}).to_string().into()))
            .await
            .unwrap();
        assert_eq!(next_json(&mut caiso).await["type"], "pong");
    });
    // The refused subscriptions (pilot_miso's CAISO, pilot_caiso's other
    // node) count as entitlement denials on the hub channel; the refused
    // upgrade of pilot_caiso's key on the stream channel.
    let m = request(&s, "GET", "/metrics", &[], None).body;
    for series in [
        "carbon_entitlement_denials_total{tenant=\"pilot_miso\",channel=\"hub\"} 1",
        "carbon_entitlement_denials_total{tenant=\"pilot_caiso\",channel=\"hub\"} 1",
        "carbon_entitlement_denials_total{tenant=\"pilot_caiso\",channel=\"stream\"} 1",
    ] {
        assert!(m.contains(series), "{series}:\n{m}");
    }
}

#[test]
fn rate_limits_answer_429_with_headers_then_recover() {
    let settings = ApiSettings {
        rate_limits: RateLimits {
            general: 100.0,
            data: 5.0,
            exports: 1.0,
        },
        ..ApiSettings::default()
    };
    let s = start_full(None, 4096, settings, AuthConfig::default());
    let codes: Vec<u16> = (0..10).map(|_| get(&s, DAY).status).collect();
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 5, "{codes:?}");
    let limited = get(&s, DAY);
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()["code"], "rate_limited");
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert_eq!(limited.header("ratelimit-limit"), Some("5"));
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    // The general class is separate and still open.
    assert_eq!(get(&s, "/api/v1/markets").status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    let ok = get(&s, DAY);
    assert_eq!(ok.status, 200);
    assert!(ok.header("ratelimit-remaining").is_some());
    // Exports: one per second.
    let e = DAY.replace("/api/v1/prices", "/api/v1/exports/prices");
    assert_eq!(get(&s, &e).status, 200);
    assert_eq!(get(&s, &e).status, 429);
}

#[test]
fn parquet_and_csv_equal_json_and_bodies_are_limited() {
    let s = start_full(
        None,
        4096,
        ApiSettings {
            body_limit_bytes: 1024,
            export_page_rows: 5,
            ..ApiSettings::default()
        },
        AuthConfig::default(),
    );
    let q = "/api/v1/prices?instrument_id=MISO.INDIANA.HUB&instrument_id=MISO.MICHIGAN.HUB&start=2026-10-01&end=2026-10-02";
    let json = get(&s, q).json()["data"].as_array().unwrap().clone();
    // 24 DA hours and 3 five-minute intervals of each hub.
    assert_eq!(json.len(), 2 * (24 + 3));
    let pq = get(&s, &format!("{q}&format=parquet"));
    assert_eq!(pq.status, 200);
    assert_eq!(pq.content_type, "application/vnd.apache.parquet");
    assert_eq!(&pq.bytes[..4], b"PAR1");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.parquet");
    std::fs::write(&f, &pq.bytes).unwrap();
    let c = duckdb::Connection::open_in_memory().unwrap();
    let mut stmt = c
        .prepare(&format!(
            "SELECT instrument_id, market_run, strftime(interval_start_utc, '%Y-%m-%dT%H:%M:%SZ'), lmp, energy, congestion, loss FROM read_parquet('{}')",
            f.display()
        ))
        .unwrap();
    type Row = (
        String,
        String,
        String,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
    );
    let rows: Vec<Row> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows.len(), json.len());
    for (p, j) in rows.iter().zip(&json) {
        assert_eq!(p.0, j["instrument_id"].as_str().unwrap());
        assert_eq!(p.1, j["market_run"].as_str().unwrap());
        assert_eq!(p.2, j["interval_start_utc"].as_str().unwrap());
        assert_eq!(p.3, j["lmp"].as_f64());
        assert_eq!(p.4, j["energy"].as_f64());
        assert_eq!(p.5, j["congestion"].as_f64());
        assert_eq!(p.6, j["loss"].as_f64());
    }
    // A CSV export streams the whole query in store pages of 5 rows (11 reads
    // here) and carries exactly the JSON's rows.
    let csv = get(&s, &q.replace("/api/v1/prices", "/api/v1/exports/prices"));
    assert_eq!(csv.status, 200);
    assert!(
        csv.header("content-length").is_none(),
        "streamed, not buffered"
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), json.len() + 1);
    assert_eq!(lines[0], carbon_api_csv_header());
    for (line, j) in lines[1..].iter().zip(&json) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[0], j["instrument_id"].as_str().unwrap());
        assert_eq!(f[2], j["interval_start_utc"].as_str().unwrap());
        assert_eq!(f[4].parse::<f64>().ok(), j["lmp"].as_f64());
    }
    // A body over the limit is a 413 problem, not a 5xx.
    let big = json!({ "username": "x".repeat(2000), "password": "y" });
    let r = request(&s, "POST", "/api/v1/auth/login", &[], Some(&big));
    assert_eq!(r.status, 413, "{}", r.body);
}

#[test]
fn admin_api_manages_access_and_non_admins_are_refused() {
    let s = start();
    let admin = login(&s, "admin");
    let miso = login(&s, "miso_demo");
    let post = |c: &str, path: &str, body: Value| request(&s, "POST", path, &hub(c), Some(&body));
    // Non-admins: 403 (audited).
    assert_eq!(as_cookie(&s, &miso, "/api/v1/admin/tenants").status, 403);
    assert_eq!(
        post(&miso, "/api/v1/admin/tenants", json!({"id": "x"})).status,
        403
    );
    // Admin: a tenant, a user, a grant, a key; the new user's access follows the grant.
    assert_eq!(
        post(
            &admin,
            "/api/v1/admin/tenants",
            json!({"id": "acme", "name": "Acme"})
        )
        .status,
        201
    );
    assert_eq!(
        post(&admin, "/api/v1/admin/tenants", json!({"id": "acme"})).status,
        400
    );
    let u = post(
        &admin,
        "/api/v1/admin/users",
        json!({"username": "ann", "tenant": "acme", "password": "correct-horse-battery"}),
    );
    assert_eq!(u.status, 201, "{}", u.body);
    assert!(u.json().get("password_hash").is_none());
    let weak = post(
        &admin,
        "/api/v1/admin/users",
        json!({"username": "bob", "tenant": "acme", "password": "short"}),
    );
    assert_eq!(
        (weak.status, weak.json()["param"].as_str()),
        (400, Some("password"))
    );
    let g = post(
        &admin,
        "/api/v1/admin/entitlements",
        json!({
            "tenant": "acme", "market": "MISO", "product": "lmp", "channels": ["api"],
            "instruments": ["MISO.INDIANA.HUB"], "start": "2026-10-01", "end": "2026-10-31"
        }),
    );
    assert_eq!(g.status, 201, "{}", g.body);
    let bad = post(
        &admin,
        "/api/v1/admin/entitlements",
        json!({"tenant": "acme", "market": "MISO", "product": "lmp", "channels": ["fax"]}),
    );
    assert_eq!(
        (bad.status, bad.json()["param"].as_str()),
        (400, Some("channels"))
    );
    let k = post(
        &admin,
        "/api/v1/admin/keys",
        json!({"tenant": "acme", "name": "feed"}),
    );
    assert_eq!(k.status, 201, "{}", k.body);
    let key = k.json()["key"].as_str().unwrap().to_string();
    let key_id = k.json()["id"].as_str().unwrap().to_string();
    assert_eq!(as_key(&s, &key, DAY).status, 200);
    let michigan = DAY.replace("INDIANA", "MICHIGAN");
    assert_eq!(as_key(&s, &key, &michigan).status, 403);
    let outside = DAY.replace("2026-10-02", "2026-11-02");
    let r = as_key(&s, &key, &outside);
    assert_eq!(r.status, 403);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("2026-10-01..2026-10-31")
    );
    // Keys are listed without secrets; revocation is immediate.
    let list = as_cookie(&s, &admin, "/api/v1/admin/keys?tenant=acme");
    assert!(!list.body.contains(&key[16..]));
    let del = request(
        &s,
        "DELETE",
        &format!("/api/v1/admin/keys/{key_id}"),
        &hub(&admin),
        None,
    );
    assert_eq!(del.status, 204);
    assert_eq!(as_key(&s, &key, DAY).status, 401);
    // Removing a grant is immediate too.
    let gid = g.json()["id"].as_str().unwrap().to_string();
    let del = request(
        &s,
        "DELETE",
        &format!("/api/v1/admin/entitlements/{gid}"),
        &hub(&admin),
        None,
    );
    assert_eq!(del.status, 204);
    // The audit endpoint shows the trail.
    let audit = as_cookie(&s, &admin, "/api/v1/admin/audit?limit=10000").json();
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "tenant_created",
        "user_saved",
        "grant_added",
        "key_created",
        "key_revoked",
        "grant_removed",
        "login",
        "access_denied",
    ] {
        assert!(actions.contains(&a), "{a} missing: {actions:?}");
    }
}

/// External OIDC through the server: a provider on 127.0.0.1 publishes an
/// ES256 key; its tokens are programs (`api` on REST), their tenant claim
/// picks the grants, and bad tokens are 401.
#[test]
fn oidc_tokens_of_a_configured_provider_are_programs_of_their_tenant() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let idp = Idp::start();
    let issuer = idp.issuer.clone();
    let auth = AuthConfig {
        oidc: Some(idp.config()),
        ..AuthConfig::default()
    };
    let s = start_full(None, 4096, ApiSettings::default(), auth);
    load_caiso(&s);
    let now = chrono::Utc::now().timestamp();
    // Tokens the provider issued to `client` (`azp`).
    let token_for = |client: &str, tenant: &str, exp: i64| idp.token(client, tenant, exp);
    let token = |tenant: &str, exp: i64| token_for("carbon-hub", tenant, exp);
    let bearer = |t: &str| format!("Bearer {t}");
    let miso = token("pilot_miso", now + 300);
    let me = request(
        &s,
        "GET",
        "/api/v1/auth/me",
        &[("authorization", &bearer(&miso))],
        None,
    )
    .json();
    assert_eq!(
        (me["tenant"].as_str(), me["channels"]["rest"].as_str()),
        (Some("pilot_miso"), Some("api"))
    );
    assert_eq!(me["channels"]["stream"], "stream");
    assert_eq!(
        request(&s, "GET", DAY, &[("authorization", &bearer(&miso))], None).status,
        200
    );
    assert_eq!(
        request(
            &s,
            "GET",
            SP15_DAY,
            &[("authorization", &bearer(&miso))],
            None
        )
        .status,
        403
    );
    // pilot_caiso's program: no `api` channel, so even its hubs are 403.
    let caiso = token("pilot_caiso", now + 300);
    assert_eq!(
        request(
            &s,
            "GET",
            SP15_DAY,
            &[("authorization", &bearer(&caiso))],
            None
        )
        .status,
        403
    );
    // Expired, and tampered, are 401.
    let expired = token("pilot_miso", now - 600);
    assert_eq!(
        request(
            &s,
            "GET",
            DAY,
            &[("authorization", &bearer(&expired))],
            None
        )
        .status,
        401
    );
    let mut parts: Vec<String> = miso.split('.').map(str::to_string).collect();
    parts[1] = b64(json!({ "iss": issuer, "aud": "carbon", "sub": "svc", "exp": now + 300, "tenant_id": "platform" }).to_string().as_bytes());
    let forged = parts.join(".");
    assert_eq!(
        request(&s, "GET", DAY, &[("authorization", &bearer(&forged))], None).status,
        401
    );
    // The hub learns where to send people to sign in.
    let cfg = request(&s, "GET", "/api/v1/auth/config", &[], None).json();
    assert_eq!(cfg["oidc"]["client_id"], "carbon-hub");
    // A token the provider issued to another client (a service account) is a
    // program: it queries as `api`, but never becomes a hub session.
    let service = token_for("etl-service", "pilot_miso", now + 300);
    let r = request(
        &s,
        "GET",
        DAY,
        &[("authorization", &bearer(&service))],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = request(
        &s,
        "POST",
        "/api/v1/auth/oidc/session",
        &[("authorization", &bearer(&service))],
        None,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body.contains("`etl-service`") && r.body.contains("carbon-hub"),
        "{}",
        r.body
    );
    assert!(r.headers_all("set-cookie").is_empty());
    // The end of the hub's OIDC sign-in: the provider's token becomes a hub
    // session (cookie), channel `hub`, same tenant and subject.
    let r = request(
        &s,
        "POST",
        "/api/v1/auth/oidc/session",
        &[("authorization", &bearer(&miso))],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let set = r.headers_all("set-cookie");
    assert!(
        set[0].starts_with("carbon_session=") && set[0].contains("HttpOnly"),
        "{set:?}"
    );
    assert!(r.json().get("access_token").is_none(), "{}", r.body);
    let cookie = format!(
        "{}; carbon_csrf={}",
        set[0].split(';').next().unwrap(),
        r.json()["csrf_token"].as_str().unwrap()
    );
    let me = request(&s, "GET", "/api/v1/auth/me", &hub(&cookie), None).json();
    assert_eq!(
        (
            me["subject"].as_str(),
            me["tenant"].as_str(),
            me["channels"]["rest"].as_str()
        ),
        (Some("svc"), Some("pilot_miso"), Some("hub"))
    );
    assert_eq!(request(&s, "GET", DAY, &hub(&cookie), None).status, 200);
    // Only the provider's token can be exchanged: not a key, not a session.
    let by_key = [("x-api-key", s.key.as_str())];
    for headers in [&by_key[..], &hub(&cookie)[..]] {
        let r = request(&s, "POST", "/api/v1/auth/oidc/session", headers, None);
        assert_eq!(r.status, 403, "{headers:?}: {}", r.body);
        assert_eq!(r.json()["code"], "forbidden", "{}", r.body);
    }
    assert_eq!(
        request(
            &s,
            "POST",
            "/api/v1/auth/oidc/session",
            &[("authorization", &bearer(&expired))],
            None
        )
        .status,
        401
    );
}

/// CORS: off unless configured; configured origins get the headers (and a
/// preflight answer), others get none.
#[test]
fn cors_answers_only_configured_origins() {
    let s = start_full(
        None,
        4096,
        ApiSettings {
            cors_origins: vec!["http://hub.example".into()],
            ..ApiSettings::default()
        },
        AuthConfig::default(),
    );
    let pre = request(
        &s,
        "OPTIONS",
        "/api/v1/prices",
        &[
            ("origin", "http://hub.example"),
            ("access-control-request-method", "GET"),
        ],
        None,
    );
    assert_eq!(pre.status, 200);
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some("http://hub.example")
    );
    assert_eq!(pre.header("access-control-allow-credentials"), Some("true"));
    assert!(
        pre.header("access-control-allow-headers")
            .unwrap()
            .contains("x-api-key")
    );
    let ok = request(
        &s,
        "GET",
        DAY,
        &[("origin", "http://hub.example"), ("x-api-key", &s.key)],
        None,
    );
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("http://hub.example")
    );
    let other = request(
        &s,
        "GET",
        DAY,
        &[("origin", "http://evil.example"), ("x-api-key", &s.key)],
        None,
    );
    assert_eq!(other.header("access-control-allow-origin"), None);
    let default = start();
    let r = request(
        &default,
        "GET",
        DAY,
        &[
            ("origin", "http://hub.example"),
            ("x-api-key", &default.key),
        ],
        None,
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
    // A preflight from a foreign origin gets no permission either.
    let pre = request(
        &s,
        "OPTIONS",
        "/api/v1/prices",
        &[
            ("origin", "http://evil.example"),
            ("access-control-request-method", "GET"),
        ],
        None,
    );
    assert_eq!(pre.header("access-control-allow-origin"), None);
}

/// `cors_origins = ["*"]`: any origin may read answers to requests without
/// credentials, and no answer ever allows credentials.
#[test]
fn cors_star_never_goes_with_credentials() {
    let s = start_full(
        None,
        4096,
        ApiSettings {
            cors_origins: vec!["*".into()],
            ..ApiSettings::default()
        },
        AuthConfig::default(),
    );
    for (method, headers) in [
        (
            "OPTIONS",
            vec![
                ("origin", "http://evil.example"),
                ("access-control-request-method", "GET"),
            ],
        ),
        (
            "GET",
            vec![
                ("origin", "http://evil.example"),
                ("x-api-key", s.key.as_str()),
            ],
        ),
    ] {
        let r = request(&s, method, DAY, &headers, None);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("*"),
            "{method}"
        );
        assert_eq!(
            r.header("access-control-allow-credentials"),
            None,
            "{method}"
        );
    }
}

/// Security headers on the hub, the docs page and API answers (problems included).
#[test]
fn security_headers_on_every_kind_of_answer() {
    let s = start();
    for (path, csp_start) in [
        ("/", "default-src 'self'; script-src 'self';"),
        ("/explorer", "default-src 'self'; script-src 'self';"),
        ("/docs", "default-src 'none'; script-src 'sha256-"),
        (
            "/api/v1/markets",
            "default-src 'none'; frame-ancestors 'none'",
        ),
        (
            "/api/v1/nothing-here",
            "default-src 'none'; frame-ancestors 'none'",
        ),
        ("/health", "default-src 'none'; frame-ancestors 'none'"),
    ] {
        let r = get(&s, path);
        let csp = r.header("content-security-policy").unwrap_or("");
        assert!(csp.starts_with(csp_start), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{path}");
        // Not served over TLS here: no HSTS.
        assert_eq!(r.header("strict-transport-security"), None, "{path}");
    }
    // The docs page's policy allows exactly its own inline script, by hash
    // (computed here independently of the server's code).
    let page = get(&s, "/docs");
    let script = page
        .body
        .split_once("<script>")
        .unwrap()
        .1
        .split_once("</script>")
        .unwrap()
        .0;
    let hash = {
        use base64::Engine as _;
        use sha2::Digest as _;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script.as_bytes()))
    };
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains(&format!("script-src 'sha256-{hash}'")),
        "{:?}",
        page.header("content-security-policy")
    );
}

fn carbon_api_csv_header() -> &'static str {
    "instrument_id,market_run,interval_start_utc,interval_end_utc,lmp,energy,congestion,loss,ghg"
}

/// The security dashboard's counters in `/metrics`: each refused request
/// counted once under its reason, denials under tenant and channel, 429s under
/// their class, sign-ins, sign-outs and keys as events.
#[test]
fn security_metrics_count_failures_denials_limits_and_events() {
    let settings = ApiSettings {
        rate_limits: RateLimits {
            general: 100.0,
            data: 3.0,
            exports: 1.0,
        },
        ..ApiSettings::default()
    };
    let s = start_full(None, 4096, settings, AuthConfig::default());
    load_caiso(&s);
    // Authentication failures, one of each kind.
    request(&s, "GET", DAY, &[], None);
    request(&s, "GET", DAY, &[("x-api-key", "ck_nothere_nope")], None);
    let bad = request(
        &s,
        "POST",
        "/api/v1/auth/login",
        &[],
        Some(&json!({ "username": "admin", "password": "wrong-password!" })),
    );
    assert_eq!(bad.status, 401);
    let caiso = login(&s, "caiso_demo");
    let session = caiso
        .split("; ")
        .find_map(|kv| kv.strip_prefix("carbon_session="))
        .unwrap()
        .to_string();
    let r = request(
        &s,
        "GET",
        DAY,
        &[("authorization", &format!("Bearer {session}"))],
        None,
    );
    assert_eq!(r.status, 401);
    let r = request(
        &s,
        "POST",
        "/api/v1/keys",
        &[("cookie", caiso.as_str())],
        Some(&json!({"name": "x"})),
    );
    assert_eq!(r.json()["code"], "csrf_required");
    // Two denials of pilot_caiso through the hub (MISO prices), one of its key (api).
    assert_eq!(as_cookie(&s, &caiso, DAY).status, 403);
    assert_eq!(as_cookie(&s, &caiso, DAY).status, 403);
    let caiso_key = raw_key(&s, "pilot_caiso");
    assert_eq!(as_key(&s, &caiso_key, SP15_DAY).status, 403);
    // 429s: the platform key past 3 data requests per second.
    let codes: Vec<u16> = (0..6).map(|_| get(&s, DAY).status).collect();
    let limited = codes.iter().filter(|c| **c == 429).count();
    assert!(limited >= 2, "{codes:?}");
    // Sign-out.
    let out = request(&s, "POST", "/api/v1/auth/logout", &hub(&caiso), None);
    assert_eq!(out.status, 204);

    let m = get(&s, "/metrics").body;
    for line in [
        "carbon_auth_failures_total{reason=\"missing\"} 1".to_string(),
        "carbon_auth_failures_total{reason=\"api_key\"} 1".into(),
        "carbon_auth_failures_total{reason=\"password\"} 1".into(),
        "carbon_auth_failures_total{reason=\"session_as_bearer\"} 1".into(),
        "carbon_auth_failures_total{reason=\"csrf\"} 1".into(),
        "carbon_entitlement_denials_total{tenant=\"pilot_caiso\",channel=\"hub\"} 2".into(),
        "carbon_entitlement_denials_total{tenant=\"pilot_caiso\",channel=\"api\"} 1".into(),
        format!("carbon_rate_limited_total{{class=\"data\"}} {limited}"),
        "carbon_security_events_total{event=\"login\"} 1".into(),
        "carbon_security_events_total{event=\"logout\"} 1".into(),
        "carbon_hub_sessions 0".into(),
        "# TYPE carbon_auth_failures_total counter".into(),
    ] {
        assert!(m.lines().any(|l| l == line), "missing `{line}` in\n{m}");
    }
}
