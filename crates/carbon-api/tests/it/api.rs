//! The query API on a real socket: the real MISO day-ahead fixture ingested
//! into a real DuckDB file, requests over HTTP with ureq.

use std::{path::Path, sync::Arc};

use carbon_api::{ApiSettings, AppState, create_app};
use carbon_auth::{Access, AuthConfig};
use carbon_ingest::{bus::InProcessBus, dq::DqConfig, files, runner::Runner};
use carbon_store::DuckdbStore;
use serde_json::Value;

const REPORT: &str = "miso/da_expost_lmp_20261001_hubs_interfaces_subset.csv";
const FIVE_MINUTE: &str =
    "miso/api_GetRealTimeFiveMinExPost_Previous_20261001_first3intervals.json";

pub struct Server {
    pub base: String,
    pub store: Arc<DuckdbStore>,
    /// An API key of the `platform` tenant (every market, every channel).
    pub key: String,
    /// Passwords of the first-start accounts: (user, password).
    pub accounts: Vec<(String, String)>,
    /// The certificate (PEM) clients trust when the server speaks TLS.
    pub root_pem: Option<String>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// The server's temporary directory (data, objects, destinations).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn start() -> Server {
    start_with(None, 4096)
}

/// A server over a store holding the real DA report and 5-minute JSON; with a
/// bus, it streams what that bus publishes.
pub fn start_with(bus: Option<Arc<InProcessBus>>, queue: usize) -> Server {
    start_full(bus, queue, ApiSettings::default(), AuthConfig::default())
}

/// [`start_with`] with API and auth settings. First start runs (admin and the
/// two pilots), and an API key of the `platform` tenant is made for the tests.
pub fn start_full(
    bus: Option<Arc<InProcessBus>>,
    queue: usize,
    settings: ApiSettings,
    auth: AuthConfig,
) -> Server {
    start_server(bus, queue, settings, auth, None)
}

/// A server over TLS with a certificate for `localhost` made here (rcgen);
/// cookies are `Secure` and HSTS is on, as `carbon serve --tls-cert` does.
pub fn start_tls() -> Server {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let settings = ApiSettings {
        secure_cookies: true,
        ..ApiSettings::default()
    };
    start_server(
        None,
        4096,
        settings,
        AuthConfig::default(),
        Some((cert.cert.pem(), cert.signing_key.serialize_pem())),
    )
}

