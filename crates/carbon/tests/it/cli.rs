//! Help, init, config layering, calendars, stats.

use std::{path::Path, process::Command};

pub fn carbon(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_carbon"));
    c.current_dir(dir)
        .env_remove("CARBON_DATA_DIR")
        .env_remove("CARBON_CONFIG")
        .env_remove("CARBON_LOG")
        .env_remove("CARBON_OFFLINE");
    c
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The rest of a spawned `carbon serve`'s standard output.
pub type OutputLines = std::io::Lines<std::io::BufReader<std::process::ChildStdout>>;

/// Reads a spawned `carbon serve`'s standard output up to its
/// `listening on <url>` line; returns the URL, every line before it and the
/// lines still to come.
pub fn listening(child: &mut std::process::Child) -> (String, Vec<String>, OutputLines) {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout piped")).lines();
    let mut seen = Vec::new();
    loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("listening on ") {
            return (
                rest.split_whitespace().next().unwrap().to_string(),
                seen,
                lines,
            );
        }
        seen.push(line);
    }
}

/// `carbon serve --offline --no-schedule` on a free port of 127.0.0.1 in
/// `dir` (stopping by itself after two minutes): the child, its URL and what
/// it printed before listening.
pub fn serve_offline(dir: &Path) -> (std::process::Child, String, Vec<String>) {
    let mut child = carbon(dir)
        .args([
            "serve",
            "--offline",
            "--no-schedule",
            "--bind",
            "127.0.0.1:0",
            "--exit-after",
            "120",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (base, before, _) = listening(&mut child);
    (child, base, before)
}

pub fn run(cmd: &mut Command) -> Out {
    let o = cmd.output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["init", "--help"],
        vec!["db", "--help"],
        vec!["db", "stats", "--help"],
        vec!["query", "--help"],
        vec!["query", "prices", "--help"],
        vec!["markets", "--help"],
        vec!["calendar", "--help"],
        vec!["calendar", "holidays", "--help"],
        vec!["calendar", "hours", "--help"],
        vec!["config", "--help"],
        vec!["config", "show", "--help"],
        vec!["admin", "--help"],
        vec!["admin", "key", "create", "--help"],
        vec!["admin", "entitlement", "grant", "--help"],
        vec!["audit", "verify", "--help"],
        vec!["curve", "build", "--help"],
        vec!["research", "--help"],
        vec!["research", "regimes", "--help"],
        vec!["research", "job", "--help"],
        vec!["backtest", "--help"],
        vec!["fundamentals", "query", "--help"],
        vec!["scenario", "show", "--help"],
        vec!["scenario", "run", "--help"],
        vec!["scenario", "save", "--help"],
    ] {
        let o = run(carbon(dir.path()).args(&args));
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        assert!(o.stdout.contains("Usage: carbon"), "{args:?}: {}", o.stdout);
    }
    let o = run(carbon(dir.path()).args(["query", "prices", "--help"]));
    assert!(o.stdout.contains("--as-of"), "{}", o.stdout);
    assert!(
        o.stdout
            .contains("instrument_id,market_run,interval_start_utc"),
        "{}",
        o.stdout
    );
}

#[test]
fn init_creates_the_database_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(carbon(dir.path()).arg("init"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("schema version: 12"), "{}", o.stdout);
    assert!(dir.path().join("data/carbon.duckdb").is_file());
    // First start: the admin and the two pilots' demo users, passwords once.
    for user in ["admin", "miso_demo", "caiso_demo"] {
        assert!(o.stdout.contains(user), "{}", o.stdout);
    }
    let creds = std::fs::read_to_string(dir.path().join("data/initial-credentials.txt")).unwrap();
    assert_eq!(creds.lines().filter(|l| !l.starts_with('#')).count(), 3);
    let o = run(carbon(dir.path()).arg("init"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stdout.contains("first start"), "{}", o.stdout);
    // --data-dir and CARBON_DATA_DIR choose another place.
    let o = run(carbon(dir.path()).args(["--data-dir", "elsewhere", "init"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(dir.path().join("elsewhere/carbon.duckdb").is_file());
    let o = run(carbon(dir.path())
        .env("CARBON_DATA_DIR", "from-env")
        .arg("init"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(dir.path().join("from-env/carbon.duckdb").is_file());
}

#[test]
fn config_layers_defaults_file_env_flags() {
    let dir = tempfile::tempdir().unwrap();
    let show = |cmd: &mut Command| run(cmd.args(["config", "show"])).stdout;
    assert!(show(&mut carbon(dir.path())).contains("data_dir = \"data\""));
    std::fs::write(
        dir.path().join("carbon.toml"),
        "data_dir = \"file-dir\"\n[log]\nformat = \"json\"\n",
    )
    .unwrap();
    let out = show(&mut carbon(dir.path()));
    assert!(
        out.contains("data_dir = \"file-dir\"") && out.contains("format = \"json\""),
        "{out}"
    );
    let out = show(carbon(dir.path()).env("CARBON_DATA_DIR", "env-dir"));
    assert!(
        out.contains("data_dir = \"env-dir\"") && out.contains("format = \"json\""),
        "{out}"
    );
    let out = show(
        carbon(dir.path())
            .env("CARBON_DATA_DIR", "env-dir")
            .args(["--data-dir", "flag-dir"]),
    );
    assert!(out.contains("data_dir = \"flag-dir\""), "{out}");
    // A typo in the file is an error naming the key, not a silent default.
    std::fs::write(dir.path().join("carbon.toml"), "datadir = \"x\"\n").unwrap();
    let o = run(carbon(dir.path()).args(["config", "show"]));
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("datadir"), "{}", o.stderr);
}

#[test]
fn calendars_and_markets() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(carbon(dir.path()).args([
        "calendar", "hours", "--market", "caiso", "--year", "2025", "--format", "csv",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "market,month,onpeak,2x16,7x8,offpeak,flat");
    assert_eq!(lines[3], "CAISO,2025-03,416,80,247,327,743");
    assert_eq!(lines[11], "CAISO,2025-11,384,96,241,337,721");
    let o = run(carbon(dir.path()).args(["calendar", "holidays", "--year", "2027"]));
    assert!(
        o.stdout.contains("2027-07-05  Mon      Independence Day"),
        "{}",
        o.stdout
    );
    let o =
        run(carbon(dir.path()).args(["calendar", "hours", "--market", "XISO", "--year", "2025"]));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("--market: unknown market `XISO`"),
        "{}",
        o.stderr
    );
    let o = run(carbon(dir.path()).args(["markets", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v[0]["market"], "MISO");
    assert_eq!(v[0]["zone"], "Etc/GMT+5");
    assert_eq!(v[1]["peak_days"], "Mon-Sat");
}

#[test]
fn admin_commands_manage_access_and_audit_verify_catches_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let ok = |args: &[&str]| {
        let o = run(carbon(dir.path()).args(args));
        assert_eq!(o.code, 0, "{args:?}: {}{}", o.stdout, o.stderr);
        o.stdout
    };
    ok(&["init"]);
    ok(&["admin", "tenant", "create", "acme", "--name", "Acme Power"]);
    assert!(ok(&["admin", "tenant", "list"]).contains("Acme Power"));
    let out = ok(&["admin", "user", "add", "ann", "--tenant", "acme"]);
    assert!(out.contains("password (shown once):"), "{out}");
    ok(&[
        "admin",
        "entitlement",
        "grant",
        "--tenant",
        "acme",
        "--market",
        "MISO",
        "--channels",
        "api,stream",
        "--instruments",
        "MISO.INDIANA.HUB",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
    ]);
    let grants = ok(&["admin", "entitlement", "list", "--tenant", "acme"]);
    assert!(
        grants.contains("MISO.INDIANA.HUB") && grants.contains("2026-12-31"),
        "{grants}"
    );
    let out = ok(&[
        "admin", "key", "create", "--tenant", "acme", "--name", "etl",
    ]);
    let key = out
        .lines()
        .find(|l| l.starts_with("ck_"))
        .unwrap()
        .to_string();
    let id = &key[3..15];
    let list = ok(&["admin", "key", "list", "--tenant", "acme"]);
    assert!(list.contains(id) && !list.contains(&key[16..]), "{list}");
    ok(&["admin", "key", "revoke", id]);
    // Bad input: exit 2, naming what is wrong; nothing stored.
    for (args, says) in [
        (
            vec![
                "admin",
                "entitlement",
                "grant",
                "--tenant",
                "acme",
                "--market",
                "MISO",
                "--channels",
                "fax",
            ],
            "channels",
        ),
        (
            vec![
                "admin",
                "entitlement",
                "grant",
                "--tenant",
                "nope",
                "--market",
                "MISO",
                "--channels",
                "api",
            ],
            "nope",
        ),
        (
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
                "--from",
                "2026-13-01",
            ],
            "--from",
        ),
        (
            vec![
                "admin",
                "user",
                "add",
                "bob",
                "--tenant",
                "acme",
                "--password",
                "short",
            ],
            "password",
        ),
        (
            vec![
                "admin",
                "key",
                "create",
                "--tenant",
                "pilot_caiso",
                "--name",
                "x",
            ],
            "api",
        ),
        (vec!["admin", "key", "revoke", "000000000000"], "no API key"),
    ] {
        let o = run(carbon(dir.path()).args(&args));
        assert_eq!(o.code, 2, "{args:?}: {}{}", o.stdout, o.stderr);
        assert!(o.stderr.contains(says), "{args:?}: {}", o.stderr);
    }
    assert_eq!(
        ok(&["admin", "entitlement", "list", "--tenant", "acme"])
            .lines()
            .count(),
        2
    );
    let out = ok(&["audit", "verify"]);
    assert!(out.contains("intact"), "{out}");
    let events = ok(&["audit", "list", "--limit", "1000", "--format", "csv"]);
    for action in [
        "tenant_created",
        "user_saved",
        "grant_added",
        "key_created",
        "key_revoked",
    ] {
        assert!(events.contains(action), "{action}: {events}");
    }
    // Alter one recorded event in the file itself: verify names it and exits 1.
    {
        let c = duckdb::Connection::open(dir.path().join("data/carbon.duckdb")).unwrap();
        c.execute_batch("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")
            .unwrap();
    }
    let o = run(carbon(dir.path()).args(["audit", "verify"]));
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stdout.contains("ALTERED") && o.stdout.contains("event 3:"),
        "{}",
        o.stdout
    );
}
