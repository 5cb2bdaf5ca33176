//! The entitlement matrix: every tenant × every credential kind × every
//! transport, on one real server, each answer compared with what the tenant's
//! grants say — and every refusal found in the audit log.
//!
//! The expectations are written from the grants alone (the table in
//! [`Tenant`]), not from the policy code: channel by credential and
//! transport, product by route, instrument and dates by query.
//!
//! - pilot_miso: all of MISO (every product, scenarios too) on every channel.
//! - pilot_caiso: LMPs of its three CAISO hubs through `hub`, `downloads`
//!   and `reports`.
//! - limited: LMPs of MISO.INDIANA.HUB on 2026-10-01..=2026-10-02 (UTC
//!   dates) through `hub`, `api`, `stream` and `downloads`.
//!
//! Credentials: the hub's cookie session (with its CSRF token), the same
//! session replayed as `Authorization: Bearer` and as `X-API-Key` (always
//! 401), an API key, and an access token of the OIDC provider issued to a
//! program's client. Reports (`GET /api/v1/reports?market=…`) are channel
//! `reports` whoever asks, as exports are `downloads`.

use std::time::Duration;

use carbon_api::{ApiSettings, RateLimits};
use carbon_auth::AuthConfig;
use carbon_store::Directory;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::{
    access::{load_caiso, next_json, raw_key, ws_connect},
    api::{Idp, Server, hub, hub_login, request, start_full},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// 200 (or the route's success status).
    Ok,
    /// 403, audited as `access_denied`.
    Denied,
    /// 401, audited as a failed authentication.
    Unauthenticated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cred {
    Cookie,
    SessionAsBearer,
    SessionAsApiKey,
    ApiKey,
    Oidc,
}

const CREDS: [Cred; 5] = [
    Cred::Cookie,
    Cred::SessionAsBearer,
    Cred::SessionAsApiKey,
    Cred::ApiKey,
    Cred::Oidc,
];

/// A price query: instrument, range (as the API takes it), market run.
#[derive(Debug, Clone, Copy)]
struct Query {
    instrument: &'static str,
    start: &'static str,
    end: &'static str,
    /// True when only the dates put it outside the grant (the stream has no
    /// dates, so it does not apply there).
    dates_only: bool,
}

impl Query {
    fn params(&self) -> String {
        format!(
            "instrument_id={}&start={}&end={}&market_run=da",
            self.instrument, self.start, self.end
        )
    }
}

/// One tenant as its grants describe it.
struct Tenant {
    id: &'static str,
    user: &'static str,
    /// Channels granted.
    channels: &'static [&'static str],
    /// Products granted (on its market).
    products: &'static [&'static str],
    /// A query inside the grants, and queries outside them.
    inside: Query,
    outside: &'static [Query],
}

// Instants in UTC: a spread across two markets' clocks needs them (a bare
// date would be ambiguous); MISO's 2026-10-01 is 05:00Z..05:00Z (EST).
const INDIANA_DAY: Query = Query {
    instrument: "MISO.INDIANA.HUB",
    start: "2026-10-01T05:00:00Z",
    end: "2026-10-02T05:00:00Z",
    dates_only: false,
};
const SP15_DAYS: Query = Query {
    instrument: "CAISO.TH_SP15_GEN-APND",
    start: "2020-01-01T00:00:00Z",
    end: "2020-01-03T00:00:00Z",
    dates_only: false,
};
const CAISO_NODE: Query = Query {
    instrument: "CAISO.AFPR_1_TOT_GEN-APND",
    start: "2020-01-01T00:00:00Z",
    end: "2020-01-03T00:00:00Z",
    dates_only: false,
};
const ILLINOIS_DAY: Query = Query {
    instrument: "MISO.ILLINOIS.HUB",
    start: "2026-10-01T05:00:00Z",
    end: "2026-10-02T05:00:00Z",
    dates_only: false,
};
const INDIANA_LATER: Query = Query {
    instrument: "MISO.INDIANA.HUB",
    start: "2026-10-01T05:00:00Z",
    end: "2026-10-05T05:00:00Z",
    dates_only: true,
};

const ALL: &[&str] = &["hub", "api", "stream", "downloads", "reports"];

