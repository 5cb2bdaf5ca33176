//! The access-control records: tenants, users, API keys, entitlement grants,
//! token-signing keys and the append-only, hash-chained audit log.
//!
//! Kept apart from [`crate::Store`] for the same reason as [`crate::RunLog`]:
//! at scale these live in PostgreSQL. This module stores and returns records;
//! it decides nothing. Hashing passwords, checking keys and the entitlement
//! policy belong to `carbon-auth`.
//!
//! The audit chain is computed here, because it must be computed where events
//! are serialised: event `n` stores `hash = SHA-256(prev_hash ‖ canonical(event))`
//! with `prev_hash` the hash of event `n − 1`, and the newest `(seq, hash)` is
//! also kept as a separate head record. [`verify_chain`] recomputes everything:
//! an edited event breaks its own hash, a deleted one breaks the sequence or the
//! next `prev_hash`, and a truncated tail no longer matches the head.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Result;

/// A customer organisation; every user, key and grant belongs to one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    /// Stable id (`pilot_miso`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Networks (CIDR, IPv4 or IPv6) its users and keys may connect from;
    /// `None` means anywhere.
    #[serde(default)]
    pub ip_allow: Option<Vec<String>>,
}

/// A person who logs in (built-in identity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    /// Login name, unique across tenants.
    pub username: String,
    /// Owning tenant.
    pub tenant: String,
    /// PHC string of the password hash (argon2id); never the password.
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub password_hash: String,
    /// Roles (`admin` manages the platform).
    pub roles: Vec<String>,
    /// A disabled user cannot log in.
    pub disabled: bool,
    /// Creation time.
    pub created: DateTime<Utc>,
}

/// An API key. Only a hash of its secret is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Public id, also the key's visible prefix.
    pub id: String,
    /// Owning tenant.
    pub tenant: String,
    /// The user it was made for, if any.
    pub owner: Option<String>,
    /// What it is for.
    pub name: String,
    /// Hex SHA-256 of the secret part.
    #[serde(skip_serializing)]
    pub secret_hash: String,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// When revoked; a revoked key authenticates nothing.
    pub revoked: Option<DateTime<Utc>>,
    /// When it stops working (`None`: never).
    #[serde(default)]
    pub expires: Option<DateTime<Utc>>,
    /// When it last authenticated a request (kept to about a minute).
    #[serde(default)]
    pub last_used: Option<DateTime<Utc>>,
    /// Networks (CIDR) it may be used from, beside its tenant's; `None`
    /// means no limit of its own.
    #[serde(default)]
    pub ip_allow: Option<Vec<String>>,
}

/// One entitlement grant: `tenant` may read `product` of `market` through
/// `channels`, optionally only `instruments`, optionally only intervals within
/// `[start, end]` (UTC dates, both inclusive). `*` matches any market or product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Grant {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Market code or `*`.
    pub market: String,
    /// Product (`lmp`, `curves`, `fundamentals`, `research`) or `*`.
    pub product: String,
    /// Channels (`hub`, `api`, `stream`, `downloads`, `reports`).
    pub channels: Vec<String>,
    /// Instrument allow-list; `None` means every instrument of the market.
    pub instruments: Option<Vec<String>>,
    /// First date of data visible.
    pub start: Option<NaiveDate>,
    /// Last date of data visible.
    pub end: Option<NaiveDate>,
    /// Creation time.
    pub created: DateTime<Utc>,
}

/// A key the server signs its session tokens with.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningKey {
    /// JWK `kid`.
    pub kid: String,
    /// Algorithm (`ES256`).
    pub alg: String,
    /// PKCS#8 PEM of the private key.
    pub private_pem: String,
    /// The public JWK (JSON).
    pub public_jwk: serde_json::Value,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// `None` while it may sign; once retired, the time its tokens stop
    /// verifying (after a rotation: when the last token it signed expires;
    /// withdrawn after a leak: at once).
    pub retired: Option<DateTime<Utc>>,
}

/// A security event to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewAuditEvent {
    /// Who (username, `key:<id>`, `oidc:<sub>`, `cli`, `anonymous`).
    pub actor: String,
    /// The actor's tenant, when known.
    pub tenant: Option<String>,
    /// What (`login`, `key_created`, `key_revoked`, `grant_added`, …).
    pub action: String,
    /// On what (a key id, a route, a username).
    pub target: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    /// Anything else (JSON).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// A recorded security event with its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Position, from 1, without gaps.
    pub seq: u64,
    /// When.
    pub time: DateTime<Utc>,
    /// The event.
    #[serde(flatten)]
    pub event: NewAuditEvent,
    /// Hash of the previous event (64 zeros for the first).
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
}

