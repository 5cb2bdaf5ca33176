//! Helvetica and Helvetica-Bold advance widths and the WinAnsi encoding.
//!
//! The PDF uses the base-14 fonts Helvetica and Helvetica-Bold with
//! `/WinAnsiEncoding`, so every string is encoded to WinAnsi bytes here and
//! measured with the fonts' published AFM advance widths (Adobe Core 14 font
//! metrics, units of 1/1000 em). The same widths lay out the SVG charts: the
//! HTML asks for Helvetica or Arial, which share these metrics.

/// Advance widths of Helvetica for WinAnsi codes 32..=255 (index `code - 32`);
/// 0 for the codes WinAnsi leaves undefined.
#[rustfmt::skip]
pub(crate) const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // 0x20
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0x30
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // 0x40
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // 0x50
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // 0x60
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0, // 0x70
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, // 0x80
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667, // 0x90
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, // 0xa0
    400, 584, 333, 333, 333, 578, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611, // 0xb0
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, // 0xc0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, // 0xd0
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, // 0xe0
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500, // 0xf0
];

/// Advance widths of Helvetica-Bold for WinAnsi codes 32..=255, as [`HELVETICA`].
#[rustfmt::skip]
pub(crate) const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // 0x20
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // 0x30
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // 0x40
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // 0x50
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, // 0x60
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 0, // 0x70
    556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, // 0x80
    0, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667, // 0x90
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333, // 0xa0
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611, // 0xb0
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, // 0xc0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, // 0xd0
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278, // 0xe0
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556, // 0xf0
];

/// The WinAnsi code of `c`, if WinAnsi has one.
pub(crate) fn winansi(c: char) -> Option<u8> {
    let code = u32::from(c);
    match code {
        0x20..=0x7E | 0xA0..=0xFF => u8::try_from(code).ok(),
        _ => match c {
            '\u{20AC}' => Some(0x80), // €
            '\u{201A}' => Some(0x82), // ‚
            '\u{0192}' => Some(0x83), // ƒ
            '\u{201E}' => Some(0x84), // „
            '\u{2026}' => Some(0x85), // …
            '\u{2020}' => Some(0x86), // †
            '\u{2021}' => Some(0x87), // ‡
            '\u{02C6}' => Some(0x88), // ˆ
            '\u{2030}' => Some(0x89), // ‰
            '\u{0160}' => Some(0x8A), // Š
            '\u{2039}' => Some(0x8B), // ‹
            '\u{0152}' => Some(0x8C), // Œ
            '\u{017D}' => Some(0x8E), // Ž
            '\u{2018}' => Some(0x91), // ‘
            '\u{2019}' => Some(0x92), // ’
            '\u{201C}' => Some(0x93), // “
            '\u{201D}' => Some(0x94), // ”
            '\u{2022}' => Some(0x95), // •
            '\u{2013}' => Some(0x96), // –
            '\u{2014}' => Some(0x97), // —
            '\u{02DC}' => Some(0x98), // ˜
            '\u{2122}' => Some(0x99), // ™
            '\u{0161}' => Some(0x9A), // š
            '\u{203A}' => Some(0x9B), // ›
            '\u{0153}' => Some(0x9C), // œ
            '\u{017E}' => Some(0x9E), // ž
            '\u{0178}' => Some(0x9F), // Ÿ
            _ => None,
        },
    }
}

/// `s` encoded to WinAnsi bytes. White space (tabs, line breaks, thin and
/// no-break spaces) becomes a space, the Unicode minus and hyphens become `-`,
/// other control characters are dropped and anything else WinAnsi cannot
/// encode becomes `?`.
pub(crate) fn encode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        if let Some(b) = winansi(c) {
            out.push(b);
        } else if c.is_whitespace() {
            out.push(b' ');
        } else if matches!(c, '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2212}') {
            out.push(b'-');
        } else if !c.is_control() {
            out.push(b'?');
        }
    }
    out
}

/// Width in points of WinAnsi `bytes` set in Helvetica (or Helvetica-Bold) at `size`.
pub(crate) fn width_bytes(bytes: &[u8], bold: bool, size: f32) -> f32 {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    let units: u32 = bytes
        .iter()
        .map(|&b| {
            usize::from(b)
                .checked_sub(32)
                .and_then(|i| table.get(i))
                .map_or(0, |&w| u32::from(w))
        })
        .sum();
    units as f32 * size / 1000.0
}

/// Width in points of `s` set in Helvetica (or Helvetica-Bold) at `size`.
pub(crate) fn width(s: &str, bold: bool, size: f32) -> f32 {
    width_bytes(&encode(s), bold, size)
}

/// `s`, cut and ended with "…" if it is wider than `max` points.
pub(crate) fn fit(s: &str, max: f32, bold: bool, size: f32) -> String {
    if width(s, bold, size) <= max {
        return s.to_string();
    }
    let ellipsis = width("\u{2026}", bold, size);
    let mut out = String::new();
    let mut w = 0.0;
    for c in s.chars() {
        let cw = width(c.encode_utf8(&mut [0; 4]), bold, size);
        if w + cw + ellipsis > max {
            break;
        }
        w += cw;
        out.push(c);
    }
    out.push('\u{2026}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_widths_are_the_afm_values() {
        // Helvetica: digits 556, space 278, "M" 833, "i" 222; bold "i" 278.
        assert!((width("0123456789", false, 1000.0) - 5560.0).abs() < 1e-3);
        assert!((width("M i", false, 1000.0) - (833.0 + 278.0 + 222.0)).abs() < 1e-3);
        assert!((width("i", true, 1000.0) - 278.0).abs() < 1e-3);
        assert!((width("W", true, 10.0) - 9.44).abs() < 1e-4);
    }

    #[test]
    fn winansi_round_trips_the_punctuation_it_uses() {
        assert_eq!(
            encode("a—b–c·é€"),
            vec![b'a', 0x97, b'b', 0x96, b'c', 0xB7, 0xE9, 0x80]
        );
        assert_eq!(encode("x\u{2212}1\t\u{4e2d}"), b"x-1 ?".to_vec());
        assert!((width("—", false, 1000.0) - 1000.0).abs() < 1e-3);
    }

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        assert_eq!(fit("short", 100.0, false, 10.0), "short");
        let cut = fit("a rather long legend name", 50.0, false, 10.0);
        assert!(
            cut.ends_with('…') && width(&cut, false, 10.0) <= 50.0,
            "{cut}"
        );
    }
}