const TENANTS: [Tenant; 3] = [
    Tenant {
        id: "pilot_miso",
        user: "miso_demo",
        channels: ALL,
        products: &["lmp", "curves", "research", "scenarios"],
        inside: INDIANA_DAY,
        outside: &[SP15_DAYS],
    },
    Tenant {
        id: "pilot_caiso",
        user: "caiso_demo",
        channels: &["hub", "downloads", "reports"],
        products: &["lmp"],
        inside: SP15_DAYS,
        outside: &[INDIANA_DAY, CAISO_NODE],
    },
    Tenant {
        id: "limited",
        user: "limited_user",
        channels: &["hub", "api", "stream", "downloads"],
        products: &["lmp"],
        inside: INDIANA_DAY,
        outside: &[INDIANA_LATER, ILLINOIS_DAY, SP15_DAYS],
    },
];

/// How a request moves data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    Json,
    Csv,
    Parquet,
    Export,
    Spread,
    Sse,
    WebSocket,
    Curves,
    Research,
    Scenarios,
    Fundamentals,
    Reports,
}

impl Way {
    /// The channel a credential uses over this way (what the product
    /// promises: sessions are the hub, programs are `api`/`stream`, exports
    /// are `downloads` whoever asks).
    fn channel(self, cred: Cred) -> &'static str {
        match (self, cred) {
            (Way::Export, _) => "downloads",
            (Way::Reports, _) => "reports",
            (_, Cred::Cookie) => "hub",
            (Way::Sse | Way::WebSocket, _) => "stream",
            _ => "api",
        }
    }

    fn product(self) -> &'static str {
        match self {
            Way::Curves => "curves",
            Way::Research => "research",
            Way::Scenarios => "scenarios",
            // Henry Hub gas is market-wide: no pilot's market grant covers it.
            Way::Fundamentals => "fundamentals (market-wide)",
            _ => "lmp",
        }
    }
}

const WAYS: [Way; 12] = [
    Way::Json,
    Way::Csv,
    Way::Parquet,
    Way::Export,
    Way::Spread,
    Way::Sse,
    Way::WebSocket,
    Way::Curves,
    Way::Research,
    Way::Scenarios,
    Way::Fundamentals,
    Way::Reports,
];

/// What the grants say, by hand.
fn want(t: &Tenant, cred: Cred, way: Way, inside: bool) -> Want {
    if matches!(cred, Cred::SessionAsBearer | Cred::SessionAsApiKey) {
        return Want::Unauthenticated;
    }
    let channel_ok = t.channels.contains(&way.channel(cred));
    let product_ok = t.products.contains(&way.product());
    if channel_ok && product_ok && inside {
        Want::Ok
    } else {
        Want::Denied
    }
}

/// A tenant's credentials.
struct Creds {
    cookie: String,
    session: String,
    key: String,
    oidc: String,
}

impl Creds {
    fn headers(&self, c: Cred) -> Vec<(&'static str, String)> {
        match c {
            Cred::Cookie => hub(&self.cookie)
                .iter()
                .map(|(k, v)| (*k, v.to_string()))
                .collect(),
            Cred::SessionAsBearer => vec![("authorization", format!("Bearer {}", self.session))],
            Cred::SessionAsApiKey => vec![("x-api-key", self.session.clone())],
            Cred::ApiKey => vec![("x-api-key", self.key.clone())],
            Cred::Oidc => vec![("authorization", format!("Bearer {}", self.oidc))],
        }
    }
}

