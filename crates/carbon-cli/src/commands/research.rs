//! `carbon research …`, `carbon backtest`, `carbon fundamentals …`: the same
//! analyses as `/api/v1/research/…` (one code path,
//! [`carbon_service::research::run_analysis`]), stored in the data directory with
//! run id and model version, printed as a summary.

use std::process::ExitCode;

use anyhow::Result;
use carbon_research::{backtest::GateRule, regimes::MsSpec, weather::WeatherOptions};
use carbon_service::research::{self, Analysis, BacktestSpec, ResearchDeps, SeriesRef, Transform};
use carbon_store::ResearchFilter;
use chrono::{NaiveDate, SecondsFormat};
use serde_json::Value;

use super::{UserError, flag, open_store, output, runtime, service_error};
use crate::{
    cli::{BacktestArgs, Format, FundamentalsCommand, RangeArgs, ResearchCommand},
    config::Config,
    output::{Cell, RowWriter},
};

fn deps(config: &Config) -> Result<ResearchDeps> {
    Ok(ResearchDeps::of(open_store(config)?))
}

fn series(name: &str, text: &str, r: &RangeArgs) -> Result<SeriesRef> {
    let mut s = SeriesRef::parse_text(text).map_err(|e| UserError(format!("{name}: {e}")))?;
    s.start = r.start.clone();
    s.end = r.end.clone();
    s.as_of = r.as_of.clone();
    s.resample = r.resample.clone();
    Ok(s)
}

/// Runs and stores `a`, prints its summary, writes the full output if asked.
pub(crate) fn run_and_print(
    config: &Config,
    a: &Analysis,
    out: Option<&std::path::Path>,
) -> Result<ExitCode> {
    let d = deps(config)?;
    let rt = runtime()?;
    let run = rt
        .block_on(research::run_analysis(&d, a, "cli"))
        .map_err(service_error)?;
    outln!(
        "{} run {} ({}; {}) in {} ms",
        run.kind,
        run.run_id,
        run.subject,
        run.model_version,
        (run.finished - run.started).num_milliseconds()
    );
    summary(&run.kind, &run.output);
    if let Some(p) = out {
        let mut w = output(Some(p))?;
        serde_json::to_writer_pretty(&mut w, &run.output)?;
        writeln!(w)?;
    }
    Ok(ExitCode::SUCCESS)
}

use std::io::Write as _;

fn num(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.abs() >= 1e5 || (x != 0.0 && x.abs() < 1e-3) => format!("{x:.4e}"),
        Some(x) => format!("{x:.4}"),
        None => "—".into(),
    }
}

