//! The brief as a sequence of blocks (headings, paragraphs, tables, charts),
//! built once from the [`Brief`] and rendered by both back ends, so the HTML
//! and the PDF carry the same content.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::chart::{self, Chart, ChartSeries, XAxis};
use crate::fmt;
use crate::model::{Brief, CurveComparison, Fundamental, HubStats, Quality, Regime, Series};

/// Width of the content column in points (A4 less two 50 pt margins); charts
/// and tables are laid out for it and the HTML scales them.
pub(crate) const CONTENT_WIDTH: f32 = 495.0;

/// One block of the document.
#[derive(Debug, Clone)]
pub(crate) enum Block {
    /// The document title and the lines under it.
    Title {
        /// `MISO monthly market brief — February 2021`.
        title: String,
        /// Market clock, generation time.
        lines: Vec<String>,
    },
    /// A section heading.
    Heading(String),
    /// A heading inside a section (one fundamental).
    Subheading(String),
    /// Body text.
    Para(String),
    /// Body text in bold.
    Strong(String),
    /// A small secondary note (table captions).
    Note(String),
    /// A table.
    Table(Table),
    /// A chart.
    Chart(Chart),
}

/// A table column.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    /// Header text.
    pub header: String,
    /// Right-aligned numbers (no wrapping).
    pub numeric: bool,
    /// Width in points in the PDF (the widths add up to [`CONTENT_WIDTH`]).
    pub width: f32,
}

/// A table; a `None` cell is missing and shown as [`fmt::MISSING`].
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows, one cell per column.
    pub rows: Vec<Vec<Option<String>>>,
}

/// The document's blocks, in order.
pub(crate) fn build(brief: &Brief) -> Vec<Block> {
    let mut out = vec![Block::Title {
        title: fmt::title(&brief.market, &brief.month),
        lines: vec![
            format!(
                "Market clock: {} \u{2014} dates, hours and on-/off-peak blocks are market time.",
                brief.timezone
            ),
            format!(
                "Generated {} \u{00b7} prices in {}",
                brief.generated, brief.currency
            ),
        ],
    }];
    prices(brief, &mut out);
    curve(brief, &mut out);
    regime(brief.regime.as_ref(), &mut out);
    fundamentals(&brief.fundamentals, &mut out);
    quality(&brief.quality, &mut out);
    out.push(Block::Heading("Methods".into()));
    if brief.methods.iter().all(|m| m.trim().is_empty()) {
        out.push(Block::Para("No methods notes for this brief.".into()));
    }
    for m in brief.methods.iter().filter(|m| !m.trim().is_empty()) {
        out.push(Block::Para(m.trim().to_string()));
    }
    out
}

fn col(header: &str, numeric: bool, width: f32) -> Column {
    Column {
        header: header.into(),
        numeric,
        width,
    }
}

fn prices(brief: &Brief, out: &mut Vec<Block>) {
    out.push(Block::Heading("Prices".into()));
    if brief.hubs.is_empty() {
        out.push(Block::Para("No hub prices stored for this month.".into()));
    } else {
        let n = 52.0;
        let columns = vec![
            col("Hub", false, CONTENT_WIDTH - 7.0 * n),
            col("On-peak", true, n),
            col("Off-peak", true, n),
            col("All hours", true, n),
            col("Min", true, n),
            col("Max", true, n),
            col("Volatility", true, n),
            col("DA\u{2013}RT", true, n),
        ];
        let rows = brief.hubs.iter().map(hub_row).collect();
        out.push(Block::Table(Table { columns, rows }));
        out.push(Block::Note(format!(
            "{} prices in {}: on-peak, off-peak and all-hours averages, minimum and \
             maximum. Volatility is annualised. DA\u{2013}RT is the mean day-ahead minus \
             real-time price.",
            capitalised(&brief.basis),
            brief.currency
        )));
    }
    if brief.daily.is_empty() {
        out.push(Block::Para(format!(
            "No daily {} prices stored for this month.",
            brief.basis
        )));
    } else {
        let unit = brief
            .daily
            .iter()
            .map(|s| s.unit.trim())
            .find(|u| !u.is_empty())
            .unwrap_or(&brief.currency)
            .to_string();
        out.push(Block::Chart(Chart {
            title: format!("Daily average {} price", brief.basis),
            unit,
            x: XAxis::Dates,
            series: brief
                .daily
                .iter()
                .enumerate()
                .map(|(i, s)| date_series(i, s))
                .collect(),
            legend: true,
            width: CONTENT_WIDTH,
            height: 230.0,
        }));
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn hub_row(h: &HubStats) -> Vec<Option<String>> {
    vec![
        Some(h.name.clone()),
        fmt::price(h.on_peak_avg),
        fmt::price(h.off_peak_avg),
        fmt::price(h.avg),
        fmt::price(h.min),
        fmt::price(h.max),
        h.volatility.and_then(fmt::percent),
        fmt::price(h.da_rt_spread),
    ]
}

/// Date points sorted by date, as chart x values.
fn date_points(points: &[(NaiveDate, f64)]) -> Vec<(f64, f64)> {
    let mut p: Vec<(NaiveDate, f64)> = points.to_vec();
    p.sort_by_key(|(d, _)| *d);
    p.into_iter().map(|(d, v)| (chart::day(d), v)).collect()
}

fn date_series(i: usize, s: &Series) -> ChartSeries {
    let (color, dashed) = chart::style(i);
    ChartSeries {
        name: s.name.clone(),
        color,
        dashed,
        points: date_points(&s.points),
    }
}

/// The union of both curves' period labels: `now`'s order, then periods
/// only `prior` quotes; sorted when every label is ISO-like (`2021-03`,
/// `2021-Q2`), which sorts by time.
fn period_labels(c: &CurveComparison) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for (l, _) in c.now.iter().chain(c.prior.iter()) {
        if !labels.contains(l) {
            labels.push(l.clone());
        }
    }
    let iso = |l: &String| {
        let b = l.as_bytes();
        b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
    };
    if labels.iter().all(iso) {
        labels.sort();
    }
    labels
}

/// Each period's first quote.
fn quotes(pts: &[(String, f64)]) -> HashMap<&str, f64> {
    let mut m: HashMap<&str, f64> = HashMap::new();
    for (l, v) in pts {
        m.entry(l.as_str()).or_insert(*v);
    }
    m
}

fn curve(brief: &Brief, out: &mut Vec<Block>) {
    out.push(Block::Heading("Forward curve".into()));
    let Some(c) = &brief.curve else {
        out.push(Block::Para(
            "No forward curve stored for this market.".into(),
        ));
        return;
    };
    let labels = period_labels(c);
    let (now, prior) = (quotes(&c.now), quotes(&c.prior));
    let line = |m: &HashMap<&str, f64>| -> Vec<(f64, f64)> {
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| (i as f64, m.get(l.as_str()).copied().unwrap_or(f64::NAN)))
            .collect()
    };
    out.push(Block::Para(format!(
        "Curve {}: {} (solid) against {} (dashed), by delivery period.",
        c.curve_id, c.now_label, c.prior_label
    )));
    out.push(Block::Chart(Chart {
        title: "Forward curve: now against a month ago".into(),
        unit: brief.currency.clone(),
        series: vec![
            ChartSeries {
                name: c.now_label.clone(),
                color: chart::style(0).0,
                dashed: false,
                points: line(&now),
            },
            ChartSeries {
                name: c.prior_label.clone(),
                color: chart::PRIOR,
                dashed: true,
                points: line(&prior),
            },
        ],
        x: XAxis::Labels(labels.clone()),
        legend: true,
        width: CONTENT_WIDTH,
        height: 200.0,
    }));
    let changes: Vec<f64> = labels
        .iter()
        .filter_map(|l| Some(now.get(l.as_str())? - prior.get(l.as_str())?))
        .filter(|d| d.is_finite())
        .collect();
    let mean = changes.iter().sum::<f64>() / changes.len().max(1) as f64;
    out.push(Block::Para(match fmt::price(Some(mean)) {
        Some(m) if !changes.is_empty() => format!(
            "Across the {} delivery period{} quoted on both dates the curve moved {}{m} {} on \
             average (now minus a month ago).",
            changes.len(),
            if changes.len() == 1 { "" } else { "s" },
            if mean > 0.0 && m != "0.00" { "+" } else { "" },
            brief.currency
        ),
        _ => "No delivery period is quoted on both dates.".into(),
    }));
}

