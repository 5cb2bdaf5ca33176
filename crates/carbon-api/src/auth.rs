//! Authentication, rate limiting and entitlement plumbing for the routes, and
//! the identity endpoints: login/logout/me, JWKS, self-service API keys and
//! the admin API.
//!
//! Credentials, in order: `X-API-Key`; `Authorization: Bearer` (an API key or
//! an OIDC access token — a hub session is refused there); the
//! `carbon_session` cookie that login sets for the web hub. Every `/api/v1`
//! route except login requires one; the routes then ask the policy with the
//! channel the credential implies. A cookie session must also send its CSRF
//! token (`X-CSRF-Token`) with every request that changes something, and a
//! request on it from a foreign `Origin` is refused.

use std::{
    net::{IpAddr, SocketAddr},
    time::Instant,
};

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{ConnectInfo, MatchedPath, Path, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use carbon_auth::{Ask, Credential, Principal, Scope, Transport};
use carbon_core::Market;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    catalog::Data,
    error::ApiError,
    ratelimit::{Class, Verdict},
};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(jwks))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(oidc_session))
        .routes(routes!(auth_config))
        .routes(routes!(me))
        .routes(routes!(my_keys, create_my_key))
        .routes(routes!(revoke_my_key))
        .routes(routes!(rotate_my_key))
}

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "carbon_session";

/// Name of the cookie holding the session's CSRF token (readable by the hub's
/// scripts, which send it back as `X-CSRF-Token`).
pub const CSRF_COOKIE: &str = "carbon_csrf";

/// The header a cookie session's state-changing requests carry.
const CSRF_HEADER: &str = "x-csrf-token";

/// Routes that need no credentials.
/// Routes that need no credential (probes, the document, the hub, sign-in).
pub(crate) fn is_public(path: &str) -> bool {
    !path.starts_with("/api/v1/")
        || path == "/api/v1/auth/login"
        || path == "/api/v1/auth/config"
        // A signed link is its own credential (checked by the route).
        || path.starts_with("/api/v1/downloads/")
}

fn class_of(route: &str) -> Class {
    match route {
        "/api/v1/exports/prices" => Class::Exports,
        // A link fetches a file already written: a data read, not an export.
        "/api/v1/downloads/{tenant}/{id}/{file}" => Class::Data,
        "/api/v1/prices"
        | "/api/v1/prices/latest"
        | "/api/v1/prices/spread"
        | "/api/v1/stream"
        | "/api/v1/stream/sse" => Class::Data,
        _ => Class::General,
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn credential(headers: &HeaderMap) -> Option<Credential<'_>> {
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(Credential::ApiKey(k.trim()));
    }
    if let Some(a) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, value) = a.trim().split_once(' ').unwrap_or((a, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            let v = value.trim();
            return Some(if v.starts_with("ck_") {
                Credential::ApiKey(v)
            } else {
                Credential::Token(v)
            });
        }
    }
    cookie(headers, SESSION_COOKIE).map(Credential::Cookie)
}

/// A cookie session's request from a page of another origin (not this
/// server's, not a configured CORS origin) — refused, WebSocket upgrades
/// included. Requests without `Origin` (same-origin GETs, non-browsers) pass.
fn foreign_origin(headers: &HeaderMap, allowed: &[String]) -> Option<String> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let own = origin
        .split_once("://")
        .is_some_and(|(_, h)| Some(h) == host);
    let listed = allowed
        .iter()
        .any(|a| a.trim().trim_end_matches('/').eq_ignore_ascii_case(origin));
    (!own && !listed).then(|| origin.to_string())
}

/// The CSRF check of a cookie session: methods that change something must
/// carry the session's token in `X-CSRF-Token`.
fn csrf_ok(req: &Request, expected: &str) -> bool {
    let safe = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    safe || req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !expected.is_empty() && carbon_auth::secret::same(v, expected))
}

fn rate_headers(resp: &mut Response, v: &Verdict, class: Class) {
    let h = resp.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", v.limit.to_string()),
        ("ratelimit-remaining", v.remaining.to_string()),
        ("ratelimit-reset", v.reset_seconds.to_string()),
        (
            "ratelimit-policy",
            format!("{};w=1;name=\"{}\"", v.limit, class.as_str()),
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
}

fn too_many(v: &Verdict, class: Class) -> Response {
    let mut resp = ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "rate_limited",
        detail: format!(
            "more than {} {} requests per second; retry in {} s",
            v.limit,
            class.as_str(),
            v.reset_seconds
        ),
        param: None,
    }
    .into_response();
    rate_headers(&mut resp, v, class);
    if let Ok(r) = HeaderValue::from_str(&v.reset_seconds.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, r);
    }
    resp
}

