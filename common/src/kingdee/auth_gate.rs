//! Authentication refusals pause the client's calls across passes, so that a wrong secret or
//! password never hammers Kingdee (a site with a lockout policy would lock the integration user
//! out): after the n-th refusal in a row no call goes out for `min_pause × 2^(n-1)` (at most
//! `max_pause`), and never more than `attempts_per_hour` refused calls in any hour.
//! A call is one page request: at most two requests in signature mode (one fresh retry), one
//! `ValidateUser` login in password mode.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::error::KingdeeError;
use crate::telemetry::series;

pub use crate::settings::AuthBackoffSettings;

const HOUR: Duration = Duration::from_secs(3600);

/// Why a call was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paused {
    /// Time left before the next call may go out.
    pub left: Duration,
    /// Refusals in a row so far.
    pub refusals: u32,
}

/// What a refusal did to the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub pause: Duration,
    pub refusals: u32,
    pub last_hour: usize,
}

/// Shared by every clone of one client (and kept across reconnects by the producer).
#[derive(Debug, Default)]
pub struct AuthGate {
    settings: AuthBackoffSettings,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// When each refused call of the last hour ended, oldest first.
    refused_at: VecDeque<Instant>,
    in_a_row: u32,
    paused_until: Option<Instant>,
}

impl AuthGate {
    pub fn new(settings: &AuthBackoffSettings) -> Self {
        Self {
            settings: settings.clone(),
            state: Mutex::default(),
        }
    }

    /// `Ok` when a call may go out at `now`.
    pub fn admit(&self, now: Instant) -> Result<(), Paused> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.paused_until {
            Some(until) if until > now => Err(Paused {
                left: until - now,
                refusals: state.in_a_row,
            }),
            _ => Ok(()),
        }
    }

    /// A call at `now` was refused: the pause grows, and the hourly bound may lengthen it.
    pub fn refused(&self, now: Instant) -> Pause {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while state
            .refused_at
            .front()
            .is_some_and(|at| now.duration_since(*at) >= HOUR)
        {
            state.refused_at.pop_front();
        }
        state.refused_at.push_back(now);
        state.in_a_row = state.in_a_row.saturating_add(1);
        let doublings = state.in_a_row.saturating_sub(1).min(30);
        let grown = Duration::from_secs(self.settings.min_pause_secs)
            .saturating_mul(1 << doublings)
            .min(Duration::from_secs(self.settings.max_pause_secs));
        let mut until = now + grown;
        let cap = self.settings.attempts_per_hour.max(1) as usize;
        if state.refused_at.len() >= cap {
            // The call after this one would be one too many in the hour of the oldest one kept.
            let oldest = state.refused_at[state.refused_at.len() - cap];
            until = until.max(oldest + HOUR);
        }
        state.paused_until = Some(until);
        Pause {
            pause: until - now,
            refusals: state.in_a_row,
            last_hour: state.refused_at.len(),
        }
    }

    /// A call authenticated: no pause any more. True when there was one to lift.
    pub fn authenticated(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let was = state.in_a_row > 0;
        state.in_a_row = 0;
        state.paused_until = None;
        was
    }

    /// The gate as the client asks it before a call: counted and typed when closed.
    pub(crate) fn admit_call(&self) -> Result<(), KingdeeError> {
        self.admit(Instant::now()).map_err(|paused| {
            metrics::counter!(series::KINGDEE_AUTH_HELD).increment(1);
            KingdeeError::AuthPaused {
                // Rounded up: "paused for 0 s" would read as not paused.
                left_secs: paused.left.as_secs() + u64::from(paused.left.subsec_nanos() > 0),
                refusals: paused.refusals,
            }
        })
    }

    /// Learns from a call's result: a refusal pauses (logged, with the pause as a gauge), an
    /// answer lifts the pause. Other errors say nothing about who we are.
    pub(crate) fn observe<T>(&self, result: &Result<T, KingdeeError>) {
        match result {
            Ok(_) => {
                if self.authenticated() {
                    tracing::info!("Kingdee accepted authentication again, calls resume");
                }
                metrics::gauge!(series::KINGDEE_AUTH_BACKOFF).set(0.0);
            }
            Err(error) if error.is_refusal() => {
                let pause = self.refused(Instant::now());
                metrics::gauge!(series::KINGDEE_AUTH_BACKOFF).set(pause.pause.as_secs_f64());
                tracing::warn!(
                    pause_secs = pause.pause.as_secs(),
                    refusals_in_a_row = pause.refusals,
                    refusals_last_hour = pause.last_hour,
                    attempts_per_hour = self.settings.attempts_per_hour,
                    error = %error,
                    "Kingdee refused authentication, pausing calls"
                );
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(min: u64, max: u64, per_hour: u32) -> AuthGate {
        AuthGate::new(&AuthBackoffSettings {
            min_pause_secs: min,
            max_pause_secs: max,
            attempts_per_hour: per_hour,
        })
    }

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn the_pause_doubles_with_each_refusal_up_to_the_longest() {
        let gate = gate(60, 300, 100);
        let t0 = Instant::now();
        assert_eq!(gate.admit(t0), Ok(()));
        let pauses: Vec<u64> = (0..5)
            .map(|i| gate.refused(t0 + i * 1000 * S).pause.as_secs())
            .collect();
        assert_eq!(pauses, [60, 120, 240, 300, 300]);
        let last = t0 + 4000 * S;
        assert_eq!(
            gate.admit(last + 299 * S),
            Err(Paused {
                left: S,
                refusals: 5
            })
        );
        assert_eq!(gate.admit(last + 300 * S), Ok(()));
    }

    #[test]
    fn no_more_than_the_hourly_bound_of_refused_calls_in_any_hour() {
        let gate = gate(1, 1, 3);
        let t0 = Instant::now();
        // Calls as often as the gate lets them out, for three hours.
        let mut now = t0;
        let mut calls = Vec::new();
        while now < t0 + 3 * HOUR {
            match gate.admit(now) {
                Ok(()) => {
                    calls.push(now);
                    gate.refused(now);
                }
                Err(paused) => now += paused.left,
            }
        }
        for (i, at) in calls.iter().enumerate() {
            let in_hour = calls[i..].iter().filter(|c| **c < *at + HOUR).count();
            assert!(in_hour <= 3, "{in_hour} calls in the hour from call {i}");
        }
        assert_eq!(calls.len(), 9, "three an hour, not fewer");
        assert_eq!(calls[3] - calls[0], HOUR);
    }

    #[test]
    fn an_authenticated_call_lifts_the_pause_and_starts_the_doubling_over() {
        let gate = gate(10, 3600, 100);
        let t0 = Instant::now();
        gate.refused(t0);
        gate.refused(t0);
        assert!(gate.admit(t0 + 5 * S).is_err());
        assert!(gate.authenticated());
        assert!(!gate.authenticated(), "nothing left to lift");
        assert_eq!(gate.admit(t0 + 5 * S), Ok(()));
        assert_eq!(gate.refused(t0 + 6 * S).pause, 10 * S);
    }
}
