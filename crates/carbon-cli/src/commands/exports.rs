//! The download center's parts built from the configuration: the object
//! store (a directory, `<data_dir>/objects` by default), the link key
//! (`<data_dir>/download-links.key`, made on first use, mode 0600) and the
//! limits.

use std::sync::Arc;

use anyhow::{Context, Result};
use carbon_service::exports::{Exports, LinkSigner};
use carbon_store::DuckdbStore;

use crate::config::Config;

/// The exports service over `store`.
pub(crate) fn open(config: &Config, store: Arc<DuckdbStore>) -> Result<Arc<Exports>> {
    let dir = config
        .exports
        .dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("objects"));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("[exports] dir {}: cannot create it", dir.display()))?;
    let objects = object_store::local::LocalFileSystem::new_with_prefix(&dir)
        .with_context(|| format!("[exports] dir {}", dir.display()))?;
    let key = config.data_dir.join("download-links.key");
    let signer = LinkSigner::load_or_create(&key)
        .with_context(|| format!("the download-link key {}", key.display()))?;
    Ok(Exports::new(
        store.clone(),
        store,
        Arc::new(objects),
        signer,
        config.exports.limits,
    ))
}
