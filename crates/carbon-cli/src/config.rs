//! The layered configuration: defaults < `carbon.toml` < `CARBON_*` env < flags.
//!
//! The file is `--config PATH` (or `CARBON_CONFIG`), else `./carbon.toml` when it
//! exists. Unknown keys are errors, so a typo never silently falls back to a
//! default. Environment variables and flags are applied by [`crate::cli`] through
//! clap (each flag names its variable), which gives flag > env; whatever neither
//! sets comes from the file, then from the defaults below.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use carbon_ingest::{
    connector::{ConnectorConfig, PollJob},
    dq::DqConfig,
    http::HttpConfig,
};
use serde::{Deserialize, Serialize};

/// Everything `carbon` can be configured with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Directory holding the database (`carbon.duckdb`) and other state.
    /// Env `CARBON_DATA_DIR`, flag `--data-dir`. Default `./data`.
    pub data_dir: PathBuf,
    /// No outbound requests at all: live sources show as unreachable.
    /// Env `CARBON_OFFLINE`, flag `--offline`. Default `false`.
    pub offline: bool,
    /// Address `carbon serve` listens on. Env `CARBON_BIND`, flag `--bind`.
    pub bind: String,
    /// Logging.
    pub log: LogConfig,
    /// The HTTP client of the live connectors (timeouts, retries).
    pub http: HttpConfig,
    /// Data-quality thresholds.
    pub quality: DqConfig,
    /// Live ISO price sources (`[[connectors]]` tables, `type = "miso" | "caiso"`).
    /// Default: MISO (all nodes) and CAISO (the three trading hubs). The EIA
    /// connector is configured by `[eia]` (see [`Config::all_connectors`]).
    pub connectors: Vec<ConnectorConfig>,
    /// What `carbon serve` polls and when.
    pub schedule: ScheduleConfig,
    /// The API: rate limits, CORS, body size, timeouts.
    pub api: carbon_service::settings::ApiSettings,
    /// Identity: session tokens and the optional external OIDC provider.
    pub auth: carbon_auth::AuthConfig,
    /// Research analyses `carbon serve` runs on a schedule (`[[research_jobs]]`);
    /// each is also `carbon research job NAME` for cron/Airflow.
    pub research_jobs: Vec<ResearchJob>,
    /// The EIA v2 API connector `eia` (fundamentals): key, series, poll window.
    pub eia: carbon_ingest::eia_api::EiaApiConfig,
    /// Durable jobs `carbon serve` runs (`[jobs]`).
    pub jobs: JobsConfig,
    /// The embedded store: DuckDB threads and the query cache (`[store]`;
    /// env `CARBON_DUCKDB_THREADS`, `CARBON_QUERY_CACHE_MB`).
    pub store: carbon_store::StoreConfig,
    /// The download center: where exports are written, limits, retention (`[exports]`).
    pub exports: ExportsConfig,
}

/// `[exports]`: the object store exports are written to and their limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExportsConfig {
    /// Directory of the filesystem object store (default `<data_dir>/objects`).
    pub dir: Option<PathBuf>,
    /// An S3-compatible bucket instead of the directory (`[exports.s3]`):
    /// links are then the store's own presigned GETs.
    pub s3: Option<carbon_service::objects::S3Config>,
    /// Per-tenant limits and retention.
    pub limits: carbon_service::exports::ExportLimits,
    /// Places feeds may deliver to (`[[exports.destinations]]`): a bucket or
    /// a directory, and the tenants it takes.
    pub destinations: Vec<carbon_service::objects::DestinationConfig>,
    /// Seconds between checks for feeds due (default 30).
    pub feed_tick_secs: u64,
}

impl Default for ExportsConfig {
    fn default() -> Self {
        Self {
            dir: None,
            s3: None,
            limits: Default::default(),
            destinations: Vec::new(),
            feed_tick_secs: 30,
        }
    }
}

/// `[jobs]`: the worker pool of `carbon serve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Jobs run at once (default 2: one per core of a small machine).
    pub workers: usize,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self { workers: 2 }
    }
}

/// One scheduled analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResearchJob {
    /// Name (for `carbon research job NAME`).
    pub name: String,
    /// Seconds between runs (the first run comes one period after start).
    pub every_secs: u64,
    /// The analysis (the API's body plus `kind`).
    pub analysis: carbon_service::research::Analysis,
}

