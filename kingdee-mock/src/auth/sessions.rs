//! The session table: `kdservice-sessionid` values the mock handed out, by signature or login.
//! Sessions do not expire with time; past [`MAX_SESSIONS`] the oldest are forgotten (as a real
//! server's idle sessions would be), and `/_mock/faults` can drop them all (`drop_sessions`).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use uuid::Uuid;

/// Most sessions held at once; a client that never sends its cookie back opens one per request.
pub const MAX_SESSIONS: usize = 100_000;

/// A session just opened: the id sent as `kdservice-sessionid` and the ASP.NET cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub sid: String,
    pub asp_id: String,
}

#[derive(Debug, Default)]
struct Table {
    live: HashSet<String>,
    /// The same ids, oldest first.
    order: VecDeque<String>,
}

#[derive(Debug, Default)]
pub struct Sessions {
    table: Mutex<Table>,
    created: AtomicU64,
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn open(&self) -> NewSession {
        let sid = Uuid::new_v4().to_string();
        {
            let mut t = self.lock();
            while t.order.len() >= MAX_SESSIONS {
                if let Some(old) = t.order.pop_front() {
                    t.live.remove(&old);
                }
            }
            t.order.push_back(sid.clone());
            t.live.insert(sid.clone());
        }
        self.created.fetch_add(1, Ordering::Relaxed);
        NewSession {
            sid,
            asp_id: asp_net_id(),
        }
    }

    pub fn contains(&self, sid: &str) -> bool {
        self.lock().live.contains(sid)
    }

    /// Forgets every session (the `drop_sessions` fault).
    pub fn drop_all(&self) {
        *self.lock() = Table::default();
    }

    /// Forgets every session and zeroes the counter (`/_mock/reset`).
    pub fn reset(&self) {
        self.drop_all();
        self.created.store(0, Ordering::Relaxed);
    }

    pub fn created(&self) -> u64 {
        self.created.load(Ordering::Relaxed)
    }

    pub fn live(&self) -> usize {
        self.lock().live.len()
    }
}

/// 24 characters of `[a-z0-5]`, the shape of a real `ASP.NET_SessionId`.
fn asp_net_id() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz012345";
    let bits = u128::from_be_bytes(*Uuid::new_v4().as_bytes());
    (0..24)
        .map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_count_and_drop() {
        let s = Sessions::default();
        let a = s.open();
        let b = s.open();
        assert_ne!(a.sid, b.sid);
        assert_eq!(a.asp_id.len(), 24);
        assert!(s.contains(&a.sid));
        s.drop_all();
        assert!(!s.contains(&a.sid));
        assert_eq!(s.created(), 2);
        s.reset();
        assert_eq!(s.created(), 0);
    }

    #[test]
    fn the_oldest_sessions_go_first_past_the_cap() {
        let s = Sessions::default();
        let first = s.open();
        for _ in 0..MAX_SESSIONS {
            s.open();
        }
        assert!(!s.contains(&first.sid));
        assert_eq!(s.live(), MAX_SESSIONS);
    }
}
