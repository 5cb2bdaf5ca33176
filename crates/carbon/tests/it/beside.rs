//! Many clients, one writer: with `carbon serve` holding a data directory,
//! the README's offline demo and the other commands run beside it (through
//! it) with the same arguments and the same output as in a directory no
//! server holds; a killed server's socket is stale and ignored.

use std::path::Path;

use super::cli::{Out, carbon, run, serve_offline};

fn iso(market: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/iso")
        .join(market)
}

/// Run ids, key ids, timestamps and the data directory differ between two
/// directories; everything else must not.
fn normalise(s: &str, dir: &Path) -> String {
    let s = s.replace(&dir.display().to_string(), "<DIR>");
    // Times of today are when something was made: they differ too.
    let today = chrono::Utc::now().format("%Y-%m-%dT").to_string();
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    'scan: while !rest.is_empty() {
        for prefix in ["file-2", "rr_", "cr_", "job_", "g_", today.as_str()] {
            if let Some(tail) = rest.strip_prefix(prefix) {
                out.push_str("<ID>");
                let end = tail
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.:+".contains(c)))
                    .unwrap_or(tail.len());
                rest = &tail[end..];
                continue 'scan;
            }
        }
        // Durations (`in 12 ms`) vary with load.
        if let Some(tail) = rest.strip_prefix(" in ") {
            let digits = tail
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(tail.len());
            if digits > 0 && tail[digits..].starts_with(" ms") {
                out.push_str(" in <N> ms");
                rest = &tail[digits + 3..];
                continue 'scan;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[test]
fn every_command_beside_a_running_server_answers_as_without_one() {
    let served = tempfile::tempdir().unwrap();
    let alone = tempfile::tempdir().unwrap();
    let (a, b) = (served.path(), alone.path());
    std::fs::write(
        a.join("contracts.csv"),
        "name,start,end,price\n2027-01,2027-01-01,2027-01-31,62\n2027-02,2027-02-01,2027-02-28,58.5\n",
    )
    .unwrap();
    std::fs::copy(a.join("contracts.csv"), b.join("contracts.csv")).unwrap();
    // The README's order: the server first, then the demo.
    let (mut server, base, _) = serve_offline(a);
    assert!(a.join("data/carbon.sock").exists());
    assert_eq!(run(carbon(b).arg("init")).code, 0);
    let same = |args: &[&str]| -> (Out, Out) {
        let x = run(carbon(a).args(args));
        let y = run(carbon(b).args(args));
        assert_eq!(
            (x.code, normalise(&x.stdout, a), normalise(&x.stderr, a)),
            (y.code, normalise(&y.stdout, b), normalise(&y.stderr, b)),
            "{args:?}"
        );
        (x, y)
    };
    let demo = [iso("miso"), iso("caiso")];
    let ingest = |dir: &Path| {
        run(carbon(dir)
            .args(["ingest", "file"])
            .args(demo.iter())
            .current_dir(dir))
    };
    let (x, y) = (ingest(a), ingest(b));
    assert_eq!((x.code, y.code), (0, 0), "{}{}", x.stdout, x.stderr);
    assert!(x.stdout.contains("7 file(s): 890 new rows"), "{}", x.stdout);
    assert_eq!(normalise(&x.stdout, a), normalise(&y.stdout, b));
    // Idempotent through the server too.
    assert!(
        ingest(a)
            .stdout
            .contains("7 file(s): 0 new rows, 890 unchanged")
    );
    // The server's API sees the rows at once: one store.
    let (_, body) = http_get(&format!("{base}/api/v1/markets"));
    assert!(
        body.contains("unauthenticated") || body.contains("credentials"),
        "{body}"
    );
    for args in [
        vec![
            "query",
            "prices",
            "--instrument",
            "MISO.INDIANA.HUB",
            "--start",
            "2026-07-14",
            "--end",
            "2026-07-15",
            "--format",
            "csv",
        ],
        vec!["db", "stats", "--format", "csv"],
        vec!["admin", "tenant", "create", "acme", "--name", "Acme"],
        vec![
            "admin",
            "entitlement",
            "grant",
            "--tenant",
            "acme",
            "--market",
            "MISO",
            "--channels",
            "api",
        ],
        vec!["admin", "tenant", "list"],
        vec!["admin", "user", "list"],
        vec![
            "curve",
            "build",
            "--contracts",
            "contracts.csv",
            "--trade-date",
            "2026-11-27",
            "--grid",
            "monthly",
        ],
        vec![
            "research",
            "decompose",
            "--series",
            "price:MISO.INDIANA.HUB:da",
            "--start",
            "2026-07-14",
            "--end",
            "2026-07-15",
            "--periods",
            "4",
        ],
        vec!["jobs", "list", "--format", "csv"],
        vec![
            "--offline",
            "backfill",
            "miso",
            "--from",
            "2026-10-01",
            "--market-run",
            "da",
            "--no-progress",
        ],
        vec!["audit", "verify"],
    ] {
        same(&args);
    }
    // A value from the client's environment reaches the server as a flag.
    let with_env = |dir: &Path| {
        run(carbon(dir)
            .args(["admin", "user", "add", "ann", "--tenant", "acme"])
            .env("CARBON_USER_PASSWORD", "ann-password-123"))
    };
    let (x, y) = (with_env(a), with_env(b));
    assert_eq!((x.code, &x.stdout), (y.code, &y.stdout));
    assert_eq!(x.stdout, "user ann saved (tenant acme)\n", "{}", x.stderr);
    // A value from the client's environment reaches the server as a flag.
    let with_env = |dir: &Path| {
        run(carbon(dir)
            .args(["admin", "user", "add", "ann", "--tenant", "acme"])
            .env("CARBON_USER_PASSWORD", "ann-password-123"))
    };
    let (x, y) = (with_env(a), with_env(b));
    assert_eq!((x.code, &x.stdout), (y.code, &y.stdout));
    assert_eq!(x.stdout, "user ann saved (tenant acme)\n", "{}", x.stderr);
    // Bad input is the same error and exit code.
    let (x, _) = same(&[
        "query",
        "prices",
        "--instrument",
        "MISO.INDIANA.HUB",
        "--start",
        "2026-07-15",
        "--end",
        "2026-07-14",
    ]);
    assert_eq!(x.code, 2, "{}", x.stderr);
    // Relative output paths land in the client's directory.
    let out = |dir: &Path| {
        let o = run(carbon(dir).args([
            "query",
            "prices",
            "-i",
            "MISO.INDIANA.HUB",
            "--start",
            "2026-07-14",
            "--end",
            "2026-07-15",
            "--format",
            "csv",
            "--out",
            "out.csv",
        ]));
        assert_eq!(o.code, 0, "{}", o.stderr);
        std::fs::read_to_string(dir.join("out.csv")).unwrap()
    };
    let (x, y) = (out(a), out(b));
    assert_eq!(x.lines().count(), 1 + 24);
    assert_eq!(x, y);
    // A second server is refused, naming the running one's lock.
    let o = run(carbon(a).args([
        "serve",
        "--offline",
        "--no-schedule",
        "--bind",
        "127.0.0.1:0",
        "--exit-after",
        "2",
    ]));
    assert_ne!(o.code, 0, "{}", o.stdout);
    // Killed: its socket stays behind, stale; the CLI opens the file itself.
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(a.join("data/carbon.sock").exists());
    let o = run(carbon(a).args(["db", "stats", "--format", "csv"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
}

fn http_get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent.get(url).call().unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}