fn start_server(
    bus: Option<Arc<InProcessBus>>,
    queue: usize,
    settings: ApiSettings,
    auth: AuthConfig,
    tls: Option<(String, String)>,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DuckdbStore::open(dir.path()).unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/iso");
    let runner = Runner::new(
        store.clone(),
        store.clone(),
        Arc::new(InProcessBus::default()),
        DqConfig::default(),
    );
    for f in [REPORT, FIVE_MINUTE] {
        rt.block_on(runner.ingest("file", files::read(&fixtures.join(f), None).unwrap(), None))
            .unwrap();
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let base = match tls {
        Some(_) => format!("https://localhost:{}", addr.port()),
        None => format!("http://{addr}"),
    };
    let access = Arc::new(rt.block_on(Access::open(store.clone(), &auth)).unwrap());
    let boot = rt.block_on(access.bootstrap()).unwrap().unwrap();
    let accounts = boot
        .accounts
        .iter()
        .map(|(u, _, p)| (u.clone(), p.clone()))
        .collect();
    let (_, key) = rt
        .block_on(access.create_key("test", "platform", None, "tests", Default::default()))
        .unwrap();
    // One job worker, so tests can see the order jobs are taken in.
    let jobs = carbon_service::jobs::Jobs::new(
        store.clone(),
        carbon_service::research::ResearchDeps::of(store.clone()),
    );
    // The download center on a real object store (the filesystem) in the data dir.
    let exports = carbon_service::exports::Exports::new(
        store.clone(),
        store.clone(),
        carbon_service::objects::ObjectTarget::dir(&dir.path().join("objects")).unwrap(),
        carbon_service::exports::LinkSigner::load_or_create(&dir.path().join("links.key")).unwrap(),
        carbon_service::exports::ExportLimits::default(),
    );
    exports.set_sources(carbon_service::reports::DataSources {
        store: store.clone(),
        research: store.clone(),
        fundamentals: store.clone(),
        curves: store.clone(),
    });
    jobs.set_exports(exports.clone());
    // Feeds, with one destination (a directory in the data dir) that takes
    // the platform tenant's files.
    exports.set_destinations(vec![
        carbon_service::objects::DestinationConfig {
            name: "acme-bucket".into(),
            tenants: vec!["platform".into()],
            s3: None,
            dir: Some(dir.path().join("acme-bucket")),
        }
        .open()
        .unwrap(),
    ]);
    let feeds = carbon_service::feeds::Feeds::new(store.clone(), exports.clone(), jobs.clone());
    let bus: Arc<dyn carbon_bus::EventBus> = match bus {
        Some(b) => b,
        None => Arc::new(InProcessBus::default()),
    };
    let state = AppState::new(
        carbon_api::Stores::of(store.clone()),
        access.clone(),
        bus,
        jobs.clone(),
    )
    .with_stream_queue(queue)
    .with_settings(settings)
    .with_exports(exports)
    .with_feeds(feeds);
    let app = create_app(state);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let root_pem = tls.as_ref().map(|t| t.0.clone());
    let thread = std::thread::spawn(move || {
        let workers = {
            let _g = rt.enter();
            jobs.start_workers(1)
        };
        let _workers = workers;
        let stop = async {
            let _ = rx.await;
        };
        match tls {
            Some((cert, key)) => {
                let dir = tempfile::tempdir().unwrap();
                let files = carbon_api::TlsFiles {
                    cert: dir.path().join("cert.pem"),
                    key: dir.path().join("key.pem"),
                };
                std::fs::write(&files.cert, cert).unwrap();
                std::fs::write(&files.key, key).unwrap();
                let config = rt.block_on(carbon_api::tls_config(&files)).unwrap();
                rt.block_on(carbon_api::serve_tls(listener, config, app, stop))
                    .unwrap();
            }
            None => {
                let listener = {
                    let _g = rt.enter();
                    tokio::net::TcpListener::from_std(listener).unwrap()
                };
                rt.block_on(carbon_api::serve(listener, app, stop)).unwrap();
            }
        }
    });
    Server {
        base,
        store,
        key,
        accounts,
        root_pem,
        _dir: dir,
        stop: Some(tx),
        thread: Some(thread),
    }
}

pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub request_id: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// Every value of a repeated header (`Set-Cookie`).
    pub fn headers_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Signs `user` in with `password` as the hub does; returns the `Cookie`
/// header value holding both of the session's cookies (`carbon_session`,
/// `carbon_csrf`), checking how they are set.
pub fn hub_login(s: &Server, user: &str, password: &str) -> String {
    let r = request(
        s,
        "POST",
        "/api/v1/auth/login",
        &[],
        Some(&serde_json::json!({ "username": user, "password": password })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let cookies = r.headers_all("set-cookie");
    let session = cookies
        .iter()
        .find(|c| c.starts_with("carbon_session="))
        .unwrap_or_else(|| panic!("{cookies:?}"));
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    let csrf = cookies
        .iter()
        .find(|c| c.starts_with("carbon_csrf="))
        .unwrap_or_else(|| panic!("{cookies:?}"));
    assert!(
        !csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict"),
        "{csrf}"
    );
    let body = r.json();
    assert!(body.get("access_token").is_none(), "{body}");
    let first = |c: &str| c.split(';').next().unwrap().to_string();
    assert_eq!(
        first(csrf),
        format!("carbon_csrf={}", body["csrf_token"].as_str().unwrap())
    );
    format!("{}; {}", first(session), first(csrf))
}

/// The headers of a hub request on `cookie` (from [`hub_login`]): the cookies
/// and the CSRF token the hub sends back with every request.
pub fn hub(cookie: &str) -> [(&'static str, &str); 2] {
    let csrf = cookie
        .split("; ")
        .find_map(|kv| kv.strip_prefix("carbon_csrf="))
        .unwrap_or("");
    [("cookie", cookie), ("x-csrf-token", csrf)]
}

/// The first-start password of `user`.
pub fn password(s: &Server, user: &str) -> String {
    s.accounts.iter().find(|a| a.0 == user).unwrap().1.clone()
}

/// GET with the platform key.
pub fn get(s: &Server, path: &str) -> Resp {
    request(s, "GET", path, &[("x-api-key", &s.key)], None)
}

/// Any request, with these headers and an optional JSON body.
pub fn request(
    s: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Resp {
    let mut config = ureq::Agent::config_builder().http_status_as_error(false);
    if let Some(pem) = &s.root_pem {
        let root = ureq::tls::Certificate::from_pem(pem.as_bytes()).unwrap();
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root])))
                .build(),
        );
    }
    let agent: ureq::Agent = config.build().into();
    let url = format!("{}{path}", s.base);
    let mut b = ureq::http::Request::builder().method(method).uri(&url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut r = match body {
        Some(j) => agent
            .run(
                b.header("content-type", "application/json")
                    .body(j.to_string())
                    .unwrap(),
            )
            .unwrap(),
        None => agent.run(b.body(()).unwrap()).unwrap(),
    };
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (content_type, request_id) = (
        header("content-type").unwrap_or_default(),
        header("x-request-id"),
    );
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let bytes = r.body_mut().read_to_vec().unwrap();
    Resp {
        status: r.status().as_u16(),
        content_type,
        request_id,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    }
}

const DAY: &str =
    "/api/v1/prices?instrument_id=MISO.INDIANA.HUB&start=2026-10-01&end=2026-10-02&market_run=da";

#[test]
fn health_ready_markets_and_instruments() {
    let s = start();
    let h = get(&s, "/health");
    assert_eq!((h.status, h.json()["status"].as_str()), (200, Some("ok")));
    assert!(h.request_id.is_some());
    let r = get(&s, "/ready").json();
    assert_eq!(r["ready"], true);
    assert_eq!(r["sources"][0]["connector"], "file");
    assert_eq!(r["sources"][0]["last_status"], "ok");
    let m = get(&s, "/api/v1/markets").json();
    let miso = &m["data"][0];
    assert_eq!(
        (miso["code"].as_str(), miso["zone"].as_str()),
        (Some("MISO"), Some("Etc/GMT+5"))
    );

    let i = get(&s, "/api/v1/instruments?market=MISO&kind=hub").json();
    let ids: Vec<&str> = i["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 11, "{ids:?}");
    assert!(ids.contains(&"MISO.INDIANA.HUB"));
    // Pages of 4 stitch to the same list.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get(
            &s,
            &format!("/api/v1/instruments?market=MISO&kind=hub&limit=4{cursor}"),
        )
        .json();
        paged.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(paged, ids);
    let t = get(&s, "/api/v1/instruments?q=indiana").json();
    assert_eq!(t["data"][0]["id"], "MISO.INDIANA.HUB");
}

#[test]
fn prices_json_match_the_raw_report_and_csv_and_pages_agree() {
    let s = start();
    let j = get(&s, DAY);
    assert_eq!(j.status, 200, "{}", j.body);
    let rows = j.json()["data"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 24);
    // HE 1 of the raw file: LMP 39.52, MCC .7, MLC 1.61 → energy 37.21.
    let first = &rows[0];
    assert_eq!(first["interval_start"], "2026-10-01T00:00:00-05:00");
    assert_eq!(first["interval_start_utc"], "2026-10-01T05:00:00Z");
    assert_eq!(first["lmp"], 39.52);
    assert_eq!(first["congestion"], 0.7);
    assert_eq!(first["loss"], 1.61);
    assert_eq!(first["energy"], 37.21);

    // CSV carries the same numbers in the documented columns.
    let c = get(&s, &format!("{DAY}&format=csv"));
    assert!(c.content_type.starts_with("text/csv"), "{}", c.content_type);
    let lines: Vec<&str> = c.body.lines().collect();
    assert_eq!(
        lines[0],
        "instrument_id,market_run,interval_start_utc,interval_end_utc,lmp,energy,congestion,loss,ghg"
    );
    assert_eq!(lines.len(), 25);
    for (line, row) in lines[1..].iter().zip(&rows) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[2], row["interval_start_utc"].as_str().unwrap());
        assert_eq!(f[4].parse::<f64>().unwrap(), row["lmp"].as_f64().unwrap());
        assert_eq!(
            f[5].parse::<f64>().unwrap(),
            row["energy"].as_f64().unwrap()
        );
    }

    // Pages of 5 stitch to the full answer.
    let mut stitched = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get(&s, &format!("{DAY}&limit=5{cursor}")).json();
        stitched.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(stitched, rows);

    // UTC output, and the on-peak daily mean: HE7–HE22 of a Thursday.
    let u = get(&s, &format!("{DAY}&timezone=UTC")).json();
    assert_eq!(u["data"][0]["interval_start"], "2026-10-01T05:00:00Z");
    let d = get(&s, &format!("{DAY}&resample=1d&agg=mean&block=onpeak")).json();
    let expected: f64 = rows[6..22]
        .iter()
        .map(|r| r["lmp"].as_f64().unwrap())
        .sum::<f64>()
        / 16.0;
    let got = d["data"][0]["lmp"].as_f64().unwrap();
    assert!((got - expected).abs() < 1e-9, "{got} vs {expected}");
    assert_eq!(d["data"][0]["samples"], 16);
}

