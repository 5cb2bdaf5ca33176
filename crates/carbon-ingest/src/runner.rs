//! The runner: payload → parse → data quality → one atomic batch → bus → run record.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use carbon_store::{FundamentalStore, IngestRun, QuarantinedRow, RunLog, RunStatus, Store};
use chrono::{DateTime, Utc};

use crate::{
    bus::{BusEvent, EventBus},
    caiso::parse::{OasisPayload, parse_oasis},
    connector::{Connector, Request, Wants},
    detect::{Detected, Format, SourceHint, detect},
    dq::{self, DqConfig},
    eia::{self, EiaContent, FundamentalFile},
    error::{Error, Result},
    http::{FetchError, FetchErrorKind},
    miso::parse::{parse_five_minute_json, parse_market_report},
    parsed::Parsed,
};

/// Bytes fetched from a source, with where and when.
#[derive(Debug, Clone)]
pub struct Payload {
    /// URL or file path.
    pub source: String,
    /// The raw bytes.
    pub bytes: Vec<u8>,
    /// When it was fetched or read.
    pub fetched_at: DateTime<Utc>,
    /// When the ISO published it (HTTP `Last-Modified`, file modification time), if known.
    pub published_at: Option<DateTime<Utc>>,
}

impl Payload {
    /// The vintage its observations get: publication time, else fetch time.
    pub fn vintage(&self) -> DateTime<Utc> {
        self.published_at.unwrap_or(self.fetched_at)
    }
}

/// A parsed payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Price observations.
    Prices(Parsed),
    /// Fundamentals points.
    Fundamentals(FundamentalFile),
}

/// What happened to one payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Recorded as an ingest run (ok, partial, failed, no data).
    Run(IngestRun),
    /// Recognised but not ingested by this version; nothing recorded.
    Skipped(String),
}

/// Runs payloads into the store.
#[derive(Clone)]
pub struct Runner {
    store: Arc<dyn Store>,
    fundamentals: Option<Arc<dyn FundamentalStore>>,
    log: Arc<dyn RunLog>,
    bus: Arc<dyn EventBus>,
    dq: DqConfig,
}

static RUN_SEQ: AtomicU64 = AtomicU64::new(0);

/// The run status a failed fetch is recorded with: a source we could not
/// reach is `unreachable`, a missing document `no_data`, the rest `failed`.
pub fn fetch_status(kind: FetchErrorKind) -> RunStatus {
    match kind {
        FetchErrorKind::Offline | FetchErrorKind::Unreachable | FetchErrorKind::Timeout => {
            RunStatus::Unreachable
        }
        FetchErrorKind::NotFound => RunStatus::NoData,
        _ => RunStatus::Failed,
    }
}

/// A run of `connector` from `source` starting now, nothing counted yet.
fn new_run(connector: &str, source: String, status: RunStatus) -> IngestRun {
    let started = Utc::now();
    IngestRun {
        id: run_id(connector, started),
        connector: connector.to_string(),
        source,
        window_start: None,
        window_end: None,
        started,
        finished: None,
        status,
        rows_accepted: 0,
        rows_unchanged: 0,
        rows_rejected: 0,
        error: None,
        quality: None,
    }
}

/// A payload parsed and checked, waiting to be stored.
enum Prepared {
    /// Prices: the batch's market, its instruments and the checked rows.
    Prices {
        market: carbon_core::Market,
        instruments: Vec<carbon_core::Instrument>,
        checked: dq::Checked,
    },
    /// A fundamentals file.
    Fundamentals(FundamentalFile),
    /// Not parsed: unsupported, an OASIS report, or malformed.
    Failed(Error),
}

/// Parses (by the connector that asked for it, when one did) and checks.
fn prepare(
    payload: &Payload,
    hint: Option<SourceHint>,
    asked: Option<(&dyn Connector, &Request)>,
    dq_config: &DqConfig,
) -> Prepared {
    let content = match asked {
        Some((c, r)) => c.parse(r, payload),
        None => Runner::parse_content(payload, hint),
    };
    match content {
        Ok(Content::Prices(p)) => Prepared::Prices {
            market: p.market,
            checked: dq::check(p.market, p.observations, dq_config),
            instruments: p.instruments,
        },
        Ok(Content::Fundamentals(f)) => Prepared::Fundamentals(f),
        Err(e) => Prepared::Failed(e),
    }
}

fn run_id(connector: &str, t: DateTime<Utc>) -> String {
    let n = RUN_SEQ.fetch_add(1, Ordering::Relaxed);
    format!(
        "{connector}-{}-{}-{n}",
        t.format("%Y%m%dT%H%M%S%.6fZ"),
        std::process::id()
    )
}

