//! Exports into a real object store (the local filesystem through
//! `object_store`) from a real DuckDB store loaded with the real MISO 2021
//! EIA file: parts by month, manifest last with each part's rows and SHA-256
//! (checked here by reading the files from disk), CSV values equal to the raw
//! file, Parquet read back by DuckDB, JSON Lines, gzip; a store that refuses a
//! write publishes nothing; links valid, tampered, expired and of another
//! tenant; idempotency, limits and retention.
#![allow(clippy::unwrap_used, missing_docs)]

use std::{io::Read, path::Path, sync::Arc};

use carbon_core::{InstrumentId, MarketRun};
use carbon_ingest::{bus::InProcessBus, dq::DqConfig, files, runner::Runner};
use carbon_service::{
    exports::{
        DownloadError, ExportFormat, ExportLimits, ExportSpec, Exports, LinkSigner, month_parts,
    },
    objects::ObjectTarget,
    reports::{BriefSpec, DataSources},
    research::Progress,
};
use carbon_store::{DuckdbStore, PriceQuery};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

const FILE: &str = "miso_lmp_rt_hr_hubs_2021_eia.csv";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

struct Env {
    dir: tempfile::TempDir,
    exports: Arc<Exports>,
    store: Arc<DuckdbStore>,
    rt: tokio::runtime::Runtime,
}

fn env(limits: ExportLimits) -> Env {
    env_with(limits, &[])
}

/// The store loaded with the MISO file and `extra` fundamentals files.
fn env_with(limits: ExportLimits, extra: &[&str]) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DuckdbStore::open(&dir.path().join("data")).unwrap());
    let rt = rt();
    let runner = Runner::new(
        store.clone(),
        store.clone(),
        Arc::new(InProcessBus::default()),
        DqConfig::default(),
    )
    .with_fundamentals(store.clone());
    for f in std::iter::once(&FILE).chain(extra) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/fundamentals")
            .join(f);
        rt.block_on(runner.ingest("file", files::read(&path, None).unwrap(), None))
            .unwrap();
    }
    let objects = ObjectTarget::dir(&dir.path().join("objects")).unwrap();
    let signer = LinkSigner::load_or_create(&dir.path().join("links.key")).unwrap();
    let exports = Exports::new(store.clone(), store.clone(), objects, signer, limits);
    exports.set_sources(DataSources {
        store: store.clone(),
        research: store.clone(),
        fundamentals: store.clone(),
        curves: store.clone(),
    });
    Env {
        dir,
        exports,
        store,
        rt,
    }
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn spec(format: ExportFormat, gzip: bool) -> ExportSpec {
    let ids = ["MISO.INDIANA.HUB", "MISO.ILLINOIS.HUB"]
        .map(|i| i.parse::<InstrumentId>().unwrap())
        .to_vec();
    let mut q = PriceQuery::new(ids, t("2021-01-15T00:00:00Z"), t("2021-03-10T00:00:00Z"));
    q.market_runs = vec![MarketRun::Rt];
    ExportSpec {
        prices: q,
        format,
        gzip,
        idempotency_key: None,
        feed: None,
    }
}

fn progress() -> Progress {
    Progress::new(
        Arc::new(|_, _: &str| {}),
        Arc::new(std::sync::atomic::AtomicBool::new(false)),
    )
}

/// (interval start, Indiana Hub LMP) of the raw file in [from, to).
fn raw_indiana(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, f64)> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/fundamentals")
        .join(FILE);
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines = text.lines().skip(3);
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let c = header.iter().position(|h| *h == "Indiana Hub LMP").unwrap();
    lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let end = NaiveDateTime::parse_from_str(f[0], "%Y-%m-%d %H:%M:%S")
                .unwrap()
                .and_utc();
            let start = end - Duration::hours(1);
            (start >= from && start < to).then(|| Some((start, f[c].parse().ok()?)))?
        })
        .collect()
}

fn part_path(env: &Env, tenant: &str, id: &str, name: &str) -> std::path::PathBuf {
    env.dir
        .path()
        .join("objects/exports")
        .join(tenant)
        .join(id)
        .join(name)
}

