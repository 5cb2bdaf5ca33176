//! Exports: a dataset written as files into the object store, one part per
//! calendar month (UTC) of the range, each part's rows, bytes and SHA-256 in a
//! manifest written **last** — so a reader that finds a manifest finds every
//! part, and an export that fails or is cancelled leaves no manifest (its
//! parts are deleted). Files live under `exports/<tenant>/<export id>/`.
//!
//! Links are HMAC-SHA256 signatures over (tenant, export, file, expiry) with
//! a key kept in the data directory: a link is good for one file of one
//! export of one tenant until its expiry; anything altered fails the check.

use std::sync::Arc;

use bytes::Bytes;
use carbon_store::{Export, ExportStore, FeedStore, PriceQuery, Store};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use object_store::{ObjectStoreExt, PutPayload, path::Path as ObjectPath};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{
    Error, Result,
    datasets::{DataExport, DataSpec},
    objects::{Destination, ObjectTarget},
    reports::{BriefSpec, DataSources},
    research::Progress,
};

/// File formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Comma-separated, a header row, RFC 3339 UTC instants.
    Csv,
    /// Apache Parquet (zstd).
    Parquet,
    /// JSON Lines: one object per row.
    Jsonl,
    /// An Excel workbook: one sheet `prices`, a bold frozen header with
    /// filters, UTC times as Excel date-times, prices as numbers.
    Xlsx,
}

/// Data rows an Excel sheet holds (1,048,576 rows less the header).
pub const XLSX_MAX_ROWS: usize = 1_048_575;

impl ExportFormat {
    /// The file extension.
    pub fn ext(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Parquet => "parquet",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    /// Bytes a row takes, roughly (for estimates).
    fn row_bytes(self) -> u64 {
        match self {
            ExportFormat::Csv => 110,
            ExportFormat::Parquet => 24,
            ExportFormat::Jsonl => 190,
            ExportFormat::Xlsx => 45,
        }
    }
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportSpec {
    /// The price query (every `/prices` parameter, already read and checked).
    pub prices: PriceQuery,
    /// File format.
    pub format: ExportFormat,
    /// Gzip each part.
    #[serde(default)]
    pub gzip: bool,
    /// The same key again returns the first export instead of a new one.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Set on a scheduled feed's export: the feed, and where its files go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<FeedTarget>,
}

/// Where a feed's export goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedTarget {
    /// The feed.
    pub feed_id: String,
    /// A configured destination (`None`: the download center, where links
    /// and retention apply as to any export).
    #[serde(default)]
    pub destination: Option<String>,
    /// The folder inside the destination (`<feed prefix>/<market day>`).
    #[serde(default)]
    pub folder: String,
}

/// Per-tenant limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExportLimits {
    /// Most rows one export may hold (by its estimate).
    pub max_rows: u64,
    /// Exports of one tenant queued or running at once.
    pub max_running: usize,
    /// Bytes a tenant's live exports may hold.
    pub max_bytes: u64,
    /// Days an export's files are kept.
    pub retention_days: i64,
    /// Days a market brief's files are kept.
    pub report_retention_days: i64,
}

impl Default for ExportLimits {
    fn default() -> Self {
        Self {
            max_rows: 50_000_000,
            max_running: 2,
            max_bytes: 20 * 1024 * 1024 * 1024,
            retention_days: 7,
            report_retention_days: 730,
        }
    }
}

/// What an export would hold.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Estimate {
    /// Rows, at most (intervals of the range each series has).
    pub rows: u64,
    /// Bytes, roughly.
    pub bytes: u64,
    /// Parts (calendar months).
    pub parts: u32,
}

/// Signs and checks download links.
#[derive(Clone)]
pub struct LinkSigner {
    key: Arc<[u8; 32]>,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(***)")
    }
}

impl LinkSigner {
    /// A signer with `key`.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key: Arc::new(key) }
    }

    /// The key in `path` (32 bytes), made when missing: written (mode 0600)
    /// to a file of its own and linked into place, so two processes starting
    /// at once end up with the same key. A file that is there but unreadable
    /// or not 32 bytes is an error — never silently replaced (that would
    /// void every link handed out).
    pub fn load_or_create(path: &std::path::Path) -> std::io::Result<Self> {
        let read = |path: &std::path::Path| -> std::io::Result<Self> {
            let b = std::fs::read(path)?;
            <[u8; 32]>::try_from(b.as_slice())
                .map(Self::new)
                .map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "{} holds {} bytes, not a 32-byte key",
                            path.display(),
                            b.len()
                        ),
                    )
                })
        };
        match read(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => return other,
        }
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        let tmp = path.with_extension(format!("new-{}", std::process::id()));
        {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            let mut f = o.open(&tmp)?;
            std::io::Write::write_all(&mut f, &key)?;
            f.sync_all()?;
        }
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(Self::new(key)),
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
            Err(e) => Err(e),
        }
    }

    fn mac(&self, tenant: &str, id: &str, file: &str, expires: i64) -> Hmac<Sha256> {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        m.update(format!("{tenant}\n{id}\n{file}\n{expires}").as_bytes());
        m
    }

    /// The signature (hex) of a link.
    pub fn sign(&self, tenant: &str, id: &str, file: &str, expires: i64) -> String {
        hex(&self.mac(tenant, id, file, expires).finalize().into_bytes())
    }

    /// Whether `sig` signs (tenant, export, file, expiry) and the link has not
    /// expired at `now` (constant-time comparison).
    pub fn verify(
        &self,
        tenant: &str,
        id: &str,
        file: &str,
        expires: i64,
        sig: &str,
        now: DateTime<Utc>,
    ) -> std::result::Result<(), &'static str> {
        let Some(raw) = unhex(sig) else {
            return Err("a signature that is not hex");
        };
        self.mac(tenant, id, file, expires)
            .verify_slice(&raw)
            .map_err(|_| "a signature that does not match")?;
        if now.timestamp() >= expires {
            return Err("an expired link");
        }
        Ok(())
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    // Hex digits only (`from_str_radix` would also take a sign): one
    // spelling per signature.
    if !s.len().is_multiple_of(2) || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The exports service.
