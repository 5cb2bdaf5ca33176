//! The DuckDB backend: conformance suite and backend-specific behaviour.

use std::sync::Arc;

use async_trait::async_trait;
use carbon_store::{DuckdbStore, Error, RunLog, Store, conformance::Harness};

/// A DuckDB store in its own temporary data directory.
pub struct DuckHarness {
    dir: tempfile::TempDir,
}

impl DuckHarness {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
}

#[async_trait]
impl Harness for DuckHarness {
    async fn open(&self) -> Arc<dyn Store> {
        Arc::new(DuckdbStore::open(self.dir.path()).unwrap())
    }

    async fn open_run_log(&self) -> Arc<dyn RunLog> {
        Arc::new(DuckdbStore::open(self.dir.path()).unwrap())
    }

    async fn open_directory(&self) -> Arc<dyn carbon_store::Directory> {
        Arc::new(DuckdbStore::open(self.dir.path()).unwrap())
    }

    async fn open_curves(&self) -> Arc<dyn carbon_store::CurveStore> {
        Arc::new(DuckdbStore::open(self.dir.path()).unwrap())
    }

    async fn open_fundamentals(&self) -> Arc<dyn carbon_store::FundamentalStore> {
        Arc::new(DuckdbStore::open(self.dir.path()).unwrap())
    }

    async fn open_research(&self) -> Arc<dyn carbon_store::ResearchStore> {
        Arc::new(DuckdbStore::open(self.dir.path()).unwrap())
    }

    async fn open_jobs(&self) -> Arc<dyn carbon_store::JobStore> {
        Arc::new(DuckdbStore::open(self.dir.path()).unwrap())
    }

    async fn open_scenarios(&self) -> Arc<dyn carbon_store::ScenarioStore> {
        Arc::new(DuckdbStore::open(self.dir.path()).unwrap())
    }

    async fn open_exports(&self) -> Arc<dyn carbon_store::ExportStore> {
        Arc::new(DuckdbStore::open(self.dir.path()).unwrap())
    }

    async fn open_feeds(&self) -> Arc<dyn carbon_store::FeedStore> {
        Arc::new(DuckdbStore::open(self.dir.path()).unwrap())
    }

    async fn reopen(&self, store: Arc<dyn Store>) -> Arc<dyn Store> {
        assert_eq!(
            Arc::strong_count(&store),
            1,
            "the caller must hold the only handle"
        );
        drop(store);
        Arc::new(DuckdbStore::open(self.dir.path()).unwrap())
    }
}

carbon_store::conformance_tests!(DuckHarness::new());

#[test]
fn schema_is_migrated_once_and_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let s = DuckdbStore::open(dir.path()).unwrap();
    assert_eq!(s.schema_version().unwrap(), 12);
    assert!(s.path().ends_with("carbon.duckdb"));
    drop(s);
    let s = DuckdbStore::open(dir.path()).unwrap();
    assert_eq!(s.schema_version().unwrap(), 12);
}

/// Child half of `a_second_process_gets_a_clear_busy_error`: when run with
/// `CARBON_TEST_HOLD_DIR` set, opens the store there, signals readiness and
/// holds the file until killed (at most 30 s). Without the variable it does nothing.
#[test]
fn hold_store_open_child() {
    let Some(dir) = std::env::var_os("CARBON_TEST_HOLD_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let _s = DuckdbStore::open(&dir).unwrap();
    std::fs::write(dir.join("ready"), b"1").unwrap();
    std::thread::sleep(std::time::Duration::from_secs(30));
}

#[test]
fn a_second_process_gets_a_clear_busy_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "duckdb_backend::hold_store_open_child",
            "--nocapture",
        ])
        .env("CARBON_TEST_HOLD_DIR", dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ready = dir.path().join("ready");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !ready.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ready.exists(), "child did not open the store");
    let result = DuckdbStore::open(dir.path());
    child.kill().unwrap();
    child.wait().unwrap();
    let e = result.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Busy { .. }), "{msg}");
    assert!(msg.contains("in use by another carbon process"), "{msg}");
    assert!(msg.contains(&format!("(pid {})", child.id())), "{msg}");
    assert!(!e.is_user_error());
    // Once the other process is gone the store opens.
    assert!(DuckdbStore::open(dir.path()).is_ok());
}

