//! The PDF back end: A4 portrait pages drawn with `pdf-writer`.
//!
//! Text is set in the base-14 fonts Helvetica and Helvetica-Bold (not
//! embedded) with `/WinAnsiEncoding`; strings are encoded to WinAnsi by
//! [`metrics::encode`] and measured with the fonts' AFM widths, which the font
//! dictionaries also carry (`/Widths`), so layout and viewer agree. Charts are
//! vector paths from the shared chart [`Scene`]. Content flows top to bottom;
//! a block that would cross the bottom margin starts a new page (tables repeat
//! their header row), and every page gets a footer with "Page n of N".

use chrono::{DateTime, Datelike, Timelike, Utc};
use pdf_writer::types::{FontFlags, LineCapStyle, LineJoinStyle};
use pdf_writer::{Content, Date, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::chart::{self, ACCENT, Anchor, GRID, INK, MUTED, Prim, Rgb, Scene};
use crate::doc::{self, Block, CONTENT_WIDTH, Table};
use crate::model::Brief;
use crate::{fmt, metrics};

/// A4 in points.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
/// Left edge of the content column.
const LEFT: f32 = 50.0;
/// Top of the content area.
const TOP: f32 = PAGE_H - 54.0;
/// Nothing is drawn below this line except the footer.
const BOTTOM: f32 = 64.0;
/// Footer rule and text baseline.
const FOOTER_RULE: f32 = 48.0;
const FOOTER_BASE: f32 = 36.0;

const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

const BODY_LEAD: f32 = 12.5;
const NOTE_LEAD: f32 = 10.0;
/// Table geometry: line height in a cell, padding above and below a row's
/// lines, text inset from the column edges, header row height.
const CELL_LEAD: f32 = 11.0;
const CELL_PAD: f32 = 3.5;
const CELL_INSET: f32 = 5.0;
const HEADER_ROW: f32 = 17.0;
const HEADER_FILL: Rgb = Rgb(0xf3, 0xf4, 0xf6);
const ZEBRA_FILL: Rgb = Rgb(0xf9, 0xfa, 0xfb);
/// The rule under the title.
const RULE: Rgb = Rgb(0xd1, 0xd5, 0xdb);
/// A table cell wraps to at most this many lines.
const MAX_CELL_LINES: usize = 6;

/// `s` broken into lines no wider than `max` points.
fn wrap(s: &str, max: f32, bold: bool, size: f32) -> Vec<String> {
    let w = |t: &str| metrics::width(t, bold, size);
    let mut lines = Vec::new();
    for para in s.split('\n') {
        let start = lines.len();
        let mut line = String::new();
        for word in para.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if w(&candidate) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut rest = word;
            while w(rest) > max {
                let (head, tail) = split_word(rest, max, bold, size);
                lines.push(head.to_string());
                rest = tail;
            }
            line = rest.to_string();
        }
        if !line.is_empty() || lines.len() == start {
            lines.push(line);
        }
    }
    lines
}

/// The longest head of `word` (at least one character) that fits `max`,
/// preferring to break after `.`, `_`, `-` or `/`; and the rest.
fn split_word(word: &str, max: f32, bold: bool, size: f32) -> (&str, &str) {
    let mut fit = 0;
    let mut soft = 0;
    for (i, c) in word.char_indices() {
        let end = i + c.len_utf8();
        if i > 0 && metrics::width(&word[..end], bold, size) > max {
            break;
        }
        fit = end;
        if matches!(c, '.' | '_' | '-' | '/') && end < word.len() {
            soft = end;
        }
    }
    let at = if soft > 0 { soft } else { fit };
    word.split_at(at)
}

/// A face, size and colour for one line of text.
#[derive(Debug, Clone, Copy)]
struct Font {
    size: f32,
    bold: bool,
    color: Rgb,
}

