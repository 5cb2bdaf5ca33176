//! The conformance checks of the stores PostgreSQL holds (jobs, exports,
//! feeds), each on a fresh schema of the server at `CARBON_TEST_PG`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`, the machine's
//! own, trust auth; `scripts/test.sh` checks it answers), dropped afterwards.
//! Prices, fundamentals, curve points and the rest of the suite belong to
//! the ClickHouse backend and the metadata stores still to move here
//! (directory, run log, curve-run and research metadata, scenarios): issue
//! 23's later parts expand their checks here as they land.
//!
//! Plus what only a shared server shows: jobs queued from two processes'
//! pools and claimed by four claimers at once run exactly once; two
//! processes migrating one schema at once apply each migration once.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use async_trait::async_trait;
use carbon_store::{JobStore, conformance::Harness};
use carbon_store_postgres::PgStore;

fn url() -> String {
    std::env::var("CARBON_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn schema() -> String {
    format!("carbon_test_{:016x}", rand::random::<u64>())
}

/// A fresh schema per store opened; all dropped when the harness goes.
struct Pg {
    opened: std::sync::Mutex<Vec<PgStore>>,
}

impl Pg {
    fn new() -> Self {
        Self {
            opened: std::sync::Mutex::new(Vec::new()),
        }
    }

    async fn fresh(&self) -> PgStore {
        let s = PgStore::connect(&url(), &schema())
            .await
            .expect("PostgreSQL at CARBON_TEST_PG (scripts/test.sh starts the machine's own)");
        self.opened.lock().unwrap().push(s.clone());
        s
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let stores: Vec<PgStore> = std::mem::take(&mut *self.opened.lock().unwrap());
        if stores.is_empty() {
            return;
        }
        // A runtime of its own: the test's is shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            for s in stores {
                let _ = rt.block_on(s.drop_schema());
            }
        })
        .join();
    }
}

#[async_trait]
impl Harness for Pg {
    async fn open_jobs(&self) -> Arc<dyn carbon_store::JobStore> {
        Arc::new(self.fresh().await)
    }
    async fn open_exports(&self) -> Arc<dyn carbon_store::ExportStore> {
        Arc::new(self.fresh().await)
    }
    async fn open_feeds(&self) -> Arc<dyn carbon_store::FeedStore> {
        Arc::new(self.fresh().await)
    }
}

carbon_store::conformance_tests!(@each Pg::new();
    jobs_queue_claim_fairly_once_and_recover,
    jobs_are_served_round_robin_across_tenants,
    exports_are_idempotent_tenant_scoped_and_expire,
    feeds_are_named_per_tenant_and_keep_their_state
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_from_two_processes_run_exactly_once_under_concurrent_claims() {
    let name = schema();
    // Two "processes": two pools on one schema.
    let a = PgStore::connect(&url(), &name).await.unwrap();
    let b = PgStore::connect(&url(), &name).await.unwrap();
    let t0 = chrono::Utc::now();
    for i in 0..20 {
        let s = if i % 2 == 0 { &a } else { &b };
        let job = carbon_store::Job::queued(
            format!("job_{i:02}"),
            "analysis",
            serde_json::json!({ "n": i }),
            if i % 3 == 0 { "A" } else { "B" },
            "test",
            t0,
        );
        s.enqueue(job).await.unwrap();
    }
    // Four claimers, two per process, racing.
    let mut tasks = Vec::new();
    for k in 0..4 {
        let s = if k % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(j) = s.claim(chrono::Utc::now()).await.unwrap() {
                got.push(j.id.clone());
                s.finish(
                    &j.id,
                    carbon_store::JobEnd::Succeeded(serde_json::json!(k)),
                    chrono::Utc::now(),
                )
                .await
                .unwrap();
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let want: Vec<String> = (0..20).map(|i| format!("job_{i:02}")).collect();
    assert_eq!(all, want, "every job claimed exactly once");
    for j in a
        .jobs(carbon_store::JobFilter {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap()
    {
        assert_eq!(
            (j.status, j.attempts),
            (carbon_store::JobStatus::Succeeded, 1),
            "{}",
            j.id
        );
    }
    a.drop_schema().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_migrating_at_once_apply_each_migration_once() {
    let name = schema();
    let u = url();
    let (a, b) = tokio::join!(PgStore::connect(&u, &name), PgStore::connect(&u, &name));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a.schema_version().await.unwrap(),
        b.schema_version().await.unwrap()
    );
    assert!(a.schema_version().await.unwrap() >= 3);
    // A bad schema name is refused before anything is sent.
    let bad = PgStore::connect(&url(), "x; DROP TABLE jobs")
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("schema"), "{bad}");
    drop(b);
    a.drop_schema().await.unwrap();
}