pub struct Exports {
    store: Arc<dyn Store>,
    records: Arc<dyn ExportStore>,
    target: ObjectTarget,
    signer: LinkSigner,
    limits: ExportLimits,
    sources: std::sync::OnceLock<DataSources>,
    destinations: std::sync::OnceLock<Vec<Destination>>,
    feeds: std::sync::OnceLock<Arc<dyn FeedStore>>,
}

/// The dataset of a market brief (an export whose files are the brief's
/// HTML and PDF).
pub const BRIEF_DATASET: &str = "market_brief";

/// Rows read from the store per page while writing a part: a month of a
/// thousand nodes in one read (keyset pages re-plan the month's scan each
/// time: at 50,000 rows a page, 10 M rows took 16× longer).
const PAGE_ROWS: usize = 1_000_000;

/// Most parts (months) one export may have.
pub const MAX_PARTS: usize = 240;

/// Most rows one part may hold (a part is encoded in memory).
pub const MAX_PART_ROWS: usize = 5_000_000;

/// Month boundaries covering `[start, end)` on a market's clock (`None`: UTC).
pub fn month_parts_on(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    clock: Option<carbon_core::Market>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let local =
        |t: DateTime<Utc>| clock.map_or(t.date_naive(), |m| carbon_core::time::market_date(m, t));
    let at = |d: NaiveDate| {
        clock.map_or(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(), |m| {
            carbon_core::time::day_start(m, d)
        })
    };
    let mut out = Vec::new();
    let mut a = start;
    while a < end {
        let next = carbon_core::time::next_month(local(a).with_day(1).unwrap_or(local(a)));
        let b = at(next).min(end);
        if b <= a {
            break;
        }
        out.push((a, b));
        a = b;
    }
    out
}

/// UTC month boundaries covering `[start, end)`.
pub fn month_parts(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    month_parts_on(start, end, None)
}

impl Exports {
    /// Over the price store, the export records, an object store and a link key.
    pub fn new(
        store: Arc<dyn Store>,
        records: Arc<dyn ExportStore>,
        target: ObjectTarget,
        signer: LinkSigner,
        limits: ExportLimits,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            records,
            target,
            signer,
            limits,
            sources: std::sync::OnceLock::new(),
            destinations: std::sync::OnceLock::new(),
            feeds: std::sync::OnceLock::new(),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> ExportLimits {
        self.limits
    }

    /// Rows, bytes and parts the query would give: per series, the intervals
    /// its stored range has inside the query's (an upper bound: gaps and
    /// blocks make it smaller).
    pub async fn estimate(&self, spec: &ExportSpec) -> Result<Estimate> {
        let q = &spec.prices;
        q.validate()?;
        // Only the query's markets' series (not every series of the store).
        let mut markets: Vec<carbon_core::Market> =
            q.instruments.iter().map(|i| i.market()).collect();
        markets.sort();
        markets.dedup();
        let mut stats = Vec::new();
        for m in markets {
            stats.extend(
                self.store
                    .series_stats(carbon_store::StatsFilter {
                        market: Some(m),
                        ..Default::default()
                    })
                    .await?,
            );
        }
        let mut rows = 0u64;
        for s in stats.iter().filter(|s| {
            q.instruments.contains(&s.instrument_id)
                && (q.market_runs.is_empty() || q.market_runs.contains(&s.market_run))
        }) {
            let (a, b) = (
                q.start.max(s.first_interval_start),
                q.end.min(s.last_interval_end),
            );
            if b <= a {
                continue;
            }
            let step = match &q.resample {
                Some(r) => r.freq.fixed_minutes().unwrap_or(match r.freq {
                    carbon_core::Frequency::Day => 24 * 60,
                    _ => 28 * 24 * 60,
                }),
                None => i64::from(s.market_run.interval_minutes().max(1)),
            }
            .max(1)
                * 60;
            rows += ((b - a).num_seconds() / step) as u64;
        }
        let parts = month_parts(q.start, q.end).len() as u32;
        let mut bytes = rows * spec.format.row_bytes();
        if spec.gzip && spec.format != ExportFormat::Parquet {
            bytes /= 5;
        }
        Ok(Estimate { rows, bytes, parts })
    }

    /// Records an export for `tenant` after checking its limits (the job
    /// that writes it is the caller's to queue). With an idempotency key
    /// already used, the first export and `false`.
    pub async fn create(
        &self,
        tenant: &str,
        owner: &str,
        spec: &ExportSpec,
    ) -> Result<(Export, bool)> {
        spec.prices.validate()?;
        if spec.gzip && spec.format == ExportFormat::Xlsx {
            return Err(Error::param(
                "gzip",
                "an XLSX workbook is compressed already",
            ));
        }
        // A key used before answers with its export whatever the limits
        // now; otherwise they count.
        if let Some(first) = self
            .admit(tenant, spec.idempotency_key.as_deref(), "prices")
            .await?
        {
            return Ok((first, false));
        }
        let parts = month_parts(spec.prices.start, spec.prices.end).len();
        if parts > MAX_PARTS {
            return Err(Error::param(
                "end",
                format!(
                    "the range spans {parts} months; an export holds at most {MAX_PARTS} (one part each)"
                ),
            ));
        }
        let est = self.estimate(spec).await?;
        if est.rows > self.limits.max_rows {
            return Err(Error::unprocessable(
                "too_large",
                None,
                format!(
                    "about {} rows; an export holds at most {} (narrow the range or the instruments)",
                    est.rows, self.limits.max_rows
                ),
            ));
        }
        let held = self.records.export_bytes(tenant).await?;
        if held + est.bytes > self.limits.max_bytes {
            return Err(Error::unprocessable(
                "storage_full",
                None,
                format!(
                    "the tenant's exports hold {held} bytes; this one (about {}) would pass the limit of {}",
                    est.bytes, self.limits.max_bytes
                ),
            ));
        }
        let now = Utc::now();
        let e = Export {
            id: crate::random_id("ex"),
            tenant: tenant.into(),
            owner: owner.into(),
            job_id: None,
            dataset: "prices".into(),
            format: spec.format.ext().into(),
            gzip: spec.gzip,
            spec: serde_json::to_value(spec).map_err(|e| Error::Internal(e.to_string()))?,
            status: "queued".into(),
            idempotency_key: spec.idempotency_key.clone(),
            created: now,
            finished: None,
            expires: now + Duration::days(self.limits.retention_days),
            rows: 0,
            // Reserved while it is queued or running (so the storage limit
            // counts it); the bytes written replace it when it ends.
            bytes: est.bytes,
            manifest: None,
            error: None,
        };
        let stored = self.records.create_export(e.clone()).await?;
        let fresh = stored.id == e.id;
        Ok((stored, fresh))
    }

    /// A tenant's export.
    pub async fn get(&self, tenant: &str, id: &str) -> Result<Export> {
        self.records
            .export(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("no export `{id}`")))
    }