/// The `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Times are recorded to the microsecond; hashing them at that precision keeps
/// the hash reproducible from what is stored.
pub fn audit_hash(prev_hash: &str, seq: u64, time: DateTime<Utc>, e: &NewAuditEvent) -> String {
    let mut h = Sha256::new();
    for part in [
        prev_hash,
        &seq.to_string(),
        &time.timestamp_micros().to_string(),
        &e.actor,
        e.tenant.as_deref().unwrap_or(""),
        &e.action,
        e.target.as_deref().unwrap_or(""),
        &e.outcome,
        &e.detail.to_string(),
    ] {
        // Length-prefixed, so no two different events hash the same text.
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex(&h.finalize())
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

/// What [`verify_chain`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainReport {
    /// Events checked.
    pub events: u64,
    /// Every problem, in order; empty when the log is intact.
    pub problems: Vec<String>,
}

impl ChainReport {
    /// True when nothing was altered or deleted.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Recomputes the chain over `events` (in `seq` order, the whole log) and
/// compares its end with `head`.
pub fn verify_chain(events: &[AuditEvent], head: Option<(u64, String)>) -> ChainReport {
    let mut problems = Vec::new();
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1u64;
    for e in events {
        if e.seq != expected_seq {
            problems.push(format!(
                "event {}: expected sequence number {expected_seq} — {} event(s) before it were deleted",
                e.seq,
                e.seq.saturating_sub(expected_seq)
            ));
        }
        if e.prev_hash != prev {
            problems.push(format!(
                "event {}: prev_hash does not match the hash of the event before it (an event was deleted or altered)",
                e.seq
            ));
        }
        let recomputed = audit_hash(&e.prev_hash, e.seq, e.time, &e.event);
        if recomputed != e.hash {
            problems.push(format!(
                "event {}: content does not match its hash (the event was altered)",
                e.seq
            ));
        }
        prev = e.hash.clone();
        expected_seq = e.seq + 1;
    }
    let last = events.last().map(|e| (e.seq, e.hash.clone()));
    match (head, last) {
        (None, None) => {}
        (Some((hs, hh)), Some((ls, lh))) if hs == ls && hh == lh => {}
        (Some((hs, _)), Some((ls, _))) if hs > ls => problems.push(format!(
            "the log ends at event {ls} but the head records event {hs}: events {}..={hs} were deleted",
            ls + 1
        )),
        (Some((hs, _)), None) => problems.push(format!(
            "the log is empty but the head records event {hs}: every event was deleted"
        )),
        (h, l) => problems.push(format!(
            "the head ({:?}) does not match the last event ({:?})",
            h.map(|x| x.0),
            l.map(|x| x.0)
        )),
    }
    ChainReport {
        events: events.len() as u64,
        problems,
    }
}

/// Where access-control records live.
#[async_trait]
pub trait Directory: Send + Sync + 'static {
    /// Creates a tenant; an existing id is an [`crate::Error::InvalidParameter`].
    async fn create_tenant(&self, tenant: Tenant) -> Result<()>;
    /// Every tenant, by id.
    async fn tenants(&self) -> Result<Vec<Tenant>>;
    /// Sets (or with `None` clears) a tenant's IP allowlist; false when there
    /// is no such tenant.
    async fn set_tenant_ip_allow(&self, id: &str, cidrs: Option<Vec<String>>) -> Result<bool>;
    /// Inserts or replaces a user (by username). The tenant must exist.
    async fn put_user(&self, user: User) -> Result<()>;
    /// One user.
    async fn user(&self, username: &str) -> Result<Option<User>>;
    /// Users, of one tenant or all, by username.
    async fn users(&self, tenant: Option<String>) -> Result<Vec<User>>;
    /// Stores a new API key. The tenant must exist.
    async fn create_api_key(&self, key: ApiKey) -> Result<()>;
    /// One key, revoked or not.
    async fn api_key(&self, id: &str) -> Result<Option<ApiKey>>;
    /// Keys, of one tenant or all, newest first.
    async fn api_keys(&self, tenant: Option<String>) -> Result<Vec<ApiKey>>;
    /// Revokes a key; false when there is no such live key.
    async fn revoke_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<bool>;
    /// Sets when a key stops working; false when there is no such key.
    async fn set_api_key_expiry(&self, id: &str, at: Option<DateTime<Utc>>) -> Result<bool>;
    /// Records that a key was used at `at`.
    async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<()>;
    /// Adds a grant. The tenant must exist.
    async fn add_grant(&self, grant: Grant) -> Result<()>;
    /// Grants, of one tenant or all.
    async fn grants(&self, tenant: Option<String>) -> Result<Vec<Grant>>;
    /// Removes a grant; false when there is none with that id.
    async fn remove_grant(&self, id: &str) -> Result<bool>;
    /// Stores a signing key.
    async fn add_signing_key(&self, key: SigningKey) -> Result<()>;
    /// Signing keys, newest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKey>>;
    /// Sets when a key's tokens stop verifying to `at`, or earlier if it
    /// already was; false when there is no such key or it was retired no
    /// later than `at`.
    async fn retire_signing_key(&self, kid: &str, at: DateTime<Utc>) -> Result<bool>;
    /// Appends an event to the audit chain and returns it as recorded.
    async fn audit(&self, event: NewAuditEvent) -> Result<AuditEvent>;
    /// Events with `seq > after`, oldest first, at most `limit`.
    async fn audit_events(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>>;
    /// The recorded head of the chain: (seq, hash) of the newest event.
    async fn audit_head(&self) -> Result<Option<(u64, String)>>;
}
