//! `carbon backfill`, `carbon poll`, `carbon serve` and `carbon db compact`:
//! the live connectors driven from the command line and the scheduler.

use std::{
    collections::HashMap,
    process::ExitCode,
    sync::Arc,
    time::{Duration as StdDuration, Instant},
};

use anyhow::Result;
use carbon_core::{Market, MarketRun, time};
use carbon_ingest::{
    bus::InProcessBus,
    caiso::connector::CAISO_HUBS,
    connector::{Connector, ConnectorConfig, PollJob, Request},
    runner::Runner,
    sync::{self, Step, SyncReport},
};
use carbon_store::{DuckdbStore, RunLog, Store};
use chrono::{Duration, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};

use super::{UserError, flag, open_store, runtime};
use crate::{cli::BackfillArgs, config::Config};

struct Parts {
    store: Arc<DuckdbStore>,
    log: Arc<dyn RunLog>,
    bus: Arc<InProcessBus>,
    runner: Runner,
}

fn parts(config: &Config) -> Result<Parts> {
    let store = open_store(config)?;
    let log: Arc<dyn RunLog> = store.clone();
    let bus = super::bus();
    let runner = Runner::new(store.clone(), log.clone(), bus.clone(), config.quality)
        .with_fundamentals(store.clone());
    Ok(Parts {
        store,
        log,
        bus,
        runner,
    })
}

fn connector_config(config: &Config, name: &str) -> Result<ConnectorConfig> {
    let all = config.all_connectors();
    all.iter()
        .find(|c| c.name() == name.to_ascii_lowercase())
        .cloned()
        .ok_or_else(|| {
            let known: Vec<&str> = all.iter().map(|c| c.name()).collect();
            UserError(format!(
                "connector {name:?} is not configured; configured: {}",
                known.join(", ")
            ))
            .into()
        })
}

/// The hub-only variant of a connector (first-start backfill).
fn hubs_only(c: &ConnectorConfig) -> ConnectorConfig {
    match c.clone() {
        ConnectorConfig::Miso(mut m) => {
            m.hubs_only = true;
            ConnectorConfig::Miso(m)
        }
        ConnectorConfig::Caiso(mut k) => {
            k.all_nodes = false;
            k.nodes = CAISO_HUBS.iter().map(|s| s.to_string()).collect();
            ConnectorConfig::Caiso(k)
        }
        e @ ConnectorConfig::Eia(_) => e,
    }
}

/// The connector, or why it cannot fetch as configured (a missing key).
fn usable(cc: &ConnectorConfig, config: &Config) -> Result<Arc<dyn Connector>> {
    let connector = cc.build(&config.http_config());
    match connector.missing_credentials() {
        Some(why) => Err(UserError(format!("{}: {why}", connector.name())).into()),
        None => Ok(connector),
    }
}

fn describe(step: &Step) -> String {
    match step {
        Step::Done(run) => format!("already ingested (run {run})"),
        Step::Skipped(why) => format!("not ingested: {why}"),
        Step::Ran(r) => match &r.error {
            Some(e) => format!("{}: {e}", r.status.as_str()),
            None => format!(
                "{}: {} new, {} unchanged, {} quarantined",
                r.status.as_str(),
                r.rows_accepted,
                r.rows_unchanged,
                r.rows_rejected
            ),
        },
    }
}

fn summary_line(name: &str, r: &SyncReport) -> String {
    format!(
        "{name}: {} request(s): {} ingested, {} already done, {} no data yet, {} unreachable, {} failed, {} not attempted; {} rows stored, {} quarantined",
        r.requests,
        r.ingested,
        r.already_done,
        r.no_data,
        r.unreachable,
        r.failed,
        r.not_attempted,
        r.rows_accepted,
        r.rows_rejected
    )
}