const TITLE_FONT: Font = Font {
    size: 18.0,
    bold: true,
    color: INK,
};
const META_FONT: Font = Font {
    size: 8.5,
    bold: false,
    color: MUTED,
};
const HEADING_FONT: Font = Font {
    size: 13.0,
    bold: true,
    color: ACCENT,
};
const SUBHEADING_FONT: Font = Font {
    size: 10.0,
    bold: true,
    color: INK,
};
const BODY_FONT: Font = Font {
    size: 9.0,
    bold: false,
    color: INK,
};
const STRONG_FONT: Font = Font {
    bold: true,
    ..BODY_FONT
};
const NOTE_FONT: Font = Font {
    size: 7.5,
    bold: false,
    color: MUTED,
};
const HEADER_FONT: Font = Font {
    size: 8.0,
    bold: true,
    color: INK,
};
const CELL_FONT: Font = Font {
    size: 8.5,
    bold: false,
    color: INK,
};
const FOOTER_FONT: Font = Font {
    size: 7.5,
    bold: false,
    color: MUTED,
};

/// Draws one line of text with its anchor at `(x, y)` (baseline).
fn text(c: &mut Content, (x, y): (f32, f32), s: &str, font: Font, anchor: Anchor) {
    let bytes = metrics::encode(s);
    if bytes.is_empty() || !x.is_finite() || !y.is_finite() {
        return;
    }
    let w = metrics::width_bytes(&bytes, font.bold, font.size);
    let x = match anchor {
        Anchor::Start => x,
        Anchor::Middle => x - w / 2.0,
        Anchor::End => x - w,
    };
    let (r, g, b) = font.color.unit();
    c.begin_text();
    c.set_font(if font.bold { BOLD } else { REGULAR }, font.size);
    c.set_fill_rgb(r, g, b);
    c.next_line(x, y);
    c.show(Str(&bytes));
    c.end_text();
}

fn hline(c: &mut Content, x1: f32, x2: f32, y: f32, color: Rgb, width: f32) {
    let (r, g, b) = color.unit();
    c.set_stroke_rgb(r, g, b);
    c.set_line_width(width);
    c.move_to(x1, y);
    c.line_to(x2, y);
    c.stroke();
}

fn fill_rect(c: &mut Content, x: f32, y_top: f32, w: f32, h: f32, color: Rgb) {
    let (r, g, b) = color.unit();
    c.set_fill_rgb(r, g, b);
    c.rect(x, y_top - h, w, h);
    c.fill_nonzero();
}

/// Draws `scene` with its top-left corner at `(x0, y0)`.
fn scene(c: &mut Content, s: &Scene, x0: f32, y0: f32) {
    let p = |(x, y): (f32, f32)| (x0 + x, y0 - y);
    let ok = |v: &[f32]| v.iter().all(|v| v.is_finite());
    for prim in &s.prims {
        match prim {
            Prim::Line {
                from,
                to,
                color,
                width,
            } => {
                if !ok(&[from.0, from.1, to.0, to.1, *width]) {
                    continue;
                }
                let ((x1, y1), (x2, y2)) = (p(*from), p(*to));
                let (r, g, b) = color.unit();
                c.set_stroke_rgb(r, g, b);
                c.set_line_width(*width);
                c.move_to(x1, y1);
                c.line_to(x2, y2);
                c.stroke();
            }
            Prim::Polyline {
                points,
                color,
                width,
                dashed,
            } => {
                if points.len() < 2 || !points.iter().all(|q| ok(&[q.0, q.1])) {
                    continue;
                }
                c.save_state();
                let (r, g, b) = color.unit();
                c.set_stroke_rgb(r, g, b);
                c.set_line_width(*width);
                c.set_line_join(LineJoinStyle::RoundJoin);
                c.set_line_cap(LineCapStyle::RoundCap);
                if *dashed {
                    c.set_dash_pattern([4.0, 3.0], 0.0);
                }
                for (i, q) in points.iter().enumerate() {
                    let (x, y) = p(*q);
                    if i == 0 {
                        c.move_to(x, y);
                    } else {
                        c.line_to(x, y);
                    }
                }
                c.stroke();
                c.restore_state();
            }
            Prim::Rect {
                at,
                size,
                fill,
                stroke,
            } => {
                if !ok(&[at.0, at.1, size.0, size.1]) {
                    continue;
                }
                let (x, y) = p(*at);
                if let Some(f) = fill {
                    fill_rect(c, x, y, size.0, size.1, *f);
                }
                if let Some(s) = stroke {
                    let (r, g, b) = s.unit();
                    c.set_stroke_rgb(r, g, b);
                    c.set_line_width(0.5);
                    c.rect(x, y - size.1, size.0, size.1);
                    c.stroke();
                }
            }
            Prim::Dot { at, r, color } => {
                if !ok(&[at.0, at.1, *r]) {
                    continue;
                }
                let (x, y) = p(*at);
                let k = 0.552_284_8 * r;
                let (cr, cg, cb) = color.unit();
                c.set_fill_rgb(cr, cg, cb);
                c.move_to(x + r, y);
                c.cubic_to(x + r, y + k, x + k, y + r, x, y + r);
                c.cubic_to(x - k, y + r, x - r, y + k, x - r, y);
                c.cubic_to(x - r, y - k, x - k, y - r, x, y - r);
                c.cubic_to(x + k, y - r, x + r, y - k, x + r, y);
                c.close_path();
                c.fill_nonzero();
            }
            Prim::Text {
                at,
                text: t,
                size,
                bold,
                anchor,
                color,
            } => {
                let font = Font {
                    size: *size,
                    bold: *bold,
                    color: *color,
                };
                text(c, p(*at), t, font, *anchor);
            }
        }
    }
}

