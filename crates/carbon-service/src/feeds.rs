//! Scheduled feeds: "every market day at 07:00 market time, yesterday's DA
//! LMPs of my nodes as Parquet into my bucket/prefix". A feed is a tenant's
//! standing price export; the scheduler fires it when due, as an export job
//! with an idempotency key per (feed, market day) — a restart or a second
//! process never delivers one day twice. Each run is an export (the feed's
//! history); its outcome updates the feed (last success, failures in a row),
//! which `/metrics` shows.
//!
//! Destinations are configured by the operator with their credentials
//! (`[[exports.destinations]]`) and name the tenants that may use them; a
//! feed names a destination, never a credential. Without one, the files go
//! to the download center (linkable, kept for the retention period).
//!
//! Missed slots are not replayed: a server down for three days fires once,
//! for the latest slot (a backfill is an ordinary export).

use std::sync::Arc;

use carbon_core::{Component, InstrumentId, Market, MarketRun};
use carbon_store::{Export, Feed, FeedStore, PriceQuery};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::{
    Error, Result,
    exports::{ExportFormat, ExportSpec, Exports, FeedTarget},
    jobs::Jobs,
};

/// Which days a feed fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedDays {
    /// Every calendar day on the market clock (day-ahead markets run daily).
    #[default]
    Every,
    /// Monday to Friday.
    Weekdays,
}

/// What a feed delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    /// Prices of its instruments over the days before each firing day.
    #[default]
    Prices,
    /// The monthly market brief of `market` for the month before the
    /// firing day, fired on `day_of_month` (into the download center).
    Brief,
}

/// What a feed delivers, when and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedSpec {
    /// Prices (default) or the monthly brief.
    #[serde(default)]
    pub kind: FeedKind,
    /// A brief's market.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub market: Option<Market>,
    /// A brief's firing day of the month (1–28, default 2: the day after
    /// the month's last prices are in).
    #[serde(default = "two")]
    pub day_of_month: u32,
    /// Instruments (one market; prices).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub instruments: Vec<InstrumentId>,
    /// Market runs (default `da`).
    #[serde(default = "da")]
    #[schema(value_type = Vec<String>)]
    pub market_runs: Vec<MarketRun>,
    /// Components (default: all).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub components: Vec<Component>,
    /// File format (default `parquet`).
    #[serde(default = "parquet")]
    pub format: ExportFormat,
    /// Gzip the file.
    #[serde(default)]
    pub gzip: bool,
    /// Time of day it fires, `HH:MM` on the market clock (default `07:00`).
    #[serde(default = "seven")]
    pub at: String,
    /// Which days it fires (default every day).
    #[serde(default)]
    pub days: FeedDays,
    /// Market days before the firing day it covers (default 1: yesterday).
    #[serde(default = "one")]
    pub days_back: u32,
    /// A configured destination (default: the download center).
    #[serde(default)]
    pub destination: Option<String>,
    /// Folder inside the destination (default the feed's name); each run
    /// writes `<prefix>/<market day>/…` and a manifest.
    #[serde(default)]
    pub prefix: Option<String>,
}

fn da() -> Vec<MarketRun> {
    vec![MarketRun::Da]
}
fn parquet() -> ExportFormat {
    ExportFormat::Parquet
}
fn seven() -> String {
    "07:00".into()
}
fn one() -> u32 {
    1
}
fn two() -> u32 {
    2
}

