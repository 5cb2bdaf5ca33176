//! [`Directory`] on DuckDB.

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use duckdb::{OptionalExt, Row, params};

use super::{DuckdbStore, Inner, from_micros, ts};
use crate::{
    directory::{
        ApiKey, AuditEvent, Directory, GENESIS, Grant, NewAuditEvent, SigningKey, Tenant, User,
        audit_hash,
    },
    error::{Error, Result},
};

fn list(v: &[String]) -> String {
    serde_json::Value::from(v.to_vec()).to_string()
}

fn unlist(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|e| Error::Backend(format!("bad JSON list {s:?}: {e}")))
}

fn date_days(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

fn user_row(r: &Row<'_>) -> duckdb::Result<(String, String, String, String, bool, i64)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn to_user(t: (String, String, String, String, bool, i64)) -> Result<User> {
    Ok(User {
        username: t.0,
        tenant: t.1,
        password_hash: t.2,
        roles: unlist(&t.3)?,
        disabled: t.4,
        created: from_micros(t.5),
    })
}

const USER_COLS: &str =
    "username, tenant, password_hash, roles, disabled, epoch_us(created_utc) FROM users";
const KEY_COLS: &str = "id, tenant, owner, name, secret_hash, epoch_us(created_utc), \
                        epoch_us(revoked_utc), epoch_us(expires_utc), epoch_us(last_used_utc), \
                        ip_allow FROM api_keys";
const GRANT_COLS: &str = "id, tenant, market, product, channels, instruments, \
                          strftime(start_date, '%Y-%m-%d'), strftime(end_date, '%Y-%m-%d'), \
                          epoch_us(created_utc) FROM grants";
const AUDIT_COLS: &str = "seq, epoch_us(time_utc), actor, tenant, action, target, outcome, \
                          detail, prev_hash, hash FROM audit_log";

fn to_key(r: &Row<'_>) -> duckdb::Result<ApiKey> {
    Ok(ApiKey {
        id: r.get(0)?,
        tenant: r.get(1)?,
        owner: r.get(2)?,
        name: r.get(3)?,
        secret_hash: r.get(4)?,
        created: from_micros(r.get(5)?),
        revoked: r.get::<_, Option<i64>>(6)?.map(from_micros),
        expires: r.get::<_, Option<i64>>(7)?.map(from_micros),
        last_used: r.get::<_, Option<i64>>(8)?.map(from_micros),
        // A list that no longer parses allows nothing rather than everything.
        ip_allow: r
            .get::<_, Option<String>>(9)?
            .map(|s| unlist(&s).unwrap_or_default()),
    })
}

fn parse_date(s: Option<String>) -> Result<Option<NaiveDate>> {
    s.map(|s| {
        NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map_err(|e| Error::Backend(format!("bad stored date {s}: {e}")))
    })
    .transpose()
}

type GrantRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

fn grant_row(r: &Row<'_>) -> duckdb::Result<GrantRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn to_grant(g: GrantRow) -> Result<Grant> {
    Ok(Grant {
        id: g.0,
        tenant: g.1,
        market: g.2,
        product: g.3,
        channels: unlist(&g.4)?,
        instruments: g.5.as_deref().map(unlist).transpose()?,
        start: parse_date(g.6)?,
        end: parse_date(g.7)?,
        created: from_micros(g.8),
    })
}

type AuditRow = (
    i64,
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
);

fn audit_row(r: &Row<'_>) -> duckdb::Result<AuditRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

fn to_audit(a: AuditRow) -> AuditEvent {
    AuditEvent {
        seq: a.0 as u64,
        time: from_micros(a.1),
        event: NewAuditEvent {
            actor: a.2,
            tenant: a.3,
            action: a.4,
            target: a.5,
            outcome: a.6,
            // Kept as text if it no longer parses: verification must see the
            // stored bytes, and a re-serialised value would differ.
            detail: serde_json::from_str(&a.7).unwrap_or(serde_json::Value::String(a.7)),
        },
        prev_hash: a.8,
        hash: a.9,
    }
}

impl Inner {
    fn tenant_exists(&self, id: &str) -> Result<bool> {
        Ok(self
            .reader()
            .query_row("SELECT 1 FROM tenants WHERE id = ?", [id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn need_tenant(&self, id: &str) -> Result<()> {
        if self.tenant_exists(id)? {
            Ok(())
        } else {
            Err(Error::param("tenant", format!("no tenant `{id}`")))
        }
    }
}

#[async_trait]
impl Directory for DuckdbStore {
    async fn create_tenant(&self, t: Tenant) -> Result<()> {
        self.blocking(move |s| {
            if s.tenant_exists(&t.id)? {
                return Err(Error::param(
                    "tenant",
                    format!("tenant `{}` already exists", t.id),
                ));
            }
            s.writer().execute(
                "INSERT INTO tenants (id, name, created_utc, ip_allow) VALUES (?, ?, ?, ?)",
                params![t.id, t.name, ts(t.created), t.ip_allow.as_deref().map(list)],
            )?;
            Ok(())
        })
        .await
    }

    async fn tenants(&self) -> Result<Vec<Tenant>> {
        self.blocking(|s| {
            let c = s.reader();
            let mut stmt = c.prepare(
                "SELECT id, name, epoch_us(created_utc), ip_allow FROM tenants ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Tenant {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    created: from_micros(r.get(2)?),
                    ip_allow: r
                        .get::<_, Option<String>>(3)?
                        .map(|s| unlist(&s).unwrap_or_default()),
                })
            })?;
            Ok(rows.collect::<duckdb::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn set_tenant_ip_allow(&self, id: &str, cidrs: Option<Vec<String>>) -> Result<bool> {
        let id = id.to_string();
        self.blocking(move |s| {
            let n = s.writer().execute(
                "UPDATE tenants SET ip_allow = ? WHERE id = ?",
                params![cidrs.as_deref().map(list), id],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn put_user(&self, u: User) -> Result<()> {
        self.blocking(move |s| {
            s.need_tenant(&u.tenant)?;
            s.writer().execute(
                "INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?, ?, ?)",
                params![
                    u.username,
                    u.tenant,
                    u.password_hash,
                    list(&u.roles),
                    u.disabled,
                    ts(u.created)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn user(&self, username: &str) -> Result<Option<User>> {
        let username = username.to_string();
        self.blocking(move |s| {
            s.reader()
                .query_row(
                    &format!("SELECT {USER_COLS} WHERE username = ?"),
                    [username],
                    user_row,
                )
                .optional()?
                .map(to_user)
                .transpose()
        })
        .await
    }

    async fn users(&self, tenant: Option<String>) -> Result<Vec<User>> {
        self.blocking(move |s| {
            let c = s.reader();
            let mut stmt = c.prepare(&format!(
                "SELECT {USER_COLS} WHERE (? IS NULL OR tenant = ?) ORDER BY username"
            ))?;
            let rows = stmt.query_map(params![tenant, tenant], user_row)?;
            rows.map(|r| to_user(r?)).collect()
        })
        .await
    }

    async fn create_api_key(&self, k: ApiKey) -> Result<()> {
        self.blocking(move |s| {
            s.need_tenant(&k.tenant)?;
            s.writer().execute(
                "INSERT INTO api_keys (id, tenant, owner, name, secret_hash, created_utc, \
                 revoked_utc, expires_utc, last_used_utc, ip_allow) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    k.id,
                    k.tenant,
                    k.owner,
                    k.name,
                    k.secret_hash,
                    ts(k.created),
                    k.revoked.map(ts),
                    k.expires.map(ts),
                    k.last_used.map(ts),
                    k.ip_allow.as_deref().map(list)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn api_key(&self, id: &str) -> Result<Option<ApiKey>> {
        let id = id.to_string();
        self.blocking(move |s| {
            Ok(s.reader()
                .query_row(&format!("SELECT {KEY_COLS} WHERE id = ?"), [id], to_key)
                .optional()?)
        })
        .await
    }

    async fn api_keys(&self, tenant: Option<String>) -> Result<Vec<ApiKey>> {
        self.blocking(move |s| {
            let c = s.reader();
            let mut stmt = c.prepare(&format!(
                "SELECT {KEY_COLS} WHERE (? IS NULL OR tenant = ?) ORDER BY created_utc DESC, id"
            ))?;
            let rows = stmt.query_map(params![tenant, tenant], to_key)?;
            Ok(rows.collect::<duckdb::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn revoke_api_key(&self, id: &str, at: chrono::DateTime<Utc>) -> Result<bool> {
        let id = id.to_string();
        self.blocking(move |s| {
            let n = s.writer().execute(
                "UPDATE api_keys SET revoked_utc = ? WHERE id = ? AND revoked_utc IS NULL",
                params![ts(at), id],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn set_api_key_expiry(
        &self,
        id: &str,
        at: Option<chrono::DateTime<Utc>>,
    ) -> Result<bool> {
        let id = id.to_string();
        self.blocking(move |s| {
            let n = s.writer().execute(
                "UPDATE api_keys SET expires_utc = ? WHERE id = ?",
                params![at.map(ts), id],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn touch_api_key(&self, id: &str, at: chrono::DateTime<Utc>) -> Result<()> {
        let id = id.to_string();
        self.blocking(move |s| {
            s.writer().execute(
                "UPDATE api_keys SET last_used_utc = ? WHERE id = ?",
                params![ts(at), id],
            )?;
            Ok(())
        })
        .await
    }

    async fn add_grant(&self, g: Grant) -> Result<()> {
        self.blocking(move |s| {
            s.need_tenant(&g.tenant)?;
            s.writer().execute(
                "INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?, CAST(? AS DATE), CAST(? AS DATE), ?)",
                params![
                    g.id,
                    g.tenant,
                    g.market,
                    g.product,
                    list(&g.channels),
                    g.instruments.as_deref().map(list),
                    date_days(g.start),
                    date_days(g.end),
                    ts(g.created)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn grants(&self, tenant: Option<String>) -> Result<Vec<Grant>> {
        self.blocking(move |s| {
            let c = s.reader();
            let mut stmt = c.prepare(&format!(
                "SELECT {GRANT_COLS} WHERE (? IS NULL OR tenant = ?) ORDER BY tenant, created_utc, id"
            ))?;
            let rows = stmt.query_map(params![tenant, tenant], grant_row)?;
            rows.map(|r| to_grant(r?)).collect()
        })
        .await
    }

    async fn remove_grant(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.blocking(move |s| {
            Ok(s.writer()
                .execute("DELETE FROM grants WHERE id = ?", [id])?
                > 0)
        })
        .await
    }

    async fn add_signing_key(&self, k: SigningKey) -> Result<()> {
        self.blocking(move |s| {
            s.writer().execute(
                "INSERT INTO signing_keys (kid, alg, private_pem, public_jwk, created_utc, \
                 retired_utc) VALUES (?, ?, ?, ?, ?, ?)",
                params![
                    k.kid,
                    k.alg,
                    k.private_pem,
                    k.public_jwk.to_string(),
                    ts(k.created),
                    k.retired.map(ts)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKey>> {
        self.blocking(|s| {
            let c = s.reader();
            let mut stmt = c.prepare(
                "SELECT kid, alg, private_pem, public_jwk, epoch_us(created_utc),
                        epoch_us(retired_utc)
                 FROM signing_keys ORDER BY created_utc DESC, kid",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            })?;
            rows.map(|r| {
                let (kid, alg, private_pem, jwk, created, retired) = r?;
                Ok(SigningKey {
                    kid,
                    alg,
                    private_pem,
                    public_jwk: serde_json::from_str(&jwk)
                        .map_err(|e| Error::Backend(format!("bad stored JWK: {e}")))?,
                    created: from_micros(created),
                    retired: retired.map(from_micros),
                })
            })
            .collect()
        })
        .await
    }

    async fn retire_signing_key(&self, kid: &str, at: chrono::DateTime<Utc>) -> Result<bool> {
        let kid = kid.to_string();
        self.blocking(move |s| {
            let n = s.writer().execute(
                "UPDATE signing_keys SET retired_utc = ? \
                 WHERE kid = ? AND (retired_utc IS NULL OR retired_utc > ?)",
                params![ts(at), kid, ts(at)],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn audit(&self, e: NewAuditEvent) -> Result<AuditEvent> {
        self.blocking(move |s| {
            // The writer lock serialises appends, so (seq, prev_hash) cannot race.
            let mut c = s.writer();
            let tx = c.transaction()?;
            let last: Option<(i64, String)> = tx
                .query_row(
                    "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let (seq, prev_hash) = match last {
                Some((n, h)) => (n as u64 + 1, h),
                None => (1, GENESIS.to_string()),
            };
            // Stored to the microsecond: hash what will be read back.
            let time = from_micros(Utc::now().timestamp_micros());
            let hash = audit_hash(&prev_hash, seq, time, &e);
            tx.execute(
                "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    seq as i64,
                    ts(time),
                    e.actor,
                    e.tenant,
                    e.action,
                    e.target,
                    e.outcome,
                    e.detail.to_string(),
                    prev_hash,
                    hash
                ],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO audit_head VALUES (1, ?, ?)",
                params![seq as i64, hash],
            )?;
            tx.commit()?;
            Ok(AuditEvent {
                seq,
                time,
                event: e,
                prev_hash,
                hash,
            })
        })
        .await
    }

    async fn audit_events(&self, after: u64, limit: usize) -> Result<Vec<AuditEvent>> {
        self.blocking(move |s| {
            let c = s.reader();
            let mut stmt = c.prepare(&format!(
                "SELECT {AUDIT_COLS} WHERE seq > ? ORDER BY seq LIMIT {}",
                limit.max(1)
            ))?;
            let rows = stmt.query_map([after as i64], audit_row)?;
            Ok(rows
                .map(|r| r.map(to_audit))
                .collect::<duckdb::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn audit_head(&self) -> Result<Option<(u64, String)>> {
        self.blocking(|s| {
            Ok(s.reader()
                .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
                    Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
                })
                .optional()?)
        })
        .await
    }
}
