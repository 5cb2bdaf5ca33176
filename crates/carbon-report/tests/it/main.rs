//! carbon-report against real tools: the PDF is read back with poppler
//! (`pdftotext`, `pdfinfo`, `pdftoppm`) and the numbers found in the text are
//! checked against values worked out by hand from the brief built here.
//!
//! Needs poppler-utils (`apt-get install -y poppler-utils`). Documents are
//! written to temporary directories, except for the rasterization test, which
//! keeps its PDFs, HTML and page PNGs under
//! `$CARGO_TARGET_DIR/report-artifacts/png-{sample,big}/` (or
//! `target/report-artifacts/`) to look at.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use carbon_report::{Brief, CurveComparison, Fundamental, HubStats, Quality, Regime, Series};
use chrono::NaiveDate;

// ---------------------------------------------------------------- fixtures

fn feb(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2021, 2, day).unwrap()
}

/// A daily series over February 2021: a base level with a weekly cycle and
/// the mid-month cold-snap spike.
fn daily(base: f64, spike: f64) -> Vec<(NaiveDate, f64)> {
    (1..=28)
        .map(|d| {
            let weekly = (f64::from(d) * std::f64::consts::TAU / 7.0).sin() * base * 0.12;
            let cold = if (14..=18).contains(&d) {
                spike * (1.0 - (f64::from(d) - 16.0).abs() / 3.0)
            } else {
                0.0
            };
            (feb(d), base + weekly + cold)
        })
        .collect()
}

fn hub(name: &str, v: [Option<f64>; 7]) -> HubStats {
    HubStats {
        name: name.into(),
        on_peak_avg: v[0],
        off_peak_avg: v[1],
        avg: v[2],
        min: v[3],
        max: v[4],
        volatility: v[5],
        da_rt_spread: v[6],
    }
}

/// Periods `2021-MM` / `2022-MM` starting at month index `from` (1 = Jan 2021).
fn periods(from: u32, n: u32, price: impl Fn(u32) -> f64) -> Vec<(String, f64)> {
    (from..from + n)
        .map(|m| {
            let (y, mm) = (2021 + (m - 1) / 12, (m - 1) % 12 + 1);
            (format!("{y}-{mm:02}"), price(m))
        })
        .collect()
}

