//! `carbon db stats`.

use std::process::ExitCode;

use anyhow::Result;
use carbon_core::Market;
use carbon_store::{StatsFilter, Store};
use chrono::SecondsFormat;

use super::{flag, open_store, output, runtime};
use crate::{
    cli::Format,
    config::Config,
    output::{Cell, RowWriter},
};

pub fn stats(config: &Config, market: Option<&str>, format: Format) -> Result<ExitCode> {
    let market: Option<Market> = market.map(|m| flag("--market", m.parse())).transpose()?;
    let store = open_store(config)?;
    let stats = runtime()?.block_on(store.series_stats(StatsFilter {
        market,
        ..Default::default()
    }))?;
    if format == Format::Table {
        let size = std::fs::metadata(store.path())
            .map(|m| m.len())
            .unwrap_or(0);
        let rows: u64 = stats.iter().map(|s| s.rows).sum();
        let versions: u64 = stats.iter().map(|s| s.versions).sum();
        outln!(
            "database {} ({:.1} MB, schema v{}): {} series, {rows} intervals, {versions} versions",
            store.path().display(),
            size as f64 / 1e6,
            store.schema_version()?,
            stats.len()
        );
    }
    let t =
        |d: chrono::DateTime<chrono::Utc>| Cell::Text(d.to_rfc3339_opts(SecondsFormat::Secs, true));
    let mut w = RowWriter::new(
        output(None)?,
        format,
        &[
            "instrument_id",
            "market_run",
            "rows",
            "versions",
            "first_interval_start_utc",
            "last_interval_end_utc",
            "last_vintage_utc",
            "last_ingested_utc",
        ],
    )?;
    for s in stats {
        w.row(vec![
            Cell::Text(s.instrument_id.to_string()),
            Cell::Text(s.market_run.to_string()),
            Cell::Int(s.rows),
            Cell::Int(s.versions),
            t(s.first_interval_start),
            t(s.last_interval_end),
            t(s.last_vintage),
            t(s.last_ingested),
        ])?;
    }
    w.finish()?;
    Ok(ExitCode::SUCCESS)
}