impl FeedSpec {
    /// The market of its instruments (one), checking the rest of the spec.
    pub fn check(&self) -> Result<Market> {
        if self.kind == FeedKind::Brief {
            let Some(m) = self.market else {
                return Err(Error::param("market", "a brief feed names its market"));
            };
            if !self.instruments.is_empty() {
                return Err(Error::param(
                    "instruments",
                    "a brief covers the market's hubs: name no instruments",
                ));
            }
            if !(1..=28).contains(&self.day_of_month) {
                return Err(Error::param("day_of_month", "1 to 28"));
            }
            if self.destination.is_some() {
                return Err(Error::param(
                    "destination",
                    "briefs are kept in the download center (open them by link)",
                ));
            }
            self.time()?;
            return Ok(m);
        }
        let Some(first) = self.instruments.first() else {
            return Err(Error::param("instruments", "at least one instrument"));
        };
        if self.instruments.len() > 500 {
            return Err(Error::param("instruments", "at most 500 instruments"));
        }
        let market = first.market();
        if let Some(other) = self.instruments.iter().find(|i| i.market() != market) {
            return Err(Error::param(
                "instruments",
                format!("one market per feed: {} is not {}", other, market.code()),
            ));
        }
        if self.market_runs.is_empty() {
            return Err(Error::param("market_runs", "at least one market run"));
        }
        self.time()?;
        if !(1..=31).contains(&self.days_back) {
            return Err(Error::param("days_back", "1 to 31 days"));
        }
        if self.gzip && self.format == ExportFormat::Xlsx {
            return Err(Error::param(
                "gzip",
                "an XLSX workbook is compressed already",
            ));
        }
        if let Some(p) = &self.prefix {
            check_folder(p)?;
        }
        Ok(market)
    }

    /// The price query of a firing at `at`: the market days since the
    /// previous firing day (`days_back` of them for a daily feed).
    pub fn query(&self, at: DateTime<Utc>) -> Result<(PriceQuery, NaiveDate, NaiveDate)> {
        let market = self.check()?;
        let day = carbon_core::time::market_date(market, at);
        // From the firing day before this one (a weekday feed's Monday run
        // covers Friday to Sunday), `days_back` − 1 days earlier still.
        let mut prev = day - Duration::days(1);
        if self.days == FeedDays::Weekdays {
            while matches!(prev.weekday(), Weekday::Sat | Weekday::Sun) {
                prev -= Duration::days(1);
            }
        }
        let from = prev - Duration::days(i64::from(self.days_back) - 1);
        let mut q = PriceQuery::new(
            self.instruments.clone(),
            carbon_core::time::day_start(market, from),
            carbon_core::time::day_start(market, day),
        );
        q.market_runs = self.market_runs.clone();
        q.components = self.components.clone();
        Ok((q, from, day))
    }

    fn time(&self) -> Result<NaiveTime> {
        NaiveTime::parse_from_str(&self.at, "%H:%M")
            .map_err(|_| Error::param("at", format!("`{}`: a time of day as HH:MM", self.at)))
    }
}

/// A folder: `/`-separated segments of letters, digits, `.`, `_`, `-`
/// (no empty, `.` or `..` segment), at most 200 characters.
fn check_folder(p: &str) -> Result<()> {
    let ok = !p.is_empty()
        && p.len() <= 200
        && p.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        });
    if ok {
        Ok(())
    } else {
        Err(Error::param(
            "prefix",
            format!("`{p}`: folders of letters, digits, `.`, `_`, `-` separated by `/`"),
        ))
    }
}

/// The first firing time after `after`: `at` on the market clock on a day
/// the feed fires (a time a spring-forward skips fires at the next valid
/// instant; a repeated one at its first).
pub fn next_slot(spec: &FeedSpec, market: Market, after: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let at = spec.time()?;
    let tz = market.zone();
    let mut day = carbon_core::time::market_date(market, after);
    for _ in 0..40 {
        let fires = match (spec.kind, spec.days) {
            (FeedKind::Brief, _) => day.day() == spec.day_of_month,
            (_, FeedDays::Every) => true,
            (_, FeedDays::Weekdays) => !matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
        };
        if fires {
            let local = day.and_time(at);
            let t = match tz.from_local_datetime(&local) {
                chrono::LocalResult::Single(t) => Some(t),
                chrono::LocalResult::Ambiguous(a, _) => Some(a),
                chrono::LocalResult::None => tz
                    .from_local_datetime(&(local + Duration::hours(1)))
                    .earliest(),
            }
            .map(|t| t.with_timezone(&Utc));
            if let Some(t) = t
                && t > after
            {
                return Ok(t);
            }
        }
        day = day.succ_opt().unwrap_or(day);
    }
    Err(Error::Internal("no firing time within 40 days".into()))
}

