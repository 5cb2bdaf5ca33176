//! The scenario document: a full example in YAML and JSON, and malformed
//! documents whose errors name the field, the line and the column.
#![allow(clippy::unwrap_used, missing_docs)]

use carbon_scenario::dsl::{Month, parse, schema};

const GOOD: &str = r#"# Gas +1, carbon 25 $/t from 2027, load +2 %/yr
name: Gas +1 / carbon 25
description: central case
instrument: MISO.INDIANA.HUB
base:
  curve_id: MISO_INDIANA_HUB_FWD
  as_of: 2026-11-30
calibration:
  start: 2021-01-01
  end: 2022-01-01
drivers:
  gas:
    shift: { default: 1.0, "2027-01": 1.5, "2027-06..2027-08": 0.5, "2028": 2 }
  carbon:
    price: { "2027": 25 }
  adder:
    onpeak: 2
monte_carlo: { paths: 500, seed: 7 }
"#;

fn m(s: &str) -> Month {
    Month::parse(s).unwrap()
}

#[test]
fn a_full_document_reads_the_same_in_yaml_and_json() {
    let s = parse(GOOD).unwrap();
    assert_eq!(s.name, "Gas +1 / carbon 25");
    assert_eq!(s.market_run, "da");
    assert_eq!(s.calibration.gas.to_string(), "Henry Hub/spot_price");
    let gas = s.drivers.gas.as_ref().unwrap();
    // Most specific entry wins: month, then range, then year, then default.
    assert_eq!(gas.delta(m("2027-01")).unwrap(), 1.5);
    assert_eq!(gas.delta(m("2027-07")).unwrap(), 0.5);
    assert_eq!(gas.delta(m("2027-02")).unwrap(), 1.0);
    assert_eq!(gas.delta(m("2028-07")).unwrap(), 2.0);
    let carbon = &s.drivers.carbon.as_ref().unwrap().price;
    assert_eq!(
        (carbon.at(m("2027-12")), carbon.at(m("2028-01"))),
        (Some(25.0), None)
    );
    assert_eq!(s.monte_carlo.as_ref().unwrap().paths, 500);
    // Its canonical JSON reads back to the same scenario.
    let json = serde_json::to_string_pretty(&s).unwrap();
    assert_eq!(parse(&json).unwrap(), s);
}

