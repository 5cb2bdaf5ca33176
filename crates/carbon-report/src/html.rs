//! The HTML back end: one self-contained HTML5 document (inline CSS, charts
//! as inline SVG, no scripts, fonts, links or any other external reference).

use std::fmt::Write;

use crate::doc::{self, Block, Table};
use crate::model::Brief;
use crate::{fmt, svg};

/// `s` with `& < > " '` escaped, for text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
:root{color-scheme:light}\
*{box-sizing:border-box}\
body{margin:0;background:#eef0f3;color:#1f2937;font:14px/1.5 Helvetica,Arial,sans-serif}\
main{max-width:820px;margin:24px auto;background:#fff;padding:40px 48px 28px;\
box-shadow:0 1px 3px rgba(0,0,0,.08)}\
header{border-bottom:1px solid #d1d5db;padding-bottom:12px;margin-bottom:6px}\
h1{font-size:24px;line-height:1.25;margin:0 0 6px;color:#111827}\
.meta{color:#6b7280;font-size:12.5px;margin:0}\
h2{font-size:17px;color:#1e3a5f;border-bottom:1px solid #e5e7eb;padding-bottom:3px;margin:26px 0 10px}\
h3{font-size:14px;margin:16px 0 2px}\
p{margin:0 0 8px}\
.strong{font-weight:bold}\
.note{color:#6b7280;font-size:12px}\
table{border-collapse:collapse;width:100%;font-size:12.5px;margin:0 0 6px;font-variant-numeric:tabular-nums}\
th{background:#f3f4f6;text-align:left;padding:5px 6px;font-weight:bold;color:#374151}\
td{padding:4px 6px;border-bottom:1px solid #e5e7eb;vertical-align:top}\
tbody tr:nth-child(even) td{background:#f9fafb}\
th.num,td.num{text-align:right;white-space:nowrap}\
td.missing{color:#9ca3af}\
figure{margin:10px 0 14px}\
svg.chart{display:block;width:100%;height:auto;font-family:Helvetica,Arial,sans-serif}\
footer{margin-top:28px;border-top:1px solid #e5e7eb;padding-top:8px;color:#6b7280;font-size:11.5px}\
@page{size:A4;margin:16mm}\
@media print{body{background:#fff}main{box-shadow:none;margin:0;max-width:none;padding:0}\
figure,tr,h3{break-inside:avoid}h2,h3{break-after:avoid}}";

/// The brief as a self-contained HTML document.
pub(crate) fn render(brief: &Brief) -> String {
    let blocks = doc::build(brief);
    let title = fmt::title(&brief.market, &brief.month);
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(&title)
    );
    let mut in_section = false;
    for block in &blocks {
        match block {
            Block::Title { title, lines } => {
                let _ = writeln!(out, "<header>\n<h1>{}</h1>", escape(title));
                for l in lines {
                    let _ = writeln!(out, "<p class=\"meta\">{}</p>", escape(l));
                }
                out.push_str("</header>\n");
            }
            Block::Heading(h) => {
                if in_section {
                    out.push_str("</section>\n");
                }
                in_section = true;
                let _ = writeln!(out, "<section>\n<h2>{}</h2>", escape(h));
            }
            Block::Subheading(h) => {
                let _ = writeln!(out, "<h3>{}</h3>", escape(h));
            }
            Block::Para(p) => {
                let _ = writeln!(out, "<p>{}</p>", escape(p));
            }
            Block::Strong(p) => {
                let _ = writeln!(out, "<p class=\"strong\">{}</p>", escape(p));
            }
            Block::Note(p) => {
                let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(p));
            }
            Block::Table(t) => table(&mut out, t),
            Block::Chart(c) => {
                let _ = writeln!(
                    out,
                    "<figure>{}</figure>",
                    svg::render(&crate::chart::layout(c))
                );
            }
        }
    }
    if in_section {
        out.push_str("</section>\n");
    }
    let _ = write!(
        out,
        "<footer>254Carbon \u{00b7} {} \u{00b7} generated {}</footer>\n</main>\n</body>\n</html>\n",
        escape(&title),
        escape(&brief.generated)
    );
    out
}

fn table(out: &mut String, t: &Table) {
    out.push_str("<table>\n<thead><tr>");
    for c in &t.columns {
        let class = if c.numeric { " class=\"num\"" } else { "" };
        let _ = write!(out, "<th scope=\"col\"{class}>{}</th>", escape(&c.header));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (c, cell) in t.columns.iter().zip(row) {
            let mut classes = Vec::new();
            if c.numeric {
                classes.push("num");
            }
            if cell.is_none() {
                classes.push("missing");
            }
            let class = if classes.is_empty() {
                String::new()
            } else {
                format!(" class=\"{}\"", classes.join(" "))
            };
            let text = cell.as_deref().unwrap_or(fmt::MISSING);
            let _ = write!(out, "<td{class}>{}</td>", escape(text));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}