    /// A tenant's exports, newest first.
    pub async fn list(&self, tenant: &str, limit: usize) -> Result<Vec<Export>> {
        Ok(self.records.exports(tenant, limit).await?)
    }

    /// Notes the job that writes export `id`.
    pub async fn attach_job(&self, tenant: &str, id: &str, job_id: &str) -> Result<()> {
        self.records.set_export_job(tenant, id, job_id).await?;
        Ok(())
    }

    /// Marks export `id` failed before it ran (its job could not be queued).
    pub async fn fail(&self, tenant: &str, id: &str, why: &str) -> Result<()> {
        let mut e = self.get(tenant, id).await?;
        e.status = "failed".into();
        e.error = Some(why.into());
        e.finished = Some(Utc::now());
        e.bytes = 0;
        self.records.update_export(&e).await?;
        Ok(())
    }

    /// Lets briefs and the non-price datasets read the stores they need.
    pub fn set_sources(&self, src: DataSources) {
        let _ = self.sources.set(src);
    }

    /// The idempotency key's first export, if it was used; else `None` once
    /// the tenant's running limit lets one more start.
    async fn admit(
        &self,
        tenant: &str,
        key: Option<&str>,
        dataset: &str,
    ) -> Result<Option<Export>> {
        if let Some(k) = key
            && (k.is_empty() || k.len() > 128)
        {
            return Err(Error::param("idempotency_key", "1–128 characters"));
        }
        let mine = self.records.exports(tenant, 10_000).await?;
        if let Some(k) = key
            && let Some(first) = mine
                .iter()
                .find(|e| e.idempotency_key.as_deref() == Some(k))
        {
            if first.dataset != dataset {
                return Err(Error::unprocessable(
                    "idempotency_key_reused",
                    Some("idempotency_key"),
                    format!("the key was used for a {} export", first.dataset),
                ));
            }
            return Ok(Some(first.clone()));
        }
        let running = mine
            .iter()
            .filter(|e| e.status == "queued" || e.status == "running")
            .count();
        if running >= self.limits.max_running {
            return Err(Error::unprocessable(
                "too_many_exports",
                None,
                format!(
                    "{running} exports and reports are queued or running; at most {} at once",
                    self.limits.max_running
                ),
            ));
        }
        Ok(None)
    }

    /// Records an export of a fundamentals series, a curve run or a
    /// research run (the job that writes it is the caller's to queue). With
    /// an idempotency key already used, the first one and `false`.
    pub async fn create_data(
        &self,
        tenant: &str,
        owner: &str,
        spec: &DataExport,
    ) -> Result<(Export, bool)> {
        if spec.gzip && spec.format == ExportFormat::Xlsx {
            return Err(Error::param(
                "gzip",
                "an XLSX workbook is compressed already",
            ));
        }
        if let DataSpec::Fundamentals {
            start: Some(a),
            end: Some(b),
            ..
        } = &spec.data
            && b <= a
        {
            return Err(Error::param("end", "must be after start"));
        }
        if let Some(first) = self
            .admit(tenant, spec.idempotency_key.as_deref(), spec.data.name())
            .await?
        {
            return Ok((first, false));
        }
        // A table is at most a few million rows: reserve 64 MiB while it runs.
        let reserve = 64 * 1024 * 1024;
        let held = self.records.export_bytes(tenant).await?;
        if held + reserve > self.limits.max_bytes {
            return Err(Error::unprocessable(
                "storage_full",
                None,
                format!(
                    "the tenant's exports hold {held} bytes of the limit of {}",
                    self.limits.max_bytes
                ),
            ));
        }
        let now = Utc::now();
        let e = Export {
            id: crate::random_id("ex"),
            tenant: tenant.into(),
            owner: owner.into(),
            job_id: None,
            dataset: spec.data.name().into(),
            format: spec.format.ext().into(),
            gzip: spec.gzip,
            spec: serde_json::to_value(spec).map_err(|e| Error::Internal(e.to_string()))?,
            status: "queued".into(),
            idempotency_key: spec.idempotency_key.clone(),
            created: now,
            finished: None,
            expires: now + Duration::days(self.limits.retention_days),
            rows: 0,
            bytes: reserve,
            manifest: None,
            error: None,
        };
        let stored = self.records.create_export(e.clone()).await?;
        let fresh = stored.id == e.id;
        Ok((stored, fresh))
    }