#[test]
fn bad_input_is_a_problem_naming_the_parameter_never_5xx() {
    let s = start();
    for (path, status, param) in [
        (
            "/api/v1/prices?start=2026-10-01&end=2026-10-02",
            400,
            "instrument_id",
        ),
        (
            "/api/v1/prices?instrument_id=MISO.INDIANA.HUB&end=2026-10-02",
            400,
            "start",
        ),
        (&format!("{DAY}&resample=2h"), 400, "resample"),
        (&format!("{DAY}&agg=median&resample=1h"), 400, "agg"),
        (&format!("{DAY}&block=5x8"), 400, "block"),
        (&format!("{DAY}&market_run=dayahead"), 400, "market_run"),
        (&format!("{DAY}&limit=0"), 400, "limit"),
        (&format!("{DAY}&format=xml"), 400, "format"),
        (&format!("{DAY}&timezone=Mars/Olympus"), 400, "timezone"),
        (&format!("{DAY}&cursor=zzz"), 400, "cursor"),
        (&format!("{DAY}&colour=red"), 400, "colour"),
        (
            "/api/v1/prices?instrument_id=MISO.INDIANA.HUB&start=2026-10-02&end=2026-10-01",
            400,
            "end",
        ),
        (
            "/api/v1/prices?instrument_id=INDIANA&start=2026-10-01&end=2026-10-02",
            400,
            "instrument_id",
        ),
        (
            "/api/v1/prices?instrument_id=MISO.NOWHERE&start=2026-10-01&end=2026-10-02",
            404,
            "instrument_id",
        ),
        ("/api/v1/instruments?market=XYZ", 400, "market"),
        ("/api/v1/instruments?kind=hubb", 400, "kind"),
        ("/api/v1/prices?instrument_id=%ZZ", 400, "query"),
    ] {
        let r = get(&s, path);
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert_eq!(r.content_type, "application/problem+json", "{path}");
        let p = r.json();
        assert_eq!(p["param"], param, "{path}: {}", r.body);
        assert_eq!(p["status"], status);
        assert!(!p["detail"].as_str().unwrap().is_empty());
        assert!(r.request_id.is_some());
    }
    let r = get(&s, "/api/v1/nothing");
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (404, "application/problem+json")
    );
}