/// The default research jobs: daily decomposition snapshot and regimes of
/// the Indiana hub, weekly gas balance and weather calibration, daily
/// backtest of the stored Indiana forward curve.
pub fn default_research_jobs() -> Vec<ResearchJob> {
    use carbon_service::research::{Analysis, BacktestSpec, SeriesRef, Transform};
    let price = |run: &str, days: u32, resample: Option<&str>| SeriesRef {
        instrument_id: Some("MISO.INDIANA.HUB".into()),
        market_run: Some(run.into()),
        start: Some(format!("-{days}d")),
        resample: resample.map(str::to_string),
        ..SeriesRef::default()
    };
    let fund = |e: &str, v: &str, days: u32| SeriesRef {
        entity: Some(e.into()),
        variable: Some(v.into()),
        start: Some(format!("-{days}d")),
        ..SeriesRef::default()
    };
    let job = |name: &str, every_secs, analysis| ResearchJob {
        name: name.into(),
        every_secs,
        analysis,
    };
    vec![
        job(
            "daily-decomposition",
            86_400,
            Analysis::Decompose {
                series: price("da", 60, Some("1h")),
                periods: vec![24, 168],
                stl: None,
                mstl: None,
            },
        ),
        job(
            "daily-regimes",
            86_400,
            Analysis::Regimes {
                series: price("da", 730, Some("1d")),
                transform: Transform::Level,
                candidates: Vec::new(),
                method: None,
                states: Vec::new(),
            },
        ),
        job(
            "weekly-balance",
            7 * 86_400,
            Analysis::Balance {
                storage: Some(Box::new(fund("Total Lower 48", "storage", 3_650))),
                price: Some(Box::new(fund("Henry Hub", "spot_price", 3_650))),
                threshold_sigma: None,
                allowance_sigma: None,
                window: None,
                load: None,
                temperature: None,
            },
        ),
        job(
            "weekly-weather",
            7 * 86_400,
            Analysis::Weather {
                target: price("da", 365, Some("1h")),
                temperature: fund("Indianapolis", "temperature", 365),
                options: Default::default(),
            },
        ),
        job(
            "daily-backtest",
            86_400,
            Analysis::Backtest(BacktestSpec {
                instrument_id: "MISO.INDIANA.HUB".into(),
                market_run: Some("da".into()),
                curve_id: Some("MISO_INDIANA_HUB_FWD".into()),
                scenario_id: None,
                as_of_dates: Vec::new(),
                baselines: Vec::new(),
                granularity: None,
                block: None,
                horizon_days: None,
                evaluated_at: None,
                gate: Vec::new(),
            }),
        ),
    ]
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            offline: false,
            bind: "127.0.0.1:8080".to_string(),
            log: LogConfig::default(),
            http: HttpConfig::default(),
            quality: DqConfig::default(),
            connectors: ConnectorConfig::defaults(),
            schedule: ScheduleConfig::default(),
            api: carbon_service::settings::ApiSettings::default(),
            auth: carbon_auth::AuthConfig::default(),
            research_jobs: default_research_jobs(),
            eia: Default::default(),
            jobs: JobsConfig::default(),
            store: carbon_store::StoreConfig::default(),
            exports: ExportsConfig::default(),
        }
    }
}

impl Config {
    /// Every connector: the `[[connectors]]` and the EIA connector of `[eia]`.
    pub fn all_connectors(&self) -> Vec<ConnectorConfig> {
        let mut all = self.connectors.clone();
        all.push(ConnectorConfig::Eia(self.eia.clone()));
        all
    }

    /// The HTTP settings with the global offline switch applied.
    pub fn http_config(&self) -> HttpConfig {
        let mut h = self.http.clone();
        h.offline = h.offline || self.offline;
        h
    }
}

/// `[schedule]`: the polls of `carbon serve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Poll at all.
    pub enabled: bool,
    /// On the first start (empty database), backfill this many days for the hubs.
    pub first_start_backfill_days: u32,
    /// The jobs.
    pub jobs: Vec<JobConfig>,
}