/// The client's address: the TCP peer, or what `X-Forwarded-For` says when
/// the peer is a trusted proxy (`[api] trusted_proxies`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub IpAddr);

fn client_ip(s: &AppState, req: &Request) -> Option<IpAddr> {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>()?.0.ip();
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    Some(carbon_auth::net::client_ip(
        peer,
        forwarded,
        &s.trusted_proxies,
    ))
}

/// Authenticates `/api/v1` requests, checks the client's address against the
/// IP allowlists, puts the [`Principal`] in the request's extensions, and
/// applies the caller's rate limit.
pub(crate) async fn gate(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let class = class_of(&route);
    let now = Instant::now();
    let ip = client_ip(&s, &req);
    if let Some(ip) = ip {
        req.extensions_mut().insert(ClientIp(ip));
    }
    if is_public(&path) {
        if !path.starts_with("/api/v1/") {
            return next.run(req).await;
        }
        // Login is keyed by client address.
        let key = ip.map_or_else(|| "unknown".to_string(), |i| i.to_string());
        let v = s.limiter.check(&format!("ip:{key}"), class, now);
        if !v.allowed {
            s.metrics.rate_limited(class.as_str());
            return too_many(&v, class);
        }
        let mut resp = next.run(req).await;
        rate_headers(&mut resp, &v, class);
        return resp;
    }
    let Some(cred) = credential(req.headers()) else {
        s.metrics.auth_failure("missing");
        return ApiError::unauthenticated(
            "credentials required: an `X-API-Key` header, `Authorization: Bearer …`, or a session from POST /api/v1/auth/login",
        )
        .into_response();
    };
    let principal = match s.access.authenticate(cred).await {
        Ok(p) => p,
        Err(e) => {
            if let carbon_auth::Error::Unauthenticated(m) = &e {
                s.metrics.auth_failure(match cred {
                    Credential::ApiKey(_) => "api_key",
                    Credential::Token(_) if m == carbon_auth::SESSION_NOT_A_BEARER => {
                        "session_as_bearer"
                    }
                    Credential::Token(_) => "token",
                    Credential::Cookie(_) => "session",
                });
            }
            if matches!(e, carbon_auth::Error::Unauthenticated(_)) {
                s.access
                    .audit(
                        "anonymous",
                        None,
                        "authentication",
                        Some(&path),
                        "failed",
                        json!({ "reason": e.to_string() }),
                    )
                    .await;
            }
            return ApiError::from(e).into_response();
        }
    };
    // Before anything else the caller could reach: the IP allowlists.
    if let Some(ip) = ip
        && let Err(e) = s.access.check_ip(&principal, ip).await
    {
        s.metrics.auth_failure("ip_not_allowed");
        return ApiError::from(e).into_response();
    }
    if let carbon_auth::Method::Session { csrf, .. } = &principal.method {
        let refusal = if let Some(o) = foreign_origin(req.headers(), &s.settings.cors_origins) {
            Some((
                "foreign_origin",
                format!("a hub session cannot be used from a page of {o}"),
            ))
        } else if !csrf_ok(&req, csrf) {
            Some((
                "csrf",
                "a hub session's request that changes something must carry the session's CSRF token in `X-CSRF-Token` (from the `carbon_csrf` cookie or the login answer)".to_string(),
            ))
        } else {
            None
        };
        if let Some((reason, detail)) = refusal {
            s.metrics.auth_failure(if reason == "csrf" {
                "csrf"
            } else {
                "foreign_origin"
            });
            s.access
                .audit(
                    &principal.actor(),
                    Some(&principal.tenant),
                    "authentication",
                    Some(&path),
                    "failed",
                    json!({ "reason": reason }),
                )
                .await;
            return ApiError {
                status: StatusCode::FORBIDDEN,
                code: if reason == "csrf" {
                    "csrf_required"
                } else {
                    "foreign_origin"
                },
                detail,
                param: None,
            }
            .into_response();
        }
    }
    let v = s.limiter.check(&principal.rate_key(), class, now);
    if !v.allowed {
        s.metrics.rate_limited(class.as_str());
        return too_many(&v, class);
    }
    req.extensions_mut().insert(principal);
    let mut resp = next.run(req).await;
    rate_headers(&mut resp, &v, class);
    resp
}