fn fixture_json() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/iso")
        .join(FIVE_MINUTE);
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn spreads_latest_runs_and_quality() {
    let s = start();
    // Node − hub basis on the DA report: HE 1 INDIANA.HUB 39.52 − ILLINOIS.HUB (raw file).
    let raw = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/iso")
            .join(REPORT),
    )
    .unwrap();
    let illinois_he1: f64 = raw
        .lines()
        .find(|l| l.starts_with("ILLINOIS.HUB,Hub,LMP,"))
        .unwrap()
        .split(',')
        .nth(3)
        .unwrap()
        .parse()
        .unwrap();
    let b = get(
        &s,
        "/api/v1/prices/spread?a=MISO.INDIANA.HUB&b=MISO.ILLINOIS.HUB&start=2026-10-01&end=2026-10-02",
    );
    assert_eq!(b.status, 200, "{}", b.body);
    let b = b.json();
    assert_eq!(b["data"].as_array().unwrap().len(), 24);
    let first = &b["data"][0];
    assert_eq!(first["a"], 39.52);
    assert_eq!(first["b"], illinois_he1);
    assert!((first["spread"].as_f64().unwrap() - (39.52 - illinois_he1)).abs() < 1e-9);

    // DA − RT (5-minute, hourly mean): only hour 1 has both; RT from the raw JSON.
    let doc = fixture_json();
    let rt: Vec<f64> = doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r[1] == "INDIANA.HUB")
        .map(|r| r[2].as_str().unwrap().parse::<f64>().unwrap())
        .collect();
    assert_eq!(rt.len(), 3);
    let rt_mean = rt.iter().sum::<f64>() / 3.0;
    let d = get(
        &s,
        "/api/v1/prices/spread?a=MISO.INDIANA.HUB&b_market_run=rt5&start=2026-10-01&end=2026-10-02&resample=1h",
    )
    .json();
    let rows = d["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{d}");
    assert!((rows[0]["b"].as_f64().unwrap() - rt_mean).abs() < 1e-9);
    assert!((rows[0]["spread"].as_f64().unwrap() - (39.52 - rt_mean)).abs() < 1e-9);
    let same = get(
        &s,
        "/api/v1/prices/spread?a=MISO.INDIANA.HUB&start=2026-10-01&end=2026-10-02",
    );
    assert_eq!(
        (same.status, same.json()["param"].as_str()),
        (400, Some("b"))
    );

    // Latest interval per series.
    let l = get(
        &s,
        "/api/v1/prices/latest?instrument_id=MISO.INDIANA.HUB&lookback_days=120&timezone=UTC",
    )
    .json();
    let data = l["data"].as_array().unwrap();
    let da = data.iter().find(|r| r["market_run"] == "da").unwrap();
    assert_eq!(da["interval_start"], "2026-10-02T04:00:00Z");
    let rt5 = data.iter().find(|r| r["market_run"] == "rt5").unwrap();
    assert_eq!(rt5["interval_start"], "2026-10-01T05:10:00Z");
    let all = get(
        &s,
        "/api/v1/prices/latest?market=MISO&market_run=da&lookback_days=120",
    )
    .json();
    assert_eq!(all["data"].as_array().unwrap().len(), 22);

    // Runs and quality.
    let runs = get(&s, "/api/v1/ingest/runs").json();
    let runs = runs["data"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r["status"] == "ok"));
    let id = runs[0]["id"].as_str().unwrap();
    let q = get(&s, &format!("/api/v1/quality?run_id={id}")).json();
    assert_eq!(q["runs"][0]["run_id"], id);
    assert!(q["quarantined"].as_array().unwrap().is_empty());
    let fresh = get(&s, "/api/v1/quality?market=MISO").json();
    assert!(fresh["freshness"].as_array().unwrap().iter().any(|f| {
        f["instrument_id"] == "MISO.INDIANA.HUB"
            && f["last_interval_end_utc"] == "2026-10-02T05:00:00Z"
    }));
    assert_eq!(get(&s, "/api/v1/quality?run_id=nope").status, 404);
}

