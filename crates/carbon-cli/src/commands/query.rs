//! `carbon query prices`: pages through the store and streams rows out.

use std::process::ExitCode;

use anyhow::Result;
use carbon_core::{
    Aggregation, Block, Component, Frequency, InstrumentId, Market, MarketRun, time::parse_instant,
};
use carbon_store::{PriceQuery, PriceRow, Resample, Store};
use chrono::{DateTime, SecondsFormat, Utc};

use super::{UserError, flag, open_store, output, runtime};
use crate::{
    cli::{Format, PriceQueryArgs, PricesArgs, TzArg},
    config::Config,
    output::{Cell, RowWriter},
};

/// Rows fetched per store round trip.
const PAGE: usize = 50_000;

/// The CSV/JSON columns, in order.
pub const COLUMNS: [&str; 9] = [
    "instrument_id",
    "market_run",
    "interval_start_utc",
    "interval_end_utc",
    "lmp",
    "energy",
    "congestion",
    "loss",
    "ghg",
];

/// Turns the flags into a store query.
pub fn build_query(a: &PriceQueryArgs) -> Result<PriceQuery> {
    let instruments = a
        .instruments
        .iter()
        .map(|i| flag("--instrument", InstrumentId::parse(i.trim())))
        .collect::<Result<Vec<_>>>()?;
    let markets: Vec<Market> = {
        let mut m: Vec<Market> = instruments.iter().map(|i| i.market()).collect();
        m.sort();
        m.dedup();
        m
    };
    let clock = match a.tz {
        TzArg::Utc => None,
        TzArg::Market => Some(markets[0]),
    };
    let read = |name: &str, text: &str| -> Result<DateTime<Utc>> {
        let has_offset = DateTime::parse_from_rfc3339(text.trim()).is_ok();
        if !has_offset && a.tz == TzArg::Market && markets.len() > 1 {
            return Err(UserError(format!(
                "{name}: `{text}` has no UTC offset and the instruments are in several markets \
                 ({}); give an offset (…Z or …-05:00) or use --tz utc",
                markets
                    .iter()
                    .map(|m| m.code())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
        flag(name, parse_instant(text, clock))
    };
    let mut q = PriceQuery::new(
        instruments,
        read("--start", &a.start)?,
        read("--end", &a.end)?,
    );
    if q.start >= q.end {
        return Err(UserError(format!(
            "--start {} must be before --end {}",
            q.start.to_rfc3339_opts(SecondsFormat::Secs, true),
            q.end.to_rfc3339_opts(SecondsFormat::Secs, true)
        ))
        .into());
    }
    q.market_runs = a
        .market_runs
        .iter()
        .map(|r| flag("--market-run", r.parse::<MarketRun>()))
        .collect::<Result<_>>()?;
    q.components = a
        .components
        .iter()
        .map(|c| flag("--components", c.parse::<Component>()))
        .collect::<Result<_>>()?;
    q.as_of = a.as_of.as_deref().map(|t| read("--as-of", t)).transpose()?;
    q.block = flag("--block", a.block.parse::<Block>())?;
    if let Some(r) = &a.resample {
        let freq = flag("--resample", r.parse::<Frequency>())?;
        let agg = match &a.agg {
            Some(g) => flag("--agg", g.parse::<Aggregation>())?,
            None => Aggregation::Mean,
        };
        q.resample = Some(Resample { freq, agg });
    }
    Ok(q)
}

fn local(t: DateTime<Utc>, market: Market) -> String {
    t.with_timezone(&market.zone())
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn prices(config: &Config, a: &PricesArgs) -> Result<ExitCode> {
    let query = build_query(&a.query)?;
    let store = open_store(config)?;
    let rt = runtime()?;
    let resampled = query.resample.is_some();

    // CSV keeps the documented UTC columns; table and JSON show the --tz clock.
    let mut headers: Vec<&str> = match (a.format, a.query.tz) {
        (Format::Csv, _) => COLUMNS.to_vec(),
        (_, TzArg::Utc) => COLUMNS.to_vec(),
        (_, TzArg::Market) => {
            let mut h = COLUMNS.to_vec();
            h[2] = "interval_start";
            h[3] = "interval_end";
            h
        }
    };
    let comps: Vec<Component> = if query.components.is_empty() || a.format == Format::Csv {
        Component::ALL.to_vec()
    } else {
        query.components.clone()
    };
    if a.format != Format::Csv {
        headers.truncate(4);
        headers.extend(comps.iter().map(|c| c.as_str()));
        headers.push(if resampled { "samples" } else { "vintage_utc" });
    }
    let mut w = RowWriter::new(output(a.out.as_deref())?, a.format, &headers)?;

    let mut q = query.clone();
    q.limit = Some(a.limit.map_or(PAGE, |l| l.min(PAGE)));
    'pages: loop {
        let page = rt.block_on(store.query_prices(q.clone()))?;
        for r in &page.rows {
            if a.limit.is_some_and(|l| w.rows() >= l) {
                break 'pages;
            }
            w.row(cells(r, a, &comps, resampled))?;
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    let n = w.rows();
    w.finish()?;
    tracing::info!(rows = n, "query done");
    Ok(ExitCode::SUCCESS)
}

fn cells(r: &PriceRow, a: &PricesArgs, comps: &[Component], resampled: bool) -> Vec<Cell> {
    let m = r.instrument_id.market();
    let (s, e) = match (a.format, a.query.tz) {
        (Format::Csv, _) | (_, TzArg::Utc) => (utc(r.interval_start), utc(r.interval_end)),
        (_, TzArg::Market) => (local(r.interval_start, m), local(r.interval_end, m)),
    };
    let mut out = vec![
        Cell::Text(r.instrument_id.to_string()),
        Cell::Text(r.market_run.to_string()),
        Cell::Text(s),
        Cell::Text(e),
    ];
    out.extend(comps.iter().map(|c| Cell::from(r.values.get(*c))));
    if a.format != Format::Csv {
        out.push(if resampled {
            r.samples
                .map(|n| Cell::Int(u64::from(n)))
                .unwrap_or(Cell::Empty)
        } else {
            r.vintage.map(|v| Cell::Text(utc(v))).unwrap_or(Cell::Empty)
        });
    }
    out
}
