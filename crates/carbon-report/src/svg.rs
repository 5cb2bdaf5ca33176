//! The SVG back end of the chart model: a [`Scene`] as an inline `<svg>`
//! element for an HTML5 document (no namespace attribute, no external
//! references; text in Helvetica/Arial from the page's stylesheet).

use std::fmt::Write;

use crate::chart::{Anchor, Prim, Scene};
use crate::html::escape;

/// A coordinate with at most two decimals, without trailing zeros.
fn n(v: f32) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".into()
    } else {
        s.into()
    }
}

/// `scene` as an `<svg>` element.
pub(crate) fn render(scene: &Scene) -> String {
    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{label}">"#,
        w = n(scene.width),
        h = n(scene.height),
        label = escape(&scene.label),
    );
    for p in &scene.prims {
        match p {
            Prim::Line {
                from,
                to,
                color,
                width,
            } => {
                let _ = write!(
                    out,
                    r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="{}"/>"#,
                    n(from.0),
                    n(from.1),
                    n(to.0),
                    n(to.1),
                    color.hex(),
                    n(*width)
                );
            }
            Prim::Polyline {
                points,
                color,
                width,
                dashed,
            } => {
                let pts: Vec<String> = points
                    .iter()
                    .map(|(x, y)| format!("{},{}", n(*x), n(*y)))
                    .collect();
                let _ = write!(
                    out,
                    r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="{}" stroke-linejoin="round" stroke-linecap="round"{}/>"#,
                    pts.join(" "),
                    color.hex(),
                    n(*width),
                    if *dashed {
                        r#" stroke-dasharray="4 3""#
                    } else {
                        ""
                    }
                );
            }
            Prim::Rect {
                at,
                size,
                fill,
                stroke,
            } => {
                let _ = write!(
                    out,
                    r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}""#,
                    n(at.0),
                    n(at.1),
                    n(size.0),
                    n(size.1),
                    fill.map_or_else(|| "none".into(), |c| c.hex())
                );
                if let Some(s) = stroke {
                    let _ = write!(out, r#" stroke="{}" stroke-width="0.5""#, s.hex());
                }
                out.push_str("/>");
            }
            Prim::Dot { at, r, color } => {
                let _ = write!(
                    out,
                    r#"<circle cx="{}" cy="{}" r="{}" fill="{}"/>"#,
                    n(at.0),
                    n(at.1),
                    n(*r),
                    color.hex()
                );
            }
            Prim::Text {
                at,
                text,
                size,
                bold,
                anchor,
                color,
            } => {
                let anchor = match anchor {
                    Anchor::Start => "",
                    Anchor::Middle => r#" text-anchor="middle""#,
                    Anchor::End => r#" text-anchor="end""#,
                };
                let _ = write!(
                    out,
                    r#"<text x="{}" y="{}" font-size="{}"{}{} fill="{}">{}</text>"#,
                    n(at.0),
                    n(at.1),
                    n(*size),
                    if *bold { r#" font-weight="bold""# } else { "" },
                    anchor,
                    color.hex(),
                    escape(text)
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::n;

    #[test]
    fn coordinates_are_short() {
        assert_eq!(n(12.0), "12");
        assert_eq!(n(12.5), "12.5");
        assert_eq!(n(12.345), "12.35");
        assert_eq!(n(-0.001), "0");
    }
}
