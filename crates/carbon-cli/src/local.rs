//! Many clients, one writer: while `carbon serve` holds a data directory,
//! the CLI's commands run *inside the server*, for the local client, with
//! the same arguments and the same output.
//!
//! The server listens on a Unix socket in the data directory
//! (`carbon.sock`, mode 0600) and writes a random credential beside it
//! (`local-cli.token`, mode 0600): only the data directory's owner can
//! connect and read it. A client sends one JSON line — the credential, its
//! arguments (paths made absolute against its working directory) — and
//! receives JSON lines: output and error chunks as the command writes them,
//! then the exit code. Both files are removed when the server stops; a
//! socket nobody listens on (a killed server) is stale, and the client then
//! opens the file itself as it does without a server.
//!
//! Why not HTTP: this is a private pipe between two copies of the same
//! program on one machine, authenticated by file permissions; the command
//! runs through the very code path it runs without a server (the server's
//! open store, bus, access layer and jobs are shared with it:
//! [`crate::commands::Shared`]).

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
};

use anyhow::{Context, Result};
use clap::{CommandFactory, FromArgMatches, parser::ValueSource};
use serde::{Deserialize, Serialize};

use crate::{
    cli::{Cli, Command},
    commands::{UserError, is_user_error},
    config::Config,
    console::{self, Stream},
};

/// The socket's file name in the data directory.
pub const SOCKET: &str = "carbon.sock";
/// The credential's file name in the data directory.
pub const TOKEN: &str = "local-cli.token";

#[derive(Serialize, Deserialize)]
struct Request {
    token: String,
    argv: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Frame {
    Out(String),
    Err(String),
    Exit(u8),
}

/// Whether `command` is run by a server holding the data directory (not
/// `serve` itself, and not the commands that never open the store).
pub fn forwarded(command: &Command) -> bool {
    !matches!(
        command,
        Command::Serve { .. }
            | Command::Config { .. }
            | Command::Markets { .. }
            | Command::Calendar { .. }
    )
}

/// Prepares `argv` for the server, which shares neither the client's
/// working directory nor its environment: every path argument becomes
/// absolute against `cwd` (which arguments are paths comes from the parser:
/// those whose values parse as `PathBuf`), and every value the client took
/// from a `CARBON_…` variable becomes an explicit flag.
pub fn absolutize(argv: &mut Vec<String>, cwd: &Path) {
    let cmd = Cli::command();
    let Ok(m) = cmd.clone().try_get_matches_from(argv.iter()) else {
        return;
    };
    let mut from_env = Vec::new();
    visit(&cmd, &m, argv, 0, cwd, &mut from_env);
    // Inserted from the back, so earlier positions stay valid.
    from_env.sort_by_key(|f| std::cmp::Reverse(f.0));
    for (at, flag) in from_env {
        argv.insert(at.min(argv.len()), flag);
    }
}

/// `offset`: where in `argv` this (sub)command's name is — clap counts a
/// subcommand's argument indices from its own name.
fn visit(
    cmd: &clap::Command,
    m: &clap::ArgMatches,
    argv: &mut [String],
    offset: usize,
    cwd: &Path,
    from_env: &mut Vec<(usize, String)>,
) {
    let path_type = clap::builder::ValueParser::path_buf().type_id();
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if m.value_source(id) == Some(ValueSource::EnvVariable)
            && let Some(long) = arg.get_long()
        {
            let flag = if arg.get_action().takes_values() {
                let v = m
                    .get_raw(id)
                    .into_iter()
                    .flatten()
                    .map(|v| v.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(",");
                let v = if arg.get_value_parser().type_id() == path_type {
                    cwd.join(&v).display().to_string()
                } else {
                    v
                };
                format!("--{long}={v}")
            } else {
                format!("--{long}")
            };
            from_env.push((offset + 1, flag));
            continue;
        }
        if arg.get_value_parser().type_id() != path_type
            || m.value_source(id) != Some(ValueSource::CommandLine)
        {
            continue;
        }
        let values = m.get_raw(id).into_iter().flatten();
        for (i, value) in m.indices_of(id).into_iter().flatten().zip(values) {
            let value = value.to_string_lossy().into_owned();
            let p = Path::new(&value);
            if !p.is_relative() {
                continue;
            }
            let fixed = cwd.join(p).display().to_string();
            // `--out=file`: clap counts the value one past its flag's token.
            let at = offset + i;
            if argv.get(at).is_some_and(|a| *a == value) {
                argv[at] = fixed;
            } else if let Some(a) = at.checked_sub(1).and_then(|j| argv.get_mut(j))
                && a.starts_with("--")
                && a.ends_with(&format!("={value}"))
            {
                let flag = a.split_once('=').map_or("", |(f, _)| f).to_string();
                *a = format!("{flag}={fixed}");
            }
        }
    }
    if let Some((name, sub)) = m.subcommand()
        && let Some(c) = cmd.find_subcommand(name)
        && let Some(at) = argv
            .iter()
            .skip(offset + 1)
            .position(|a| a == name)
            .map(|p| offset + 1 + p)
    {
        visit(c, sub, argv, at, cwd, from_env);
    }
}

/// Runs this command in the server holding `data_dir`, if one is; `None`
/// when there is none (or only a stale socket).
pub fn forward(data_dir: &Path, mut argv: Vec<String>) -> Result<Option<ExitCode>> {
    use std::os::unix::net::UnixStream;
    let socket = data_dir.join(SOCKET);
    if !socket.exists() {
        return Ok(None);
    }
    let Ok(stream) = UnixStream::connect(&socket) else {
        // Nobody listens: a server that was killed left it behind.
        return Ok(None);
    };
    let token_file = data_dir.join(TOKEN);
    let token = std::fs::read_to_string(&token_file).map_err(|e| {
        UserError(format!(
            "a server is running for {} but its local credential {} cannot be read ({e}); run this as the data directory's owner",
            data_dir.display(),
            token_file.display()
        ))
    })?;
    let cwd = std::env::current_dir().context("the working directory")?;
    absolutize(&mut argv, &cwd);
    let mut w = stream.try_clone().context("the server's socket")?;
    let line = serde_json::to_string(&Request {
        token: token.trim().to_string(),
        argv,
    })?;
    writeln!(w, "{line}").context("writing to the server's socket")?;
    w.flush()?;
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    for line in BufReader::new(stream).lines() {
        let line = line.context("reading from the server's socket")?;
        match serde_json::from_str::<Frame>(&line).context("a frame from the server")? {
            Frame::Out(t) => {
                out.write_all(t.as_bytes())?;
                out.flush()?;
            }
            Frame::Err(t) => err.write_all(t.as_bytes())?,
            Frame::Exit(code) => return Ok(Some(ExitCode::from(code))),
        }
    }
    anyhow::bail!("the server closed the connection before the command ended")
}

/// Removes the socket and credential when the server stops.
pub struct Listening {
    dir: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(self.dir.join(SOCKET));
        let _ = std::fs::remove_file(self.dir.join(TOKEN));
    }
}

