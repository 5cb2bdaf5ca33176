//! Parsers never panic: arbitrary bytes and damaged real files give a value or
//! an error, nothing else.

use carbon_ingest::{
    caiso::parse::parse_oasis,
    detect::detect,
    miso::parse::{parse_five_minute_json, parse_market_report},
};
use chrono::{DateTime, Utc};
use proptest::prelude::*;

fn v() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn all_parsers(bytes: &[u8]) {
    let _ = detect("x", bytes, None);
    let _ = parse_market_report(bytes, "x.csv", v());
    let _ = parse_five_minute_json(bytes, "x.json", v());
    let _ = parse_oasis(bytes, "x.zip", v());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        all_parsers(&bytes);
    }

    #[test]
    fn damaged_fixtures(which in 0usize..6, cut in 0usize..12_000, flip in 0usize..12_000, byte in any::<u8>()) {
        let files = [
            "miso/da_expost_lmp_20260714_3hubs.csv",
            "miso/da_expost_lmp_20261001_hubs_interfaces_subset.csv",
            "miso/api_GetRealTimeFiveMinExPost_Previous_20261001_first3intervals.json",
            "caiso/oasis_PRC_LMP_DAM_v1_20200510_0096WD_7_N001.csv",
            "caiso/oasis_PRC_RTPD_LMP_v2_20230917-18_CAS_PP_GNODE7.csv",
            "caiso/oasis_PRC_LMP_DAM_20200101_ALL_APNODES_9rows.csv",
        ];
        let mut bytes = std::fs::read(super::fixture(files[which])).unwrap();
        if !bytes.is_empty() {
            let i = flip % bytes.len();
            bytes[i] = byte;
        }
        bytes.truncate(cut.min(bytes.len()));
        all_parsers(&bytes);
    }
}
