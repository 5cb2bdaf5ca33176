//! The admin API (role `admin`): tenants and their IP allowlists, users,
//! every tenant's API keys, entitlement grants, session-signing keys and
//! the audit log. Each change goes through `carbon-auth`, which audits it.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, State},
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
};
use carbon_auth::{GrantSpec, Principal};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    AppState,
    auth::{NewKey, body, created_key, key_json, rotate},
    error::ApiError,
    params::Params,
};

fn need_admin(p: &Principal) -> Result<(), ApiError> {
    if p.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden("this needs the `admin` role"))
    }
}

async fn admin_gate(s: &AppState, p: &Principal, route: &str) -> Result<(), ApiError> {
    if let Err(e) = need_admin(p) {
        s.deny(p, route, &e.detail).await;
        return Err(e);
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IpAllow {
    /// CIDR networks; `null` clears the list (any address).
    ip_allow: Option<Vec<String>>,
}

/// `PUT /api/v1/admin/tenants/{id}/ip-allowlist {"ip_allow": [CIDR…] | null}`.
pub(crate) async fn admin_tenant_ip_allow(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/tenants/{id}/ip-allowlist").await?;
    let b: IpAllow = body(&bytes)?;
    let list = s
        .access
        .set_tenant_ip_allow(&p.actor(), &id, b.ip_allow)
        .await?;
    Ok(Json(json!({ "tenant": id, "ip_allow": list })))
}

/// `GET /api/v1/admin/signing-keys`: the session-signing keys (public parts).
pub(crate) async fn admin_signing_keys(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/signing-keys").await?;
    let active = s.access.signer().kid().to_string();
    let keys = s.access.directory().signing_keys().await?;
    let now = chrono::Utc::now();
    let data: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "kid": k.kid, "alg": k.alg, "created": k.created,
                "retired": k.retired, "signing": k.kid == active,
                "verifies": k.retired.is_none_or(|r| r > now),
            })
        })
        .collect();
    Ok(Json(json!({ "data": data })))
}

/// `POST /api/v1/admin/signing-keys/rotate`: a new signing key; the old one
/// verifies until its last session expires.
pub(crate) async fn admin_rotate_signing_key(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Response, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/signing-keys/rotate").await?;
    let kid = s.access.rotate_signing_key(&p.actor()).await?;
    s.metrics.event("signing_key_rotated");
    Ok((StatusCode::CREATED, Json(json!({ "kid": kid }))).into_response())
}

/// `DELETE /api/v1/admin/signing-keys/{kid}`: withdraws a key at once (its
/// sessions end).
pub(crate) async fn admin_withdraw_signing_key(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(kid): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/signing-keys/{kid}").await?;
    s.access.withdraw_signing_key(&p.actor(), &kid).await?;
    s.metrics.event("signing_key_withdrawn");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    id: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    tenant: String,
    password: String,
    #[serde(default)]
    roles: Vec<String>,
}

fn tenant_filter(uri: &Uri) -> Result<Option<String>, ApiError> {
    let p = Params::parse(uri.query(), &["tenant"])?;
    Ok(p.one("tenant").map(str::to_string))
}

/// `GET|POST /api/v1/admin/tenants`.
pub(crate) async fn admin_tenants(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    method: axum::http::Method,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/tenants").await?;
    if method == axum::http::Method::POST {
        let t: NewTenant = body(&bytes)?;
        let t = s.access.create_tenant(&p.actor(), &t.id, &t.name).await?;
        return Ok((StatusCode::CREATED, Json(json!(t))).into_response());
    }
    let t = s.access.directory().tenants().await?;
    Ok(Json(json!({ "data": t })).into_response())
}

/// `GET|POST /api/v1/admin/users`.
pub(crate) async fn admin_users(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    method: axum::http::Method,
    uri: Uri,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/users").await?;
    if method == axum::http::Method::POST {
        let u: NewUser = body(&bytes)?;
        let u = s
            .access
            .put_user(&p.actor(), &u.username, &u.tenant, &u.password, u.roles)
            .await?;
        return Ok((StatusCode::CREATED, Json(json!(u))).into_response());
    }
    let users = s.access.directory().users(tenant_filter(&uri)?).await?;
    Ok(Json(json!({ "data": users })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    disabled: bool,
}

/// `PATCH /api/v1/admin/users/{username}` `{"disabled": bool}`.
pub(crate) async fn admin_user_patch(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(username): Path<String>,
    bytes: Bytes,
) -> Result<StatusCode, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/users/{username}").await?;
    let patch: UserPatch = body(&bytes)?;
    s.access
        .set_user_disabled(&p.actor(), &username, patch.disabled)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET|POST /api/v1/admin/keys`.
pub(crate) async fn admin_keys(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    method: axum::http::Method,
    uri: Uri,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/keys").await?;
    if method == axum::http::Method::POST {
        let k: NewKey = body(&bytes)?;
        let opts = k.options()?;
        let tenant = k
            .tenant
            .ok_or_else(|| ApiError::param("tenant", "`tenant` is required"))?;
        let (rec, full) = s
            .access
            .create_key(&p.actor(), &tenant, None, &k.name, opts)
            .await?;
        s.metrics.event("key_created");
        return Ok(created_key(&rec, full));
    }
    let keys = s.access.directory().api_keys(tenant_filter(&uri)?).await?;
    Ok(Json(json!({ "data": keys.iter().map(key_json).collect::<Vec<_>>() })).into_response())
}

/// `DELETE /api/v1/admin/keys/{id}`.
pub(crate) async fn admin_revoke_key(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/keys/{id}").await?;
    s.access.revoke_key(&p.actor(), &id, None).await?;
    s.metrics.event("key_revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET|POST /api/v1/admin/entitlements`.
pub(crate) async fn admin_grants(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    method: axum::http::Method,
    uri: Uri,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/entitlements").await?;
    if method == axum::http::Method::POST {
        let spec: GrantSpec = body(&bytes)?;
        let g = s.access.add_grant(&p.actor(), spec).await?;
        return Ok((StatusCode::CREATED, Json(json!(g))).into_response());
    }
    let t = tenant_filter(&uri)?;
    let grants: Vec<_> = s
        .access
        .grants()
        .iter()
        .filter(|g| t.as_ref().is_none_or(|t| *t == g.tenant))
        .cloned()
        .collect();
    Ok(Json(json!({ "data": grants })).into_response())
}

/// `DELETE /api/v1/admin/entitlements/{id}`.
pub(crate) async fn admin_remove_grant(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/entitlements/{id}").await?;
    s.access.remove_grant(&p.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/admin/audit?after&limit`: events oldest first, and whether
/// the chain verifies.
pub(crate) async fn admin_audit(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/audit").await?;
    let q = Params::parse(uri.query(), &["after", "limit"])?;
    let after = q.parsed::<u64>("after")?.unwrap_or(0);
    let limit = q.parsed::<usize>("limit")?.unwrap_or(1000).clamp(1, 10_000);
    let events = s.access.directory().audit_events(after, limit).await?;
    let next = (events.len() == limit)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    Ok(Json(json!({ "data": events, "next_after": next })))
}

/// `POST /api/v1/admin/keys/{id}/rotate {"grace"}`: any tenant's key.
pub(crate) async fn admin_rotate_key(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/keys/{id}/rotate").await?;
    rotate(&s, &p, &id, None, &bytes).await
}