/// Tampering with the audit log in the DuckDB file itself — editing an event,
/// deleting one, truncating the tail — is caught by verification.
#[test]
fn audit_tampering_in_the_file_is_detected() {
    use carbon_store::{Directory, NewAuditEvent, verify_chain};
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let verify = |dir: &std::path::Path| {
        let s = DuckdbStore::open(dir).unwrap();
        rt.block_on(async {
            let all = s.audit_events(0, 1000).await.unwrap();
            verify_chain(&all, s.audit_head().await.unwrap())
        })
    };
    {
        let s = DuckdbStore::open(dir.path()).unwrap();
        rt.block_on(async {
            for i in 0..6 {
                s.audit(NewAuditEvent {
                    actor: "admin".into(),
                    tenant: None,
                    action: "login".into(),
                    target: None,
                    outcome: "ok".into(),
                    detail: serde_json::json!({ "n": i }),
                })
                .await
                .unwrap();
            }
        });
    }
    assert!(verify(dir.path()).intact());
    let sql = |stmt: &str| {
        let c = duckdb::Connection::open(dir.path().join(carbon_store::DB_FILE)).unwrap();
        c.execute_batch(stmt).unwrap();
    };
    sql("UPDATE audit_log SET outcome = 'failed' WHERE seq = 2");
    let r = verify(dir.path());
    assert!(
        r.problems.iter().any(|p| p.starts_with("event 2:")),
        "{r:?}"
    );
    sql("UPDATE audit_log SET outcome = 'ok' WHERE seq = 2");
    assert!(verify(dir.path()).intact());
    sql("DELETE FROM audit_log WHERE seq = 4");
    let r = verify(dir.path());
    assert!(r.problems.iter().any(|p| p.contains("event 5")), "{r:?}");
    sql("DELETE FROM audit_log WHERE seq >= 4");
    let r = verify(dir.path());
    assert!(
        r.problems.iter().any(|p| p.contains("were deleted")),
        "{r:?}"
    );
}

/// A DuckDB store in `dir` holding `nodes` as MISO nodes.
async fn store_with_nodes(dir: &std::path::Path, nodes: &[impl AsRef<str>]) -> DuckdbStore {
    use carbon_core::{Instrument, LocationKind};
    let store = DuckdbStore::open(dir).unwrap();
    store
        .upsert_instruments(
            nodes
                .iter()
                .map(|n| {
                    Instrument::new(
                        carbon_store::conformance::id(n.as_ref()),
                        LocationKind::Node,
                    )
                })
                .collect(),
        )
        .await
        .unwrap();
    store
}

