//! Helpers of the chaos and bad-input suites: the table k3sync must end up with, worked out
//! independently of k3sync's mapping (`expect`); poison with its good neighbours (`poison`);
//! the queues seen from outside (`queues`); the binaries as processes a test can kill
//! (`process`); and the shared servers a test can disturb (`servers`).

mod cluster;
mod expect;
mod poison;
mod process;
mod queues;
mod servers;

pub use cluster::Cluster;
pub use expect::{
    COLUMNS, Row, assert_same_table, date, expected, expected_row, row_count, table, table_where,
    text,
};
pub use poison::{Poison, PoisonCase, material};
pub use process::{
    Proc, ProducerRuns, Workers, log_dir, producer_args, remove_logs, run_producer_until_done,
    sync_args,
};
pub use queues::{DeadLetter, QueueWatch, drain_dead, envelope, publish_raw};
pub use servers::{
    WorkerUser, kill_connections_of, mysql_answers, rabbitmq_start_app, rabbitmq_stop_app,
    restart_mariadb,
};

/// The environment variable that lets the tests restart the shared RabbitMQ and MariaDB.
pub const RESTARTS_VAR: &str = "K3SYNC_CHAOS_RESTARTS";

/// The tests that restart the machine's RabbitMQ or MariaDB disturb every other test running at
/// the time: they are `#[ignore]`d, so the main suite reports them as skipped, and CI runs them
/// apart, one at a time (`--run-ignored only -j 1`, see scripts/test.sh). This is their second
/// guard: even when `--run-ignored` asks for them, they restart shared servers only with
/// `K3SYNC_CHAOS_RESTARTS=1`, and fail (never pass unrun) without it.
pub fn require_restarts_allowed(test: &str) {
    assert!(
        std::env::var(RESTARTS_VAR).is_ok_and(|v| v == "1"),
        "{test} restarts a shared server; run it alone with {RESTARTS_VAR}=1 \
         (cargo nextest run -p k3sync-tests --run-ignored only -j 1 -E 'test(/_restart_/)')"
    );
}

pub use crate::poll;

/// A number in `0..n` that differs from run to run (which worker to kill).
pub fn pick(n: usize) -> usize {
    (uuid::Uuid::new_v4().as_u128() % n.max(1) as u128) as usize
}
