//! Golden outputs on the real fundamentals fixtures
//! (`../shared/fixtures/fundamentals/`, read in place by a few lines of CSV
//! reading here, independent of the ingest crate).

use std::{collections::BTreeMap, path::PathBuf};

use carbon_research::{
    balance, regimes,
    weather::{self, WeatherOptions},
};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

fn file(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/fundamentals")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// (interval start UTC, value) of one column of an EIA wholesale file; empty
/// cells skipped.
fn eia_column(name: &str, column: &str) -> Vec<(DateTime<Utc>, f64)> {
    let text = file(name);
    let mut lines = text.lines().skip(3);
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let ts = header
        .iter()
        .position(|h| *h == "UTC Timestamp (Interval Ending)")
        .expect("utc");
    let col = header
        .iter()
        .position(|h| *h == column)
        .unwrap_or_else(|| panic!("{column}"));
    lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let end = NaiveDateTime::parse_from_str(f[ts], "%Y-%m-%d %H:%M:%S")
                .expect("time")
                .and_utc();
            let v: f64 = f[col].parse().ok()?;
            Some((end - Duration::hours(1), v))
        })
        .collect()
}

const MISO_TZ: chrono_tz::Tz = chrono_tz::Etc::GMTPlus5;

#[test]
fn hdd_and_cdd_of_a_known_week_match_a_hand_computation() {
    let temps = eia_column(
        "miso_temp_hr_2021_eia.csv",
        "Indianapolis Temperature (Fahrenheit)",
    );
    let days = weather::daily_degree_days(&temps, MISO_TZ, 65.0);
    // The cold week of 8–14 February 2021 (EST days), by hand: each day's mean
    // of its hourly readings, HDD = 65 − mean when positive.
    let (mut hdd, mut cdd) = (0.0, 0.0);
    for d in 8..=14 {
        let day = NaiveDate::from_ymd_opt(2021, 2, d).unwrap();
        let start = day.and_hms_opt(5, 0, 0).unwrap().and_utc(); // 00:00 EST
        let vals: Vec<f64> = temps
            .iter()
            .filter(|(t, _)| *t >= start && *t < start + Duration::days(1))
            .map(|x| x.1)
            .collect();
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        hdd += (65.0 - mean).max(0.0);
        cdd += (mean - 65.0).max(0.0);
    }
    let week: Vec<_> = days
        .iter()
        .filter(|d| {
            d.date >= NaiveDate::from_ymd_opt(2021, 2, 8).unwrap()
                && d.date <= NaiveDate::from_ymd_opt(2021, 2, 14).unwrap()
        })
        .collect();
    assert_eq!(week.len(), 7);
    let got_hdd: f64 = week.iter().map(|d| d.hdd).sum();
    let got_cdd: f64 = week.iter().map(|d| d.cdd).sum();
    assert!((got_hdd - hdd).abs() < 1e-9, "{got_hdd} vs {hdd}");
    assert_eq!(got_cdd, cdd);
    assert_eq!(cdd, 0.0);
    // A bitterly cold week: more than 45 heating degrees a day on average.
    assert!(hdd / 7.0 > 45.0, "{hdd}");
    // One hour of February is absent from the file: that day has 23 readings.
    assert!(
        days.iter()
            .any(|d| d.date.format("%m").to_string() == "02" && d.observations == 23)
    );
}

#[test]
fn february_2021_is_a_high_volatility_regime_in_miso_hub_prices() {
    let prices = eia_column("miso_lmp_rt_hr_hubs_2021_eia.csv", "Indiana Hub LMP");
    // Daily means on the EST clock, then daily log changes.
    let mut daily: BTreeMap<NaiveDate, (f64, usize)> = BTreeMap::new();
    for (t, v) in &prices {
        let e = daily
            .entry(t.with_timezone(&MISO_TZ).date_naive())
            .or_insert((0.0, 0));
        e.0 += v;
        e.1 += 1;
    }
    let days: Vec<(NaiveDate, f64)> = daily
        .into_iter()
        .map(|(d, (s, n))| (d, s / n as f64))
        .collect();
    assert_eq!(days.len(), 365);
    let r: Vec<f64> = days.windows(2).map(|w| (w[1].1 / w[0].1).ln()).collect();
    let fit = regimes::fit(
        &r,
        &regimes::MsSpec {
            k: 2,
            switching_variance: true,
            ..Default::default()
        },
    )
    .expect("fit");
    assert!(fit.converged, "{:?}", fit.warnings);
    assert!(
        fit.regimes[1].sigma > 2.0 * fit.regimes[0].sigma,
        "{:?}",
        fit.regimes
    );
    // r[i] is the change into days[i + 1].
    let high = |d: u32| {
        let i = days
            .iter()
            .position(|x| x.0 == NaiveDate::from_ymd_opt(2021, 2, d).unwrap())
            .unwrap()
            - 1;
        fit.smoothed[i][1]
    };
    for d in 14..=18 {
        assert!(high(d) > 0.5, "2021-02-{d}: Pr(high vol) = {}", high(d));
    }
    // The calm late summer is the low-volatility regime most of the time.
    let aug: Vec<f64> = (0..r.len())
        .filter(|i| days[i + 1].0.format("%m").to_string() == "08")
        .map(|i| fit.smoothed[i][0])
        .collect();
    assert!(aug.iter().filter(|p| **p > 0.5).count() * 2 > aug.len());
}

