//! Stamps: when the producer read a state from Kingdee, in µs, strictly increasing per job.
//! Every page is stamped just before its request is sent, and its messages carry the stamp; a
//! converging job's stale-write guard keeps the event with the higher stamp. Reads of one job
//! are serialised by its lock, so a later stamp means a later read, and a later read a state
//! at least as new — whatever the rows' own dates say (un-audit clears a date, late commits
//! carry old ones).
//!
//! The clock is MySQL's, read once per pass, plus this process's monotonic time since: every
//! producer host shares it, so a pass on another host does not stamp behind the last one.

use std::sync::Mutex;
use std::time::Instant;

use sqlx::MySqlPool;

pub struct Stamps {
    base_us: i64,
    started: Instant,
    last: Mutex<i64>,
}

impl Stamps {
    /// Reads the database's clock.
    pub async fn start(pool: &MySqlPool) -> Result<Self, sqlx::Error> {
        let base_us: i64 =
            sqlx::query_scalar("SELECT CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)")
                .fetch_one(pool)
                .await?;
        Ok(Self::from_base(base_us))
    }

    fn from_base(base_us: i64) -> Self {
        Self {
            base_us,
            started: Instant::now(),
            last: Mutex::new(0),
        }
    }

    /// The next stamp: now, and always above the one before.
    pub fn next(&self) -> i64 {
        let now = self.base_us + self.started.elapsed().as_micros() as i64;
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        *last = now.max(*last + 1);
        *last
    }
}

#[cfg(test)]
mod tests {
    use super::Stamps;

    #[test]
    fn stamps_start_at_the_database_clock_and_always_increase() {
        let stamps = Stamps::from_base(1_700_000_000_000_000);
        let taken: Vec<i64> = (0..1000).map(|_| stamps.next()).collect();
        assert!(taken[0] >= 1_700_000_000_000_000);
        assert!(taken.windows(2).all(|w| w[1] > w[0]));
    }
}
