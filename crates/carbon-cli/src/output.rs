//! Rendering rows as an aligned table, CSV or JSON, streamed to a writer.

use std::io::{self, Write};

use serde_json::{Map, Value};

use crate::cli::Format;

/// A cell: text for table/CSV and a JSON value.
#[derive(Debug, Clone)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number (full precision in CSV/JSON, trimmed in tables).
    Num(f64),
    /// An integer.
    Int(u64),
    /// Nothing (empty in CSV, null in JSON, blank in tables).
    Empty,
}

impl Cell {
    /// An instant, RFC 3339 in UTC to the second.
    pub fn time(t: chrono::DateTime<chrono::Utc>) -> Cell {
        Cell::Text(carbon_service::rfc3339(t))
    }

    /// An optional instant (empty when absent).
    pub fn time_or_empty(t: Option<chrono::DateTime<chrono::Utc>>) -> Cell {
        t.map_or(Cell::Empty, Cell::time)
    }

    fn csv(&self) -> String {
        match self {
            Cell::Text(s) => csv_escape(s),
            Cell::Num(v) => format!("{v}"),
            Cell::Int(v) => v.to_string(),
            Cell::Empty => String::new(),
        }
    }

    fn table(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Num(v) => {
                let s = format!("{v:.5}");
                let s = s.trim_end_matches('0');
                let s = s
                    .strip_suffix('.')
                    .map(|x| format!("{x}.0"))
                    .unwrap_or_else(|| s.to_string());
                if s == "-0.0" { "0.0".to_string() } else { s }
            }
            Cell::Int(v) => v.to_string(),
            Cell::Empty => String::new(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Num(v) => serde_json::Number::from_f64(*v)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Cell::Int(v) => Value::from(*v),
            Cell::Empty => Value::Null,
        }
    }

    fn numeric(&self) -> bool {
        matches!(self, Cell::Num(_) | Cell::Int(_))
    }
}

impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Self {
        v.map(Cell::Num).unwrap_or(Cell::Empty)
    }
}

fn csv_escape(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes rows in one format. Tables are aligned, so they are buffered until
/// [`RowWriter::finish`]; CSV and JSON stream row by row.
pub struct RowWriter<W: Write> {
    out: W,
    format: Format,
    headers: Vec<String>,
    buffered: Vec<Vec<Cell>>,
    rows: usize,
}

impl<W: Write> RowWriter<W> {
    /// Starts output with the given column names.
    pub fn new(mut out: W, format: Format, headers: &[&str]) -> io::Result<Self> {
        match format {
            Format::Csv => writeln!(out, "{}", headers.join(","))?,
            Format::Json => write!(out, "[")?,
            Format::Table => {}
        }
        Ok(Self {
            out,
            format,
            headers: headers.iter().map(|h| h.to_string()).collect(),
            buffered: Vec::new(),
            rows: 0,
        })
    }

    /// Writes one row (cells in header order).
    pub fn row(&mut self, cells: Vec<Cell>) -> io::Result<()> {
        match self.format {
            Format::Csv => {
                let line: Vec<String> = cells.iter().map(Cell::csv).collect();
                writeln!(self.out, "{}", line.join(","))?;
            }
            Format::Json => {
                let mut obj = Map::new();
                for (h, c) in self.headers.iter().zip(&cells) {
                    obj.insert(h.clone(), c.json());
                }
                let sep = if self.rows == 0 { "\n" } else { ",\n" };
                write!(self.out, "{sep}{}", Value::Object(obj))?;
            }
            Format::Table => self.buffered.push(cells),
        }
        self.rows += 1;
        Ok(())
    }

    /// Number of rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Ends the output and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        match self.format {
            Format::Json => writeln!(self.out, "{}]", if self.rows == 0 { "" } else { "\n" })?,
            Format::Csv => {}
            Format::Table => {
                let mut widths: Vec<usize> = self.headers.iter().map(|h| h.len()).collect();
                let texts: Vec<Vec<(String, bool)>> = self
                    .buffered
                    .iter()
                    .map(|r| r.iter().map(|c| (c.table(), c.numeric())).collect())
                    .collect();
                for r in &texts {
                    for (i, (t, _)) in r.iter().enumerate() {
                        if let Some(w) = widths.get_mut(i) {
                            *w = (*w).max(t.chars().count());
                        }
                    }
                }
                let header: Vec<String> = self
                    .headers
                    .iter()
                    .zip(&widths)
                    .map(|(h, w)| format!("{h:<w$}"))
                    .collect();
                writeln!(self.out, "{}", header.join("  ").trim_end())?;
                for r in &texts {
                    let line: Vec<String> = r
                        .iter()
                        .zip(&widths)
                        .map(|((t, num), w)| {
                            if *num {
                                format!("{t:>w$}")
                            } else {
                                format!("{t:<w$}")
                            }
                        })
                        .collect();
                    writeln!(self.out, "{}", line.join("  ").trim_end())?;
                }
                if texts.is_empty() {
                    writeln!(self.out, "(no rows)")?;
                }
            }
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(format: Format) -> String {
        let mut buf = Vec::new();
        let mut w = RowWriter::new(&mut buf, format, &["id", "lmp"]).unwrap();
        w.row(vec![Cell::Text("A,B".into()), Cell::Num(25.5)])
            .unwrap();
        w.row(vec![Cell::Text("C".into()), Cell::Empty]).unwrap();
        w.finish().unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn formats() {
        assert_eq!(render(Format::Csv), "id,lmp\n\"A,B\",25.5\nC,\n");
        let v: Value = serde_json::from_str(&render(Format::Json)).unwrap();
        assert_eq!(v[0]["lmp"], 25.5);
        assert!(v[1]["lmp"].is_null());
        let t = render(Format::Table);
        assert_eq!(t.lines().next().unwrap(), "id   lmp");
        assert!(t.contains("A,B  25.5"), "{t}");
        assert_eq!(Cell::Num(1.0 / 3.0).table(), "0.33333");
        assert_eq!(Cell::Num(-0.0).table(), "0.0");
    }
}