impl Runner {
    /// A runner over a store, its run log and a bus.
    pub fn new(
        store: Arc<dyn Store>,
        log: Arc<dyn RunLog>,
        bus: Arc<dyn EventBus>,
        dq: DqConfig,
    ) -> Self {
        Self {
            store,
            fundamentals: None,
            log,
            bus,
            dq,
        }
    }

    /// Also loads fundamentals files (EIA load, temperature, gas) into `f`.
    pub fn with_fundamentals(mut self, f: Arc<dyn FundamentalStore>) -> Self {
        self.fundamentals = Some(f);
        self
    }

    /// Parses a price payload with the detected (or forced) format; a
    /// fundamentals file is [`Error::Unsupported`] here (see [`Runner::parse_content`]).
    pub fn parse(payload: &Payload, hint: Option<SourceHint>) -> Result<Option<Parsed>> {
        match Self::parse_content(payload, hint)? {
            Content::Prices(p) => Ok(Some(p)),
            Content::Fundamentals(_) => Err(Error::Unsupported(format!(
                "{}: a fundamentals file (loaded by the fundamentals path)",
                payload.source
            ))),
        }
    }

    /// Parses any payload: prices or fundamentals.
    pub fn parse_content(payload: &Payload, hint: Option<SourceHint>) -> Result<Content> {
        let vintage = payload.vintage();
        let src = payload.source.as_str();
        let format = match detect(src, &payload.bytes, hint)? {
            Detected::Format(f) => f,
            Detected::Unsupported(why) => return Err(Error::Unsupported(why)),
        };
        Ok(Content::Prices(match format {
            Format::Eia => match eia::parse(&payload.bytes, src, vintage)? {
                EiaContent::Prices(p) => p,
                EiaContent::Fundamentals(f) => return Ok(Content::Fundamentals(f)),
            },
            Format::MisoReport => parse_market_report(&payload.bytes, src, vintage)?,
            Format::MisoFiveMinJson => parse_five_minute_json(&payload.bytes, src, vintage)?,
            Format::CaisoOasis => match parse_oasis(&payload.bytes, src, vintage)? {
                OasisPayload::Prices(p) => p,
                OasisPayload::Report { code, message } => {
                    return Err(Error::Oasis {
                        source_name: payload.source.clone(),
                        code,
                        message,
                    });
                }
            },
        }))
    }

    /// Ingests one payload: every outcome (but `Skipped`) is recorded as a run.
    /// Store failures are returned as errors after the run is recorded as failed.
    pub async fn ingest(
        &self,
        connector: &str,
        payload: Payload,
        hint: Option<SourceHint>,
    ) -> Result<Outcome> {
        self.ingest_inner(connector, payload, hint, None).await
    }

    /// Ingests the answer to a connector's request: restricted to what the
    /// connector is configured for, and checked against what the request
    /// should contain (intervals per node, nodes asked for or seen the day before).
    pub async fn ingest_request(
        &self,
        connector: Arc<dyn Connector>,
        request: &Request,
        payload: Payload,
    ) -> Result<Outcome> {
        let name = connector.name().to_string();
        self.ingest_inner(&name, payload, None, Some((connector, request)))
            .await
    }

    /// Parses and checks on a blocking thread (by the connector that asked,
    /// when one did), then stores and records the run.
    async fn ingest_inner(
        &self,
        connector: &str,
        payload: Payload,
        hint: Option<SourceHint>,
        asked: Option<(Arc<dyn Connector>, &Request)>,
    ) -> Result<Outcome> {
        let started = Utc::now();
        let source = payload.source.clone();
        let dq = self.dq;
        let request = asked.as_ref().map(|(_, r)| *r);
        let owned = asked.map(|(c, r)| (c, r.clone()));
        let prepared = tokio::task::spawn_blocking(move || {
            let asked = owned.as_ref().map(|(c, r)| (c.as_ref(), r));
            prepare(&payload, hint, asked, &dq)
        })
        .await
        .map_err(|e| Error::Internal(format!("parser task failed: {e}")))?;
        self.commit(connector, source, started, prepared, request)
            .await
    }

    /// Records a fetch that failed (nothing was parsed or stored).
    pub async fn record_fetch_failure(
        &self,
        connector: &str,
        request: &Request,
        error: &FetchError,
    ) -> Result<IngestRun> {
        let mut run = new_run(connector, request.full_url(), fetch_status(error.kind));
        run.window_start = Some(request.window_start);
        run.window_end = Some(request.window_end);
        run.finished = Some(run.started);
        run.error = Some(error.to_string());
        self.log.save_run(run.clone()).await?;
        Ok(run)
    }

