//! The download center's datasets besides prices: a fundamentals series
//! (every vintage rule of `/fundamentals`: latest, or as known at an
//! instant), a forward-curve run (a scenario's curve included) and a
//! research run's output. Each becomes one table written as one part, in
//! the same formats as prices. Who may export what is the adapter's
//! question (entitlements, tenant walls); this module reads and shapes.

use carbon_store::{
    FundamentalQuery,
    export::{Cell, ColType, Table},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, exports::ExportFormat, reports::DataSources};

/// What to export, by dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dataset", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSpec {
    /// One fundamentals series.
    Fundamentals {
        /// Entity (exact).
        entity: String,
        /// Variable (exact).
        variable: String,
        /// Intervals starting at or after this instant.
        #[serde(default)]
        start: Option<DateTime<Utc>>,
        /// Intervals starting before this instant.
        #[serde(default)]
        end: Option<DateTime<Utc>>,
        /// As known at this instant (default: the latest).
        #[serde(default)]
        as_of: Option<DateTime<Utc>>,
        /// Scenario (default `BASE`).
        #[serde(default)]
        scenario_id: Option<String>,
    },
    /// A forward-curve run's points.
    CurveRun {
        /// The run.
        run_id: String,
    },
    /// A research run's output, one row per value.
    ResearchRun {
        /// The run.
        run_id: String,
    },
}

impl DataSpec {
    /// The dataset's name (`fundamentals`, `curve_run`, `research_run`).
    pub fn name(&self) -> &'static str {
        match self {
            DataSpec::Fundamentals { .. } => "fundamentals",
            DataSpec::CurveRun { .. } => "curve_run",
            DataSpec::ResearchRun { .. } => "research_run",
        }
    }

    /// The part's file stem.
    pub fn stem(&self) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        };
        match self {
            DataSpec::Fundamentals {
                entity, variable, ..
            } => format!("fundamentals-{}-{}", clean(entity), clean(variable)),
            DataSpec::CurveRun { run_id } => format!("curve-{}", clean(run_id)),
            DataSpec::ResearchRun { run_id } => format!("research-{}", clean(run_id)),
        }
    }
}

/// An export of a [`DataSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataExport {
    /// What.
    pub data: DataSpec,
    /// File format.
    pub format: ExportFormat,
    /// Gzip the part.
    #[serde(default)]
    pub gzip: bool,
    /// The same key again returns the first export.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// Most rows one table may hold.
const MAX_ROWS: usize = 5_000_000;

