//! The key and network controls through the real binary: API keys that
//! expire and rotate, tenant IP allowlists, signing-key rotation and
//! withdrawal, and `carbon serve --tls-cert/--tls-key` over a real TLS
//! handshake with a certificate made here.

use std::sync::Arc;

use super::cli::{carbon, listening, run};

fn ok(args: &[&str], dir: &std::path::Path) -> String {
    let o = run(carbon(dir).args(args));
    assert_eq!(o.code, 0, "{args:?}: {}{}", o.stdout, o.stderr);
    o.stdout
}

fn key_of(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.starts_with("ck_"))
        .unwrap_or_else(|| panic!("{stdout}"))
        .trim()
        .to_string()
}

/// The key's id: `ck_<id>_<secret>`.
fn id_of(key: &str) -> &str {
    &key[3..15]
}

#[test]
fn keys_allowlists_and_signing_keys_from_the_cli_then_served_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&["init"], d);
    // Keys: an expiring key with an allowlist; bad spans and networks named.
    let out = ok(
        &[
            "admin",
            "key",
            "create",
            "--tenant",
            "pilot_miso",
            "--name",
            "etl",
            "--expires",
            "90d",
            "--allow-ip",
            "10.0.0.0/8",
        ],
        d,
    );
    assert!(out.contains(", expires 20"), "{out}");
    let limited = key_of(&out);
    for (flag, value, named) in [
        ("--expires", "forever", "--expires"),
        ("--allow-ip", "10.0.0.0/99", "10.0.0.0/99"),
    ] {
        let o = run(carbon(d).args([
            "admin",
            "key",
            "create",
            "--tenant",
            "pilot_miso",
            "--name",
            "x",
            flag,
            value,
        ]));
        assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
        assert!(o.stderr.contains(named), "{}", o.stderr);
    }
    let rotated = ok(
        &["admin", "key", "rotate", id_of(&limited), "--grace", "1h"],
        d,
    );
    let successor = key_of(&rotated);
    assert!(
        rotated.contains(&format!("replaces {}", id_of(&limited)))
            && rotated.contains("works until"),
        "{rotated}"
    );
    let list = ok(&["admin", "key", "list", "--tenant", "pilot_miso"], d);
    for needle in [id_of(&limited), id_of(&successor), "10.0.0.0/8", "expires"] {
        assert!(list.contains(needle), "{needle}: {list}");
    }
    let open = key_of(&ok(
        &[
            "admin", "key", "create", "--tenant", "platform", "--name", "ops",
        ],
        d,
    ));
    // A tenant allowlist, shown, then cleared.
    let out = ok(
        &[
            "admin",
            "tenant",
            "allow-ips",
            "pilot_caiso",
            "203.0.113.7/24",
        ],
        d,
    );
    assert!(out.contains("only from 203.0.113.0/24"), "{out}");
    assert!(ok(&["admin", "tenant", "list"], d).contains("203.0.113.0/24"));
    assert!(
        ok(
            &["admin", "tenant", "allow-ips", "pilot_caiso", "--clear"],
            d
        )
        .contains("any address")
    );
    // Signing keys: rotate, list, withdraw.
    let first = ok(&["admin", "signing-key", "list"], d);
    assert_eq!(first.matches("signing").count(), 1, "{first}");
    let out = ok(&["admin", "signing-key", "rotate"], d);
    assert!(out.contains("signs from now on"), "{out}");
    let listed = ok(&["admin", "signing-key", "list"], d);
    assert!(listed.contains("retired (verifying)"), "{listed}");
    let old_kid = listed
        .lines()
        .find(|l| l.contains("retired (verifying)"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    ok(&["admin", "signing-key", "withdraw", &old_kid], d);
    let listed = ok(&["admin", "signing-key", "list"], d);
    assert!(!listed.contains("retired (verifying)"), "{listed}");
    let audit = ok(&["audit", "list", "--limit", "1000"], d);
    for action in [
        "key_rotated",
        "ip_allowlist_set",
        "signing_key_rotated",
        "signing_key_withdrawn",
    ] {
        assert!(audit.contains(action), "{action}: {audit}");
    }

    // TLS: a certificate for localhost, made here.
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_file, key_file) = (d.join("cert.pem"), d.join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    // A missing key file is named before anything listens.
    let o = run(carbon(d)
        .args(["serve", "--offline", "--no-schedule", "--tls-cert"])
        .arg(&cert_file)
        .arg("--tls-key")
        .arg(d.join("missing.pem")));
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("--tls-key") && o.stderr.contains("missing.pem"),
        "{}",
        o.stderr
    );
    let mut child = carbon(d)
        .args([
            "serve",
            "--offline",
            "--no-schedule",
            "--bind",
            "127.0.0.1:0",
            "--exit-after",
            "30",
        ])
        .arg("--tls-cert")
        .arg(&cert_file)
        .arg("--tls-key")
        .arg(&key_file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (url, _, _) = listening(&mut child);
    let addr = url
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("not https: {url}"));
    let port = addr.rsplit(':').next().unwrap();
    let base = format!("https://localhost:{port}");
    let root = ureq::tls::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root])))
                .build(),
        )
        .build()
        .into();
    let status = |key: &str| {
        let mut r = agent
            .get(format!("{base}/api/v1/auth/me"))
            .header("x-api-key", key)
            .call()
            .unwrap();
        let hsts = r
            .headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap().to_string());
        (
            r.status().as_u16(),
            hsts,
            r.body_mut().read_to_string().unwrap(),
        )
    };
    let (code, hsts, body) = status(&open);
    assert_eq!(code, 200, "{body}");
    assert!(hsts.unwrap().starts_with("max-age="));
    // The key limited to 10.0.0.0/8 — and its successor, which inherits the
    // list — are refused from 127.0.0.1, naming the key's allowlist.
    for k in [&limited, &successor] {
        let (code, _, body) = status(k);
        assert_eq!(code, 403, "{body}");
        assert!(
            body.contains("ip_not_allowed") && body.contains("127.0.0.1"),
            "{body}"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
