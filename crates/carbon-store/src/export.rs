//! File encodings of query results that need a columnar writer: Parquet,
//! written by DuckDB itself (an in-memory instance, nothing touches the store).

use duckdb::Connection;

use crate::{error::Result, model::PriceRow};

/// The header of a price CSV.
pub const PRICES_CSV_COLUMNS: &str =
    "instrument_id,market_run,interval_start_utc,interval_end_utc,lmp,energy,congestion,loss,ghg";

fn push_instant(out: &mut String, t: chrono::DateTime<chrono::Utc>) {
    carbon_core::time::push_rfc3339(out, t, 0);
}

fn push_opt(out: &mut String, v: Option<f64>) {
    if let Some(x) = v {
        out.push_str(&x.to_string());
    }
}

/// Appends price rows as CSV lines (no header): UTC instants in RFC 3339,
/// an empty cell for a missing component.
pub fn push_prices_csv(out: &mut String, rows: &[PriceRow]) {
    for r in rows {
        let v = &r.values;
        out.push_str(r.instrument_id.as_str());
        out.push(',');
        out.push_str(r.market_run.as_str());
        out.push(',');
        push_instant(out, r.interval_start);
        out.push(',');
        push_instant(out, r.interval_end);
        for x in [v.lmp, v.energy, v.congestion, v.loss, v.ghg] {
            out.push(',');
            push_opt(out, x);
        }
        out.push('\n');
    }
}

/// Appends price rows as JSON Lines, one object per row with the CSV's
/// columns (a missing component is `null`).
pub fn push_prices_jsonl(out: &mut String, rows: &[PriceRow]) {
    for r in rows {
        let v = &r.values;
        let line = serde_json::json!({
            "instrument_id": r.instrument_id.as_str(),
            "market_run": r.market_run.as_str(),
            "interval_start_utc": carbon_core_rfc3339(r.interval_start),
            "interval_end_utc": carbon_core_rfc3339(r.interval_end),
            "lmp": v.lmp, "energy": v.energy, "congestion": v.congestion,
            "loss": v.loss, "ghg": v.ghg,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
}

fn carbon_core_rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    let mut s = String::with_capacity(20);
    push_instant(&mut s, t);
    s
}

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
        use duckdb::arrow::{
            array::{ArrayRef, Float64Array, StringArray, TimestampMicrosecondArray},
            datatypes::{DataType, Field, Schema, TimeUnit},
            record_batch::RecordBatch,
        };
        let ts_type = DataType::Timestamp(TimeUnit::Microsecond, None);
        let schema = std::sync::Arc::new(Schema::new(vec![
            Field::new("instrument_id", DataType::Utf8, false),
            Field::new("market_run", DataType::Utf8, false),
            Field::new("interval_start_utc", ts_type.clone(), false),
            Field::new("interval_end_utc", ts_type, false),
            Field::new("lmp", DataType::Float64, true),
            Field::new("energy", DataType::Float64, true),
            Field::new("congestion", DataType::Float64, true),
            Field::new("loss", DataType::Float64, true),
            Field::new("ghg", DataType::Float64, true),
        ]));
        // Column batches through the Arrow appender: one call per 100,000
        // rows instead of one per row (about 10× faster for a month of nodes).
        let mut app = conn.appender("p")?;
        for chunk in rows.chunks(100_000) {
            let value = |f: fn(&PriceRow) -> Option<f64>| -> ArrayRef {
                std::sync::Arc::new(chunk.iter().map(f).collect::<Float64Array>())
            };
            let columns: Vec<ArrayRef> = vec![
                std::sync::Arc::new(
                    chunk
                        .iter()
                        .map(|r| Some(r.instrument_id.as_str()))
                        .collect::<StringArray>(),
                ),
                std::sync::Arc::new(
                    chunk
                        .iter()
                        .map(|r| Some(r.market_run.as_str()))
                        .collect::<StringArray>(),
                ),
                std::sync::Arc::new(TimestampMicrosecondArray::from(
                    chunk
                        .iter()
                        .map(|r| r.interval_start.timestamp_micros())
                        .collect::<Vec<_>>(),
                )),
                std::sync::Arc::new(TimestampMicrosecondArray::from(
                    chunk
                        .iter()
                        .map(|r| r.interval_end.timestamp_micros())
                        .collect::<Vec<_>>(),
                )),
                value(|r| r.values.lmp),
                value(|r| r.values.energy),
                value(|r| r.values.congestion),
                value(|r| r.values.loss),
                value(|r| r.values.ghg),
            ];
            let batch = RecordBatch::try_new(schema.clone(), columns)
                .map_err(|e| crate::Error::Backend(format!("parquet: {e}")))?;
            app.append_record_batch(batch)?;
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
