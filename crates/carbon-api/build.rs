//! Embeds the web hub's production build (`web/dist`, made by `npm run build`
//! in `web/`) into the binary. Without it the server still runs and `/` says
//! how to build the hub.

use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let dist = manifest.join("../../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut found = Vec::new();
    files(&dist, &mut found);
    let mut code = String::from(
        "/// The hub's files: (URL path, bytes).\npub(crate) static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for f in &found {
        let rel = f
            .strip_prefix(&dist)
            .expect("inside dist")
            .to_string_lossy()
            .replace('\\', "/");
        let abs = f.canonicalize().expect("asset path");
        let _ = writeln!(
            code,
            "    ({:?}, include_bytes!({:?})),",
            format!("/{rel}"),
            abs.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("out dir")).join("hub_assets.rs");
    fs::write(out, code).expect("write hub_assets.rs");
}
