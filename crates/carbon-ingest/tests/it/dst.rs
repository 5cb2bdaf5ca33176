//! Clock rules from the brief, as test cases: CAISO's fall-back day with
//! `OPR_HR=25` (GMT 09:00–10:00), its 23-hour spring day, and MISO's fixed EST
//! on a US DST date. The OASIS rows here are written from those rules.

use std::io::Write;

use carbon_core::{Market, time};
use carbon_ingest::{
    caiso::parse::{OasisPayload, parse_oasis},
    dq::{self, DqConfig},
    miso::parse::parse_market_report,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};

const HEADER: &str = "INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,NODE_ID_XML,NODE_ID,NODE,MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,MW,GROUP";

/// An OASIS PRC_LMP DAM CSV for one CAISO day: LMP rows (value = ordinal) in
/// reverse order (OASIS rows are unsorted), OPR_HR per the OASIS convention.
fn oasis_day(date: &str) -> (String, usize) {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    let hours = time::day_hours(Market::Caiso, d);
    let mut rows = vec![HEADER.to_string()];
    for h in hours.iter().rev() {
        let opr_hr = if h.repeated { 25 } else { h.hour_ending };
        rows.push(format!(
            "{},{},{date},{opr_hr},0,TH_SP15_GEN-APND,TH_SP15_GEN-APND,TH_SP15_GEN-APND,DAM,LMP,LMP_PRC,TH_SP15_GEN-APND,ALL,1,{},1",
            h.start.format("%Y-%m-%dT%H:%M:%S-00:00"),
            h.end.format("%Y-%m-%dT%H:%M:%S-00:00"),
            h.ordinal
        ));
    }
    (rows.join("\n") + "\n", hours.len())
}

fn zip_of(name: &str, body: &[u8]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(body).unwrap();
        z.finish().unwrap();
    }
    buf.into_inner()
}

fn v() -> DateTime<Utc> {
    "2025-11-01T20:00:00Z".parse().unwrap()
}

#[test]
fn caiso_fall_back_day_has_25_intervals_with_opr_hr_25_at_0900z() {
    let (csv, n) = oasis_day("2025-11-02");
    assert_eq!(n, 25);
    assert!(csv.contains("2025-11-02T09:00:00-00:00,2025-11-02T10:00:00-00:00,2025-11-02,25,"));
    let zip = zip_of("20251102_20251103_PRC_LMP_DAM_v12.csv", csv.as_bytes());
    let OasisPayload::Prices(p) = parse_oasis(&zip, "fallback.zip", v()).unwrap() else {
        panic!()
    };
    assert_eq!(p.observations.len(), 25);
    for (i, o) in p.observations.iter().enumerate() {
        assert_eq!(o.values.lmp, Some(i as f64 + 1.0));
        assert_eq!(
            o.interval_start,
            "2025-11-02T07:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::hours(i as i64)
        );
    }
    // The OPR_HR=25 row is the third interval: 09:00Z.
    assert_eq!(
        p.observations.get(2).interval_start,
        "2025-11-02T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    let checked = dq::check(Market::Caiso, p.observations, &DqConfig::default());
    assert_eq!(
        checked.findings.incomplete_total, 0,
        "{:?}",
        checked.findings
    );
}

#[test]
fn caiso_spring_forward_day_has_23_intervals() {
    let (csv, n) = oasis_day("2025-03-09");
    assert_eq!(n, 23);
    let OasisPayload::Prices(p) = parse_oasis(csv.as_bytes(), "spring.csv", v()).unwrap() else {
        panic!()
    };
    assert_eq!(p.observations.len(), 23);
    let checked = dq::check(Market::Caiso, p.observations.clone(), &DqConfig::default());
    assert_eq!(checked.findings.incomplete_total, 0);
    // A day with an hour missing is reported incomplete (22 of 23).
    let short = p.observations.filter(|i| i != 5);
    let checked = dq::check(Market::Caiso, short, &DqConfig::default());
    assert_eq!(checked.findings.incomplete[0].expected, 23);
    assert_eq!(checked.findings.incomplete[0].found, 22);
}

#[test]
fn caiso_opr_dt_must_match_the_gmt_start() {
    let (csv, _) = oasis_day("2025-11-02");
    let broken = csv.replacen(",2025-11-02,25,", ",2025-11-03,25,", 1);
    let e = parse_oasis(broken.as_bytes(), "bad.csv", v())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.csv, line") && e.contains("field OPR_DT"),
        "{e}"
    );
}

#[test]
fn oasis_xml_reports_are_messages_not_data() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?><m:OASISReport xmlns:m="http://www.caiso.com/soa/OASISReport_v1.xsd"><m:MessagePayload><m:RTO><m:ERROR><m:ERR_CODE>1000</m:ERR_CODE><m:ERR_DESC>No data returned for the specified selection</m:ERR_DESC></m:ERROR></m:RTO></m:MessagePayload></m:OASISReport>"#;
    let p = parse_oasis(&zip_of("INVALID_REQUEST.xml", xml), "nodata.zip", v()).unwrap();
    assert!(p.is_no_data());
    assert_eq!(
        p,
        OasisPayload::Report {
            code: Some("1000".into()),
            message: "No data returned for the specified selection".into()
        }
    );
}

#[test]
fn miso_report_on_a_us_dst_date_stays_on_est() {
    // The real 2026-07-14 report re-dated to the 2025 spring-forward day, with an
    // unpadded date as MISO sometimes writes it.
    let raw =
        std::fs::read_to_string(super::fixture("miso/da_expost_lmp_20260714_3hubs.csv")).unwrap();
    let text = raw.replacen("07/14/2026", "3/9/2025", 1);
    let p = parse_market_report(text.as_bytes(), "20250309_da_expost_lmp.csv", v()).unwrap();
    assert_eq!(p.observations.len(), 72);
    let starts: Vec<DateTime<Utc>> = p
        .observations
        .iter()
        .take(24)
        .map(|o| o.interval_start)
        .collect();
    assert_eq!(
        starts[0],
        "2025-03-09T05:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    // HE 3 exists (02:00 EST = 07:00Z) and hours stay contiguous.
    assert_eq!(
        starts[2],
        "2025-03-09T07:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert!(starts.windows(2).all(|w| w[1] - w[0] == Duration::hours(1)));
    let checked = dq::check(Market::Miso, p.observations, &DqConfig::default());
    assert_eq!(checked.findings.incomplete_total, 0);
}
