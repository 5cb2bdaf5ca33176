//! The access layer over a real DuckDB file: first start, logins, API keys,
//! the two pilots' entitlements on every channel, and the audit trail.

use std::sync::Arc;

use carbon_auth::{
    Access, Ask, AuthConfig, Channel, Credential, Error, GrantSpec, Method, Transport,
};
use carbon_core::Market;
use carbon_store::{Directory, DuckdbStore, verify_chain};
use chrono::{TimeZone, Utc};

struct Env {
    _dir: tempfile::TempDir,
    store: Arc<DuckdbStore>,
    access: Access,
    rt: tokio::runtime::Runtime,
}

fn env() -> Env {
    env_with(&AuthConfig::default())
}

fn env_with(cfg: &AuthConfig) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DuckdbStore::open(dir.path()).unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let access = rt.block_on(Access::open(store.clone(), cfg)).unwrap();
    Env {
        _dir: dir,
        store,
        access,
        rt,
    }
}

fn password_of(b: &carbon_auth::Bootstrap, user: &str) -> String {
    b.accounts.iter().find(|a| a.0 == user).unwrap().2.clone()
}

#[test]
fn first_start_creates_admin_and_pilots_once_and_logins_work() {
    let e = env();
    let b = e.rt.block_on(e.access.bootstrap()).unwrap().unwrap();
    let users: Vec<&str> = b.accounts.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(users, ["admin", "miso_demo", "caiso_demo"]);
    assert!(e.rt.block_on(e.access.bootstrap()).unwrap().is_none());
    // Passwords are stored as argon2id hashes, never in clear.
    let admin = e.rt.block_on(e.store.user("admin")).unwrap().unwrap();
    assert!(admin.password_hash.starts_with("$argon2id$"));
    assert!(!admin.password_hash.contains(&password_of(&b, "admin")));

    let (issued, u) =
        e.rt.block_on(e.access.login("admin", &password_of(&b, "admin"), None))
            .unwrap();
    assert_eq!(u.roles, ["admin"]);
    assert!(issued.expires > Utc::now() + chrono::Duration::minutes(59));
    assert_ne!(issued.csrf, issued.id);
    assert!(issued.csrf.len() >= 22, "{}", issued.csrf);
    let p =
        e.rt.block_on(e.access.authenticate(Credential::Cookie(&issued.token)))
            .unwrap();
    assert_eq!(
        (p.tenant.as_str(), p.method.clone()),
        (
            "platform",
            Method::Session {
                id: issued.id.clone(),
                csrf: issued.csrf.clone()
            }
        )
    );
    assert_eq!(p.channel(Transport::Rest), Channel::Hub);
    assert_eq!(p.channel(Transport::Stream), Channel::Hub);
    assert!(p.is_admin());
    // The same session presented as a bearer token is refused, saying how
    // programs authenticate.
    match e
        .rt
        .block_on(e.access.authenticate(Credential::Token(&issued.token)))
    {
        Err(Error::Unauthenticated(m)) => {
            assert_eq!(m, carbon_auth::SESSION_NOT_A_BEARER);
            assert!(m.contains("API key") && m.contains("OIDC"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    // Signing out ends it on the server: the token, though unexpired, no longer works.
    let (second, _) =
        e.rt.block_on(e.access.login("admin", &password_of(&b, "admin"), None))
            .unwrap();
    assert_eq!(e.access.live_sessions(), 2);
    e.access.end_session(&second.id);
    match e
        .rt
        .block_on(e.access.authenticate(Credential::Cookie(&second.token)))
    {
        Err(Error::Unauthenticated(m)) => assert!(m.contains("ended"), "{m}"),
        other => panic!("{other:?}"),
    }
    let token = issued.token;

    // Wrong password and unknown users fail alike.
    for (u, pw) in [("admin", "wrong-password!"), ("nobody", "whatever-123")] {
        assert!(matches!(
            e.rt.block_on(e.access.login(u, pw, None)),
            Err(Error::Unauthenticated(_))
        ));
    }
    // A disabled user's live session stops working.
    e.rt.block_on(e.access.set_user_disabled("cli", "admin", true))
        .unwrap();
    assert!(
        e.rt.block_on(e.access.authenticate(Credential::Cookie(&token)))
            .is_err()
    );
    assert_eq!(e.access.live_sessions(), 0);
    // The audit log recorded it all and verifies.
    let events = e.rt.block_on(e.store.audit_events(0, 1000)).unwrap();
    let logins: Vec<(&str, &str)> = events
        .iter()
        .filter(|x| x.event.action == "login")
        .map(|x| (x.event.actor.as_str(), x.event.outcome.as_str()))
        .collect();
    assert_eq!(
        logins,
        [
            ("admin", "ok"),
            ("admin", "ok"),
            ("admin", "failed"),
            ("nobody", "failed")
        ]
    );
    let head = e.rt.block_on(e.store.audit_head()).unwrap();
    assert!(verify_chain(&events, head).intact());
}

#[test]
fn api_keys_are_hashed_shown_once_and_revocable() {
    let e = env();
    e.rt.block_on(e.access.bootstrap()).unwrap();
    let (k, full) =
        e.rt.block_on(
            e.access
                .create_key("cli", "pilot_miso", None, "etl", Default::default()),
        )
        .unwrap();
    assert!(full.starts_with(&format!("ck_{}_", k.id)));
    let stored = e.rt.block_on(e.store.api_key(&k.id)).unwrap().unwrap();
    assert!(!stored.secret_hash.contains(&full[16..]));
    let p =
        e.rt.block_on(e.access.authenticate(Credential::ApiKey(&full)))
            .unwrap();
    assert_eq!(p.tenant, "pilot_miso");
    assert_eq!(p.channel(Transport::Rest), Channel::Api);
    assert_eq!(p.channel(Transport::Stream), Channel::Stream);
    assert_eq!(p.channel(Transport::Download), Channel::Downloads);
    // A wrong secret with a real id, and garbage, are refused.
    let wrong = format!("ck_{}_{}", k.id, "A".repeat(43));
    for bad in [wrong.as_str(), "ck_nothex", "hello"] {
        assert!(matches!(
            e.rt.block_on(e.access.authenticate(Credential::ApiKey(bad))),
            Err(Error::Unauthenticated(_))
        ));
    }
    e.rt.block_on(e.access.revoke_key("cli", &k.id, None))
        .unwrap();
    let err =
        e.rt.block_on(e.access.authenticate(Credential::ApiKey(&full)))
            .unwrap_err();
    assert!(err.to_string().contains("revoked"), "{err}");
    // pilot_caiso has no api/stream channel, so it cannot hold keys at all.
    let err =
        e.rt.block_on(
            e.access
                .create_key("cli", "pilot_caiso", None, "x", Default::default()),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err}");
}

#[test]
fn the_pilots_entitlements_on_every_channel() {
    let e = env();
    e.rt.block_on(e.access.bootstrap()).unwrap();
    let grants = e.access.grants();
    let day = |d: u32| Utc.with_ymd_and_hms(2026, 10, d, 5, 0, 0).unwrap();
    let ask = |market, channel, instrument| Ask {
        market: Some(market),
        product: "lmp",
        channel,
        instrument,
        range: Some((day(1), day(2))),
    };
    let sp15 = Some("CAISO.TH_SP15_GEN-APND");
    let other_caiso = Some("CAISO.SLAP_PGAE-APND");
    let indiana = Some("MISO.INDIANA.HUB");
    for c in Channel::ALL {
        // pilot_miso: all of MISO on every channel, nothing of CAISO.
        assert!(
            carbon_auth::policy::decide(&grants, "pilot_miso", &ask(Market::Miso, c, indiana))
                .is_ok()
        );
        assert!(
            carbon_auth::policy::decide(&grants, "pilot_miso", &ask(Market::Caiso, c, sp15))
                .is_err()
        );
        // pilot_caiso: the three hubs through hub, downloads and reports only.
        let hub_ok =
            carbon_auth::policy::decide(&grants, "pilot_caiso", &ask(Market::Caiso, c, sp15));
        assert_eq!(
            hub_ok.is_ok(),
            matches!(c, Channel::Hub | Channel::Downloads | Channel::Reports),
            "{c}: {hub_ok:?}"
        );
        assert!(
            carbon_auth::policy::decide(
                &grants,
                "pilot_caiso",
                &ask(Market::Caiso, c, other_caiso)
            )
            .is_err()
        );
        assert!(
            carbon_auth::policy::decide(&grants, "pilot_caiso", &ask(Market::Miso, c, indiana))
                .is_err()
        );
        // Nobody else: an unknown tenant gets nothing.
        assert!(
            carbon_auth::policy::decide(&grants, "stranger", &ask(Market::Miso, c, indiana))
                .is_err()
        );
    }
    // The denial says what did not match.
    let why = carbon_auth::policy::decide(
        &grants,
        "pilot_caiso",
        &ask(Market::Caiso, Channel::Api, sp15),
    )
    .unwrap_err();
    assert!(why.contains("`api` channel"), "{why}");
    let why = carbon_auth::policy::decide(
        &grants,
        "pilot_caiso",
        &ask(Market::Caiso, Channel::Hub, other_caiso),
    )
    .unwrap_err();
    assert!(why.contains("CAISO.SLAP_PGAE-APND"), "{why}");
}

#[test]
fn date_bounded_grants_and_grant_validation() {
    let e = env();
    e.rt.block_on(e.access.create_tenant("cli", "research", ""))
        .unwrap();
    let spec = |start, end| GrantSpec {
        tenant: "research".into(),
        market: "miso".into(),
        product: "lmp".into(),
        channels: vec!["api".into()],
        instruments: None,
        start,
        end,
    };
    let d = |m, day| chrono::NaiveDate::from_ymd_opt(2026, m, day);
    let g =
        e.rt.block_on(e.access.add_grant("cli", spec(d(10, 1), d(10, 31))))
            .unwrap();
    assert_eq!(g.market, "MISO");
    let grants = e.access.grants();
    let at = |m, day| Utc.with_ymd_and_hms(2026, m, day, 0, 0, 0).unwrap();
    let ask = |a, b| Ask {
        market: Some(Market::Miso),
        product: "lmp",
        channel: Channel::Api,
        instrument: Some("MISO.INDIANA.HUB"),
        range: Some((a, b)),
    };
    // All of October (end exclusive at Nov 1 00:00) is inside; one more day is not.
    assert!(carbon_auth::policy::decide(&grants, "research", &ask(at(10, 1), at(11, 1))).is_ok());
    let why =
        carbon_auth::policy::decide(&grants, "research", &ask(at(10, 1), at(11, 2))).unwrap_err();
    assert!(why.contains("2026-10-01..2026-10-31"), "{why}");
    // Bad grants name the field.
    let bad: Vec<(GrantSpec, &str)> = vec![
        (
            GrantSpec {
                market: "ERCOTX".into(),
                ..spec(None, None)
            },
            "market",
        ),
        (
            GrantSpec {
                product: "gold".into(),
                ..spec(None, None)
            },
            "product",
        ),
        (
            GrantSpec {
                channels: vec!["fax".into()],
                ..spec(None, None)
            },
            "channels",
        ),
        (
            GrantSpec {
                channels: vec![],
                ..spec(None, None)
            },
            "channels",
        ),
        (
            GrantSpec {
                instruments: Some(vec!["CAISO.X".into()]),
                ..spec(None, None)
            },
            "instruments",
        ),
        (spec(d(10, 31), d(10, 1)), "end"),
    ];
    for (s, field) in bad {
        match e.rt.block_on(e.access.add_grant("cli", s)) {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // Removing the grant takes effect at once.
    e.rt.block_on(e.access.remove_grant("cli", &g.id)).unwrap();
    assert!(
        carbon_auth::policy::decide(&e.access.grants(), "research", &ask(at(10, 1), at(10, 2)))
            .is_err()
    );
}

#[test]
fn an_idle_session_ends_and_a_used_one_does_not() {
    let e = env_with(&AuthConfig {
        session_idle_seconds: 2,
        ..AuthConfig::default()
    });
    let (rt, access) = (&e.rt, &e.access);
    let b = rt.block_on(access.bootstrap()).unwrap().unwrap();
    let login = || {
        rt.block_on(access.login("miso_demo", &password_of(&b, "miso_demo"), None))
            .unwrap()
            .0
    };
    let (used, idle) = (login(), login());
    // `used` is used every 0.8 s for 3.2 s; `idle` is not touched.
    for _ in 0..4 {
        std::thread::sleep(std::time::Duration::from_millis(800));
        rt.block_on(access.authenticate(Credential::Cookie(&used.token)))
            .unwrap();
    }
    match rt.block_on(access.authenticate(Credential::Cookie(&idle.token))) {
        Err(Error::Unauthenticated(m)) => assert!(m.contains("idle for more than 2 s"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Ended for good: the next attempt says so too.
    assert!(
        rt.block_on(access.authenticate(Credential::Cookie(&idle.token)))
            .is_err()
    );
    assert!(
        rt.block_on(access.authenticate(Credential::Cookie(&used.token)))
            .is_ok()
    );
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

fn actions(e: &Env) -> Vec<(String, String)> {
    e.rt.block_on(e.store.audit_events(0, 10_000))
        .unwrap()
        .into_iter()
        .map(|x| (x.event.action, x.event.outcome))
        .collect()
}

#[test]
fn signing_key_rotation_keeps_old_sessions_until_they_expire_and_withdrawal_ends_them() {
    let e = env();
    let b = e.rt.block_on(e.access.bootstrap()).unwrap().unwrap();
    let login = || {
        e.rt.block_on(e.access.login("admin", &password_of(&b, "admin"), None))
            .unwrap()
            .0
    };
    let before = login();
    let first = e.access.signer().kid().to_string();
    assert_eq!(kid_of(&before.token), first);
    let second = e.rt.block_on(e.access.rotate_signing_key("cli")).unwrap();
    assert_ne!(second, first);
    let after = login();
    assert_eq!(kid_of(&after.token), second);
    // Both verify; the JWK set lists both keys.
    for t in [&before.token, &after.token] {
        e.rt.block_on(e.access.authenticate(Credential::Cookie(t)))
            .unwrap();
    }
    let jwks = e.access.signer().jwks().clone();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [second.as_str(), first.as_str()]);
    // The old key stops verifying when its last token has expired: session
    // lifetime (60 min) plus the 30 s leeway after the rotation.
    let keys = e.rt.block_on(e.store.signing_keys()).unwrap();
    let retired = keys
        .iter()
        .find(|k| k.kid == first)
        .unwrap()
        .retired
        .unwrap();
    let expected = Utc::now() + chrono::Duration::minutes(60) + chrono::Duration::seconds(30);
    assert!((retired - expected).num_seconds().abs() <= 5, "{retired}");
    assert!(before.expires <= retired);
    // A restart (a new Access over the same file) signs with the new key and
    // still verifies with both.
    let again =
        e.rt.block_on(Access::open(e.store.clone(), &AuthConfig::default()))
            .unwrap();
    assert_eq!(again.signer().kid(), second);
    assert!(again.signer().verify(&before.token).is_ok());
    // Withdrawn (exposed): its sessions end at once, the JWK set drops it.
    e.rt.block_on(e.access.withdraw_signing_key("cli", &first))
        .unwrap();
    match e
        .rt
        .block_on(e.access.authenticate(Credential::Cookie(&before.token)))
    {
        Err(Error::Unauthenticated(m)) => assert!(m.contains(&first), "{m}"),
        other => panic!("{other:?}"),
    }
    e.rt.block_on(e.access.authenticate(Credential::Cookie(&after.token)))
        .unwrap();
    assert_eq!(
        e.access.signer().jwks()["keys"].as_array().unwrap().len(),
        1
    );
    assert!(matches!(
        e.rt.block_on(e.access.withdraw_signing_key("cli", &first)),
        Err(Error::NotFound(_))
    ));
    // Withdrawing the signing key itself: a new one takes over at once.
    e.rt.block_on(e.access.withdraw_signing_key("cli", &second))
        .unwrap();
    assert!(
        e.rt.block_on(e.access.authenticate(Credential::Cookie(&after.token)))
            .is_err()
    );
    let third = e.access.signer().kid().to_string();
    assert!(third != first && third != second);
    assert_eq!(kid_of(&login().token), third);
    // Automatic rotation: only when the key is older than the period.
    assert_eq!(
        e.rt.block_on(
            e.access
                .rotate_signing_key_if_older(chrono::Duration::days(1))
        )
        .unwrap(),
        None
    );
    let auto =
        e.rt.block_on(
            e.access
                .rotate_signing_key_if_older(chrono::Duration::zero()),
        )
        .unwrap()
        .unwrap();
    assert_eq!(e.access.signer().kid(), auto);
    let a = actions(&e);
    for action in [
        "signing_key_rotated",
        "signing_key_withdrawn",
        "signing_key_rotated",
    ] {
        assert!(a.iter().any(|(x, o)| x == action && o == "ok"), "{action}");
    }
}

#[test]
fn api_keys_expire_record_their_use_and_rotate_with_a_grace_period() {
    let e = env();
    e.rt.block_on(e.access.bootstrap()).unwrap();
    let opts = carbon_auth::KeyOptions {
        expires: Some(Utc::now() + chrono::Duration::days(90)),
        ip_allow: None,
    };
    let (k, full) =
        e.rt.block_on(e.access.create_key("cli", "pilot_miso", None, "etl", opts))
            .unwrap();
    e.rt.block_on(e.access.authenticate(Credential::ApiKey(&full)))
        .unwrap();
    // Last use is written in the background, at most once a minute.
    let mut used = None;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        used =
            e.rt.block_on(e.store.api_key(&k.id))
                .unwrap()
                .unwrap()
                .last_used;
        if used.is_some() {
            break;
        }
    }
    let used = used.expect("last use recorded");
    assert!((Utc::now() - used).num_seconds() < 5);
    // An expiry in the past is refused when creating.
    let past = carbon_auth::KeyOptions {
        expires: Some(Utc::now() - chrono::Duration::seconds(1)),
        ip_allow: None,
    };
    assert!(matches!(
        e.rt.block_on(e.access.create_key("cli", "pilot_miso", None, "x", past)),
        Err(Error::Invalid {
            field: "expires",
            ..
        })
    ));
    // Rotation: the successor works at once, the old key through its grace.
    let (next, next_full, old) =
        e.rt.block_on(
            e.access
                .rotate_key("cli", &k.id, None, chrono::Duration::days(7)),
        )
        .unwrap();
    assert_eq!(
        (next.tenant.as_str(), next.name.as_str()),
        ("pilot_miso", "etl")
    );
    // The successor of a 90-day key is a 90-day key.
    let life = next.expires.unwrap() - next.created;
    assert!(
        (life - chrono::Duration::days(90)).num_seconds().abs() <= 1,
        "{life}"
    );
    let grace_end = old.expires.unwrap();
    assert!(
        ((grace_end - Utc::now()) - chrono::Duration::days(7))
            .num_seconds()
            .abs()
            <= 5
    );
    for key in [&full, &next_full] {
        e.rt.block_on(e.access.authenticate(Credential::ApiKey(key)))
            .unwrap();
    }
    // Rotated with no grace: the old one stops now, naming when it expired.
    let (_, newest_full, _) =
        e.rt.block_on(
            e.access
                .rotate_key("cli", &next.id, None, chrono::Duration::zero()),
        )
        .unwrap();
    match e
        .rt
        .block_on(e.access.authenticate(Credential::ApiKey(&next_full)))
    {
        Err(Error::Unauthenticated(m)) => {
            assert!(m.contains(&next.id) && m.contains("expired at"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    e.rt.block_on(e.access.authenticate(Credential::ApiKey(&newest_full)))
        .unwrap();
    // An expired key cannot be rotated; another tenant's key is not found.
    assert!(matches!(
        e.rt.block_on(
            e.access
                .rotate_key("cli", &next.id, None, chrono::Duration::days(1))
        ),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        e.rt.block_on(
            e.access
                .rotate_key("x", &k.id, Some("platform"), chrono::Duration::days(1))
        ),
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        actions(&e)
            .iter()
            .filter(|(a, o)| a == "key_rotated" && o == "ok")
            .count(),
        2
    );
}

#[test]
fn ip_allowlists_per_tenant_and_per_key() {
    use std::net::IpAddr;
    let e = env();
    let b = e.rt.block_on(e.access.bootstrap()).unwrap().unwrap();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    // A bad entry is named; an empty list is refused.
    match e.rt.block_on(e.access.set_tenant_ip_allow(
        "cli",
        "pilot_miso",
        Some(vec!["203.0.113.0/24".into(), "300.1.1.1/8".into()]),
    )) {
        Err(Error::Invalid { field, message }) => {
            assert_eq!(field, "ip_allow");
            assert!(message.contains("300.1.1.1/8"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.rt.block_on(
            e.access
                .set_tenant_ip_allow("cli", "pilot_miso", Some(vec![]))
        )
        .is_err()
    );
    assert!(matches!(
        e.rt.block_on(e.access.set_tenant_ip_allow("cli", "ghost", None)),
        Err(Error::NotFound(_))
    ));
    let list =
        e.rt.block_on(e.access.set_tenant_ip_allow(
            "cli",
            "pilot_miso",
            Some(vec!["203.0.113.7/24".into(), "2001:db8::/32".into()]),
        ))
        .unwrap();
    assert_eq!(list.unwrap(), ["203.0.113.0/24", "2001:db8::/32"]);
    let (_, full) =
        e.rt.block_on(
            e.access
                .create_key("cli", "pilot_miso", None, "etl", Default::default()),
        )
        .unwrap();
    let p =
        e.rt.block_on(e.access.authenticate(Credential::ApiKey(&full)))
            .unwrap();
    for ok in ["203.0.113.99", "2001:db8::5", "::ffff:203.0.113.1"] {
        e.rt.block_on(e.access.check_ip(&p, ip(ok))).unwrap();
    }
    match e.rt.block_on(e.access.check_ip(&p, ip("198.51.100.4"))) {
        Err(Error::IpNotAllowed(m)) => {
            assert!(
                m.contains("198.51.100.4") && m.contains("tenant `pilot_miso`"),
                "{m}"
            );
            // The refusal does not reveal the networks.
            assert!(!m.contains("203.0.113"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    // Password login from outside is refused after the password check.
    let pw = password_of(&b, "miso_demo");
    assert!(matches!(
        e.rt.block_on(e.access.login("miso_demo", &pw, Some(ip("198.51.100.4")))),
        Err(Error::IpNotAllowed(_))
    ));
    e.rt.block_on(e.access.login("miso_demo", &pw, Some(ip("203.0.113.4"))))
        .unwrap();
    // Survives a restart.
    let again =
        e.rt.block_on(Access::open(e.store.clone(), &AuthConfig::default()))
            .unwrap();
    assert!(
        e.rt.block_on(again.check_ip(&p, ip("198.51.100.4")))
            .is_err()
    );
    // A key's own list, on a tenant without one.
    let opts = carbon_auth::KeyOptions {
        expires: None,
        ip_allow: Some(vec!["192.0.2.0/28".into()]),
    };
    let (k, kfull) =
        e.rt.block_on(e.access.create_key("cli", "platform", None, "ci", opts))
            .unwrap();
    let kp =
        e.rt.block_on(e.access.authenticate(Credential::ApiKey(&kfull)))
            .unwrap();
    e.rt.block_on(e.access.check_ip(&kp, ip("192.0.2.15")))
        .unwrap();
    match e.rt.block_on(e.access.check_ip(&kp, ip("192.0.2.16"))) {
        Err(Error::IpNotAllowed(m)) => {
            assert!(m.contains(&format!("API key {}", k.id)), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // Cleared: any address again.
    e.rt.block_on(e.access.set_tenant_ip_allow("cli", "pilot_miso", None))
        .unwrap();
    e.rt.block_on(e.access.check_ip(&p, ip("198.51.100.4")))
        .unwrap();
    let a = actions(&e);
    assert!(
        a.iter()
            .filter(|(x, o)| x == "ip_refused" && o == "denied")
            .count()
            >= 3
    );
    assert!(a.iter().any(|(x, _)| x == "ip_allowlist_set"));
}

#[test]
fn spans_parse_with_units_and_name_the_field() {
    assert_eq!(
        carbon_auth::parse_span("expires", "90d").unwrap(),
        chrono::Duration::days(90)
    );
    assert_eq!(
        carbon_auth::parse_span("grace", "12h").unwrap(),
        chrono::Duration::hours(12)
    );
    assert_eq!(
        carbon_auth::parse_span("grace", "2w").unwrap(),
        chrono::Duration::weeks(2)
    );
    for bad in ["", "90", "d", "-1d", "0d", "1y", "99999999d"] {
        match carbon_auth::parse_span("expires", bad) {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "expires"),
            other => panic!("{bad}: {other:?}"),
        }
    }
}