fn sample() -> Brief {
    // The prior curve quotes Feb 2021..Jan 2022, the current one Mar
    // 2021..Feb 2022: 11 periods in common, each exactly 1.50 higher now.
    // Seasonal shape: winter and summer peaks.
    let prior_price = |m: u32| {
        let phase = f64::from(m - 1) * std::f64::consts::TAU / 12.0;
        32.0 + 6.0 * (2.0 * phase).cos() + 2.0 * phase.cos()
    };
    Brief {
        market: "MISO".into(),
        month: "2021-02".into(),
        timezone: "America/Chicago".into(),
        generated: "2021-03-01T06:00:00Z".into(),
        currency: "$/MWh".into(),
        basis: "day-ahead".into(),
        hubs: vec![
            hub(
                "MISO.INDIANA.HUB",
                [
                    Some(41.27),
                    Some(28.93),
                    Some(35.62),
                    Some(-4.1),
                    Some(212.5),
                    Some(0.8537),
                    Some(1.234),
                ],
            ),
            hub(
                "MISO.ILLINOIS.HUB",
                [
                    Some(39.02),
                    Some(27.5),
                    Some(33.76),
                    Some(12.0),
                    None,
                    Some(0.61),
                    Some(-0.456),
                ],
            ),
        ],
        daily: vec![
            Series {
                name: "MISO.INDIANA.HUB".into(),
                unit: "$/MWh".into(),
                points: daily(32.0, 160.0),
            },
            Series {
                name: "MISO.ILLINOIS.HUB".into(),
                unit: "$/MWh".into(),
                points: daily(29.0, 120.0),
            },
        ],
        curve: Some(CurveComparison {
            curve_id: "MISO.INDIANA.HUB.ONPEAK".into(),
            now_label: "as of 2021-02-28".into(),
            prior_label: "as of 2021-01-31".into(),
            now: periods(3, 12, |m| prior_price(m) + 1.5),
            prior: periods(2, 12, prior_price),
        }),
        regime: Some(Regime {
            label: "High volatility (stress)".into(),
            realized_vol: 1.236,
            percentile: Some(97.2),
            note: "Winter Storm Uri drove scarcity pricing from 14 to 18 February.".into(),
        }),
        fundamentals: vec![
            Fundamental {
                name: "Load (MISO total)".into(),
                unit: "MW".into(),
                avg: Some(78_123.456),
                min: Some(65_000.0),
                max: Some(95_250.5),
                points: daily(78_000.0, 15_000.0),
            },
            Fundamental {
                name: "Henry Hub gas".into(),
                unit: "$/MMBtu".into(),
                avg: Some(5.123),
                min: Some(2.71),
                max: None,
                points: daily(5.0, 20.0),
            },
        ],
        quality: vec![
            Quality {
                series: "MISO.INDIANA.HUB DA LMP".into(),
                expected: 672,
                present: 672,
                completeness: 1.0,
                last_ingested: Some("2021-03-01T05:12:00Z".into()),
            },
            Quality {
                series: "MISO.ILLINOIS.HUB RT LMP".into(),
                expected: 8064,
                present: 7920,
                completeness: 7920.0 / 8064.0,
                last_ingested: Some("2021-03-01T05:40:00Z".into()),
            },
            Quality {
                series: "Load (MISO total)".into(),
                expected: 672,
                present: 650,
                completeness: 650.0 / 672.0,
                last_ingested: None,
            },
        ],
        methods: vec![
            "Daily averages are the mean of the day's hourly day-ahead LMPs on the market \
             clock; on-peak is hours ending 8 to 23 on weekdays except NERC holidays, \
             off-peak is every other hour."
                .into(),
            "Volatility is the standard deviation of daily log price changes, annualised \
             with the square root of 365. The regime compares the month's realized \
             volatility with the market's history since 2015."
                .into(),
        ],
    }
}

/// A brief long enough to need at least three pages.
fn big() -> Brief {
    let mut b = sample();
    b.hubs = (0..30)
        .map(|i| {
            let x = f64::from(i);
            hub(
                &format!("MISO.HUB.{i:02}"),
                [
                    Some(40.0 + x),
                    Some(25.0 + x / 2.0),
                    Some(33.0 + x),
                    Some(-5.0 + x),
                    Some(200.0 + x),
                    Some(0.5 + x / 100.0),
                    Some(x / 10.0 - 1.0),
                ],
            )
        })
        .collect();
    b.daily = (0..10)
        .map(|i| Series {
            name: format!("MISO.HUB.{i:02}"),
            unit: "$/MWh".into(),
            points: daily(30.0 + f64::from(i), 100.0 + 10.0 * f64::from(i)),
        })
        .collect();
    b.fundamentals = (0..12)
        .map(|i| Fundamental {
            name: format!("Fundamental series {i}"),
            unit: "MW".into(),
            avg: Some(1000.0 + f64::from(i)),
            min: Some(900.0),
            max: Some(1100.0),
            points: daily(1000.0, 50.0 * f64::from(i)),
        })
        .collect();
    b.quality = (0..40)
        .map(|i| Quality {
            series: format!("Series {i}"),
            expected: 672,
            present: 672 - i,
            completeness: f64::from(672 - i as u32) / 672.0,
            last_ingested: Some("2021-03-01T05:12:00Z".into()),
        })
        .collect();
    b
}

// ---------------------------------------------------------------- tools

