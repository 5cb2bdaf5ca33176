//! Keys that rotate and expire, IP allowlists and TLS — on a real server,
//! over real sockets (and a real TLS handshake with a certificate made here).

use serde_json::{Value, json};

use carbon_api::ApiSettings;

use crate::api::{Resp, Server, hub, hub_login, request, start, start_full, start_tls};

fn password(s: &Server, user: &str) -> String {
    s.accounts.iter().find(|a| a.0 == user).unwrap().1.clone()
}

fn login(s: &Server, user: &str) -> String {
    hub_login(s, user, &password(s, user))
}

fn with_key(s: &Server, key: &str, path: &str, extra: &[(&str, &str)]) -> Resp {
    let mut h = vec![("x-api-key", key)];
    h.extend_from_slice(extra);
    request(s, "GET", path, &h, None)
}

/// An admin's state-changing call on a hub session (cookie + CSRF header).
fn admin_call(s: &Server, admin: &str, method: &str, path: &str, body: Option<&Value>) -> Resp {
    request(s, method, path, &hub(admin), body)
}

fn audit_actions(s: &Server, admin: &str) -> Vec<(String, String)> {
    let r = request(
        s,
        "GET",
        "/api/v1/admin/audit?limit=10000",
        &hub(admin),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const ME: &str = "/api/v1/auth/me";

#[test]
fn tenant_and_key_ip_allowlists_refuse_outsiders_and_ignore_spoofed_forwarding() {
    // The proxy case: only 127.0.0.1 (this test) is a trusted proxy there.
    let proxied = start_full(
        None,
        4096,
        ApiSettings {
            trusted_proxies: vec!["127.0.0.1/32".into()],
            ..ApiSettings::default()
        },
        Default::default(),
    );
    let direct = start();
    for s in [&direct, &proxied] {
        let admin = login(s, "admin");
        // A bad network is named; the list is stored normalised.
        let bad = admin_call(
            s,
            &admin,
            "PUT",
            "/api/v1/admin/tenants/pilot_miso/ip-allowlist",
            Some(&json!({ "ip_allow": ["192.0.2.0/24", "not-a-net"] })),
        );
        assert_eq!(bad.status, 400, "{}", bad.body);
        assert_eq!(bad.json()["param"], "ip_allow");
        assert!(bad.body.contains("not-a-net"), "{}", bad.body);
        let set = admin_call(
            s,
            &admin,
            "PUT",
            "/api/v1/admin/tenants/pilot_miso/ip-allowlist",
            Some(&json!({ "ip_allow": ["192.0.2.9/24", "2001:db8::/32"] })),
        );
        assert_eq!(set.status, 200, "{}", set.body);
        assert_eq!(
            set.json()["ip_allow"],
            json!(["192.0.2.0/24", "2001:db8::/32"])
        );
        let made = admin_call(
            s,
            &admin,
            "POST",
            "/api/v1/admin/keys",
            Some(&json!({ "tenant": "pilot_miso", "name": "etl" })),
        );
        assert_eq!(made.status, 201, "{}", made.body);
        let key = made.json()["key"].as_str().unwrap().to_string();
        // From 127.0.0.1, directly: refused, naming the rule and the address
        // but not the networks. A forged X-Forwarded-For changes nothing when
        // the peer is not a trusted proxy.
        if std::ptr::eq(s, &direct) {
            for extra in [vec![], vec![("x-forwarded-for", "192.0.2.5")]] {
                let r = with_key(s, &key, ME, &extra);
                assert_eq!(r.status, 403, "{}", r.body);
                let p = r.json();
                assert_eq!(p["code"], "ip_not_allowed");
                let d = p["detail"].as_str().unwrap();
                assert!(
                    d.contains("127.0.0.1") && d.contains("tenant `pilot_miso`'s IP allowlist"),
                    "{d}"
                );
                assert!(!d.contains("192.0.2"), "{d}");
            }
            // The hub's password sign-in is refused too.
            let r = request(
                s,
                "POST",
                "/api/v1/auth/login",
                &[],
                Some(&json!({ "username": "miso_demo", "password": password(s, "miso_demo") })),
            );
            assert_eq!(r.status, 403, "{}", r.body);
            assert_eq!(r.json()["code"], "ip_not_allowed");
            assert!(r.header("set-cookie").is_none());
        } else {
            // Behind the trusted proxy the forwarded address counts: the
            // right-most one the proxy did not add itself.
            for (xff, status) in [
                ("192.0.2.5", 200),
                ("2001:db8::7", 200),
                ("198.51.100.1", 403),
                // The client wrote the left part; the proxy appended the truth.
                ("192.0.2.5, 198.51.100.1", 403),
            ] {
                let r = with_key(s, &key, ME, &[("x-forwarded-for", xff)]);
                assert_eq!(r.status, status, "{xff}: {}", r.body);
                if status == 403 {
                    assert!(r.body.contains("198.51.100.1"), "{}", r.body);
                }
            }
        }
        // A key's own list, on a tenant without one.
        for (nets, status) in [(json!(["10.0.0.0/8"]), 403), (json!(["127.0.0.1"]), 200)] {
            let made = admin_call(
                s,
                &admin,
                "POST",
                "/api/v1/admin/keys",
                Some(&json!({ "tenant": "platform", "name": "ci", "ip_allow": nets })),
            );
            assert_eq!(made.status, 201, "{}", made.body);
            let v = made.json();
            let r = with_key(s, v["key"].as_str().unwrap(), ME, &[]);
            assert_eq!(r.status, status, "{}", r.body);
            if status == 403 {
                let id = v["id"].as_str().unwrap();
                assert!(
                    r.body.contains(&format!("API key {id}'s IP allowlist")),
                    "{}",
                    r.body
                );
            }
        }
        // Cleared: any address again.
        let clear = admin_call(
            s,
            &admin,
            "PUT",
            "/api/v1/admin/tenants/pilot_miso/ip-allowlist",
            Some(&json!({ "ip_allow": null })),
        );
        assert_eq!(clear.status, 200, "{}", clear.body);
        assert_eq!(with_key(s, &key, ME, &[]).status, 200);
        let a = audit_actions(s, &admin);
        assert!(a.iter().any(|(x, o)| x == "ip_refused" && o == "denied"));
        assert!(a.iter().any(|(x, _)| x == "ip_allowlist_set"));
        let m = request(s, "GET", "/metrics", &[], None).body;
        assert!(
            m.contains("carbon_auth_failures_total{reason=\"ip_not_allowed\"}"),
            "{m}"
        );
        // Only admins set allowlists.
        let miso = login(s, "miso_demo");
        let r = admin_call(
            s,
            &miso,
            "PUT",
            "/api/v1/admin/tenants/pilot_miso/ip-allowlist",
            Some(&json!({ "ip_allow": null })),
        );
        assert_eq!(r.status, 403, "{}", r.body);
    }
}

#[test]
fn api_keys_expire_show_their_last_use_and_rotate_with_grace() {
    let s = start();
    let own = |body: Value| {
        request(
            &s,
            "POST",
            "/api/v1/keys",
            &[("x-api-key", &s.key)],
            Some(&body),
        )
    };
    let bad = own(json!({ "name": "x", "expires_in": "forever" }));
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.json()["param"], "expires_in");
    let short = own(json!({ "name": "short", "expires_in": "2s" }));
    assert_eq!(short.status, 201, "{}", short.body);
    let short = short.json();
    assert!(short["expires"].is_string(), "{short}");
    let short_key = short["key"].as_str().unwrap().to_string();
    assert_eq!(with_key(&s, &short_key, ME, &[]).status, 200);
    // Rotation: the successor works at once; the old key through its grace.
    let long = own(json!({ "name": "etl", "expires_in": "90d" })).json();
    let (long_id, long_key) = (long["id"].as_str().unwrap(), long["key"].as_str().unwrap());
    let rotated = request(
        &s,
        "POST",
        &format!("/api/v1/keys/{long_id}/rotate"),
        &[("x-api-key", &s.key)],
        Some(&json!({ "grace": "2s" })),
    );
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let rotated = rotated.json();
    let next_key = rotated["key"].as_str().unwrap().to_string();
    assert_eq!(rotated["name"], "etl");
    assert_eq!(rotated["replaces"]["id"], long_id);
    assert!(rotated["expires"].is_string());
    for k in [long_key, next_key.as_str()] {
        assert_eq!(with_key(&s, k, ME, &[]).status, 200);
    }
    // Past expiry (and past the grace): 401 saying so.
    std::thread::sleep(std::time::Duration::from_millis(2300));
    for (k, id) in [
        (short_key.as_str(), short["id"].as_str().unwrap()),
        (long_key, long_id),
    ] {
        let r = with_key(&s, k, ME, &[]);
        assert_eq!(r.status, 401, "{}", r.body);
        let d = r.json()["detail"].as_str().unwrap().to_string();
        assert!(d.contains(id) && d.contains("expired at"), "{d}");
    }
    assert_eq!(with_key(&s, &next_key, ME, &[]).status, 200);
    // The listing shows expiry and last use (written in the background).
    let next_id = rotated["id"].as_str().unwrap();
    let mut last_used = Value::Null;
    for _ in 0..50 {
        let list = with_key(&s, &s.key, "/api/v1/keys", &[]).json();
        let k = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == next_id)
            .unwrap()
            .clone();
        assert!(k["expires"].is_string());
        last_used = k["last_used"].clone();
        if last_used.is_string() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(last_used.is_string(), "{last_used}");
    // Another tenant's key cannot be rotated through /api/v1/keys.
    let miso = login(&s, "miso_demo");
    let r = request(
        &s,
        "POST",
        &format!("/api/v1/keys/{next_id}/rotate"),
        &hub(&miso),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.body);
}

#[test]
fn signing_key_rotation_over_the_admin_api() {
    let s = start();
    let before = login(&s, "miso_demo");
    let admin = login(&s, "admin");
    let keys = |s: &Server| {
        request(s, "GET", "/.well-known/jwks.json", &[], None).json()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let first = keys(&s);
    assert_eq!(first.len(), 1);
    // Only admins rotate.
    let r = admin_call(
        &s,
        &before,
        "POST",
        "/api/v1/admin/signing-keys/rotate",
        None,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = admin_call(
        &s,
        &admin,
        "POST",
        "/api/v1/admin/signing-keys/rotate",
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let kid = r.json()["kid"].as_str().unwrap().to_string();
    assert_eq!(keys(&s), [kid.clone(), first[0].clone()]);
    let after = login(&s, "miso_demo");
    for c in [&before, &after] {
        assert_eq!(request(&s, "GET", ME, &hub(c), None).status, 200);
    }
    let list = request(&s, "GET", "/api/v1/admin/signing-keys", &hub(&admin), None).json();
    let signing: Vec<(&str, bool, bool)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap(),
                k["signing"].as_bool().unwrap(),
                k["verifies"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        signing,
        [(kid.as_str(), true, true), (first[0].as_str(), false, true)]
    );
    // Withdrawn: the sessions it signed end at once (the admin's own too).
    let r = admin_call(
        &s,
        &admin,
        "DELETE",
        &format!("/api/v1/admin/signing-keys/{}", first[0]),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = request(&s, "GET", ME, &hub(&before), None);
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.body.contains(&first[0]), "{}", r.body);
    assert_eq!(request(&s, "GET", ME, &hub(&after), None).status, 200);
    assert_eq!(keys(&s), [kid]);
    let admin = login(&s, "admin");
    let a = audit_actions(&s, &admin);
    for action in ["signing_key_rotated", "signing_key_withdrawn"] {
        assert!(a.iter().any(|(x, o)| x == action && o == "ok"), "{action}");
    }
}

#[test]
fn tls_handshake_secure_cookies_and_hsts() {
    let s = start_tls();
    assert!(s.base.starts_with("https://"));
    let h = request(&s, "GET", "/health", &[], None);
    assert_eq!(h.status, 200, "{}", h.body);
    assert_eq!(
        h.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
    let r = request(
        &s,
        "POST",
        "/api/v1/auth/login",
        &[],
        Some(&json!({ "username": "admin", "password": password(&s, "admin") })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let cookies = r.headers_all("set-cookie");
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for c in &cookies {
        assert!(c.ends_with("; Secure"), "{c}");
    }
    // The session works over TLS, as the hub uses it.
    let cookie = hub_login(&s, "admin", &password(&s, "admin"));
    assert_eq!(request(&s, "GET", ME, &hub(&cookie), None).status, 200);
    // A client that does not trust the certificate gets no answer at all,
    // and plain HTTP on the TLS port is not served.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let err = agent.get(format!("{}/health", s.base)).call().unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certificate")
            || matches!(err, ureq::Error::Tls(_) | ureq::Error::Rustls(_)),
        "{err}"
    );
    let plain = s.base.replace("https://", "http://");
    let answered = agent
        .get(format!("{plain}/health"))
        .call()
        .map(|r| r.status().as_u16());
    assert!(!matches!(answered, Ok(200)), "{answered:?}");
}
