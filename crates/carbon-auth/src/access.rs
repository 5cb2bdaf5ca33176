//! [`Access`]: authentication, the entitlement policy over cached grants, and
//! the administrative operations — each of which writes an audit event.
//!
//! Grants and API keys are read on every request, so they are cached in
//! memory; every change made through `Access` refreshes the cache at once.
//! (The embedded store has one writer process, so no change can come from
//! elsewhere while a server runs; a scale-out deployment would add a short
//! time-to-live here.)

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, RwLock},
};

use ipnet::IpNet;

use carbon_store::{ApiKey, AuditEvent, Directory, Grant, NewAuditEvent, Tenant, User};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    error::{Error, Result},
    net,
    oidc::{OidcConfig, OidcVerifier},
    policy::{self, Ask, Channel, PRODUCTS, Scope},
    secret,
    token::{Issued, Signer, generate_signing_key},
};

/// What a program that presented a hub session as a bearer token is told.
pub const SESSION_NOT_A_BEARER: &str = "a hub session works only as the web hub's `carbon_session` cookie, never as `Authorization: Bearer` or `X-API-Key`; programs authenticate with an API key (`X-API-Key: ck_…`; make one with POST /api/v1/keys or `carbon admin key create`) or with an access token of the configured OIDC provider";

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Method {
    /// A session from logging in (the web hub's cookie).
    Session {
        /// The session's id (sign-out ends it).
        #[serde(skip)]
        id: String,
        /// Its CSRF token (`X-CSRF-Token` on state-changing requests).
        #[serde(skip)]
        csrf: String,
    },
    /// An API key.
    ApiKey {
        /// The key's id.
        id: String,
    },
    /// An access token of the external OIDC provider.
    Oidc {
        /// The client it was issued to (`azp`).
        #[serde(skip)]
        client: Option<String>,
    },
}

/// How a request moves data; with [`Method`] it decides the [`Channel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A REST call.
    Rest,
    /// WebSocket or SSE.
    Stream,
    /// A file export.
    Download,
    /// A report.
    Report,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Principal {
    /// Username, `key:<id>` or the OIDC `sub`.
    pub subject: String,
    /// Tenant.
    pub tenant: String,
    /// Roles.
    pub roles: Vec<String>,
    /// How they authenticated.
    pub method: Method,
}

impl Principal {
    /// The channel a request of this caller over `transport` uses. A session
    /// is `hub` for REST and the stream alike; programs (API key, OIDC) are
    /// `api` for REST and `stream` for WebSocket/SSE; exports and reports are
    /// `downloads` and `reports` whoever asks.
    pub fn channel(&self, transport: Transport) -> Channel {
        match (transport, &self.method) {
            (Transport::Download, _) => Channel::Downloads,
            (Transport::Report, _) => Channel::Reports,
            (_, Method::Session { .. }) => Channel::Hub,
            (Transport::Rest, _) => Channel::Api,
            (Transport::Stream, _) => Channel::Stream,
        }
    }

    /// Platform administrator (role `admin`).
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == "admin")
    }

    /// What the audit log calls this caller.
    pub fn actor(&self) -> String {
        match &self.method {
            Method::ApiKey { id } => format!("key:{id}"),
            Method::Oidc { .. } => format!("oidc:{}", self.subject),
            Method::Session { .. } => self.subject.clone(),
        }
    }

    /// The key rate limits are counted under: the API key, or the user.
    pub fn rate_key(&self) -> String {
        self.actor()
    }
}

/// Credentials as presented.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// `X-API-Key`, or a Bearer value shaped like a key.
    ApiKey(&'a str),
    /// A Bearer JWT: an OIDC access token (a hub session is refused here).
    Token(&'a str),
    /// The hub's session cookie.
    Cookie(&'a str),
}

/// `[auth]` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `iss` of session tokens.
    pub issuer: String,
    /// Session lifetime, minutes.
    pub session_minutes: i64,
    /// A session unused for this many seconds ends (default 1800: 30 minutes).
    pub session_idle_seconds: i64,
    /// Rotate the session-signing key when it is this many days old (0:
    /// only by hand, `carbon admin signing-key rotate`).
    pub signing_key_rotate_days: i64,
    /// External OIDC provider, if any.
    pub oidc: Option<OidcConfig>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "carbon".into(),
            session_minutes: 60,
            session_idle_seconds: 1800,
            signing_key_rotate_days: 0,
            oidc: None,
        }
    }
}

/// A new grant as asked for (CLI or admin API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantSpec {
    /// Tenant.
    pub tenant: String,
    /// Market code or `*`.
    pub market: String,
    /// Product or `*`.
    pub product: String,
    /// Channels.
    pub channels: Vec<String>,
    /// Instrument allow-list.
    #[serde(default)]
    pub instruments: Option<Vec<String>>,
    /// First date.
    #[serde(default)]
    pub start: Option<NaiveDate>,
    /// Last date.
    #[serde(default)]
    pub end: Option<NaiveDate>,
}

