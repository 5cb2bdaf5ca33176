//! [`Directory`] on PostgreSQL: tenants, users, API keys, grants, signing
//! keys and the hash-chained audit log. Appends to the audit log from any
//! number of processes are serialised by an advisory lock, so the chain
//! stays one line (each event's `prev_hash` is the event before it). The
//! audit detail is kept as the exact text it was hashed from (JSONB would
//! reorder keys and break the chain).

use async_trait::async_trait;
use carbon_store::{
    ApiKey, AuditEvent, Directory, Error, Grant, NewAuditEvent, Result, SigningKey, Tenant, User,
    directory::{GENESIS, audit_hash},
};
use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use crate::{PgStore, backend};

fn list(v: &[String]) -> serde_json::Value {
    serde_json::Value::from(v.to_vec())
}

fn unlist(v: serde_json::Value) -> Result<Vec<String>> {
    serde_json::from_value(v).map_err(|e| Error::Backend(format!("bad stored list: {e}")))
}

fn to_user(r: &Row) -> Result<User> {
    Ok(User {
        username: r.get(0),
        tenant: r.get(1),
        password_hash: r.get(2),
        roles: unlist(r.get(3))?,
        disabled: r.get(4),
        created: r.get(5),
    })
}

const USER_COLS: &str = "username, tenant, password_hash, roles, disabled, created_utc";
const KEY_COLS: &str = "id, tenant, owner, name, secret_hash, created_utc, revoked_utc, \
                        expires_utc, last_used_utc, ip_allow";
const GRANT_COLS: &str =
    "id, tenant, market, product, channels, instruments, start_date, end_date, created_utc";
const AUDIT_COLS: &str =
    "seq, time_utc, actor, tenant, action, target, outcome, detail, prev_hash, hash";

fn to_key(r: &Row) -> Result<ApiKey> {
    Ok(ApiKey {
        id: r.get(0),
        tenant: r.get(1),
        owner: r.get(2),
        name: r.get(3),
        secret_hash: r.get(4),
        created: r.get(5),
        revoked: r.get(6),
        expires: r.get(7),
        last_used: r.get(8),
        ip_allow: r
            .get::<_, Option<serde_json::Value>>(9)
            .map(unlist)
            .transpose()?,
    })
}

fn to_grant(r: &Row) -> Result<Grant> {
    Ok(Grant {
        id: r.get(0),
        tenant: r.get(1),
        market: r.get(2),
        product: r.get(3),
        channels: unlist(r.get(4))?,
        instruments: r
            .get::<_, Option<serde_json::Value>>(5)
            .map(unlist)
            .transpose()?,
        start: r.get(6),
        end: r.get(7),
        created: r.get(8),
    })
}

fn to_audit(r: &Row) -> AuditEvent {
    let detail: String = r.get(7);
    AuditEvent {
        seq: r.get::<_, i64>(0).max(0) as u64,
        time: r.get(1),
        event: NewAuditEvent {
            actor: r.get(2),
            tenant: r.get(3),
            action: r.get(4),
            target: r.get(5),
            outcome: r.get(6),
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
        },
        prev_hash: r.get(8),
        hash: r.get(9),
    }
}

impl PgStore {
    async fn need_tenant(&self, id: &str) -> Result<()> {
        let c = self.client().await?;
        let found = c
            .query_opt("SELECT 1 FROM tenants WHERE id = $1", &[&id])
            .await
            .map_err(backend("reading a tenant"))?;
        if found.is_some() {
            Ok(())
        } else {
            Err(Error::param("tenant", format!("no tenant `{id}`")))
        }
    }
}

#[async_trait]
impl Directory for PgStore {
    async fn create_tenant(&self, t: Tenant) -> Result<()> {
        let c = self.client().await?;
        let ip = t.ip_allow.as_deref().map(list);
        let n = c
            .execute(
                "INSERT INTO tenants (id, name, created_utc, ip_allow) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO NOTHING",
                &[&t.id, &t.name, &t.created, &ip],
            )
            .await
            .map_err(backend("creating a tenant"))?;
        if n == 0 {
            return Err(Error::param(
                "tenant",
                format!("tenant `{}` already exists", t.id),
            ));
        }
        Ok(())
    }

    async fn tenants(&self) -> Result<Vec<Tenant>> {
        let c = self.client().await?;
        c.query(
            "SELECT id, name, created_utc, ip_allow FROM tenants ORDER BY id COLLATE \"C\"",
            &[],
        )
        .await
        .map_err(backend("listing tenants"))?
        .iter()
        .map(|r| {
            Ok(Tenant {
                id: r.get(0),
                name: r.get(1),
                created: r.get(2),
                ip_allow: r
                    .get::<_, Option<serde_json::Value>>(3)
                    .map(unlist)
                    .transpose()?,
            })
        })
        .collect()
    }

