//! JWT validation against a local JWKS server: every way a token can be
//! wrong is a 401-class error; a valid RS256 or ES256 token is accepted; an
//! unknown kid makes the verifier fetch the key set again (key rotation).

use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use carbon_auth::{Error, OidcConfig, OidcVerifier};
use carbon_testkit::{HttpServer, Reply};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::{
    elliptic_curve::sec1::ToEncodedPoint,
    pkcs8::{EncodePrivateKey, LineEnding},
};
use rsa::{pkcs1::EncodeRsaPrivateKey, traits::PublicKeyParts};
use serde_json::{Value, json};

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

struct Key {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
    /// The public key as PEM text (for the HS256 key-confusion attack).
    public_pem: String,
}

fn rsa_key(kid: &str) -> Key {
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let public = private.to_public_key();
    let pem = private.to_pkcs1_pem(LineEnding::LF).unwrap();
    use rsa::pkcs1::EncodeRsaPublicKey;
    Key {
        kid: kid.into(),
        alg: Algorithm::RS256,
        encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        jwk: json!({
            "kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
            "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be()),
        }),
        public_pem: public.to_pkcs1_pem(LineEnding::LF).unwrap(),
    }
}

fn ec_key(kid: &str) -> Key {
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
    let point = secret.public_key().to_encoded_point(false);
    Key {
        kid: kid.into(),
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        jwk: json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()),
        }),
        public_pem: String::new(),
    }
}

/// One RSA key per test binary: 2048-bit generation is the slow part.
fn rsa_main() -> &'static Key {
    static K: OnceLock<Key> = OnceLock::new();
    K.get_or_init(|| rsa_key("rsa-1"))
}

struct Idp {
    server: HttpServer,
    jwks: Arc<Mutex<Value>>,
}

impl Idp {
    fn start(keys: &[&Key]) -> Idp {
        let jwks = Arc::new(Mutex::new(
            json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }),
        ));
        let served = jwks.clone();
        let issuer = Arc::new(Mutex::new(String::new()));
        let iss = issuer.clone();
        let server = HttpServer::start(move |hit, _| match hit.path.as_str() {
            "/.well-known/openid-configuration" => Reply::ok(
                json!({
                    "issuer": iss.lock().unwrap().clone(),
                    "jwks_uri": format!("{}/certs", iss.lock().unwrap()),
                })
                .to_string(),
            ),
            "/certs" => Reply::ok(served.lock().unwrap().to_string()),
            _ => Reply::status(404),
        });
        *issuer.lock().unwrap() = server.url("");
        Idp { server, jwks }
    }

    fn issuer(&self) -> String {
        self.server.url("")
    }

    fn verifier(&self) -> OidcVerifier {
        verifier_of(&self.issuer())
    }

    fn claims(&self) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer(), "aud": "carbon", "sub": "svc-1",
            "iat": now, "nbf": now - 5, "exp": now + 300,
            "tenant_id": "pilot_miso",
            "realm_access": { "roles": ["analyst", "admin"] },
            "scope": "openid prices:read",
        })
    }
}

/// A verifier of `issuer` with discovery, audience `carbon`, default claims.
fn verifier_of(issuer: &str) -> OidcVerifier {
    OidcVerifier::new(OidcConfig {
        issuer: issuer.into(),
        audience: "carbon".into(),
        tenant_claim: "tenant_id".into(),
        jwks_uri: None,
        leeway_seconds: 30,
        cache_seconds: 3600,
        client_id: None,
    })
}

