//! Exactness against the published reference results in
//! `../shared/fixtures/reference/` (read in place).

use std::path::PathBuf;

use carbon_research::decompose::{MstlOptions, StlOptions, mstl, stl, stlez};

fn reference(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/reference")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn co2() -> Vec<f64> {
    reference("stl_co2_348_monthly.csv")
        .lines()
        .map(|l| l.trim().parse().expect("co2 value"))
        .collect()
}

/// (season, trend, rw) of one scenario of the netlib Fortran results.
fn fortran(scenario: &str) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let text = reference("stl_co2_fortran_netlib_results.csv");
    let (mut s, mut t, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f[0] != scenario {
            continue;
        }
        assert_eq!(f[1].parse::<usize>().expect("idx"), s.len());
        s.push(f[2].parse().expect("season"));
        t.push(f[3].parse().expect("trend"));
        w.push(f[4].parse().expect("rw"));
    }
    assert!(!s.is_empty(), "no rows for {scenario}");
    (s, t, w)
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Season, trend and robustness weights of `d` equal the Fortran scenario's to 1e-9.
fn assert_matches_fortran(name: &str, d: &carbon_research::decompose::Decomposition) {
    let (s, t, w) = fortran(name);
    for (what, got, want) in [
        ("season", &d.seasonal[0].values, &s),
        ("trend", &d.trend, &t),
        ("weights", &d.weights, &w),
    ] {
        let diff = max_diff(got, want);
        assert!(diff < 1e-9, "{name} {what} {diff}");
    }
}

fn baseline() -> StlOptions {
    StlOptions {
        seasonal: 35,
        trend: Some(19),
        low_pass: Some(13),
        seasonal_jump: 4,
        trend_jump: 2,
        low_pass_jump: 2,
        robust: true,
        inner_iter: Some(1),
        outer_iter: Some(2),
        ..StlOptions::default()
    }
}

#[test]
fn stl_matches_netlib_fortran_in_every_scenario() {
    let y = co2();
    let cases: Vec<(&str, Vec<f64>, StlOptions)> = vec![
        ("baseline", y.clone(), baseline()),
        (
            "nljump-1",
            y.clone(),
            StlOptions {
                low_pass_jump: 1,
                ..baseline()
            },
        ),
        (
            "ntjump-1",
            y.clone(),
            StlOptions {
                trend_jump: 1,
                ..baseline()
            },
        ),
        (
            "nljump-1-ntjump-1",
            y.clone(),
            StlOptions {
                low_pass_jump: 1,
                trend_jump: 1,
                ..baseline()
            },
        ),
        ("short", y[..347].to_vec(), baseline()),
    ];
    for (name, series, opts) in cases {
        let d = stl(&series, 12, &opts).expect(name);
        assert_matches_fortran(name, &d);
        // The parts add back up to the data.
        for (i, y) in series.iter().enumerate() {
            let sum = d.trend[i] + d.seasonal[0].values[i] + d.remainder[i];
            assert!((sum - y).abs() < 1e-9);
        }
    }
    // Hand check against the file: the first baseline season value.
    let (s, t, _) = fortran("baseline");
    assert_eq!(s[0], -0.13125464336066284);
    assert_eq!(t[0], 315.55193972532356);
}

#[test]
fn stlez_matches_netlib_fortran_plain_and_robust() {
    let y = co2();
    for (name, robust) in [("stlez", false), ("stlez-robust", true)] {
        let d = stlez(&y, 12, 35, 1, 1, robust).expect(name);
        assert_matches_fortran(name, &d);
        if robust {
            assert!(d.outer_iterations >= 1 && d.outer_iterations <= 15);
        }
    }
}

#[test]
fn stl_matches_r_printed_output() {
    // R prints the seasonal to 8 decimals and the trend to 4.
    let text = reference("stl_co2_r_stl_output.txt");
    let rows: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 4 {
                return None;
            }
            let n = f.len();
            Some((f[n - 3].parse().ok()?, f[n - 2].parse().ok()?))
        })
        .collect();
    assert_eq!(rows.len(), 348, "R rows");
    let d = stl(&co2(), 12, &baseline()).expect("stl");
    for (i, (s, t)) in rows.iter().enumerate() {
        assert!((d.seasonal[0].values[i] - s).abs() < 5e-8, "row {i}");
        assert!((d.trend[i] - t).abs() < 5e-5, "row {i}");
    }
}