#[test]
fn metrics_count_requests_by_route_and_report_store_and_ingest() {
    let s = start();
    get(&s, "/health");
    get(&s, "/health");
    get(&s, DAY);
    get(&s, &format!("{DAY}&timezone=UTC"));
    get(&s, &format!("{DAY}&limit=0"));
    get(&s, "/api/v1/nowhere");
    let m = get(&s, "/metrics");
    assert_eq!(m.status, 200);
    assert!(
        m.content_type.starts_with("text/plain; version=0.0.4"),
        "{}",
        m.content_type
    );
    for line in [
        "carbon_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2",
        "carbon_http_requests_total{method=\"GET\",route=\"/api/v1/prices\",status=\"200\"} 2",
        "carbon_http_requests_total{method=\"GET\",route=\"/api/v1/prices\",status=\"400\"} 1",
        "carbon_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
        "carbon_http_request_duration_seconds_count{route=\"/health\"} 2",
        "carbon_store_up{backend=\"duckdb\"} 1",
        "carbon_ingest_rows_accepted{connector=\"file\"} 594",
        // The day read once from DuckDB, then answered in another zone from memory.
        "carbon_query_cache_misses_total 1",
        "carbon_query_cache_hits_total 1",
        "carbon_query_cache_budget_bytes 67108864",
    ] {
        assert!(
            m.body.lines().any(|l| l == line),
            "missing `{line}` in\n{}",
            m.body
        );
    }
    assert!(
        m.body.contains(
            "carbon_http_request_duration_seconds_bucket{route=\"/health\",le=\"+Inf\"} 2"
        )
    );
    assert!(
        m.body
            .contains("carbon_ingest_last_run_timestamp_seconds{connector=\"file\",status=\"ok\"}")
    );
}