fn private_file(path: &Path, contents: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

/// Starts answering local clients (call inside the server's runtime).
pub fn listen(config: &Config) -> Result<Listening> {
    use std::os::unix::fs::PermissionsExt;
    let dir = config.data_dir.clone();
    let socket = dir.join(SOCKET);
    // A socket left by a killed server: nobody listens on it any more (the
    // store's lock, taken before this, says no other server runs here).
    let _ = std::fs::remove_file(&socket);
    let listener = tokio::net::UnixListener::bind(&socket)
        .with_context(|| format!("cannot listen on {}", socket.display()))?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
    let token = Arc::new(carbon_auth::secret::random_token(32));
    private_file(&dir.join(TOKEN), &token)?;
    let config = Arc::new(config.clone());
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(answer(stream, token.clone(), config.clone()));
                }
                Err(e) => {
                    tracing::error!(error = %e, "local socket accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
        }
    });
    Ok(Listening { dir, task })
}

async fn answer(stream: tokio::net::UnixStream, token: Arc<String>, config: Arc<Config>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let (r, mut w) = stream.into_split();
    let mut line = String::new();
    // One request line, at most 1 MiB.
    let read = tokio::io::BufReader::new(r.take(1 << 20))
        .read_line(&mut line)
        .await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Frame>();
    match (read, serde_json::from_str::<Request>(&line)) {
        (Ok(_), Ok(req)) if carbon_auth::secret::same(&req.token, &token) => {
            std::thread::spawn(move || {
                let code = run_here(&config, req.argv, tx.clone());
                let _ = tx.send(Frame::Exit(code));
            });
        }
        _ => {
            let _ = tx.send(Frame::Err(
                "error: refused: not a request with this server's local credential\n".into(),
            ));
            let _ = tx.send(Frame::Exit(2));
        }
    }
    while let Some(f) = rx.recv().await {
        let end = matches!(f, Frame::Exit(_));
        let Ok(mut text) = serde_json::to_string(&f) else {
            break;
        };
        text.push('\n');
        if w.write_all(text.as_bytes()).await.is_err() || end {
            break;
        }
    }
}

