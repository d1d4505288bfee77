//! Fault injection: per-request draws from the configured ratios (a seeded PRNG, so a run is
//! repeatable) and a one-shot queue that gives exactly the requests a test names the faults it
//! names. While the queue holds entries, each affected request takes the next one (an entry of
//! "none" for the `after` requests before the first fault) and no ratio is drawn.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Faults;
use crate::reply;
use crate::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// An ASP.NET error page with HTTP 200.
    Html,
    /// The right JSON, cut in half.
    Truncated,
    /// One row with a column missing.
    WrongRowLength,
    /// IIS's HTTP 500 page.
    Http500,
    /// MsgCode 14, the call limit.
    Msgcode14,
    /// Sleep `hang_ms`, then answer normally.
    Hang,
    /// Forget every session before the request is authenticated.
    DropSessions,
}

impl FaultKind {
    pub fn is_malformed(self) -> bool {
        matches!(
            self,
            FaultKind::Html | FaultKind::Truncated | FaultKind::WrongRowLength
        )
    }
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Draw {
    pub latency_ms: u64,
    pub hang_ms: u64,
    pub drop_sessions: bool,
    pub fault: Option<FaultKind>,
}

#[derive(Debug)]
struct State {
    config: Faults,
    rng: Rng,
    queue: VecDeque<Option<FaultKind>>,
}

#[derive(Debug)]
pub struct Injector {
    state: Mutex<State>,
}

impl Injector {
    pub fn new(config: Faults) -> Self {
        Self {
            state: Mutex::new(State {
                rng: Rng::new(config.seed),
                config,
                queue: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn config(&self) -> Faults {
        self.lock().config.clone()
    }

    /// Replaces the ratios and reseeds the draws; the one-shot queue is kept.
    pub fn set(&self, config: Faults) {
        let mut s = self.lock();
        s.rng = Rng::new(config.seed);
        s.config = config;
    }

    /// Replaces the one-shot queue: `after` clean requests, then one per kind.
    pub fn schedule(&self, after: usize, kinds: &[FaultKind]) {
        let mut s = self.lock();
        s.queue = std::iter::repeat_n(None, after)
            .chain(kinds.iter().copied().map(Some))
            .collect();
    }

    pub fn pending(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn reset(&self, config: Faults) {
        self.set(config);
        self.lock().queue.clear();
    }

    /// Decides the faults of one request to `service`.
    pub fn draw(&self, service: &str) -> Draw {
        let mut s = self.lock();
        if !s.config.applies_to(service) {
            return Draw::default();
        }
        let mut d = Draw {
            latency_ms: s.config.latency_ms,
            hang_ms: s.config.hang_ms,
            ..Draw::default()
        };
        if let Some(slot) = s.queue.pop_front() {
            d.drop_sessions = slot == Some(FaultKind::DropSessions);
            d.fault = slot.filter(|k| *k != FaultKind::DropSessions);
            return d;
        }
        let c = s.config.clone();
        d.drop_sessions = s.rng.chance(c.drop_sessions);
        let hits = [
            s.rng.chance(c.http500),
            s.rng.chance(c.msgcode14),
            s.rng.chance(c.hang),
            s.rng.chance(c.malformed),
        ];
        let malformed = [
            FaultKind::Html,
            FaultKind::Truncated,
            FaultKind::WrongRowLength,
        ][s.rng.below(3) as usize];
        let kinds = [
            FaultKind::Http500,
            FaultKind::Msgcode14,
            FaultKind::Hang,
            malformed,
        ];
        d.fault = hits
            .iter()
            .zip(kinds)
            .find(|(hit, _)| **hit)
            .map(|(_, k)| k);
        d
    }
}

/// Corrupts a JSON answer the way the malformed fault `kind` says; returns the content type
/// and the body to send instead (still with HTTP 200).
pub fn corrupt(kind: FaultKind, body: Vec<u8>) -> (&'static str, Vec<u8>) {
    match kind {
        FaultKind::Html => (reply::HTML, reply::aspnet_error_page()),
        FaultKind::Truncated => {
            let text = String::from_utf8_lossy(&body).into_owned();
            let mut cut = (text.len() / 2).max(1).min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            (reply::JSON, text.as_bytes()[..cut].to_vec())
        }
        FaultKind::WrongRowLength => (reply::JSON, short_row(&body).unwrap_or(body)),
        _ => (reply::JSON, body),
    }
}

/// Drops the last column of the first row (an array row) or its last key (an object row).
fn short_row(body: &[u8]) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    match v.as_array_mut()?.first_mut()? {
        Value::Array(cols) => {
            cols.pop()?;
        }
        Value::Object(map) => {
            let last = map.keys().next_back()?.clone();
            map.shift_remove(&last);
        }
        _ => return None,
    }
    serde_json::to_vec(&v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_of_one_always_fire_and_zero_never() {
        let inj = Injector::new(Faults {
            http500: 1.0,
            ..Faults::default()
        });
        for _ in 0..20 {
            assert_eq!(inj.draw("ExecuteBillQuery").fault, Some(FaultKind::Http500));
            assert_eq!(inj.draw("QueryBusinessInfo"), Draw::default());
        }
        let calm = Injector::new(Faults::default());
        assert!((0..100).all(|_| calm.draw("BillQuery").fault.is_none()));
    }

    #[test]
    fn draws_repeat_for_the_same_seed() {
        let cfg = Faults {
            malformed: 0.3,
            hang: 0.2,
            ..Faults::default()
        };
        let a = Injector::new(cfg.clone());
        let b = Injector::new(cfg);
        for _ in 0..200 {
            assert_eq!(a.draw("ExecuteBillQuery"), b.draw("ExecuteBillQuery"));
        }
    }

    #[test]
    fn the_one_shot_queue_skips_then_fires_in_order() {
        let inj = Injector::new(Faults {
            http500: 1.0,
            ..Faults::default()
        });
        inj.schedule(2, &[FaultKind::Html, FaultKind::DropSessions]);
        assert_eq!(inj.draw("ExecuteBillQuery").fault, None);
        assert_eq!(inj.draw("ExecuteBillQuery").fault, None);
        assert_eq!(inj.draw("ExecuteBillQuery").fault, Some(FaultKind::Html));
        let d = inj.draw("ExecuteBillQuery");
        assert!(d.drop_sessions && d.fault.is_none());
        assert_eq!(inj.draw("ExecuteBillQuery").fault, Some(FaultKind::Http500));
    }

    #[test]
    fn corruption_breaks_the_json_in_the_promised_way() {
        let body = br#"[[1,"a"],[2,"b"]]"#.to_vec();
        let (_, short) = corrupt(FaultKind::WrongRowLength, body.clone());
        let short: Value = serde_json::from_slice(&short).expect("json");
        assert_eq!(short, serde_json::json!([[1], [2, "b"]]));
        let (_, cut) = corrupt(FaultKind::Truncated, body.clone());
        assert!(serde_json::from_slice::<Value>(&cut).is_err());
        assert!(body.starts_with(&cut));
        let (content_type, html) = corrupt(FaultKind::Html, body);
        assert_eq!(content_type, reply::HTML);
        assert!(String::from_utf8_lossy(&html).contains("<html>"));
        let objs = br#"[{"a":1,"b":2}]"#.to_vec();
        let (_, short) = corrupt(FaultKind::WrongRowLength, objs);
        let short: Value = serde_json::from_slice(&short).expect("json");
        assert_eq!(short, serde_json::json!([{"a": 1}]));
    }
}
