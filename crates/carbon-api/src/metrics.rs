//! Prometheus metrics, kept in atomics and rendered in the text exposition
//! format at `/metrics`: HTTP requests by route and status, a latency histogram
//! by route, the security dashboard's counters (authentication failures by
//! reason, entitlement denials by tenant and channel, rate-limit rejections by
//! class, key and session events), and at scrape time the store's and the
//! ingesters' state.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// Upper bounds of the latency histogram, seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// The registry of HTTP metrics.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, std::sync::Arc<Histogram>>>,
    auth_failures: Mutex<BTreeMap<&'static str, u64>>,
    denials: Mutex<BTreeMap<(String, &'static str), u64>>,
    rate_limited: Mutex<BTreeMap<&'static str, u64>>,
    events: Mutex<BTreeMap<&'static str, u64>>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    if let Ok(mut m) = map.lock() {
        *m.entry(key).or_default() += 1;
    }
}

/// Renders one labelled counter family.
fn family<K>(
    out: &mut String,
    name: &str,
    help: &str,
    map: &Mutex<BTreeMap<K, u64>>,
    labels: impl Fn(&K) -> String,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    if let Ok(m) = map.lock() {
        for (k, n) in m.iter() {
            let _ = writeln!(out, "{name}{{{}}} {n}", labels(k));
        }
    }
}

impl Metrics {
    /// Records one request.
    pub fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        let h = match self.latency.lock() {
            Ok(mut l) => l.entry(route.to_string()).or_default().clone(),
            Err(_) => return,
        };
        let secs = took.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        h.count.fetch_add(1, Ordering::Relaxed);
        h.sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// A request whose credentials failed (`missing`, `api_key`, `token`,
    /// `session`, `session_as_bearer`, `csrf`, `foreign_origin`, `password`).
    pub fn auth_failure(&self, reason: &'static str) {
        bump(&self.auth_failures, reason);
    }

    /// An entitlement denial of `tenant` on `channel`.
    pub fn denial(&self, tenant: &str, channel: &'static str) {
        bump(&self.denials, (tenant.to_string(), channel));
    }

    /// A request refused by the rate limiter, by class.
    pub fn rate_limited(&self, class: &'static str) {
        bump(&self.rate_limited, class);
    }

    /// A key or session event (`login`, `logout`, `key_created`, `key_revoked`).
    pub fn event(&self, event: &'static str) {
        bump(&self.events, event);
    }

    /// The security counters of the exposition.
    pub fn render_security(&self, out: &mut String) {
        family(
            out,
            "carbon_auth_failures_total",
            "Requests whose credentials were refused, by reason.",
            &self.auth_failures,
            |r| format!("reason=\"{r}\""),
        );
        family(
            out,
            "carbon_entitlement_denials_total",
            "Requests the entitlement policy denied, by tenant and channel.",
            &self.denials,
            |(t, c)| format!("tenant=\"{}\",channel=\"{c}\"", label(t)),
        );
        family(
            out,
            "carbon_rate_limited_total",
            "Requests refused by the rate limiter (429), by class.",
            &self.rate_limited,
            |c| format!("class=\"{c}\""),
        );
        family(
            out,
            "carbon_security_events_total",
            "Sign-ins, sign-outs and API keys made or revoked through the API.",
            &self.events,
            |e| format!("event=\"{e}\""),
        );
    }

    /// The HTTP part of the exposition.
    pub fn render(&self, out: &mut String) {
        out.push_str(
            "# HELP carbon_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE carbon_http_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((m, route, status), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "carbon_http_requests_total{{method=\"{m}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP carbon_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE carbon_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for (route, h) in l.iter() {
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "carbon_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                        h.counts[i].load(Ordering::Relaxed)
                    );
                }
                let n = h.count.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "carbon_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {n}"
                );
                let _ = writeln!(
                    out,
                    "carbon_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
                );
                let _ = writeln!(
                    out,
                    "carbon_http_request_duration_seconds_count{{route=\"{route}\"}} {n}"
                );
            }
        }
    }
}

/// Escapes a label value.
pub fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
