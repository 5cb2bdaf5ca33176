//! On-peak, 2x16, 7x8, off-peak and flat hour counts for every month of 2025
//! and 2026 in MISO and CAISO, against `tests/golden/block_hours_2025_2026.csv`.
//!
//! The golden file was first produced by an independent Python implementation
//! (standard-library `zoneinfo` and `datetime`, not this crate) and checked by
//! hand on spot months: January 2025 MISO 5x16 = 22 peak days × 16 = 352 h;
//! CAISO 6x16 = 26 × 16 = 416 h; CAISO March has 743 flat hours and November 721.
//! Set `CARBON_BLESS=1` to rewrite it from this crate's output.

use std::{fmt::Write as _, path::PathBuf};

use carbon_core::{Block, Market};

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/block_hours_2025_2026.csv")
}

fn render() -> String {
    let mut out = String::from("market,year,month,onpeak,2x16,7x8,offpeak,flat\n");
    for market in [Market::Miso, Market::Caiso] {
        for year in [2025, 2026] {
            for month in 1..=12 {
                let n = |b: Block| b.hours_in_month(market, year, month).unwrap();
                writeln!(
                    out,
                    "{market},{year},{month},{},{},{},{},{}",
                    n(Block::OnPeak),
                    n(Block::TwoBySixteen),
                    n(Block::SevenByEight),
                    n(Block::OffPeak),
                    n(Block::Flat)
                )
                .unwrap();
            }
        }
    }
    out
}

#[test]
fn block_hours_match_golden() {
    let got = render();
    if std::env::var_os("CARBON_BLESS").is_some() {
        std::fs::write(golden_path(), &got).unwrap();
    }
    let want = std::fs::read_to_string(golden_path()).unwrap();
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "line {}", i + 1);
    }
    assert_eq!(got.lines().count(), want.lines().count());
    assert_eq!(want.lines().count(), 1 + 2 * 2 * 12);
}

#[test]
fn blocks_sum_to_flat_and_dst_months_are_odd() {
    for line in render().lines().skip(1) {
        let f: Vec<u32> = line
            .split(',')
            .skip(3)
            .map(|x| x.parse().unwrap())
            .collect();
        let (on, x16, n8, off, flat) = (f[0], f[1], f[2], f[3], f[4]);
        assert_eq!(on + x16 + n8, flat, "{line}");
        assert_eq!(x16 + n8, off, "{line}");
        assert_eq!(on % 16, 0, "{line}");
    }
    // CAISO: March loses an hour, November gains one; MISO (fixed EST) never does.
    assert_eq!(
        Block::Flat.hours_in_month(Market::Caiso, 2025, 3).unwrap(),
        743
    );
    assert_eq!(
        Block::Flat.hours_in_month(Market::Caiso, 2026, 11).unwrap(),
        721
    );
    assert_eq!(
        Block::Flat.hours_in_month(Market::Miso, 2025, 3).unwrap(),
        744
    );
    assert_eq!(
        Block::SevenByEight
            .hours_in_month(Market::Caiso, 2025, 3)
            .unwrap(),
        247
    );
    assert!(Block::Flat.hours_in_month(Market::Miso, 2025, 13).is_err());
}