async fn run_requests(
    p: &Parts,
    connector: Arc<dyn Connector>,
    requests: Vec<Request>,
    force: bool,
    progress: bool,
) -> Result<SyncReport> {
    let bar = if progress {
        let bar = ProgressBar::new(requests.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta} {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(connector.name().to_string());
        Some(bar)
    } else {
        None
    };
    let report = sync::execute(
        &p.runner,
        &p.log,
        connector.clone(),
        requests,
        force,
        |req, step| match &bar {
            Some(b) => {
                b.set_message(format!("{} {}", req.key, describe(step)));
                b.inc(1);
            }
            None => outln!("{} {}", req.key, describe(step)),
        },
    )
    .await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(report)
}

fn parse_date(flag_name: &str, s: &str) -> Result<NaiveDate> {
    flag(
        flag_name,
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|e| format!("{s:?}: {e} (expected YYYY-MM-DD)")),
    )
}

/// `carbon backfill`: a connector's history over a date range (resumable).
pub fn backfill(config: &Config, args: &BackfillArgs) -> Result<ExitCode> {
    let mut cc = connector_config(config, &args.connector)?;
    let from = parse_date("--from", &args.from)?;
    let to = match &args.to {
        Some(t) => parse_date("--to", t)?,
        None => from,
    };
    if to < from {
        return Err(UserError(format!("--to {to} is before --from {from}")).into());
    }
    let runs = args
        .market_runs
        .iter()
        .map(|r| flag("--market-run", r.parse::<MarketRun>()))
        .collect::<Result<Vec<_>>>()?;
    if (args.hubs_only || !args.nodes.is_empty())
        && let ConnectorConfig::Eia(_) = cc
    {
        let flag = if args.hubs_only {
            "--hubs-only"
        } else {
            "--nodes"
        };
        return Err(UserError(format!(
            "{flag}: eia has no nodes (it fetches the [eia] series)"
        ))
        .into());
    }
    if args.hubs_only {
        cc = hubs_only(&cc);
    }
    if !args.nodes.is_empty() {
        match &mut cc {
            ConnectorConfig::Miso(m) => m.nodes = args.nodes.clone(),
            ConnectorConfig::Caiso(k) => {
                k.all_nodes = false;
                k.nodes = args.nodes.clone();
            }
            ConnectorConfig::Eia(_) => {}
        }
    }
    let connector = usable(&cc, config)?;
    let requests = connector
        .plan_backfill(from, to, &runs)
        .map_err(|e| UserError(e.to_string()))?;
    let p = parts(config)?;
    let rt = runtime()?;
    let progress = !args.no_progress
        && !crate::console::captured()
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let report = rt.block_on(run_requests(
        &p,
        connector.clone(),
        requests,
        args.force,
        progress,
    ))?;
    outln!("{}", summary_line(connector.name(), &report));
    if report.unreachable + report.failed + report.not_attempted > 0 {
        errln!("some requests did not complete; run the same command again to resume");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `carbon poll`: one poll job of one connector, once (for cron).
pub fn poll(config: &Config, connector: &str, job: &str) -> Result<ExitCode> {
    let cc = connector_config(config, connector)?;
    let job: PollJob = flag("job", job.parse())?;
    let connector = usable(&cc, config)?;
    let requests = connector.plan_poll(job, Utc::now());
    if requests.is_empty() {
        return Err(UserError(format!("{} has no {} job", connector.name(), job.as_str())).into());
    }
    let p = parts(config)?;
    let report =
        runtime()?.block_on(run_requests(&p, connector.clone(), requests, false, false))?;
    outln!("{}", summary_line(connector.name(), &report));
    Ok(if report.unreachable + report.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `carbon db compact`.
pub fn compact(config: &Config) -> Result<ExitCode> {
    let store = open_store(config)?;
    let t = Instant::now();
    let s = runtime()?.block_on(store.compact())?;
    outln!(
        "compacted {} month(s), {} rows in {:.1} s",
        s.partitions,
        s.rows,
        t.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

const FIRST_START: &str = "serve/first-start-backfill";

/// The hubs' recent days, until one such backfill has completed (so a first
/// start without network retries on the next start). Returns whether it completed.
async fn first_start_backfill(p: &Parts, config: &Config) -> Result<bool> {
    let days = i64::from(config.schedule.first_start_backfill_days);
    if days == 0 || p.log.checkpoint(FIRST_START).await?.is_some() {
        return Ok(false);
    }
    let mut complete = true;
    for cc in &config.connectors {
        let hub = hubs_only(cc);
        let connector = hub.build(&config.http_config());
        let Some(market) = connector.market() else {
            continue;
        };
        let today = time::market_date(market, Utc::now());
        let from = today - Duration::days(days);
        // Hourly runs only: 5-minute history is not served for past days.
        let runs: Vec<MarketRun> = connector
            .market_runs()
            .into_iter()
            .filter(|r| *r != MarketRun::Rt5 || market != Market::Miso)
            .collect();
        let requests = match connector.plan_backfill(from, today, &runs) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(connector = connector.name(), error = %e, "first-start backfill not planned");
                continue;
            }
        };
        errln!(
            "first start: backfilling {} hubs {from}..{today} ({} requests)",
            connector.name(),
            requests.len()
        );
        let progress =
            !crate::console::captured() && std::io::IsTerminal::is_terminal(&std::io::stderr());
        let report = run_requests(p, connector, requests, false, progress).await?;
        errln!("{}", summary_line(cc.name(), &report));
        complete &= report.unreachable + report.not_attempted + report.failed == 0;
    }
    if complete {
        let value = serde_json::json!({ "completed_utc": Utc::now().to_rfc3339() });
        p.log.set_checkpoint(FIRST_START, value).await?;
    }
    Ok(true)
}

async fn scheduler(p: Arc<Parts>, config: Config) {
    let http = config.http_config();
    // One connector (and so one spaced HTTP client) per source, shared by its jobs.
    let mut connectors: HashMap<String, Arc<dyn Connector>> = HashMap::new();
    for c in &config.all_connectors() {
        let connector = c.build(&http);
        match connector.missing_credentials() {
            // Not polled (nor recorded as failing every period) until configured.
            Some(why) => tracing::info!(connector = c.name(), "not polled: {why}"),
            None => {
                connectors.insert(c.name().to_string(), connector);
            }
        }
    }
    let mut tasks = Vec::new();
    for (name, connector) in connectors {
        let jobs: Vec<(PollJob, StdDuration)> = config
            .schedule
            .jobs
            .iter()
            .filter(|j| j.connector == name)
            .map(|j| (j.job, StdDuration::from_secs(j.every_secs)))
            .collect();
        if jobs.is_empty() {
            continue;
        }
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            let mut due: Vec<Instant> = jobs.iter().map(|_| Instant::now()).collect();
            loop {
                let (i, at) = due
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, t)| **t)
                    .map(|(i, t)| (i, *t))
                    .unwrap_or((0, Instant::now()));
                tokio::time::sleep_until(at.into()).await;
                let (job, every) = jobs[i];
                due[i] = Instant::now() + every;
                let requests = connector.plan_poll(job, Utc::now());
                match sync::execute(&p.runner, &p.log, connector.clone(), requests, false, |_, _| {})
                    .await
                {
                    Ok(r) => tracing::info!(connector = %name, job = job.as_str(), "{}", summary_line(&name, &r)),
                    Err(e) => tracing::error!(connector = %name, job = job.as_str(), error = %e, "poll failed"),
                }
            }
        }));
    }
    // Nightly compaction keeps per-instrument reads fast as data arrives.
    let store = p.store.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::time::sleep(StdDuration::from_secs(24 * 3600)).await;
            if let Err(e) = store.compact().await {
                tracing::error!(error = %e, "compaction failed");
            }
        }
    }));
    for t in tasks {
        let _ = t.await;
    }
}

