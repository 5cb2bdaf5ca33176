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
    assert_eq!(s.schema_version().unwrap(), 3);
    assert!(s.path().ends_with("carbon.duckdb"));
    drop(s);
    let s = DuckdbStore::open(dir.path()).unwrap();
    assert_eq!(s.schema_version().unwrap(), 3);
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