    /// Records a market brief for `tenant` (the job that writes it is the
    /// caller's to queue), after checking the month and the running limit.
    /// With an idempotency key already used, the first one and `false`.
    pub async fn create_report(
        &self,
        tenant: &str,
        owner: &str,
        spec: &BriefSpec,
        idempotency_key: Option<String>,
    ) -> Result<(Export, bool)> {
        let first = spec.first_day()?;
        let now = Utc::now();
        if carbon_core::time::day_start(spec.market, first) >= now {
            return Err(Error::param(
                "month",
                format!(
                    "{} has not begun on the {} clock",
                    spec.month,
                    spec.market.code()
                ),
            ));
        }
        if let Some(first) = self
            .admit(tenant, idempotency_key.as_deref(), BRIEF_DATASET)
            .await?
        {
            return Ok((first, false));
        }
        let reserve = 512 * 1024;
        let held = self.records.export_bytes(tenant).await?;
        if held + reserve > self.limits.max_bytes {
            return Err(Error::unprocessable(
                "storage_full",
                None,
                format!(
                    "the tenant's exports hold {held} bytes of the limit of {}",
                    self.limits.max_bytes
                ),
            ));
        }
        let e = Export {
            id: crate::random_id("rp"),
            tenant: tenant.into(),
            owner: owner.into(),
            job_id: None,
            dataset: BRIEF_DATASET.into(),
            format: "html+pdf".into(),
            gzip: false,
            spec: serde_json::to_value(spec).map_err(|e| Error::Internal(e.to_string()))?,
            status: "queued".into(),
            idempotency_key,
            created: now,
            finished: None,
            expires: now + Duration::days(self.limits.report_retention_days),
            rows: 0,
            // A brief is a few hundred kilobytes: reserved while it runs.
            bytes: reserve,
            manifest: None,
            error: None,
        };
        let stored = self.records.create_export(e.clone()).await?;
        let fresh = stored.id == e.id;
        Ok((stored, fresh))
    }

