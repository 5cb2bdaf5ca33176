//! `carbon ingest file` of the EIA fundamentals folder, then the research
//! commands, a backtest, fundamentals reads and a configured research job:
//! each stored and listed, bad input exiting 2 with the parameter named.

use std::path::Path;

use super::cli::{carbon, run};

fn fundamentals() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/fundamentals")
}

#[test]
fn research_commands_on_the_fundamentals_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = run(carbon(d).args(["ingest", "file"]).arg(fundamentals()));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.matches("ok ").count(), 7, "{}", o.stdout);

    let o = run(carbon(d).args(["fundamentals", "series", "--format", "csv"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout
            .contains("Henry Hub,spot_price,BASE,USD/MMBtu,7436,"),
        "{}",
        o.stdout
    );

    let o = run(carbon(d).args([
        "fundamentals",
        "query",
        "--entity",
        "Henry Hub",
        "--variable",
        "spot_price",
        "--start",
        "2021-01-01",
        "--end",
        "2022-01-01",
        "--resample",
        "1mo",
        "--agg",
        "max",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("2021-02-01T00:00:00Z,23.86"),
        "{}",
        o.stdout
    );

    let o = run(carbon(d).args([
        "research",
        "decompose",
        "--series",
        "price:MISO.INDIANA.HUB:rt",
        "--periods",
        "24,168",
        "--start",
        "2021-06-01T05:00:00Z",
        "--end",
        "2021-08-01T05:00:00Z",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with("mstl run rr_"), "{}", o.stdout);
    assert!(
        o.stdout.contains("seasonal period 24 strength"),
        "{}",
        o.stdout
    );

    let out = d.join("regimes.json");
    let o = run(carbon(d)
        .args([
            "research",
            "regimes",
            "--series",
            "price:MISO.TEXAS.HUB:rt",
            "--resample",
            "1d",
            "--transform",
            "log_return",
            "--k",
            "2,3",
        ])
        .args([
            "--start",
            "2021-01-01T05:00:00Z",
            "--end",
            "2022-01-01T05:00:00Z",
            "--output",
        ])
        .arg(&out));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("* k="), "{}", o.stdout);
    assert!(o.stdout.contains("P[0,·]"), "{}", o.stdout);
    assert!(
        o.stdout.contains("starts reached the best likelihood"),
        "{}",
        o.stdout
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["candidates"].as_array().unwrap().len(), 2);

    let o = run(carbon(d).args([
        "research",
        "regimes",
        "--series",
        "fund:Henry Hub/spot_price",
        "--hmm",
        "--k",
        "2",
        "--start",
        "2018-01-01",
        "--end",
        "2023-01-01",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("state 1: mean vol20"), "{}", o.stdout);
    // Trading days only: weekends and holidays are gaps, and the output says so.
    assert!(
        o.stdout.contains("warning: ") && o.stdout.contains("gaps in the series"),
        "{}",
        o.stdout
    );
    let o = run(carbon(d).args([
        "research",
        "weather",
        "--target",
        "price:MISO.INDIANA.HUB:rt",
        "--temperature",
        "fund:Indianapolis/temperature",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("cdd") && o.stdout.contains("quantile 0.1"),
        "{}",
        o.stdout
    );

    let o = run(carbon(d).args([
        "research",
        "balance",
        "--storage",
        "fund:Total Lower 48/storage",
        "--price",
        "fund:Henry Hub/spot_price",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("week ending 2024-04-12") && o.stdout.contains("CUSUM shocks"),
        "{}",
        o.stdout
    );

    let o = run(carbon(d).args([
        "research",
        "balance",
        "--load",
        "fund:ERCOT/load",
        "--temperature",
        "fund:Dallas / Fort Worth/temperature",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("load model R²"), "{}", o.stdout);

    let o = run(carbon(d).args([
        "backtest",
        "--instrument",
        "ERCOT.HB_NORTH",
        "--baselines",
        "persistence,seasonal_naive,mstl",
        "--as-of-dates",
        "2020-03-31,2020-06-30",
        "--horizon-days",
        "30",
        "--granularity",
        "month",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("ERCOT|HB_NORTH|flat|mstl|M1-3"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("gate: PASS") || o.stdout.contains("gate: FAIL"),
        "{}",
        o.stdout
    );
    // The files were loaded today: their vintages postdate the 2020 origins.
    assert!(
        o.stdout
            .contains("warning: origin 2020-03-31: no price vintage was known at the origin"),
        "{}",
        o.stdout
    );

    // Bad input names the flag or parameter and exits 2.
    let o = run(carbon(d).args([
        "research",
        "decompose",
        "--series",
        "nope",
        "--periods",
        "12",
    ]));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--series"), "{}", o.stderr);
    let o = run(carbon(d).args([
        "research",
        "decompose",
        "--series",
        "fund:Total Lower 48/storage",
        "--periods",
        "52",
        "--start",
        "2030-01-01",
    ]));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("no data"), "{}", o.stderr);

    // A configured job, run once as cron would.
    std::fs::write(
        d.join("carbon.toml"),
        r#"[[research_jobs]]
name = "weekly-storage-stl"
every_secs = 604800
[research_jobs.analysis]
kind = "decompose"
periods = [52]
[research_jobs.analysis.series]
entity = "Total Lower 48"
variable = "storage"
"#,
    )
    .unwrap();
    let o = run(carbon(d).args(["research", "job", "weekly-storage-stl"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with("stl run rr_"), "{}", o.stdout);
    let o = run(carbon(d).args(["research", "job", "nightly"]));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("weekly-storage-stl"), "{}", o.stderr);

    let o = run(carbon(d).args(["research", "runs", "--format", "csv"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let kinds: Vec<&str> = o
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "stl", "stl", "backtest", "balance", "balance", "weather", "regimes", "regimes", "mstl"
        ]
    );
    let id = o
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let o = run(carbon(d).args(["research", "show", &id]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("\"model_version\""), "{}", o.stdout);
}

/// The EIA connector from the command line against a stand-in of the v2 API
/// on 127.0.0.1: `fundamentals fetch` (= `backfill eia`) sends the key and
/// bracketed parameters, follows pages, keeps the key out of provenance,
/// resumes by checkpoint, reports EIA's error message; `poll eia fundamentals`
/// offline is recorded as unreachable. (Values SYNTHETIC: three made-up
/// Henry Hub prices; the real files are served in carbon-ingest's eia_api tests.)
#[test]
fn eia_connector_from_the_cli_pages_keeps_the_key_out_and_reports_errors() {
    use carbon_testkit::{HttpServer, Reply};
    let server = HttpServer::start(|hit, _| {
        if hit.param("api_key") != Some("test-key") {
            return Reply::ok(r#"{"error":"API_KEY_INVALID: an invalid api_key was supplied"}"#);
        }
        let page = match hit.param("offset") {
            Some("0") => {
                r#"{"response":{"total":"3","data":[
                {"period":"2024-01-02","series":"RNGWHHD","value":2.61,"units":"$/MMBTU"},
                {"period":"2024-01-03","series":"RNGWHHD","value":"2.74","units":"$/MMBTU"}]}}"#
            }
            _ => {
                r#"{"response":{"total":3,"data":[{"period":"2024-01-04","series":"RNGWHHD","value":null},
                {"period":"2024-01-05","series":"RNGWHHD","value":2.55}]}}"#
            }
        };
        Reply::ok(page)
    });
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let toml = |key: &str| {
        format!(
            "[eia]\nurl = \"{}\"\napi_key = \"{key}\"\nseries = [{{ route = \"natural-gas/pri/fut\", frequency = \"daily\", series = \"RNGWHHD\", entity = \"Henry Hub\", variable = \"spot_price\", unit = \"USD/MMBtu\" }}]\n\n[http]\nretries = 0\n",
            server.url("/v2")
        )
    };
    std::fs::write(d.join("carbon.toml"), toml("test-key")).unwrap();
    let o = run(carbon(d).args([
        "fundamentals",
        "fetch",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-31",
    ]));
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout
            .contains("eia/RNGWHHD/2024-01-01..2024-01-31 ok: 3 new, 0 unchanged")
            && o.stdout.contains("eia: 1 request(s): 1 ingested"),
        "{}",
        o.stdout
    );
    let hits = server.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].path, "/v2/natural-gas/pri/fut/data/");
    assert_eq!(hits[0].param("data[0]"), Some("value"));
    assert_eq!(hits[0].param("facets[series][]"), Some("RNGWHHD"));
    assert_eq!(
        (hits[0].param("start"), hits[0].param("end")),
        (Some("2024-01-01"), Some("2024-01-31"))
    );
    assert_eq!(
        (hits[0].param("offset"), hits[1].param("offset")),
        (Some("0"), Some("2"))
    );
    let o = run(carbon(d).args([
        "fundamentals",
        "query",
        "--entity",
        "Henry Hub",
        "--variable",
        "spot_price",
    ]));
    assert_eq!(
        o.stdout,
        "interval_start,value\n2024-01-02T00:00:00Z,2.61\n2024-01-03T00:00:00Z,2.74\n2024-01-05T00:00:00Z,2.55\n"
    );
    let o = run(carbon(d).args(["ingest", "runs", "--format", "csv"]));
    assert!(
        o.stdout
            .contains("/v2/natural-gas/pri/fut/data/?frequency=daily")
            && !o.stdout.contains("test-key"),
        "{}",
        o.stdout
    );
    // The window is final: a second fetch skips it; forced, nothing is new.
    let o = run(carbon(d).args([
        "fundamentals",
        "fetch",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-31",
    ]));
    assert!(o.stdout.contains("already ingested"), "{}", o.stdout);
    assert_eq!(server.hits().len(), 2);
    let o = run(carbon(d).args([
        "backfill",
        "eia",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-31",
        "--force",
    ]));
    assert!(o.stdout.contains("0 new, 3 unchanged"), "{}", o.stdout);

    // A rejected key: EIA's message, exit 1, recorded, key not shown.
    std::fs::write(d.join("carbon.toml"), toml("wrong-key")).unwrap();
    let o = run(carbon(d).args([
        "fundamentals",
        "fetch",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-31",
        "--force",
    ]));
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stdout.contains("failed")
            && o.stdout.contains("API_KEY_INVALID")
            && !o.stdout.contains("wrong-key"),
        "{}",
        o.stdout
    );
    // Offline: nothing sent, recorded as unreachable.
    let before = server.hits().len();
    let o = run(carbon(d).args(["poll", "eia", "fundamentals", "--offline"]));
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stdout.contains("unreachable"), "{}", o.stdout);
    assert_eq!(server.hits().len(), before);
    // No key at all: a user error naming where to put one.
    std::fs::write(d.join("carbon.toml"), toml("")).unwrap();
    let o = run(carbon(d).env_remove("CARBON_EIA_API_KEY").args([
        "fundamentals",
        "fetch",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-02",
    ]));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("CARBON_EIA_API_KEY"), "{}", o.stderr);
}