/// The ask for a whole-market product (no instrument, no date range) through
/// the caller's REST channel; `market` `None` is market-wide data.
fn product_ask<'a>(who: &Principal, market: Option<Market>, product: &'a str) -> Ask<'a> {
    Ask {
        market,
        product,
        channel: who.channel(Transport::Rest),
        instrument: None,
        range: None,
    }
}

impl AppState {
    /// Asks for `product` on `market` (REST channel of the caller); a denial
    /// is audited and becomes a 403.
    pub(crate) async fn entitle_product(
        &self,
        who: &Principal,
        market: Option<Market>,
        product: &str,
        route: &str,
    ) -> Result<(), ApiError> {
        self.entitle(who, &product_ask(who, market, product), route)
            .await
    }

    /// Whether `who` may read `product` on `market` — for filtering listings
    /// (nothing audited: the caller did not ask for the hidden items).
    pub(crate) fn may_read(&self, who: &Principal, market: Option<Market>, product: &str) -> bool {
        self.access
            .decide(who, &product_ask(who, market, product))
            .is_ok()
    }

    /// Asks the policy; a denial is audited and becomes a 403.
    pub(crate) async fn entitle(
        &self,
        who: &Principal,
        ask: &Ask<'_>,
        route: &str,
    ) -> Result<(), ApiError> {
        match self.access.decide(who, ask) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.deny(who, route, &e.to_string()).await;
                Err(ApiError::from(e))
            }
        }
    }

    /// Asks for product `lmp` on one instrument (over `range`, when bounded)
    /// through `transport`'s channel.
    pub(crate) async fn entitle_lmp(
        &self,
        who: &Principal,
        id: &carbon_core::InstrumentId,
        range: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
        transport: Transport,
        route: &str,
    ) -> Result<(), ApiError> {
        let ask = Ask {
            market: Some(id.market()),
            product: "lmp",
            channel: who.channel(transport),
            instrument: Some(id.as_str()),
            range,
        };
        self.entitle(who, &ask, route).await
    }

    /// Audits a denial.
    pub(crate) async fn deny(&self, who: &Principal, route: &str, reason: &str) {
        let transport = if route.starts_with("/api/v1/stream") {
            Transport::Stream
        } else if route.starts_with("/api/v1/exports") {
            Transport::Download
        } else {
            Transport::Rest
        };
        self.metrics
            .denial(&who.tenant, who.channel(transport).as_str());
        self.access
            .audit(
                &who.actor(),
                Some(&who.tenant),
                "access_denied",
                Some(route),
                "denied",
                json!({ "reason": reason }),
            )
            .await;
    }

    /// What `who` may see through `transport` (product `None` = any). A caller
    /// with nothing at all on that channel gets a 403 (audited).
    pub(crate) async fn scope(
        &self,
        who: &Principal,
        market: Option<Market>,
        product: Option<&str>,
        transport: Transport,
        route: &str,
    ) -> Result<Scope, ApiError> {
        let channel = who.channel(transport);
        let scope = self.access.scope(who, market, product, channel);
        if scope.is_empty() {
            let why = format!(
                "tenant `{}` has no entitlement{} on the `{channel}` channel",
                who.tenant,
                market
                    .map(|m| format!(" to {}", m.code()))
                    .unwrap_or_default()
            );
            self.deny(who, route, &why).await;
            return Err(ApiError::forbidden(why));
        }
        Ok(scope)
    }
}

/// A JSON request body: an object (or `null` where the body is optional),
/// never an array read positionally into a struct's fields.
pub(crate) fn body<T: for<'de> Deserialize<'de>>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_body",
            detail: "request body: expected a JSON object".into(),
            param: None,
        });
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid_body",
        detail: format!("request body: {e}"),
        param: None,
    })
}

/// Sign-in with a built-in account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
    /// Login name.
    username: String,
    /// Password.
    password: String,
}

