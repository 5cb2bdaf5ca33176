//! Rate limits: GCRA (the generic cell rate algorithm) per caller and class.
//!
//! Each (key, class) keeps one instant, the theoretical arrival time (TAT).
//! With emission interval `T = 1/rate` and burst `B`, a request at `t` is
//! allowed when `max(TAT, t) − t ≤ (B − 1)·T`, and then moves TAT on by `T`.
//! That is a token bucket of `B` tokens refilled at `rate`, in one number.
//! Keys are API key ids, usernames or OIDC subjects; unauthenticated requests
//! (login) are keyed by client address.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Which limit a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Everything not below.
    General,
    /// Price queries and stream connections.
    Data,
    /// File exports.
    Exports,
}

impl Class {
    /// Name in headers and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::General => "general",
            Class::Data => "data",
            Class::Exports => "exports",
        }
    }
}

pub use carbon_service::settings::RateLimits;

/// The rate of class `c` under `limits`.
fn rate(limits: &RateLimits, c: Class) -> f64 {
    match c {
        Class::General => limits.general,
        Class::Data => limits.data,
        Class::Exports => limits.exports,
    }
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Allowed?
    pub allowed: bool,
    /// The limit (requests per second, also the burst).
    pub limit: u64,
    /// Requests left in the current burst.
    pub remaining: u64,
    /// Seconds until the burst is full again (allowed) or until a request
    /// would be allowed (refused), rounded up.
    pub reset_seconds: u64,
}

/// The limiter: in memory, per process.
pub struct Limiter {
    limits: RateLimits,
    tat: Mutex<HashMap<(String, Class), Instant>>,
}

impl Limiter {
    /// A limiter with these limits.
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            tat: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `key` in `class` at `now`.
    pub fn check(&self, key: &str, class: Class, now: Instant) -> Verdict {
        let rate = rate(&self.limits, class).max(0.001);
        let burst = rate.ceil().max(1.0);
        let t = Duration::from_secs_f64(1.0 / rate);
        let tau = t.mul_f64(burst - 1.0);
        let mut map = self.tat.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Forget callers whose buckets are full again: they are
            // indistinguishable from new ones.
            map.retain(|_, tat| *tat > now);
        }
        let slot = map.entry((key.to_string(), class)).or_insert(now);
        let tat = (*slot).max(now);
        let ceil_secs = |d: Duration| d.as_secs() + u64::from(d.subsec_nanos() > 0);
        if tat - now > tau {
            let wait = (tat - now) - tau;
            return Verdict {
                allowed: false,
                limit: burst as u64,
                remaining: 0,
                reset_seconds: ceil_secs(wait).max(1),
            };
        }
        let new_tat = tat + t;
        *slot = new_tat;
        let used = (new_tat - now).as_secs_f64() / t.as_secs_f64();
        Verdict {
            allowed: true,
            limit: burst as u64,
            remaining: (burst - used.ceil()).max(0.0) as u64,
            reset_seconds: ceil_secs(new_tat - now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_then_recovers() {
        let l = Limiter::new(RateLimits {
            general: 10.0,
            data: 5.0,
            exports: 1.0,
        });
        let t0 = Instant::now();
        let allowed = (0..20)
            .filter(|_| l.check("k", Class::Data, t0).allowed)
            .count();
        assert_eq!(allowed, 5);
        let refused = l.check("k", Class::Data, t0);
        assert!(!refused.allowed);
        assert_eq!(refused.reset_seconds, 1);
        // Another caller and another class are unaffected.
        assert!(l.check("other", Class::Data, t0).allowed);
        assert!(l.check("k", Class::General, t0).allowed);
        // After 1/rate one more is allowed, and after a second the burst is back.
        assert!(
            l.check("k", Class::Data, t0 + Duration::from_millis(201))
                .allowed
        );
        let later = t0 + Duration::from_secs(2);
        let n = (0..20)
            .filter(|_| l.check("k", Class::Data, later).allowed)
            .count();
        assert_eq!(n, 5);
    }

    #[test]
    fn exports_allow_one_per_second() {
        let l = Limiter::new(RateLimits::default());
        let t0 = Instant::now();
        assert!(l.check("k", Class::Exports, t0).allowed);
        let v = l.check("k", Class::Exports, t0 + Duration::from_millis(500));
        assert!(!v.allowed);
        assert_eq!(v.reset_seconds, 1);
        assert!(
            l.check("k", Class::Exports, t0 + Duration::from_millis(1000))
                .allowed
        );
    }
}
