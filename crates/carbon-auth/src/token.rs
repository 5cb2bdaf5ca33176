//! Session tokens: short-lived ES256 JWTs the server signs with its own key,
//! issued by `POST /api/v1/auth/login` and published at
//! `/.well-known/jwks.json`.
//!
//! The private key is generated on first use and kept in the [`Directory`] (so
//! several API nodes over one PostgreSQL share it). Tokens carry `chn: "hub"`:
//! logging in with a password is the web hub's way in, and a session is
//! channel `hub` whatever it is used for.
//!
//! Keys rotate: the newest key that is not retired signs; a key's
//! `retired` time is when its tokens stop verifying (a rotation sets it to
//! the moment the last token it signed expires; withdrawing a compromised
//! key sets it to now). The JWK set lists every key that still verifies.

use base64::Engine as _;
use carbon_store::{Directory, SigningKey, User};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::{
    elliptic_curve::sec1::ToEncodedPoint,
    pkcs8::{EncodePrivateKey, LineEnding},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, Result};

/// Audience of session tokens.
pub const SESSION_AUDIENCE: &str = "carbon-hub";

/// Claims of a session token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// Issuer (the server's configured issuer name).
    pub iss: String,
    /// Audience ([`SESSION_AUDIENCE`]).
    pub aud: String,
    /// Username.
    pub sub: String,
    /// Tenant.
    pub tenant: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Channel of the session (`hub`).
    pub chn: String,
    /// Issued at (seconds).
    pub iat: i64,
    /// Not before (seconds).
    pub nbf: i64,
    /// Expiry (seconds).
    pub exp: i64,
    /// Where the identity comes from when it is not a built-in user
    /// (`oidc`: a hub session made from the identity provider's token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// The session's id: the server keeps each live session under it (idle
    /// timeout, sign-out) and refuses a token whose session has ended.
    #[serde(default)]
    pub jti: String,
    /// The session's CSRF token: a request that changes something must send
    /// it back in `X-CSRF-Token`.
    #[serde(default)]
    pub csrf: String,
}

/// A session token as issued.
#[derive(Debug, Clone, PartialEq)]
pub struct Issued {
    /// The signed token (the hub's cookie).
    pub token: String,
    /// When it expires.
    pub expires: DateTime<Utc>,
    /// The session id (`jti`).
    pub id: String,
    /// The CSRF token bound to it.
    pub csrf: String,
}

/// 128 random bits, base64url.
fn random_id() -> String {
    let mut b = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    b64(&b)
}

/// Signs and checks session tokens.
pub struct Signer {
    kid: String,
    created: DateTime<Utc>,
    encoding: EncodingKey,
    /// Every key whose tokens still verify, with the time they stop (tokens
    /// signed before a rotation stay valid until they expire).
    verifying: Vec<(String, DecodingKey, Option<DateTime<Utc>>)>,
    jwks: serde_json::Value,
    issuer: String,
    ttl: chrono::Duration,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn crypto(e: impl std::fmt::Display) -> Error {
    Error::Crypto(e.to_string())
}

/// A new P-256 key as stored.
pub fn generate_signing_key() -> Result<SigningKey> {
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let pem = secret.to_pkcs8_pem(LineEnding::LF).map_err(crypto)?;
    let point = secret.public_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(Error::Crypto("P-256 public key without coordinates".into()));
    };
    let kid = crate::secret::sha256_hex(&format!("{}{}", b64(x), b64(y)))[..16].to_string();
    Ok(SigningKey {
        kid: kid.clone(),
        alg: "ES256".into(),
        private_pem: pem.to_string(),
        public_jwk: json!({
            "kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y),
            "kid": kid, "alg": "ES256", "use": "sig",
        }),
        created: Utc::now(),
        retired: None,
    })
}

