//! The research analytics against statsmodels (scripts/bench.sh research).
//!
//! Workloads from the issue: STL on the 348-month CO2 series (netlib
//! parameters, robust) and on a 240-month (nottem-length) series
//! (statsmodels defaults), MSTL on 3,600 hours of Victoria demand (periods
//! 24 and 168, R's parameters), a 2-regime Markov-switching mean model on
//! fedfunds, and OLS with inference on 26,280 × 12 (three years hourly,
//! synthetic regressors, labelled). Each is timed here as the median of
//! several runs; inputs, our outputs and timings go to
//! `$CARBON_BENCH_DIR/research.json` for `scripts/bench/research_peers.py`,
//! which runs statsmodels on the same inputs, checks the answers agree and
//! prints the ratios.

use std::{path::PathBuf, time::Instant};

use carbon_research::{
    decompose::{MstlOptions, StlOptions, mstl, stl},
    regimes::{MsSpec, fit},
    regress::{Design, ols},
};
use serde_json::json;

fn reference(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/reference")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn median_secs(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// SYNTHETIC regressors: deterministic sines and a seeded noise, 26,280 rows.
fn ols_data() -> (Vec<f64>, Vec<f64>) {
    let (n, p) = (26_280usize, 12usize);
    let mut state = 254u64;
    let mut noise = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut x = Vec::with_capacity(n * p);
    let mut y = Vec::with_capacity(n);
    for t in 0..n {
        let h = t as f64;
        let mut row = vec![1.0];
        for k in 1..p {
            row.push((h * std::f64::consts::TAU / (24.0 * k as f64)).sin() + 0.3 * noise());
        }
        let target: f64 = row
            .iter()
            .enumerate()
            .map(|(k, v)| (k as f64 + 1.0) * 0.5 * v)
            .sum::<f64>()
            + noise();
        x.extend_from_slice(&row);
        y.push(target);
    }
    (x, y)
}

fn main() {
    let dir = PathBuf::from(
        std::env::var("CARBON_BENCH_DIR").unwrap_or_else(|_| "target/bench-research".into()),
    );
    std::fs::create_dir_all(&dir).expect("bench dir");
    let co2: Vec<f64> = reference("stl_co2_348_monthly.csv")
        .lines()
        .map(|l| l.trim().parse().expect("co2"))
        .collect();
    let vic: Vec<f64> = reference("mstl_vic_elec_hourly.csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).expect("y").parse().expect("y"))
        .collect();
    let ff: Vec<f64> = reference("ms_fedfunds_quarterly.csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).expect("ff").parse().expect("ff"))
        .collect();
    let short = co2[..240].to_vec();

    let netlib = StlOptions {
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
    };
    let stl_co2 = stl(&co2, 12, &netlib).expect("stl");
    let t_stl_co2 = median_secs(200, || {
        stl(&co2, 12, &netlib).expect("stl");
    });
    let defaults = StlOptions::default();
    let stl_240 = stl(&short, 12, &defaults).expect("stl");
    let t_stl_240 = median_secs(200, || {
        stl(&short, 12, &defaults).expect("stl");
    });
    let m = mstl(&vic, &[24, 168], &MstlOptions::default()).expect("mstl");
    let t_mstl = median_secs(30, || {
        mstl(&vic, &[24, 168], &MstlOptions::default()).expect("mstl");
    });
    let one_start = MsSpec {
        random_starts: 0,
        ..MsSpec::default()
    };
    let ms = fit(&ff, &one_start).expect("ms");
    let t_ms_one = median_secs(20, || {
        fit(&ff, &one_start).expect("ms");
    });
    let t_ms_default = median_secs(10, || {
        fit(&ff, &MsSpec::default()).expect("ms");
    });
    let (x, y) = ols_data();
    let names: Vec<String> = std::iter::once("const".to_string())
        .chain((1..12).map(|k| format!("x{k}")))
        .collect();
    let design = Design {
        names,
        x: x.clone(),
    };
    let o = ols(&design, &y).expect("ols");
    let t_ols = median_secs(20, || {
        ols(&design, &y).expect("ols");
    });

    println!("stl co2 (348, netlib robust)   {:>9.3} ms", t_stl_co2 * 1e3);
    println!("stl 240 (defaults)             {:>9.3} ms", t_stl_240 * 1e3);
    println!("mstl 3,600 h (24, 168)         {:>9.3} ms", t_mstl * 1e3);
    println!("markov fedfunds (1 start)      {:>9.3} ms", t_ms_one * 1e3);
    println!(
        "markov fedfunds (5 starts)     {:>9.3} ms",
        t_ms_default * 1e3
    );
    println!("ols 26,280 x 12 (+ inference)  {:>9.3} ms", t_ols * 1e3);
    let doc = json!({
        "co2": co2, "short": short, "vic": vic, "fedfunds": ff,
        "ols_x": x, "ols_y": y, "ols_cols": 12,
        "ours": {
            "stl_co2": {"secs": t_stl_co2, "seasonal": stl_co2.seasonal[0].values, "trend": stl_co2.trend},
            "stl_240": {"secs": t_stl_240, "seasonal": stl_240.seasonal[0].values, "trend": stl_240.trend},
            "mstl": {"secs": t_mstl, "trend": m.trend, "s24": m.seasonal[0].values, "s168": m.seasonal[1].values},
            "markov": {"secs_one_start": t_ms_one, "secs_default": t_ms_default, "llf": ms.llf,
                "p11": ms.transition[0][0], "mu": [ms.regimes[0].mean, ms.regimes[1].mean], "sigma": ms.regimes[0].sigma},
            "ols": {"secs": t_ols, "params": o.coefs.iter().map(|c| c.estimate).collect::<Vec<_>>(),
                "bse": o.coefs.iter().map(|c| c.std_error).collect::<Vec<_>>(), "r2": o.r2},
        }
    });
    let path = dir.join("research.json");
    std::fs::write(&path, doc.to_string()).expect("write");
    println!("CARBON_RESEARCH_JSON={}", path.display());
}