fn artifacts(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let dir = target.join("report-artifacts").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!(
            "{cmd} failed to start ({e}); install poppler-utils (apt-get install -y poppler-utils)"
        )
    });
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write_pdf(dir: &Path, brief: &Brief) -> PathBuf {
    let bytes = carbon_report::pdf(brief);
    assert!(bytes.starts_with(b"%PDF-"));
    let path = dir.join("brief.pdf");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn pages(pdf: &Path) -> usize {
    let info = run("pdfinfo", &[pdf.to_str().unwrap()]);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(|n| n.trim().parse().unwrap())
        .unwrap()
}

fn text(pdf: &Path) -> String {
    run("pdftotext", &["-layout", pdf.to_str().unwrap(), "-"])
}

/// The line of `text` holding `name` followed by each of `cells` as
/// whitespace-separated tokens, in order.
fn row<'a>(text: &'a str, name: &str, cells: &[&str]) -> Option<&'a str> {
    text.lines().find(|l| {
        let Some((_, rest)) = l.split_once(name) else {
            return false;
        };
        let mut toks = rest.split_whitespace();
        cells.iter().all(|c| toks.any(|t| t == *c))
    })
}

// ---------------------------------------------------------------- PDF

#[test]
fn pdf_text_carries_the_title_table_numbers_regime_and_quality() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = write_pdf(dir.path(), &sample());
    let n = pages(&pdf);
    let t = text(&pdf);

    assert!(
        t.contains("MISO monthly market brief — February 2021"),
        "{t}"
    );
    assert!(t.contains("Market clock: America/Chicago"));
    assert!(t.contains("Generated 2021-03-01T06:00:00Z · prices in $/MWh"));

    // Price table: the name and its formatted numbers on one line (2
    // decimals, volatility as a percentage, missing as an em dash).
    let indiana = [
        "41.27", "28.93", "35.62", "-4.10", "212.50", "85.4%", "1.23",
    ];
    let illinois = ["39.02", "27.50", "33.76", "12.00", "—", "61.0%", "-0.46"];
    assert!(row(&t, "MISO.INDIANA.HUB", &indiana).is_some(), "{t}");
    assert!(row(&t, "MISO.ILLINOIS.HUB", &illinois).is_some(), "{t}");
    for h in ["On-peak", "Off-peak", "All hours", "Volatility", "DA–RT"] {
        assert!(t.contains(h), "header {h}");
    }

    // Charts and sections.
    assert!(t.contains("Daily average day-ahead price"));
    assert!(t.contains("Feb 1") && t.contains("Feb 22"), "date ticks");
    assert!(t.contains(
        "Curve MISO.INDIANA.HUB.ONPEAK: as of 2021-02-28 (solid) against as of 2021-01-31"
    ));
    assert!(
        t.contains(
            "Across the 11 delivery periods quoted on both dates the curve moved +1.50 $/MWh"
        ),
        "{t}"
    );
    assert!(t.contains("High volatility (stress)"));
    assert!(t.contains("Realized volatility 123.6% (annualised), the 97th percentile"));
    assert!(t.contains("Winter Storm Uri"));
    assert!(
        t.contains("Average 78123.46 MW · minimum 65000.00 MW · maximum 95250.50 MW"),
        "{t}"
    );
    assert!(t.contains("Average 5.12 $/MMBtu · minimum 2.71 $/MMBtu · maximum — $/MMBtu"));

    // Data quality: 7920/8064 = 98.21%, 650/672 = 96.73%.
    assert!(
        row(
            &t,
            "MISO.INDIANA.HUB DA LMP",
            &["672", "/", "672", "100.0%", "2021-03-01T05:12:00Z"]
        )
        .is_some(),
        "{t}"
    );
    assert!(
        row(
            &t,
            "MISO.ILLINOIS.HUB RT LMP",
            &["7920", "/", "8064", "98.2%"]
        )
        .is_some()
    );
    assert!(row(&t, "Load (MISO total)", &["650", "/", "672", "96.7%", "—"]).is_some());

    // Methods, wrapped: every word is there.
    let flat: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(
            "with the square root of 365. The regime compares the month's realized volatility"
        ),
        "{flat}"
    );

    assert!(t.contains(&format!("Page 1 of {n}")));
    assert!(t.contains(&format!("Page {n} of {n}")));

    let info = run("pdfinfo", &[pdf.to_str().unwrap()]);
    let field = |key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .unwrap_or_default()
    };
    assert_eq!(field("Title:"), "MISO monthly market brief — February 2021");
    assert_eq!(field("Page size:"), "595.28 x 841.89 pts (A4)");
    assert_eq!(field("CreationDate:"), "Mon Mar  1 06:00:00 2021 UTC");
    let fonts = run("pdffonts", &[pdf.to_str().unwrap()]);
    assert!(
        fonts.contains("Helvetica ") && fonts.contains("Helvetica-Bold"),
        "{fonts}"
    );
}