/// The price query cache: a repeated query is a hit with the same answer, a
/// write to its instrument makes it a miss, writes to other instruments and
/// re-appends of stored data do not, handles on one file share one cache, and
/// the budget bounds what it holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_cache_hits_invalidation_and_budget() {
    use carbon_core::MarketRun;
    use carbon_store::{
        PriceQuery,
        conformance::{id, lmp, obs, utc},
    };
    let dir = tempfile::tempdir().unwrap();
    let nodes: Vec<String> = (0..40).map(|i| format!("MISO.N{i:02}")).collect();
    let store = store_with_nodes(dir.path(), &nodes).await;
    let start = utc("2025-01-01T05:00:00Z");
    let day = |n: &str, v: f64, vintage: &str| {
        (0..24)
            .map(|h| {
                obs(
                    n,
                    MarketRun::Da,
                    start + chrono::Duration::hours(h),
                    60,
                    lmp(v + h as f64),
                    utc(vintage),
                    h as u64 + 1,
                )
            })
            .collect::<Vec<_>>()
    };
    for n in &nodes {
        store
            .append(day(n, 10.0, "2025-01-01T00:00:00Z"))
            .await
            .unwrap();
    }
    let q = |n: &str| PriceQuery::new(vec![id(n)], start, start + chrono::Duration::days(1));
    let before = store.cache_stats();
    let first = store.query_prices(q(&nodes[0])).await.unwrap();
    let again = store.query_prices(q(&nodes[0])).await.unwrap();
    let s = store.cache_stats();
    assert_eq!(first, again);
    assert_eq!((s.misses - before.misses, s.hits - before.hits), (1, 1));
    assert_eq!(first.rows.len(), 24);

    // A write to another instrument leaves the answer cached.
    store
        .append(day(&nodes[1], 20.0, "2025-01-02T00:00:00Z"))
        .await
        .unwrap();
    store.query_prices(q(&nodes[0])).await.unwrap();
    assert_eq!(store.cache_stats().hits - s.hits, 1);
    // A revision of this instrument: a miss, new values.
    store
        .append(day(&nodes[0], 30.0, "2025-01-02T00:00:00Z"))
        .await
        .unwrap();
    let s = store.cache_stats();
    let revised = store.query_prices(q(&nodes[0])).await.unwrap();
    assert_eq!(store.cache_stats().misses - s.misses, 1);
    assert_eq!(revised.rows[0].values.lmp, Some(30.0));
    // Re-appending what is stored changes nothing and keeps the answer.
    let s = store.cache_stats();
    store
        .append(day(&nodes[0], 30.0, "2025-01-02T00:00:00Z"))
        .await
        .unwrap();
    store.query_prices(q(&nodes[0])).await.unwrap();
    assert_eq!(store.cache_stats().hits - s.hits, 1);

    // Every answer is a day of 24 rows; the budget holds at most so many.
    for n in &nodes {
        store.query_prices(q(n)).await.unwrap();
    }
    let s = store.cache_stats();
    assert!(s.bytes <= s.budget, "{s:?}");
    assert!(s.entries >= 40.min(s.budget / 4096), "{s:?}");
    // A second handle on the file (tests open several) shares the cache.
    let other = DuckdbStore::open(dir.path()).unwrap();
    assert_eq!(other.cache_stats(), s);
}