    async fn set_tenant_ip_allow(&self, id: &str, cidrs: Option<Vec<String>>) -> Result<bool> {
        let c = self.client().await?;
        let ip = cidrs.as_deref().map(list);
        Ok(c.execute(
            "UPDATE tenants SET ip_allow = $1 WHERE id = $2",
            &[&ip, &id],
        )
        .await
        .map_err(backend("setting a tenant's addresses"))?
            > 0)
    }

    async fn put_user(&self, u: User) -> Result<()> {
        self.need_tenant(&u.tenant).await?;
        let c = self.client().await?;
        let roles = list(&u.roles);
        c.execute(
            &format!(
                "INSERT INTO users ({USER_COLS}) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (username) DO UPDATE SET tenant = EXCLUDED.tenant, \
                 password_hash = EXCLUDED.password_hash, roles = EXCLUDED.roles, \
                 disabled = EXCLUDED.disabled, created_utc = EXCLUDED.created_utc"
            ),
            &[
                &u.username,
                &u.tenant,
                &u.password_hash,
                &roles,
                &u.disabled,
                &u.created,
            ],
        )
        .await
        .map_err(backend("saving a user"))?;
        Ok(())
    }

    async fn user(&self, username: &str) -> Result<Option<User>> {
        let c = self.client().await?;
        c.query_opt(
            &format!("SELECT {USER_COLS} FROM users WHERE username = $1"),
            &[&username],
        )
        .await
        .map_err(backend("reading a user"))?
        .as_ref()
        .map(to_user)
        .transpose()
    }

    async fn users(&self, tenant: Option<String>) -> Result<Vec<User>> {
        let c = self.client().await?;
        c.query(
            &format!(
                "SELECT {USER_COLS} FROM users WHERE ($1::TEXT IS NULL OR tenant = $1) ORDER BY username COLLATE \"C\""
            ),
            &[&tenant],
        )
        .await
        .map_err(backend("listing users"))?
        .iter()
        .map(to_user)
        .collect()
    }

    async fn create_api_key(&self, k: ApiKey) -> Result<()> {
        self.need_tenant(&k.tenant).await?;
        let c = self.client().await?;
        let ip = k.ip_allow.as_deref().map(list);
        c.execute(
            &format!(
                "INSERT INTO api_keys ({KEY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &[
                &k.id,
                &k.tenant,
                &k.owner,
                &k.name,
                &k.secret_hash,
                &k.created,
                &k.revoked,
                &k.expires,
                &k.last_used,
                &ip,
            ],
        )
        .await
        .map_err(backend("creating an API key"))?;
        Ok(())
    }

    async fn api_key(&self, id: &str) -> Result<Option<ApiKey>> {
        let c = self.client().await?;
        c.query_opt(
            &format!("SELECT {KEY_COLS} FROM api_keys WHERE id = $1"),
            &[&id],
        )
        .await
        .map_err(backend("reading an API key"))?
        .as_ref()
        .map(to_key)
        .transpose()
    }

    async fn api_keys(&self, tenant: Option<String>) -> Result<Vec<ApiKey>> {
        let c = self.client().await?;
        c.query(
            &format!(
                "SELECT {KEY_COLS} FROM api_keys WHERE ($1::TEXT IS NULL OR tenant = $1) \
                 ORDER BY created_utc DESC, id COLLATE \"C\""
            ),
            &[&tenant],
        )
        .await
        .map_err(backend("listing API keys"))?
        .iter()
        .map(to_key)
        .collect()
    }