/// What `carbon serve` runs in front of the platform. The binary plugs in
/// the HTTP API (`carbon-api`): this crate does not know HTTP.
pub trait Front {
    /// Reads and checks what the front needs before anything starts (the
    /// TLS certificate and key, when given), naming the flag at fault.
    fn prepare(&mut self, rt: &tokio::runtime::Runtime, tls: Option<&TlsPaths>) -> Result<()>;
    /// Starts answering on `listener` (non-blocking) until `stop` completes.
    fn start(
        &mut self,
        rt: &tokio::runtime::Runtime,
        platform: Platform,
        listener: std::net::TcpListener,
        stop: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    ) -> Result<tokio::task::JoinHandle<std::io::Result<()>>>;
}

/// `--tls-cert` and `--tls-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPaths {
    /// Certificate chain (PEM).
    pub cert: std::path::PathBuf,
    /// Private key (PEM).
    pub key: std::path::PathBuf,
}

/// What the front serves: the stores, the event bus, identity and access,
/// and the `[api]` settings (cookies `Secure` when serving TLS).
pub struct Platform {
    /// Prices, curves, fundamentals, research and the directory (one file).
    pub store: Arc<DuckdbStore>,
    /// What the runner publishes (streamed to clients).
    pub bus: Arc<InProcessBus>,
    /// Authentication, entitlements, audit.
    pub access: Arc<carbon_auth::Access>,
    /// Durable jobs (their workers run beside the front).
    pub jobs: Arc<carbon_service::jobs::Jobs>,
    /// `[api]`.
    pub settings: carbon_service::settings::ApiSettings,
    /// The download center (its writes run as jobs).
    pub exports: Arc<carbon_service::exports::Exports>,
    /// Scheduled feeds (fired by the scheduler below).
    pub feeds: Arc<carbon_service::feeds::Feeds>,
}

