//! DST arithmetic for Los Angeles and New York on 2018-11-04, 2025-03-09 and
//! 2025-11-02, and MISO's fixed EST across the same days.

use carbon_core::{
    Market,
    time::{day_hours, day_start, hour_of, hours_in_day, start_of_hour_ending, start_of_ordinal},
};
use chrono::{DateTime, Duration, NaiveDate, Utc};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// (market, day, hours, first interval start, start of HE3 or of the repeated HE2)
const CASES: &[(Market, &str, u32, &str)] = &[
    (Market::Caiso, "2018-11-04", 25, "2018-11-04T07:00:00Z"),
    (Market::Caiso, "2025-03-09", 23, "2025-03-09T08:00:00Z"),
    (Market::Caiso, "2025-11-02", 25, "2025-11-02T07:00:00Z"),
    (Market::Pjm, "2018-11-04", 25, "2018-11-04T04:00:00Z"),
    (Market::Pjm, "2025-03-09", 23, "2025-03-09T05:00:00Z"),
    (Market::Pjm, "2025-11-02", 25, "2025-11-02T04:00:00Z"),
    (Market::Miso, "2018-11-04", 24, "2018-11-04T05:00:00Z"),
    (Market::Miso, "2025-03-09", 24, "2025-03-09T05:00:00Z"),
    (Market::Miso, "2025-11-02", 24, "2025-11-02T05:00:00Z"),
];

#[test]
fn day_lengths_and_starts() {
    for (m, day, hours, first) in CASES {
        let date = d(day);
        assert_eq!(hours_in_day(*m, date), *hours, "{m} {day}");
        assert_eq!(day_start(*m, date), utc(first), "{m} {day}");
        let hs = day_hours(*m, date);
        assert_eq!(hs.len() as u32, *hours);
        // Contiguous, hour-long, ending where the next day starts.
        for w in hs.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
        assert_eq!(
            hs.last().unwrap().end,
            day_start(*m, date.succ_opt().unwrap())
        );
    }
}

#[test]
fn fall_back_repeated_hour_ending() {
    // New York 2025-11-02: 01:00 EDT = 05:00Z (HE2), 01:00 EST = 06:00Z (HE2 repeated).
    let date = d("2025-11-02");
    assert_eq!(
        start_of_hour_ending(Market::Pjm, date, 2, false).unwrap(),
        utc("2025-11-02T05:00:00Z")
    );
    assert_eq!(
        start_of_hour_ending(Market::Pjm, date, 2, true).unwrap(),
        utc("2025-11-02T06:00:00Z")
    );
    assert_eq!(
        start_of_hour_ending(Market::Pjm, date, 3, false).unwrap(),
        utc("2025-11-02T07:00:00Z")
    );
    // Los Angeles 2018-11-04: the repeated hour is 09:00Z–10:00Z (OASIS OPR_HR=25).
    let date = d("2018-11-04");
    assert_eq!(
        start_of_hour_ending(Market::Caiso, date, 2, true).unwrap(),
        utc("2018-11-04T09:00:00Z")
    );
    assert_eq!(
        start_of_ordinal(Market::Caiso, date, 25).unwrap(),
        utc("2018-11-05T07:00:00Z")
    );
    assert!(start_of_ordinal(Market::Caiso, date, 26).is_err());
    let e = start_of_hour_ending(Market::Caiso, d("2025-07-01"), 2, true).unwrap_err();
    assert!(e.to_string().contains("not repeated"), "{e}");
    // MISO never repeats an hour.
    assert!(start_of_hour_ending(Market::Miso, d("2025-11-02"), 2, true).is_err());
}

#[test]
fn spring_forward_missing_hour() {
    let date = d("2025-03-09");
    for m in [Market::Caiso, Market::Pjm] {
        let e = start_of_hour_ending(m, date, 3, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("23 hours that day"), "{e}");
        // HE2 and HE4 are adjacent.
        let he2 = start_of_hour_ending(m, date, 2, false).unwrap();
        let he4 = start_of_hour_ending(m, date, 4, false).unwrap();
        assert_eq!(he4 - he2, Duration::hours(1));
    }
    // MISO HE3 exists and is 07:00Z (02:00 EST).
    assert_eq!(
        start_of_hour_ending(Market::Miso, date, 3, false).unwrap(),
        utc("2025-03-09T07:00:00Z")
    );
}

#[test]
fn local_day_and_hour_of_instants() {
    // 2025-11-02T08:30Z is 01:30 PDT (HE2) in LA and 03:30 EST (HE4) in New York,
    // 03:30 EST in MISO too.
    let t = utc("2025-11-02T08:30:00Z");
    let la = hour_of(Market::Caiso, t);
    assert_eq!(
        (la.date, la.hour_ending, la.repeated, la.ordinal),
        (d("2025-11-02"), 2, false, 2)
    );
    let la2 = hour_of(Market::Caiso, t + Duration::hours(1));
    assert_eq!((la2.hour_ending, la2.repeated, la2.ordinal), (2, true, 3));
    let ny = hour_of(Market::Pjm, t);
    assert_eq!((ny.hour_ending, ny.ordinal), (4, 5));
    let miso = hour_of(Market::Miso, t);
    assert_eq!((miso.hour_ending, miso.ordinal), (4, 4));
    // Just before midnight local belongs to the previous market day.
    let late = hour_of(Market::Caiso, utc("2025-03-10T06:59:59Z"));
    assert_eq!(
        (late.date, late.hour_ending, late.ordinal),
        (d("2025-03-09"), 24, 23)
    );
}