/// Latest flat queries are answered from series chunks (an instrument's
/// latest rows one UTC month at a time): every window, run filter, component
/// list and page equals what DuckDB answers for the same data read as of a
/// far-future instant (a path that never uses chunks); moving windows over
/// months already read are hits; a write to an instrument makes its chunks
/// stale; the budget can be changed at run time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_chunks_answer_every_window_like_duckdb() {
    use carbon_core::{Component, Components, MarketRun};
    use carbon_store::{
        PricePage, PriceQuery,
        conformance::{id, obs, utc},
    };
    use chrono::Duration;
    let dir = tempfile::tempdir().unwrap();
    let nodes = ["MISO.B", "MISO.A", "MISO.C"];
    let store = store_with_nodes(dir.path(), &nodes).await;
    let v1 = utc("2025-04-01T00:00:00Z");
    let v2 = utc("2025-04-02T00:00:00Z");
    let comps = |x: f64| Components {
        lmp: Some(x),
        energy: Some(x - 1.0),
        congestion: Some(0.5),
        loss: Some(0.5),
        ghg: None,
    };
    // Hourly DA for A and B from mid-January to mid-March, five-minute RT for
    // A over the January/February boundary, C empty; some of A revised.
    for (k, n) in ["MISO.A", "MISO.B"].iter().enumerate() {
        let start = utc("2025-01-15T05:00:00Z");
        let rows: Vec<_> = (0..24 * 59)
            .map(|h| {
                let x = k as f64 * 1000.0 + h as f64;
                obs(
                    n,
                    MarketRun::Da,
                    start + Duration::hours(h),
                    60,
                    comps(x),
                    v1,
                    h as u64,
                )
            })
            .collect();
        store.append(rows).await.unwrap();
    }
    let rt_start = utc("2025-01-31T22:00:00Z");
    let rt: Vec<_> = (0..12 * 5)
        .map(|i| {
            obs(
                "MISO.A",
                MarketRun::Rt,
                rt_start + Duration::minutes(5 * i),
                5,
                comps(-(i as f64)),
                v1,
                i as u64,
            )
        })
        .collect();
    store.append(rt).await.unwrap();
    let revised: Vec<_> = (0..30)
        .map(|h| {
            obs(
                "MISO.A",
                MarketRun::Da,
                utc("2025-01-31T20:00:00Z") + Duration::hours(h),
                60,
                comps(5000.0 + h as f64),
                v2,
                h as u64,
            )
        })
        .collect();
    store.append(revised).await.unwrap();

    let far = utc("2100-01-01T00:00:00Z");
    let check = |q: PriceQuery| {
        let store = &store;
        async move {
            let mut sql = q.clone();
            sql.as_of = Some(far);
            let want = store.query_prices(sql).await.unwrap();
            let got = store.query_prices(q.clone()).await.unwrap();
            assert_eq!(got.rows, want.rows, "{q:?}");
            assert_eq!(
                got.next_cursor.is_some(),
                want.next_cursor.is_some(),
                "{q:?}"
            );
            got
        }
    };
    let all: Vec<_> = nodes.iter().map(|n| id(n)).collect();
    let windows = [
        ("2025-01-31T00:00:00Z", "2025-02-02T00:00:00Z"),
        ("2025-01-01T00:00:00Z", "2025-04-01T00:00:00Z"),
        ("2025-02-10T07:30:00Z", "2025-02-10T09:00:00Z"),
        ("2025-06-01T00:00:00Z", "2025-07-01T00:00:00Z"),
        ("2025-01-31T23:55:00Z", "2025-02-01T00:05:00Z"),
    ];
    let before = store.cache_stats();
    let mut answered = 0;
    for (a, b) in windows {
        for ids in [
            vec![id("MISO.A")],
            all.clone(),
            vec![id("MISO.C"), id("MISO.A")],
        ] {
            for runs in [vec![], vec![MarketRun::Rt], vec![MarketRun::Da]] {
                let mut q = PriceQuery::new(ids.clone(), utc(a), utc(b));
                q.market_runs = runs;
                answered += check(q.clone()).await.rows.len();
                q.components = vec![Component::Congestion, Component::Lmp];
                check(q).await;
            }
        }
    }
    assert!(answered > 10_000, "{answered}");
    let s = store.cache_stats();
    assert!(s.chunks >= 6 && s.hits > 0, "{s:?}");
    // Pages of 100 stitch to the whole answer, through chunks and SQL alike.
    let whole = PriceQuery::new(
        all.clone(),
        utc("2025-01-20T00:00:00Z"),
        utc("2025-03-01T00:00:00Z"),
    );
    let full = check(whole.clone()).await;
    let mut stitched = Vec::new();
    let mut q = whole.clone();
    q.limit = Some(100);
    loop {
        let page: PricePage = check(q.clone()).await;
        stitched.extend(page.rows);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(stitched, full.rows);
    assert!(full.rows.len() > 1900, "{}", full.rows.len());
    // The revision is what the latest answer shows.
    let one = PriceQuery::new(
        vec![id("MISO.A")],
        utc("2025-02-01T00:00:00Z"),
        utc("2025-02-01T01:00:00Z"),
    );
    let got = check(one.clone()).await;
    assert!(
        got.rows.iter().any(|r| r.values.lmp == Some(5004.0)),
        "{got:?}"
    );

    // Moving a window across loaded months: only hits.
    let s = store.cache_stats();
    for d in 0..20 {
        let a = utc("2025-01-16T00:00:00Z") + Duration::days(d);
        store
            .query_prices(PriceQuery::new(
                vec![id("MISO.B")],
                a,
                a + Duration::days(31),
            ))
            .await
            .unwrap();
    }
    let t = store.cache_stats();
    assert_eq!((t.hits - s.hits, t.misses - s.misses), (20, 0), "{t:?}");
    assert!(before.misses < t.misses);

    // A write to A: A's chunks are stale, B's are not.
    store
        .append(vec![obs(
            "MISO.A",
            MarketRun::Da,
            utc("2025-02-01T00:00:00Z"),
            60,
            comps(7.0),
            utc("2025-04-03T00:00:00Z"),
            1,
        )])
        .await
        .unwrap();
    let s = store.cache_stats();
    let got = check(one).await;
    assert_eq!(got.rows[0].values.lmp, Some(7.0));
    store
        .query_prices(PriceQuery::new(
            vec![id("MISO.B")],
            utc("2025-02-01T00:00:00Z"),
            utc("2025-02-02T00:00:00Z"),
        ))
        .await
        .unwrap();
    let t = store.cache_stats();
    // The as-of read (answer cache) and A's chunk miss; B hits.
    assert_eq!(t.hits - s.hits, 1, "{t:?}");

    // Off at run time: nothing held, answers unchanged; back on: chunks again.
    store.set_query_cache_budget(0);
    let s = store.cache_stats();
    assert_eq!((s.budget, s.entries, s.bytes), (0, 0, 0), "{s:?}");
    check(whole.clone()).await;
    assert_eq!(store.cache_stats().entries, 0);
    store.set_query_cache_budget(4 << 20);
    check(whole).await;
    let s = store.cache_stats();
    assert!(s.chunks > 0 && s.bytes <= s.budget, "{s:?}");

    // A miss reads its whole UTC month ahead: later days of February are hits.
    store.set_query_cache_budget(0);
    store.set_query_cache_budget(4 << 20);
    let b = |a: &str, z: &str| PriceQuery::new(vec![id("MISO.B")], utc(a), utc(z));
    check(b("2025-02-03T00:00:00Z", "2025-02-04T00:00:00Z")).await;
    let s = store.cache_stats();
    assert_eq!(s.chunks, 28, "{s:?}");
    let got = check(b("2025-02-20T00:00:00Z", "2025-02-26T00:00:00Z")).await;
    assert_eq!(got.rows.len(), 6 * 24);
    let t = store.cache_stats();
    assert_eq!((t.hits - s.hits, t.misses - s.misses), (1, 1), "{t:?}"); // the as-of read misses
}

