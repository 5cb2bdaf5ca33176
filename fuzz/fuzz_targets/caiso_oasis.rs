//! Fuzz target: caiso_oasis must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn vintage() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let _ = carbon_ingest::caiso::parse::parse_oasis(data, "fuzz.zip", vintage());
});