/// (document, expected error text).
const BAD: [(&str, &str); 12] = [
    (
        "name: x\ninstrument: MISO.INDIANA.HUB\nbase: { curve_id: C }\ncalibration: { start: 2021-01-01, end: 2022-01-01 }\ndrivers:\n  gas:\n    shift:\n      \"2027-13\": 1\n",
        "drivers.gas.shift[\"2027-13\"]: not a month (YYYY-MM, month 01–12) (line 8, column 7)",
    ),
    (
        "name: x\ninstrument: MISO.INDIANA.HUB\nbase: { curve_id: C }\ncalibration: { start: 2021-01-01, end: 2022-01-01 }\ncolour: red\n",
        "unknown field `colour`",
    ),
    (
        "name: x\ninstrument: NOWHERE.HUB\nbase: { curve_id: C }\ncalibration: { start: 2021-01-01, end: 2022-01-01 }\n",
        "instrument: `NOWHERE.HUB`",
    ),
    (
        "name: x\ninstrument: MISO.INDIANA.HUB\nbase: { curve_id: C, run_id: R }\ncalibration: { start: 2021-01-01, end: 2022-01-01 }\n",
        "base: give curve_id or run_id, not both (line 3",
    ),
    (
        "name: x\ninstrument: MISO.INDIANA.HUB\nbase: { curve_id: C }\ncalibration: { start: 2021-01-01, end: 2021-01-10 }\n",
        "calibration: the window 2021-01-01..2021-01-10 holds 9 day(s); give at least 28",
    ),
    (
        "name: x\ninstrument: MISO.INDIANA.HUB\nbase: { curve_id: C }\ncalibration: { start: 2021-01-01, end: 2022-01-01 }\ndrivers: { gas: { pct: 10 } }\n",
        "drivers.gas: pct needs the gas curve it applies to (curve)",
    ),
    (
        "name: x\ninstrument: MISO.INDIANA.HUB\nbase: { curve_id: C }\ncalibration: { start: 2021-01-01, end: 2022-01-01 }\ndrivers: { carbon: { price: { \"2027\": -5 } } }\n",
        "drivers.carbon: price[\"2027\"]: -5 is not a price ≥ 0",
    ),
    (
        "name: x\ninstrument: MISO.INDIANA.HUB\nbase: { curve_id: C }\ncalibration: { start: 2021-01-01, end: 2022-01-01 }\ndrivers: { adder: { onpeak: { \"2027-01..2027-06\": 1, \"2027-03..2027-09\": 2 } } }\n",
        "drivers.adder.onpeak[\"2027-03..2027-09\"]: overlaps \"2027-01..2027-06\"",
    ),
    (
        "name: x\ninstrument: MISO.INDIANA.HUB\nbase: { curve_id: C }\ncalibration: { start: 2021-01-01, end: 2022-01-01 }\nmonte_carlo: { paths: 0, seed: 1 }\n",
        "monte_carlo.paths: 0 paths: give 1–100,000 (line 5",
    ),
    (
        "name: x\ninstrument: MISO.INDIANA.HUB\nbase: { curve_id: C }\ncalibration: { start: 2021-02-30, end: 2022-01-01 }\n",
        "calibration.start: ",
    ),
    (
        "{\n  \"name\": \"x\",\n  \"instrument\": \"MISO.INDIANA.HUB\",\n  \"base\": {\"curve_id\": \"C\"},\n  \"calibration\": {\"start\": \"2021-01-01\", \"end\": \"2022-01-01\"},\n  \"drivers\": {\"load_growth\": {\"rate\": \"two\"}}\n}\n",
        "drivers.load_growth.rate: invalid type: string \"two\"",
    ),
    (
        "name: x\ninstrument: MISO.INDIANA.HUB\nbase: { curve_id: C }\ncalibration: { start: 2021-01-01, end: 2022-01-01 }\nhorizon: { start: 2028-01, end: 2027-12 }\n",
        "horizon: end 2027-12 is before start 2028-01",
    ),
];

#[test]
fn malformed_documents_name_the_field_line_and_column() {
    let mut wrong = Vec::new();
    for (doc, want) in BAD {
        let e = parse(doc).unwrap_err();
        let text = e.to_string();
        if !text.contains(want) {
            wrong.push(format!("{text}\n  wanted: {want}"));
            continue;
        }
        assert!(e.line.is_some() && e.column.is_some(), "{text}");
        let line = doc.lines().nth(e.line.unwrap() - 1).unwrap();
        assert!(
            e.column.unwrap() <= line.len() + 1,
            "{text}: column past `{line}`"
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_schema_names_every_field_and_the_driver_forms() {
    let s = schema();
    let props = s["properties"].as_object().unwrap();
    for f in [
        "name",
        "instrument",
        "base",
        "calibration",
        "drivers",
        "horizon",
        "monte_carlo",
    ] {
        assert!(props.contains_key(f), "{f} missing: {s}");
    }
    let text = s.to_string();
    assert!(
        text.contains("YYYY-MM..YYYY-MM") && text.contains("additionalProperties"),
        "{text}"
    );
    assert_eq!(
        s["required"],
        serde_json::json!(["name", "instrument", "base", "calibration"])
    );
}

#[test]
fn a_driver_map_has_at_most_1200_periods() {
    let keys: Vec<String> = (0..1_201)
        .map(|i| format!("\"{:04}-{:02}\": 1", 2000 + i / 12, i % 12 + 1))
        .collect();
    let doc = format!(
        "name: x\ninstrument: MISO.INDIANA.HUB\nbase: {{ curve_id: C }}\ncalibration: {{ start: 2021-01-01, end: 2022-01-01 }}\ndrivers: {{ adder: {{ onpeak: {{ {} }} }} }}\n",
        keys.join(", ")
    );
    let e = parse(&doc).unwrap_err();
    assert!(e.to_string().contains("more than 1200 periods"), "{e}");
    // 1,200 are fine.
    let ok = doc.replace(&format!(", {}", keys[1_200]), "");
    assert!(parse(&ok).is_ok());
}