/// The status of a request whose body is not read (an SSE stream never ends).
fn status_only(s: &Server, path: &str, headers: &[(&'static str, String)]) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut b = ureq::http::Request::builder()
        .method("GET")
        .uri(format!("{}{path}", s.base));
    for (k, v) in headers {
        b = b.header(*k, v.as_str());
    }
    let r = agent.run(b.body(()).unwrap()).unwrap();
    if r.status() == 200 {
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(ct.starts_with("text/event-stream"), "{path}: {ct}");
    }
    r.status().as_u16()
}

/// Subscribes over the WebSocket: 200 when subscribed, 403 when the upgrade
/// or the subscription is refused, 401 when the upgrade is.
fn websocket(s: &Server, rt: &tokio::runtime::Runtime, cred: &(&str, String), inst: &str) -> u16 {
    rt.block_on(async {
        let mut ws = match ws_connect(s, (cred.0, cred.1.as_str())).await {
            Ok(ws) => ws,
            Err(status) => return status,
        };
        ws.send(Message::Text(
            json!({"op": "subscribe", "instruments": [inst]})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
        let m = next_json(&mut ws).await;
        match (m["type"].as_str(), m["code"].as_str()) {
            (Some("subscribed"), _) => 200,
            (Some("error"), Some("forbidden")) => 403,
            other => panic!("{other:?}: {m}"),
        }
    })
}

fn run(
    s: &Server,
    rt: &tokio::runtime::Runtime,
    creds: &Creds,
    cred: Cred,
    way: Way,
    q: &Query,
    other: &Query,
) -> u16 {
    let h = creds.headers(cred);
    let hs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let get = |path: String| request(s, "GET", &path, &hs, None).status;
    match way {
        Way::Json => get(format!("/api/v1/prices?{}", q.params())),
        Way::Csv => get(format!("/api/v1/prices?{}&format=csv", q.params())),
        Way::Parquet => get(format!("/api/v1/prices?{}&format=parquet", q.params())),
        Way::Export => get(format!("/api/v1/exports/prices?{}", q.params())),
        // `q` as leg a, `other` as leg b (over q's dates).
        // (one instrument: day-ahead against real-time).
        Way::Spread => get(format!(
            "/api/v1/prices/spread?a={}&b={}&start={}&end={}{}",
            q.instrument,
            other.instrument,
            q.start,
            q.end,
            if q.instrument == other.instrument {
                "&b_market_run=rt"
            } else {
                ""
            }
        )),
        Way::Sse => status_only(s, &format!("/api/v1/stream/sse?instruments={}", q.instrument), &h),
        Way::WebSocket => {
            // The WebSocket takes one credential header (the cookie carries
            // the session; a GET needs no CSRF token).
            websocket(s, rt, &h[0], q.instrument)
        }
        Way::Curves => get("/api/v1/curves".into()),
        Way::Research => get("/api/v1/research/runs".into()),
        Way::Scenarios => get("/api/v1/scenarios".into()),
        Way::Fundamentals => get(
            "/api/v1/fundamentals?entity=Henry%20Hub&variable=spot_price&start=2021-02-01&end=2021-03-01"
                .into(),
        ),
        // The briefs of the query's market (market-wide: no instrument).
        Way::Reports => get(format!(
            "/api/v1/reports?market={}",
            q.instrument.split('.').next().unwrap()
        )),
    }
}

#[test]
fn every_tenant_credential_and_transport_gets_what_its_grants_say() {
    let idp = Idp::start();
    let settings = ApiSettings {
        rate_limits: RateLimits {
            general: 10_000.0,
            data: 10_000.0,
            exports: 10_000.0,
        },
        ..ApiSettings::default()
    };
    let s = start_full(
        Some(std::sync::Arc::new(carbon_ingest::bus::InProcessBus::new(
            64,
        ))),
        4096,
        settings,
        AuthConfig {
            oidc: Some(idp.config()),
            ..AuthConfig::default()
        },
    );
    load_caiso(&s);
    let admin = hub_login(&s, "admin", &password(&s, "admin"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The third tenant, made through the admin API.
    let post = |path: &str, body: serde_json::Value| {
        let r = request(&s, "POST", path, &hub(&admin), Some(&body));
        assert!(r.status == 201, "{path}: {}", r.body);
        r.json()
    };
    post(
        "/api/v1/admin/tenants",
        json!({ "id": "limited", "name": "Limited" }),
    );
    post(
        "/api/v1/admin/entitlements",
        json!({ "tenant": "limited", "market": "MISO", "product": "lmp",
                "channels": ["hub", "api", "stream", "downloads"],
                "instruments": ["MISO.INDIANA.HUB"], "start": "2026-10-01", "end": "2026-10-02" }),
    );
    let limited_pw = "limited-password-123";
    post(
        "/api/v1/admin/users",
        json!({ "username": "limited_user", "tenant": "limited", "password": limited_pw }),
    );
    let exp = chrono::Utc::now().timestamp() + 3600;
    let creds: Vec<Creds> = TENANTS
        .iter()
        .map(|t| {
            let pw = if t.user == "limited_user" {
                limited_pw.to_string()
            } else {
                password(&s, t.user)
            };
            let cookie = hub_login(&s, t.user, &pw);
            let session = cookie
                .split("; ")
                .find_map(|kv| kv.strip_prefix("carbon_session="))
                .unwrap()
                .to_string();
            // pilot_caiso cannot be given a key (no api/stream channel): one
            // written straight into the directory stands for a key it holds
            // anyway.
            let key = if t.id == "pilot_caiso" {
                raw_key(&s, t.id)
            } else {
                post(
                    "/api/v1/admin/keys",
                    json!({ "tenant": t.id, "name": "matrix" }),
                )["key"]
                    .as_str()
                    .unwrap()
                    .to_string()
            };
            Creds {
                cookie,
                session,
                key,
                oidc: idp.token("etl-service", t.id, exp),
            }
        })
        .collect();

    let mut checked = 0;
    let mut failures = Vec::new();
    for (t, c) in TENANTS.iter().zip(&creds) {
        for cred in CREDS {
            for way in WAYS {
                let mut cases: Vec<(&Query, bool)> = vec![(&t.inside, true)];
                if !matches!(
                    way,
                    Way::Curves | Way::Research | Way::Scenarios | Way::Fundamentals | Way::Reports
                ) {
                    cases.extend(t.outside.iter().map(|q| (q, false)));
                }
                for (q, inside) in cases {
                    if q.dates_only && matches!(way, Way::Sse | Way::WebSocket) {
                        continue;
                    }
                    // A spread is only as open as its least-entitled leg: the
                    // inside query's spread pairs it with an outside leg.
                    let (expect, other) = match way {
                        Way::Spread => (
                            want(t, cred, way, false),
                            if inside {
                                &t.outside[t.outside.len() - 1]
                            } else {
                                &t.inside
                            },
                        ),
                        _ => (want(t, cred, way, inside), &t.inside),
                    };
                    let before = head(&s, &rt);
                    let status = run(&s, &rt, c, cred, way, q, other);
                    checked += 1;
                    let expected_status = match expect {
                        Want::Ok => 200,
                        Want::Denied => 403,
                        Want::Unauthenticated => 401,
                    };
                    let label = format!("{} {cred:?} {way:?} {}", t.id, q.instrument);
                    if status != expected_status {
                        failures.push(format!("{label}: {status}, want {expected_status}"));
                        continue;
                    }
                    // Every refusal is in the audit log, under the tenant.
                    let events = rt.block_on(s.store.audit_events(before, 100)).unwrap();
                    let found = |action: &str, outcome: &str| {
                        events.iter().any(|e| {
                            e.event.action == action
                                && e.event.outcome == outcome
                                && (action == "authentication"
                                    || e.event.tenant.as_deref() == Some(t.id))
                        })
                    };
                    let audited = match expect {
                        Want::Denied => found("access_denied", "denied"),
                        Want::Unauthenticated => found("authentication", "failed"),
                        // An allowed read records no denial.
                        Want::Ok => !found("access_denied", "denied"),
                    };
                    if !audited {
                        failures.push(format!("{label}: {expect:?} but the audit log disagrees"));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 300, "{checked}");

    // A spread of two entitled legs is open.
    let r = request(
        &s,
        "GET",
        "/api/v1/prices/spread?a=MISO.INDIANA.HUB&b=MISO.ILLINOIS.HUB&start=2026-10-01&end=2026-10-02",
        &[("x-api-key", &creds[0].key)],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 24);
}

fn password(s: &Server, user: &str) -> String {
    s.accounts.iter().find(|a| a.0 == user).unwrap().1.clone()
}

/// The audit log's newest sequence number.
fn head(s: &Server, rt: &tokio::runtime::Runtime) -> u64 {
    rt.block_on(s.store.audit_head())
        .unwrap()
        .map_or(0, |h| h.0)
}