/// A hub session (the session itself is in the HttpOnly `carbon_session` cookie).
#[derive(Serialize, ToSchema)]
pub(crate) struct Session {
    /// Always `session`.
    token_type: &'static str,
    /// Seconds the session lasts.
    expires_in: i64,
    /// Who signed in.
    username: String,
    /// Their tenant.
    tenant: String,
    /// Their roles.
    roles: Vec<String>,
    /// What state-changing requests send in `X-CSRF-Token`.
    csrf_token: String,
}

/// Signs in with a built-in account: starts a hub session (HttpOnly cookie
/// plus a CSRF token).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, description = "Signed in (`Set-Cookie` carries the session)", body = Session)))]
pub(crate) async fn login(
    State(s): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let l: Login = body(&bytes)?;
    let (issued, user) = s
        .access
        .login(&l.username, &l.password, ip.map(|Extension(ClientIp(i))| i))
        .await
        .inspect_err(|e| {
            s.metrics.auth_failure(match e {
                carbon_auth::Error::IpNotAllowed(_) => "ip_not_allowed",
                _ => "password",
            })
        })?;
    s.metrics.event("login");
    Ok(session_answer(
        &issued,
        &user.username,
        &user.tenant,
        &user.roles,
        s.settings.secure_cookies,
    ))
}

