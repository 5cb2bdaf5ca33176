//! The admin API (role `admin`): tenants and their IP allowlists, users,
//! every tenant's API keys, entitlement grants, session-signing keys and
//! the audit log. Each change goes through `carbon-auth`, which audits it.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use carbon_auth::{GrantSpec, Principal};
use carbon_store::{AuditEvent, Grant, Tenant, User};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    AppState,
    auth::{CreatedKey, Key, NewKey, Rotate, RotatedKey, body, created_key, key_json, rotate},
    catalog::Data,
    error::ApiError,
    params::{Query, text},
};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(list_users, create_user))
        .routes(routes!(admin_user_patch))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(admin_revoke_key))
        .routes(routes!(admin_rotate_key))
        .routes(routes!(admin_tenant_ip_allow))
        .routes(routes!(admin_signing_keys))
        .routes(routes!(admin_rotate_signing_key))
        .routes(routes!(admin_withdraw_signing_key))
        .routes(routes!(list_grants, create_grant))
        .routes(routes!(admin_remove_grant))
        .routes(routes!(admin_audit))
}

/// Narrows a list to one tenant.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct TenantFilter {
    /// Only this tenant's.
    #[serde(default, deserialize_with = "text")]
    tenant: Option<String>,
}

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

/// A tenant's IP allowlist.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IpAllow {
    /// CIDR networks; `null` clears the list (any address).
    ip_allow: Option<Vec<String>>,
}

/// A tenant's IP allowlist as stored.
#[derive(Serialize, ToSchema)]
pub(crate) struct TenantIpAllow {
    /// The tenant.
    tenant: String,
    /// Its networks, normalised; null: any address.
    ip_allow: Option<Vec<String>>,
}

/// Sets (or clears) the networks a tenant's users and keys may connect from.
#[utoipa::path(put, path = "/api/v1/admin/tenants/{id}/ip-allowlist", tag = "admin",
    params(("id" = String, Path, description = "The tenant")), request_body = IpAllow,
    responses((status = 200, description = "The list as stored", body = TenantIpAllow)))]
pub(crate) async fn admin_tenant_ip_allow(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<TenantIpAllow>, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/tenants/{id}/ip-allowlist").await?;
    let b: IpAllow = body(&bytes)?;
    let list = s
        .access
        .set_tenant_ip_allow(&p.actor(), &id, b.ip_allow)
        .await?;
    Ok(Json(TenantIpAllow {
        tenant: id,
        ip_allow: list,
    }))
}

/// A session-signing key (its public part).
#[derive(Serialize, ToSchema)]
pub(crate) struct SigningKeyInfo {
    /// JWK `kid`.
    kid: String,
    /// Algorithm.
    alg: String,
    /// Creation time.
    created: DateTime<Utc>,
    /// When its tokens stop verifying (null: it may sign).
    retired: Option<DateTime<Utc>>,
    /// Whether it signs new sessions.
    signing: bool,
    /// Whether its tokens still verify.
    verifies: bool,
}

/// A key id.
#[derive(Serialize, ToSchema)]
pub(crate) struct Kid {
    /// The new signing key's `kid`.
    kid: String,
}

/// The session-signing keys (public parts).
#[utoipa::path(get, path = "/api/v1/admin/signing-keys", tag = "admin",
    responses((status = 200, description = "Keys", body = Data<SigningKeyInfo>)))]
pub(crate) async fn admin_signing_keys(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Data<SigningKeyInfo>>, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/signing-keys").await?;
    let active = s.access.signer().kid().to_string();
    let keys = s.access.directory().signing_keys().await?;
    let now = chrono::Utc::now();
    let data = keys
        .iter()
        .map(|k| SigningKeyInfo {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            created: k.created,
            retired: k.retired,
            signing: k.kid == active,
            verifies: k.retired.is_none_or(|r| r > now),
        })
        .collect();
    Ok(Json(Data { data }))
}

/// A new signing key; the old one verifies until its last session expires.
#[utoipa::path(post, path = "/api/v1/admin/signing-keys/rotate", tag = "admin",
    responses((status = 201, description = "The new key", body = Kid)))]
pub(crate) async fn admin_rotate_signing_key(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Response, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/signing-keys/rotate").await?;
    let kid = s.access.rotate_signing_key(&p.actor()).await?;
    s.metrics.event("signing_key_rotated");
    Ok((StatusCode::CREATED, Json(Kid { kid })).into_response())
}

/// Withdraws a key at once (its sessions end).
#[utoipa::path(delete, path = "/api/v1/admin/signing-keys/{kid}", tag = "admin",
    params(("kid" = String, Path, description = "The key")),
    responses((status = 204, description = "Withdrawn")))]
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

/// A new tenant.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTenant {
    /// Stable id (`pilot_miso`).
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,64}$")]
    id: String,
    /// Display name.
    #[serde(default)]
    name: String,
}

/// A new (or replaced) built-in account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    /// Login name, unique across tenants.
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,64}$")]
    username: String,
    /// Its tenant.
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,64}$")]
    tenant: String,
    /// Password (at least 12 characters).
    password: String,
    /// Roles (`admin`).
    #[serde(default)]
    roles: Vec<String>,
}

/// Every tenant.
#[utoipa::path(get, path = "/api/v1/admin/tenants", tag = "admin",
    responses((status = 200, description = "Tenants", body = Data<Tenant>)))]
pub(crate) async fn list_tenants(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Json<Data<Tenant>>, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/tenants").await?;
    let data = s.access.directory().tenants().await?;
    Ok(Json(Data { data }))
}

