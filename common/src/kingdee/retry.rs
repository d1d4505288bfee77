//! How long the client waits before trying a transient failure again (MsgCode 14, HTTP 429/5xx,
//! timeouts): exponential backoff with jitter, bounded in attempts, per delay and in total.
//! A shutdown does not wait these delays out: the producer stops waiting for the page when its
//! token is cancelled and drops the request, backon's sleep included (producer/src/pass.rs).

use std::time::{Duration, Instant};

use backon::ExponentialBuilder;

use crate::settings::KingdeeSettings;

/// The retry bounds of `kingdee.retry_*`.
pub(crate) struct RetryPolicy {
    min_delay: Duration,
    max_delay: Duration,
    attempts: usize,
    max_elapsed: Duration,
}

impl RetryPolicy {
    pub(crate) fn from_settings(settings: &KingdeeSettings) -> Self {
        Self {
            min_delay: Duration::from_millis(settings.retry_min_delay_ms),
            max_delay: Duration::from_millis(
                settings.retry_max_delay_ms.max(settings.retry_min_delay_ms),
            ),
            attempts: settings.retry_attempts.max(1),
            max_elapsed: Duration::from_secs(settings.retry_max_elapsed_secs),
        }
    }

    /// `retry_attempts` counts the first try. backon's jitter adds up to 100 %: growing the base
    /// only to half the maximum keeps the full jitter range at the cap, and [`Self::delay`]
    /// makes sure no delay passes `max_delay`.
    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::new()
            .with_min_delay(self.min_delay)
            .with_max_delay((self.max_delay / 2).max(self.min_delay))
            .with_max_times(self.attempts - 1)
            .with_jitter()
    }

    /// The delay to use instead of backon's `proposed` one, or `None` to stop because the wait
    /// would end past `retry_max_elapsed_secs` since `started`.
    pub(crate) fn delay(&self, started: Instant, proposed: Option<Duration>) -> Option<Duration> {
        let delay = proposed?.min(self.max_delay);
        (started.elapsed() + delay <= self.max_elapsed).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use backon::BackoffBuilder;

    use super::*;

    fn policy(attempts: usize, min_ms: u64, max_ms: u64, total_secs: u64) -> RetryPolicy {
        RetryPolicy {
            min_delay: Duration::from_millis(min_ms),
            max_delay: Duration::from_millis(max_ms),
            attempts,
            max_elapsed: Duration::from_secs(total_secs),
        }
    }

    #[test]
    fn delays_grow_from_the_minimum_never_pass_the_maximum_and_stop_after_the_attempts() {
        let policy = policy(8, 200, 1000, 300);
        let started = Instant::now();
        let delays: Vec<Duration> = policy
            .backoff()
            .build()
            .map_while(|d| policy.delay(started, Some(d)))
            .collect();
        assert_eq!(delays.len(), 7, "retry_attempts counts the first try");
        assert!(delays[0] >= Duration::from_millis(200), "{delays:?}");
        assert!(
            delays.iter().all(|d| *d <= Duration::from_millis(1000)),
            "{delays:?}"
        );
        assert!(delays[6] >= Duration::from_millis(500), "{delays:?}");
    }

    #[test]
    fn one_attempt_means_no_retry() {
        assert_eq!(policy(1, 10, 10, 10).backoff().build().count(), 0);
    }

    #[test]
    fn a_delay_ending_past_the_total_time_stops_the_retries() {
        let policy = policy(10, 100, 5000, 2);
        let started = Instant::now();
        assert_eq!(
            policy.delay(started, Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1))
        );
        assert_eq!(policy.delay(started, Some(Duration::from_secs(3))), None);
        assert_eq!(policy.delay(started, None), None);
    }
}