/// Every documented path answers (never 5xx, never "no route"), and every
/// documented parameter is one the server accepts.
#[test]
fn openapi_documents_what_the_server_does_and_docs_render_it() {
    let s = start();
    let spec = get(&s, "/openapi.json");
    assert_eq!(spec.status, 200);
    assert_eq!(spec.content_type, "application/json");
    let spec = spec.json();
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 50, "{} paths", paths.len());
    // Every schema the document refers to is in it.
    let text = spec.to_string();
    for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = r.split('"').next().unwrap();
        assert!(
            spec["components"]["schemas"].get(name).is_some(),
            "{name} is referred to but not defined"
        );
    }
    // Every operation answers problem+json on error and names its credentials
    // unless the route is public.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"]["default"]["content"]["application/problem+json"].is_object(),
                "{method} {path}"
            );
            let public = !path.starts_with("/api/v1/")
                || path == "/api/v1/auth/login"
                || path == "/api/v1/auth/config"
                || path.starts_with("/api/v1/downloads/");
            assert_eq!(op.get("security").is_some(), !public, "{method} {path}");
        }
    }
    for (path, item) in paths {
        if path.starts_with("/api/v1/stream") || item.get("get").is_none() {
            // Long-lived streams: covered by tests/it/stream.rs; POST, PATCH
            // and DELETE routes: by tests/it/access.rs.
            continue;
        }
        let params = item["get"]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // A value the document says is valid: an example, an enum's first
        // member, or one of the string formats (through `$ref`s).
        let resolve = |sch: &Value| -> Value {
            match sch.get("$ref").and_then(Value::as_str) {
                Some(r) => spec["components"]["schemas"][r.rsplit('/').next().unwrap()].clone(),
                None => sch.clone(),
            }
        };
        let value = |p: &Value| -> Option<String> {
            let text = |e: &Value| {
                e.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| e.to_string())
            };
            if let Some(e) = p.get("example") {
                return Some(text(e));
            }
            let mut schema = resolve(&p["schema"]);
            if schema["type"] == "array" {
                schema = resolve(&schema["items"]);
            }
            if let Some(e) = schema
                .get("example")
                .or_else(|| schema.get("examples").and_then(|x| x.get(0)))
            {
                return Some(text(e));
            }
            if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
                return first.as_str().map(str::to_string);
            }
            match (schema["type"].as_str(), schema["format"].as_str()) {
                (_, Some("date-time")) => Some("2025-01-01T00:00:00Z".into()),
                (_, Some("date")) => Some("2025-01-01".into()),
                (Some("integer"), _) => Some("10".into()),
                (Some("string"), _) if p["required"] == true => Some("x".into()),
                _ => None,
            }
        };
        let required: Vec<String> = params
            .iter()
            .filter(|p| p["required"] == true && p["in"] != "path")
            .map(|p| format!("{}={}", p["name"].as_str().unwrap(), value(p).unwrap()))
            .collect();
        // Path parameters get a value that names nothing.
        let path = path.replace("{run_id}", "cr_none");
        let base = format!("{path}?{}", required.join("&"));
        let r = get(&s, &base);
        assert!(r.status < 500, "{base}: {} {}", r.status, r.body);
        assert!(
            !r.body.contains("no route"),
            "{base} is documented but not served"
        );
        for p in params.iter().filter(|p| p["required"] != true) {
            let name = p["name"].as_str().unwrap();
            let Some(v) = value(p) else { continue };
            let url = format!("{base}&{name}={v}");
            let r = get(&s, &url);
            assert!(r.status < 500, "{url}: {} {}", r.status, r.body);
            assert!(!r.body.contains("unknown parameter"), "{url}: {}", r.body);
        }
    }
    let d = get(&s, "/docs");
    assert_eq!(d.status, 200);
    assert!(d.content_type.starts_with("text/html"));
    assert!(d.body.contains("fetch(\"/openapi.json\")"));
    assert!(
        !d.body.contains("https://"),
        "the docs page downloads nothing"
    );
}

