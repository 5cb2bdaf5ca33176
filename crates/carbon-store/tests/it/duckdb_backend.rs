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

    async fn open_fundamentals(
        &self,
    ) -> (
        Arc<dyn carbon_store::FundamentalStore>,
        Arc<dyn carbon_store::ResearchStore>,
    ) {
        let s = Arc::new(DuckdbStore::open(self.dir.path()).unwrap());
        (s.clone(), s)
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
    assert_eq!(s.schema_version().unwrap(), 6);
    assert!(s.path().ends_with("carbon.duckdb"));
    drop(s);
    let s = DuckdbStore::open(dir.path()).unwrap();
    assert_eq!(s.schema_version().unwrap(), 6);
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