impl Signer {
    /// The newest signing key that is not retired (one is made when there is
    /// none), and every key whose tokens still verify.
    pub async fn load_or_create(
        dir: &dyn Directory,
        issuer: &str,
        ttl: chrono::Duration,
    ) -> Result<Signer> {
        let mut keys = dir.signing_keys().await?;
        if !keys.iter().any(|k| k.retired.is_none()) {
            dir.add_signing_key(generate_signing_key()?).await?;
            keys = dir.signing_keys().await?;
        }
        let now = Utc::now();
        let active = keys
            .iter()
            .find(|k| k.retired.is_none())
            .ok_or_else(|| Error::Crypto("no signing key".into()))?;
        let encoding = EncodingKey::from_ec_pem(active.private_pem.as_bytes()).map_err(crypto)?;
        let mut verifying = Vec::new();
        let mut public = Vec::new();
        for k in keys.iter().filter(|k| k.retired.is_none_or(|r| r > now)) {
            let (Some(x), Some(y)) = (k.public_jwk["x"].as_str(), k.public_jwk["y"].as_str())
            else {
                return Err(Error::Crypto(format!("signing key {} has no x/y", k.kid)));
            };
            verifying.push((
                k.kid.clone(),
                DecodingKey::from_ec_components(x, y).map_err(crypto)?,
                k.retired,
            ));
            public.push(k.public_jwk.clone());
        }
        Ok(Signer {
            kid: active.kid.clone(),
            created: active.created,
            encoding,
            verifying,
            jwks: json!({ "keys": public }),
            issuer: issuer.to_string(),
            ttl,
        })
    }

    /// The `kid` of the key that signs now.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// When the signing key was made (automatic rotation counts from here).
    pub fn created(&self) -> DateTime<Utc> {
        self.created
    }

    /// A session token for `user`.
    pub fn issue(&self, user: &User) -> Result<Issued> {
        self.issue_for(&user.username, &user.tenant, &user.roles, None)
    }

    /// A session token for any subject (`idp` names where an external
    /// identity was verified).
    pub fn issue_for(
        &self,
        subject: &str,
        tenant: &str,
        roles: &[String],
        idp: Option<&str>,
    ) -> Result<Issued> {
        let now = Utc::now();
        let exp = now + self.ttl;
        let claims = SessionClaims {
            iss: self.issuer.clone(),
            aud: SESSION_AUDIENCE.into(),
            sub: subject.to_string(),
            tenant: tenant.to_string(),
            roles: roles.to_vec(),
            chn: "hub".into(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: exp.timestamp(),
            idp: idp.map(str::to_string),
            jti: random_id(),
            csrf: random_id(),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(crypto)?;
        Ok(Issued {
            token,
            expires: exp,
            id: claims.jti,
            csrf: claims.csrf,
        })
    }

    /// True when `kid` names one of this server's keys.
    pub fn owns(&self, kid: &str) -> bool {
        self.verifying.iter().any(|(k, _, _)| k == kid)
    }

    /// Checks a session token: signature by one of our keys, ES256 only,
    /// issuer, audience, expiry and not-before (30 s leeway).
    pub fn verify(&self, token: &str) -> Result<SessionClaims> {
        let bad = |why: String| Error::Unauthenticated(format!("invalid session token: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|e| bad(e.to_string()))?;
        if header.alg != Algorithm::ES256 {
            return Err(bad(format!("algorithm {:?} is not accepted", header.alg)));
        }
        let kid = header.kid.ok_or_else(|| bad("no `kid`".into()))?;
        let (_, key, until) = self
            .verifying
            .iter()
            .find(|(k, _, _)| *k == kid)
            .ok_or_else(|| bad(format!("unknown or retired key `{kid}`")))?;
        // A key retired while this signer was loaded stops here too.
        if until.is_some_and(|t| t <= Utc::now()) {
            return Err(bad(format!("key `{kid}` is retired")));
        }
        let mut v = Validation::new(Algorithm::ES256);
        v.leeway = 30;
        v.validate_nbf = true;
        v.set_audience(&[SESSION_AUDIENCE]);
        v.set_issuer(&[&self.issuer]);
        v.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        let data = jsonwebtoken::decode::<SessionClaims>(token, key, &v)
            .map_err(|e| bad(e.to_string()))?;
        if data.claims.chn != "hub" {
            return Err(bad("not a session token".into()));
        }
        Ok(data.claims)
    }

    /// The public keys as a JWK set.
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    /// Session lifetime.
    pub fn ttl(&self) -> chrono::Duration {
        self.ttl
    }
}
