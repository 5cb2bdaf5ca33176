//! `carbon admin …` and `carbon audit …`: the access records through
//! [`carbon_auth::Access`], so the CLI and the admin API apply the same checks
//! and write the same audit events (actor `cli`).

use std::{path::Path, process::ExitCode, sync::Arc};

use anyhow::Result;
use carbon_auth::{Access, Bootstrap, GrantSpec};
use carbon_store::{Directory, verify_chain};
use chrono::NaiveDate;

use super::{UserError, open_store, output, runtime};
use crate::{
    cli::{
        AdminCommand, AuditCommand, EntitlementCommand, KeyCommand, SigningKeyCommand,
        TenantCommand, UserCommand,
    },
    config::Config,
    output::{Cell, RowWriter},
};

const ACTOR: &str = "cli";

fn auth_error(e: carbon_auth::Error) -> anyhow::Error {
    match e {
        carbon_auth::Error::Store(s) => s.into(),
        carbon_auth::Error::Crypto(_) | carbon_auth::Error::Provider(_) => {
            anyhow::anyhow!("{e}")
        }
        other => UserError(other.to_string()).into(),
    }
}

/// Opens the access layer over the configured store.
pub(crate) async fn open_access(config: &Config, dir: Arc<dyn Directory>) -> Result<Arc<Access>> {
    if let Some(s) = super::shared() {
        return Ok(s.access.clone());
    }
    Ok(Arc::new(
        Access::open(dir, &config.auth).await.map_err(auth_error)?,
    ))
}

/// First start: creates the admin and the demo pilots when there are no
/// tenants, prints how to sign in, and keeps the passwords in
/// `<data_dir>/initial-credentials.txt` (mode 0600) until someone deletes it.
pub(crate) async fn bootstrap(access: &Access, data_dir: &Path) -> Result<Option<Bootstrap>> {
    let Some(b) = access.bootstrap().await.map_err(auth_error)? else {
        return Ok(None);
    };
    let mut text = String::from(
        "# carbon first start: accounts created (change or disable them; delete this file)\n",
    );
    outln!("first start: created these accounts (passwords are shown once):");
    for (user, tenant, pw) in &b.accounts {
        outln!("  {user:<11} tenant {tenant:<12} password {pw}");
        text.push_str(&format!("{user} {tenant} {pw}\n"));
    }
    let file = data_dir.join("initial-credentials.txt");
    if std::fs::write(&file, text).is_ok() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
        }
        outln!("  (also written to {}, mode 0600)", file.display());
    }
    outln!(
        "sign in: curl -X POST http://HOST/api/v1/auth/login -H 'content-type: application/json' \
         -d '{{\"username\":\"admin\",\"password\":\"…\"}}'"
    );
    Ok(Some(b))
}

fn date(flag: &str, s: Option<&str>) -> Result<Option<NaiveDate>> {
    s.map(|s| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|e| UserError(format!("{flag} {s:?}: expected YYYY-MM-DD ({e})")).into())
    })
    .transpose()
}

fn list_cell(v: &[String]) -> Cell {
    Cell::Text(v.join(","))
}

