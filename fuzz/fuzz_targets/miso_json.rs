//! Fuzz target: miso_json must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn vintage() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let _ = carbon_ingest::miso::parse::parse_five_minute_json(data, "fuzz.json", vintage());
});
