//! File encodings of query results that need a columnar writer: Parquet,
//! written by DuckDB itself (an in-memory instance, nothing touches the store).

use duckdb::{Connection, params};

use crate::{duck::ts, error::Result, model::PriceRow};

/// Encodes price rows as a Parquet file (zstd), with the CSV's columns:
/// `instrument_id, market_run, interval_start_utc, interval_end_utc` (UTC
/// timestamps) and `lmp, energy, congestion, loss, ghg` (nullable doubles).
pub fn prices_parquet(rows: &[PriceRow]) -> Result<Vec<u8>> {
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(
        "CREATE TABLE p (instrument_id VARCHAR, market_run VARCHAR,
            interval_start_utc TIMESTAMP, interval_end_utc TIMESTAMP,
            lmp DOUBLE, energy DOUBLE, congestion DOUBLE, loss DOUBLE, ghg DOUBLE)",
    )?;
    {
        let mut app = conn.appender("p")?;
        for r in rows {
            let v = &r.values;
            app.append_row(params![
                r.instrument_id.as_str(),
                r.market_run.as_str(),
                ts(r.interval_start),
                ts(r.interval_end),
                v.lmp,
                v.energy,
                v.congestion,
                v.loss,
                v.ghg,
            ])?;
        }
        app.flush()?;
    }
    let dir = tempfile_dir()?;
    let path = dir.join("prices.parquet");
    let target = path.display().to_string().replace('\'', "''");
    let written = conn
        .execute_batch(&format!(
            "COPY p TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
        ))
        .map_err(crate::Error::from)
        .and_then(|()| {
            std::fs::read(&path).map_err(|e| crate::Error::Backend(format!("parquet: {e}")))
        });
    let _ = std::fs::remove_dir_all(&dir);
    written
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "carbon-export-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).map_err(|e| crate::Error::Backend(format!("parquet: {e}")))?;
    Ok(d)
}