/// What first start created (printed once).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bootstrap {
    /// (username, tenant, password) of each account made.
    pub accounts: Vec<(String, String, String)>,
}

/// What a new API key may carry beside its name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyOptions {
    /// When it stops working.
    pub expires: Option<DateTime<Utc>>,
    /// Networks it may be used from (CIDR).
    pub ip_allow: Option<Vec<String>>,
}

/// A key as read, with its IP allowlist parsed once.
type CachedKey = (ApiKey, Option<Vec<IpNet>>);

/// A key's last use is written at most this often (seconds).
const TOUCH_EVERY_SECONDS: i64 = 60;

/// Authentication, policy and administration over a [`Directory`].
pub struct Access {
    dir: Arc<dyn Directory>,
    signer: RwLock<Arc<Signer>>,
    issuer: String,
    ttl: chrono::Duration,
    oidc: Option<OidcVerifier>,
    grants: RwLock<Arc<Vec<Grant>>>,
    /// Keys as read, with their IP allowlist parsed once.
    keys: RwLock<HashMap<String, CachedKey>>,
    tenant_nets: RwLock<HashMap<String, Vec<IpNet>>>,
    touched: Mutex<HashMap<String, DateTime<Utc>>>,
    sessions: Mutex<HashMap<String, Live>>,
    idle: chrono::Duration,
}

/// A span like `90d`, `12h`, `30m`, `2w` or `3600s`, naming `field` when it is
/// not one.
pub fn parse_span(field: &'static str, s: &str) -> Result<chrono::Duration> {
    let t = s.trim();
    let bad = || {
        Error::invalid(
            field,
            format!("`{s}`: a whole number with a unit s, m, h, d or w (e.g. 90d)"),
        )
    };
    let unit = t.chars().last().ok_or_else(bad)?;
    let n: i64 = t[..t.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    if n <= 0 || n > 36_500 * 86_400 {
        return Err(bad());
    }
    let d = match unit {
        's' => chrono::Duration::seconds(n),
        'm' => chrono::Duration::minutes(n),
        'h' => chrono::Duration::hours(n),
        'd' => chrono::Duration::days(n),
        'w' => chrono::Duration::weeks(n),
        _ => return Err(bad()),
    };
    if d > chrono::Duration::days(36_500) {
        return Err(bad());
    }
    Ok(d)
}

/// A live hub session, as this server keeps it.
#[derive(Debug, Clone)]
struct Live {
    subject: String,
    last_seen: DateTime<Utc>,
    expires: DateTime<Utc>,
}

fn valid_id(field: &'static str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("`{s}`: 1–64 letters, digits, `_`, `-` or `.`"),
        ))
    }
}

impl Access {
    /// Opens over `dir`: loads (or makes) the signing key and the grants.
    pub async fn open(dir: Arc<dyn Directory>, cfg: &AuthConfig) -> Result<Access> {
        let signer = Signer::load_or_create(
            dir.as_ref(),
            &cfg.issuer,
            chrono::Duration::minutes(cfg.session_minutes.max(1)),
        )
        .await?;
        let grants = dir.grants(None).await?;
        let access = Access {
            ttl: signer.ttl(),
            signer: RwLock::new(Arc::new(signer)),
            issuer: cfg.issuer.clone(),
            oidc: cfg.oidc.clone().map(OidcVerifier::new),
            grants: RwLock::new(Arc::new(grants)),
            keys: RwLock::new(HashMap::new()),
            tenant_nets: RwLock::new(HashMap::new()),
            touched: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            idle: chrono::Duration::seconds(cfg.session_idle_seconds.max(1)),
            dir,
        };
        access.reload_tenant_nets().await?;
        Ok(access)
    }

    async fn reload_tenant_nets(&self) -> Result<()> {
        let mut map = HashMap::new();
        for t in self.dir.tenants().await? {
            if let Some(list) = &t.ip_allow {
                // A stored list that no longer parses allows nothing.
                map.insert(
                    t.id.clone(),
                    net::parse_cidrs("ip_allow", list).unwrap_or_default(),
                );
            }
        }
        *self.tenant_nets.write().unwrap_or_else(|p| p.into_inner()) = map;
        Ok(())
    }