/// Whether a tenant may still have a query's data delivered (the
/// entitlement policy, asked at every firing: a grant withdrawn after the
/// feed was made stops it). `Err` says why not.
pub type Gate = Arc<dyn Fn(&str, &PriceQuery) -> std::result::Result<(), String> + Send + Sync>;

/// What a tenant may see in a brief of a market over a period, among the
/// market's hubs (the entitlement policy, asked at every firing); `Err` when
/// it may not have the market's briefs at all.
pub type BriefView = Arc<
    dyn Fn(
            &str,
            Market,
            (DateTime<Utc>, DateTime<Utc>),
            &[String],
        ) -> std::result::Result<carbon_auth::policy::BriefView, String>
        + Send
        + Sync,
>;

/// One feed the scheduler fired.
#[derive(Debug)]
pub struct Fired {
    /// The feed.
    pub feed: String,
    /// Its tenant.
    pub tenant: String,
    /// The run's export, or why it could not fire.
    pub export: Result<String>,
}

/// The feeds service.
pub struct Feeds {
    records: Arc<dyn FeedStore>,
    exports: Arc<Exports>,
    jobs: Arc<Jobs>,
    gate: std::sync::OnceLock<Gate>,
    brief_view: std::sync::OnceLock<BriefView>,
}

impl Feeds {
    /// Over the feed records, the exports service and the job queue.
    pub fn new(records: Arc<dyn FeedStore>, exports: Arc<Exports>, jobs: Arc<Jobs>) -> Arc<Self> {
        exports.set_feeds(records.clone());
        Arc::new(Self {
            records,
            exports,
            jobs,
            gate: std::sync::OnceLock::new(),
            brief_view: std::sync::OnceLock::new(),
        })
    }

    /// Asks `view` what a brief feed's tenant may see, at every firing
    /// (without one, a brief feed sees the whole market: tests, the CLI).
    pub fn set_brief_view(&self, view: BriefView) {
        let _ = self.brief_view.set(view);
    }

    /// Asks `gate` before every firing.
    pub fn set_gate(&self, gate: Gate) {
        let _ = self.gate.set(gate);
    }

    /// Makes a feed for `tenant`; with `now_too` its first run is due at
    /// once, else at its next slot.
    pub async fn create(
        &self,
        tenant: &str,
        owner: &str,
        name: &str,
        spec: FeedSpec,
        now_too: bool,
    ) -> Result<Feed> {
        let market = spec.check()?;
        let name = name.trim();
        if name.is_empty() || name.len() > 80 || name.chars().any(char::is_control) {
            return Err(Error::param("name", "1–80 printable characters"));
        }
        if let Some(d) = &spec.destination {
            self.exports.destination(tenant, d)?;
        }
        // Two feeds of a tenant never share a folder of one destination (a
        // failed run of one would delete the other's delivery).
        let mine = self.records.feeds(Some(tenant)).await?;
        if mine.iter().any(|f| f.name == name) {
            return Err(Error::Store(carbon_store::Error::Conflict(format!(
                "a feed named `{name}` exists already"
            ))));
        }
        if spec.kind == FeedKind::Prices {
            let folder = spec.prefix.clone().unwrap_or_else(|| slug(name));
            for other in mine {
                let Ok(o) = spec_of(&other) else { continue };
                if o.kind == FeedKind::Prices
                    && o.destination == spec.destination
                    && o.prefix.clone().unwrap_or_else(|| slug(&other.name)) == folder
                {
                    return Err(Error::param(
                        "prefix",
                        format!(
                            "feed `{}` already delivers into `{folder}` there; give this one another prefix",
                            other.name
                        ),
                    ));
                }
            }
        }
        let now = Utc::now();
        let f = Feed {
            id: crate::random_id("fd"),
            tenant: tenant.into(),
            owner: owner.into(),
            name: name.into(),
            spec: serde_json::to_value(&spec).map_err(|e| Error::Internal(e.to_string()))?,
            enabled: true,
            created: now,
            next_due: if now_too {
                now
            } else {
                next_slot(&spec, market, now)?
            },
            last_run: None,
            last_success: None,
            last_error: None,
            failures: 0,
            runs: 0,
        };
        self.records.create_feed(f.clone()).await?;
        Ok(f)
    }