#[test]
fn gas_storage_balance_on_the_eia_weekly_file() {
    let text = file("ng_storage_weekly_by_region_eia_2010-01-01_2024-04-12.csv");
    let series: Vec<(NaiveDate, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.trim_end_matches('\r').split(',').collect();
            (
                NaiveDate::parse_from_str(f[0], "%d-%b-%y").unwrap(),
                f[8].parse().unwrap(),
            )
        })
        .collect();
    let b = balance::storage(&series, 4.0, 0.5).expect("balance");
    // The largest weekly change of the file: −359 Bcf in the week ending 2018-01-05.
    let (date, change) = b
        .weeks
        .iter()
        .filter_map(|w| Some((w.date, w.change?)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert_eq!((date.to_string().as_str(), change), ("2018-01-05", -359.0));
    // Five-year average by hand for the week ending 2016-01-01: the weeks
    // ending (within ±3 days of 1 January) 2010-12-31, 2011-12-30, 2013-01-04,
    // 2014-01-03 and 2015-01-02.
    let w = b
        .weeks
        .iter()
        .find(|w| w.date.to_string() == "2016-01-01")
        .unwrap();
    let at = |d: &str| series.iter().find(|x| x.0.to_string() == d).unwrap().1;
    let hand = (at("2010-12-31")
        + at("2011-12-30")
        + at("2013-01-04")
        + at("2014-01-03")
        + at("2015-01-02"))
        / 5.0;
    assert!(
        (w.avg5.unwrap() - hand).abs() < 1e-9,
        "{:?} vs {hand}",
        w.avg5
    );
    assert!(
        w.vs_avg5.unwrap() > 0.0,
        "the mild 2015/16 winter left storage above average"
    );
    // The January 2018 cold snap fires a downward CUSUM alarm.
    assert!(
        b.shocks
            .iter()
            .any(|s| s.direction == "down" && s.date.to_string().starts_with("2018-01")),
        "{:?}",
        b.shocks
    );
    // The first five years have no five-year history.
    assert!(b.weeks[0].avg5.is_none() && b.weeks[300].avg5.is_some());
}

#[test]
fn weather_regression_of_indiana_prices_on_degree_days() {
    let price = eia_column("miso_lmp_rt_hr_hubs_2021_eia.csv", "Indiana Hub LMP");
    let temp = eia_column(
        "miso_temp_hr_2021_eia.csv",
        "Indianapolis Temperature (Fahrenheit)",
    );
    let w = weather::impact(&price, &temp, MISO_TZ, &WeatherOptions::default()).expect("impact");
    // One hour has no temperature.
    assert_eq!(w.dropped, 1);
    assert_eq!(w.ols.nobs, 8_759);
    let coef = |n: &str| w.ols.coefs.iter().find(|c| c.name == n).unwrap();
    // Cooling demand lifts prices in summer; both degree terms are significant.
    assert!(
        coef("cdd").estimate > 0.0 && coef("cdd").p < 0.01,
        "{:?}",
        coef("cdd")
    );
    assert!(coef("hdd").p < 0.01, "{:?}", coef("hdd"));
    assert!(w.ols.r2 > 0.05 && w.ols.r2 < 1.0);
    assert_eq!(w.quantiles.len(), 2);
    // A quantile fit leaves about τ of the hours below it.
    for q in &w.quantiles {
        assert!(
            (q.coverage - q.tau).abs() < 0.02,
            "τ {} covers {}",
            q.tau,
            q.coverage
        );
    }
    assert!(w.extremes.target_high > 0);
    // temp + hdd + cdd with an intercept are collinear: named, not a NaN.
    let e = weather::impact(
        &price,
        &temp,
        MISO_TZ,
        &WeatherOptions {
            terms: vec!["temp".into(), "hdd".into(), "cdd".into()],
            quantiles: vec![],
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("singular") && e.contains("`cdd`"), "{e}");
}

#[test]
fn a_gaussian_hmm_on_return_features_finds_the_february_2021_gas_spike() {
    // Henry Hub daily spot 2018–2022 (one empty price in 2018 is skipped).
    let rows: Vec<(NaiveDate, f64)> = file("henry_hub_spot_daily_eia_1997-01-07_2026-08-18.csv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (d, p) = l.trim_end().split_once(',')?;
            let d = NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
            (d.format("%Y").to_string().as_str() >= "2018"
                && d.format("%Y").to_string().as_str() <= "2022")
                .then_some(())?;
            Some((d, p.parse().ok()?))
        })
        .collect();
    let prices: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let (offset, x) = carbon_research::features::return_features(&prices).expect("features");
    assert_eq!(x.len(), prices.len() - offset);
    let hmm = carbon_research::features::fit_hmm(&x, 2, 5, 7).expect("hmm");
    let state = |d: &str| {
        let i = rows.iter().position(|r| r.0.to_string() == d).unwrap();
        hmm.labels[i - offset]
    };
    for d in ["2021-02-16", "2021-02-17", "2021-02-18", "2021-02-19"] {
        assert_eq!(state(d), 1, "{d}: means {:?}", hmm.means);
    }
    // The most volatile state is the rarer one and has the larger 20-day volatility.
    let high = hmm.labels.iter().filter(|l| **l == 1).count();
    assert!(
        high * 2 < hmm.labels.len(),
        "{high} of {}",
        hmm.labels.len()
    );
    assert!(hmm.means[1][1] > hmm.means[0][1]);
    assert!(hmm.expected_durations.iter().all(|d| *d > 1.0));
    // BIC picks among 2 and 3 states without failing; more states, more parameters.
    let three = carbon_research::features::fit_hmm(&x, 3, 3, 7).expect("hmm3");
    assert!(three.n_params > hmm.n_params);
    assert!(hmm.bic.is_finite() && three.bic.is_finite());
}