fn regime(r: Option<&Regime>, out: &mut Vec<Block>) {
    out.push(Block::Heading("Volatility regime".into()));
    let Some(r) = r else {
        out.push(Block::Para(
            "No volatility regime computed for this month.".into(),
        ));
        return;
    };
    out.push(Block::Strong(r.label.clone()));
    let vol = fmt::percent(r.realized_vol).unwrap_or_else(|| fmt::MISSING.into());
    let pct = r
        .percentile
        .and_then(fmt::ordinal)
        .map(|p| format!(", the {p} percentile of the market's history"))
        .unwrap_or_default();
    out.push(Block::Para(format!(
        "Realized volatility {vol} (annualised){pct}."
    )));
    if !r.note.trim().is_empty() {
        out.push(Block::Para(r.note.trim().to_string()));
    }
}

fn fundamentals(list: &[Fundamental], out: &mut Vec<Block>) {
    out.push(Block::Heading("Fundamentals".into()));
    if list.is_empty() {
        out.push(Block::Para(
            "No fundamentals stored for this market.".into(),
        ));
    }
    for (i, f) in list.iter().enumerate() {
        out.push(Block::Subheading(f.name.clone()));
        let v = |x: Option<f64>| fmt::price(x).unwrap_or_else(|| fmt::MISSING.into());
        let unit = if f.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", f.unit)
        };
        out.push(Block::Para(format!(
            "Average {}{unit} \u{00b7} minimum {}{unit} \u{00b7} maximum {}{unit}",
            v(f.avg),
            v(f.min),
            v(f.max)
        )));
        let (color, _) = chart::style(i + 2);
        out.push(Block::Chart(Chart {
            title: String::new(),
            unit: f.unit.clone(),
            x: XAxis::Dates,
            series: vec![ChartSeries {
                name: f.name.clone(),
                color,
                dashed: false,
                points: date_points(&f.points),
            }],
            legend: false,
            width: CONTENT_WIDTH,
            height: 120.0,
        }));
    }
}

fn quality(rows: &[Quality], out: &mut Vec<Block>) {
    out.push(Block::Heading("Data quality".into()));
    if rows.is_empty() {
        out.push(Block::Para(
            "No data-quality records for this month.".into(),
        ));
        return;
    }
    let columns = vec![
        col("Series", false, 205.0),
        col("Present / expected", true, 90.0),
        col("Completeness", true, 75.0),
        col("Last ingested", false, 125.0),
    ];
    let rows = rows
        .iter()
        .map(|q| {
            vec![
                Some(q.series.clone()),
                Some(format!("{} / {}", q.present, q.expected)),
                fmt::percent(q.completeness),
                q.last_ingested.clone().filter(|s| !s.trim().is_empty()),
            ]
        })
        .collect();
    out.push(Block::Table(Table { columns, rows }));
}