/// Baseline of a line of `size` text centred in a line box `lead` high whose
/// top is `top` (caps are 0.718 em high in Helvetica).
fn baseline(top: f32, lead: f32, size: f32) -> f32 {
    top - (lead + 0.718 * size) / 2.0
}

/// The page flow: the page being drawn, the finished ones, and the top of the
/// free space on the current page.
struct Flow {
    done: Vec<Content>,
    page: Content,
    y: f32,
}

impl Flow {
    fn new() -> Self {
        Self {
            done: Vec::new(),
            page: Content::new(),
            y: TOP,
        }
    }

    fn at_top(&self) -> bool {
        self.y >= TOP - 0.01
    }

    fn new_page(&mut self) {
        let page = std::mem::replace(&mut self.page, Content::new());
        self.done.push(page);
        self.y = TOP;
    }

    /// Starts a new page unless `h` points fit above the bottom margin.
    /// On an empty page nothing changes: every unit the layout places (a
    /// line, a table row, a chart) is shorter than a page.
    fn ensure(&mut self, h: f32) {
        if self.y - h < BOTTOM && !self.at_top() {
            self.new_page();
        }
    }

    fn finish(mut self) -> Vec<Content> {
        self.done.push(self.page);
        self.done
    }
}

/// Space above a heading (none at the top of a page), its line and rule, and
/// the space below.
const HEADING_BEFORE: f32 = 16.0;
const HEADING_HEIGHT: f32 = HEADING_BEFORE + 13.0 + 6.0 + 8.0;
const SUBHEADING_BEFORE: f32 = 8.0;
const SUBHEADING_LEAD: f32 = 13.0;
const SUBHEADING_AFTER: f32 = 2.0;
/// Space after a paragraph, a table and a chart.
const PARA_AFTER: f32 = 5.0;
const TABLE_AFTER: f32 = 6.0;
const CHART_PAD: f32 = 4.0;
const CHART_AFTER: f32 = 8.0;

fn subheading_height(s: &str) -> f32 {
    let lines = wrap(s, CONTENT_WIDTH, true, SUBHEADING_FONT.size).len();
    SUBHEADING_BEFORE + lines as f32 * SUBHEADING_LEAD + SUBHEADING_AFTER
}

fn para_height(s: &str, font: Font, lead: f32) -> f32 {
    wrap(s, CONTENT_WIDTH, font.bold, font.size).len() as f32 * lead + PARA_AFTER
}

/// Wrapped cells of a row and the row's height.
fn row_cells(t: &Table, row: &[Option<String>]) -> (Vec<Vec<String>>, f32) {
    let cells: Vec<Vec<String>> = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            let s = row
                .get(i)
                .and_then(|c| c.as_deref())
                .unwrap_or(fmt::MISSING);
            if col.numeric {
                vec![s.to_string()]
            } else {
                let mut lines = wrap(s, col.width - 2.0 * CELL_INSET, false, CELL_FONT.size);
                if lines.len() > MAX_CELL_LINES {
                    lines.truncate(MAX_CELL_LINES);
                    if let Some(last) = lines.last_mut() {
                        last.push('\u{2026}');
                    }
                }
                lines
            }
        })
        .collect();
    let n = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
    (cells, n as f32 * CELL_LEAD + 2.0 * CELL_PAD)
}