    async fn revoke_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE api_keys SET revoked_utc = $1 WHERE id = $2 AND revoked_utc IS NULL",
            &[&at, &id],
        )
        .await
        .map_err(backend("revoking an API key"))?
            > 0)
    }

    async fn set_api_key_expiry(&self, id: &str, at: Option<DateTime<Utc>>) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE api_keys SET expires_utc = $1 WHERE id = $2",
            &[&at, &id],
        )
        .await
        .map_err(backend("setting an API key's expiry"))?
            > 0)
    }

    async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE api_keys SET last_used_utc = $1 WHERE id = $2",
            &[&at, &id],
        )
        .await
        .map_err(backend("noting an API key's use"))?;
        Ok(())
    }

    async fn add_grant(&self, g: Grant) -> Result<()> {
        self.need_tenant(&g.tenant).await?;
        let c = self.client().await?;
        let channels = list(&g.channels);
        let instruments = g.instruments.as_deref().map(list);
        c.execute(
            &format!(
                "INSERT INTO grants ({GRANT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            &[
                &g.id,
                &g.tenant,
                &g.market,
                &g.product,
                &channels,
                &instruments,
                &g.start,
                &g.end,
                &g.created,
            ],
        )
        .await
        .map_err(backend("adding a grant"))?;
        Ok(())
    }

    async fn grants(&self, tenant: Option<String>) -> Result<Vec<Grant>> {
        let c = self.client().await?;
        c.query(
            &format!(
                "SELECT {GRANT_COLS} FROM grants WHERE ($1::TEXT IS NULL OR tenant = $1) \
                 ORDER BY tenant COLLATE \"C\", created_utc, id COLLATE \"C\""
            ),
            &[&tenant],
        )
        .await
        .map_err(backend("listing grants"))?
        .iter()
        .map(to_grant)
        .collect()
    }

    async fn remove_grant(&self, id: &str) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.execute("DELETE FROM grants WHERE id = $1", &[&id])
            .await
            .map_err(backend("removing a grant"))?
            > 0)
    }

    async fn add_signing_key(&self, k: SigningKey) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO signing_keys (kid, alg, private_pem, public_jwk, created_utc, retired_utc) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &k.kid,
                &k.alg,
                &k.private_pem,
                &k.public_jwk,
                &k.created,
                &k.retired,
            ],
        )
        .await
        .map_err(backend("adding a signing key"))?;
        Ok(())
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKey>> {
        let c = self.client().await?;
        Ok(c.query(
            "SELECT kid, alg, private_pem, public_jwk, created_utc, retired_utc \
                 FROM signing_keys ORDER BY created_utc DESC, kid COLLATE \"C\"",
            &[],
        )
        .await
        .map_err(backend("listing signing keys"))?
        .iter()
        .map(|r| SigningKey {
            kid: r.get(0),
            alg: r.get(1),
            private_pem: r.get(2),
            public_jwk: r.get(3),
            created: r.get(4),
            retired: r.get(5),
        })
        .collect())
    }

    async fn retire_signing_key(&self, kid: &str, at: DateTime<Utc>) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.execute(
            "UPDATE signing_keys SET retired_utc = $1 \
                 WHERE kid = $2 AND (retired_utc IS NULL OR retired_utc > $1)",
            &[&at, &kid],
        )
        .await
        .map_err(backend("retiring a signing key"))?
            > 0)
    }

    async fn audit(&self, e: NewAuditEvent) -> Result<AuditEvent> {
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(backend("appending to the audit log"))?;
        // One appender at a time across every process: the chain is a line.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('carbon-audit:' || current_schema()))",
            &[],
        )
        .await
        .map_err(backend("locking the audit log"))?;
        let last = tx
            .query_opt(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(backend("reading the audit head"))?;
        let (seq, prev_hash) = match last {
            Some(r) => (r.get::<_, i64>(0) as u64 + 1, r.get::<_, String>(1)),
            None => (1, GENESIS.to_string()),
        };
        // Microseconds, as stored: the hash covers what is read back.
        let now = Utc::now();
        let time = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        let hash = audit_hash(&prev_hash, seq, time, &e);
        let detail = e.detail.to_string();
        tx.execute(
            &format!(
                "INSERT INTO audit_log ({AUDIT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &[
                &(seq as i64),
                &time,
                &e.actor,
                &e.tenant,
                &e.action,
                &e.target,
                &e.outcome,
                &detail,
                &prev_hash,
                &hash,
            ],
        )
        .await
        .map_err(backend("appending to the audit log"))?;
        tx.execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash",
            &[&(seq as i64), &hash],
        )
        .await
        .map_err(backend("moving the audit head"))?;
        tx.commit()
            .await
            .map_err(backend("appending to the audit log"))?;
        Ok(AuditEvent {
            seq,
            time,
            event: e,
            prev_hash,
            hash,
        })
    }

    async fn audit_events(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>> {
        let c = self.client().await?;
        let (after, limit) = (after as i64, limit.max(1) as i64);
        Ok(c.query(
            &format!("SELECT {AUDIT_COLS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"),
            &[&after, &limit],
        )
        .await
        .map_err(backend("reading the audit log"))?
        .iter()
        .map(to_audit)
        .collect())
    }

    async fn audit_head(&self) -> Result<Option<(u64, String)>> {
        let c = self.client().await?;
        Ok(
            c.query_opt("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
                .await
                .map_err(backend("reading the audit head"))?
                .map(|r| (r.get::<_, i64>(0).max(0) as u64, r.get(1))),
        )
    }
}
