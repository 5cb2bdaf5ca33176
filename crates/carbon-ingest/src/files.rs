//! File mode: `carbon ingest file PATH…` reads files, zips and directories.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::{
    error::{Error, Result},
    runner::Payload,
};

const EXTENSIONS: [&str; 4] = ["csv", "json", "zip", "xml"];

/// Every ingestible file under `paths` (directories recursively), sorted.
/// A path that does not exist is an error; files of other types inside
/// directories (READMEs…) are passed over.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    for e in entries {
        let path = e
            .map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads a file as a payload; its modification time is the publication time
/// unless `vintage` overrides it.
pub fn read(path: &Path, vintage: Option<DateTime<Utc>>) -> Result<Payload> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let mtime = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .map(DateTime::<Utc>::from);
    Ok(Payload {
        source: path.display().to_string(),
        bytes,
        fetched_at: Utc::now(),
        published_at: vintage.or(mtime),
    })
}
