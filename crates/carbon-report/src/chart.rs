//! The chart model, shared by both outputs.
//!
//! A [`Chart`] (line series over dates or over category labels) is laid out
//! once into a [`Scene`]: a list of drawing primitives in points, origin at the
//! chart's top-left corner, y growing downwards. The SVG back end
//! ([`crate::svg`]) and the PDF back end ([`crate::pdf`]) only translate the
//! primitives, so both outputs draw the same chart.
//!
//! Every coordinate in a scene is finite: non-finite values are dropped before
//! layout (a gap in the line), and a chart without any finite value draws its
//! frame with "No data" in it (or "Values out of range" when the finite values
//! span more than an `f64` can: ±1e308).

use chrono::{Datelike, NaiveDate};

use crate::fmt;
use crate::metrics;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`.
    pub(crate) fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// Components in 0..=1, for PDF colour operators.
    pub(crate) fn unit(self) -> (f32, f32, f32) {
        (
            f32::from(self.0) / 255.0,
            f32::from(self.1) / 255.0,
            f32::from(self.2) / 255.0,
        )
    }
}

/// Body text.
pub(crate) const INK: Rgb = Rgb(0x1f, 0x29, 0x37);
/// Secondary text (captions, tick labels).
pub(crate) const MUTED: Rgb = Rgb(0x6b, 0x72, 0x80);
/// Gridlines and table rules.
pub(crate) const GRID: Rgb = Rgb(0xe5, 0xe7, 0xeb);
/// Axis lines.
pub(crate) const AXIS: Rgb = Rgb(0x9c, 0xa3, 0xaf);
/// Headings.
pub(crate) const ACCENT: Rgb = Rgb(0x1e, 0x3a, 0x5f);
/// The earlier curve in the forward-curve chart.
pub(crate) const PRIOR: Rgb = Rgb(0x8a, 0x93, 0xa0);

/// Series colours, distinct and readable in print (Tableau 10).
const PALETTE: [Rgb; 8] = [
    Rgb(0x1f, 0x77, 0xb4),
    Rgb(0xd6, 0x27, 0x28),
    Rgb(0x2c, 0xa0, 0x2c),
    Rgb(0xff, 0x7f, 0x0e),
    Rgb(0x94, 0x67, 0xbd),
    Rgb(0x8c, 0x56, 0x4b),
    Rgb(0xe3, 0x77, 0xc2),
    Rgb(0x17, 0xbe, 0xcf),
];

/// The line style of the `i`-th series: palette colours, dashed on the second
/// pass through the palette.
pub(crate) fn style(i: usize) -> (Rgb, bool) {
    (PALETTE[i % PALETTE.len()], (i / PALETTE.len()) % 2 == 1)
}

/// What the x axis shows.
#[derive(Debug, Clone)]
pub(crate) enum XAxis {
    /// Calendar dates; series x values are days from the common era
    /// ([`chrono::Datelike::num_days_from_ce`]).
    Dates,
    /// Category labels in order; series x values are label indices.
    Labels(Vec<String>),
}

/// One line of a chart.
#[derive(Debug, Clone)]
pub(crate) struct ChartSeries {
    /// Legend name.
    pub name: String,
    /// Line colour.
    pub color: Rgb,
    /// Dashed line.
    pub dashed: bool,
    /// `(x, y)` in x order; a non-finite y breaks the line.
    pub points: Vec<(f64, f64)>,
}

/// A line chart.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    /// Title drawn at the top-left; empty for none.
    pub title: String,
    /// Unit of the y axis, drawn above it.
    pub unit: String,
    /// The x axis.
    pub x: XAxis,
    /// The lines.
    pub series: Vec<ChartSeries>,
    /// Draw a legend.
    pub legend: bool,
    /// Width in points.
    pub width: f32,
    /// Height in points.
    pub height: f32,
}

/// Horizontal text alignment at the anchor point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// Text starts at x.
    Start,
    /// Text is centred on x.
    Middle,
    /// Text ends at x.
    End,
}

/// A drawing primitive; coordinates in points from the chart's top-left.
#[derive(Debug, Clone)]
pub(crate) enum Prim {
    /// A straight line.
    Line {
        /// Start.
        from: (f32, f32),
        /// End.
        to: (f32, f32),
        /// Colour.
        color: Rgb,
        /// Stroke width.
        width: f32,
    },
    /// An open polyline.
    Polyline {
        /// Vertices, at least two.
        points: Vec<(f32, f32)>,
        /// Colour.
        color: Rgb,
        /// Stroke width.
        width: f32,
        /// Dashed.
        dashed: bool,
    },
    /// A rectangle.
    Rect {
        /// Top-left corner.
        at: (f32, f32),
        /// Width and height.
        size: (f32, f32),
        /// Fill colour.
        fill: Option<Rgb>,
        /// Outline colour (0.5 pt).
        stroke: Option<Rgb>,
    },
    /// A filled dot.
    Dot {
        /// Centre.
        at: (f32, f32),
        /// Radius.
        r: f32,
        /// Colour.
        color: Rgb,
    },
    /// One line of text in Helvetica.
    Text {
        /// Anchor point on the baseline.
        at: (f32, f32),
        /// The text.
        text: String,
        /// Font size.
        size: f32,
        /// Helvetica-Bold.
        bold: bool,
        /// Alignment at the anchor.
        anchor: Anchor,
        /// Colour.
        color: Rgb,
    },
}

/// A laid-out chart.
#[derive(Debug, Clone)]
pub(crate) struct Scene {
    /// Width in points.
    pub width: f32,
    /// Height in points: the chart's height, plus the legend's rows after
    /// the first.
    pub height: f32,
    /// Accessible summary (the title).
    pub label: String,
    /// Primitives in painting order.
    pub prims: Vec<Prim>,
}

const TITLE_SIZE: f32 = 9.5;
const LABEL_SIZE: f32 = 7.5;
const LEGEND_SIZE: f32 = 7.5;
/// Legend rows before the rest is summarised as "+k more".
const LEGEND_ROWS: u8 = 4;
/// Widest category label on the x axis.
const CATEGORY_LABEL_MAX: f32 = 80.0;

/// Linear axis ticks at 1, 2 or 5 × 10^k.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ticks {
    /// Axis minimum (the first tick).
    pub lo: f64,
    /// Axis maximum (the last tick).
    pub hi: f64,
    /// Tick spacing.
    pub step: f64,
    /// Tick values, `lo` to `hi`.
    pub values: Vec<f64>,
}

/// Nice ticks covering `min..=max` (padded by 2% each side) with about
/// `target` intervals; `None` when the bounds are not finite.
pub(crate) fn nice_ticks(min: f64, max: f64, target: usize) -> Option<Ticks> {
    if !min.is_finite() || !max.is_finite() || min > max {
        return None;
    }
    let (mut lo, mut hi) = (min, max);
    let span = hi - lo;
    if !span.is_finite() {
        return None;
    }
    if span <= f64::EPSILON * lo.abs().max(hi.abs()).max(1.0) {
        // One value (or all equal): centre it in a band of ±10% (±1 at zero).
        let pad = if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 1.0 };
        lo -= pad;
        hi += pad;
    } else {
        lo -= span * 0.02;
        hi += span * 0.02;
    }
    let target = f64::from(u32::try_from(target.clamp(1, 20)).unwrap_or(5));
    let rough = (hi - lo) / target;
    if !rough.is_finite() || rough <= 0.0 {
        return None;
    }
    let magnitude = 10f64.powf(rough.log10().floor());
    let normalized = rough / magnitude;
    let factor = if normalized <= 1.0 {
        1.0
    } else if normalized <= 2.0 {
        2.0
    } else if normalized <= 5.0 {
        5.0
    } else {
        10.0
    };
    let step = factor * magnitude;
    let first = (lo / step).floor() * step;
    let last = (hi / step).ceil() * step;
    if !step.is_finite() || step <= 0.0 || !first.is_finite() || !last.is_finite() || last <= first
    {
        return None;
    }
    let intervals = ((last - first) / step).round();
    if !(1.0..=100.0).contains(&intervals) {
        return None;
    }
    let n = intervals as u32;
    let values = (0..=n)
        .map(|i| {
            let v = first + f64::from(i) * step;
            // Snap away float noise so labels and gridlines agree.
            (v / step).round() * step
        })
        .collect();
    Some(Ticks {
        lo: first,
        hi: last,
        step,
        values,
    })
}

/// Date ticks between the day numbers `lo..=hi`: `(day number, label)`.
fn date_ticks(lo: i32, hi: i32) -> Vec<(i32, String)> {
    let span = hi.saturating_sub(lo).max(1);
    let date = |n: i32| NaiveDate::from_num_days_from_ce_opt(n);
    if span <= 84 {
        let step = [1, 2, 7, 14]
            .into_iter()
            .find(|s| span / s <= 6)
            .unwrap_or(14);
        return (0..)
            .map(|i| lo.saturating_add(i * step))
            .take_while(|&n| n <= hi)
            .filter_map(|n| date(n).map(|d| (n, format!("{} {}", fmt::short_month(d), d.day()))))
            .collect();
    }
    // Longer spans: first days of months, every 1, 2, 3, 6, 12… months.
    let (Some(start), Some(end)) = (date(lo), date(hi)) else {
        return Vec::new();
    };
    let months = |d: NaiveDate| d.year() * 12 + i32::try_from(d.month0()).unwrap_or(0);
    let total = months(end) - months(start);
    let step = [1, 2, 3, 6, 12, 24, 60, 120, 600]
        .into_iter()
        .find(|s| total / s <= 6)
        .unwrap_or(1200);
    let mut out = Vec::new();
    let mut m = months(start) + 1;
    // Align to multiples of the step (quarters on quarters, years on January).
    while m.rem_euclid(step) != 0 && m <= months(end) {
        m += 1;
    }
    while m <= months(end) && out.len() < 20 {
        let (y, m0) = (m.div_euclid(12), m.rem_euclid(12));
        if let Some(d) = u32::try_from(m0 + 1)
            .ok()
            .and_then(|mm| NaiveDate::from_ymd_opt(y, mm, 1))
        {
            let label = if step >= 12 {
                format!("{y}")
            } else {
                format!("{} {y}", fmt::short_month(d))
            };
            out.push((d.num_days_from_ce(), label));
        }
        m += step;
    }
    out
}

/// `f64` to `f32` for drawing (coordinates are small).
fn f(v: f64) -> f32 {
    v as f32
}

/// Breaks `points` into runs of finite values (a non-finite y is a gap).
fn runs(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut run = Vec::new();
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            run.push((x, y));
        } else if !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// The accessible name of `chart`: its title, or its series' names.
fn label(chart: &Chart) -> String {
    if chart.title.is_empty() {
        let names: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).collect();
        names.join(", ")
    } else {
        chart.title.clone()
    }
}

/// Lays `chart` out into drawing primitives.
pub(crate) fn layout(chart: &Chart) -> Scene {
    let (w, h) = (chart.width, chart.height);
    let mut prims = Vec::new();
    let mut top = 0.0_f32;

    if !chart.title.is_empty() {
        prims.push(Prim::Text {
            at: (0.0, TITLE_SIZE),
            text: metrics::fit(&chart.title, w, true, TITLE_SIZE),
            size: TITLE_SIZE,
            bold: true,
            anchor: Anchor::Start,
            color: INK,
        });
        top += TITLE_SIZE + 7.0;
    }

    // The legend: at most LEGEND_ROWS rows, then "+k more". A legend of
    // more than one row makes the chart taller, not its plot shorter.
    let mut extra = 0.0_f32;
    if chart.legend && !chart.series.is_empty() {
        let row_h = LEGEND_SIZE + 5.0;
        let more_w = metrics::width("+0000 more", false, LEGEND_SIZE);
        let mut x = 0.0_f32;
        let mut row = 0_u8;
        for (i, s) in chart.series.iter().enumerate() {
            let name = metrics::fit(&s.name, w * 0.45, false, LEGEND_SIZE);
            let item = 16.0 + metrics::width(&name, false, LEGEND_SIZE);
            let last_row = row + 1 == LEGEND_ROWS;
            let room = if last_row && i + 1 < chart.series.len() {
                w - more_w
            } else {
                w
            };
            if x > 0.0 && x + item > room {
                if last_row {
                    prims.push(Prim::Text {
                        at: (x, top + f32::from(row) * row_h + LEGEND_SIZE),
                        text: format!("+{} more", chart.series.len() - i),
                        size: LEGEND_SIZE,
                        bold: false,
                        anchor: Anchor::Start,
                        color: MUTED,
                    });
                    break;
                }
                x = 0.0;
                row += 1;
            }
            let base = top + f32::from(row) * row_h + LEGEND_SIZE;
            let mid = base - LEGEND_SIZE * 0.33;
            prims.push(Prim::Polyline {
                points: vec![(x, mid), (x + 12.0, mid)],
                color: s.color,
                width: 2.0,
                dashed: s.dashed,
            });
            prims.push(Prim::Text {
                at: (x + 16.0, base),
                text: name,
                size: LEGEND_SIZE,
                bold: false,
                anchor: Anchor::Start,
                color: INK,
            });
            x += item + 12.0;
        }
        top += f32::from(row + 1) * row_h + 3.0;
        extra = f32::from(row) * row_h;
    }
    let h = h + extra;

    // The y range over every finite value.
    let finite = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut ymin, mut ymax, mut xmin, mut xmax) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    let mut any = false;
    for &(x, y) in finite {
        any = true;
        ymin = ymin.min(y);
        ymax = ymax.max(y);
        xmin = xmin.min(x);
        xmax = xmax.max(x);
    }
    let ticks = if any { nice_ticks(ymin, ymax, 5) } else { None };

    // Unit above the y axis.
    let unit_base = top + LABEL_SIZE;
    if !chart.unit.is_empty() {
        prims.push(Prim::Text {
            at: (0.0, unit_base),
            text: metrics::fit(&chart.unit, w * 0.5, false, LABEL_SIZE),
            size: LABEL_SIZE,
            bold: false,
            anchor: Anchor::Start,
            color: MUTED,
        });
    }
    let plot_top = unit_base + 8.0;
    let plot_bottom = (h - LABEL_SIZE - 7.0).max(plot_top + 10.0);

    let labels: Vec<(f64, String)> = ticks
        .as_ref()
        .map(|t| {
            t.values
                .iter()
                .map(|&v| (v, fmt::tick(v, t.step)))
                .collect()
        })
        .unwrap_or_default();
    let label_w = labels
        .iter()
        .map(|(_, s)| metrics::width(s, false, LABEL_SIZE))
        .fold(0.0_f32, f32::max);
    let plot_left = (label_w + 6.0).max(24.0).min(w * 0.4);
    let plot_right = (w - 8.0).max(plot_left + 10.0);
    let plot_w = plot_right - plot_left;
    let plot_h = plot_bottom - plot_top;

    // Background and frame.
    prims.push(Prim::Rect {
        at: (plot_left, plot_top),
        size: (plot_w, plot_h),
        fill: Some(Rgb(0xfc, 0xfc, 0xfd)),
        stroke: None,
    });

    let (Some(ticks), true) = (ticks, any) else {
        prims.push(Prim::Rect {
            at: (plot_left, plot_top),
            size: (plot_w, plot_h),
            fill: None,
            stroke: Some(GRID),
        });
        prims.push(Prim::Text {
            at: (plot_left + plot_w / 2.0, plot_top + plot_h / 2.0 + 3.5),
            // Finite values too far apart to share an f64 axis.
            text: if any {
                "Values out of range"
            } else {
                "No data"
            }
            .into(),
            size: 10.0,
            bold: false,
            anchor: Anchor::Middle,
            color: MUTED,
        });
        return Scene {
            width: w,
            height: h,
            label: label(chart),
            prims,
        };
    };

    // x mapping.
    let (x_lo, x_hi) = match &chart.x {
        XAxis::Labels(l) => (-0.5, l.len().max(1) as f64 - 0.5),
        XAxis::Dates if xmax > xmin => (xmin, xmax),
        XAxis::Dates => (xmin - 1.0, xmax + 1.0),
    };
    let sx = |x: f64| plot_left + f((x - x_lo) / (x_hi - x_lo)) * plot_w;
    let sy = |y: f64| plot_bottom - f((y - ticks.lo) / (ticks.hi - ticks.lo)) * plot_h;

    // Horizontal gridlines and y labels.
    for (v, label) in &labels {
        let y = sy(*v);
        prims.push(Prim::Line {
            from: (plot_left, y),
            to: (plot_right, y),
            color: GRID,
            width: 0.5,
        });
        prims.push(Prim::Text {
            at: (plot_left - 4.0, y + LABEL_SIZE * 0.35),
            text: label.clone(),
            size: LABEL_SIZE,
            bold: false,
            anchor: Anchor::End,
            color: MUTED,
        });
    }
    // A zero line inside the range.
    if ticks.lo < 0.0 && ticks.hi > 0.0 {
        let y = sy(0.0);
        prims.push(Prim::Line {
            from: (plot_left, y),
            to: (plot_right, y),
            color: AXIS,
            width: 0.6,
        });
    }

    // x ticks and labels.
    let x_labels: Vec<(f64, String)> = match &chart.x {
        XAxis::Dates => {
            let (lo, hi) = (xmin.round() as i32, xmax.round() as i32);
            date_ticks(lo, hi)
                .into_iter()
                .map(|(n, l)| (f64::from(n), l))
                .collect()
        }
        XAxis::Labels(l) => {
            let l: Vec<String> = l
                .iter()
                .map(|s| metrics::fit(s, CATEGORY_LABEL_MAX, false, LABEL_SIZE))
                .collect();
            let widest = l
                .iter()
                .map(|s| metrics::width(s, false, LABEL_SIZE))
                .fold(0.0_f32, f32::max);
            let slot = plot_w / l.len().max(1) as f32;
            let every = ((widest + 6.0) / slot.max(0.1)).ceil().max(1.0);
            let every = (every.min(l.len().max(1) as f32) as usize).max(1);
            l.iter()
                .enumerate()
                .filter(|(i, _)| i % every == 0)
                .map(|(i, s)| (i as f64, s.clone()))
                .collect()
        }
    };
    for (x, label) in &x_labels {
        let px = sx(*x);
        if matches!(chart.x, XAxis::Dates) {
            prims.push(Prim::Line {
                from: (px, plot_top),
                to: (px, plot_bottom),
                color: GRID,
                width: 0.5,
            });
        }
        prims.push(Prim::Line {
            from: (px, plot_bottom),
            to: (px, plot_bottom + 3.0),
            color: AXIS,
            width: 0.6,
        });
        let tw = metrics::width(label, false, LABEL_SIZE);
        let cx = px.clamp(tw / 2.0, (w - tw / 2.0).max(tw / 2.0));
        prims.push(Prim::Text {
            at: (cx, plot_bottom + 3.0 + LABEL_SIZE + 1.0),
            text: label.clone(),
            size: LABEL_SIZE,
            bold: false,
            anchor: Anchor::Middle,
            color: MUTED,
        });
    }

    // Axes.
    prims.push(Prim::Line {
        from: (plot_left, plot_bottom),
        to: (plot_right, plot_bottom),
        color: AXIS,
        width: 0.75,
    });
    prims.push(Prim::Line {
        from: (plot_left, plot_top),
        to: (plot_left, plot_bottom),
        color: AXIS,
        width: 0.75,
    });

    // The lines; a run of one point (or a category chart) gets dots.
    let dots = matches!(chart.x, XAxis::Labels(_));
    for s in &chart.series {
        for run in runs(&s.points) {
            let pts: Vec<(f32, f32)> = run.iter().map(|&(x, y)| (sx(x), sy(y))).collect();
            if pts.len() >= 2 {
                prims.push(Prim::Polyline {
                    points: pts.clone(),
                    color: s.color,
                    width: 1.5,
                    dashed: s.dashed,
                });
            }
            if pts.len() == 1 || dots {
                for p in pts {
                    prims.push(Prim::Dot {
                        at: p,
                        r: if dots { 1.8 } else { 2.5 },
                        color: s.color,
                    });
                }
            }
        }
    }

    Scene {
        width: w,
        height: h,
        label: label(chart),
        prims,
    }
}

/// Day number of `d` as a chart x value.
pub(crate) fn day(d: NaiveDate) -> f64 {
    f64::from(d.num_days_from_ce())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_one_two_five_steps_covering_the_data() {
        let t = nice_ticks(21.3, 58.9, 5).unwrap_or_else(|| panic!("ticks"));
        assert_eq!(t.step, 10.0);
        assert_eq!(t.values, vec![20.0, 30.0, 40.0, 50.0, 60.0]);
        let t = nice_ticks(-4.1, 3.2, 5).unwrap_or_else(|| panic!("ticks"));
        assert_eq!(t.step, 2.0);
        assert!(t.lo <= -4.1 && t.hi >= 3.2);
        let t = nice_ticks(0.012, 0.019, 5).unwrap_or_else(|| panic!("ticks"));
        assert!((t.step - 0.002).abs() < 1e-12);
        // All equal, zero, and hopeless bounds.
        let t = nice_ticks(50.0, 50.0, 5).unwrap_or_else(|| panic!("ticks"));
        assert!(t.lo < 50.0 && t.hi > 50.0);
        let t = nice_ticks(0.0, 0.0, 5).unwrap_or_else(|| panic!("ticks"));
        assert!(t.lo < 0.0 && t.hi > 0.0);
        assert_eq!(nice_ticks(f64::NAN, 1.0, 5), None);
        assert_eq!(nice_ticks(-f64::MAX, f64::MAX, 5), None);
    }

    #[test]
    fn a_month_gets_weekly_date_ticks() {
        let feb1 = NaiveDate::from_ymd_opt(2021, 2, 1).unwrap_or_default();
        let n = feb1.num_days_from_ce();
        let t: Vec<String> = date_ticks(n, n + 27).into_iter().map(|(_, l)| l).collect();
        assert_eq!(t, ["Feb 1", "Feb 8", "Feb 15", "Feb 22"]);
        let t: Vec<String> = date_ticks(n, n + 365).into_iter().map(|(_, l)| l).collect();
        assert_eq!(
            t,
            [
                "Mar 2021", "May 2021", "Jul 2021", "Sep 2021", "Nov 2021", "Jan 2022"
            ]
        );
        let t: Vec<String> = date_ticks(n, n + 3 * 365)
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(
            t,
            [
                "Jul 2021", "Jan 2022", "Jul 2022", "Jan 2023", "Jul 2023", "Jan 2024"
            ]
        );
    }

    #[test]
    fn scenes_are_finite_whatever_the_input() {
        let series = |points: Vec<(f64, f64)>| ChartSeries {
            name: "s".into(),
            color: style(0).0,
            dashed: false,
            points,
        };
        for points in [
            vec![],
            vec![(738_000.0, f64::NAN)],
            vec![(738_000.0, 5.0)],
            vec![(738_000.0, 5.0), (738_001.0, 5.0)],
            vec![
                (738_000.0, f64::INFINITY),
                (738_001.0, 1e300),
                (738_002.0, -1e300),
            ],
        ] {
            let chart = Chart {
                title: "t".into(),
                unit: "u".into(),
                x: XAxis::Dates,
                series: vec![series(points)],
                legend: true,
                width: 400.0,
                height: 150.0,
            };
            for p in layout(&chart).prims {
                let ok = match &p {
                    Prim::Line { from, to, .. } => {
                        [from.0, from.1, to.0, to.1].iter().all(|v| v.is_finite())
                    }
                    Prim::Polyline { points, .. } => {
                        points.iter().all(|p| p.0.is_finite() && p.1.is_finite())
                    }
                    Prim::Rect { at, size, .. } => {
                        [at.0, at.1, size.0, size.1].iter().all(|v| v.is_finite())
                    }
                    Prim::Dot { at, .. } | Prim::Text { at, .. } => {
                        at.0.is_finite() && at.1.is_finite()
                    }
                };
                assert!(ok, "{p:?}");
            }
        }
    }
}