/// The web hub: `/` and client-side routes answer the hub's index.html (or,
/// in a binary built without `web/dist`, a page saying how to build it);
/// a missing asset is a 404; unknown API paths stay JSON problems.
#[test]
fn the_hub_is_served_at_the_root_with_client_routes() {
    let s = start();
    let root = request(&s, "GET", "/", &[], None);
    assert_eq!(root.status, 200);
    assert!(
        root.content_type.starts_with("text/html"),
        "{}",
        root.content_type
    );
    assert_eq!(root.header("cache-control"), Some("no-cache"));
    if carbon_api::hub::embedded() {
        assert!(
            root.body.contains("<div id=\"root\"></div>"),
            "{}",
            root.body
        );
        let script = root
            .body
            .split("src=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_string();
        let js = request(&s, "GET", &script, &[], None);
        assert_eq!(js.status, 200, "{script}");
        assert!(js.content_type.starts_with("text/javascript"));
        assert!(js.header("cache-control").unwrap().contains("immutable"));
    } else {
        assert!(root.body.contains("scripts/run.sh"), "{}", root.body);
    }
    for route in ["/explorer", "/curves", "/admin", "/login"] {
        let r = request(&s, "GET", route, &[], None);
        assert_eq!(r.status, 200, "{route}");
        assert_eq!(r.body, root.body, "{route} is the same page");
    }
    if carbon_api::hub::embedded() {
        assert_eq!(
            request(&s, "GET", "/assets/nothing.js", &[], None).status,
            404
        );
    }
    let api = request(&s, "GET", "/api/v1/nothing", &[("x-api-key", &s.key)], None);
    assert_eq!(api.status, 404);
    assert!(api.content_type.starts_with("application/problem+json"));
    let post = request(&s, "POST", "/explorer", &[], None);
    assert_eq!(post.status, 404);
}

/// A stand-in OIDC provider on 127.0.0.1: an ES256 key published at
/// `/certs`; [`Idp::token`] signs access tokens the way the provider would.
pub struct Idp {
    server: carbon_testkit::HttpServer,
    pub issuer: String,
    encoding: jsonwebtoken::EncodingKey,
}

impl Idp {
    pub fn start() -> Idp {
        use base64::Engine as _;
        use p256::{
            elliptic_curve::sec1::ToEncodedPoint,
            pkcs8::{EncodePrivateKey, LineEnding},
        };
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let point = secret.public_key().to_encoded_point(false);
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": "idp-1", "alg": "ES256",
            "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()),
        });
        let encoding = jsonwebtoken::EncodingKey::from_ec_pem(
            secret.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        let jwks = serde_json::json!({ "keys": [jwk] }).to_string();
        let server = carbon_testkit::HttpServer::start(move |hit, _| match hit.path.as_str() {
            "/certs" => carbon_testkit::Reply::ok(jwks.clone()),
            _ => carbon_testkit::Reply::status(404),
        });
        let issuer = server.url("/realms/power");
        Idp {
            server,
            issuer,
            encoding,
        }
    }

    /// `[auth.oidc]` for this provider; the hub's client is `carbon-hub`,
    /// the tenant claim `tenant_id`.
    pub fn config(&self) -> carbon_auth::OidcConfig {
        carbon_auth::OidcConfig {
            issuer: self.issuer.clone(),
            audience: "carbon".into(),
            tenant_claim: "tenant_id".into(),
            jwks_uri: Some(self.server.url("/certs")),
            leeway_seconds: 30,
            cache_seconds: 3600,
            client_id: Some("carbon-hub".into()),
        }
    }

    /// An access token issued to `client` (`azp`) for a subject of `tenant`.
    pub fn token(&self, client: &str, tenant: &str, exp: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        h.kid = Some("idp-1".into());
        jsonwebtoken::encode(
            &h,
            &serde_json::json!({ "iss": self.issuer, "aud": "carbon", "sub": "svc", "exp": exp,
                     "nbf": now - 1, "azp": client, "tenant_id": tenant,
                     "realm_access": { "roles": [] } }),
            &self.encoding,
        )
        .unwrap()
    }
}
