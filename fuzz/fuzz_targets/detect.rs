//! Fuzz target: detect must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn vintage() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let _ = carbon_ingest::runner::Runner::parse(&carbon_ingest::runner::Payload { source: "fuzz".into(), bytes: data.to_vec(), fetched_at: vintage(), published_at: None }, None);
});