    /// Checks a link's signature and expiry (before anything is looked up).
    pub fn verify_link(
        &self,
        tenant: &str,
        id: &str,
        file: &str,
        expires: i64,
        sig: &str,
        now: DateTime<Utc>,
    ) -> std::result::Result<(), &'static str> {
        self.signer.verify(tenant, id, file, expires, sig, now)
    }

    /// Where the export's files are (relative to the target's prefix).
    fn prefix(e: &Export) -> String {
        format!("exports/{}/{}", e.tenant, e.id)
    }

    /// The store and folder of export `e`'s files: a feed's destination and
    /// folder when it names one (checked again: the destination must still
    /// take the tenant), else the download center's own folder.
    fn location(&self, e: &Export) -> Result<(&ObjectTarget, String)> {
        let feed: Option<FeedTarget> = serde_json::from_value(e.spec["feed"].clone()).ok();
        match feed {
            Some(FeedTarget {
                destination: Some(name),
                folder,
                ..
            }) => {
                let d = self.destination(&e.tenant, &name)?;
                Ok((&d.target, folder))
            }
            _ => Ok((&self.target, Self::prefix(e))),
        }
    }

    /// The names of the destinations that take `tenant`'s files.
    pub fn destinations_of(&self, tenant: &str) -> Vec<String> {
        self.destinations
            .get()
            .into_iter()
            .flatten()
            .filter(|d| d.tenants.iter().any(|t| t == tenant))
            .map(|d| d.name.clone())
            .collect()
    }

    /// Destination `name`, when it takes `tenant`'s files.
    pub fn destination(&self, tenant: &str, name: &str) -> Result<&Destination> {
        self.destinations
            .get()
            .into_iter()
            .flatten()
            .find(|d| d.name == name && d.tenants.iter().any(|t| t == tenant))
            .ok_or_else(|| {
                Error::param(
                    "destination",
                    format!("no destination `{name}` is configured for this tenant"),
                )
            })
    }

    /// The destinations feeds may write to (configured by the operator).
    pub fn set_destinations(&self, list: Vec<Destination>) {
        let _ = self.destinations.set(list);
    }

    /// Lets feed exports report their outcome to their feed.
    pub fn set_feeds(&self, feeds: Arc<dyn FeedStore>) {
        let _ = self.feeds.set(feeds);
    }

    /// A feed's export ended: its feed records the success or the failure.
    async fn tell_feed(&self, e: &Export) {
        let (Some(store), Ok(t)) = (
            self.feeds.get(),
            serde_json::from_value::<FeedTarget>(e.spec["feed"].clone()),
        ) else {
            return;
        };
        // A cancel is the tenant's own doing, not a failure of the feed.
        let error = match e.status.as_str() {
            "succeeded" => None,
            "cancelled" => return,
            _ => Some(format!(
                "{}: {}",
                e.id,
                e.error.clone().unwrap_or_else(|| e.status.clone())
            )),
        };
        let at = e.finished.unwrap_or_else(Utc::now);
        if let Err(x) = store.record_outcome(&e.tenant, &t.feed_id, at, error).await {
            tracing::warn!(feed = %t.feed_id, error = %x, "feed state not recorded");
        }
    }

    /// The price store (the market's hubs of a brief).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Refuses an idempotency key a caller may not use: `feed:…` keys are
    /// the scheduler's.
    pub fn check_user_key(key: Option<&str>) -> Result<()> {
        match key {
            Some(k) if k.starts_with("feed:") => Err(Error::param(
                "idempotency_key",
                "keys starting `feed:` are the feeds' own",
            )),
            Some(k) if k.is_empty() || k.len() > 128 => {
                Err(Error::param("idempotency_key", "1–128 characters"))
            }
            _ => Ok(()),
        }
    }

    /// The object store and prefix exports are written to.
    pub fn target(&self) -> &ObjectTarget {
        &self.target
    }

    /// Writes export `id` of `tenant`: every part, then the manifest. On an
    /// error or a cancel the parts written are deleted and the export is
    /// marked failed (or cancelled); nothing is published.
    pub async fn run(&self, tenant: &str, id: &str, progress: Progress) -> Result<Export> {
        let mut e = self.get(tenant, id).await?;
        match e.status.as_str() {
            "succeeded" => return Ok(e),
            "queued" | "running" => {}
            other => {
                return Err(Error::unprocessable(
                    "not_runnable",
                    None,
                    format!("export `{id}` is {other}"),
                ));
            }
        }
        e.status = "running".into();
        self.records.update_export(&e).await?;
        let mut written: Vec<ObjectPath> = Vec::new();
        let outcome = self.write(&mut e, &progress, &mut written).await;
        match outcome {
            Ok(()) => {
                e.status = "succeeded".into();
                e.finished = Some(Utc::now());
                self.records.update_export(&e).await?;
                self.tell_feed(&e).await;
                Ok(e)
            }
            Err(err) => {
                if let Ok((target, _)) = self.location(&e) {
                    for p in &written {
                        let _ = target.store.delete(p).await;
                    }
                }
                e.status = if progress.cancelled() {
                    "cancelled"
                } else {
                    "failed"
                }
                .into();
                e.error = Some(err.to_string());
                e.finished = Some(Utc::now());
                e.rows = 0;
                e.bytes = 0;
                e.manifest = None;
                self.records.update_export(&e).await?;
                self.tell_feed(&e).await;
                Err(err)
            }
        }
    }

    async fn write(
        &self,
        e: &mut Export,
        progress: &Progress,
        written: &mut Vec<ObjectPath>,
    ) -> Result<()> {
        match e.dataset.as_str() {
            BRIEF_DATASET => self.write_brief(e, progress, written).await,
            "prices" => self.write_prices(e, progress, written).await,
            _ => self.write_data(e, progress, written).await,
        }
    }

    /// A fundamentals series, curve run or research run: one part, then the
    /// manifest.
    async fn write_data(
        &self,
        e: &mut Export,
        progress: &Progress,
        written: &mut Vec<ObjectPath>,
    ) -> Result<()> {
        let spec: DataExport = serde_json::from_value(e.spec.clone())
            .map_err(|x| Error::Internal(format!("stored export spec: {x}")))?;
        let src = self.sources()?;
        go_on(progress, 0, 2, &format!("reading the {}", spec.data.name()))?;
        let table = crate::datasets::table(src, &spec.data).await?;
        let n = table.rows.len() as u64;
        let (format, gzip) = (spec.format, spec.gzip);
        let body = tokio::task::spawn_blocking(move || encode_table(&table, format, gzip))
            .await
            .map_err(|x| Error::Internal(format!("export task: {x}")))??;
        let name = format!(
            "{}.{}{}",
            spec.data.stem(),
            format.ext(),
            if gzip { ".gz" } else { "" }
        );
        progress.step(1, 2, "writing");
        let (sha, size) = self.put_file(e, &name, body, written).await?;
        let extra = json!({ "format": spec.format, "gzip": spec.gzip, "query": spec.data });
        let part = json!({"name": name, "rows": n, "bytes": size, "sha256": sha});
        self.write_manifest(e, extra, vec![part], n, size, written)
            .await
    }

    /// Stores `body` as `name` of export `e`: (its sha256, its size).
    async fn put_file(
        &self,
        e: &Export,
        name: &str,
        body: Vec<u8>,
        written: &mut Vec<ObjectPath>,
    ) -> Result<(String, u64)> {
        let (target, folder) = self.location(e)?;
        let path = target.key(&format!("{folder}/{name}"));
        let sha = hex(&Sha256::digest(&body));
        let size = body.len() as u64;
        target
            .store
            .put_opts(
                &path,
                PutPayload::from(Bytes::from(body)),
                target.put_options(name),
            )
            .await
            .map_err(|x| {
                tracing::warn!(export = %e.id, file = name, error = %x, "object store refused a write");
                Error::unprocessable(
                    "store_refused",
                    None,
                    format!("writing {name}: the object store refused the write"),
                )
            })?;
        written.push(path);
        Ok((sha, size))
    }

    /// Writes the manifest (the fields every export's has, then `extra`'s)
    /// after every part, and notes the totals on `e`.
    async fn write_manifest(
        &self,
        e: &mut Export,
        extra: serde_json::Value,
        parts: Vec<serde_json::Value>,
        rows: u64,
        bytes: u64,
        written: &mut Vec<ObjectPath>,
    ) -> Result<()> {
        let mut manifest = json!({
            "export_id": e.id,
            "tenant": e.tenant,
            "dataset": e.dataset,
            "created": crate::rfc3339(e.created),
            "parts": parts,
            "rows": rows,
            "bytes": bytes,
        });
        if let (Some(m), serde_json::Value::Object(x)) = (manifest.as_object_mut(), extra) {
            m.extend(x);
        }
        let text =
            serde_json::to_vec_pretty(&manifest).map_err(|x| Error::Internal(x.to_string()))?;
        let (_, size) = self.put_file(e, "manifest.json", text, written).await?;
        e.rows = rows;
        e.bytes = bytes + size;
        e.manifest = Some(manifest);
        Ok(())
    }

    /// The stores briefs and the non-price datasets read.
    fn sources(&self) -> Result<&DataSources> {
        self.sources
            .get()
            .ok_or_else(|| Error::Internal("the download center's stores are not set up".into()))
    }

    /// A market brief: gathered, rendered to HTML and PDF, both files and
    /// then the manifest stored.
    async fn write_brief(
        &self,
        e: &mut Export,
        progress: &Progress,
        written: &mut Vec<ObjectPath>,
    ) -> Result<()> {
        let spec: BriefSpec = serde_json::from_value(e.spec.clone())
            .map_err(|x| Error::Internal(format!("stored brief spec: {x}")))?;
        let src = self.sources()?;
        go_on(progress, 0, 3, "gathering the month")?;
        let brief = crate::reports::gather(src, &spec, Utc::now()).await?;
        go_on(progress, 1, 3, "rendering HTML and PDF")?;
        let (html, pdf) = tokio::task::spawn_blocking(move || {
            (carbon_report::html(&brief), carbon_report::pdf(&brief))
        })
        .await
        .map_err(|x| Error::Internal(format!("brief task: {x}")))?;
        let stem = format!("brief-{}-{}", spec.market.code(), spec.month);
        let mut parts = Vec::new();
        let mut total = 0;
        for (name, body, media) in [
            (format!("{stem}.html"), html.into_bytes(), "text/html"),
            (format!("{stem}.pdf"), pdf, "application/pdf"),
        ] {
            let (sha, size) = self.put_file(e, &name, body, written).await?;
            total += size;
            parts.push(
                json!({"name": name, "media_type": media, "bytes": size, "sha256": sha, "rows": 0}),
            );
        }
        progress.step(2, 3, "writing the manifest");
        let extra = json!({ "market": spec.market.code(), "month": spec.month });
        self.write_manifest(e, extra, parts, 0, total, written)
            .await
    }

    async fn write_prices(
        &self,
        e: &mut Export,
        progress: &Progress,
        written: &mut Vec<ObjectPath>,
    ) -> Result<()> {
        let spec: ExportSpec = serde_json::from_value(e.spec.clone())
            .map_err(|x| Error::Internal(format!("stored export spec: {x}")))?;
        // Day and month buckets run between the market's midnights: its
        // months then bound the parts, so no bucket is split in two.
        let clock = match &spec.prices.resample {
            Some(r)
                if matches!(
                    r.freq,
                    carbon_core::Frequency::Day | carbon_core::Frequency::Month
                ) =>
            {
                spec.prices.instruments.first().map(|i| i.market())
            }
            _ => None,
        };
        let parts = month_parts_on(spec.prices.start, spec.prices.end, clock);
        let mut manifest_parts = Vec::new();
        let (mut rows_total, mut bytes_total) = (0u64, 0u64);
        for (i, (a, b)) in parts.iter().enumerate() {
            go_on(
                progress,
                i,
                parts.len() + 1,
                &format!("writing {}", a.format("%Y-%m")),
            )?;
            let mut q = spec.prices.clone();
            q.start = *a;
            q.end = *b;
            q.limit = Some(PAGE_ROWS);
            q.cursor = None;
            let mut rows = Vec::new();
            loop {
                let page = self.store.query_prices(q.clone()).await?;
                rows.extend(page.rows);
                if rows.len() > MAX_PART_ROWS {
                    return Err(Error::unprocessable(
                        "too_large",
                        None,
                        format!(
                            "{} holds more than {MAX_PART_ROWS} rows; a part is written whole: \
                             narrow the instruments or split the export",
                            a.format("%Y-%m")
                        ),
                    ));
                }
                match page.next_cursor {
                    Some(c) => q.cursor = Some(c),
                    None => break,
                }
            }
            if rows.is_empty() {
                continue;
            }
            let n = rows.len() as u64;
            let format = spec.format;
            let gzip = spec.gzip;
            let body = tokio::task::spawn_blocking(move || encode(&rows, format, gzip))
                .await
                .map_err(|x| Error::Internal(format!("export task: {x}")))??;
            let name = format!(
                "prices-{}.{}{}",
                a.format("%Y-%m"),
                format.ext(),
                if gzip { ".gz" } else { "" }
            );
            let (sha, size) = self.put_file(e, &name, body, written).await?;
            rows_total += n;
            bytes_total += size;
            manifest_parts.push(json!({
                "name": name, "month": a.format("%Y-%m").to_string(),
                "start": crate::rfc3339(*a), "end": crate::rfc3339(*b),
                "rows": n, "bytes": size, "sha256": sha,
            }));
        }
        let extra = json!({ "format": spec.format, "gzip": spec.gzip, "query": spec.prices });
        self.write_manifest(e, extra, manifest_parts, rows_total, bytes_total, written)
            .await
    }

    /// Stops export `id` where it is: every file written so far is deleted
    /// and it is marked cancelled (a finished export is left as it is).
    pub async fn abandon(&self, tenant: &str, id: &str) -> Result<()> {
        let mut e = self.get(tenant, id).await?;
        if e.status == "succeeded" {
            return Ok(());
        }
        // In a tenant's destination only the run's own writes are its (a
        // running export's are deleted by the run itself): never a folder.
        if e.spec["feed"]["destination"].is_null() {
            self.delete_files(&e).await?;
        }
        e.status = "cancelled".into();
        e.finished = Some(Utc::now());
        e.manifest = None;
        e.rows = 0;
        e.bytes = 0;
        self.records.update_export(&e).await?;
        Ok(())
    }

    async fn delete_files(&self, e: &Export) -> Result<()> {
        let (target, folder) = self.location(e)?;
        let prefix = target.key(&folder);
        let list: Vec<_> =
            futures_util::StreamExt::collect::<Vec<_>>(target.store.list(Some(&prefix))).await;
        for meta in list.into_iter().flatten() {
            target
                .store
                .delete(&meta.location)
                .await
                .map_err(|x| Error::Internal(format!("deleting {}: {x}", meta.location)))?;
        }
        Ok(())
    }

    /// A signed link to `file` of export `e`, good for `ttl`: the store's
    /// own presigned GET on S3, else a link `carbon` serves
    /// (`/api/v1/downloads/…`, HMAC-signed).
    pub async fn link(
        &self,
        e: &Export,
        file: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<String> {
        self.check_file(e, file)?;
        let std_ttl = ttl
            .to_std()
            .map_err(|_| Error::param("ttl_seconds", "must be positive"))?;
        let (target, folder) = self.location(e)?;
        if let Some(url) = target.presign(&format!("{folder}/{file}"), std_ttl).await? {
            return Ok(url);
        }
        let expires = (now + ttl).timestamp();
        let sig = self.signer.sign(&e.tenant, &e.id, file, expires);
        Ok(format!(
            "/api/v1/downloads/{}/{}/{file}?expires={expires}&sig={sig}",
            e.tenant, e.id
        ))
    }

    fn check_file(&self, e: &Export, file: &str) -> Result<()> {
        let known = file == "manifest.json"
            || e.manifest.as_ref().is_some_and(|m| {
                m["parts"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == file))
            });
        if e.status != "succeeded" || !known {
            return Err(Error::not_found(format!(
                "no file `{file}` in export `{}`",
                e.id
            )));
        }
        Ok(())
    }

    /// The bytes behind a signed link, once the signature, the expiry and
    /// the file are checked (the link names the tenant; the signature proves
    /// it).
    pub async fn download(
        &self,
        e: &Export,
        file: &str,
        expires: i64,
        sig: &str,
        now: DateTime<Utc>,
    ) -> std::result::Result<Bytes, DownloadError> {
        let (stream, _) = self.download_stream(e, file, expires, sig, now).await?;
        let chunks: Vec<Bytes> = futures_util::TryStreamExt::try_collect(stream)
            .await
            .map_err(|_| DownloadError::Missing)?;
        Ok(chunks.concat().into())
    }

    /// [`Exports::download`] as a stream of chunks and the file's size: a
    /// large part is sent as it is read, never held whole in memory.
    pub async fn download_stream(
        &self,
        e: &Export,
        file: &str,
        expires: i64,
        sig: &str,
        now: DateTime<Utc>,
    ) -> std::result::Result<
        (
            futures_util::stream::BoxStream<'static, object_store::Result<Bytes>>,
            u64,
        ),
        DownloadError,
    > {
        self.signer
            .verify(&e.tenant, &e.id, file, expires, sig, now)
            .map_err(DownloadError::Refused)?;
        self.check_file(e, file)
            .map_err(|_| DownloadError::Missing)?;
        let (target, folder) = self.location(e).map_err(|_| DownloadError::Missing)?;
        let path = target.key(&format!("{folder}/{file}"));
        let got = target
            .store
            .get(&path)
            .await
            .map_err(|_| DownloadError::Missing)?;
        let size = got.meta.size;
        Ok((got.into_stream(), size))
    }

    /// The bytes of `file` of finished export `e` (for the owner's own
    /// tools: the CLI copies a brief out with it).
    pub async fn file_bytes(&self, e: &Export, file: &str) -> Result<Bytes> {
        self.check_file(e, file)?;
        let (target, folder) = self.location(e)?;
        let path = target.key(&format!("{folder}/{file}"));
        let got = target.store.get(&path).await.map_err(|x| {
            tracing::warn!(export = %e.id, error = %x, "object store read failed");
            Error::not_found(format!("no file `{file}` in export `{}`", e.id))
        })?;
        got.bytes()
            .await
            .map_err(|x| Error::Internal(format!("reading {file}: {x}")))
    }

    /// Deletes the files of exports whose retention ended before `now` and
    /// marks them expired (a feed's files in a tenant's own destination are
    /// left there); how many.
    pub async fn cleanup(&self, now: DateTime<Utc>) -> Result<usize> {
        let expired = self.records.expired_exports(now).await?;
        for mut e in expired.iter().cloned() {
            // Files a feed delivered into a tenant's own destination are the
            // tenant's: only the record expires.
            if e.spec["feed"]["destination"].is_null() {
                self.delete_files(&e).await?;
            }
            e.status = "expired".into();
            e.manifest = None;
            self.records.update_export(&e).await?;
        }
        Ok(expired.len())
    }
}

