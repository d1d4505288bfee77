//! Runs a churn: a task that applies the planner's operations at the plan's rate (in batches
//! under one write lock, on a blocking thread, so readers wait at most one batch), keeps the
//! status and an in-memory log, and stops when the plan is done, when `DELETE /_mock/churn`
//! asks, or when the server stops.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::{ChurnPlan, Planner};
use crate::dates::{now_ms, unix_ms};
use crate::lifecycle::Change;
use crate::server::App;

/// Operations applied under one write lock at most.
const BATCH: u64 = 256;
/// Log entries kept; older ones are dropped first.
const LOG_CAP: usize = 1_000_000;
/// Batches in a row that applied nothing before the churn gives up.
const STUCK_BATCHES: u32 = 50;

/// One logged operation.
#[derive(Debug, Clone)]
struct Entry {
    seq: u64,
    at_ms: i64,
    change: Change,
}

#[derive(Debug, Default)]
struct State {
    plan: Option<ChurnPlan>,
    running: bool,
    done: u64,
    refused: u64,
    in_flight: usize,
    started_at_ms: Option<i64>,
    finished_at_ms: Option<i64>,
    end: Option<&'static str>,
    log: VecDeque<Entry>,
    /// Which start the running task belongs to; a stale task writes nothing.
    generation: u64,
    run: Option<(watch::Sender<bool>, JoinHandle<()>)>,
}

/// The churn's controls, status and log; one per server.
#[derive(Debug, Default)]
pub struct Driver {
    state: Mutex<State>,
}

impl Driver {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops any churn, clears the log, and starts `plan`.
    pub async fn start(app: &Arc<App>, plan: ChurnPlan) {
        Self::stop(app).await;
        let (cancel, cancelled) = watch::channel(false);
        let mut s = app.churn.lock();
        s.generation += 1;
        let generation = s.generation;
        let task = tokio::spawn(run(Arc::clone(app), plan.clone(), generation, cancelled));
        *s = State {
            plan: Some(plan),
            running: true,
            started_at_ms: Some(unix_ms()),
            generation,
            run: Some((cancel, task)),
            ..State::default()
        };
    }

    /// Stops a running churn and waits (at most 10 s) until it has applied its last operation.
    pub async fn stop(app: &Arc<App>) {
        let run = app.churn.lock().run.take();
        if let Some((cancel, task)) = run {
            cancel.send_replace(true);
            if tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .is_err()
            {
                warn!("The churn did not stop within 10 s");
            }
        }
    }

    /// Forgets the status and the log (after [`Driver::stop`]).
    pub fn clear(&self) {
        let mut s = self.lock();
        let generation = s.generation + 1;
        *s = State {
            generation,
            ..State::default()
        };
    }

    pub fn status(&self) -> Value {
        let s = self.lock();
        json!({
            "running": s.running,
            "plan": s.plan,
            "done": s.done,
            "refused": s.refused,
            "in_flight": s.in_flight,
            "started_at_ms": s.started_at_ms,
            "finished_at_ms": s.finished_at_ms,
            "end": s.end,
            "logged": s.log.len(),
        })
    }

    /// Log entries with `seq` above `since`, at most the last `last` of them.
    pub fn log(&self, since: u64, last: Option<usize>) -> Value {
        let s = self.lock();
        let from = s.log.partition_point(|e| e.seq <= since);
        let from = last.map_or(from, |n| from.max(s.log.len().saturating_sub(n)));
        let entries: Vec<Value> = s
            .log
            .range(from..)
            .map(|e| {
                let mut v = e.change.to_json();
                v["seq"] = json!(e.seq);
                v["at_ms"] = json!(e.at_ms);
                v
            })
            .collect();
        Value::Array(entries)
    }

    fn record(&self, generation: u64, changes: Vec<(i64, Change)>, planner: &Planner) {
        let mut s = self.lock();
        if s.generation != generation {
            return;
        }
        for (at_ms, change) in changes {
            s.done += 1;
            let seq = s.done;
            if s.log.len() == LOG_CAP {
                s.log.pop_front();
            }
            s.log.push_back(Entry { seq, at_ms, change });
        }
        s.refused = planner.refused;
        s.in_flight = planner.in_flight();
    }

    fn finish(&self, generation: u64, end: &'static str) {
        let mut s = self.lock();
        if s.generation == generation {
            s.running = false;
            s.end = Some(end);
            s.finished_at_ms = Some(unix_ms());
        }
    }
}

async fn run(app: Arc<App>, plan: ChurnPlan, generation: u64, mut cancel: watch::Receiver<bool>) {
    info!(
        ops = plan.ops,
        rate = plan.rate_per_sec,
        seed = plan.seed,
        "Churn started"
    );
    let planner = Arc::new(Mutex::new(Planner::new(plan.seed, &plan.mix)));
    let started = Instant::now();
    let (mut done, mut idle) = (0u64, 0u32);
    let end = loop {
        // A dropped sender is a stop too: a newer start replaced this run.
        if *cancel.borrow() || cancel.has_changed().is_err() || app.stopping() {
            break "stopped";
        }
        let left = if plan.ops > 0 {
            plan.ops - done
        } else {
            u64::MAX
        };
        if left == 0 {
            break "completed";
        }
        let due = if plan.rate_per_sec > 0.0 {
            let by_now = (started.elapsed().as_secs_f64() * plan.rate_per_sec) as u64 + 1;
            by_now.saturating_sub(done)
        } else {
            BATCH
        };
        let n = due.min(left).min(BATCH);
        if n > 0 {
            let (app2, planner2) = (Arc::clone(&app), Arc::clone(&planner));
            let batch = tokio::task::spawn_blocking(move || {
                let living = app2.living();
                let mut planner = planner2.lock().unwrap_or_else(PoisonError::into_inner);
                let mut store = app2.write_store();
                let changes: Vec<(i64, Change)> = (0..n)
                    .filter_map(|_| planner.step(&mut store, &living, now_ms()))
                    .map(|c| (unix_ms(), c))
                    .collect();
                drop(store);
                let applied = changes.len() as u64;
                app2.churn.record(generation, changes, &planner);
                applied
            })
            .await;
            let Ok(applied) = batch else { break "failed" };
            done += applied;
            idle = if applied == 0 { idle + 1 } else { 0 };
            if idle >= STUCK_BATCHES {
                break "stuck";
            }
        }
        if plan.rate_per_sec > 0.0 {
            let next = started + Duration::from_secs_f64((done + 1) as f64 / plan.rate_per_sec);
            let wait = next.saturating_duration_since(Instant::now());
            tokio::select! {
                _ = app.sleep(wait) => {}
                _ = cancel.changed() => {}
            }
        } else {
            tokio::task::yield_now().await;
        }
    };
    app.churn.finish(generation, end);
    info!(done, end, "Churn ended");
}
