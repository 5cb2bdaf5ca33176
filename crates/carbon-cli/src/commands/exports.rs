//! The download center's parts built from the configuration: the object
//! store (a directory, `<data_dir>/objects` by default), the link key
//! (`<data_dir>/download-links.key`, made on first use, mode 0600) and the
//! limits.

use std::sync::Arc;

use anyhow::{Context, Result};
use carbon_service::{
    exports::{Exports, LinkSigner},
    objects::ObjectTarget,
    reports::DataSources,
};
use carbon_store::DuckdbStore;

use crate::config::Config;

/// The exports service over `store`.
pub(crate) fn open(config: &Config, store: Arc<DuckdbStore>) -> Result<Arc<Exports>> {
    let objects = match (&config.exports.s3, &config.exports.dir) {
        (Some(_), Some(_)) => anyhow::bail!("[exports]: give dir or s3, not both"),
        (Some(s3), None) => ObjectTarget::s3(s3).context("[exports.s3]")?,
        (None, dir) => {
            let dir = dir
                .clone()
                .unwrap_or_else(|| config.data_dir.join("objects"));
            ObjectTarget::dir(&dir).context("[exports] dir")?
        }
    };
    let key = config.data_dir.join("download-links.key");
    let signer = LinkSigner::load_or_create(&key)
        .with_context(|| format!("the download-link key {}", key.display()))?;
    let exports = Exports::new(
        store.clone(),
        store.clone(),
        objects,
        signer,
        config.exports.limits,
    );
    let mut destinations = Vec::new();
    for d in &config.exports.destinations {
        destinations.push(
            d.open()
                .with_context(|| format!("[[exports.destinations]] `{}`", d.name))?,
        );
    }
    exports.set_destinations(destinations);
    exports.set_sources(DataSources {
        store: store.clone(),
        research: store.clone(),
        fundamentals: store.clone(),
        curves: store,
    });
    Ok(exports)
}