#[test]
fn csv_parts_by_month_with_a_manifest_that_matches_the_files_and_the_raw_file() {
    let env = env(ExportLimits::default());
    let s = spec(ExportFormat::Csv, false);
    let est = env.rt.block_on(env.exports.estimate(&s)).unwrap();
    assert_eq!(est.parts, 3);
    // 54 days × 24 hours × 2 hubs.
    assert_eq!(est.rows, 54 * 24 * 2);
    let (e, fresh) = env
        .rt
        .block_on(env.exports.create("A", "alice", &s))
        .unwrap();
    assert!(fresh && e.status == "queued");
    let done = env
        .rt
        .block_on(env.exports.run("A", &e.id, progress()))
        .unwrap();
    assert_eq!(done.status, "succeeded");
    let m = done.manifest.clone().unwrap();
    let parts = m["parts"].as_array().unwrap();
    let names: Vec<&str> = parts.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "prices-2021-01.csv",
            "prices-2021-02.csv",
            "prices-2021-03.csv"
        ]
    );
    let mut total = 0;
    for p in parts {
        let bytes =
            std::fs::read(part_path(&env, "A", &e.id, p["name"].as_str().unwrap())).unwrap();
        assert_eq!(p["bytes"].as_u64().unwrap(), bytes.len() as u64);
        let sha: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(p["sha256"], sha.as_str());
        let text = String::from_utf8(bytes).unwrap();
        let rows = text.lines().count() as u64 - 1;
        assert_eq!(p["rows"].as_u64().unwrap(), rows);
        total += rows;
    }
    assert_eq!(m["rows"].as_u64().unwrap(), total);
    assert_eq!(total, 54 * 24 * 2);
    // The February part's Indiana prices are the raw file's, hour by hour.
    let feb = std::fs::read_to_string(part_path(&env, "A", &e.id, "prices-2021-02.csv")).unwrap();
    let got: Vec<(DateTime<Utc>, f64)> = feb
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("MISO.INDIANA.HUB,rt,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (t(f[2]), f[4].parse().unwrap())
        })
        .collect();
    assert_eq!(
        got,
        raw_indiana(t("2021-02-01T00:00:00Z"), t("2021-03-01T00:00:00Z"))
    );
    assert!(part_path(&env, "A", &e.id, "manifest.json").exists());
}

