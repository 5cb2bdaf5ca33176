//! External OIDC (e.g. Keycloak): access tokens presented by programs.
//!
//! The issuer's discovery document (`{issuer}/.well-known/openid-configuration`)
//! names its `jwks_uri`; the key set is cached and fetched again when a token
//! names a `kid` the cache lacks (at most once per [`REFETCH_MIN`], so a
//! stream of made-up kids cannot hammer the provider) or when the cache is
//! older than `cache_seconds`. Only RS256 and ES256 are accepted, and the
//! key's type must fit the algorithm; `aud`, `iss`, `exp` and `nbf` are
//! checked with a small leeway. Roles come from `realm_access.roles`, scopes
//! from `scope`, the tenant from a configurable claim (default `tenant_id`).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    jwk::{Jwk, JwkSet},
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Smallest gap between two key-set fetches triggered by unknown kids.
pub const REFETCH_MIN: Duration = Duration::from_secs(10);

fn default_tenant_claim() -> String {
    "tenant_id".into()
}
fn default_leeway() -> u64 {
    30
}
fn default_cache() -> u64 {
    3600
}

/// `[auth.oidc]` in `carbon.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Issuer URL (must equal the tokens' `iss`).
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
    /// Claim naming the caller's tenant.
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    /// Key-set URL; discovered from the issuer when absent.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Clock leeway for `exp`/`nbf`, seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// How long a fetched key set is trusted, seconds.
    #[serde(default = "default_cache")]
    pub cache_seconds: u64,
    /// Client id the web hub uses for the authorization-code flow.
    #[serde(default)]
    pub client_id: Option<String>,
}

/// Who an OIDC token says the caller is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OidcIdentity {
    /// `sub`.
    pub subject: String,
    /// From the tenant claim.
    pub tenant: String,
    /// `realm_access.roles`.
    pub roles: Vec<String>,
    /// `scope`, split.
    pub scopes: Vec<String>,
    /// `azp`: the client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

#[derive(Default)]
struct Cache {
    jwks_uri: Option<String>,
    keys: HashMap<String, Jwk>,
    fetched: Option<Instant>,
}

/// Verifies access tokens of one issuer.
pub struct OidcVerifier {
    cfg: OidcConfig,
    agent: ureq::Agent,
    cache: tokio::sync::Mutex<Cache>,
    fetches: Mutex<u64>,
}

fn unauth(why: impl std::fmt::Display) -> Error {
    Error::Unauthenticated(format!("invalid OIDC token: {why}"))
}

impl OidcVerifier {
    /// A verifier; nothing is fetched until the first token arrives.
    pub fn new(cfg: OidcConfig) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Self {
            cache: tokio::sync::Mutex::new(Cache {
                jwks_uri: cfg.jwks_uri.clone(),
                ..Default::default()
            }),
            cfg,
            agent,
            fetches: Mutex::new(0),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &OidcConfig {
        &self.cfg
    }

    /// Key-set fetches so far (for tests and metrics).
    pub fn fetches(&self) -> u64 {
        *self.fetches.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn get_json(&self, url: String) -> Result<serde_json::Value> {
        let agent = self.agent.clone();
        tokio::task::spawn_blocking(move || {
            let mut resp = agent
                .get(&url)
                .call()
                .map_err(|e| Error::Provider(format!("GET {url}: {e}")))?;
            let text = resp
                .body_mut()
                .read_to_string()
                .map_err(|e| Error::Provider(format!("GET {url}: {e}")))?;
            serde_json::from_str(&text)
                .map_err(|e| Error::Provider(format!("GET {url}: not JSON: {e}")))
        })
        .await
        .map_err(|e| Error::Provider(e.to_string()))?
    }

    async fn refresh(&self, cache: &mut Cache) -> Result<()> {
        let uri = match &cache.jwks_uri {
            Some(u) => u.clone(),
            None => {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.cfg.issuer.trim_end_matches('/')
                );
                let doc = self.get_json(url.clone()).await?;
                let uri = doc["jwks_uri"]
                    .as_str()
                    .ok_or_else(|| Error::Provider(format!("{url} names no jwks_uri")))?
                    .to_string();
                cache.jwks_uri = Some(uri.clone());
                uri
            }
        };
        let set: JwkSet = serde_json::from_value(self.get_json(uri.clone()).await?)
            .map_err(|e| Error::Provider(format!("{uri}: not a JWK set: {e}")))?;
        *self.fetches.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        cache.keys = set
            .keys
            .into_iter()
            .filter_map(|k| k.common.key_id.clone().map(|kid| (kid, k)))
            .collect();
        cache.fetched = Some(Instant::now());
        Ok(())
    }

    async fn key(&self, kid: &str) -> Result<Jwk> {
        let mut cache = self.cache.lock().await;
        let stale = cache
            .fetched
            .is_none_or(|t| t.elapsed() > Duration::from_secs(self.cfg.cache_seconds));
        let unknown = !cache.keys.contains_key(kid);
        let may_refetch = cache.fetched.is_none_or(|t| t.elapsed() >= REFETCH_MIN);
        if stale || (unknown && may_refetch) {
            self.refresh(&mut cache).await?;
        }
        cache
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| unauth(format!("unknown key `{kid}`")))
    }

    /// Checks a token and reads who it names.
    pub async fn verify(&self, token: &str) -> Result<OidcIdentity> {
        let header = jsonwebtoken::decode_header(token).map_err(unauth)?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(unauth(format!(
                "algorithm {:?} is not accepted (RS256 or ES256 only)",
                header.alg
            )));
        }
        let kid = header.kid.ok_or_else(|| unauth("no `kid` in the header"))?;
        let jwk = self.key(&kid).await?;
        if let Some(a) = jwk.common.key_algorithm
            && a.to_string() != format!("{:?}", header.alg)
        {
            return Err(unauth(format!(
                "key `{kid}` is for {a}, the token says {:?}",
                header.alg
            )));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(unauth)?;
        let mut v = Validation::new(header.alg);
        v.leeway = self.cfg.leeway_seconds;
        v.validate_nbf = true;
        v.set_audience(&[&self.cfg.audience]);
        v.set_issuer(&[&self.cfg.issuer]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &key, &v).map_err(unauth)?;
        let c = data.claims;
        let subject = c["sub"].as_str().unwrap_or_default().to_string();
        let tenant = c[&self.cfg.tenant_claim]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::Forbidden(format!(
                    "the token has no `{}` claim naming a tenant",
                    self.cfg.tenant_claim
                ))
            })?
            .to_string();
        let roles = c["realm_access"]["roles"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let scopes = c["scope"]
            .as_str()
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        let client = c["azp"].as_str().map(str::to_string);
        Ok(OidcIdentity {
            subject,
            tenant,
            roles,
            scopes,
            client,
        })
    }
}