/// A front for commands run for local clients: `serve` is refused before
/// it gets here, so it is never started.
struct NoFront;

impl crate::commands::live::Front for NoFront {
    fn prepare(
        &mut self,
        _: &tokio::runtime::Runtime,
        _: Option<&crate::commands::live::TlsPaths>,
    ) -> Result<()> {
        anyhow::bail!(UserError("a server is already running here".into()))
    }

    fn start(
        &mut self,
        _: &tokio::runtime::Runtime,
        _: crate::commands::live::Platform,
        _: std::net::TcpListener,
        _: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    ) -> Result<tokio::task::JoinHandle<std::io::Result<()>>> {
        anyhow::bail!(UserError("a server is already running here".into()))
    }
}

/// Runs `argv` on this (plain) thread with its output sent as frames.
fn run_here(
    config: &Config,
    argv: Vec<String>,
    tx: tokio::sync::mpsc::UnboundedSender<Frame>,
) -> u8 {
    let sink: console::Sink = Arc::new(move |stream, bytes| {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let _ = tx.send(match stream {
            Stream::Out => Frame::Out(text),
            Stream::Err => Frame::Err(text),
        });
    });
    console::capture(sink, || {
        let parsed = Cli::command()
            .try_get_matches_from(&argv)
            .and_then(|m| Cli::from_arg_matches(&m));
        let cli = match parsed {
            Ok(c) => c,
            Err(e) => {
                errln!("{e}");
                return 2;
            }
        };
        if !forwarded(&cli.command) {
            errln!("error: this command runs in the client, not the server");
            return 2;
        }
        // The server's configuration, with the client's `--offline`.
        let mut config = config.clone();
        if cli.overrides().offline == Some(true) {
            config.offline = true;
        }
        match crate::commands::run_command(&config, None, cli.command, &mut NoFront) {
            Ok(code) if code == ExitCode::SUCCESS => 0,
            Ok(code) if code == ExitCode::from(2) => 2,
            Ok(_) => 1,
            Err(e) => {
                errln!("error: {e:#}");
                if is_user_error(&e) { 2 } else { 1 }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abs(args: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        absolutize(&mut v, Path::new("/home/ann/work"));
        v
    }

    #[test]
    fn path_arguments_become_absolute_and_nothing_else_changes() {
        assert_eq!(
            abs(&[
                "carbon",
                "--data-dir",
                "d",
                "ingest",
                "file",
                "a.csv",
                "/abs/b",
                "x/c"
            ]),
            [
                "carbon",
                "--data-dir",
                "/home/ann/work/d",
                "ingest",
                "file",
                "/home/ann/work/a.csv",
                "/abs/b",
                "/home/ann/work/x/c"
            ]
        );
        assert_eq!(
            abs(&[
                "carbon",
                "query",
                "prices",
                "-i",
                "MISO.INDIANA.HUB",
                "--start",
                "2026-07-14",
                "--end",
                "2026-07-15",
                "--out=o.csv"
            ]),
            [
                "carbon",
                "query",
                "prices",
                "-i",
                "MISO.INDIANA.HUB",
                "--start",
                "2026-07-14",
                "--end",
                "2026-07-15",
                "--out=/home/ann/work/o.csv"
            ]
        );
        assert_eq!(
            abs(&[
                "carbon",
                "curve",
                "build",
                "--contracts",
                "c.csv",
                "--trade-date",
                "2026-11-27",
                "--grid",
                "monthly",
                "--out",
                "curve.csv"
            ]),
            [
                "carbon",
                "curve",
                "build",
                "--contracts",
                "/home/ann/work/c.csv",
                "--trade-date",
                "2026-11-27",
                "--grid",
                "monthly",
                "--out",
                "/home/ann/work/curve.csv"
            ]
        );
        // Not a parse: left alone.
        assert_eq!(
            abs(&["carbon", "nonsense", "x"]),
            ["carbon", "nonsense", "x"]
        );
    }
}