/// The answer that starts a hub session: the session as an HttpOnly cookie
/// (never in the body: it is not a token for programs), its CSRF token as a
/// script-readable cookie and in the body.
fn session_answer(
    issued: &carbon_auth::token::Issued,
    username: &str,
    tenant: &str,
    roles: &[String],
    secure: bool,
) -> Response {
    let ttl = (issued.expires - chrono::Utc::now()).num_seconds().max(0);
    let mut resp = Json(Session {
        token_type: "session",
        expires_in: ttl,
        username: username.to_string(),
        tenant: tenant.to_string(),
        roles: roles.to_vec(),
        csrf_token: issued.csrf.clone(),
    })
    .into_response();
    let secure = if secure { "; Secure" } else { "" };
    for cookie in [
        format!(
            "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={ttl}{secure}",
            issued.token
        ),
        format!(
            "{CSRF_COOKIE}={}; SameSite=Strict; Path=/; Max-Age={ttl}{secure}",
            issued.csrf
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// `POST /api/v1/auth/oidc/session` with the identity provider's access token
/// (`Authorization: Bearer`): the end of the hub's OIDC sign-in. Answers like
/// login and sets the hub's session cookie (channel `hub`).
#[utoipa::path(post, path = "/api/v1/auth/oidc/session", tag = "auth",
    responses((status = 200, description = "Signed in", body = Session)))]
pub(crate) async fn oidc_session(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Response, ApiError> {
    let issued = s.access.oidc_session(&p).await?;
    s.metrics.event("login");
    Ok(session_answer(
        &issued,
        &p.subject,
        &p.tenant,
        &p.roles,
        s.settings.secure_cookies,
    ))
}

/// `POST /api/v1/auth/logout`: ends the session on the server at once and
/// clears its cookies.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out")))]
pub(crate) async fn logout(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Response {
    if let carbon_auth::Method::Session { id, .. } = &p.method {
        s.access.end_session(id);
        s.metrics.event("logout");
        s.access
            .audit(&p.actor(), Some(&p.tenant), "logout", None, "ok", json!({}))
            .await;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    for cookie in [
        "carbon_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        "carbon_csrf=; SameSite=Strict; Path=/; Max-Age=0",
    ] {
        resp.headers_mut()
            .append(header::SET_COOKIE, HeaderValue::from_static(cookie));
    }
    resp
}

/// The configured OIDC provider.
#[derive(Serialize, ToSchema)]
pub(crate) struct OidcInfo {
    /// Issuer URL.
    issuer: String,
    /// The hub's client id.
    client_id: Option<String>,
}

/// How to sign in.
#[derive(Serialize, ToSchema)]
pub(crate) struct AuthConfig {
    /// Built-in accounts (always).
    builtin: bool,
    /// OIDC, when configured.
    oidc: Option<OidcInfo>,
}

/// How to sign in (built-in; OIDC issuer and client).
#[utoipa::path(get, path = "/api/v1/auth/config", tag = "auth",
    responses((status = 200, description = "Sign-in options", body = AuthConfig)))]
pub(crate) async fn auth_config(State(s): State<AppState>) -> Json<AuthConfig> {
    let oidc = s.access.oidc().map(|o| OidcInfo {
        issuer: o.config().issuer.clone(),
        client_id: o.config().client_id.clone(),
    });
    Json(AuthConfig {
        builtin: true,
        oidc,
    })
}

/// The channels a credential implies.
#[derive(Serialize, ToSchema)]
pub(crate) struct Channels {
    /// For REST requests.
    rest: String,
    /// For the stream.
    stream: String,
}

/// The caller.
#[derive(Serialize, ToSchema)]
pub(crate) struct Me {
    /// Username, key id or OIDC subject.
    subject: String,
    /// Tenant.
    tenant: String,
    /// Roles.
    roles: Vec<String>,
    /// How it authenticated.
    #[schema(value_type = Object)]
    method: Value,
    /// A hub session's CSRF token.
    csrf_token: Option<String>,
    /// Whether it has the `admin` role.
    admin: bool,
    /// Its channels.
    channels: Channels,
    /// Its tenant's grants.
    grants: Vec<carbon_store::Grant>,
}

/// Who the caller is and what it is entitled to.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, description = "The caller", body = Me)))]
pub(crate) async fn me(State(s): State<AppState>, Extension(p): Extension<Principal>) -> Json<Me> {
    let grants = s
        .access
        .grants()
        .iter()
        .filter(|g| g.tenant == p.tenant)
        .cloned()
        .collect();
    Json(Me {
        subject: p.subject.clone(),
        tenant: p.tenant.clone(),
        roles: p.roles.clone(),
        method: serde_json::to_value(&p.method).unwrap_or_default(),
        csrf_token: match &p.method {
            carbon_auth::Method::Session { csrf, .. } => Some(csrf.clone()),
            _ => None,
        },
        admin: p.is_admin(),
        channels: Channels {
            rest: p.channel(Transport::Rest).as_str().to_string(),
            stream: p.channel(Transport::Stream).as_str().to_string(),
        },
        grants,
    })
}

/// The public keys of session tokens (JWK Set).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "JWK Set", body = Object)))]
pub(crate) async fn jwks(State(s): State<AppState>) -> Json<Value> {
    Json(s.access.signer().jwks().clone())
}

/// A new API key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    /// What it is for.
    pub(crate) name: String,
    /// Its tenant (admins; self-service keys are the caller's tenant's).
    #[serde(default)]
    pub(crate) tenant: Option<String>,
    /// Lifetime, e.g. `90d` (`s`, `m`, `h`, `d`, `w`); absent: no expiry.
    #[serde(default)]
    #[schema(pattern = "^[1-9][0-9]{0,4}[smhdw]$")]
    expires_in: Option<String>,
    /// CIDR networks the key may be used from.
    #[serde(default)]
    ip_allow: Option<Vec<String>>,
}

/// An API key (never its secret).
#[derive(Serialize, ToSchema)]
pub(crate) struct Key {
    /// Public id, also the key's visible prefix.
    id: String,
    /// Tenant.
    tenant: String,
    /// The user it was made for.
    owner: Option<String>,
    /// What it is for.
    name: String,
    /// Creation time.
    created: DateTime<Utc>,
    /// When revoked.
    revoked: Option<DateTime<Utc>>,
    /// When it stops working.
    expires: Option<DateTime<Utc>>,
    /// When it last authenticated a request (to about a minute).
    last_used: Option<DateTime<Utc>>,
    /// Networks it may be used from.
    ip_allow: Option<Vec<String>>,
}

/// A new key with, this once, its secret.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedKey {
    /// The record.
    #[serde(flatten)]
    record: Key,
    /// The key itself (`ck_…`): shown only now.
    key: String,
}

/// A rotated key's successor with, this once, its secret.
#[derive(Serialize, ToSchema)]
pub(crate) struct RotatedKey {
    /// The successor's record.
    #[serde(flatten)]
    record: Key,
    /// The successor itself (`ck_…`): shown only now.
    key: String,
    /// The old key, valid through the grace.
    replaces: Key,
}

impl NewKey {
    pub(crate) fn options(&self) -> Result<carbon_auth::KeyOptions, ApiError> {
        let expires = self
            .expires_in
            .as_deref()
            .map(|e| carbon_auth::parse_span("expires_in", e))
            .transpose()?
            .map(|d| chrono::Utc::now() + d);
        Ok(carbon_auth::KeyOptions {
            expires,
            ip_allow: self.ip_allow.clone(),
        })
    }
}