/// Height of what must stay with a heading: the blocks after it up to and
/// including the first table row or chart.
fn keep_with_next(rest: &[Block]) -> f32 {
    let mut h = 0.0;
    for b in rest {
        match b {
            Block::Heading(_) | Block::Title { .. } => break,
            Block::Subheading(s) => h += subheading_height(s),
            Block::Para(s) => h += para_height(s, BODY_FONT, BODY_LEAD),
            Block::Strong(s) => h += para_height(s, STRONG_FONT, BODY_LEAD),
            Block::Note(s) => h += para_height(s, NOTE_FONT, NOTE_LEAD),
            Block::Table(t) => {
                let first = t.rows.first().map_or(0.0, |r| row_cells(t, r).1);
                return h + HEADER_ROW + first;
            }
            Block::Chart(c) => return h + CHART_PAD + chart::layout(c).height + CHART_AFTER,
        }
    }
    h
}

/// Draws `s` wrapped to the content width, `lead` points per line.
fn draw_lines(flow: &mut Flow, s: &str, font: Font, lead: f32) {
    for line in wrap(s, CONTENT_WIDTH, font.bold, font.size) {
        flow.ensure(lead);
        let y = baseline(flow.y, lead, font.size);
        text(&mut flow.page, (LEFT, y), &line, font, Anchor::Start);
        flow.y -= lead;
    }
}

/// Draws a cell line left- or right-aligned in the column starting at `x`.
fn cell(c: &mut Content, x: f32, width: f32, y: f32, s: &str, font: Font, numeric: bool) {
    if numeric {
        text(c, (x + width - CELL_INSET, y), s, font, Anchor::End);
    } else {
        text(c, (x + CELL_INSET, y), s, font, Anchor::Start);
    }
}

fn table_header(flow: &mut Flow, t: &Table) {
    let c = &mut flow.page;
    fill_rect(c, LEFT, flow.y, CONTENT_WIDTH, HEADER_ROW, HEADER_FILL);
    let y = baseline(flow.y, HEADER_ROW, HEADER_FONT.size);
    let mut x = LEFT;
    for col in &t.columns {
        cell(c, x, col.width, y, &col.header, HEADER_FONT, col.numeric);
        x += col.width;
    }
    flow.y -= HEADER_ROW;
}

/// Draws a table row by row; a row that does not fit starts a new page,
/// which repeats the header row.
fn draw_table(flow: &mut Flow, t: &Table) {
    let first = t.rows.first().map_or(0.0, |r| row_cells(t, r).1);
    flow.ensure(HEADER_ROW + first);
    table_header(flow, t);
    for (i, row) in t.rows.iter().enumerate() {
        let (cells, h) = row_cells(t, row);
        if flow.y - h < BOTTOM {
            flow.new_page();
            table_header(flow, t);
        }
        let top = flow.y;
        let c = &mut flow.page;
        if i % 2 == 1 {
            fill_rect(c, LEFT, top, CONTENT_WIDTH, h, ZEBRA_FILL);
        }
        let mut x = LEFT;
        for (col, (lines, value)) in t.columns.iter().zip(cells.iter().zip(row)) {
            let font = Font {
                color: if value.is_none() { chart::AXIS } else { INK },
                ..CELL_FONT
            };
            for (k, line) in lines.iter().enumerate() {
                let y = baseline(top - CELL_PAD - k as f32 * CELL_LEAD, CELL_LEAD, font.size);
                cell(c, x, col.width, y, line, font, col.numeric);
            }
            x += col.width;
        }
        hline(c, LEFT, LEFT + CONTENT_WIDTH, top - h, GRID, 0.5);
        flow.y -= h;
    }
    flow.y -= TABLE_AFTER;
}