    /// Reads the signing keys again (another node may have rotated them).
    pub async fn reload_signer(&self) -> Result<()> {
        let s = Signer::load_or_create(self.dir.as_ref(), &self.issuer, self.ttl).await?;
        *self.signer.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(s);
        Ok(())
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps a newly issued session (and forgets expired ones).
    fn start_session(&self, subject: &str, issued: &Issued) {
        let now = Utc::now();
        let mut live = self.live();
        live.retain(|_, l| l.expires > now);
        live.insert(
            issued.id.clone(),
            Live {
                subject: subject.to_string(),
                last_seen: now,
                expires: issued.expires,
            },
        );
    }

    /// Checks that session `id` is live and not idle, and marks it used.
    fn touch_session(&self, id: &str) -> Result<()> {
        let now = Utc::now();
        let mut live = self.live();
        let Some(l) = live.get_mut(id) else {
            return Err(Error::Unauthenticated(
                "the session has ended (signed out, or the server restarted); sign in again".into(),
            ));
        };
        if now - l.last_seen > self.idle {
            live.remove(id);
            return Err(Error::Unauthenticated(format!(
                "the session was idle for more than {} s; sign in again",
                self.idle.num_seconds()
            )));
        }
        l.last_seen = now;
        Ok(())
    }

    /// Ends a session now (sign-out).
    pub fn end_session(&self, id: &str) {
        self.live().remove(id);
    }

    /// Ends every session of `subject` now; how many there were.
    pub fn end_sessions_of(&self, subject: &str) -> usize {
        let mut live = self.live();
        let before = live.len();
        live.retain(|_, l| l.subject != subject);
        before - live.len()
    }

    /// Hub sessions live now.
    pub fn live_sessions(&self) -> usize {
        self.live().len()
    }

    /// The directory underneath.
    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.dir
    }

    /// The session-token signer (JWKS, TTL) now in force.
    pub fn signer(&self) -> Arc<Signer> {
        self.signer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The OIDC verifier, when configured.
    pub fn oidc(&self) -> Option<&OidcVerifier> {
        self.oidc.as_ref()
    }

    /// Records a security event. A failure to record is logged, not raised:
    /// the request it describes has already been decided.
    pub async fn audit(
        &self,
        actor: &str,
        tenant: Option<&str>,
        action: &str,
        target: Option<&str>,
        outcome: &str,
        detail: Value,
    ) -> Option<AuditEvent> {
        let r = self
            .dir
            .audit(NewAuditEvent {
                actor: actor.to_string(),
                tenant: tenant.map(str::to_string),
                action: action.to_string(),
                target: target.map(str::to_string),
                outcome: outcome.to_string(),
                detail,
            })
            .await;
        match r {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::error!(error = %e, action, "could not write the audit log");
                None
            }
        }
    }

    /// Who presented `cred`.
    pub async fn authenticate(&self, cred: Credential<'_>) -> Result<Principal> {
        match cred {
            Credential::ApiKey(k) => self.check_key(k).await,
            Credential::Token(t) => {
                let kid = jsonwebtoken::decode_header(t)
                    .map_err(|e| Error::Unauthenticated(format!("invalid token: {e}")))?
                    .kid;
                if kid.as_deref().is_some_and(|k| self.signer().owns(k)) {
                    Err(Error::Unauthenticated(SESSION_NOT_A_BEARER.into()))
                } else if let Some(o) = &self.oidc {
                    let id = o.verify(t).await?;
                    Ok(Principal {
                        subject: id.subject,
                        tenant: id.tenant,
                        roles: id.roles,
                        method: Method::Oidc { client: id.client },
                    })
                } else {
                    Err(Error::Unauthenticated(
                        "invalid token: not an access token of a configured identity provider"
                            .into(),
                    ))
                }
            }
            Credential::Cookie(t) => {
                let c = self.signer().verify(t)?;
                self.touch_session(&c.jti)?;
                let method = Method::Session {
                    id: c.jti.clone(),
                    csrf: c.csrf.clone(),
                };
                // A hub session made from an OIDC sign-in: the provider
                // vouched for it; it lasts the session's short lifetime.
                if c.idp.as_deref() == Some("oidc") && self.oidc.is_some() {
                    return Ok(Principal {
                        subject: c.sub,
                        tenant: c.tenant,
                        roles: c.roles,
                        method,
                    });
                }
                // A disabled or deleted user's session ends now, not at expiry.
                match self.dir.user(&c.sub).await? {
                    Some(u) if !u.disabled && u.tenant == c.tenant => Ok(Principal {
                        subject: u.username,
                        tenant: u.tenant,
                        roles: u.roles,
                        method,
                    }),
                    _ => {
                        self.end_session(&c.jti);
                        Err(Error::Unauthenticated(format!(
                            "user `{}` can no longer sign in",
                            c.sub
                        )))
                    }
                }
            }
        }
    }