/// One scheduled job: a connector's poll job every so many seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// Connector name (`miso`, `caiso`, `eia`).
    pub connector: String,
    /// `day_ahead`, `real_time_hourly`, `fifteen_minute`, `five_minute` or
    /// (`eia`) `fundamentals`.
    pub job: PollJob,
    /// Seconds between runs.
    pub every_secs: u64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        let job = |connector: &str, job, every_secs| JobConfig {
            connector: connector.to_string(),
            job,
            every_secs,
        };
        Self {
            enabled: true,
            first_start_backfill_days: 7,
            jobs: vec![
                job("miso", PollJob::FiveMinute, 300),
                job("miso", PollJob::DayAhead, 1800),
                job("miso", PollJob::RealTimeHourly, 3600),
                job("caiso", PollJob::FifteenMinute, 900),
                job("caiso", PollJob::FiveMinute, 900),
                job("caiso", PollJob::DayAhead, 3600),
                job("eia", PollJob::Fundamentals, 6 * 3600),
            ],
        }
    }
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Filter in `tracing` syntax (`info`, `carbon_store=debug`).
    /// Env `CARBON_LOG`, flag `--log`. Default `warn` for commands.
    pub level: String,
    /// `text` for people, `json` for log shippers. Env `CARBON_LOG_FORMAT`, flag `--log-format`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "warn".to_string(),
            format: LogFormat::Text,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Values that flags or environment variables set; `None` = not given.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir` / `CARBON_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--log` / `CARBON_LOG`.
    pub log_level: Option<String>,
    /// `--log-format` / `CARBON_LOG_FORMAT`.
    pub log_format: Option<LogFormat>,
    /// `--offline` / `CARBON_OFFLINE`.
    pub offline: Option<bool>,
}

impl Config {
    /// Parses a TOML document.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self> {
        toml::from_str(text)
            .with_context(|| format!("invalid configuration file {}", origin.display()))
    }

    /// Checks what serde cannot: schedule jobs name configured connectors;
    /// CORS origins are origins.
    pub fn validate(&self) -> Result<()> {
        self.api.validate().map_err(crate::commands::UserError)?;
        let mut names = std::collections::HashSet::new();
        for c in &self.all_connectors() {
            if !names.insert(c.name()) {
                anyhow::bail!(crate::commands::UserError(format!(
                    "connectors: {} is configured twice",
                    c.name()
                )));
            }
        }
        for (i, s) in self.eia.series.iter().enumerate() {
            let known = carbon_ingest::eia_api::FREQUENCIES;
            if !known.contains(&s.frequency.as_str()) {
                anyhow::bail!(crate::commands::UserError(format!(
                    "eia.series[{i}].frequency: {:?} is not one of {}",
                    s.frequency,
                    known.join(", ")
                )));
            }
        }
        for (i, j) in self.schedule.jobs.iter().enumerate() {
            if !names.contains(j.connector.as_str()) {
                anyhow::bail!(crate::commands::UserError(format!(
                    "schedule.jobs[{i}].connector: {:?} is not a configured connector",
                    j.connector
                )));
            }
            if j.every_secs == 0 {
                anyhow::bail!(crate::commands::UserError(format!(
                    "schedule.jobs[{i}].every_secs: must be at least 1"
                )));
            }
        }
        Ok(())
    }

    /// Builds the effective configuration: defaults, then the file (explicit path
    /// or `./carbon.toml` if present), then overrides.
    pub fn load(explicit: Option<&Path>, overrides: &Overrides) -> Result<(Self, Option<PathBuf>)> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from("carbon.toml")).filter(|p| p.is_file()),
        };
        let mut cfg = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read configuration file {}", p.display()))?;
                Self::from_toml(&text, p)?
            }
            None => Self::default(),
        };
        if let Some(d) = &overrides.data_dir {
            cfg.data_dir = d.clone();
        }
        if let Some(l) = &overrides.log_level {
            cfg.log.level = l.clone();
        }
        if let Some(f) = overrides.log_format {
            cfg.log.format = f;
        }
        if let Some(o) = overrides.offline {
            cfg.offline = o;
        }
        // The store's environment variables, read here (the store library
        // reads no environment).
        if let Some(v) = std::env::var_os("CARBON_DUCKDB_THREADS") {
            let v = v.to_string_lossy();
            let n: u32 = v.parse().map_err(|_| {
                crate::commands::UserError(format!(
                    "CARBON_DUCKDB_THREADS={v}: a whole number of threads"
                ))
            })?;
            cfg.store.duckdb_threads = (n > 0).then_some(n);
        }
        if let Some(v) = std::env::var_os("CARBON_QUERY_CACHE_MB") {
            let v = v.to_string_lossy();
            cfg.store.query_cache_mb = v.parse().map_err(|_| {
                crate::commands::UserError(format!(
                    "CARBON_QUERY_CACHE_MB={v}: a whole number of MiB"
                ))
            })?;
        }
        cfg.validate()?;
        Ok((cfg, path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_matches_defaults_where_commented() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/carbon.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let cfg = Config::from_toml(&text, &path).unwrap();
        assert_eq!(cfg.data_dir, PathBuf::from("data"));
        assert_eq!(cfg, Config::default());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = Config::from_toml("data_dri = 'x'", Path::new("c.toml")).unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown field `data_dri`"),
            "{e:#}"
        );
        let e = Config::from_toml("[log]\nlevle = 'x'", Path::new("c.toml")).unwrap_err();
        assert!(format!("{e:#}").contains("levle"), "{e:#}");
    }

    #[test]
    fn overrides_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("carbon.toml");
        std::fs::write(&p, "data_dir = '/from/file'\n[log]\nformat = 'json'\n").unwrap();
        let (cfg, used) = Config::load(Some(&p), &Overrides::default()).unwrap();
        assert_eq!(used.as_deref(), Some(p.as_path()));
        assert_eq!(cfg.data_dir, PathBuf::from("/from/file"));
        assert_eq!(cfg.log.format, LogFormat::Json);
        let o = Overrides {
            data_dir: Some("/from/flag".into()),
            ..Default::default()
        };
        let (cfg, _) = Config::load(Some(&p), &o).unwrap();
        assert_eq!(cfg.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(cfg.log.format, LogFormat::Json);
    }
}