    /// The destinations `tenant`'s feeds may name.
    pub fn destinations(&self, tenant: &str) -> Vec<String> {
        self.exports.destinations_of(tenant)
    }

    /// A tenant's feed.
    pub async fn get(&self, tenant: &str, id: &str) -> Result<Feed> {
        self.records
            .feed(tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("no feed `{id}`")))
    }

    /// A tenant's feeds, by name.
    pub async fn list(&self, tenant: &str) -> Result<Vec<Feed>> {
        Ok(self.records.feeds(Some(tenant)).await?)
    }

    /// Every tenant's feeds (for `/metrics`).
    pub async fn all(&self) -> Result<Vec<Feed>> {
        Ok(self.records.feeds(None).await?)
    }

    /// The feed's runs (its exports), newest first.
    pub async fn history(&self, tenant: &str, id: &str, limit: usize) -> Result<Vec<Export>> {
        let mut runs = self.exports.list(tenant, 10_000).await?;
        runs.retain(|e| e.spec["feed"]["feed_id"].as_str() == Some(id));
        runs.truncate(limit);
        Ok(runs)
    }

    /// Pauses or resumes a feed (resuming sets its next slot from now).
    pub async fn set_enabled(&self, tenant: &str, id: &str, enabled: bool) -> Result<Feed> {
        let f = self.get(tenant, id).await?;
        if f.enabled != enabled {
            let next = if enabled {
                let spec = spec_of(&f)?;
                Some(next_slot(&spec, spec.check()?, Utc::now())?)
            } else {
                None
            };
            self.records
                .set_feed_enabled(tenant, id, enabled, next)
                .await?;
        }
        self.get(tenant, id).await
    }

    /// Deletes a feed (its past runs stay, as exports).
    pub async fn delete(&self, tenant: &str, id: &str) -> Result<()> {
        if !self.records.delete_feed(tenant, id).await? {
            return Err(Error::not_found(format!("no feed `{id}`")));
        }
        Ok(())
    }

    /// Fires feed `id` now for the market day of `at` (by hand, or the
    /// scheduler for a due slot): the export is recorded and its job queued.
    /// The same feed and day again answer with the first export.
    pub async fn fire(&self, tenant: &str, id: &str, at: DateTime<Utc>) -> Result<Export> {
        let f = self.get(tenant, id).await?;
        let fired = self.fire_feed(&f, at).await;
        // A run by hand is a run: counted, and a refusal counts as a failure.
        self.records
            .record_firing(
                tenant,
                id,
                at,
                None,
                fired.as_ref().err().map(ToString::to_string),
            )
            .await?;
        fired
    }

    async fn fire_feed(&self, f: &Feed, at: DateTime<Utc>) -> Result<Export> {
        let spec = spec_of(f)?;
        if spec.kind == FeedKind::Brief {
            return self.fire_brief(f, &spec, at).await;
        }
        let (q, from, day) = spec.query(at)?;
        if let Some(gate) = self.gate.get() {
            gate(&f.tenant, &q).map_err(|why| {
                Error::unprocessable(
                    "not_entitled",
                    None,
                    format!("the tenant may no longer have this delivered: {why}"),
                )
            })?;
        }
        // In a destination, under the tenant's own folder (a destination may
        // take several tenants); the feed's prefix is unique in it.
        let folder = format!(
            "{}/{}/{}",
            f.tenant,
            spec.prefix.clone().unwrap_or_else(|| slug(&f.name)),
            day_label(from, day)
        );
        let mut export = ExportSpec {
            prices: q,
            format: spec.format,
            gzip: spec.gzip,
            idempotency_key: None,
            feed: Some(FeedTarget {
                feed_id: f.id.clone(),
                destination: spec.destination.clone(),
                folder,
            }),
        };
        let owner = format!("feed:{}", f.name);
        // One delivery per feed and day; a failed or cancelled attempt
        // lets the next one try again (under the next attempt's key).
        for attempt in 1..=10 {
            let key = if attempt == 1 {
                format!("feed:{}:{day}", f.id)
            } else {
                format!("feed:{}:{day}:{attempt}", f.id)
            };
            export.idempotency_key = Some(key);
            let (e, fresh) = self.exports.create(&f.tenant, &owner, &export).await?;
            if fresh {
                return self.jobs.queue_export(&self.exports, e, &owner).await;
            }
            if !matches!(e.status.as_str(), "failed" | "cancelled") {
                return Ok(e);
            }
        }
        Err(Error::unprocessable(
            "too_many_attempts",
            None,
            format!(
                "feed `{}` failed 10 times for {day}; fix it and run it by hand",
                f.id
            ),
        ))
    }

    /// A brief feed's firing: the brief of the month before `at`'s market
    /// day, with what the tenant may see now.
    async fn fire_brief(&self, f: &Feed, spec: &FeedSpec, at: DateTime<Utc>) -> Result<Export> {
        let market = spec.check()?;
        let day = carbon_core::time::market_date(market, at);
        let first = day.with_day(1).unwrap_or(day);
        let month = (first - Duration::days(1)).format("%Y-%m").to_string();
        let mut brief = crate::reports::BriefSpec {
            market,
            month: month.clone(),
            hubs: None,
            curves: true,
            fundamentals: true,
            market_wide: true,
            feed: Some(FeedTarget {
                feed_id: f.id.clone(),
                destination: None,
                folder: String::new(),
            }),
        };
        // Without a policy (tests, an operator's own command) the whole
        // market; with one, what the tenant's grants show of that month.
        if let Some(view) = self.brief_view.get() {
            let range = crate::reports::month_range(&brief)?;
            let hubs: Vec<String> =
                crate::reports::market_hubs(self.exports.store().as_ref(), market)
                    .await?
                    .into_iter()
                    .map(|h| h.as_str().to_string())
                    .collect();
            let v = view(&f.tenant, market, range, &hubs).map_err(|why| {
                Error::unprocessable(
                    "not_entitled",
                    None,
                    format!("the tenant may no longer have this brief: {why}"),
                )
            })?;
            brief.hubs = Some(v.hubs);
            brief.curves = v.curves;
            brief.fundamentals = v.fundamentals;
            brief.market_wide = v.market_wide;
        }
        let owner = format!("feed:{}", f.name);
        let (e, fresh) = self
            .exports
            .create_report(
                &f.tenant,
                &owner,
                &brief,
                Some(format!("feed:{}:{month}", f.id)),
            )
            .await?;
        if !fresh {
            return Ok(e);
        }
        self.jobs.queue_export(&self.exports, e, &owner).await
    }

    /// Fires every enabled feed due at `now` and moves it to its next slot;
    /// a feed that cannot fire (its limits, a destination gone) counts a
    /// failure. (feed, its tenant, the export or why not) per feed fired.
    pub async fn fire_due(&self, now: DateTime<Utc>) -> Result<Vec<Fired>> {
        let mut out = Vec::new();
        for f in self.records.feeds(None).await? {
            if !f.enabled || f.next_due > now {
                continue;
            }
            // The slot's own instant decides its market day (a 23:59 slot
            // fired at the next tick is still that day's); after a long
            // outage, the tick's.
            let at = if now - f.next_due < Duration::hours(24) {
                f.next_due
            } else {
                now
            };
            let fired = self.fire_feed(&f, at).await;
            let next = match &fired {
                // The tenant's own limits (exports running, storage): try
                // again in five minutes rather than skip the day.
                Err(Error::Unprocessable { code, .. })
                    if matches!(*code, "too_many_exports" | "storage_full") =>
                {
                    now + Duration::minutes(5)
                }
                _ => match spec_of(&f).and_then(|s| next_slot(&s, s.check()?, now)) {
                    Ok(t) => t,
                    // A spec that no longer reads (never expected): try daily.
                    Err(_) => now + Duration::days(1),
                },
            };
            self.records
                .record_firing(
                    &f.tenant,
                    &f.id,
                    now,
                    Some(next),
                    fired.as_ref().err().map(ToString::to_string),
                )
                .await?;
            out.push(Fired {
                feed: f.id.clone(),
                tenant: f.tenant.clone(),
                export: fired.map(|e| e.id),
            });
        }
        Ok(out)
    }
}

