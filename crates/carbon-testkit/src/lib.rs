//! # carbon-testkit — what tests of live paths stand on
//!
//! [`HttpServer`] is a real HTTP/1.1 server bound to 127.0.0.1 on a free port.
//! A handler decides each reply from the request (path, query, how many times
//! that path was hit), so tests can serve fixture files, OASIS error zips, a
//! 429 before a success, a reply slower than the client's timeout, or a body
//! cut short of its `Content-Length`. Every request is recorded with its
//! arrival time, so tests assert query parameters and request spacing.
//!
//! Test-only: no production crate depends on it.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Hit {
    /// When it arrived.
    pub at: Instant,
    /// Path without the query.
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
}

impl Hit {
    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body bytes actually sent.
    pub body: Vec<u8>,
    /// Wait before answering.
    pub delay: Duration,
    /// `Content-Length` to declare when it should differ from the body (truncation).
    pub declared_len: Option<usize>,
}

impl Reply {
    /// 200 with a body.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
            declared_len: None,
        }
    }
    /// A bodiless status.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            ..Self::ok(Vec::new())
        }
    }
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    /// Answers after `d`.
    pub fn delayed(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
    /// Declares `len` bytes but sends only the body, then closes.
    pub fn truncated(mut self, len: usize) -> Self {
        self.declared_len = Some(len);
        self
    }
}

type Handler = dyn Fn(&Hit, usize) -> Reply + Send + Sync;

/// A real HTTP server on 127.0.0.1; stops when dropped.
pub struct HttpServer {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    stop: Arc<AtomicBool>,
}

impl HttpServer {
    /// Starts serving; `handler(hit, n)` gets the request and how many earlier
    /// requests had the same path.
    pub fn start(handler: impl Fn(&Hit, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let hits = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let counts = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
        {
            let (hits, stop) = (hits.clone(), stop.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (hits, handler, counts) = (hits.clone(), handler.clone(), counts.clone());
                    thread::spawn(move || serve(conn, &hits, &*handler, &counts));
                }
            });
        }
        Self { addr, hits, stop }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests received so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Unblock the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn decode(s: &str) -> String {
    carbon_core::text::percent_decode(s).unwrap_or_else(|| s.to_string())
}

fn serve(
    conn: TcpStream,
    hits: &Mutex<Vec<Hit>>,
    handler: &Handler,
    counts: &Mutex<HashMap<String, usize>>,
) {
    let at = Instant::now();
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    // Skip headers.
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => break,
            Ok(_) if h == "\r\n" || h == "\n" => break,
            Ok(_) => {}
        }
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (path, q) = target.split_once('?').unwrap_or((&target, ""));
    let query = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let hit = Hit {
        at,
        path: path.to_string(),
        query,
    };
    let n = {
        let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
        let e = c.entry(hit.path.clone()).or_default();
        *e += 1;
        *e - 1
    };
    if let Ok(mut h) = hits.lock() {
        h.push(hit.clone());
    }
    let reply = handler(&hit, n);
    if !reply.delay.is_zero() {
        thread::sleep(reply.delay);
    }
    let mut out = conn;
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.declared_len.unwrap_or(reply.body.len())
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&reply.body);
    let _ = out.flush();
    let _ = out.shutdown(std::net::Shutdown::Both);
}

/// A zip archive holding one file.
pub fn zip_of(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(name, zip::write::SimpleFileOptions::default())
        .expect("zip entry");
    w.write_all(bytes).expect("zip write");
    w.finish().expect("zip finish").into_inner()
}

/// A **synthetic** MISO day-ahead ex-post report in MISO's real layout (four
/// preamble lines, `Node,Type,Value,HE 1..HE 24`, LMP rows then MCC then MLC),
/// for load, crash and benchmark tests. Nodes are named `SYNTH_NNNNN` (one in
/// fifty typed `Hub`), values are a deterministic function of node, day and
/// hour, and LMP = energy + MCC + MLC holds to the cent. Not market data.
pub fn synthetic_miso_report(year: i32, month: u32, day: u32, nodes: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(nodes * 3 * 200);
    s.push_str("Day Ahead Market ExPost LMPs\n");
    let _ = writeln!(s, "{month}/{day}/{year}");
    s.push('\n');
    s.push_str(",,,All Hours-Ending are Eastern Standard Time (EST) - SYNTHETIC TEST DATA\n");
    s.push_str("Node,Type,Value");
    for h in 1..=24 {
        let _ = write!(s, ",HE {h}");
    }
    s.push('\n');
    let energy = |h: usize| 20.0 + (day as f64) + ((h as f64) - 12.0).abs();
    let mcc = |n: usize, h: usize| (((n * 7 + h * 3) % 41) as f64 - 20.0) / 4.0;
    let mlc = |n: usize, h: usize| (((n * 5 + h) % 11) as f64 - 5.0) / 20.0;
    for (value, f) in [("LMP", 0), ("MCC", 1), ("MLC", 2)] {
        for n in 0..nodes {
            let kind = if n % 50 == 0 { "Hub" } else { "Gennode" };
            let _ = write!(s, "SYNTH_{n:05},{kind},{value}");
            for h in 1..=24 {
                let v = match f {
                    0 => energy(h) + mcc(n, h) + mlc(n, h),
                    1 => mcc(n, h),
                    _ => mlc(n, h),
                };
                let _ = write!(s, ",{}", (v * 100.0).round() / 100.0);
            }
            s.push('\n');
        }
    }
    s
}
