//! # carbon-report — the monthly market brief, rendered natively
//!
//! Renders one market's brief for one calendar month ([`Brief`]) to
//!
//! - [`html`]: a self-contained HTML5 document — inline CSS, charts as inline
//!   SVG, no scripts, no web fonts, no links, images or `url()` of any kind, so
//!   it opens offline and can be mailed or archived as one file;
//! - [`pdf`]: an A4 portrait PDF — as many pages as the content needs, a
//!   footer with "Page n of N", charts as vector paths, text in the base-14
//!   fonts Helvetica and Helvetica-Bold with WinAnsi encoding (so text
//!   extraction gives the text back exactly), the title in the document info.
//!
//! Both outputs carry the same content in the same order (title with the market
//! clock and generation time; prices table and daily price chart; forward
//! curve now against a month ago; volatility regime; fundamentals; data
//! quality; methods), because both render one block list built from the brief,
//! and both draw each chart from one chart model (nice 1/2/5 × 10ᵏ ticks), laid
//! out once and translated to SVG or to PDF paths. A section without data says
//! so in one line instead of disappearing.
//!
//! ## What it owns, and what it must not do
//!
//! This crate owns presentation only: layout, formatting (prices with two
//! decimals, volatility and completeness as percentages, a missing number as
//! "—"), the chart model, Helvetica's glyph widths and the WinAnsi encoding.
//! It is pure: it takes an already-computed [`Brief`] and returns a `String`
//! or bytes. It must not read or write files, open connections, spawn
//! processes (no browser, no external converter), read the clock or compute
//! statistics — the service layer computes the brief and stores or serves the
//! output. Rendering never panics on its input: missing, NaN or infinite
//! numbers show as missing, and an empty series draws "No data".
//!
//! Text outside WinAnsi (e.g. CJK) cannot be shown by the PDF's base-14 fonts
//! and is drawn as `?` there; the HTML shows it as given.

mod chart;
mod doc;
mod fmt;
mod html;
mod metrics;
pub mod model;
mod pdf;
mod svg;

pub use model::{Brief, CurveComparison, Fundamental, HubStats, Quality, Regime, Series};

/// The brief as one self-contained HTML5 document (UTF-8).
#[must_use]
pub fn html(brief: &Brief) -> String {
    html::render(brief)
}

/// The brief as an A4 PDF document.
#[must_use]
pub fn pdf(brief: &Brief) -> Vec<u8> {
    pdf::render(brief)
}