fn summary(kind: &str, o: &Value) {
    match kind {
        "stl" | "mstl" => {
            let d = &o["decomposition"];
            outln!(
                "  observations {}",
                d["trend"].as_array().map_or(0, Vec::len)
            );
            outln!("  trend strength {}", num(&d["trend_strength"]));
            for s in d["seasonal"].as_array().into_iter().flatten() {
                outln!(
                    "  seasonal period {} strength {}",
                    s["period"],
                    num(&s["strength"])
                );
            }
            for w in d["warnings"].as_array().into_iter().flatten() {
                outln!("  warning: {}", w.as_str().unwrap_or(""));
            }
        }
        "regimes" => {
            outln!("  candidates (chosen by BIC):");
            for (i, c) in o["candidates"].as_array().into_iter().flatten().enumerate() {
                let mark = if o["chosen"].as_u64() == Some(i as u64) {
                    "*"
                } else {
                    " "
                };
                outln!(
                    "  {mark} k={} ar={} llf {} bic {} converged {}",
                    c["k"],
                    c["ar"],
                    num(&c["llf"]),
                    num(&c["bic"]),
                    c["converged"]
                );
            }
            let m = &o["model"];
            if o["method"] == "gaussian_hmm" {
                for (j, mean) in m["means"].as_array().into_iter().flatten().enumerate() {
                    outln!(
                        "  state {j}: mean vol20 {} jump share {} expected duration {} periods",
                        num(&mean[1]),
                        num(&mean[5]),
                        num(&m["expected_durations"][j])
                    );
                }
            }
            for (j, r) in m["regimes"].as_array().into_iter().flatten().enumerate() {
                outln!(
                    "  regime {j}: mean {} sigma {} expected duration {} periods",
                    num(&r["mean"]),
                    num(&r["sigma"]),
                    num(&r["expected_duration"])
                );
            }
            if let Some(p) = m["transition"].as_array() {
                for (i, row) in p.iter().enumerate() {
                    let cells: Vec<String> =
                        row.as_array().into_iter().flatten().map(num).collect();
                    outln!("  P[{i},·] = {}", cells.join("  "));
                }
            }
            if let (Some(n), Some(of)) = (m["starts_converged"].as_u64(), m["starts"].as_u64()) {
                outln!("  {n} of {of} starts reached the best likelihood");
            }
            for w in m["warnings"].as_array().into_iter().flatten() {
                outln!("  warning: {}", w.as_str().unwrap_or(""));
            }
        }
        "balance" => {
            if let Some(weeks) = o["storage"]["balance"]["weeks"].as_array()
                && let Some(last) = weeks.last()
            {
                outln!(
                    "  week ending {}: {} vs 5-y avg {} ({}%), range {}..{}, cover {} weeks",
                    last["date"].as_str().unwrap_or(""),
                    num(&last["value"]),
                    num(&last["avg5"]),
                    num(&last["vs_avg5_pct"]),
                    num(&last["min5"]),
                    num(&last["max5"]),
                    num(&last["cover_weeks"])
                );
                let shocks = o["storage"]["balance"]["shocks"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                outln!("  CUSUM shocks: {}", shocks.len());
                for s in shocks.iter().rev().take(5) {
                    outln!(
                        "    {} {} ({}σ)",
                        s["date"].as_str().unwrap_or(""),
                        s["direction"].as_str().unwrap_or(""),
                        num(&s["cusum"])
                    );
                }
            }
            if let Some(c) = o["price_inventory_correlation"]["rolling"]
                .as_array()
                .and_then(|r| r.last())
            {
                outln!(
                    "  latest rolling correlation of changes: {} (week {})",
                    num(&c[1]),
                    c[0].as_str().unwrap_or("")
                );
            }
            if o["power"].is_object() {
                let n = &o["power"]["normal_load"];
                outln!(
                    "  load model R² {}, mean deviation from normal {}",
                    num(&n["r2"]),
                    num(&n["mean_deviation"])
                );
            }
        }
        "weather" => {
            let w = &o["impact"];
            outln!(
                "  n {} R² {} (adj {})",
                w["ols"]["nobs"],
                num(&w["ols"]["r2"]),
                num(&w["ols"]["adj_r2"])
            );
            outln!(
                "  {:<12} {:>12} {:>12} {:>9} {:>10}",
                "term",
                "estimate",
                "std error",
                "t",
                "p"
            );
            for c in w["ols"]["coefs"].as_array().into_iter().flatten() {
                outln!(
                    "  {:<12} {:>12} {:>12} {:>9} {:>10}",
                    c["name"].as_str().unwrap_or(""),
                    num(&c["estimate"]),
                    num(&c["std_error"]),
                    num(&c["t"]),
                    num(&c["p"])
                );
            }
            for q in w["quantiles"].as_array().into_iter().flatten() {
                let coefs: Vec<String> = q["coefs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| !c[0].as_str().unwrap_or("").starts_with("month_"))
                    .map(|c| format!("{} {}", c[0].as_str().unwrap_or(""), num(&c[1])))
                    .collect();
                outln!("  quantile {}: {}", num(&q["tau"]), coefs.join(", "));
            }
            let e = &w["extremes"];
            outln!(
                "  beyond {}σ: target {} high / {} low, temperature {} high / {} low (of {})",
                num(&e["sigma"]),
                e["target_high"],
                e["target_low"],
                e["temp_high"],
                e["temp_low"],
                e["of"]
            );
            for x in w["warnings"].as_array().into_iter().flatten() {
                outln!("  warning: {}", x.as_str().unwrap_or(""));
            }
        }
        "backtest" => {
            outln!(
                "  {:<48} {:>5} {:>8} {:>8} {:>9} {:>9} {:>9}",
                "group",
                "n",
                "MAPE%",
                "WAPE%",
                "RMSE",
                "MAE",
                "bias"
            );
            if let Some(m) = o["metrics"].as_object() {
                for (g, x) in m {
                    outln!(
                        "  {g:<48} {:>5} {:>8} {:>8} {:>9} {:>9} {:>9}",
                        x["n"],
                        num(&x["mape"]),
                        num(&x["wape"]),
                        num(&x["rmse"]),
                        num(&x["mae"]),
                        num(&x["bias"])
                    );
                }
            }
            for l in o["gate"]["lines"].as_array().into_iter().flatten() {
                outln!(
                    "  gate {}: MAPE {} ≤ {} → {}",
                    l["group"].as_str().unwrap_or(""),
                    num(&l["mape"]),
                    num(&l["max_mape"]),
                    if l["pass"].as_bool() == Some(true) {
                        "pass"
                    } else {
                        "FAIL"
                    }
                );
            }
            outln!(
                "  gate: {}",
                if o["gate"]["pass"].as_bool() == Some(true) {
                    "PASS"
                } else {
                    "FAIL"
                }
            );
        }
        _ => {}
    }
    // Series-level warnings (gaps, history read late) for every kind.
    for w in o["warnings"].as_array().into_iter().flatten() {
        outln!("  warning: {}", w.as_str().unwrap_or(""));
    }
}

/// `carbon research …`
pub fn research(config: &Config, command: ResearchCommand) -> Result<ExitCode> {
    match command {
        ResearchCommand::Decompose {
            series: s,
            periods,
            robust,
            range,
        } => {
            let a = Analysis::Decompose {
                series: series("--series", &s, &range)?,
                stl: robust.then(|| carbon_research::decompose::StlOptions {
                    robust: true,
                    ..Default::default()
                }),
                mstl: None,
                periods,
            };
            run_and_print(config, &a, range.output.as_deref())
        }
        ResearchCommand::Regimes {
            series: s,
            k,
            ar,
            switching_ar,
            constant_variance,
            transform,
            hmm,
            range,
        } => {
            let transform: Transform = flag(
                "--transform",
                serde_json::from_value(Value::String(transform.clone())),
            )?;
            let a = Analysis::Regimes {
                series: series("--series", &s, &range)?,
                transform,
                candidates: k
                    .iter()
                    .map(|k| MsSpec {
                        k: *k,
                        ar,
                        switching_ar,
                        switching_variance: !constant_variance,
                        ..Default::default()
                    })
                    .collect(),
                method: hmm.then(|| "gaussian_hmm".to_string()),
                states: if hmm { k.clone() } else { Vec::new() },
            };
            run_and_print(config, &a, range.output.as_deref())
        }
        ResearchCommand::Balance {
            storage,
            price,
            load,
            temperature,
            threshold,
            window,
            range,
        } => {
            let opt = |name: &str, v: &Option<String>| {
                v.as_deref()
                    .map(|t| series(name, t, &range).map(Box::new))
                    .transpose()
            };
            let a = Analysis::Balance {
                storage: opt("--storage", &storage)?,
                price: opt("--price", &price)?,
                load: opt("--load", &load)?,
                temperature: opt("--temperature", &temperature)?,
                threshold_sigma: Some(threshold),
                allowance_sigma: None,
                window: Some(window),
            };
            run_and_print(config, &a, range.output.as_deref())
        }
        ResearchCommand::Weather {
            target,
            temperature,
            base,
            terms,
            lags,
            no_months,
            rolling,
            range,
        } => {
            let a = Analysis::Weather {
                target: series("--target", &target, &range)?,
                temperature: series("--temperature", &temperature, &range)?,
                options: WeatherOptions {
                    base,
                    terms,
                    lags,
                    month_dummies: !no_months,
                    rolling_window: rolling,
                    ..Default::default()
                },
            };
            run_and_print(config, &a, range.output.as_deref())
        }
        ResearchCommand::Run { json, file, output } => {
            let text = match (json, file) {
                (Some(j), _) => j,
                (None, Some(f)) => std::fs::read_to_string(&f)
                    .map_err(|e| UserError(format!("{}: {e}", f.display())))?,
                (None, None) => return Err(UserError("give --json or --file".into()).into()),
            };
            let a: Analysis = flag("the analysis JSON", serde_json::from_str(&text))?;
            run_and_print(config, &a, output.as_deref())
        }
        ResearchCommand::Job { name } => {
            let job = config
                .research_jobs
                .iter()
                .find(|j| j.name == name)
                .ok_or_else(|| {
                    UserError(format!(
                        "no research job `{name}` (configured: {})",
                        config
                            .research_jobs
                            .iter()
                            .map(|j| j.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            run_and_print(config, &job.analysis, None)
        }
        ResearchCommand::Runs {
            kind,
            limit,
            format,
        } => {
            let d = deps(config)?;
            let runs = runtime()?.block_on(d.research.research_runs(ResearchFilter {
                kind,
                subject: None,
                limit: Some(limit),
            }))?;
            let mut w = RowWriter::new(
                crate::console::stdout(),
                format,
                &[
                    "run_id", "kind", "subject", "status", "started", "ms", "error",
                ],
            )?;
            for r in runs {
                w.row(vec![
                    Cell::Text(r.run_id),
                    Cell::Text(r.kind),
                    Cell::Text(r.subject),
                    Cell::Text(r.status),
                    Cell::Text(r.started.to_rfc3339_opts(SecondsFormat::Secs, true)),
                    Cell::Int((r.finished - r.started).num_milliseconds().max(0) as u64),
                    r.error.map_or(Cell::Empty, Cell::Text),
                ])?;
            }
            w.finish()?;
            Ok(ExitCode::SUCCESS)
        }
        ResearchCommand::Show { run_id } => {
            let d = deps(config)?;
            let r = runtime()?
                .block_on(d.research.research_run(&run_id))?
                .ok_or_else(|| UserError(format!("no research run `{run_id}`")))?;
            outln!("{}", serde_json::to_string_pretty(&r)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `carbon backtest`
pub fn backtest(config: &Config, args: &BacktestArgs) -> Result<ExitCode> {
    let as_of_dates = args
        .as_of_dates
        .iter()
        .map(|d| flag("--as-of-dates", NaiveDate::parse_from_str(d, "%Y-%m-%d")))
        .collect::<Result<Vec<_>>>()?;
    let baselines = args
        .baselines
        .iter()
        .map(|b| {
            flag(
                "--baselines",
                serde_json::from_value(Value::String(b.clone())),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let spec = BacktestSpec {
        instrument_id: args.instrument.clone(),
        market_run: Some(args.market_run.clone()),
        curve_id: args.curve_id.clone(),
        scenario_id: None,
        as_of_dates,
        baselines,
        granularity: Some(args.granularity.clone()),
        block: Some(args.block.clone()),
        horizon_days: args.horizon_days,
        evaluated_at: args.evaluated_at.clone(),
        gate: vec![
            GateRule {
                contains: "|M1-3".into(),
                max_mape: args.max_mape,
            },
            GateRule {
                contains: "|M4-6".into(),
                max_mape: args.max_mape,
            },
        ],
    };
    run_and_print(config, &Analysis::Backtest(spec), args.output.as_deref())
}

/// `carbon fundamentals …`
pub fn fundamentals(config: &Config, command: FundamentalsCommand) -> Result<ExitCode> {
    match command {
        FundamentalsCommand::Fetch {
            from,
            to,
            force,
            no_progress,
        } => super::live::backfill(
            config,
            &crate::cli::BackfillArgs {
                connector: "eia".into(),
                from,
                to: Some(to),
                market_runs: Vec::new(),
                nodes: Vec::new(),
                hubs_only: false,
                force,
                no_progress,
            },
        ),
        FundamentalsCommand::Series { format } => {
            let d = deps(config)?;
            let all = runtime()?.block_on(d.fundamentals.fundamental_series())?;
            let mut w = RowWriter::new(
                crate::console::stdout(),
                format,
                &[
                    "entity",
                    "variable",
                    "scenario",
                    "unit",
                    "intervals",
                    "first",
                    "last",
                    "latest_vintage",
                ],
            )?;
            let t = |x: chrono::DateTime<chrono::Utc>| {
                Cell::Text(x.to_rfc3339_opts(SecondsFormat::Secs, true))
            };
            for s in all {
                w.row(vec![
                    Cell::Text(s.entity),
                    Cell::Text(s.variable),
                    Cell::Text(s.scenario_id),
                    Cell::Text(s.unit),
                    Cell::Int(s.intervals),
                    t(s.first),
                    t(s.last),
                    t(s.latest_vintage),
                ])?;
            }
            w.finish()?;
            Ok(ExitCode::SUCCESS)
        }
        FundamentalsCommand::Query {
            entity,
            variable,
            agg,
            range,
        } => {
            let d = deps(config)?;
            let r = SeriesRef {
                entity: Some(entity),
                variable: Some(variable),
                start: range.start.clone(),
                end: range.end.clone(),
                as_of: range.as_of.clone(),
                resample: range.resample.clone(),
                agg,
                ..SeriesRef::default()
            };
            let l = runtime()?
                .block_on(research::load_series(&d, &r))
                .map_err(service_error)?;
            let mut w = RowWriter::new(
                output(range.output.as_deref())?,
                Format::Csv,
                &["interval_start", "value"],
            )?;
            for (t, v) in l.times.iter().zip(&l.values) {
                w.row(vec![
                    Cell::Text(t.to_rfc3339_opts(SecondsFormat::Secs, true)),
                    Cell::Num(*v),
                ])?;
            }
            w.finish()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