/// The table of `spec`.
pub async fn table(src: &DataSources, spec: &DataSpec) -> Result<Table> {
    match spec {
        DataSpec::Fundamentals {
            entity,
            variable,
            start,
            end,
            as_of,
            scenario_id,
        } => {
            // The series' size first: a table is built whole in memory.
            let stored = src
                .fundamentals
                .fundamental_series()
                .await?
                .into_iter()
                .filter(|x| &x.entity == entity && &x.variable == variable)
                .map(|x| x.intervals)
                .max()
                .unwrap_or(0);
            if stored as usize > MAX_ROWS {
                return Err(too_large(stored as usize));
            }
            let pts = src
                .fundamentals
                .fundamentals(FundamentalQuery {
                    entity: entity.clone(),
                    variable: variable.clone(),
                    start: *start,
                    end: *end,
                    as_of: *as_of,
                    scenario_id: scenario_id.clone(),
                })
                .await?;
            if pts.len() > MAX_ROWS {
                return Err(too_large(pts.len()));
            }
            Ok(Table {
                columns: vec![
                    ("entity", ColType::Text),
                    ("variable", ColType::Text),
                    ("interval_start_utc", ColType::Time),
                    ("interval_end_utc", ColType::Time),
                    ("value", ColType::Num),
                    ("unit", ColType::Text),
                    ("source", ColType::Text),
                    ("vintage_utc", ColType::Time),
                    ("scenario_id", ColType::Text),
                ],
                rows: pts
                    .into_iter()
                    .map(|p| {
                        vec![
                            Cell::Text(p.entity),
                            Cell::Text(p.variable),
                            Cell::Time(p.interval_start),
                            Cell::Time(p.interval_end),
                            Cell::Num(Some(p.value)),
                            Cell::Text(p.unit),
                            Cell::Text(p.source),
                            Cell::Time(p.vintage),
                            Cell::Text(p.scenario_id),
                        ]
                    })
                    .collect(),
            })
        }
        DataSpec::CurveRun { run_id } => {
            let run = src
                .curves
                .curve_run(run_id)
                .await?
                .ok_or_else(|| Error::not_found(format!("no curve run `{run_id}`")))?;
            if run.points as usize > MAX_ROWS {
                return Err(too_large(run.points as usize));
            }
            let pts = src.curves.curve_points(run_id).await?;
            Ok(Table {
                columns: vec![
                    ("curve_id", ColType::Text),
                    ("run_id", ColType::Text),
                    ("scenario_id", ColType::Text),
                    ("as_of_date", ColType::Text),
                    ("market", ColType::Text),
                    ("tenor", ColType::Text),
                    ("delivery_start_utc", ColType::Time),
                    ("delivery_end_utc", ColType::Time),
                    ("price", ColType::Num),
                ],
                rows: pts
                    .into_iter()
                    .map(|p| {
                        vec![
                            Cell::Text(run.curve_id.clone()),
                            Cell::Text(run.run_id.clone()),
                            Cell::Text(run.scenario_id.clone()),
                            Cell::Text(run.as_of_date.to_string()),
                            Cell::Text(run.market.clone()),
                            Cell::Text(p.tenor),
                            Cell::Time(p.delivery_start),
                            Cell::Time(p.delivery_end),
                            Cell::Num(Some(p.price)),
                        ]
                    })
                    .collect(),
            })
        }
        DataSpec::ResearchRun { run_id } => {
            let r = src
                .research
                .research_run(run_id)
                .await?
                .ok_or_else(|| Error::not_found(format!("no research run `{run_id}`")))?;
            let mut leaves = Vec::new();
            flatten("", &r.output, &mut leaves);
            if leaves.len() > MAX_ROWS {
                return Err(too_large(leaves.len()));
            }
            Ok(Table {
                columns: vec![
                    ("run_id", ColType::Text),
                    ("kind", ColType::Text),
                    ("subject", ColType::Text),
                    ("path", ColType::Text),
                    ("number", ColType::Num),
                    ("text", ColType::Text),
                ],
                rows: leaves
                    .into_iter()
                    .map(|(path, v)| {
                        let (num, text) = match v {
                            serde_json::Value::Number(n) => (n.as_f64(), String::new()),
                            serde_json::Value::String(s) => (None, s),
                            serde_json::Value::Bool(b) => (None, b.to_string()),
                            _ => (None, String::new()),
                        };
                        vec![
                            Cell::Text(r.run_id.clone()),
                            Cell::Text(r.kind.clone()),
                            Cell::Text(r.subject.clone()),
                            Cell::Text(path),
                            Cell::Num(num),
                            Cell::Text(text),
                        ]
                    })
                    .collect(),
            })
        }
    }
}

fn too_large(n: usize) -> Error {
    Error::unprocessable(
        "too_large",
        None,
        format!("{n} rows; one export of this dataset holds at most {MAX_ROWS} (narrow the range)"),
    )
}

/// Every leaf of `v` with its path (`trend[3]`, `coefficients.gas`): a
/// research output as long-format rows.
fn flatten(path: &str, v: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), x, out);
            }
        }
        leaf => out.push((path.to_string(), leaf.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn research_outputs_flatten_to_one_row_per_leaf() {
        let mut out = Vec::new();
        flatten(
            "",
            &serde_json::json!({"a": {"b": [1.5, "x"]}, "ok": true, "none": null}),
            &mut out,
        );
        let paths: Vec<&str> = out.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["a.b[0]", "a.b[1]", "none", "ok"]);
        assert_eq!(out[0].1, serde_json::json!(1.5));
    }

    #[test]
    fn specs_read_with_their_dataset_tag() {
        let s: DataSpec =
            serde_json::from_value(serde_json::json!({"dataset": "curve_run", "run_id": "cr_1"}))
                .unwrap();
        assert_eq!(s.name(), "curve_run");
        assert_eq!(s.stem(), "curve-cr_1");
        assert!(
            serde_json::from_value::<DataSpec>(serde_json::json!({"dataset": "weather"})).is_err()
        );
    }
}
