//! The one backoff of k3sync's own loops (reconnecting to the broker, waiting for MySQL to come
//! back, retrying a write or an `error_log` insert): exponential, capped, with jitter, so that N
//! workers that lost the same broker do not all come back in the same millisecond.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

/// Delays from `min` doubling up to `max`, jittered; `times` bounds how many (None: unbounded).
pub fn exponential(min: Duration, max: Duration, times: Option<usize>) -> ExponentialBuilder {
    let builder = ExponentialBuilder::default()
        .with_min_delay(min)
        .with_max_delay(max)
        .with_jitter();
    match times {
        Some(times) => builder.with_max_times(times),
        None => builder.without_max_times(),
    }
}

/// A loop's backoff: [`Backoff::next_delay`] gives the next pause, [`Backoff::reset`] starts again
/// from the shortest after a success (an outage does not inherit the last one's long delay).
pub struct Backoff {
    builder: ExponentialBuilder,
    delays: ExponentialBackoff,
    max: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        let builder = exponential(min, max, None);
        Self {
            delays: builder.build(),
            builder,
            max,
        }
    }

    pub fn next_delay(&mut self) -> Duration {
        self.delays.next().unwrap_or(self.max)
    }

    pub fn reset(&mut self) {
        self.delays = self.builder.build();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_with_jitter_and_start_again_after_a_reset() {
        let (min, max) = (Duration::from_millis(500), Duration::from_secs(30));
        let mut backoff = Backoff::new(min, max);
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay()).collect();
        // Jitter adds up to one more delay: each is in [d, 2d] of the un-jittered one.
        assert!(delays[0] >= min && delays[0] <= 2 * min, "{delays:?}");
        assert!(delays[11] >= max, "{delays:?}");
        assert!(delays.iter().all(|d| *d <= 2 * max), "{delays:?}");
        backoff.reset();
        assert!(backoff.next_delay() <= 2 * min);
    }
}