#[test]
fn mstl_matches_r_on_victoria_demand() {
    let y: Vec<f64> = reference("mstl_vic_elec_hourly.csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).expect("y").parse().expect("y value"))
        .collect();
    assert_eq!(y.len(), 3600);
    let expected: Vec<Vec<f64>> = reference("mstl_vic_elec_r_mstl_results.csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().expect("number")).collect())
        .collect();
    let d = mstl(&y, &[24, 168], &MstlOptions::default()).expect("mstl");
    let col = |j: usize| expected.iter().map(|r| r[j]).collect::<Vec<f64>>();
    assert!(
        max_diff(&d.trend, &col(1)) < 1e-8,
        "trend {}",
        max_diff(&d.trend, &col(1))
    );
    assert_eq!(d.seasonal[0].period, 24);
    assert!(max_diff(&d.seasonal[0].values, &col(2)) < 1e-8);
    assert!(max_diff(&d.seasonal[1].values, &col(3)) < 1e-8);
    assert!(max_diff(&d.remainder, &col(4)) < 1e-8);
    // Daily seasonality dominates hourly demand; the strengths are the
    // Wang–Smith–Hyndman measures computed from R's own components.
    let s24 = d.seasonal[0].strength.expect("s24");
    assert!(s24 > 0.8, "{s24}");
    let by_hand = |c: &[f64], r: &[f64]| {
        let var = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64
        };
        let cr: Vec<f64> = c.iter().zip(r).map(|(a, b)| a + b).collect();
        1.0 - var(r) / var(&cr)
    };
    assert!((s24 - by_hand(&col(2), &col(4))).abs() < 1e-9);
    let t = d.trend_strength.expect("trend");
    assert!((t - by_hand(&col(1), &col(4)).max(0.0)).abs() < 1e-9, "{t}");
}

#[test]
fn bad_input_is_named() {
    let y = co2();
    let mut gap = y.clone();
    gap[40] = f64::NAN;
    let e = stl(&gap, 12, &StlOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("index 40"), "{e}");
    let e = stl(&y[..20], 12, &StlOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("too short") && e.contains("20 observations"),
        "{e}"
    );
    let e = stl(
        &y,
        12,
        &StlOptions {
            seasonal: 8,
            ..StlOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("`seasonal`") && e.contains("odd"), "{e}");
    let flat = vec![5.0; 60];
    let d = stl(&flat, 12, &StlOptions::default()).expect("constant series decomposes");
    assert_eq!(d.trend_strength, None);
    assert_eq!(d.seasonal[0].strength, None);
    assert!(d.warnings[0].contains("constant"));
    assert!(d.trend.iter().all(|v| (v - 5.0).abs() < 1e-9));
}

fn fedfunds() -> Vec<f64> {
    reference("ms_fedfunds_quarterly.csv")
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(1)
                .expect("fedfunds")
                .parse()
                .expect("number")
        })
        .collect()
}

#[test]
fn markov_switching_matches_stata_on_fedfunds() {
    use carbon_research::regimes::{MsSpec, fit};
    let y = fedfunds();
    assert_eq!(y.len(), 226);
    let m = fit(&y, &MsSpec::default()).expect("fit");
    assert!(m.converged, "{:?}", m.warnings);
    assert!((m.llf - -508.63592).abs() < 1e-4, "llf {}", m.llf);
    assert!(
        (m.transition[0][0] - 0.9820939).abs() < 1e-5,
        "p11 {}",
        m.transition[0][0]
    );
    assert!(
        (m.transition[1][0] - 0.0503587).abs() < 1e-5,
        "p21 {}",
        m.transition[1][0]
    );
    assert!(
        (m.regimes[0].mean - 3.70877).abs() < 1e-4,
        "mu1 {}",
        m.regimes[0].mean
    );
    assert!(
        (m.regimes[1].mean - 9.556793).abs() < 1e-4,
        "mu2 {}",
        m.regimes[1].mean
    );
    assert!(
        (m.regimes[0].sigma - 2.107562).abs() < 1e-5,
        "sigma {}",
        m.regimes[0].sigma
    );
    // Predicted, filtered and smoothed probabilities against Stata's file.
    let stata: Vec<Vec<f64>> = reference("ms_fedfunds_stata_predictions.csv")
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .take(6)
                .map(|v| v.parse().expect("prob"))
                .collect()
        })
        .collect();
    assert_eq!(stata.len(), 226);
    let mut worst = [0.0f64; 3];
    for (t, row) in stata.iter().enumerate() {
        worst[0] = worst[0].max((m.predicted[t][0] - row[0]).abs());
        worst[1] = worst[1].max((m.filtered[t][0] - row[2]).abs());
        worst[2] = worst[2].max((m.smoothed[t][0] - row[4]).abs());
    }
    assert!(
        worst.iter().all(|w| *w < 1e-4),
        "predicted/filtered/smoothed worst {worst:?}"
    );
    // Hand check of the file: the first predicted probability is the ergodic one.
    assert!((stata[0][0] - 0.7376958).abs() < 1e-12);
    let p12 = 1.0 - m.transition[0][0];
    let p21 = m.transition[1][0];
    assert!((p21 / (p12 + p21) - 0.7376958).abs() < 1e-4);
    assert!((m.regimes[0].expected_duration - 1.0 / p12).abs() < 1e-9);
}