/// Creates a tenant.
#[utoipa::path(post, path = "/api/v1/admin/tenants", tag = "admin", request_body = NewTenant,
    responses((status = 201, description = "The tenant", body = Tenant)))]
pub(crate) async fn create_tenant(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/tenants").await?;
    let t: NewTenant = body(&bytes)?;
    let t = s.access.create_tenant(&p.actor(), &t.id, &t.name).await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

/// Built-in accounts (never their password hashes).
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(TenantFilter),
    responses((status = 200, description = "Users", body = Data<User>)))]
pub(crate) async fn list_users(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(f): Query<TenantFilter>,
) -> Result<Json<Data<User>>, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/users").await?;
    let data = s.access.directory().users(f.tenant).await?;
    Ok(Json(Data { data }))
}

/// Creates or replaces a built-in account.
#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", request_body = NewUser,
    responses((status = 201, description = "The user", body = User)))]
pub(crate) async fn create_user(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/users").await?;
    let u: NewUser = body(&bytes)?;
    let u = s
        .access
        .put_user(&p.actor(), &u.username, &u.tenant, &u.password, u.roles)
        .await?;
    Ok((StatusCode::CREATED, Json(u)).into_response())
}

/// A change to an account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserPatch {
    /// A disabled user cannot sign in.
    disabled: bool,
}

/// Disables or enables an account.
#[utoipa::path(patch, path = "/api/v1/admin/users/{username}", tag = "admin",
    params(("username" = String, Path, description = "The account")), request_body = UserPatch,
    responses((status = 204, description = "Changed")))]
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

/// Every tenant's API keys (never their secrets).
#[utoipa::path(get, path = "/api/v1/admin/keys", tag = "admin", params(TenantFilter),
    responses((status = 200, description = "Keys", body = Data<Key>)))]
pub(crate) async fn list_keys(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(f): Query<TenantFilter>,
) -> Result<Json<Data<Key>>, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/keys").await?;
    let keys = s.access.directory().api_keys(f.tenant).await?;
    Ok(Json(Data {
        data: keys.iter().map(key_json).collect(),
    }))
}

/// A key for any tenant (`tenant` required), shown once.
#[utoipa::path(post, path = "/api/v1/admin/keys", tag = "admin", request_body = NewKey,
    responses((status = 201, description = "The key, shown once", body = CreatedKey)))]
pub(crate) async fn create_key(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/keys").await?;
    {
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
        Ok(created_key(&rec, full))
    }
}

/// Revokes any tenant's key.
#[utoipa::path(delete, path = "/api/v1/admin/keys/{id}", tag = "admin",
    params(("id" = String, Path, description = "The key")),
    responses((status = 204, description = "Revoked")))]
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

/// Adds an entitlement grant.
#[utoipa::path(post, path = "/api/v1/admin/entitlements", tag = "admin", request_body = GrantSpec,
    responses((status = 201, description = "The grant", body = Grant)))]
pub(crate) async fn create_grant(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/entitlements").await?;
    let spec: GrantSpec = body(&bytes)?;
    let g = s.access.add_grant(&p.actor(), spec).await?;
    Ok((StatusCode::CREATED, Json(g)).into_response())
}

/// Entitlement grants.
#[utoipa::path(get, path = "/api/v1/admin/entitlements", tag = "admin", params(TenantFilter),
    responses((status = 200, description = "Grants", body = Data<Grant>)))]
pub(crate) async fn list_grants(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(f): Query<TenantFilter>,
) -> Result<Json<Data<Grant>>, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/entitlements").await?;
    let t = f.tenant;
    let grants: Vec<_> = s
        .access
        .grants()
        .iter()
        .filter(|g| t.as_ref().is_none_or(|t| *t == g.tenant))
        .cloned()
        .collect();
    Ok(Json(Data { data: grants }))
}

/// Removes a grant.
#[utoipa::path(delete, path = "/api/v1/admin/entitlements/{id}", tag = "admin",
    params(("id" = String, Path, description = "The grant")),
    responses((status = 204, description = "Removed")))]
pub(crate) async fn admin_remove_grant(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/entitlements/{id}").await?;
    s.access.remove_grant(&p.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Audit-log paging.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditParams {
    /// Events after this sequence number (default 0: from the first).
    #[param(minimum = 0)]
    after: Option<u64>,
    /// Most events (default 1,000).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<u32>,
}

/// A page of the audit log.
#[derive(Serialize, ToSchema)]
pub(crate) struct AuditPage {
    /// Events, oldest first.
    data: Vec<AuditEvent>,
    /// `after` for the next page; null on the last.
    next_after: Option<u64>,
}

/// The hash-chained audit log, oldest first.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(AuditParams),
    responses((status = 200, description = "Events", body = AuditPage)))]
pub(crate) async fn admin_audit(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/audit").await?;
    let after = q.after.unwrap_or(0);
    let limit = crate::catalog::limit(q.limit, 1000, 10_000)?;
    let events = s.access.directory().audit_events(after, limit).await?;
    let next = (events.len() == limit)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    Ok(Json(AuditPage {
        data: events,
        next_after: next,
    }))
}

/// Rotates any tenant's key.
#[utoipa::path(post, path = "/api/v1/admin/keys/{id}/rotate", tag = "admin",
    params(("id" = String, Path, description = "The key")), request_body = Option<Rotate>,
    responses((status = 201, description = "The successor", body = RotatedKey)))]
pub(crate) async fn admin_rotate_key(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    admin_gate(&s, &p, "/api/v1/admin/keys/{id}/rotate").await?;
    rotate(&s, &p, &id, None, &bytes).await
}