#[test]
fn parquet_parts_read_back_by_duckdb_and_gzipped_jsonl() {
    let env = env(ExportLimits::default());
    let (e, _) = env
        .rt
        .block_on(
            env.exports
                .create("A", "alice", &spec(ExportFormat::Parquet, false)),
        )
        .unwrap();
    env.rt
        .block_on(env.exports.run("A", &e.id, progress()))
        .unwrap();
    let db = duckdb::Connection::open_in_memory().unwrap();
    let feb = part_path(&env, "A", &e.id, "prices-2021-02.parquet");
    let (n, sum): (i64, f64) = db
        .query_row(
            &format!(
                "SELECT count(*), sum(lmp) FROM read_parquet('{}') WHERE instrument_id = 'MISO.INDIANA.HUB'",
                feb.display()
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let raw = raw_indiana(t("2021-02-01T00:00:00Z"), t("2021-03-01T00:00:00Z"));
    assert_eq!(n as usize, raw.len());
    assert!((sum - raw.iter().map(|r| r.1).sum::<f64>()).abs() < 1e-6);

    let (e, _) = env
        .rt
        .block_on(
            env.exports
                .create("A", "alice", &spec(ExportFormat::Jsonl, true)),
        )
        .unwrap();
    let done = env
        .rt
        .block_on(env.exports.run("A", &e.id, progress()))
        .unwrap();
    let part = part_path(&env, "A", &e.id, "prices-2021-03.jsonl.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(part).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows.len() as u64,
        done.manifest.unwrap()["parts"][2]["rows"].as_u64().unwrap()
    );
    assert_eq!(rows[0]["market_run"], "rt");
    assert!(
        rows[0]["lmp"].is_number()
            && rows[0]["interval_start_utc"]
                .as_str()
                .unwrap()
                .ends_with('Z')
    );
}

#[test]
fn a_store_that_refuses_a_write_publishes_nothing() {
    let env = env(ExportLimits::default());
    let (e, _) = env
        .rt
        .block_on(
            env.exports
                .create("A", "alice", &spec(ExportFormat::Csv, false)),
        )
        .unwrap();
    // A directory where February's part must go: the write fails (for root too).
    std::fs::create_dir_all(part_path(&env, "A", &e.id, "prices-2021-02.csv")).unwrap();
    let err = env
        .rt
        .block_on(env.exports.run("A", &e.id, progress()))
        .unwrap_err();
    assert!(err.to_string().contains("prices-2021-02.csv"), "{err}");
    let failed = env.rt.block_on(env.exports.get("A", &e.id)).unwrap();
    assert_eq!(failed.status, "failed");
    assert!(failed.manifest.is_none());
    // January's part, written before, is gone; there is no manifest.
    assert!(!part_path(&env, "A", &e.id, "prices-2021-01.csv").exists());
    assert!(!part_path(&env, "A", &e.id, "manifest.json").exists());
}

#[test]
fn links_are_refused_when_tampered_expired_or_for_another_tenant() {
    let env = env(ExportLimits::default());
    let now = Utc::now();
    let (a, _) = env
        .rt
        .block_on(
            env.exports
                .create("A", "alice", &spec(ExportFormat::Csv, false)),
        )
        .unwrap();
    let a = env
        .rt
        .block_on(env.exports.run("A", &a.id, progress()))
        .unwrap();
    let (b, _) = env
        .rt
        .block_on(
            env.exports
                .create("B", "bob", &spec(ExportFormat::Csv, false)),
        )
        .unwrap();
    let b = env
        .rt
        .block_on(env.exports.run("B", &b.id, progress()))
        .unwrap();
    let link = env
        .exports
        .link(&a, "prices-2021-02.csv", Duration::hours(1), now);
    let link = env.rt.block_on(link).unwrap();
    let q = link.split_once('?').unwrap().1;
    let expires: i64 = q
        .split('&')
        .find_map(|kv| kv.strip_prefix("expires="))
        .unwrap()
        .parse()
        .unwrap();
    let sig = q.split('&').find_map(|kv| kv.strip_prefix("sig=")).unwrap();
    let body = env
        .rt
        .block_on(
            env.exports
                .download(&a, "prices-2021-02.csv", expires, sig, now),
        )
        .unwrap();
    assert_eq!(
        body.as_ref(),
        std::fs::read(part_path(&env, "A", &a.id, "prices-2021-02.csv")).unwrap()
    );
    let refused = |e: &carbon_store::Export, file: &str, exp: i64, sig: &str, at: DateTime<Utc>| {
        env.rt
            .block_on(env.exports.download(e, file, exp, sig, at))
            .unwrap_err()
    };
    // Another file, a later expiry, another tenant's export, a bent signature, too late.
    assert!(matches!(
        refused(&a, "prices-2021-01.csv", expires, sig, now),
        DownloadError::Refused(_)
    ));
    assert!(matches!(
        refused(&a, "prices-2021-02.csv", expires + 3600, sig, now),
        DownloadError::Refused(_)
    ));
    assert!(matches!(
        refused(&b, "prices-2021-02.csv", expires, sig, now),
        DownloadError::Refused(_)
    ));
    let mut bent = sig.to_string();
    bent.replace_range(0..1, if &sig[0..1] == "0" { "1" } else { "0" });
    assert!(matches!(
        refused(&a, "prices-2021-02.csv", expires, &bent, now),
        DownloadError::Refused(_)
    ));
    assert_eq!(
        refused(
            &a,
            "prices-2021-02.csv",
            expires,
            sig,
            now + Duration::hours(2)
        ),
        DownloadError::Refused("an expired link")
    );
    // A file the export does not have cannot be linked.
    assert!(
        env.rt
            .block_on(
                env.exports
                    .link(&a, "../../B/x.csv", Duration::hours(1), now)
            )
            .is_err()
    );
    // The key survives a restart: the same file signs the same.
    let again = LinkSigner::load_or_create(&env.dir.path().join("links.key")).unwrap();
    assert_eq!(again.sign("A", &a.id, "prices-2021-02.csv", expires), sig);
}

#[test]
fn idempotency_limits_and_retention() {
    let env = env(ExportLimits {
        max_rows: 3_000,
        max_running: 1,
        retention_days: -1,
        ..ExportLimits::default()
    });
    let mut s = spec(ExportFormat::Csv, false);
    s.idempotency_key = Some("daily-2021-02".into());
    let (first, fresh) = env
        .rt
        .block_on(env.exports.create("A", "alice", &s))
        .unwrap();
    let (again, fresh2) = env
        .rt
        .block_on(env.exports.create("A", "alice", &s))
        .unwrap();
    assert!(fresh && !fresh2 && again.id == first.id);
    // One running already: a second (new) export waits for it.
    let e = env
        .rt
        .block_on(
            env.exports
                .create("A", "alice", &spec(ExportFormat::Csv, false)),
        )
        .unwrap_err();
    assert!(e.to_string().contains("at most 1 at once"), "{e}");
    // Over the row limit.
    let mut big = spec(ExportFormat::Csv, false);
    big.prices.end = t("2021-12-31T00:00:00Z");
    let e = env
        .rt
        .block_on(env.exports.create("B", "bob", &big))
        .unwrap_err();
    assert!(e.to_string().contains("at most 3000"), "{e}");
    // Retention: expired at once (−1 day), so cleanup deletes its files.
    env.rt
        .block_on(env.exports.run("A", &first.id, progress()))
        .unwrap();
    assert!(part_path(&env, "A", &first.id, "manifest.json").exists());
    let n = env.rt.block_on(env.exports.cleanup(Utc::now())).unwrap();
    assert_eq!(n, 1);
    assert!(!part_path(&env, "A", &first.id, "manifest.json").exists());
    assert!(!part_path(&env, "A", &first.id, "prices-2021-02.csv").exists());
    assert_eq!(
        env.rt
            .block_on(env.exports.get("A", &first.id))
            .unwrap()
            .status,
        "expired"
    );
}

#[test]
fn parts_follow_utc_calendar_months() {
    let p = month_parts(t("2021-01-15T06:00:00Z"), t("2021-03-01T00:00:00Z"));
    assert_eq!(
        p,
        vec![
            (t("2021-01-15T06:00:00Z"), t("2021-02-01T00:00:00Z")),
            (t("2021-02-01T00:00:00Z"), t("2021-03-01T00:00:00Z")),
        ]
    );
    assert_eq!(
        month_parts(t("2021-12-20T00:00:00Z"), t("2022-01-02T00:00:00Z")).len(),
        2
    );
}

#[test]
fn an_xlsx_part_opens_with_an_independent_reader_and_holds_the_raw_prices() {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let env = env(ExportLimits::default());
    let mut gz = spec(ExportFormat::Xlsx, true);
    let e = env
        .rt
        .block_on(env.exports.create("A", "alice", &gz))
        .unwrap_err();
    assert!(e.to_string().contains("compressed already"), "{e}");
    gz.gzip = false;
    let (e, _) = env
        .rt
        .block_on(env.exports.create("A", "alice", &gz))
        .unwrap();
    env.rt
        .block_on(env.exports.run("A", &e.id, progress()))
        .unwrap();
    let mut book: Xlsx<_> =
        open_workbook(part_path(&env, "A", &e.id, "prices-2021-02.xlsx")).unwrap();
    let sheet = book.worksheet_range("prices").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(header.join(","), carbon_store::export::PRICES_CSV_COLUMNS);
    let got: Vec<(DateTime<Utc>, f64)> = rows[1..]
        .iter()
        .filter(|r| matches!(&r[0], Data::String(s) if s == "MISO.INDIANA.HUB"))
        .map(|r| {
            // Excel keeps a date-time as days since 1899-12-30 (serial).
            let serial = match &r[2] {
                Data::DateTime(d) => d.as_f64(),
                other => panic!("not a date-time: {other:?}"),
            };
            let secs = ((serial - 25_569.0) * 86_400.0).round() as i64;
            let lmp = match r[4] {
                Data::Float(x) => x,
                ref other => panic!("not a number: {other:?}"),
            };
            (DateTime::from_timestamp(secs, 0).unwrap(), lmp)
        })
        .collect();
    assert_eq!(
        got,
        raw_indiana(t("2021-02-01T00:00:00Z"), t("2021-03-01T00:00:00Z"))
    );
}

#[test]
fn day_and_month_buckets_are_not_split_the_market_clock_bounds_the_parts() {
    use carbon_service::exports::month_parts_on;
    // MISO's clock is EST: its months start at 05:00 UTC.
    let p = month_parts_on(
        t("2021-01-01T05:00:00Z"),
        t("2021-03-01T05:00:00Z"),
        Some(carbon_core::Market::Miso),
    );
    assert_eq!(
        p,
        vec![
            (t("2021-01-01T05:00:00Z"), t("2021-02-01T05:00:00Z")),
            (t("2021-02-01T05:00:00Z"), t("2021-03-01T05:00:00Z")),
        ]
    );
}

#[test]
fn a_damaged_link_key_is_an_error_never_silently_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("links.key");
    std::fs::write(&path, b"short").unwrap();
    let e = LinkSigner::load_or_create(&path).unwrap_err();
    assert!(e.to_string().contains("not a 32-byte key"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), b"short");
    std::fs::remove_file(&path).unwrap();
    let a = LinkSigner::load_or_create(&path).unwrap();
    let b = LinkSigner::load_or_create(&path).unwrap();
    assert_eq!(a.sign("A", "ex", "f", 1), b.sign("A", "ex", "f", 1));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

fn run_tool(cmd: &str, args: &[&str]) -> String {
    let o = std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} (poppler-utils) must be installed: {e}"));
    assert!(
        o.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn a_monthly_brief_of_miso_february_2021_carries_indiana_hubs_average_and_max() {
    let env = env_with(
        ExportLimits::default(),
        &[
            "miso_temp_hr_2021_eia.csv",
            "henry_hub_spot_daily_eia_1997-01-07_2026-08-18.csv",
            "ng_storage_weekly_by_region_eia_2010-01-01_2024-04-12.csv",
        ],
    );
    let spec = BriefSpec {
        market: carbon_core::Market::Miso,
        month: "2021-02".into(),
        hubs: None,
        curves: true,
        fundamentals: true,
        market_wide: true,
        feed: None,
    };
    let (e, fresh) = env
        .rt
        .block_on(env.exports.create_report("A", "ann", &spec, None))
        .unwrap();
    assert!(fresh && e.id.starts_with("rp_"));
    let started = std::time::Instant::now();
    let done = env
        .rt
        .block_on(env.exports.run("A", &e.id, progress()))
        .unwrap();
    let took = started.elapsed();
    assert_eq!(done.status, "succeeded");
    // Independently: Indiana Hub's February (EST days: MISO's clock is UTC−5
    // all year) from the raw file.
    let raw = raw_indiana(t("2021-02-01T05:00:00Z"), t("2021-03-01T05:00:00Z"));
    assert_eq!(raw.len(), 28 * 24);
    let avg = raw.iter().map(|r| r.1).sum::<f64>() / raw.len() as f64;
    let max = raw.iter().map(|r| r.1).fold(f64::MIN, f64::max);
    let pdf = part_path(&env, "A", &e.id, "brief-MISO-2021-02.pdf");
    let text = run_tool("pdftotext", &["-layout", pdf.to_str().unwrap(), "-"]);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("MISO.INDIANA.HUB"))
        .unwrap_or_else(|| panic!("no Indiana Hub row in:\n{text}"));
    let (avg_s, max_s) = (format!("{avg:.2}"), format!("{max:.2}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    // hub, on-peak, off-peak, all hours, min, max, volatility, DA–RT
    assert_eq!(cells[3], avg_s, "all-hours average in {line}");
    assert_eq!(cells[5], max_s, "maximum in {line}");
    assert!(text.contains("MISO monthly market brief"), "{text}");
    assert!(
        text.contains("real-time (hourly)"),
        "the basis is named: {text}"
    );
    // Fundamentals stored for the month are there: Indianapolis temperature,
    // Henry Hub gas, Lower-48 storage.
    for f in [
        "Indianapolis temperature",
        "Henry Hub spot price",
        "Total Lower 48 storage",
    ] {
        assert!(text.contains(f), "{f} missing:\n{text}");
    }
    // Every page renders (pdftoppm), one PNG per page, kept as artifacts.
    let pages: usize = run_tool("pdfinfo", &[pdf.to_str().unwrap()])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let out = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("report-artifacts/brief-MISO-2021-02");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    run_tool(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "50",
            pdf.to_str().unwrap(),
            out.join("page").to_str().unwrap(),
        ],
    );
    let pngs = std::fs::read_dir(&out).unwrap().count();
    assert!(
        pages >= 2 && pngs == pages,
        "{pages} pages, {pngs} PNGs in {}",
        out.display()
    );
    // The HTML asks for nothing outside itself.
    let html =
        std::fs::read_to_string(part_path(&env, "A", &e.id, "brief-MISO-2021-02.html")).unwrap();
    for bad in [
        "http:", "https:", "<script", "<link", "@import", "url(", "<img", "<iframe",
    ] {
        assert!(!html.contains(bad), "the HTML holds `{bad}`");
    }
    assert!(html.contains(&avg_s) && html.contains(&max_s));
    // The manifest lists both files with their digests.
    let m = done.manifest.unwrap();
    let names: Vec<&str> = m["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["brief-MISO-2021-02.html", "brief-MISO-2021-02.pdf"]);
    let bytes = std::fs::read(&pdf).unwrap();
    assert_eq!(m["parts"][1]["sha256"], hex(&Sha256::digest(&bytes)));
    eprintln!(
        "brief gathered, rendered and stored in {took:?}; {pages} pages in {}",
        out.display()
    );
    // A month not begun, a malformed one, and a hub list narrow the brief.
    let mut later = spec.clone();
    later.month = "2099-01".into();
    assert!(
        env.rt
            .block_on(env.exports.create_report("A", "ann", &later, None))
            .is_err()
    );
    later.month = "2021-13".into();
    let err = env
        .rt
        .block_on(env.exports.create_report("A", "ann", &later, None))
        .unwrap_err();
    assert!(err.to_string().contains("YYYY-MM"), "{err}");
    let mut narrow = spec.clone();
    narrow.hubs = Some(vec!["MISO.ILLINOIS.HUB".into()]);
    narrow.fundamentals = false;
    narrow.market_wide = false;
    let (e2, _) = env
        .rt
        .block_on(env.exports.create_report("B", "bob", &narrow, None))
        .unwrap();
    env.rt
        .block_on(env.exports.run("B", &e2.id, progress()))
        .unwrap();
    let text = run_tool(
        "pdftotext",
        &[
            "-layout",
            part_path(&env, "B", &e2.id, "brief-MISO-2021-02.pdf")
                .to_str()
                .unwrap(),
            "-",
        ],
    );
    assert!(
        text.contains("MISO.ILLINOIS.HUB") && !text.contains("MISO.INDIANA.HUB"),
        "{text}"
    );
    assert!(!text.contains("Indianapolis temperature"));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn a_feed_fired_by_the_scheduler_delivers_yesterday_into_its_destination() {
    use carbon_service::{
        feeds::{FeedSpec, Feeds},
        jobs::Jobs,
        objects::DestinationConfig,
        research::ResearchDeps,
    };
    let env = env(ExportLimits::default());
    let bucket = env.dir.path().join("acme-bucket");
    let dest = DestinationConfig {
        name: "acme".into(),
        tenants: vec!["A".into()],
        s3: None,
        dir: Some(bucket.clone()),
    };
    env.exports.set_destinations(vec![dest.open().unwrap()]);
    let jobs = Jobs::new(env.store.clone(), ResearchDeps::of(env.store.clone()));
    jobs.set_exports(env.exports.clone());
    let feeds = Feeds::new(env.store.clone(), env.exports.clone(), jobs.clone());
    let spec: FeedSpec = serde_json::from_value(serde_json::json!({
        "instruments": ["MISO.INDIANA.HUB"], "market_runs": ["rt"], "at": "07:00",
        "destination": "acme", "prefix": "lmp/daily",
    }))
    .unwrap();
    // Another tenant cannot name acme's destination; names are per tenant.
    let err = env
        .rt
        .block_on(feeds.create("B", "bob", "daily", spec.clone(), false))
        .unwrap_err();
    assert!(err.to_string().contains("destination"), "{err}");
    let f = env
        .rt
        .block_on(feeds.create("A", "ann", "daily", spec.clone(), false))
        .unwrap();
    // Due next at 07:00 EST (12:00 UTC) after now.
    assert!(f.next_due > Utc::now() && f.next_due.format("%H:%M").to_string() == "12:00");
    // Not due: nothing fires.
    assert!(
        env.rt
            .block_on(feeds.fire_due(Utc::now()))
            .unwrap()
            .is_empty()
    );
    // The scheduler's clock at 2021-02-03 07:00 EST: yesterday is 2021-02-02.
    let mut due = f.clone();
    due.next_due = t("2021-02-03T12:00:00Z");
    env.rt
        .block_on(carbon_store::FeedStore::update_feed(
            env.store.as_ref(),
            &due,
        ))
        .unwrap();
    let fired = env
        .rt
        .block_on(feeds.fire_due(t("2021-02-03T12:00:05Z")))
        .unwrap();
    assert_eq!(fired.len(), 1);
    let export_id = fired[0].export.as_ref().unwrap().clone();
    // The job worker writes it.
    let workers = env.rt.block_on(async { jobs.start_workers(1) });
    let t0 = std::time::Instant::now();
    let done = loop {
        let e = env.rt.block_on(env.exports.get("A", &export_id)).unwrap();
        if e.status == "succeeded" || e.status == "failed" {
            break e;
        }
        assert!(t0.elapsed() < std::time::Duration::from_secs(30), "{e:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    for w in workers {
        w.abort();
    }
    assert_eq!(done.status, "succeeded", "{:?}", done.error);
    // In the destination, under the tenant's folder:
    // A/lmp/daily/2021-02-02/prices-2021-02.parquet and a
    // manifest; read back by DuckDB = the raw file's Indiana Hub of that
    // EST day (24 hours).
    let folder = bucket.join("A/lmp/daily/2021-02-02");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["rows"], 24);
    let part = folder.join("prices-2021-02.parquet");
    let db = duckdb::Connection::open_in_memory().unwrap();
    let ours: Vec<f64> = db
        .prepare(&format!(
            "SELECT lmp FROM read_parquet('{}') ORDER BY interval_start_utc",
            part.display()
        ))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|x| x.unwrap())
        .collect();
    let raw: Vec<f64> = raw_indiana(t("2021-02-02T05:00:00Z"), t("2021-02-03T05:00:00Z"))
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(ours, raw);
    // The feed knows: one run, a success, due next day; its history is that export.
    let f2 = env.rt.block_on(feeds.get("A", &f.id)).unwrap();
    assert_eq!((f2.runs, f2.failures), (1, 0));
    assert!(f2.last_success.is_some() && f2.last_error.is_none());
    assert!(f2.next_due > t("2021-02-03T12:00:05Z"));
    let history = env.rt.block_on(feeds.history("A", &f.id, 10)).unwrap();
    assert_eq!(
        history.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        [export_id.as_str()]
    );
    // Firing the same day again (a second process, a retry) delivers nothing new.
    let again = env
        .rt
        .block_on(feeds.fire("A", &f.id, t("2021-02-03T13:00:00Z")))
        .unwrap();
    assert_eq!(again.id, export_id);
    // Retention leaves the tenant's own files in its destination.
    env.rt
        .block_on(env.exports.cleanup(Utc::now() + Duration::days(30)))
        .unwrap();
    assert!(part.exists());
    // A run that fails counts: a destination that refuses writes (a file
    // where the folder should be).
    let mut due = env.rt.block_on(feeds.get("A", &f.id)).unwrap();
    due.next_due = t("2021-02-05T12:00:00Z");
    env.rt
        .block_on(carbon_store::FeedStore::update_feed(
            env.store.as_ref(),
            &due,
        ))
        .unwrap();
    std::fs::write(bucket.join("A/lmp/daily/2021-02-04"), b"in the way").unwrap();
    let fired = env
        .rt
        .block_on(feeds.fire_due(t("2021-02-05T12:00:01Z")))
        .unwrap();
    let id2 = fired[0].export.as_ref().unwrap().clone();
    let e2 = env.rt.block_on(env.exports.run("A", &id2, progress()));
    assert!(e2.is_err());
    let f3 = env.rt.block_on(feeds.get("A", &f.id)).unwrap();
    assert_eq!(f3.failures, 1);
    assert!(
        f3.last_error
            .as_deref()
            .unwrap()
            .contains("refused the write"),
        "{:?}",
        f3.last_error
    );
    assert!(!bucket.join("A/lmp/daily/2021-02-04/manifest.json").exists());
}

#[test]
fn a_fundamentals_series_exports_as_csv_and_xlsx_equal_to_the_raw_file() {
    use carbon_service::datasets::{DataExport, DataSpec};
    const HH: &str = "henry_hub_spot_daily_eia_1997-01-07_2026-08-18.csv";
    let env = env_with(ExportLimits::default(), &[HH]);
    let data = DataSpec::Fundamentals {
        entity: "Henry Hub".into(),
        variable: "spot_price".into(),
        start: Some(t("2021-02-01T00:00:00Z")),
        end: Some(t("2021-03-01T00:00:00Z")),
        as_of: None,
        scenario_id: None,
    };
    // The raw file's February 2021 (Date,Price).
    let raw: Vec<(String, f64)> = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/fundamentals")
            .join(HH),
    )
    .unwrap()
    .lines()
    .filter(|l| l.starts_with("2021-02-"))
    .map(|l| {
        let (d, p) = l.split_once(',').unwrap();
        (d.to_string(), p.parse().unwrap())
    })
    .collect();
    assert_eq!(raw.len(), 19, "trading days of February 2021");
    for format in [ExportFormat::Csv, ExportFormat::Xlsx] {
        let spec = DataExport {
            data: data.clone(),
            format,
            gzip: false,
            idempotency_key: None,
        };
        let (e, _) = env
            .rt
            .block_on(env.exports.create_data("A", "ann", &spec))
            .unwrap();
        assert_eq!(e.dataset, "fundamentals");
        let done = env
            .rt
            .block_on(env.exports.run("A", &e.id, progress()))
            .unwrap();
        assert_eq!(done.rows, 19);
        let name = done.manifest.as_ref().unwrap()["parts"][0]["name"]
            .as_str()
            .unwrap()
            .to_string();
        let path = part_path(&env, "A", &e.id, &name);
        let ours: Vec<(String, f64)> = if format == ExportFormat::Csv {
            assert_eq!(name, "fundamentals-Henry-Hub-spot_price.csv");
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .skip(1)
                .map(|l| {
                    let c: Vec<&str> = l.split(',').collect();
                    (c[2][..10].to_string(), c[4].parse().unwrap())
                })
                .collect()
        } else {
            use calamine::{Data, Reader, Xlsx, open_workbook};
            let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
            let sheet = wb.worksheet_range_at(0).unwrap().unwrap();
            sheet
                .rows()
                .skip(1)
                .map(|r| {
                    // Excel serial days since 1899-12-30.
                    let serial = match &r[2] {
                        Data::DateTime(d) => d.as_f64(),
                        other => panic!("{other:?}"),
                    };
                    let secs = ((serial - 25_569.0) * 86_400.0).round() as i64;
                    let day = DateTime::from_timestamp(secs, 0)
                        .unwrap()
                        .date_naive()
                        .to_string();
                    let price = match &r[4] {
                        Data::Float(x) => *x,
                        other => panic!("{other:?}"),
                    };
                    (day, price)
                })
                .collect()
        };
        assert_eq!(ours, raw, "{format:?}");
    }
}

#[test]
fn a_brief_feed_delivers_last_months_brief_and_records_its_success() {
    use carbon_service::{
        feeds::{FeedSpec, Feeds},
        jobs::Jobs,
        research::ResearchDeps,
    };
    let env = env(ExportLimits::default());
    let jobs = Jobs::new(env.store.clone(), ResearchDeps::of(env.store.clone()));
    jobs.set_exports(env.exports.clone());
    let feeds = Feeds::new(env.store.clone(), env.exports.clone(), jobs);
    let spec: FeedSpec = serde_json::from_value(serde_json::json!({
        "kind": "brief", "market": "MISO", "day_of_month": 2, "at": "06:00",
    }))
    .unwrap();
    let f = env
        .rt
        .block_on(feeds.create("A", "ann", "monthly brief", spec, false))
        .unwrap();
    let mut due = f.clone();
    due.next_due = t("2021-03-02T11:00:00Z");
    env.rt
        .block_on(carbon_store::FeedStore::update_feed(
            env.store.as_ref(),
            &due,
        ))
        .unwrap();
    let fired = env
        .rt
        .block_on(feeds.fire_due(t("2021-03-02T11:00:01Z")))
        .unwrap();
    let id = fired[0].export.as_ref().unwrap().clone();
    assert!(id.starts_with("rp_"), "{id}");
    let done = env
        .rt
        .block_on(env.exports.run("A", &id, progress()))
        .unwrap();
    assert_eq!(done.spec["month"], "2021-02");
    assert!(part_path(&env, "A", &id, "brief-MISO-2021-02.pdf").exists());
    let f2 = env.rt.block_on(feeds.get("A", &f.id)).unwrap();
    assert!(f2.last_success.is_some() && f2.failures == 0, "{f2:?}");
    assert!(f2.next_due > t("2021-03-02T11:00:01Z"));
    assert!(
        f2.next_due.format("%d %H:%M").to_string() == "02 11:00",
        "{}",
        f2.next_due
    );
}