    /// Ingests files in order, one run each, reading, parsing and checking
    /// the next file on a blocking thread while the current one is stored —
    /// so a directory load keeps both cores busy. `each` sees every path's
    /// outcome in order; an error it returns (or a store failure) stops the load.
    pub async fn ingest_files<E: From<Error>>(
        &self,
        connector: &str,
        paths: &[std::path::PathBuf],
        vintage: Option<DateTime<Utc>>,
        hint: Option<SourceHint>,
        mut each: impl FnMut(&std::path::Path, Outcome) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let dq = self.dq;
        let start = |path: std::path::PathBuf| {
            tokio::task::spawn_blocking(move || {
                let started = Utc::now();
                let payload = crate::files::read(&path, vintage)?;
                let source = payload.source.clone();
                Ok::<_, Error>((source, started, prepare(&payload, hint, None, &dq)))
            })
        };
        let mut next = paths.first().cloned().map(start);
        for (i, path) in paths.iter().enumerate() {
            let Some(task) = next.take() else { break };
            let (source, started, prepared) = task
                .await
                .map_err(|e| Error::Internal(format!("parser task failed: {e}")))??;
            next = paths.get(i + 1).cloned().map(start);
            let outcome = self
                .commit(connector, source, started, prepared, None)
                .await?;
            each(path, outcome)?;
        }
        Ok(())
    }

    /// Stores a prepared payload and records its run.
    async fn commit(
        &self,
        connector: &str,
        source: String,
        started: DateTime<Utc>,
        prepared: Prepared,
        request: Option<&Request>,
    ) -> Result<Outcome> {
        let mut run = new_run(connector, source, RunStatus::Running);
        run.started = started;
        let (market, instruments, mut checked) = match prepared {
            Prepared::Prices {
                market,
                instruments,
                checked,
            } => (market, instruments, checked),
            Prepared::Fundamentals(f) => {
                if let Some(r) = request {
                    run.window_start = Some(r.window_start);
                    run.window_end = Some(r.window_end);
                }
                return self.ingest_fundamentals(run, f).await;
            }
            Prepared::Failed(Error::Unsupported(why)) => return Ok(Outcome::Skipped(why)),
            Prepared::Failed(Error::Oasis { code, message, .. }) => {
                let no_data = code.as_deref() == Some("1000");
                run.status = if no_data {
                    RunStatus::NoData
                } else {
                    RunStatus::Failed
                };
                run.error = Some(format!("OASIS {}: {message}", code.unwrap_or_default()));
                run.finished = Some(Utc::now());
                self.log.save_run(run.clone()).await?;
                return Ok(Outcome::Run(run));
            }
            Prepared::Failed(e) => {
                run.status = RunStatus::Failed;
                run.error = Some(e.to_string());
                run.finished = Some(Utc::now());
                self.log.save_run(run.clone()).await?;
                return Ok(Outcome::Run(run));
            }
        };
        match request {
            Some(r) => {
                run.window_start = Some(r.window_start);
                run.window_end = Some(r.window_end);
            }
            None => {
                let (accepted, rejected) = (&checked.accepted, &checked.rejected);
                run.window_start = ((0..accepted.len()).map(|i| accepted.interval_start(i)))
                    .chain(rejected.iter().map(|(o, _)| o.interval_start))
                    .min();
                run.window_end = ((0..accepted.len()).map(|i| accepted.interval_end(i)))
                    .chain(rejected.iter().map(|(o, _)| o.interval_end))
                    .max();
            }
        }
        self.log.save_run(run.clone()).await?;

        if let Some(r) = request
            && let Wants::Prices {
                market_run,
                expected,
            } = &r.wants
        {
            let seen_before = if expected.nodes.is_none() {
                self.nodes_live_at(market, *market_run, r.window_start)
                    .await?
            } else {
                Vec::new()
            };
            checked.findings.window = Some(dq::check_window(
                market,
                &checked.accepted,
                *market_run,
                r.window_start,
                r.window_end,
                expected,
                &seen_before,
            ));
        }
        let result = async {
            self.store.upsert_instruments(instruments).await?;
            // Copy for the bus only when someone listens (file loads usually not).
            let accepted: Vec<carbon_core::Observation> = if self.bus.has_subscribers() {
                checked.accepted.iter().collect()
            } else {
                Vec::new()
            };
            let summary = self.store.append_batch(checked.accepted).await?;
            Ok::<_, carbon_store::Error>((summary, accepted))
        }
        .await;
        let (summary, accepted) = match result {
            Ok(x) => x,
            Err(e) => {
                run.status = RunStatus::Failed;
                run.error = Some(e.to_string());
                run.finished = Some(Utc::now());
                self.log.save_run(run.clone()).await?;
                return Err(e.into());
            }
        };
        let quarantined: Vec<QuarantinedRow> = checked
            .rejected
            .iter()
            .map(|(o, reason)| QuarantinedRow {
                run_id: run.id.clone(),
                source: o.provenance.source.to_string(),
                source_row: o.provenance.row,
                instrument_id: Some(o.instrument_id.to_string()),
                market_run: Some(o.market_run.to_string()),
                interval_start: Some(o.interval_start),
                reason: reason.clone(),
                detail: serde_json::to_value(o.values).ok(),
            })
            .collect();
        self.log.quarantine(quarantined).await?;
        if summary.inserted > 0 && !accepted.is_empty() {
            self.bus.publish(Arc::new(BusEvent {
                run_id: run.id.clone(),
                observations: accepted,
            }));
        }
        run.rows_accepted = summary.inserted as u64;
        run.rows_unchanged = summary.unchanged as u64;
        run.rows_rejected = checked.rejected.len() as u64;
        run.status = if checked.rejected.is_empty() {
            RunStatus::Ok
        } else {
            RunStatus::Partial
        };
        if run.status == RunStatus::Ok && summary.inserted == 0 && summary.unchanged == 0 {
            run.status = RunStatus::NoData;
        }
        run.quality = serde_json::to_value(&checked.findings).ok();
        run.finished = Some(Utc::now());
        self.log.save_run(run.clone()).await?;
        tracing::info!(run = %run.id, source = %run.source, accepted = run.rows_accepted,
            unchanged = run.rows_unchanged, rejected = run.rows_rejected, "ingested");
        Ok(Outcome::Run(run))
    }

