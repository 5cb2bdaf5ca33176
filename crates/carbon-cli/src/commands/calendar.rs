//! `carbon calendar holidays|hours`.

use std::process::ExitCode;

use anyhow::Result;
use carbon_core::{Block, Holiday, Market, nerc_holidays};
use chrono::Datelike;

use super::{flag, output};
use crate::{
    cli::Format,
    output::{Cell, RowWriter},
};

pub fn holidays(year: i32) -> Result<ExitCode> {
    let mut w = RowWriter::new(
        output(None)?,
        Format::Table,
        &["date", "weekday", "holiday"],
    )?;
    for (d, h) in nerc_holidays(year) {
        let name = match h {
            Holiday::NewYear => "New Year's Day",
            Holiday::MemorialDay => "Memorial Day",
            Holiday::IndependenceDay => "Independence Day",
            Holiday::LaborDay => "Labor Day",
            Holiday::Thanksgiving => "Thanksgiving Day",
            Holiday::Christmas => "Christmas Day",
        };
        w.row(vec![
            Cell::Text(d.to_string()),
            Cell::Text(d.weekday().to_string()),
            Cell::Text(name.into()),
        ])?;
    }
    w.finish()?;
    Ok(ExitCode::SUCCESS)
}

pub fn hours(market: &str, year: i32, format: Format) -> Result<ExitCode> {
    let market: Market = flag("--market", market.parse())?;
    let mut w = RowWriter::new(
        output(None)?,
        format,
        &[
            "market", "month", "onpeak", "2x16", "7x8", "offpeak", "flat",
        ],
    )?;
    for month in 1..=12 {
        let mut cells = vec![
            Cell::Text(market.code().into()),
            Cell::Text(format!("{year}-{month:02}")),
        ];
        for b in [
            Block::OnPeak,
            Block::TwoBySixteen,
            Block::SevenByEight,
            Block::OffPeak,
            Block::Flat,
        ] {
            cells.push(Cell::Int(u64::from(b.hours_in_month(market, year, month)?)));
        }
        w.row(cells)?;
    }
    w.finish()?;
    Ok(ExitCode::SUCCESS)
}
