//! What the mock saw: outcome counters per service and a bounded log of recent requests, so
//! tests can check which pages were asked for, how fast, and how each request ended.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::Serialize;
use serde_json::{Value, json};

/// How many requests the log keeps.
pub const LOG_CAPACITY: usize = 200_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    AuthFailed,
    Http500,
    Msgcode14,
    Malformed,
    Hang,
    /// A business error (MsgCode 4/8/9, unknown service).
    Error,
}

const OUTCOMES: [(Outcome, &str); 7] = [
    (Outcome::Ok, "ok"),
    (Outcome::AuthFailed, "auth_failed"),
    (Outcome::Http500, "http500"),
    (Outcome::Msgcode14, "msgcode14"),
    (Outcome::Malformed, "malformed"),
    (Outcome::Hang, "hang"),
    (Outcome::Error, "error"),
];

/// One request as `/_mock/requests` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// Milliseconds since the Unix epoch when the request arrived.
    pub at_ms: i64,
    pub service: String,
    pub outcome: Outcome,
    /// `session`, `signature`, `login` or `none`.
    pub auth: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_row: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_row_count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
}

impl RequestRecord {
    pub fn new(at_ms: i64, service: &str) -> Self {
        Self {
            at_ms,
            service: service.to_owned(),
            outcome: Outcome::Ok,
            auth: "none",
            rows: None,
            start_row: None,
            limit: None,
            top_row_count: None,
            filter: None,
            order: None,
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    counts: BTreeMap<String, [u64; 7]>,
    total: u64,
    log: VecDeque<RequestRecord>,
}

#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

impl Stats {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn record(&self, r: RequestRecord) {
        let mut s = self.lock();
        let slot = OUTCOMES
            .iter()
            .position(|(o, _)| *o == r.outcome)
            .unwrap_or(0);
        s.counts.entry(r.service.clone()).or_default()[slot] += 1;
        s.total += 1;
        if s.log.len() == LOG_CAPACITY {
            s.log.pop_front();
        }
        s.log.push_back(r);
    }

    /// `{"services":{name:{outcome:n}}, "total":n}`; the caller adds session counts.
    pub fn summary(&self) -> Value {
        let s = self.lock();
        let services: serde_json::Map<String, Value> = s
            .counts
            .iter()
            .map(|(name, c)| {
                let per: serde_json::Map<String, Value> = OUTCOMES
                    .iter()
                    .zip(c)
                    .map(|((_, key), n)| ((*key).to_owned(), json!(n)))
                    .collect();
                (name.clone(), Value::Object(per))
            })
            .collect();
        json!({"services": services, "total": s.total})
    }

    /// The logged requests, oldest first; `last` keeps only the newest ones.
    pub fn requests(&self, service: Option<&str>, last: Option<usize>) -> Vec<RequestRecord> {
        let s = self.lock();
        let matching: Vec<&RequestRecord> = s
            .log
            .iter()
            .filter(|r| service.is_none_or(|name| r.service.eq_ignore_ascii_case(name)))
            .collect();
        let skip = last.map_or(0, |n| matching.len().saturating_sub(n));
        matching.into_iter().skip(skip).cloned().collect()
    }

    pub fn reset(&self) {
        *self.lock() = Inner::default();
    }
}

/// A request's record, written to the stats when the request ends, also when the client gave
/// up and the handler was dropped mid-way (a hanging request still counts as `hang`).
pub struct Recorded<'a> {
    stats: &'a Stats,
    record: Option<RequestRecord>,
}

impl<'a> Recorded<'a> {
    pub fn new(stats: &'a Stats, record: RequestRecord) -> Self {
        Self {
            stats,
            record: Some(record),
        }
    }
}

impl std::ops::Deref for Recorded<'_> {
    type Target = RequestRecord;
    fn deref(&self) -> &RequestRecord {
        self.record
            .as_ref()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl std::ops::DerefMut for Recorded<'_> {
    fn deref_mut(&mut self) -> &mut RequestRecord {
        self.record
            .as_mut()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl Drop for Recorded<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.record.take() {
            self.stats.record(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_log_follow_each_record() {
        let stats = Stats::default();
        for outcome in [Outcome::Ok, Outcome::Ok, Outcome::AuthFailed] {
            let mut r = RequestRecord::new(1, "ExecuteBillQuery");
            r.outcome = outcome;
            stats.record(r);
        }
        stats.record(RequestRecord::new(2, "BillQuery"));
        let s = stats.summary();
        assert_eq!(s["total"], 4);
        assert_eq!(s["services"]["ExecuteBillQuery"]["ok"], 2);
        assert_eq!(s["services"]["ExecuteBillQuery"]["auth_failed"], 1);
        assert_eq!(s["services"]["BillQuery"]["ok"], 1);
        assert_eq!(stats.requests(Some("billquery"), None).len(), 1);
        assert_eq!(stats.requests(None, Some(2)).len(), 2);
        assert_eq!(stats.requests(None, Some(2))[1].service, "BillQuery");
        stats.reset();
        assert_eq!(stats.summary()["total"], 0);
    }
}