    async fn ingest_fundamentals(&self, mut run: IngestRun, f: FundamentalFile) -> Result<Outcome> {
        let Some(store) = &self.fundamentals else {
            return Ok(Outcome::Skipped(
                "a fundamentals file, and this runner has no fundamentals store".into(),
            ));
        };
        if run.window_start.is_none() {
            run.window_start = f.points.iter().map(|p| p.interval_start).min();
            run.window_end = f.points.iter().map(|p| p.interval_end).max();
        }
        self.log.save_run(run.clone()).await?;
        let series: std::collections::BTreeSet<(String, String)> = f
            .points
            .iter()
            .map(|p| (p.entity.clone(), p.variable.clone()))
            .collect();
        let missing: u64 = f.missing.values().sum();
        match store.append_fundamentals(f.points).await {
            Ok(a) => {
                run.rows_accepted = a.stored;
                run.rows_unchanged = a.unchanged;
                run.status = if a.stored + a.unchanged == 0 {
                    RunStatus::NoData
                } else {
                    RunStatus::Ok
                };
                run.quality = Some(serde_json::json!({
                    "kind": "fundamentals",
                    "series": series.iter().map(|(e, v)| format!("{e}/{v}")).collect::<Vec<_>>(),
                    "missing_values": missing,
                    "missing_by_column": f.missing,
                    "ignored_columns": f.ignored_columns,
                }));
                run.finished = Some(Utc::now());
                self.log.save_run(run.clone()).await?;
                tracing::info!(run = %run.id, source = %run.source, stored = a.stored,
                    unchanged = a.unchanged, missing, "fundamentals ingested");
                Ok(Outcome::Run(run))
            }
            Err(e) => {
                run.status = RunStatus::Failed;
                run.error = Some(e.to_string());
                run.finished = Some(Utc::now());
                self.log.save_run(run.clone()).await?;
                Err(e.into())
            }
        }
    }

    /// Nodes of `market` whose `run` series has data on both sides of `at`
    /// (live right before the window starts): a full-market payload for the
    /// window should hold them all.
    async fn nodes_live_at(
        &self,
        market: carbon_core::Market,
        run: carbon_core::MarketRun,
        at: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let stats = self
            .store
            .series_stats(carbon_store::StatsFilter {
                market: Some(market),
                ..Default::default()
            })
            .await?;
        Ok(stats
            .into_iter()
            .filter(|s| {
                s.market_run == run && s.first_interval_start < at && s.last_interval_end >= at
            })
            .map(|s| s.instrument_id.to_string())
            .collect())
    }
}