/// A key rotation.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rotate {
    /// How long the old key keeps working, e.g. `7d` (default `7d`; `0s`
    /// is not a span: revoke instead).
    #[serde(default)]
    #[schema(pattern = "^[1-9][0-9]{0,4}[smhdw]$")]
    grace: Option<String>,
}

/// The default grace period of a rotated key.
const DEFAULT_GRACE: &str = "7d";

pub(crate) async fn rotate(
    s: &AppState,
    p: &Principal,
    id: &str,
    tenant: Option<&str>,
    bytes: &Bytes,
) -> Result<Response, ApiError> {
    // No body, `null` or an object.
    let r: Rotate = if bytes.is_empty() {
        Rotate::default()
    } else {
        body::<Option<Rotate>>(bytes)?.unwrap_or_default()
    };
    let grace = carbon_auth::parse_span("grace", r.grace.as_deref().unwrap_or(DEFAULT_GRACE))?;
    let (next, full, old) = s.access.rotate_key(&p.actor(), id, tenant, grace).await?;
    s.metrics.event("key_rotated");
    Ok((
        StatusCode::CREATED,
        Json(RotatedKey {
            record: key_json(&next),
            key: full,
            replaces: key_json(&old),
        }),
    )
        .into_response())
}

/// `POST /api/v1/keys/{id}/rotate {"grace"}`: the successor of one of the
/// caller's tenant's keys (shown once); the old key works through the grace.
#[utoipa::path(post, path = "/api/v1/keys/{id}/rotate", tag = "keys",
    params(("id" = String, Path, description = "The key")), request_body = Option<Rotate>,
    responses((status = 201, description = "The successor", body = RotatedKey)))]
pub(crate) async fn rotate_my_key(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    rotate(&s, &p, &id, Some(&p.tenant), &bytes).await
}

/// 201 with a new key's record and, this once, the key itself.
pub(crate) fn created_key(rec: &carbon_store::ApiKey, full: String) -> Response {
    (
        StatusCode::CREATED,
        Json(CreatedKey {
            record: key_json(rec),
            key: full,
        }),
    )
        .into_response()
}

pub(crate) fn key_json(k: &carbon_store::ApiKey) -> Key {
    Key {
        id: k.id.clone(),
        tenant: k.tenant.clone(),
        owner: k.owner.clone(),
        name: k.name.clone(),
        created: k.created,
        revoked: k.revoked,
        expires: k.expires,
        last_used: k.last_used,
        ip_allow: k.ip_allow.clone(),
    }
}

/// The caller's tenant's keys (never their secrets).
#[utoipa::path(get, path = "/api/v1/keys", tag = "keys",
    responses((status = 200, description = "Keys", body = Data<Key>)))]
pub(crate) async fn my_keys(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Data<Key>>, ApiError> {
    let keys = s
        .access
        .directory()
        .api_keys(Some(p.tenant.clone()))
        .await?;
    Ok(Json(Data {
        data: keys.iter().map(key_json).collect(),
    }))
}

/// A key for the caller's tenant, shown once.
#[utoipa::path(post, path = "/api/v1/keys", tag = "keys", request_body = NewKey,
    responses((status = 201, description = "The key, shown once", body = CreatedKey)))]
pub(crate) async fn create_my_key(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let k: NewKey = body(&bytes)?;
    if k.tenant.as_ref().is_some_and(|t| *t != p.tenant) {
        return Err(ApiError::param(
            "tenant",
            "only your own tenant here; admins use /api/v1/admin/keys",
        ));
    }
    let owner = matches!(
        p.method,
        carbon_auth::Method::Session { .. } | carbon_auth::Method::Oidc { .. }
    )
    .then_some(p.subject.as_str());
    let (rec, full) = s
        .access
        .create_key(&p.actor(), &p.tenant, owner, &k.name, k.options()?)
        .await?;
    s.metrics.event("key_created");
    Ok(created_key(&rec, full))
}

/// Revokes one of the caller's tenant's keys.
#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "keys",
    params(("id" = String, Path, description = "The key")),
    responses((status = 204, description = "Revoked")))]
pub(crate) async fn revoke_my_key(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.access
        .revoke_key(&p.actor(), &id, Some(&p.tenant))
        .await?;
    s.metrics.event("key_revoked");
    Ok(StatusCode::NO_CONTENT)
}
