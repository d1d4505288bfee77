//! Helpers of the chaos and bad-input suites: the table k3sync must end up with, worked out
//! independently of k3sync's mapping (`expect`); poison with its good neighbours (`poison`);
//! the queues seen from outside (`queues`); the binaries as processes a test can kill
//! (`process`); and the shared servers a test can disturb (`servers`).

mod expect;
mod poison;
mod process;
mod queues;
mod servers;

pub use expect::{COLUMNS, Row, assert_same_table, expected, expected_row, row_count, table};
pub use poison::{Poison, PoisonCase, material};
pub use process::{
    Proc, ProducerRuns, Workers, log_dir, producer_args, remove_logs, run_producer_until_done,
};
pub use queues::{DeadLetter, QueueWatch, drain_dead, envelope, publish_raw};
pub use servers::{
    WorkerUser, kill_connections_of, mysql_answers, rabbitmq_start_app, rabbitmq_stop_app,
    restart_mariadb,
};

/// The environment variable that lets the tests restart the shared RabbitMQ and MariaDB.
pub const RESTARTS_VAR: &str = "K3SYNC_CHAOS_RESTARTS";

/// Whether tests may restart the machine's RabbitMQ and MariaDB (they disturb every other test
/// running at the time, so CI runs them apart and one at a time). Prints why a test skips.
pub fn restarts_enabled(test: &str) -> bool {
    let on = std::env::var(RESTARTS_VAR).is_ok_and(|v| v == "1");
    if !on {
        eprintln!(
            "skipping {test}: it restarts a shared server; run it alone with {RESTARTS_VAR}=1 \
             (cargo nextest run -p k3sync-tests -E 'test(/_restart_/)' -j 1)"
        );
    }
    on
}

pub use crate::poll;

/// A number in `0..n` that differs from run to run (which worker to kill).
pub fn pick(n: usize) -> usize {
    (uuid::Uuid::new_v4().as_u128() % n.max(1) as u128) as usize
}