/// `[store] query_cache_mb = 0` turns the cache off: every query goes to DuckDB.
#[test]
fn query_cache_can_be_turned_off() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    use carbon_core::{Instrument, LocationKind, MarketRun};
    use carbon_store::{
        PriceQuery,
        conformance::{id, lmp, obs, utc},
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = DuckdbStore::open_with(
        dir,
        &carbon_store::StoreConfig {
            query_cache_mb: 0,
            ..Default::default()
        },
    )
    .unwrap();
    let start = utc("2025-01-01T05:00:00Z");
    rt.block_on(async {
        store
            .upsert_instruments(vec![Instrument::new(id("MISO.A"), LocationKind::Node)])
            .await
            .unwrap();
        store
            .append(vec![obs(
                "MISO.A",
                MarketRun::Da,
                start,
                60,
                lmp(1.0),
                start,
                1,
            )])
            .await
            .unwrap();
        let q = PriceQuery::new(
            vec![id("MISO.A")],
            start,
            start + chrono::Duration::hours(1),
        );
        for _ in 0..3 {
            assert_eq!(store.query_prices(q.clone()).await.unwrap().rows.len(), 1);
        }
    });
    let s = store.cache_stats();
    assert_eq!((s.budget, s.hits, s.misses), (0, 0, 0), "{s:?}");
    // And the threads setting is applied at open.
    let t = DuckdbStore::open_with(
        &dir.join("other"),
        &carbon_store::StoreConfig {
            duckdb_threads: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(t.threads().unwrap(), 1);
}

/// `set_threads` changes DuckDB's thread count (what `carbon serve` does).
#[test]
fn threads_can_be_set() {
    let dir = tempfile::tempdir().unwrap();
    let s = DuckdbStore::open(dir.path()).unwrap();
    s.set_threads(1).unwrap();
    assert_eq!(s.threads().unwrap(), 1);
    s.set_threads(2).unwrap();
    assert_eq!(s.threads().unwrap(), 2);
    assert!(
        s.set_threads(0)
            .unwrap_err()
            .to_string()
            .contains("threads")
    );
}