/// Reports a step; an error once the job was cancelled.
fn go_on(progress: &Progress, step: usize, of: usize, what: &str) -> Result<()> {
    if progress.step(step, of, what) {
        Ok(())
    } else {
        Err(Error::Internal("stopped: the export was cancelled".into()))
    }
}

/// Why a download is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadError {
    /// Tampered, expired or signed for something else (403).
    Refused(&'static str),
    /// The export or file is gone (404).
    Missing,
}

/// A workbook of price rows.
fn xlsx(rows: &[carbon_store::PriceRow]) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    if rows.len() > XLSX_MAX_ROWS {
        return Err(Error::unprocessable(
            "too_large",
            Some("format"),
            format!(
                "an XLSX part holds at most {XLSX_MAX_ROWS} rows and this month has {}; \
                 export CSV or Parquet, or narrow the query",
                rows.len()
            ),
        ));
    }
    let fail = |e: rust_xlsxwriter::XlsxError| Error::Internal(format!("xlsx: {e}"));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("prices").map_err(fail)?;
    let bold = Format::new().set_bold();
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    for (c, name) in carbon_store::export::PRICES_CSV_COLUMNS
        .split(',')
        .enumerate()
    {
        sheet
            .write_string_with_format(0, c as u16, name, &bold)
            .map_err(fail)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        sheet
            .write_string(row, 0, r.instrument_id.as_str())
            .map_err(fail)?;
        sheet
            .write_string(row, 1, r.market_run.as_str())
            .map_err(fail)?;
        for (c, t) in [(2u16, r.interval_start), (3, r.interval_end)] {
            let dt = ExcelDateTime::from_timestamp(t.timestamp()).map_err(fail)?;
            sheet
                .write_datetime_with_format(row, c, &dt, &when)
                .map_err(fail)?;
        }
        let v = &r.values;
        for (c, x) in [v.lmp, v.energy, v.congestion, v.loss, v.ghg]
            .into_iter()
            .enumerate()
        {
            if let Some(x) = x {
                sheet.write_number(row, 4 + c as u16, x).map_err(fail)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(fail)?;
    sheet.autofilter(0, 0, rows.len() as u32, 8).map_err(fail)?;
    sheet.set_column_width(0, 26).map_err(fail)?;
    sheet.set_column_range_width(2, 3, 17).map_err(fail)?;
    book.save_to_buffer().map_err(fail)
}

/// Encodes a table as one part.
fn encode_table(
    t: &carbon_store::export::Table,
    format: ExportFormat,
    gzip: bool,
) -> Result<Vec<u8>> {
    let raw = match format {
        ExportFormat::Csv => t.csv().into_bytes(),
        ExportFormat::Jsonl => t.jsonl().into_bytes(),
        ExportFormat::Parquet => t.parquet()?,
        ExportFormat::Xlsx => table_xlsx(t)?,
    };
    gzipped(raw, gzip)
}

/// A workbook of a table: one sheet, bold frozen header with filters,
/// instants as Excel date-times (UTC), numbers as numbers.
fn table_xlsx(t: &carbon_store::export::Table) -> Result<Vec<u8>> {
    use carbon_store::export::Cell;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    if t.rows.len() > XLSX_MAX_ROWS {
        return Err(Error::unprocessable(
            "too_large",
            Some("format"),
            format!(
                "an XLSX sheet holds at most {XLSX_MAX_ROWS} rows and this has {}; export CSV or Parquet",
                t.rows.len()
            ),
        ));
    }
    let fail = |e: rust_xlsxwriter::XlsxError| Error::Internal(format!("xlsx: {e}"));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = Format::new().set_bold();
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    for (c, (name, _)) in t.columns.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *name, &bold)
            .map_err(fail)?;
    }
    for (i, r) in t.rows.iter().enumerate() {
        let row = i as u32 + 1;
        for (c, cell) in r.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => {
                    sheet.write_string(row, c, s).map_err(fail)?;
                }
                Cell::Time(x) => {
                    let dt = ExcelDateTime::from_timestamp(x.timestamp()).map_err(fail)?;
                    sheet
                        .write_datetime_with_format(row, c, &dt, &when)
                        .map_err(fail)?;
                }
                Cell::Num(Some(x)) if x.is_finite() => {
                    sheet.write_number(row, c, *x).map_err(fail)?;
                }
                Cell::Num(_) => {}
            }
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(fail)?;
    if !t.columns.is_empty() {
        sheet
            .autofilter(0, 0, t.rows.len() as u32, t.columns.len() as u16 - 1)
            .map_err(fail)?;
    }
    book.save_to_buffer().map_err(fail)
}

fn gzipped(raw: Vec<u8>, gzip: bool) -> Result<Vec<u8>> {
    if !gzip {
        return Ok(raw);
    }
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &raw).map_err(|e| Error::Internal(e.to_string()))?;
    z.finish().map_err(|e| Error::Internal(e.to_string()))
}

/// Encodes rows as one part.
fn encode(rows: &[carbon_store::PriceRow], format: ExportFormat, gzip: bool) -> Result<Vec<u8>> {
    let raw = match format {
        ExportFormat::Csv => {
            let mut s = String::with_capacity(100 * (rows.len() + 1));
            s.push_str(carbon_store::export::PRICES_CSV_COLUMNS);
            s.push('\n');
            carbon_store::export::push_prices_csv(&mut s, rows);
            s.into_bytes()
        }
        ExportFormat::Jsonl => {
            let mut s = String::with_capacity(180 * rows.len());
            carbon_store::export::push_prices_jsonl(&mut s, rows);
            s.into_bytes()
        }
        ExportFormat::Parquet => carbon_store::export::prices_parquet(rows)?,
        ExportFormat::Xlsx => xlsx(rows)?,
    };
    gzipped(raw, gzip)
}