/// `carbon admin …`
pub fn admin(config: &Config, command: AdminCommand) -> Result<ExitCode> {
    let store = open_store(config)?;
    let rt = runtime()?;
    rt.block_on(async {
        let access = open_access(config, store.clone()).await?;
        let a = access.as_ref();
        match command {
            AdminCommand::Tenant { command } => match command {
                TenantCommand::Create { id, name } => {
                    let t = a
                        .create_tenant(ACTOR, &id, &name)
                        .await
                        .map_err(auth_error)?;
                    outln!("tenant {} created", t.id);
                }
                TenantCommand::List => {
                    let mut w = RowWriter::new(
                        output(None)?,
                        crate::cli::Format::Table,
                        &["tenant", "name", "created", "ip_allow"],
                    )?;
                    for t in store.tenants().await? {
                        w.row(vec![
                            Cell::Text(t.id),
                            Cell::Text(t.name),
                            Cell::Text(t.created.to_rfc3339()),
                            t.ip_allow.map(|l| list_cell(&l)).unwrap_or(Cell::Empty),
                        ])?;
                    }
                    w.finish()?;
                }
                TenantCommand::AllowIps {
                    tenant,
                    cidrs,
                    clear,
                } => {
                    let list = a
                        .set_tenant_ip_allow(ACTOR, &tenant, (!clear).then_some(cidrs))
                        .await
                        .map_err(auth_error)?;
                    match list {
                        Some(l) => outln!("tenant {tenant}: only from {}", l.join(", ")),
                        None => outln!("tenant {tenant}: any address"),
                    }
                }
            },
            AdminCommand::User { command } => match command {
                UserCommand::Add {
                    username,
                    tenant,
                    password,
                    roles,
                } => {
                    let generated = password.is_none();
                    let pw = password.unwrap_or_else(carbon_auth::secret::random_password);
                    a.put_user(ACTOR, &username, &tenant, &pw, roles)
                        .await
                        .map_err(auth_error)?;
                    outln!("user {username} saved (tenant {tenant})");
                    if generated {
                        outln!("password (shown once): {pw}");
                    }
                }
                UserCommand::List { tenant } => {
                    let mut w = RowWriter::new(
                        output(None)?,
                        crate::cli::Format::Table,
                        &["username", "tenant", "roles", "disabled"],
                    )?;
                    for u in store.users(tenant).await? {
                        w.row(vec![
                            Cell::Text(u.username),
                            Cell::Text(u.tenant),
                            list_cell(&u.roles),
                            Cell::Text(u.disabled.to_string()),
                        ])?;
                    }
                    w.finish()?;
                }
                UserCommand::Disable { username } => {
                    a.set_user_disabled(ACTOR, &username, true)
                        .await
                        .map_err(auth_error)?;
                    outln!("user {username} disabled");
                }
                UserCommand::Enable { username } => {
                    a.set_user_disabled(ACTOR, &username, false)
                        .await
                        .map_err(auth_error)?;
                    outln!("user {username} enabled");
                }
            },
            AdminCommand::Key { command } => match command {
                KeyCommand::Create {
                    tenant,
                    name,
                    owner,
                    expires,
                    allow_ip,
                } => {
                    let expires = expires
                        .map(|e| carbon_auth::parse_span("--expires", &e))
                        .transpose()
                        .map_err(auth_error)?
                        .map(|d| chrono::Utc::now() + d);
                    let opts = carbon_auth::KeyOptions {
                        expires,
                        ip_allow: (!allow_ip.is_empty()).then_some(allow_ip),
                    };
                    let (k, full) = a
                        .create_key(ACTOR, &tenant, owner.as_deref(), &name, opts)
                        .await
                        .map_err(auth_error)?;
                    outln!(
                        "key {} created for tenant {}{}",
                        k.id,
                        k.tenant,
                        k.expires
                            .map(|e| format!(", expires {}", carbon_service::rfc3339(e)))
                            .unwrap_or_default()
                    );
                    outln!("{full}");
                    errln!("(the key is shown once; only its hash is stored)");
                }
                KeyCommand::Rotate { id, grace } => {
                    let grace = carbon_auth::parse_span("--grace", &grace).map_err(auth_error)?;
                    let (next, full, old) = a
                        .rotate_key(ACTOR, &id, None, grace)
                        .await
                        .map_err(auth_error)?;
                    outln!(
                        "key {} replaces {id}; {id} works until {}",
                        next.id,
                        old.expires.map(carbon_service::rfc3339).unwrap_or_default()
                    );
                    outln!("{full}");
                    errln!("(the key is shown once; only its hash is stored)");
                }
                KeyCommand::List { tenant } => {
                    let mut w = RowWriter::new(
                        output(None)?,
                        crate::cli::Format::Table,
                        &[
                            "id",
                            "tenant",
                            "name",
                            "owner",
                            "created",
                            "expires",
                            "last_used",
                            "revoked",
                            "ip_allow",
                        ],
                    )?;
                    for k in store.api_keys(tenant).await? {
                        w.row(vec![
                            Cell::Text(k.id),
                            Cell::Text(k.tenant),
                            Cell::Text(k.name),
                            k.owner.map(Cell::Text).unwrap_or(Cell::Empty),
                            Cell::time(k.created),
                            Cell::time_or_empty(k.expires),
                            Cell::time_or_empty(k.last_used),
                            Cell::time_or_empty(k.revoked),
                            k.ip_allow.map(|l| list_cell(&l)).unwrap_or(Cell::Empty),
                        ])?;
                    }
                    w.finish()?;
                }
                KeyCommand::Revoke { id } => {
                    a.revoke_key(ACTOR, &id, None).await.map_err(auth_error)?;
                    outln!("key {id} revoked");
                }
            },
            AdminCommand::Entitlement { command } => match command {
                EntitlementCommand::Grant {
                    tenant,
                    market,
                    product,
                    channels,
                    instruments,
                    from,
                    to,
                } => {
                    let g = a
                        .add_grant(
                            ACTOR,
                            GrantSpec {
                                tenant,
                                market,
                                product,
                                channels,
                                instruments: (!instruments.is_empty()).then_some(instruments),
                                start: date("--from", from.as_deref())?,
                                end: date("--to", to.as_deref())?,
                            },
                        )
                        .await
                        .map_err(auth_error)?;
                    outln!("grant {} added for tenant {}", g.id, g.tenant);
                }
                EntitlementCommand::List { tenant } => {
                    let mut w = RowWriter::new(
                        output(None)?,
                        crate::cli::Format::Table,
                        &[
                            "id",
                            "tenant",
                            "market",
                            "product",
                            "channels",
                            "instruments",
                            "from",
                            "to",
                        ],
                    )?;
                    for g in store.grants(tenant).await? {
                        w.row(vec![
                            Cell::Text(g.id),
                            Cell::Text(g.tenant),
                            Cell::Text(g.market),
                            Cell::Text(g.product),
                            list_cell(&g.channels),
                            g.instruments
                                .map(|i| list_cell(&i))
                                .unwrap_or(Cell::Text("*".into())),
                            g.start
                                .map(|d| Cell::Text(d.to_string()))
                                .unwrap_or(Cell::Empty),
                            g.end
                                .map(|d| Cell::Text(d.to_string()))
                                .unwrap_or(Cell::Empty),
                        ])?;
                    }
                    w.finish()?;
                }
                EntitlementCommand::Revoke { id } => {
                    a.remove_grant(ACTOR, &id).await.map_err(auth_error)?;
                    outln!("grant {id} removed");
                }
            },
            AdminCommand::SigningKey { command } => match command {
                SigningKeyCommand::Rotate => {
                    let old = a.signer().kid().to_string();
                    let kid = a.rotate_signing_key(ACTOR).await.map_err(auth_error)?;
                    outln!(
                        "signing key {kid} signs from now on; {old} verifies until its last session expires"
                    );
                }
                SigningKeyCommand::List => {
                    let mut w = RowWriter::new(
                        output(None)?,
                        crate::cli::Format::Table,
                        &["kid", "alg", "created", "state", "verifies_until"],
                    )?;
                    let active = a.signer().kid().to_string();
                    let now = chrono::Utc::now();
                    for k in store.signing_keys().await? {
                        let state = match k.retired {
                            _ if k.kid == active => "signing",
                            Some(r) if r > now => "retired (verifying)",
                            Some(_) => "retired",
                            None => "standby",
                        };
                        w.row(vec![
                            Cell::Text(k.kid),
                            Cell::Text(k.alg),
                            Cell::time(k.created),
                            Cell::Text(state.into()),
                            Cell::time_or_empty(k.retired),
                        ])?;
                    }
                    w.finish()?;
                }
                SigningKeyCommand::Withdraw { kid } => {
                    a.withdraw_signing_key(ACTOR, &kid)
                        .await
                        .map_err(auth_error)?;
                    outln!(
                        "signing key {kid} withdrawn: its sessions no longer verify; {} signs",
                        a.signer().kid()
                    );
                }
            },
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `carbon audit …`
pub fn audit(config: &Config, command: AuditCommand) -> Result<ExitCode> {
    let store = open_store(config)?;
    let rt = runtime()?;
    rt.block_on(async {
        match command {
            AuditCommand::Verify => {
                let mut all = Vec::new();
                loop {
                    let after = all
                        .last()
                        .map(|e: &carbon_store::AuditEvent| e.seq)
                        .unwrap_or(0);
                    let page = store.audit_events(after, 10_000).await?;
                    if page.is_empty() {
                        break;
                    }
                    all.extend(page);
                }
                let report = verify_chain(&all, store.audit_head().await?);
                if report.intact() {
                    outln!(
                        "audit log intact: {} events, hash chain verified",
                        report.events
                    );
                    Ok(ExitCode::SUCCESS)
                } else {
                    outln!(
                        "audit log ALTERED: {} problem(s) in {} events",
                        report.problems.len(),
                        report.events
                    );
                    for p in &report.problems {
                        outln!("  {p}");
                    }
                    Ok(ExitCode::from(1))
                }
            }
            AuditCommand::List {
                after,
                limit,
                format,
            } => {
                let mut w = RowWriter::new(
                    output(None)?,
                    format,
                    &[
                        "seq", "time_utc", "actor", "tenant", "action", "target", "outcome",
                        "detail",
                    ],
                )?;
                for e in store.audit_events(after, limit).await? {
                    w.row(vec![
                        Cell::Int(e.seq),
                        Cell::Text(e.time.to_rfc3339()),
                        Cell::Text(e.event.actor),
                        e.event.tenant.map(Cell::Text).unwrap_or(Cell::Empty),
                        Cell::Text(e.event.action),
                        e.event.target.map(Cell::Text).unwrap_or(Cell::Empty),
                        Cell::Text(e.event.outcome),
                        Cell::Text(e.event.detail.to_string()),
                    ])?;
                }
                w.finish()?;
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