fn sign(k: &Key, claims: &Value) -> String {
    let mut h = Header::new(k.alg);
    h.kid = Some(k.kid.clone());
    jsonwebtoken::encode(&h, claims, &k.encoding).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn unauthenticated(r: Result<carbon_auth::OidcIdentity, Error>) -> String {
    match r {
        Err(Error::Unauthenticated(m)) => m,
        other => panic!("expected a 401-class error, got {other:?}"),
    }
}

#[test]
fn valid_rs256_and_es256_tokens_are_accepted_with_roles_scopes_and_tenant() {
    let ec = ec_key("ec-1");
    let idp = Idp::start(&[rsa_main(), &ec]);
    let v = idp.verifier();
    let rt = rt();
    for k in [rsa_main(), &ec] {
        let id = rt.block_on(v.verify(&sign(k, &idp.claims()))).unwrap();
        assert_eq!(id.subject, "svc-1");
        assert_eq!(id.tenant, "pilot_miso");
        assert_eq!(id.roles, vec!["analyst", "admin"]);
        assert_eq!(id.scopes, vec!["openid", "prices:read"]);
    }
    // Discovery once, key set once: the second token used the cache.
    assert_eq!(v.fetches(), 1);
    let paths: Vec<String> = idp.server.hits().iter().map(|h| h.path.clone()).collect();
    assert_eq!(paths, ["/.well-known/openid-configuration", "/certs"]);
}

#[test]
fn every_kind_of_bad_token_is_rejected() {
    let idp = Idp::start(&[rsa_main()]);
    let v = idp.verifier();
    let rt = rt();
    let k = rsa_main();
    let now = chrono::Utc::now().timestamp();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = idp.claims();
        f(&mut c);
        sign(k, &c)
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("expired", with(&|c| c["exp"] = json!(now - 120)), "Expired"),
        (
            "not yet valid",
            with(&|c| c["nbf"] = json!(now + 600)),
            "Immature",
        ),
        (
            "wrong audience",
            with(&|c| c["aud"] = json!("someone-else")),
            "Audience",
        ),
        (
            "wrong issuer",
            with(&|c| c["iss"] = json!("https://evil.example")),
            "Issuer",
        ),
        (
            "no exp",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            "exp",
        ),
    ];
    for (what, token, expect) in cases {
        let m = unauthenticated(rt.block_on(v.verify(&token)));
        assert!(m.contains(expect), "{what}: {m}");
    }
    // alg none: an unsigned token.
    let header = b64(br#"{"alg":"none","typ":"JWT","kid":"rsa-1"}"#);
    let payload = b64(idp.claims().to_string().as_bytes());
    unauthenticated(rt.block_on(v.verify(&format!("{header}.{payload}."))));
    // HS256 "signed" with the RSA public key as the HMAC secret (key confusion).
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("rsa-1".into());
    let forged = jsonwebtoken::encode(
        &h,
        &idp.claims(),
        &EncodingKey::from_secret(k.public_pem.as_bytes()),
    )
    .unwrap();
    let m = unauthenticated(rt.block_on(v.verify(&forged)));
    assert!(m.contains("not accepted"), "{m}");
    // A tampered payload: a valid token whose claims were edited afterwards.
    let good = sign(k, &idp.claims());
    let parts: Vec<&str> = good.split('.').collect();
    let mut c = idp.claims();
    c["tenant_id"] = json!("pilot_caiso");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(c.to_string().as_bytes()),
        parts[2]
    );
    let m = unauthenticated(rt.block_on(v.verify(&tampered)));
    assert!(m.contains("InvalidSignature"), "{m}");
    // Signed by a key the issuer never published.
    let stranger = ec_key("stranger");
    let m = unauthenticated(rt.block_on(v.verify(&sign(&stranger, &idp.claims()))));
    assert!(m.contains("unknown key"), "{m}");
    // A key published for ES256 cannot verify a token claiming RS256.
    let mut mixed = idp.jwks.lock().unwrap().clone();
    mixed["keys"][0]["alg"] = json!("ES256");
    *idp.jwks.lock().unwrap() = mixed;
    let v2 = idp.verifier();
    let m = unauthenticated(rt.block_on(v2.verify(&good)));
    assert!(m.contains("is for ES256"), "{m}");
    // No tenant claim: authenticated, but not let in (403-class).
    *idp.jwks.lock().unwrap() = json!({ "keys": [k.jwk.clone()] });
    let no_tenant = with(&|c| {
        c.as_object_mut().unwrap().remove("tenant_id");
    });
    assert!(matches!(
        rt.block_on(v.verify(&no_tenant)),
        Err(Error::Forbidden(_))
    ));
    // And a good token still passes after all that.
    assert!(rt.block_on(v.verify(&good)).is_ok());
}

#[test]
fn an_unknown_kid_refetches_the_key_set_once_rotation_is_picked_up() {
    let idp = Idp::start(&[rsa_main()]);
    let v = idp.verifier();
    let rt = rt();
    assert!(
        rt.block_on(v.verify(&sign(rsa_main(), &idp.claims())))
            .is_ok()
    );
    assert_eq!(v.fetches(), 1);
    // Within REFETCH_MIN an unknown kid does not hammer the provider.
    let rotated = ec_key("ec-rotated");
    assert!(
        rt.block_on(v.verify(&sign(&rotated, &idp.claims())))
            .is_err()
    );
    assert_eq!(v.fetches(), 1);
    // The provider rotates; once the throttle has passed, the new kid is
    // fetched and accepted.
    *idp.jwks.lock().unwrap() = json!({ "keys": [rsa_main().jwk.clone(), rotated.jwk.clone()] });
    std::thread::sleep(carbon_auth::oidc::REFETCH_MIN);
    let id = rt
        .block_on(v.verify(&sign(&rotated, &idp.claims())))
        .unwrap();
    assert_eq!(id.tenant, "pilot_miso");
    assert_eq!(v.fetches(), 2);
}

#[test]
fn an_unreachable_provider_is_a_provider_error_not_a_401() {
    let v = verifier_of("http://127.0.0.1:9");
    let idp = Idp::start(&[rsa_main()]);
    let token = sign(rsa_main(), &idp.claims());
    match rt().block_on(v.verify(&token)) {
        Err(Error::Provider(m)) => assert!(m.contains("127.0.0.1:9"), "{m}"),
        other => panic!("{other:?}"),
    }
}