#[test]
fn pdf_pages_rasterize_one_png_each() {
    for (name, brief, min_pages) in [("sample", sample(), 1), ("big", big(), 3)] {
        let dir = artifacts(&format!("png-{name}"));
        let pdf = write_pdf(&dir, &brief);
        let n = pages(&pdf);
        assert!(n >= min_pages, "{name}: {n} pages");
        let prefix = dir.join("page");
        run(
            "pdftoppm",
            &[
                "-png",
                "-r",
                "60",
                pdf.to_str().unwrap(),
                prefix.to_str().unwrap(),
            ],
        );
        let mut pngs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .collect();
        pngs.sort();
        assert_eq!(pngs.len(), n, "{name}: one PNG per page");
        for p in &pngs {
            let size = std::fs::metadata(p).unwrap().len();
            assert!(size > 2048, "{}: {size} bytes", p.display());
        }
        std::fs::write(dir.join("brief.html"), carbon_report::html(&brief)).unwrap();
        println!("{name}: {n} pages rendered to {}", dir.display());

        let t = text(&pdf);
        for i in 1..=n {
            assert!(
                t.contains(&format!("Page {i} of {n}")),
                "{name}: footer of page {i}"
            );
        }
    }
}

/// Words of `pdf` (text, yMin, yMax from the page top) by `pdftotext -bbox`.
fn words(pdf: &Path) -> Vec<(String, f64, f64)> {
    let xml = run("pdftotext", &["-bbox", pdf.to_str().unwrap(), "-"]);
    let attr = |s: &str, key: &str| -> f64 {
        let at = s.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
        s[at..].split('"').next().unwrap().parse().unwrap()
    };
    xml.split("<word ")
        .skip(1)
        .map(|w| {
            let word = w.split('>').nth(1).unwrap().split('<').next().unwrap();
            (word.to_string(), attr(w, "yMin"), attr(w, "yMax"))
        })
        .collect()
}

/// Every word is either in the content area (above 64 pt from the bottom)
/// or in the footer (below the footer rule at 48 pt).
fn assert_within_margins(pdf: &Path) -> Vec<(String, f64, f64)> {
    let page_h = 841.89;
    let words = words(pdf);
    for (word, y_min, y_max) in &words {
        let content = *y_max <= page_h - 64.0 + 1.0;
        let footer = *y_min >= page_h - 48.0;
        assert!(content || footer, "{word:?} at yMin {y_min} yMax {y_max}");
    }
    words
}

#[test]
fn pdf_never_draws_below_the_bottom_margin() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let words = assert_within_margins(&write_pdf(dir, &big()));
    assert!(words.len() > 500);
    // 40 quality rows and at least one header row.
    let series = words.iter().filter(|w| w.0 == "Series").count();
    assert!(series >= 41, "{series}");

    // A crowded legend is summarised, and long names wrap or are cut.
    let mut b = big();
    b.daily = (0..200)
        .map(|i| Series {
            name: format!("A.RATHER.LONG.HUB.NAME.NUMBER.{i:03}"),
            unit: "$/MWh".into(),
            points: daily(30.0 + f64::from(i), 50.0),
        })
        .collect();
    b.fundamentals[0].name = "A fundamental with a very long name ".repeat(8);
    b.curve.as_mut().unwrap().now[0].0 = "A period label far too long for its axis".into();
    let pdf = write_pdf(dir, &b);
    let words = assert_within_margins(&pdf);
    assert!(words.iter().any(|w| w.0 == "more"), "+k more in the legend");
    let t = text(&pdf);
    assert!(t.contains("A.RATHER.LONG.HUB.NAME.NUMBER.000"));
    assert!(!t.contains("A.RATHER.LONG.HUB.NAME.NUMBER.199"));
}