/// SYNTHETIC: a two-regime AR(1) path from a seeded generator, to check the
/// MS-AR estimates recover what generated it (shared and switching AR terms)
/// and that BIC prefers the true model to a needless third regime.
fn simulated_ms_ar(n: usize) -> Vec<f64> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    // Regime 0: mean 1, σ 0.5; regime 1: mean 6, σ 1.5; shared φ = 0.5;
    // stay probabilities 0.97 and 0.93.
    let (mu, sigma, phi, stay) = ([1.0, 6.0], [0.5, 1.5], 0.5, [0.97, 0.93]);
    let mut s = 0usize;
    let mut y = vec![2.0];
    for _ in 1..n {
        if uniform() > stay[s] {
            s = 1 - s;
        }
        let (u1, u2) = (uniform().max(1e-300), uniform());
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let prev = *y.last().expect("y");
        y.push(mu[s] + phi * (prev - 2.0) + sigma[s] * z);
    }
    y
}

#[test]
fn ms_ar_recovers_a_simulated_regime_switching_ar1() {
    use carbon_research::regimes::{MsSpec, fit, select_by_bic};
    let y = simulated_ms_ar(1500);
    let m = fit(
        &y,
        &MsSpec {
            k: 2,
            ar: 1,
            switching_variance: true,
            ..Default::default()
        },
    )
    .expect("fit");
    assert!(m.converged, "{:?}", m.warnings);
    let (r0, r1) = (&m.regimes[0], &m.regimes[1]);
    // The regression form: y_t = c_s + φ y_{t-1} + e, with c_s = μ_s − 2φ.
    assert!(
        (r0.ar[0] - 0.5).abs() < 0.05 && (r1.ar[0] - r0.ar[0]).abs() < 1e-12,
        "{:?}",
        m.regimes
    );
    assert!(
        (r0.mean - 0.0).abs() < 0.15 && (r1.mean - 5.0).abs() < 0.3,
        "{:?}",
        m.regimes
    );
    assert!(
        (r0.sigma - 0.5).abs() < 0.08 && (r1.sigma - 1.5).abs() < 0.2,
        "{:?}",
        m.regimes
    );
    assert!(r0.se_ar[0].expect("se") > 0.0 && r0.se_mean.expect("se") > 0.0);
    assert_eq!(m.first_index, 1);
    assert_eq!(m.smoothed.len(), y.len() - 1);
    // Switching AR terms: estimated per regime, both near the truth.
    let sw = fit(
        &y,
        &MsSpec {
            k: 2,
            ar: 1,
            switching_ar: true,
            switching_variance: true,
            ..Default::default()
        },
    )
    .expect("fit");
    assert!(
        sw.regimes.iter().all(|r| (r.ar[0] - 0.5).abs() < 0.1),
        "{:?}",
        sw.regimes
    );
    assert_eq!(sw.n_params, m.n_params + 1);
    // BIC: the true two regimes over a third.
    let (fits, best) = select_by_bic(
        &y,
        &[
            MsSpec {
                k: 2,
                ar: 1,
                switching_variance: true,
                ..Default::default()
            },
            MsSpec {
                k: 3,
                ar: 1,
                switching_variance: true,
                ..Default::default()
            },
        ],
    )
    .expect("bic");
    assert_eq!(
        fits[best].spec.k,
        2,
        "{:?}",
        fits.iter().map(|f| f.bic).collect::<Vec<_>>()
    );
}

#[test]
fn regime_models_refuse_what_they_cannot_fit() {
    use carbon_research::regimes::{MsSpec, fit};
    let e = fit(&[3.0; 100], &MsSpec::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("constant"), "{e}");
    let e = fit(&[1.0, 2.0, 3.0], &MsSpec::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("too short"), "{e}");
    let e = fit(
        &simulated_ms_ar(100),
        &MsSpec {
            k: 7,
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("`k`"), "{e}");
    let mut gap = simulated_ms_ar(200);
    gap[50] = f64::NAN;
    let e = fit(&gap, &MsSpec::default()).unwrap_err().to_string();
    assert!(e.contains("index 50"), "{e}");
}
