//! Command-line arguments (clap). Every flag that has an environment variable
//! names it; flag > env > `carbon.toml` > default.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{LogFormat, Overrides};

/// 254Carbon — self-hosted power-market intelligence.
///
/// Stores ISO market data (MISO, CAISO, …) in an embedded DuckDB file and
/// answers queries on the market's own clock: market days of 23, 24 or 25
/// hours, power blocks, vintages.
#[derive(Debug, Parser)]
#[command(
    name = "carbon",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Configuration file (default: ./carbon.toml when present).
    #[arg(long, global = true, env = "CARBON_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory holding carbon.duckdb [default: ./data].
    #[arg(long, global = true, env = "CARBON_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log filter (tracing syntax: warn, info, carbon_store=debug) [default: warn].
    #[arg(long = "log", global = true, env = "CARBON_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// Log format [default: text].
    #[arg(long, global = true, env = "CARBON_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Make no outbound requests (live sources report as unreachable).
    #[arg(long, global = true, env = "CARBON_OFFLINE", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub offline: Option<bool>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Values given by flag or environment.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            data_dir: self.data_dir.clone(),
            log_level: self.log.clone(),
            log_format: self.log_format,
            offline: self.offline,
        }
    }
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum Command {
    /// Create the data directory and database, applying schema migrations (idempotent).
    Init,
    /// Database statistics and maintenance.
    Db {
        /// Database command.
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Query stored data.
    Query {
        /// Query command.
        #[command(subcommand)]
        command: QueryCommand,
    },
    /// Load ISO data: files now; live polls and backfills with the connectors.
    Ingest {
        /// Ingest command.
        #[command(subcommand)]
        command: IngestCommand,
    },
    /// Fetch past market days from a live source (resumable: run it again to continue).
    Backfill(BackfillArgs),
    /// Run one scheduled poll job once (for cron, Airflow, Kubernetes).
    Poll {
        /// Connector: miso, caiso or eia.
        connector: String,
        /// Job: day_ahead, real_time_hourly, fifteen_minute, five_minute (prices), fundamentals (eia).
        job: String,
    },
    /// Run the platform: the scheduled polls (and, as they land, the API and hub)
    /// until interrupted. Backfills the hubs' last days on first start.
    Serve {
        /// Address the API listens on [default: 127.0.0.1:8080; port 0 picks a free one].
        #[arg(long, env = "CARBON_BIND", value_name = "ADDR")]
        bind: Option<String>,
        /// Do not poll (serve stored data only).
        #[arg(long)]
        no_schedule: bool,
        /// Stop after this many seconds (tests, demos).
        #[arg(long, value_name = "SECS", hide = true)]
        exit_after: Option<u64>,
        /// Serve HTTPS with this certificate chain (PEM); cookies become
        /// `Secure` and HSTS is sent.
        #[arg(
            long,
            env = "CARBON_TLS_CERT",
            value_name = "PEM",
            requires = "tls_key"
        )]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
        #[arg(
            long,
            env = "CARBON_TLS_KEY",
            value_name = "PEM",
            requires = "tls_cert"
        )]
        tls_key: Option<PathBuf>,
    },
    /// Data quality: quarantined rows and per-run findings.
    Quality {
        /// Only this run.
        #[arg(long)]
        run: Option<String>,
        /// At most this many quarantined rows.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Markets, their clocks and peak conventions.
    Markets {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Market calendars: NERC holidays and power-block hour counts.
    Calendar {
        /// Calendar command.
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// Configuration.
    Config {
        /// Configuration command.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Tenants, users, API keys and entitlements (with the server stopped;
    /// while it runs, use the admin API).
    Admin {
        /// Admin command.
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The security audit log.
    Audit {
        /// Audit command.
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Scenarios: versioned documents, runs (calibrate, shift a base curve,
    /// bands) and comparisons.
    Scenario {
        /// Scenario command.
        #[command(subcommand)]
        command: ScenarioCommand,
    },
    /// Scheduled feeds: a price file every market day at a time of the
    /// market clock, into the download center or a configured destination.
    Feed {
        /// Feed command.
        #[command(subcommand)]
        command: FeedCommand,
    },
    /// Monthly market briefs (HTML and PDF) in the download center.
    Report {
        /// Report command.
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// The download center: price exports as files with a manifest, and
    /// signed links to them.
    Export {
        /// Export command.
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Durable jobs: analyses and backtests queued for `carbon serve`'s workers.
    Jobs {
        /// Jobs command.
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Forward curves.
    Curve {
        /// Curve command.
        #[command(subcommand)]
        command: CurveCommand,
    },
    /// Research analytics (decomposition, regimes, balance, weather) and their stored runs.
    Research {
        /// Research command.
        #[command(subcommand)]
        command: ResearchCommand,
    },
    /// Score forecasts (stored curves, baselines) against realised prices read
    /// as of the evaluation time; stores the result and prints the quality gate.
    Backtest(BacktestArgs),
    /// Fundamentals series (EIA load, temperature, gas storage, Henry Hub).
    Fundamentals {
        /// Fundamentals command.
        #[command(subcommand)]
        command: FundamentalsCommand,
    },
}

/// Where an analysis reads its series.
#[derive(Debug, Args, Clone)]
pub struct RangeArgs {
    /// Range start (RFC 3339 or YYYY-MM-DD, UTC; `-30d` for 30 days ago).
    #[arg(long)]
    pub start: Option<String>,
    /// Range end, exclusive.
    #[arg(long)]
    pub end: Option<String>,
    /// Read what was known at this instant.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Resample every series first: 1h, 1d, 1mo (prices); 1h, 1d, 1w, 1mo, 1y (fundamentals).
    #[arg(long)]
    pub resample: Option<String>,
    /// Write the full output (JSON) to this file ('-' for standard output).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// `carbon research …`
#[derive(Debug, Subcommand)]
pub enum ResearchCommand {
    /// STL (one period) or MSTL (several periods) decomposition.
    Decompose {
        /// Series: price:INSTRUMENT[:RUN[:COMPONENT]] or fund:ENTITY/VARIABLE.
        #[arg(long)]
        series: String,
        /// Seasonal periods in observations, comma-separated (24,168 for hourly power).
        #[arg(long, value_delimiter = ',', required = true)]
        periods: Vec<usize>,
        /// Robust STL (downweights outliers).
        #[arg(long)]
        robust: bool,
        /// The range read.
        #[command(flatten)]
        range: RangeArgs,
    },
    /// Markov-switching regimes (model chosen by BIC among the candidates).
    Regimes {
        /// Series: price:INSTRUMENT[:RUN[:COMPONENT]] or fund:ENTITY/VARIABLE.
        #[arg(long)]
        series: String,
        /// Numbers of regimes to try.
        #[arg(long, value_delimiter = ',', default_value = "2,3")]
        k: Vec<usize>,
        /// Autoregressive order.
        #[arg(long, default_value_t = 0)]
        ar: usize,
        /// AR coefficients switch with the regime.
        #[arg(long)]
        switching_ar: bool,
        /// One variance for all regimes (default: each regime its own).
        #[arg(long)]
        constant_variance: bool,
        /// level, diff or log_return.
        #[arg(long, default_value = "level")]
        transform: String,
        /// A multivariate Gaussian HMM on return features (rolling vol 5/20/60,
        /// skew, kurtosis, jumps) of the levels instead, states from --k.
        #[arg(long)]
        hmm: bool,
        /// The range read.
        #[command(flatten)]
        range: RangeArgs,
    },
    /// Supply/demand balance: gas storage (and a price), or load vs temperature-normal load.
    Balance {
        /// Weekly storage, e.g. "fund:Total Lower 48/storage".
        #[arg(long)]
        storage: Option<String>,
        /// Price to correlate with storage changes, e.g. "fund:Henry Hub/spot_price".
        #[arg(long)]
        price: Option<String>,
        /// Hourly load, e.g. "fund:ERCOT/load".
        #[arg(long)]
        load: Option<String>,
        /// Hourly temperature, e.g. "fund:Dallas / Fort Worth/temperature".
        #[arg(long)]
        temperature: Option<String>,
        /// CUSUM threshold in σ.
        #[arg(long, default_value_t = 4.0)]
        threshold: f64,
        /// Rolling correlation window in weeks.
        #[arg(long, default_value_t = 52)]
        window: usize,
        /// The range read.
        #[command(flatten)]
        range: RangeArgs,
    },
    /// OLS (and quantile regressions) of a price or load on temperature terms.
    Weather {
        /// What is explained, e.g. price:MISO.INDIANA.HUB:rt.
        #[arg(long)]
        target: String,
        /// Temperatures (°F), e.g. "fund:Indianapolis/temperature".
        #[arg(long)]
        temperature: String,
        /// Degree-day base (°F).
        #[arg(long, default_value_t = 65.0)]
        base: f64,
        /// Terms: hdd, cdd, temp, temp2.
        #[arg(long, value_delimiter = ',', default_value = "hdd,cdd")]
        terms: Vec<String>,
        /// Lags of HDD/CDD in observations.
        #[arg(long, value_delimiter = ',')]
        lags: Vec<usize>,
        /// Leave out the month dummies.
        #[arg(long)]
        no_months: bool,
        /// Rolling-beta window in observations.
        #[arg(long)]
        rolling: Option<usize>,
        /// The range read.
        #[command(flatten)]
        range: RangeArgs,
    },
    /// Any analysis given as JSON (the body of the API's research routes plus "kind").
    Run {
        /// The analysis, JSON text.
        #[arg(long, conflicts_with = "file")]
        json: Option<String>,
        /// The analysis, a JSON file.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Write the full output (JSON) to this file ('-' for standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Run one configured research job once (for cron, Airflow, Kubernetes).
    Job {
        /// The job's name in `[[research_jobs]]`.
        name: String,
    },
    /// Stored research runs, newest first.
    Runs {
        /// Only this kind: stl, mstl, regimes, balance, weather, backtest.
        #[arg(long)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One stored run in full (JSON).
    Show {
        /// Run id.
        run_id: String,
    },
}

/// `carbon backtest`
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Realised prices of this instrument.
    #[arg(long)]
    pub instrument: String,
    /// Its market run.
    #[arg(long, default_value = "da")]
    pub market_run: String,
    /// A stored forward curve to score (every run, or those of --as-of-dates).
    #[arg(long)]
    pub curve_id: Option<String>,
    /// Forecast dates (YYYY-MM-DD, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub as_of_dates: Vec<String>,
    /// Baselines: persistence, seasonal_naive, mstl.
    #[arg(long, value_delimiter = ',')]
    pub baselines: Vec<String>,
    /// day, month, or contract (each quoted contract of the stored curve over
    /// its own delivery and block).
    #[arg(long, default_value = "month")]
    pub granularity: String,
    /// flat, onpeak or offpeak.
    #[arg(long, default_value = "flat")]
    pub block: String,
    /// Days the baselines forecast.
    #[arg(long)]
    pub horizon_days: Option<usize>,
    /// Read realised prices as known at this instant (default now).
    #[arg(long)]
    pub evaluated_at: Option<String>,
    /// Gate: largest MAPE (%) for months 1–6.
    #[arg(long, default_value_t = 12.0)]
    pub max_mape: f64,
    /// Write the full output (JSON) to this file ('-' for standard output).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// `carbon fundamentals …`
#[derive(Debug, Subcommand)]
pub enum FundamentalsCommand {
    /// Fetch the configured EIA v2 API series (`[eia]`, key from config or
    /// CARBON_EIA_API_KEY) for a date range: `carbon backfill eia`, one stored
    /// batch per series and year (month for hourly series), resumable.
    Fetch {
        /// First date (YYYY-MM-DD).
        #[arg(long)]
        from: String,
        /// Last date (YYYY-MM-DD, inclusive).
        #[arg(long)]
        to: String,
        /// Fetch again windows already ingested and final.
        #[arg(long)]
        force: bool,
        /// No progress bar (one line per request instead).
        #[arg(long)]
        no_progress: bool,
    },
    /// Stored series.
    Series {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Values of one series.
    Query {
        /// Entity, e.g. "Henry Hub".
        #[arg(long)]
        entity: String,
        /// Variable, e.g. spot_price.
        #[arg(long)]
        variable: String,
        /// Aggregation for --resample: mean, sum, min, max, first, last.
        #[arg(long)]
        agg: Option<String>,
        /// The range read.
        #[command(flatten)]
        range: RangeArgs,
    },
}

/// `carbon curve …`
#[derive(Debug, Subcommand)]
pub enum CurveCommand {
    /// Build the smoothest curve that reprices a set of contracts.
    Build(CurveBuildArgs),
}

/// `carbon curve build`
#[derive(Debug, Args)]
pub struct CurveBuildArgs {
    /// Contracts CSV: name,start,end,price [,bid,ask,block,weight] (dates inclusive).
    #[arg(long)]
    pub contracts: PathBuf,
    /// Prior CSV: date,value (daily grid) or timestamp,value (hourly grid).
    #[arg(long)]
    pub prior: Option<PathBuf>,
    /// How the prior combines: additive (f = prior + x) or multiplicative (f = prior · x).
    #[arg(long, default_value = "additive")]
    pub prior_mode: String,
    /// Grid: hourly, daily or monthly.
    #[arg(long)]
    pub grid: String,
    /// Trade date (YYYY-MM-DD).
    #[arg(long)]
    pub trade_date: String,
    /// Market (clock, peak window, holidays).
    #[arg(long, default_value = "MISO")]
    pub market: String,
    /// Reconciliation policy: strict, drop_parents, least_squares, bid_ask.
    #[arg(long, default_value = "strict")]
    pub policy: String,
    /// Tension on first differences (0 = pure second differences).
    #[arg(long, default_value_t = 0.0)]
    pub tension: f64,
    /// Flat yearly discount rate (e.g. 0.04): weights become hours × exp(−r·t).
    #[arg(long)]
    pub discount_rate: Option<f64>,
    /// Extend the grid past the last contract to this date (YYYY-MM-DD, inclusive).
    #[arg(long)]
    pub until: Option<String>,
    /// Hold the curve flat after the last contract (with no --until: zero end slope).
    #[arg(long)]
    pub flat_long_end: bool,
    /// Prior from stored prices, `INSTRUMENT[@RUN]` (run default da): the
    /// instrument's average hourly shape by month × peak/other day × hour,
    /// used multiplicatively.
    #[arg(long, conflicts_with = "prior")]
    pub shape_from: Option<String>,
    /// Store the curve and its run in the data directory under this curve id.
    #[arg(long)]
    pub curve_id: Option<String>,
    /// Scenario of the stored curve.
    #[arg(long, default_value = "BASE")]
    pub scenario_id: String,
    /// Output format: csv (delivery_start,delivery_end,price) or json.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Write the curve here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the JSON report (contracts, duals, findings, solver, input hash) here.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// `carbon admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Tenants.
    Tenant {
        /// Tenant command.
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Users of the built-in identity.
    User {
        /// User command.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API keys.
    Key {
        /// Key command.
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Entitlement grants (tenant × market × product × channels × instruments × dates).
    Entitlement {
        /// Entitlement command.
        #[command(subcommand)]
        command: EntitlementCommand,
    },
    /// The keys hub sessions are signed with (ES256; published at /.well-known/jwks.json).
    SigningKey {
        /// Signing-key command.
        #[command(subcommand)]
        command: SigningKeyCommand,
    },
}

/// `carbon admin signing-key …`
#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// Start signing with a new key; the old one keeps verifying until the
    /// last session it signed expires.
    Rotate,
    /// List the keys: which signs, until when each verifies.
    List,
    /// Withdraw a key at once (it was exposed): every session it signed ends.
    Withdraw {
        /// The key's `kid`.
        kid: String,
    },
}

/// `carbon admin tenant …`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Id (letters, digits, `_`, `-`, `.`).
        id: String,
        /// Display name [default: the id].
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List tenants.
    List,
    /// Limit where a tenant's users and keys may connect from.
    AllowIps {
        /// Tenant.
        tenant: String,
        /// CIDR networks, IPv4 or IPv6 (e.g. 203.0.113.0/24 2001:db8::/32).
        #[arg(required_unless_present = "clear", conflicts_with = "clear")]
        cidrs: Vec<String>,
        /// Remove the list (any address).
        #[arg(long)]
        clear: bool,
    },
}

/// `carbon admin user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user, or reset an existing user's password and roles.
    Add {
        /// Username.
        username: String,
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Password (at least 10 characters) [default: a generated one, printed once].
        #[arg(long, env = "CARBON_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Role (repeatable); `admin` manages the platform.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// List users.
    List {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Stop a user from signing in (their sessions end at once).
    Disable {
        /// Username.
        username: String,
    },
    /// Let a disabled user sign in again.
    Enable {
        /// Username.
        username: String,
    },
}

/// `carbon admin key …`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key; the key is printed once and only its hash is kept.
    Create {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// What it is for.
        #[arg(long)]
        name: String,
        /// The user it belongs to (inherits their roles).
        #[arg(long)]
        owner: Option<String>,
        /// Stop working after this long: 90d, 12h, 2w (s, m, h, d, w) [default: never].
        #[arg(long, value_name = "SPAN")]
        expires: Option<String>,
        /// Only from these networks (CIDR, comma-separated or repeated).
        #[arg(long = "allow-ip", value_delimiter = ',', value_name = "CIDR")]
        allow_ip: Vec<String>,
    },
    /// Issue a key's successor (printed once); the old key keeps working for
    /// the grace period, then expires.
    Rotate {
        /// Key id (the 12 hex digits after `ck_`).
        id: String,
        /// How long the old key keeps working (s, m, h, d, w).
        #[arg(long, value_name = "SPAN", default_value = "7d")]
        grace: String,
    },
    /// List keys (never their secrets).
    List {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a key by id.
    Revoke {
        /// Key id (the 12 hex digits after `ck_`).
        id: String,
    },
}

/// `carbon admin entitlement …`
#[derive(Debug, Subcommand)]
pub enum EntitlementCommand {
    /// Grant a tenant access.
    Grant {
        /// Tenant.
        #[arg(long)]
        tenant: String,
        /// Market (MISO, CAISO, …) or `*`.
        #[arg(long)]
        market: String,
        /// Product (lmp, curves, fundamentals, research) or `*`.
        #[arg(long, default_value = "lmp")]
        product: String,
        /// Channels, comma-separated: hub, api, stream, downloads, reports.
        #[arg(long, value_delimiter = ',', required = true)]
        channels: Vec<String>,
        /// Only these instruments (comma-separated ids, e.g. CAISO.TH_SP15_GEN-APND).
        #[arg(long, value_delimiter = ',')]
        instruments: Vec<String>,
        /// First date of data visible (YYYY-MM-DD, UTC).
        #[arg(long)]
        from: Option<String>,
        /// Last date of data visible (YYYY-MM-DD, UTC, inclusive).
        #[arg(long)]
        to: Option<String>,
    },
    /// List grants.
    List {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Remove a grant by id.
    Revoke {
        /// Grant id.
        id: String,
    },
}

/// `carbon jobs …`
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Jobs, newest first.
    List {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
        /// Only in this status: queued, running, succeeded, failed, cancelled.
        #[arg(long)]
        status: Option<String>,
        /// Only this kind: analysis, backtest.
        #[arg(long)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One job, as JSON (spec, progress, result or error).
    Show {
        /// Job id (`job_…`).
        id: String,
    },
    /// Wait until a job ends; exit 0 when it succeeded, 1 when it failed or
    /// was cancelled (or the wait timed out).
    Wait {
        /// Job id.
        id: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Cancel a job (a queued one at once, a running one at its worker's next check).
    Cancel {
        /// Job id.
        id: String,
    },
}

/// `carbon scenario …`
#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Check a scenario document (YAML or JSON; `-` reads stdin): exit 0 when
    /// valid, 2 with the field, line and column when not.
    Validate {
        /// The document.
        file: PathBuf,
    },
    /// The document's JSON Schema.
    Schema,
    /// Save a document as a new scenario (version 1), or with --id as the
    /// scenario's next version (versions are never replaced).
    Save {
        /// The document (`-`: stdin).
        file: PathBuf,
        /// The scenario to add a version to (`sc_…`).
        #[arg(long)]
        id: Option<String>,
        /// The tenant it belongs to.
        #[arg(long, default_value = "platform")]
        tenant: String,
        /// Recorded as its author.
        #[arg(long, default_value = "cli")]
        owner: String,
    },
    /// A version's document as saved (or --json: the whole record).
    #[command(disable_version_flag = true)]
    Show {
        /// The scenario.
        id: String,
        /// The version [default: the latest].
        #[arg(long)]
        version: Option<u32>,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
        /// The record as JSON (canonical form, hash, author).
        #[arg(long)]
        json: bool,
    },
    /// A tenant's scenarios.
    List {
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The fields that differ between two versions.
    Diff {
        /// The scenario.
        id: String,
        /// First version.
        #[arg(long)]
        from: u32,
        /// Second version.
        #[arg(long)]
        to: u32,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Run a version now: calibrate, shift the base curve, draw bands; store
    /// the curve run and print the month × block summary.
    #[command(disable_version_flag = true)]
    Run {
        /// The scenario.
        id: String,
        /// The version [default: the latest].
        #[arg(long)]
        version: Option<u32>,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
        /// Recorded as its author.
        #[arg(long, default_value = "cli")]
        owner: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// A scenario's finished runs, newest first.
    Runs {
        /// The scenario.
        id: String,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Two runs (curve run ids) side by side by month × block.
    Compare {
        /// First run.
        a: String,
        /// Second run.
        b: String,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// `carbon export …`
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Export a price query as files (one per month) plus a manifest into
    /// the download center; beside a running server it is queued as a job.
    Prices(ExportPricesArgs),
    /// Rows, bytes and parts a price export would hold.
    Estimate(ExportPricesArgs),
    /// Export one fundamentals series (latest, or as known at --as-of).
    Fundamentals {
        /// Entity (exact, e.g. `Henry Hub`).
        #[arg(long)]
        entity: String,
        /// Variable (exact, e.g. `spot_price`).
        #[arg(long)]
        variable: String,
        /// Range start (RFC 3339 or a UTC date).
        #[arg(long)]
        start: Option<String>,
        /// Range end, exclusive.
        #[arg(long)]
        end: Option<String>,
        /// As known at this instant.
        #[arg(long)]
        as_of: Option<String>,
        /// The file.
        #[command(flatten)]
        file: ExportFileArgs,
    },
    /// Export a forward-curve run's points.
    CurveRun {
        /// The run (`cr_…`).
        run_id: String,
        /// The file.
        #[command(flatten)]
        file: ExportFileArgs,
    },
    /// Export a research run's output (one row per value).
    ResearchRun {
        /// The run (`rr_…`).
        run_id: String,
        /// The file.
        #[command(flatten)]
        file: ExportFileArgs,
    },
    /// A tenant's exports, newest first.
    List {
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One export as JSON (status, totals, manifest).
    Show {
        /// Export id (`ex_…`).
        id: String,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
    },
    /// A signed, expiring link to one file of a finished export.
    Link {
        /// Export id.
        id: String,
        /// A part's name from the manifest, or `manifest.json`.
        #[arg(long)]
        file: String,
        /// Seconds the link is good for (at most 7 days).
        #[arg(long, default_value_t = 86_400)]
        ttl: u64,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
    },
}

/// `carbon feed …`
#[derive(Debug, Subcommand)]
pub enum FeedCommand {
    /// Make a feed.
    Create {
        /// A name (unique in the tenant).
        #[arg(long)]
        name: String,
        /// Instruments (one market; repeat or comma-separate).
        #[arg(
            short = 'i',
            long = "instrument",
            value_delimiter = ',',
            required_unless_present = "brief"
        )]
        instruments: Vec<String>,
        /// Instead of prices: the monthly market brief of this market (for
        /// the month before the firing day).
        #[arg(long, value_name = "MARKET", conflicts_with = "instruments")]
        brief: Option<String>,
        /// A brief feed's firing day of the month (1–28).
        #[arg(long, default_value_t = 2)]
        day_of_month: u32,
        /// Market runs (default da).
        #[arg(long = "market-run", value_delimiter = ',')]
        market_runs: Vec<String>,
        /// File format: csv, parquet (default), jsonl or xlsx.
        #[arg(long = "as", default_value = "parquet", value_name = "FORMAT")]
        file_format: String,
        /// Gzip the file.
        #[arg(long)]
        gzip: bool,
        /// Time of day it fires on the market clock, HH:MM.
        #[arg(long, default_value = "07:00")]
        at: String,
        /// Fire Monday to Friday only (default: every day).
        #[arg(long)]
        weekdays: bool,
        /// Market days before the firing day it covers (1: yesterday).
        #[arg(long, default_value_t = 1)]
        days_back: u32,
        /// A configured destination (`[[exports.destinations]]`); default the download center.
        #[arg(long)]
        destination: Option<String>,
        /// Folder inside the destination (default: from the name).
        #[arg(long)]
        prefix: Option<String>,
        /// Fire it at once too.
        #[arg(long)]
        run_now: bool,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
    },
    /// A tenant's feeds.
    List {
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// A feed's runs (its exports), newest first.
    Runs {
        /// Feed id (`fd_…`).
        id: String,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
    },
    /// Fire a feed now (today's market day) and wait for its file.
    Run {
        /// Feed id.
        id: String,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
    },
    /// Pause a feed.
    Pause {
        /// Feed id.
        id: String,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
    },
    /// Resume a paused feed.
    Resume {
        /// Feed id.
        id: String,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
    },
    /// Delete a feed (its past runs stay).
    Delete {
        /// Feed id.
        id: String,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
    },
}

/// `carbon report …`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Make the monthly market brief of a market's month (HTML and PDF, in
    /// the download center); beside a running server it is queued as a job.
    Create {
        /// The market (MISO, CAISO, …).
        #[arg(long)]
        market: String,
        /// The month on the market clock, YYYY-MM.
        #[arg(long)]
        month: String,
        /// Also copy the HTML and PDF into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<std::path::PathBuf>,
        /// The same key again gives back the first brief.
        #[arg(long)]
        idempotency_key: Option<String>,
        /// The tenant it is made for (the platform tenant sees every hub).
        #[arg(long, default_value = "platform")]
        tenant: String,
    },
    /// A tenant's briefs, newest first.
    List {
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// A signed, expiring link to a brief's HTML, PDF or manifest.
    Link {
        /// Brief id (`rp_…`).
        id: String,
        /// `brief-<MARKET>-<YYYY-MM>.html`, `.pdf` or `manifest.json`.
        #[arg(long)]
        file: String,
        /// Seconds the link is good for (at most 7 days).
        #[arg(long, default_value_t = 86_400)]
        ttl: u64,
        /// The tenant.
        #[arg(long, default_value = "platform")]
        tenant: String,
    },
}

/// The file of a non-price export.
#[derive(Debug, Args)]
pub struct ExportFileArgs {
    /// File format: csv, parquet, jsonl or xlsx.
    #[arg(long = "as", default_value = "csv", value_name = "FORMAT")]
    pub file_format: String,
    /// Gzip the file.
    #[arg(long)]
    pub gzip: bool,
    /// The tenant it is made for.
    #[arg(long, default_value = "platform")]
    pub tenant: String,
}

/// `carbon export prices|estimate`
#[derive(Debug, Args)]
pub struct ExportPricesArgs {
    /// The query (the flags of `carbon query prices`; its --format is the
    /// export's file format below).
    #[command(flatten)]
    pub query: PriceQueryArgs,
    /// File format: csv, parquet, jsonl or xlsx (an Excel workbook).
    #[arg(long = "as", default_value = "csv", value_name = "FORMAT")]
    pub file_format: String,
    /// Gzip each part.
    #[arg(long)]
    pub gzip: bool,
    /// The same key again gives back the first export.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// The tenant it is made for.
    #[arg(long, default_value = "platform")]
    pub tenant: String,
    /// Recorded as its owner.
    #[arg(long, default_value = "cli")]
    pub owner: String,
}

/// A price query (`carbon query prices`, `carbon export prices`).
#[derive(Debug, Args)]
pub struct PriceQueryArgs {
    /// Instrument id `<ISO>.<node>` (repeat, or separate with commas).
    #[arg(
        long = "instrument",
        short = 'i',
        required = true,
        value_delimiter = ',',
        value_name = "ID"
    )]
    pub instruments: Vec<String>,
    /// Range start, inclusive: RFC 3339 (2025-11-02T08:00:00Z) or a date/naive time read on the --tz clock.
    #[arg(long, value_name = "T")]
    pub start: String,
    /// Range end, exclusive (same forms as --start).
    #[arg(long, value_name = "T")]
    pub end: String,
    /// Market run(s): da, da_exante, rt, rt_prelim, rtpd, rt5 [default: all].
    #[arg(long = "market-run", value_delimiter = ',', value_name = "RUN")]
    pub market_runs: Vec<String>,
    /// Components: lmp, energy, congestion, loss, ghg [default: all].
    #[arg(long, value_delimiter = ',', value_name = "C")]
    pub components: Vec<String>,
    /// Resample to 5min, 15min, 1h, 1d or 1mo (days and months on the market clock).
    #[arg(long, value_name = "FREQ")]
    pub resample: Option<String>,
    /// Aggregation for --resample: mean, min, max, first, last [default: mean].
    #[arg(long, value_name = "AGG", requires = "resample")]
    pub agg: Option<String>,
    /// Power block: flat, onpeak, offpeak, 2x16, 7x8 (market clock and peak convention).
    #[arg(long, default_value = "flat")]
    pub block: String,
    /// Return what was known at this time (latest vintage at or before it).
    #[arg(long, value_name = "T")]
    pub as_of: Option<String>,
    /// Clock for naive --start/--end/--as-of and for table/JSON times.
    #[arg(long, value_enum, default_value_t = TzArg::Market)]
    pub tz: TzArg,
}

/// `carbon audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; exit 1 and name every altered or deleted event.
    Verify,
    /// Events, oldest first.
    List {
        /// Only events after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// `carbon backfill`
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Connector: miso, caiso or eia.
    pub connector: String,
    /// First market day (YYYY-MM-DD), inclusive.
    #[arg(long, value_name = "DATE")]
    pub from: String,
    /// Last market day (YYYY-MM-DD), inclusive [default: --from].
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Market run(s) [default: the connector's configured runs].
    #[arg(long = "market-run", value_delimiter = ',', value_name = "RUN")]
    pub market_runs: Vec<String>,
    /// Only these nodes (ISO names, comma-separated) instead of the configured ones.
    #[arg(long, value_delimiter = ',', value_name = "NODE")]
    pub nodes: Vec<String>,
    /// Only hubs.
    #[arg(long)]
    pub hubs_only: bool,
    /// Fetch again what was already ingested.
    #[arg(long)]
    pub force: bool,
    /// No progress bar (one line per request instead).
    #[arg(long)]
    pub no_progress: bool,
}

/// `carbon db …`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Rewrite stored data in series order so per-instrument queries read less
    /// (months changed since the last compaction only). `carbon serve` runs it nightly.
    Compact,
    /// Per-series statistics: rows, versions, first/last interval, last vintage and ingest.
    Stats {
        /// Only this market (MISO, CAISO, …).
        #[arg(long)]
        market: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// `carbon ingest …`
#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// Load MISO/CAISO files (CSV, JSON, ZIP, or directories of them) through the
    /// same parse → quality → store path as live data. Idempotent.
    File {
        /// Files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Force the source instead of detecting it from the content.
        #[arg(long, value_enum)]
        source: Option<SourceArg>,
        /// Vintage (publication time) to record instead of each file's modification time.
        #[arg(long, value_name = "T")]
        vintage: Option<String>,
    },
    /// Ingest runs, newest first.
    Runs {
        /// Only this connector (miso, caiso, file).
        #[arg(long)]
        connector: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Sources a user can force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    /// MISO market reports and 5-minute JSON.
    Miso,
    /// CAISO OASIS.
    Caiso,
    /// EIA files: wholesale portal (hub prices, load, temperature), Henry Hub, gas storage.
    Eia,
}

/// `carbon query …`
#[derive(Debug, Subcommand)]
pub enum QueryCommand {
    /// Prices of instruments over a time range (latest vintage, or as of a time).
    Prices(PricesArgs),
}

/// `carbon calendar …`
#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Observed NERC holidays of a year.
    Holidays {
        /// Year.
        #[arg(long)]
        year: i32,
    },
    /// Hours of each power block per month of a year on a market's clock.
    Hours {
        /// Market (MISO, CAISO, …).
        #[arg(long)]
        market: String,
        /// Year.
        #[arg(long)]
        year: i32,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// `carbon config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (after file, environment and flags) as TOML.
    Show,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    Table,
    /// Comma-separated values with a header.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// Clock for reading naive times and showing results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TzArg {
    /// Each instrument's market clock (MISO: EST; CAISO: America/Los_Angeles).
    Market,
    /// UTC.
    Utc,
}

/// `carbon query prices`
#[derive(Debug, Args)]
pub struct PricesArgs {
    /// The query.
    #[command(flatten)]
    pub query: PriceQueryArgs,
    /// Output format. CSV columns: instrument_id,market_run,interval_start_utc,
    /// interval_end_utc,lmp,energy,congestion,loss,ghg.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Stop after this many rows.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}
