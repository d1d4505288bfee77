//! The slow-server model of ExecuteBillQuery and BillQuery ([`Latency`]): a worker pool of
//! `max_concurrent_queries` slots taken in arrival order, each query holding its slot while it
//! runs and for `query_latency_ms + rows × row_latency_us` after. Off by default.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Latency;

/// The pool of query slots and the time each query spends in its slot.
#[derive(Debug)]
pub struct Throttle {
    latency: Latency,
    /// `None`: no cap. Tokio's semaphore is fair, so waiting queries get slots in FIFO order.
    slots: Option<Arc<Semaphore>>,
}

/// A query's place in the pool; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Throttle {
    pub fn new(latency: Latency) -> Self {
        let slots = (latency.max_concurrent_queries > 0)
            .then(|| Arc::new(Semaphore::new(latency.max_concurrent_queries)));
        Self { latency, slots }
    }

    pub fn latency(&self) -> Latency {
        self.latency
    }

    /// Waits for a free slot (at once without a cap).
    pub async fn admit(&self) -> Slot {
        match &self.slots {
            // The semaphore is never closed, so acquiring cannot fail.
            Some(s) => Slot {
                _permit: Arc::clone(s).acquire_owned().await.ok(),
            },
            None => Slot { _permit: None },
        }
    }

    /// How long a query that returned `rows` rows keeps its slot after running.
    pub fn cost(&self, rows: usize) -> Duration {
        Duration::from_millis(self.latency.query_latency_ms)
            + Duration::from_micros(self.latency.row_latency_us.saturating_mul(rows as u64))
    }

    /// How many queries hold a slot now (for tests and logs); 0 without a cap.
    pub fn busy(&self) -> usize {
        self.slots.as_ref().map_or(0, |s| {
            self.latency.max_concurrent_queries - s.available_permits()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use super::*;

    fn throttle(query_latency_ms: u64, row_latency_us: u64, cap: usize) -> Arc<Throttle> {
        Arc::new(Throttle::new(Latency {
            query_latency_ms,
            row_latency_us,
            max_concurrent_queries: cap,
        }))
    }

    #[test]
    fn the_cost_is_the_fixed_part_plus_the_rows_part() {
        let t = throttle(300, 200, 8);
        assert_eq!(t.cost(0), Duration::from_millis(300));
        assert_eq!(t.cost(5000), Duration::from_millis(1300));
        assert_eq!(throttle(0, 0, 0).cost(10_000), Duration::ZERO);
    }

    #[tokio::test]
    async fn four_queries_with_a_cap_of_two_run_two_at_a_time() {
        let t = throttle(100, 0, 2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (t, running, most) = (Arc::clone(&t), Arc::clone(&running), Arc::clone(&most));
                tokio::spawn(async move {
                    let _slot = t.admit().await;
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(t.cost(0)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(t.busy(), 0);
    }

    #[tokio::test]
    async fn waiting_queries_get_slots_in_arrival_order() {
        let t = throttle(0, 0, 1);
        let first = t.admit().await;
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let arrived = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..5 {
            let (t, order, here) = (Arc::clone(&t), Arc::clone(&order), Arc::clone(&arrived));
            tasks.push(tokio::spawn(async move {
                here.fetch_add(1, Ordering::SeqCst);
                // The first poll of admit() joins the queue, in the same poll as the count.
                let _slot = t.admit().await;
                order.lock().expect("lock").push(i);
            }));
            let deadline = Instant::now() + Duration::from_secs(5);
            while arrived.load(Ordering::SeqCst) <= i {
                assert!(Instant::now() < deadline, "task {i} never ran");
                tokio::task::yield_now().await;
            }
        }
        drop(first);
        for task in tasks {
            task.await.expect("task");
        }
        assert_eq!(*order.lock().expect("lock"), [0, 1, 2, 3, 4]);
    }
}
