//! Crash safety: `carbon ingest file` on a large **synthetic** load (MISO's
//! real report layout, made-up nodes and values) is SIGKILLed at random
//! moments. After each kill, every file the process had acknowledged must be
//! in the store exactly as in a clean run; after a restart, the store must
//! equal the clean run's — nothing lost, nothing duplicated.
//!
//! `CARBON_CRASH_TRIALS` sets the number of trials (CI: 3;
//! `scripts/crash-test.sh` runs 20).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::Instant,
};

use carbon_core::{InstrumentId, Market};
use carbon_store::{DuckdbStore, InstrumentQuery, PriceQuery, StatsFilter, Store};
use chrono::{DateTime, NaiveDate, Utc};

use super::cli::{carbon, run};

type Dump = BTreeMap<(String, String, i64), (String, i64)>;

const DAYS: u32 = 10;
const NODES: usize = 600;

fn write_files(dir: &Path) -> Vec<PathBuf> {
    (1..=DAYS)
        .map(|d| {
            let p = dir.join(format!("202507{d:02}_da_expost_lmp.csv"));
            std::fs::write(&p, carbon_testkit::synthetic_miso_report(2025, 7, d, NODES)).unwrap();
            p
        })
        .collect()
}

/// Every stored price (latest vintage) and per-series version counts.
fn dump(data: &Path) -> (Dump, Vec<(String, String, u64, u64)>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Arc::new(DuckdbStore::open(data).unwrap());
        let ids: Vec<InstrumentId> = store
            .search_instruments(InstrumentQuery {
                market: Some(Market::Miso),
                ..Default::default()
            })
            .await
            .unwrap()
            .instruments
            .into_iter()
            .map(|i| i.id)
            .collect();
        let mut out = Dump::new();
        if !ids.is_empty() {
            let q = PriceQuery::new(
                ids,
                "2025-06-30T00:00:00Z".parse().unwrap(),
                "2025-08-01T00:00:00Z".parse().unwrap(),
            );
            for r in store.query_prices(q).await.unwrap().rows {
                out.insert(
                    (
                        r.instrument_id.to_string(),
                        r.market_run.to_string(),
                        r.interval_start.timestamp(),
                    ),
                    (
                        format!("{:?}", r.values),
                        r.vintage.map(|v| v.timestamp_micros()).unwrap_or_default(),
                    ),
                );
            }
        }
        let stats = store
            .series_stats(StatsFilter::default())
            .await
            .unwrap()
            .into_iter()
            .map(|s| {
                (
                    s.instrument_id.to_string(),
                    s.market_run.to_string(),
                    s.rows,
                    s.versions,
                )
            })
            .collect();
        (out, stats)
    })
}

/// Market day of an interval start (MISO: fixed UTC−5).
fn day_of(start: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp(start - 5 * 3600, 0)
        .unwrap()
        .date_naive()
}

#[test]
fn sigkill_during_ingest_loses_nothing_acknowledged_and_duplicates_nothing() {
    let trials: usize = std::env::var("CARBON_CRASH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let work = tempfile::tempdir().unwrap();
    let files = work.path().join("files");
    std::fs::create_dir(&files).unwrap();
    write_files(&files);

    let clean = work.path().join("clean");
    let t = Instant::now();
    let o = run(carbon(work.path())
        .arg("--data-dir")
        .arg(&clean)
        .args(["ingest", "file"])
        .arg(&files));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let clean_time = t.elapsed();
    let (clean_dump, clean_stats) = dump(&clean);
    assert_eq!(clean_dump.len(), DAYS as usize * NODES * 24);

    // Deterministic pseudo-random kill moments spread over the clean run time.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut killed_mid_way = 0;
    for trial in 0..trials {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let frac = (seed >> 11) as f64 / (1u64 << 53) as f64;
        let delay = clean_time.mul_f64(0.05 + 0.9 * frac);
        let data = work.path().join(format!("trial{trial}"));
        let mut child = carbon(work.path())
            .arg("--data-dir")
            .arg(&data)
            .args(["ingest", "file"])
            .arg(&files)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let finished_first = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        // Files the process acknowledged before it died.
        let acked: Vec<NaiveDate> = stdout
            .lines()
            .filter(|l| l.starts_with("ok "))
            .filter_map(|l| l.split('/').next_back())
            .filter_map(|f| NaiveDate::parse_from_str(&f[..8], "%Y%m%d").ok())
            .collect();
        if !finished_first && acked.len() < DAYS as usize {
            killed_mid_way += 1;
        }
        if data.join(carbon_store::DB_FILE).exists() {
            let (after_kill, stats) = dump(&data);
            for (k, v) in &clean_dump {
                if acked.contains(&day_of(k.2)) {
                    assert_eq!(
                        after_kill.get(k),
                        Some(v),
                        "trial {trial}: acknowledged row lost: {k:?}"
                    );
                }
            }
            // Whatever is stored is exactly the clean run's content: no partial
            // batch, no duplicate version.
            for (k, v) in &after_kill {
                assert_eq!(
                    clean_dump.get(k),
                    Some(v),
                    "trial {trial}: unexpected row {k:?}"
                );
            }
            assert!(
                stats.iter().all(|s| s.2 == s.3),
                "trial {trial}: duplicated versions"
            );
        } else {
            assert!(acked.is_empty());
        }
        // Restart to completion.
        let o = run(carbon(work.path())
            .arg("--data-dir")
            .arg(&data)
            .args(["ingest", "file"])
            .arg(&files));
        assert_eq!(o.code, 0, "trial {trial} restart: {}{}", o.stdout, o.stderr);
        let (d, s) = dump(&data);
        assert!(
            d == clean_dump,
            "trial {trial}: store differs from the clean run"
        );
        assert_eq!(s, clean_stats, "trial {trial}");
        std::fs::remove_dir_all(&data).unwrap();
        eprintln!(
            "crash trial {trial}: killed after {:?} ({} of {DAYS} files acknowledged) — ok",
            delay,
            acked.len()
        );
    }
    if trials >= 3 {
        assert!(
            killed_mid_way >= 1,
            "no trial killed the ingest mid-way; clean run took {clean_time:?}"
        );
    }
}