/// Lays the blocks out into page contents (without footers).
fn flow(blocks: &[Block]) -> Vec<Content> {
    let mut flow = Flow::new();
    for (i, block) in blocks.iter().enumerate() {
        let rest = blocks.get(i + 1..).unwrap_or_default();
        match block {
            Block::Title { title, lines } => {
                draw_lines(&mut flow, title, TITLE_FONT, 24.0);
                flow.y -= 2.0;
                for l in lines {
                    draw_lines(&mut flow, l, META_FONT, 11.5);
                }
                flow.y -= 6.0;
                hline(
                    &mut flow.page,
                    LEFT,
                    LEFT + CONTENT_WIDTH,
                    flow.y,
                    RULE,
                    0.75,
                );
                flow.y -= 4.0;
            }
            Block::Heading(h) => {
                flow.ensure(HEADING_HEIGHT + keep_with_next(rest));
                if !flow.at_top() {
                    flow.y -= HEADING_BEFORE;
                }
                let y = flow.y - HEADING_FONT.size;
                text(&mut flow.page, (LEFT, y), h, HEADING_FONT, Anchor::Start);
                hline(
                    &mut flow.page,
                    LEFT,
                    LEFT + CONTENT_WIDTH,
                    y - 6.0,
                    GRID,
                    0.75,
                );
                flow.y = y - 6.0 - 8.0;
            }
            Block::Subheading(h) => {
                flow.ensure(subheading_height(h) + keep_with_next(rest));
                if !flow.at_top() {
                    flow.y -= SUBHEADING_BEFORE;
                }
                draw_lines(&mut flow, h, SUBHEADING_FONT, SUBHEADING_LEAD);
                flow.y -= SUBHEADING_AFTER;
            }
            Block::Para(s) => {
                draw_lines(&mut flow, s, BODY_FONT, BODY_LEAD);
                flow.y -= PARA_AFTER;
            }
            Block::Strong(s) => {
                draw_lines(&mut flow, s, STRONG_FONT, BODY_LEAD);
                flow.y -= PARA_AFTER;
            }
            Block::Note(s) => {
                draw_lines(&mut flow, s, NOTE_FONT, NOTE_LEAD);
                flow.y -= PARA_AFTER;
            }
            Block::Table(t) => draw_table(&mut flow, t),
            Block::Chart(c) => {
                let laid = chart::layout(c);
                flow.ensure(CHART_PAD + laid.height + CHART_AFTER);
                scene(&mut flow.page, &laid, LEFT, flow.y - CHART_PAD);
                flow.y -= CHART_PAD + laid.height + CHART_AFTER;
            }
        }
    }
    flow.finish()
}

fn footer(c: &mut Content, title: &str, n: usize, total: usize) {
    hline(c, LEFT, LEFT + CONTENT_WIDTH, FOOTER_RULE, GRID, 0.5);
    let right = format!("Page {n} of {total}");
    let room = CONTENT_WIDTH - metrics::width(&right, false, FOOTER_FONT.size) - 24.0;
    let left = metrics::fit(
        &format!("254Carbon \u{00b7} {title}"),
        room,
        false,
        FOOTER_FONT.size,
    );
    text(c, (LEFT, FOOTER_BASE), &left, FOOTER_FONT, Anchor::Start);
    text(
        c,
        (LEFT + CONTENT_WIDTH, FOOTER_BASE),
        &right,
        FOOTER_FONT,
        Anchor::End,
    );
}

/// The PDF creation date from the brief's RFC 3339 `generated` instant.
fn creation_date(generated: &str) -> Option<Date> {
    let t = DateTime::parse_from_rfc3339(generated.trim())
        .ok()?
        .with_timezone(&Utc);
    let u8_of = |v: u32| u8::try_from(v).ok();
    Some(
        Date::new(u16::try_from(t.year()).ok()?)
            .month(u8_of(t.month())?)
            .day(u8_of(t.day())?)
            .hour(u8_of(t.hour())?)
            .minute(u8_of(t.minute())?)
            .second(u8_of(t.second())?)
            .utc_offset_hour(0)
            .utc_offset_minute(0),
    )
}