// ---------------------------------------------------------------- HTML

#[test]
fn html_is_self_contained_and_carries_the_numbers() {
    let mut b = sample();
    b.hubs[1].name = "Hub <&> \"quoted\"".into();
    let h = carbon_report::html(&b);

    assert!(h.starts_with("<!DOCTYPE html>"));
    assert!(
        !h.to_ascii_lowercase().contains("http"),
        "no URL of any kind"
    );
    for banned in [
        "<script",
        "<link",
        "@import",
        "url(",
        "<img",
        "<iframe",
        "@font-face",
        "xmlns",
    ] {
        assert!(!h.contains(banned), "{banned}");
    }
    // One <svg> per chart: daily prices, forward curve, two fundamentals.
    assert_eq!(h.matches("<svg").count(), 4);
    assert_eq!(h.matches("</svg>").count(), 4);
    assert!(h.contains("<title>MISO monthly market brief — February 2021</title>"));
    assert!(h.contains("<h1>MISO monthly market brief — February 2021</h1>"));
    for n in [
        "41.27", "28.93", "35.62", "-4.10", "212.50", "85.4%", "1.23", "-0.46", "61.0%",
    ] {
        assert!(h.contains(&format!(">{n}</td>")), "{n}");
    }
    assert!(h.contains(r#"<td class="num missing">—</td>"#));
    assert!(h.contains("Hub &lt;&amp;&gt; &quot;quoted&quot;"));
    assert!(!h.contains("<&>"));
    assert!(h.contains("98.2%") && h.contains("96.7%") && h.contains("100.0%"));
    assert!(h.contains("High volatility (stress)"));
    assert!(h.contains("Market clock: America/Chicago"));
    for s in [
        "Prices",
        "Forward curve",
        "Volatility regime",
        "Fundamentals",
        "Data quality",
        "Methods",
    ] {
        assert!(h.contains(&format!("<h2>{s}</h2>")), "{s}");
    }
}

#[test]
fn sections_without_data_say_so() {
    let mut b = sample();
    b.hubs.clear();
    b.daily.clear();
    b.curve = None;
    b.regime = None;
    b.fundamentals.clear();
    b.quality.clear();
    b.methods.clear();
    let lines = [
        "No hub prices stored for this month.",
        "No daily day-ahead prices stored for this month.",
        "No forward curve stored for this market.",
        "No volatility regime computed for this month.",
        "No fundamentals stored for this market.",
        "No data-quality records for this month.",
        "No methods notes for this brief.",
    ];
    let h = carbon_report::html(&b);
    let dir = tempfile::tempdir().unwrap();
    let pdf = write_pdf(dir.path(), &b);
    let t = text(&pdf);
    for l in lines {
        assert!(h.contains(l), "html: {l}");
        assert!(t.contains(l), "pdf: {l}");
    }
    assert_eq!(pages(&pdf), 1);
}

// ---------------------------------------------------------------- degenerate

#[test]
fn degenerate_inputs_render_valid_documents() {
    let mut cases: Vec<(&str, Brief)> = Vec::new();

    let mut b = sample();
    b.hubs = vec![hub("EMPTY", [None; 7])];
    b.daily = vec![Series {
        name: "none".into(),
        unit: String::new(),
        points: vec![],
    }];
    b.fundamentals[0].points.clear();
    b.curve.as_mut().unwrap().now.clear();
    b.curve.as_mut().unwrap().prior.clear();
    cases.push(("empty-series", b));

    let mut b = sample();
    let nan = Some(f64::NAN);
    b.hubs = vec![hub(
        "NAN",
        [
            nan,
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
            nan,
            nan,
            nan,
            nan,
        ],
    )];
    b.daily[0].points = vec![
        (feb(1), f64::NAN),
        (feb(2), f64::INFINITY),
        (feb(3), 5.0),
        (feb(4), f64::NAN),
    ];
    b.daily[1].points = vec![(feb(1), f64::NAN)];
    b.curve.as_mut().unwrap().now = vec![("2021-03".into(), f64::NAN)];
    b.regime.as_mut().unwrap().realized_vol = f64::NAN;
    b.regime.as_mut().unwrap().percentile = Some(f64::INFINITY);
    b.fundamentals[0].points = vec![(feb(1), f64::NEG_INFINITY)];
    b.quality[0].completeness = f64::NAN;
    cases.push(("nan", b));

    let mut b = sample();
    b.daily[0].points = vec![(feb(10), 42.0)];
    b.daily.truncate(1);
    b.curve.as_mut().unwrap().now.truncate(1);
    b.curve.as_mut().unwrap().prior.clear();
    b.fundamentals[1].points = vec![(feb(3), 0.0)];
    cases.push(("single-point", b));

    let mut b = sample();
    for s in &mut b.daily {
        for p in &mut s.points {
            p.1 = 50.0;
        }
    }
    for p in &mut b.fundamentals[0].points {
        p.1 = 0.0;
    }
    cases.push(("all-equal", b));

    let mut b = sample();
    b.daily[0].points = vec![(feb(1), -f64::MAX), (feb(2), f64::MAX)];
    b.daily[1].points = vec![(feb(1), 1e300), (feb(28), -1e300)];
    b.market = String::new();
    b.month = "not-a-month".into();
    b.generated = "not a date".into();
    b.hubs[0].name =
        "A.VERY.LONG.HUB.NAME.THAT.DOES.NOT.FIT.IN.ITS.COLUMN.AT.ALL.WHATSOEVER".into();
    b.methods = vec!["x".repeat(5000), "中文 text ✓ and ümlauts".into()];
    cases.push(("extreme", b));

    for (name, b) in cases {
        let h = carbon_report::html(&b);
        assert!(h.ends_with("</html>\n"), "{name}");
        let dir = tempfile::tempdir().unwrap();
        let pdf = write_pdf(dir.path(), &b);
        assert!(pages(&pdf) >= 1, "{name}");
        let t = text(&pdf);
        let bad = |w: &str| w.contains("NaN") || w.contains("inf%") || w == "inf" || w == "-inf";
        assert!(!t.split_whitespace().any(bad), "{name}: {t}");
        assert!(!h.contains("NaN"), "{name}");
    }
}

#[test]
fn empty_series_draw_no_data() {
    let mut b = sample();
    b.daily = vec![Series {
        name: "MISO.INDIANA.HUB".into(),
        unit: "$/MWh".into(),
        points: vec![(feb(1), f64::NAN)],
    }];
    let h = carbon_report::html(&b);
    assert!(h.contains(">No data</text>"));
    let dir = tempfile::tempdir().unwrap();
    let t = text(&write_pdf(dir.path(), &b));
    assert!(t.contains("No data"));

    // Finite, but too far apart for one axis.
    b.daily[0].points = vec![(feb(1), -f64::MAX), (feb(2), f64::MAX)];
    let h = carbon_report::html(&b);
    assert!(h.contains(">Values out of range</text>"));
}

#[test]
fn the_model_round_trips_through_json() {
    let b = sample();
    let json = serde_json::to_string(&b).unwrap();
    let back: Brief = serde_json::from_str(&json).unwrap();
    assert_eq!(carbon_report::html(&back), carbon_report::html(&b));
    assert_eq!(carbon_report::pdf(&back), carbon_report::pdf(&b));
}