fn spec_of(f: &Feed) -> Result<FeedSpec> {
    serde_json::from_value(f.spec.clone())
        .map_err(|e| Error::Internal(format!("stored feed spec of {}: {e}", f.id)))
}

/// `2021-02-03`, or `2021-02-01_2021-02-03` for several days (the days
/// covered, the end exclusive → the last day covered).
fn day_label(from: NaiveDate, to: NaiveDate) -> String {
    let last = to - Duration::days(1);
    if last == from {
        from.to_string()
    } else {
        format!("{from}_{last}")
    }
}

/// A feed name as a folder: letters and digits kept, runs of anything else `-`.
fn slug(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    let s = s.trim_matches('-').to_string();
    if s.is_empty() { "feed".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(at: &str, days: FeedDays) -> FeedSpec {
        serde_json::from_value(serde_json::json!({
            "instruments": ["MISO.INDIANA.HUB"], "at": at, "days": days,
        }))
        .unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn slots_are_market_clock_times_on_the_days_asked() {
        // MISO's clock is EST all year: 07:00 = 12:00 UTC.
        let s = spec("07:00", FeedDays::Every);
        assert_eq!(
            next_slot(&s, Market::Miso, t("2021-02-01T11:59:00Z")).unwrap(),
            t("2021-02-01T12:00:00Z")
        );
        assert_eq!(
            next_slot(&s, Market::Miso, t("2021-02-01T12:00:00Z")).unwrap(),
            t("2021-02-02T12:00:00Z")
        );
        // Weekdays: Friday noon → Monday.
        let w = spec("07:00", FeedDays::Weekdays);
        assert_eq!(
            next_slot(&w, Market::Miso, t("2021-02-05T13:00:00Z")).unwrap(),
            t("2021-02-08T12:00:00Z")
        );
        // CAISO (Pacific, with DST): 07:00 PDT = 14:00 UTC in July, PST 15:00 in January.
        let c: FeedSpec = serde_json::from_value(serde_json::json!({
            "instruments": ["CAISO.TH_SP15_GEN-APND"], "at": "07:00"
        }))
        .unwrap();
        assert_eq!(
            next_slot(&c, Market::Caiso, t("2021-07-01T00:00:00Z")).unwrap(),
            t("2021-07-01T14:00:00Z")
        );
        assert_eq!(
            next_slot(&c, Market::Caiso, t("2021-01-01T00:00:00Z")).unwrap(),
            t("2021-01-01T15:00:00Z")
        );
        // 02:30 on the spring-forward day does not exist: 03:30 PDT instead.
        let gap: FeedSpec = serde_json::from_value(serde_json::json!({
            "instruments": ["CAISO.TH_SP15_GEN-APND"], "at": "02:30"
        }))
        .unwrap();
        assert_eq!(
            next_slot(&gap, Market::Caiso, t("2021-03-14T08:00:00Z")).unwrap(),
            t("2021-03-14T10:30:00Z")
        );
    }

    #[test]
    fn brief_feeds_fire_monthly_on_their_day() {
        let b: FeedSpec = serde_json::from_value(serde_json::json!({
            "kind": "brief", "market": "MISO", "day_of_month": 2, "at": "06:00"
        }))
        .unwrap();
        assert_eq!(b.check().unwrap(), Market::Miso);
        // After 2021-02-02 06:00 EST: next is 2021-03-02 06:00 EST (11:00 UTC).
        assert_eq!(
            next_slot(&b, Market::Miso, t("2021-02-02T11:00:00Z")).unwrap(),
            t("2021-03-02T11:00:00Z")
        );
        assert_eq!(
            next_slot(&b, Market::Miso, t("2021-02-01T00:00:00Z")).unwrap(),
            t("2021-02-02T11:00:00Z")
        );
        let bad = |v: serde_json::Value, param: &str| {
            let s: FeedSpec = serde_json::from_value(v).unwrap();
            match s.check() {
                Err(Error::Invalid { param: p, .. }) => assert_eq!(p, param),
                other => panic!("{other:?}"),
            }
        };
        bad(serde_json::json!({"kind": "brief"}), "market");
        bad(
            serde_json::json!({"kind": "brief", "market": "MISO", "day_of_month": 31}),
            "day_of_month",
        );
        bad(
            serde_json::json!({"kind": "brief", "market": "MISO", "instruments": ["MISO.INDIANA.HUB"]}),
            "instruments",
        );
    }

    #[test]
    fn windows_run_from_the_previous_firing_day() {
        let daily = spec("07:00", FeedDays::Every);
        let (q, from, day) = daily.query(t("2021-02-09T12:00:00Z")).unwrap();
        assert_eq!(
            (from.to_string(), day.to_string()),
            ("2021-02-08".into(), "2021-02-09".into())
        );
        assert_eq!(
            (q.start, q.end),
            (t("2021-02-08T05:00:00Z"), t("2021-02-09T05:00:00Z"))
        );
        // A weekday feed's Monday (2021-02-08) covers Friday to Sunday; its
        // Tuesday covers Monday.
        let w = spec("07:00", FeedDays::Weekdays);
        let (_, from, day) = w.query(t("2021-02-08T12:00:00Z")).unwrap();
        assert_eq!(
            (from.to_string(), day.to_string()),
            ("2021-02-05".into(), "2021-02-08".into())
        );
        let (_, from, _) = w.query(t("2021-02-09T12:00:00Z")).unwrap();
        assert_eq!(from.to_string(), "2021-02-08");
        // days_back widens it.
        let mut d3 = daily.clone();
        d3.days_back = 3;
        let (_, from, _) = d3.query(t("2021-02-09T12:00:00Z")).unwrap();
        assert_eq!(from.to_string(), "2021-02-06");
    }

    #[test]
    fn specs_are_checked_field_by_field() {
        let bad = |v: serde_json::Value, param: &str| {
            let s: FeedSpec = serde_json::from_value(v).unwrap();
            match s.check() {
                Err(Error::Invalid { param: p, .. }) => assert_eq!(p, param),
                other => panic!("{other:?}"),
            }
        };
        bad(serde_json::json!({"instruments": []}), "instruments");
        bad(
            serde_json::json!({"instruments": ["MISO.INDIANA.HUB", "CAISO.TH_SP15_GEN-APND"]}),
            "instruments",
        );
        bad(
            serde_json::json!({"instruments": ["MISO.INDIANA.HUB"], "at": "7am"}),
            "at",
        );
        bad(
            serde_json::json!({"instruments": ["MISO.INDIANA.HUB"], "at": "24:00"}),
            "at",
        );
        bad(
            serde_json::json!({"instruments": ["MISO.INDIANA.HUB"], "days_back": 0}),
            "days_back",
        );
        bad(
            serde_json::json!({"instruments": ["MISO.INDIANA.HUB"], "prefix": "../x"}),
            "prefix",
        );
        bad(
            serde_json::json!({"instruments": ["MISO.INDIANA.HUB"], "prefix": "a//b"}),
            "prefix",
        );
        bad(
            serde_json::json!({"instruments": ["MISO.INDIANA.HUB"], "format": "xlsx", "gzip": true}),
            "gzip",
        );
        assert_eq!(slug("Daily DA — my nodes!"), "daily-da-my-nodes");
        assert_eq!(
            day_label(
                NaiveDate::from_ymd_opt(2021, 2, 1).unwrap(),
                NaiveDate::from_ymd_opt(2021, 2, 2).unwrap()
            ),
            "2021-02-01"
        );
    }
}