/// The brief as a PDF document.
pub(crate) fn render(brief: &Brief) -> Vec<u8> {
    let title = fmt::title(&brief.market, &brief.month);
    let blocks = doc::build(brief);
    let mut pages = flow(&blocks);
    let total = pages.len();
    for (i, c) in pages.iter_mut().enumerate() {
        footer(c, &title, i + 1, total);
    }

    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let info_id = Ref::new(3);
    let fonts = [
        (REGULAR, Ref::new(4), Ref::new(5), "Helvetica"),
        (BOLD, Ref::new(6), Ref::new(7), "Helvetica-Bold"),
    ];
    // Page i is object 8 + 2i, its content stream the next one.
    let page_ids: Vec<Ref> =
        std::iter::successors(Some(Ref::new(8)), |r| Some(Ref::new(r.get() + 2)))
            .take(total)
            .collect();

    let mut pdf = Pdf::new();
    {
        let mut catalog = pdf.catalog(catalog_id);
        catalog.pages(tree_id);
        catalog.lang(TextStr("en"));
        catalog.viewer_preferences().display_doc_title(true);
    }
    pdf.pages(tree_id)
        .kids(page_ids.iter().copied())
        .count(i32::try_from(total).unwrap_or(i32::MAX));

    {
        let mut info = pdf.document_info(info_id);
        info.title(TextStr(&title));
        info.author(TextStr("254Carbon"));
        info.subject(TextStr("Monthly market brief"));
        info.creator(TextStr("254Carbon carbon-report"));
        info.producer(TextStr("carbon-report (pdf-writer)"));
        if let Some(d) = creation_date(&brief.generated) {
            info.creation_date(d);
        }
    }

    for (name, font_id, descriptor_id, base) in fonts {
        let bold = name == BOLD;
        let table = if bold {
            &metrics::HELVETICA_BOLD
        } else {
            &metrics::HELVETICA
        };
        pdf.type1_font(font_id)
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"))
            .first_char(32)
            .last_char(255)
            .widths(table.iter().map(|&w| f32::from(w)))
            .font_descriptor(descriptor_id);
        // Adobe's AFM values for the two faces.
        let (bbox, stem_v) = if bold {
            (Rect::new(-170.0, -228.0, 1003.0, 962.0), 140.0)
        } else {
            (Rect::new(-166.0, -225.0, 1000.0, 931.0), 88.0)
        };
        pdf.font_descriptor(descriptor_id)
            .name(Name(base.as_bytes()))
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(bbox)
            .italic_angle(0.0)
            .ascent(718.0)
            .descent(-207.0)
            .cap_height(718.0)
            .stem_v(stem_v);
    }

    for (page_id, content) in page_ids.iter().zip(pages) {
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree_id)
            .contents(content_id);
        {
            let mut resources = page.resources();
            let mut f = resources.fonts();
            for (name, font_id, _, _) in fonts {
                f.pair(name, font_id);
            }
        }
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_respects_the_width() {
        let s = "The quick brown fox jumps over the lazy dog. ".repeat(10);
        let lines = wrap(&s, 200.0, false, 9.0);
        assert!(lines.len() > 3);
        for l in &lines {
            assert!(metrics::width(l, false, 9.0) <= 200.0, "{l}");
        }
        assert_eq!(
            lines.join(" ").split_whitespace().count(),
            s.split_whitespace().count()
        );
        // A long dotted name breaks after a dot.
        let lines = wrap("MISO.ARKANSAS.HUB.LONGER.NAME", 60.0, false, 8.5);
        assert!(lines.len() > 1 && lines[0].ends_with('.'), "{lines:?}");
        assert_eq!(lines.concat(), "MISO.ARKANSAS.HUB.LONGER.NAME");
        // Empty text is one empty line; a narrow box still makes progress.
        assert_eq!(wrap("", 100.0, false, 9.0), vec![String::new()]);
        assert_eq!(wrap("WWW", 1.0, true, 9.0), vec!["W", "W", "W"]);
    }

    #[test]
    fn creation_date_needs_rfc3339() {
        assert!(creation_date("2021-03-01T06:00:00Z").is_some());
        assert!(creation_date("2021-03-01T06:00:00+02:00").is_some());
        assert!(creation_date("yesterday").is_none());
    }
}