/// `carbon serve`'s flags.
#[derive(Debug, Clone, Default)]
pub struct ServeArgs {
    /// `--bind` (default: the configured address).
    pub bind: Option<String>,
    /// `--no-schedule`.
    pub no_schedule: bool,
    /// `--exit-after` seconds.
    pub exit_after: Option<u64>,
    /// `--tls-cert`/`--tls-key`.
    pub tls: Option<TlsPaths>,
}

/// `carbon serve`: first start, `front` on the bound address, the scheduler,
/// research jobs and signing-key rotation, until a signal (or
/// `--exit-after`).
pub fn serve(config: &Config, args: ServeArgs, front: &mut dyn Front) -> Result<ExitCode> {
    let p = Arc::new(parts(config)?);
    // Serving means many small concurrent queries: one DuckDB thread each
    // halves their tail latency (BENCHMARKS.md) unless the environment says
    // otherwise; batch commands keep every core.
    if config.store.duckdb_threads.is_none() {
        p.store.set_threads(1)?;
    }
    let rt = runtime()?;
    front.prepare(&rt, args.tls.as_ref())?;
    let bind = args.bind.as_deref().unwrap_or(&config.bind);
    let listener = std::net::TcpListener::bind(bind)
        .map_err(|e| UserError(format!("--bind {bind}: cannot listen: {e}")))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let access = rt.block_on(async {
        let access = super::admin::open_access(config, p.store.clone()).await?;
        super::admin::bootstrap(&access, &config.data_dir).await?;
        Ok::<_, anyhow::Error>(access)
    })?;
    let mut settings = config.api.clone();
    // Over TLS, cookies are `Secure` and browsers are told to stay on HTTPS.
    settings.secure_cookies |= args.tls.is_some();
    let jobs = carbon_service::jobs::Jobs::new(
        p.store.clone(),
        carbon_service::research::ResearchDeps::of(p.store.clone()),
    );
    // Jobs a stopped server left running are queued again or failed.
    let recovered = rt.block_on(jobs.recover())?;
    if recovered.failed + recovered.requeued > 0 {
        outln!(
            "jobs left running by the last server: {} queued again, {} failed",
            recovered.requeued,
            recovered.failed
        );
    }
    let exports = super::exports::open(config, p.store.clone())?;
    jobs.set_exports(exports.clone());
    let feeds = carbon_service::feeds::Feeds::new(p.store.clone(), exports.clone(), jobs.clone());
    feeds.set_gate(feed_gate(access.clone()));
    feeds.set_brief_view(brief_view(access.clone()));
    let workers = {
        let _guard = rt.enter();
        jobs.start_workers(config.jobs.workers)
    };
    // Commands run by local clients while this server holds the data
    // directory use its store, bus, access layer and jobs.
    super::set_shared(super::Shared {
        store: p.store.clone(),
        bus: p.bus.clone(),
        access: access.clone(),
        jobs: jobs.clone(),
        exports: Some(exports.clone()),
        feeds: Some(feeds.clone()),
    });
    // Without the socket (a path too long for one, a read-only directory)
    // the server still serves; only local commands beside it are refused.
    #[cfg(unix)]
    let _local = {
        let _guard = rt.enter();
        crate::local::listen(config)
            .inspect_err(|e| {
                errln!("note: commands cannot run beside this server: {e:#}");
            })
            .ok()
    };
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let api = front.start(
        &rt,
        Platform {
            store: p.store.clone(),
            bus: p.bus.clone(),
            access: access.clone(),
            jobs: jobs.clone(),
            settings,
            exports: exports.clone(),
            feeds: feeds.clone(),
        },
        listener,
        Box::pin(async {
            let _ = api_stopped.await;
        }),
    )?;
    let (no_schedule, exit_after) = (args.no_schedule, args.exit_after);
    let rotation = (config.auth.signing_key_rotate_days > 0).then(|| {
        rt.spawn(rotate_signing_keys(
            access.clone(),
            chrono::Duration::days(config.auth.signing_key_rotate_days),
        ))
    });
    let polling = config.schedule.enabled && !no_schedule;
    outln!(
        "carbon serve: data {} ({}), {} connector(s), polling {}{}",
        config.data_dir.display(),
        p.store.backend(),
        config.all_connectors().len(),
        if polling { "on" } else { "off" },
        if config.offline || config.http.offline {
            " (offline: live sources will show as unreachable)"
        } else {
            ""
        }
    );
    let scheme = if args.tls.is_some() { "https" } else { "http" };
    outln!("listening on {scheme}://{addr} (try {scheme}://{addr}/ready)");
    rt.block_on(async {
        if polling && first_start_backfill(&p, config).await? {
            p.store.compact().await?;
        }
        let sched = if polling {
            Some(tokio::spawn(scheduler(p.clone(), config.clone())))
        } else {
            None
        };
        let research = polling.then(|| tokio::spawn(research_jobs(jobs.clone(), config.clone())));
        // Expired exports' files are deleted hourly (and once at start).
        let retention = {
            let exports = exports.clone();
            tokio::spawn(async move {
                loop {
                    match exports.cleanup(Utc::now()).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(expired = n, "expired exports deleted"),
                        Err(e) => tracing::error!(error = %e, "export cleanup failed"),
                    }
                    tokio::time::sleep(StdDuration::from_secs(3600)).await;
                }
            })
        };
        // Feeds due are fired every `[exports] feed_tick_secs` (and at start),
        // whatever the connectors' schedule: they are tenants' orders.
        let feed_ticker = {
            let (feeds, every) = (feeds.clone(), config.exports.feed_tick_secs.max(1));
            let access = access.clone();
            tokio::spawn(async move {
                loop {
                    match feeds.fire_due(Utc::now()).await {
                        Ok(fired) => {
                            // Every firing is audited, as an export asked for by hand is.
                            for f in fired {
                                let (outcome, detail) = match &f.export {
                                    Ok(export) => {
                                        tracing::info!(feed = %f.feed, %export, "feed fired");
                                        ("queued", serde_json::json!({ "feed": f.feed, "export": export }))
                                    }
                                    Err(e) => {
                                        tracing::warn!(feed = %f.feed, error = %e, "feed could not fire");
                                        ("failed", serde_json::json!({ "feed": f.feed, "error": e.to_string() }))
                                    }
                                };
                                access
                                    .audit("scheduler", Some(&f.tenant), "feed_fired", None, outcome, detail)
                                    .await;
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "feeds not checked"),
                    }
                    tokio::time::sleep(StdDuration::from_secs(every)).await;
                }
            })
        };
        let stop = async {
            match exit_after {
                Some(s) => tokio::time::sleep(StdDuration::from_secs(s)).await,
                None => shutdown_signal().await,
            }
        };
        stop.await;
        feed_ticker.abort();
        if let Some(s) = sched {
            s.abort();
        }
        if let Some(r) = research {
            r.abort();
        }
        retention.abort();
        if let Some(r) = rotation {
            r.abort();
        }
        for w in &workers {
            w.abort();
        }
        let _ = stop_api.send(());
        if let Ok(Err(e)) = api.await {
            tracing::error!(error = %e, "API server failed");
        }
        outln!("carbon serve: stopped");
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The entitlement check of a feed at each firing: every instrument of its
/// query over its range, product `lmp`, channel `downloads` — with the
/// grants in force now.
fn feed_gate(access: Arc<carbon_auth::Access>) -> carbon_service::feeds::Gate {
    Arc::new(move |tenant, q| {
        let grants = access.grants();
        for i in &q.instruments {
            carbon_auth::policy::decide(
                &grants,
                tenant,
                &carbon_auth::policy::Ask {
                    market: Some(i.market()),
                    product: "lmp",
                    channel: carbon_auth::policy::Channel::Downloads,
                    instrument: Some(i.as_str()),
                    range: Some((q.start, q.end)),
                },
            )?;
        }
        Ok(())
    })
}

/// What a brief feed's tenant may see, from the grants in force now (the
/// policy's own `brief_view`, as the API asks it).
fn brief_view(access: Arc<carbon_auth::Access>) -> carbon_service::feeds::BriefView {
    Arc::new(move |tenant, market, range, hubs| {
        carbon_auth::policy::brief_view(&access.grants(), tenant, market, range, hubs)
    })
}

/// `[auth] signing_key_rotate_days`: checks at start and hourly whether the
/// session-signing key is older than the period and rotates it (the old key
/// verifies until its last session expires).
async fn rotate_signing_keys(access: Arc<carbon_auth::Access>, period: chrono::Duration) {
    loop {
        match access.rotate_signing_key_if_older(period).await {
            Ok(Some(kid)) => tracing::info!(kid = %kid, "session-signing key rotated"),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "signing-key rotation failed"),
        }
        tokio::time::sleep(StdDuration::from_secs(3600)).await;
    }
}

/// The configured research jobs, each queued every `every_secs` (first one
/// period after start) as a durable job of the platform tenant.
async fn research_jobs(jobs: Arc<carbon_service::jobs::Jobs>, config: Config) {
    use carbon_service::{jobs::JobSpec, research::Analysis};
    let mut tasks = Vec::new();
    for job in config.research_jobs {
        let jobs = jobs.clone();
        tasks.push(tokio::spawn(async move {
            let every = StdDuration::from_secs(job.every_secs.max(1));
            let spec = match job.analysis {
                Analysis::Backtest(b) => JobSpec::Backtest(Box::new(b)),
                a => JobSpec::Analysis(Box::new(a)),
            };
            loop {
                tokio::time::sleep(every).await;
                match jobs.submit(&spec, "platform", "scheduler").await {
                    Ok(j) => tracing::info!(job = %job.name, id = %j.id, "research job queued"),
                    Err(e) => tracing::warn!(job = %job.name, error = %e, "research job refused"),
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