    async fn check_key(&self, presented: &str) -> Result<Principal> {
        let bad = || Error::Unauthenticated("invalid API key".into());
        let (id, secret_part) = secret::parse_api_key(presented).ok_or_else(bad)?;
        let cached = self
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .map(|(k, _)| k.clone());
        let key = match cached {
            Some(k) => k,
            None => {
                let k = self.dir.api_key(id).await?.ok_or_else(bad)?;
                // A stored list that no longer parses allows nothing.
                let nets = k
                    .ip_allow
                    .as_deref()
                    .map(|l| net::parse_cidrs("ip_allow", l).unwrap_or_default());
                self.keys
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id.to_string(), (k.clone(), nets));
                k
            }
        };
        if key.revoked.is_some() {
            return Err(Error::Unauthenticated(format!("API key {id} was revoked")));
        }
        if !secret::same(&secret::sha256_hex(secret_part), &key.secret_hash) {
            return Err(bad());
        }
        let now = Utc::now();
        if let Some(e) = key.expires.filter(|e| *e <= now) {
            return Err(Error::Unauthenticated(format!(
                "API key {id} expired at {}; ask for a new one (or rotate it before it expires)",
                e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        self.touch_key(&key.id, now);
        let roles = match &key.owner {
            Some(u) => self
                .dir
                .user(u)
                .await?
                .filter(|u| !u.disabled)
                .map(|u| u.roles)
                .unwrap_or_default(),
            None => Vec::new(),
        };
        Ok(Principal {
            subject: format!("key:{}", key.id),
            tenant: key.tenant,
            roles,
            method: Method::ApiKey { id: key.id },
        })
    }

    /// Drops a key from the cache (it changed; the next use reads it again).
    fn forget_key(&self, id: &str) {
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Records a key's use, at most once a minute per key, without holding
    /// up the request.
    fn touch_key(&self, id: &str, now: DateTime<Utc>) {
        {
            let mut t = self.touched.lock().unwrap_or_else(|p| p.into_inner());
            if t.get(id)
                .is_some_and(|last| (now - *last).num_seconds() < TOUCH_EVERY_SECONDS)
            {
                return;
            }
            t.insert(id.to_string(), now);
        }
        let (dir, id) = (self.dir.clone(), id.to_string());
        let write = async move {
            if let Err(e) = dir.touch_api_key(&id, now).await {
                tracing::warn!(error = %e, key = %id, "could not record the key's last use");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn(write);
            }
            Err(_) => tracing::debug!("no runtime: last use not recorded"),
        }
    }

    /// Whether `who`, connecting from `ip`, is inside its tenant's and (for an
    /// API key) the key's IP allowlists. A refusal names the list and the
    /// address (not the networks) and is audited.
    pub async fn check_ip(&self, who: &Principal, ip: IpAddr) -> Result<()> {
        let key = match &who.method {
            Method::ApiKey { id } => Some(id.as_str()),
            _ => None,
        };
        self.check_ip_of(&who.actor(), &who.tenant, key, ip).await
    }

    /// [`Access::check_ip`] for `actor` of `tenant` (using API key `key`).
    async fn check_ip_of(
        &self,
        actor: &str,
        tenant: &str,
        key: Option<&str>,
        ip: IpAddr,
    ) -> Result<()> {
        let outside = |nets: &[IpNet]| !net::allowed(nets, ip);
        let tenant_refuses = self
            .tenant_nets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .is_some_and(|n| outside(n));
        let rule = if tenant_refuses {
            format!("tenant `{tenant}`'s IP allowlist")
        } else {
            let key_refuses = key.is_some_and(|id| {
                self.keys
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(id)
                    .and_then(|(_, nets)| nets.as_deref())
                    .is_some_and(outside)
            });
            match key {
                Some(id) if key_refuses => format!("API key {id}'s IP allowlist"),
                _ => return Ok(()),
            }
        };
        self.audit(
            actor,
            Some(tenant),
            "ip_refused",
            None,
            "denied",
            json!({ "address": ip.to_string(), "rule": rule }),
        )
        .await;
        Err(Error::IpNotAllowed(format!(
            "{ip} is not in {rule}; ask the tenant's administrator to add your network"
        )))
    }

    /// A hub session for a caller who presented the OIDC provider's token
    /// (the hub's authorization-code + PKCE sign-in ends here). Audited.
    pub async fn oidc_session(&self, who: &Principal) -> Result<Issued> {
        let Method::Oidc { client } = &who.method else {
            return Err(Error::Forbidden(
                "a hub session is made from the identity provider's access token (Authorization: Bearer)"
                    .into(),
            ));
        };
        // Only a token issued to the hub's own client (its authorization-code
        // + PKCE sign-in) becomes a hub session; any other client's token —
        // a service account, a script — stays a program (`api`/`stream`).
        let hub_client = self
            .oidc
            .as_ref()
            .and_then(|o| o.config().client_id.clone());
        match (&hub_client, client) {
            (None, _) => {
                return Err(Error::Forbidden(
                    "hub sign-in through the identity provider is not configured (`[auth.oidc] client_id`)"
                        .into(),
                ));
            }
            (Some(hub), Some(c)) if c == hub => {}
            (Some(hub), other) => {
                self.audit(
                    &who.actor(),
                    Some(&who.tenant),
                    "login",
                    None,
                    "failed",
                    json!({ "via": "oidc", "reason": "not the hub's client", "azp": other }),
                )
                .await;
                return Err(Error::Forbidden(format!(
                    "only a token issued to the hub's client `{hub}` becomes a hub session (this one's `azp` is {}); other clients' tokens are programs: use them as `Authorization: Bearer` on the API",
                    other
                        .as_deref()
                        .map_or("absent".to_string(), |c| format!("`{c}`"))
                )));
            }
        }
        let issued =
            self.signer()
                .issue_for(&who.subject, &who.tenant, &who.roles, Some("oidc"))?;
        self.start_session(&who.subject, &issued);
        self.audit(
            &who.actor(),
            Some(&who.tenant),
            "login",
            None,
            "ok",
            json!({ "via": "oidc" }),
        )
        .await;
        Ok(issued)
    }

    /// Password login: a new hub session. Audited either way. `ip`, the
    /// client's address, must be inside the tenant's allowlist (checked only
    /// once the password is right, so the refusal tells a stranger nothing).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<(Issued, User)> {
        let user = self.dir.user(username).await?;
        let ok = match &user {
            Some(u) if !u.disabled => {
                let (pw, hash) = (password.to_string(), u.password_hash.clone());
                tokio::task::spawn_blocking(move || secret::verify_password(&pw, &hash))
                    .await
                    .unwrap_or(false)
            }
            _ => {
                // Spend the same time as a real check, so timing does not tell
                // which usernames exist.
                let pw = password.to_string();
                let _ = tokio::task::spawn_blocking(move || {
                    secret::verify_password(&pw, DUMMY_HASH.as_str())
                })
                .await;
                false
            }
        };
        let tenant = user.as_ref().map(|u| u.tenant.clone());
        match (ok, user) {
            (true, Some(u)) => {
                if let Some(ip) = ip {
                    self.check_ip_of(&u.username, &u.tenant, None, ip).await?;
                }
                let issued = self.signer().issue(&u)?;
                self.start_session(&u.username, &issued);
                self.audit(username, tenant.as_deref(), "login", None, "ok", json!({}))
                    .await;
                Ok((issued, u))
            }
            _ => {
                self.audit(
                    username,
                    tenant.as_deref(),
                    "login",
                    None,
                    "failed",
                    json!({}),
                )
                .await;
                Err(Error::Unauthenticated(
                    "wrong username or password".to_string(),
                ))
            }
        }
    }

    /// The grants now in force.
    pub fn grants(&self) -> Arc<Vec<Grant>> {
        self.grants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn reload_grants(&self) -> Result<()> {
        let g = self.dir.grants(None).await?;
        *self.grants.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(g);
        Ok(())
    }

    /// The policy's answer for `who` asking `ask`.
    pub fn decide(&self, who: &Principal, ask: &Ask<'_>) -> Result<()> {
        policy::decide(&self.grants(), &who.tenant, ask).map_err(Error::Forbidden)
    }

    /// What `who` may see of a market (or all) × product through a channel.
    pub fn scope(
        &self,
        who: &Principal,
        market: Option<carbon_core::Market>,
        product: Option<&str>,
        channel: Channel,
    ) -> Scope {
        Scope::of(&self.grants(), &who.tenant, market, product, channel)
    }

    // ---- administration (each change audited) ----

    /// Creates a tenant.
    pub async fn create_tenant(&self, actor: &str, id: &str, name: &str) -> Result<Tenant> {
        valid_id("tenant", id)?;
        let t = Tenant {
            id: id.into(),
            name: if name.is_empty() {
                id.into()
            } else {
                name.into()
            },
            created: Utc::now(),
            ip_allow: None,
        };
        self.dir.create_tenant(t.clone()).await?;
        self.audit(
            actor,
            Some(id),
            "tenant_created",
            Some(id),
            "ok",
            json!({"name": t.name}),
        )
        .await;
        Ok(t)
    }

    /// Creates or replaces a user with a password (hashed here).
    pub async fn put_user(
        &self,
        actor: &str,
        username: &str,
        tenant: &str,
        password: &str,
        roles: Vec<String>,
    ) -> Result<User> {
        valid_id("username", username)?;
        for r in &roles {
            valid_id("roles", r)?;
        }
        let pw = password.to_string();
        let hash = tokio::task::spawn_blocking(move || secret::hash_password(&pw))
            .await
            .map_err(|e| Error::Crypto(e.to_string()))??;
        let existed = self.dir.user(username).await?;
        let u = User {
            username: username.into(),
            tenant: tenant.into(),
            password_hash: hash,
            roles,
            disabled: false,
            created: existed.map(|u| u.created).unwrap_or_else(Utc::now),
        };
        self.dir.put_user(u.clone()).await?;
        self.audit(
            actor,
            Some(tenant),
            "user_saved",
            Some(username),
            "ok",
            json!({"roles": u.roles}),
        )
        .await;
        Ok(u)
    }

    /// Disables or re-enables a user.
    pub async fn set_user_disabled(
        &self,
        actor: &str,
        username: &str,
        disabled: bool,
    ) -> Result<()> {
        let mut u = self
            .dir
            .user(username)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no user `{username}`")))?;
        u.disabled = disabled;
        let tenant = u.tenant.clone();
        self.dir.put_user(u).await?;
        if disabled {
            self.end_sessions_of(username);
        }
        self.audit(
            actor,
            Some(&tenant),
            if disabled {
                "user_disabled"
            } else {
                "user_enabled"
            },
            Some(username),
            "ok",
            json!({}),
        )
        .await;
        Ok(())
    }

    /// Creates an API key; returns its record and the full key (shown once).
    pub async fn create_key(
        &self,
        actor: &str,
        tenant: &str,
        owner: Option<&str>,
        name: &str,
        opts: KeyOptions,
    ) -> Result<(ApiKey, String)> {
        let ip_allow = opts
            .ip_allow
            .as_deref()
            .map(|l| net::canonical_cidrs("ip_allow", l))
            .transpose()?;
        if let Some(e) = opts.expires.filter(|e| *e <= Utc::now()) {
            return Err(Error::invalid(
                "expires",
                format!("{e} is in the past; a key must be able to work"),
            ));
        }
        // A key is how programs read (channels `api`, `stream`): a tenant
        // without either would hold a key that opens nothing.
        let programmatic = self
            .grants()
            .iter()
            .any(|g| g.tenant == tenant && g.channels.iter().any(|c| c == "api" || c == "stream"));
        if !programmatic {
            self.audit(
                actor,
                Some(tenant),
                "key_created",
                None,
                "denied",
                json!({"name": name}),
            )
            .await;
            return Err(Error::Forbidden(format!(
                "tenant `{tenant}` has no `api` or `stream` channel, so it cannot have API keys"
            )));
        }
        let (id, full, hash) = secret::new_api_key();
        let k = ApiKey {
            id,
            tenant: tenant.into(),
            owner: owner.map(str::to_string),
            name: name.into(),
            secret_hash: hash,
            created: Utc::now(),
            revoked: None,
            expires: opts.expires,
            last_used: None,
            ip_allow,
        };
        self.dir.create_api_key(k.clone()).await?;
        self.audit(
            actor,
            Some(tenant),
            "key_created",
            Some(&k.id),
            "ok",
            json!({"name": name, "owner": owner, "expires": k.expires, "ip_allow": k.ip_allow}),
        )
        .await;
        Ok((k, full))
    }

    /// Issues the successor of a live key (same tenant, owner, name and
    /// allowlist; an expiring key's successor gets the same lifetime from
    /// now) and keeps the old key working for `grace` only (never longer
    /// than it would have). `tenant` limits it to that tenant's keys.
    /// Returns the successor, its full key (shown once) and the old record.
    pub async fn rotate_key(
        &self,
        actor: &str,
        id: &str,
        tenant: Option<&str>,
        grace: chrono::Duration,
    ) -> Result<(ApiKey, String, ApiKey)> {
        let now = Utc::now();
        let old = self
            .dir
            .api_key(id)
            .await?
            .filter(|k| tenant.is_none_or(|t| t == k.tenant))
            .ok_or_else(|| Error::NotFound(format!("no API key `{id}`")))?;
        if old.revoked.is_some() || old.expires.is_some_and(|e| e <= now) {
            return Err(Error::invalid(
                "id",
                format!("API key `{id}` is revoked or expired; create a new key instead"),
            ));
        }
        if grace < chrono::Duration::zero() {
            return Err(Error::invalid("grace", "must not be negative"));
        }
        let lifetime = old.expires.map(|e| e - old.created);
        let (new_id, full, hash) = secret::new_api_key();
        let successor = ApiKey {
            id: new_id,
            tenant: old.tenant.clone(),
            owner: old.owner.clone(),
            name: old.name.clone(),
            secret_hash: hash,
            created: now,
            revoked: None,
            expires: lifetime.map(|l| now + l),
            last_used: None,
            ip_allow: old.ip_allow.clone(),
        };
        self.dir.create_api_key(successor.clone()).await?;
        let until = old.expires.map_or(now + grace, |e| e.min(now + grace));
        self.dir.set_api_key_expiry(id, Some(until)).await?;
        self.forget_key(id);
        self.audit(
            actor,
            Some(&old.tenant),
            "key_rotated",
            Some(id),
            "ok",
            json!({ "successor": successor.id, "old_key_expires": until }),
        )
        .await;
        let old = ApiKey {
            expires: Some(until),
            ..old
        };
        Ok((successor, full, old))
    }

    /// Sets (or with `None` clears) a tenant's IP allowlist. Audited.
    pub async fn set_tenant_ip_allow(
        &self,
        actor: &str,
        tenant: &str,
        cidrs: Option<Vec<String>>,
    ) -> Result<Option<Vec<String>>> {
        let list = cidrs
            .as_deref()
            .map(|l| net::canonical_cidrs("ip_allow", l))
            .transpose()?;
        if !self.dir.set_tenant_ip_allow(tenant, list.clone()).await? {
            return Err(Error::NotFound(format!("no tenant `{tenant}`")));
        }
        self.reload_tenant_nets().await?;
        self.audit(
            actor,
            Some(tenant),
            "ip_allowlist_set",
            Some(tenant),
            "ok",
            json!({ "ip_allow": list }),
        )
        .await;
        Ok(list)
    }

    /// Adds a new signing key that signs from now on; the keys it replaces
    /// keep verifying until the last token they signed expires. Audited.
    /// Returns the new key's `kid`.
    pub async fn rotate_signing_key(&self, actor: &str) -> Result<String> {
        let now = Utc::now();
        let old: Vec<String> = self
            .dir
            .signing_keys()
            .await?
            .into_iter()
            .filter(|k| k.retired.is_none())
            .map(|k| k.kid)
            .collect();
        let fresh = generate_signing_key()?;
        let kid = fresh.kid.clone();
        self.dir.add_signing_key(fresh).await?;
        // Tokens live `ttl`; 30 s more for the verifier's clock leeway.
        let until = now + self.ttl + chrono::Duration::seconds(30);
        for k in &old {
            self.dir.retire_signing_key(k, until).await?;
        }
        self.reload_signer().await?;
        self.audit(
            actor,
            None,
            "signing_key_rotated",
            Some(&kid),
            "ok",
            json!({ "retired": old, "old_tokens_verify_until": until }),
        )
        .await;
        Ok(kid)
    }

    /// Withdraws a signing key at once (it was exposed): every session it
    /// signed ends now, and when it was the signing key a new one takes over.
    /// Audited.
    pub async fn withdraw_signing_key(&self, actor: &str, kid: &str) -> Result<()> {
        let now = Utc::now();
        if !self.dir.signing_keys().await?.iter().any(|k| k.kid == kid) {
            return Err(Error::NotFound(format!("no signing key `{kid}`")));
        }
        if !self.dir.retire_signing_key(kid, now).await? {
            return Err(Error::NotFound(format!(
                "signing key `{kid}` no longer verifies anything"
            )));
        }
        self.reload_signer().await?;
        self.audit(
            actor,
            None,
            "signing_key_withdrawn",
            Some(kid),
            "ok",
            json!({}),
        )
        .await;
        Ok(())
    }

    /// Rotates the signing key when it is older than `period` (the
    /// `signing_key_rotate_days` setting); returns the new `kid` when it did.
    /// Reads the keys again first, so a rotation made elsewhere counts.
    pub async fn rotate_signing_key_if_older(
        &self,
        period: chrono::Duration,
    ) -> Result<Option<String>> {
        self.reload_signer().await?;
        if Utc::now() - self.signer().created() < period {
            return Ok(None);
        }
        self.rotate_signing_key("scheduler").await.map(Some)
    }

    /// Revokes a key. `tenant` limits it to that tenant's keys (non-admins).
    pub async fn revoke_key(&self, actor: &str, id: &str, tenant: Option<&str>) -> Result<()> {
        let k = self
            .dir
            .api_key(id)
            .await?
            .filter(|k| tenant.is_none_or(|t| t == k.tenant))
            .ok_or_else(|| Error::NotFound(format!("no API key `{id}`")))?;
        if !self.dir.revoke_api_key(id, Utc::now()).await? {
            return Err(Error::NotFound(format!(
                "API key `{id}` is already revoked"
            )));
        }
        self.forget_key(id);
        self.audit(
            actor,
            Some(&k.tenant),
            "key_revoked",
            Some(id),
            "ok",
            json!({}),
        )
        .await;
        Ok(())
    }

    /// Adds a grant after checking every field.
    pub async fn add_grant(&self, actor: &str, spec: GrantSpec) -> Result<Grant> {
        valid_id("tenant", &spec.tenant)?;
        if spec.market != "*" {
            spec.market
                .parse::<carbon_core::Market>()
                .map_err(|e| Error::invalid("market", e.to_string()))?;
        }
        if spec.product != "*" && !PRODUCTS.contains(&spec.product.as_str()) {
            return Err(Error::invalid(
                "product",
                format!("`{}`: one of {} or `*`", spec.product, PRODUCTS.join(", ")),
            ));
        }
        if spec.channels.is_empty() {
            return Err(Error::invalid("channels", "at least one channel"));
        }
        for c in &spec.channels {
            if Channel::parse(c).is_none() {
                return Err(Error::invalid(
                    "channels",
                    format!("`{c}`: one of hub, api, stream, downloads, reports"),
                ));
            }
        }
        if let Some(list) = &spec.instruments {
            if list.is_empty() {
                return Err(Error::invalid(
                    "instruments",
                    "an empty list would grant nothing; omit it for all instruments",
                ));
            }
            for i in list {
                let id = carbon_core::InstrumentId::parse(i)
                    .map_err(|e| Error::invalid("instruments", e.to_string()))?;
                if spec.market != "*" && !id.market().code().eq_ignore_ascii_case(&spec.market) {
                    return Err(Error::invalid(
                        "instruments",
                        format!("`{i}` is not in market {}", spec.market),
                    ));
                }
            }
        }
        if let (Some(s), Some(e)) = (spec.start, spec.end)
            && e < s
        {
            return Err(Error::invalid("end", format!("{e} is before start {s}")));
        }
        let g = Grant {
            id: format!("g_{}", &secret::random_token(9)),
            tenant: spec.tenant.clone(),
            market: spec.market.to_ascii_uppercase(),
            product: spec.product,
            channels: spec.channels,
            instruments: spec.instruments,
            start: spec.start,
            end: spec.end,
            created: Utc::now(),
        };
        self.dir.add_grant(g.clone()).await?;
        self.reload_grants().await?;
        self.audit(
            actor,
            Some(&g.tenant),
            "grant_added",
            Some(&g.id),
            "ok",
            serde_json::to_value(&g).unwrap_or_default(),
        )
        .await;
        Ok(g)
    }

    /// Removes a grant.
    pub async fn remove_grant(&self, actor: &str, id: &str) -> Result<()> {
        let g = self
            .grants()
            .iter()
            .find(|g| g.id == id)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("no grant `{id}`")))?;
        self.dir.remove_grant(id).await?;
        self.reload_grants().await?;
        self.audit(
            actor,
            Some(&g.tenant),
            "grant_removed",
            Some(id),
            "ok",
            serde_json::to_value(&g).unwrap_or_default(),
        )
        .await;
        Ok(())
    }

    /// First start: when no tenant exists, creates the platform tenant with an
    /// `admin` user and a grant to everything, and the two pilot tenants of the
    /// original contracts with one demo user each. Passwords are random and
    /// returned once. Does nothing (returns `None`) when tenants exist.
    pub async fn bootstrap(&self) -> Result<Option<Bootstrap>> {
        if !self.dir.tenants().await?.is_empty() {
            return Ok(None);
        }
        let actor = "bootstrap";
        let all: Vec<String> = Channel::ALL.iter().map(|c| c.as_str().into()).collect();
        let mut accounts = Vec::new();
        self.create_tenant(actor, "platform", "Platform administration")
            .await?;
        self.add_grant(
            actor,
            GrantSpec {
                tenant: "platform".into(),
                market: "*".into(),
                product: "*".into(),
                channels: all.clone(),
                instruments: None,
                start: None,
                end: None,
            },
        )
        .await?;
        let pw = secret::random_password();
        self.put_user(actor, "admin", "platform", &pw, vec!["admin".into()])
            .await?;
        accounts.push(("admin".into(), "platform".into(), pw));
        for (tenant, name, user, spec) in demo_pilots(&all) {
            self.create_tenant(actor, tenant, name).await?;
            self.add_grant(actor, spec).await?;
            let pw = secret::random_password();
            self.put_user(actor, user, tenant, &pw, Vec::new()).await?;
            accounts.push((user.into(), tenant.into(), pw));
        }
        Ok(Some(Bootstrap { accounts }))
    }
}

/// The three CAISO trading hubs of the CAISO pilot.
pub const CAISO_PILOT_HUBS: [&str; 3] = [
    "CAISO.TH_SP15_GEN-APND",
    "CAISO.TH_NP15_GEN-APND",
    "CAISO.TH_ZP26_GEN-APND",
];

/// (tenant, name, demo user, grant) of the two pilots in BRIEF: pilot_miso
/// reads everything of MISO on every channel; pilot_caiso reads the three
/// CAISO hubs' LMPs through the hub, downloads and reports only.
fn demo_pilots(all: &[String]) -> Vec<(&'static str, &'static str, &'static str, GrantSpec)> {
    vec![
        (
            "pilot_miso",
            "MISO pilot",
            "miso_demo",
            GrantSpec {
                tenant: "pilot_miso".into(),
                market: "MISO".into(),
                product: "*".into(),
                channels: all.to_vec(),
                instruments: None,
                start: None,
                end: None,
            },
        ),
        (
            "pilot_caiso",
            "CAISO pilot",
            "caiso_demo",
            GrantSpec {
                tenant: "pilot_caiso".into(),
                market: "CAISO".into(),
                product: "lmp".into(),
                // BRIEF: `hub` and `downloads`; `reports` too, so its
                // monthly briefs (of its hubs only) reach it as files do.
                channels: vec!["hub".into(), "downloads".into(), "reports".into()],
                instruments: Some(CAISO_PILOT_HUBS.iter().map(|s| s.to_string()).collect()),
                start: None,
                end: None,
            },
        ),
    ]
}

/// A valid argon2 hash of a random password, for equal-time failed logins.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    secret::hash_password(&secret::random_password()).unwrap_or_default()
});
