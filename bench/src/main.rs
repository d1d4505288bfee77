//! `k3sync-bench`: measures k3sync on this machine against baselines taken in the same run and
//! records the figures under `bench/results/` (see `bench/README.md`). Not a test: it asserts
//! only that each run did what it claims (every record arrived), and reports goals as met or not.

mod broker;
mod chart;
mod cpu;
mod k3sync;
mod machine;
mod metrics;
mod mock;
mod naive;
mod process;
mod producer_log;
mod raw;
mod report;
mod rows;
mod sampler;
mod suite;
mod world;

use clap::{Parser, Subcommand};

use crate::world::{Detection, Rows};

#[derive(Parser)]
#[command(
    about = "k3sync benchmarks (release binaries, real RabbitMQ and MariaDB, the mock as Kingdee)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Producer alone: one full pass per mock size, records confirmed/s and peak RSS.
    Producer {
        /// Mock sizes, one pass each (a fresh mock, database and queue per size).
        #[arg(long, value_delimiter = ',', default_value = "250000,500000,1000000")]
        sizes: Vec<usize>,
        /// Rows the job reads: `all` (empty filter: every mock row) or `job` (the demo filter).
        #[arg(long, value_enum, default_value = "all")]
        rows: Rows,
        /// producer.max_queue_depth (messages) for the run.
        #[arg(long, default_value_t = 100_000)]
        max_queue_depth: u32,
        /// How the job detects changes: `demo` (the demo settings: watched dates, overlap,
        /// converging), or `modify-date-only` (one FModifyDate stream, no leaves: as the job
        /// was before convergence, to compare with builds from before it).
        #[arg(long, value_enum, default_value = "demo")]
        detection: Detection,
    },
    /// One worker draining a full queue vs the raw upsert of the same rows.
    Worker {
        #[arg(long, value_delimiter = ',', default_value = "250000,500000,1000000")]
        sizes: Vec<usize>,
        #[arg(long, value_enum, default_value = "all")]
        rows: Rows,
        #[arg(long, default_value_t = 100_000)]
        max_queue_depth: u32,
        /// Connections of the raw reference (the worker writes one batch at a time: 1).
        #[arg(long, default_value_t = 1)]
        raw_connections: usize,
        /// As for `producer`.
        #[arg(long, value_enum, default_value = "demo")]
        detection: Detection,
    },
    /// End to end with the chart, the incremental figure and both references.
    E2e {
        /// Mock size.
        #[arg(long, default_value_t = 1_000_000)]
        size: usize,
        #[arg(long, value_enum, default_value = "job")]
        rows: Rows,
        /// Worker processes (also the raw reference's connections).
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// Rows the naive script copies.
        #[arg(long, default_value_t = 20_000)]
        naive_sample: usize,
        /// Incremental rounds after the full load.
        #[arg(long, default_value_t = 3)]
        touches: usize,
        /// Rows touched per round.
        #[arg(long, default_value_t = 1000)]
        touch_count: usize,
        /// The producer's schedule_secs.
        #[arg(long, default_value_t = 5)]
        schedule_secs: u64,
        /// As for `producer`.
        #[arg(long, value_enum, default_value = "demo")]
        detection: Detection,
    },
    /// Convergence: an idle incremental pass before and after, and a reconciliation.
    Converge {
        /// Mock size.
        #[arg(long, default_value_t = 1_000_000)]
        size: usize,
        /// Target keys Kingdee does not list, which the reconciliation must make leave.
        #[arg(long, default_value_t = 1000)]
        extra_keys: usize,
    },
    /// A full load against a slow mock by kingdee.max_in_flight (partitioned paging), against the
    /// pipeline's own rate (the same pass without latency) in the same run.
    Partitions {
        /// Mock size.
        #[arg(long, default_value_t = 1_000_000)]
        size: usize,
        /// The mock's fixed latency per query, ms.
        #[arg(long, default_value_t = 300)]
        query_latency_ms: u64,
        /// The mock's latency per returned row, µs.
        #[arg(long, default_value_t = 200)]
        row_latency_us: u64,
        /// Queries the mock runs at once.
        #[arg(long, default_value_t = 8)]
        cap: usize,
        /// kingdee.max_in_flight values, one full load each.
        #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
        in_flight: Vec<usize>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    k3sync_common::kingdee::install_crypto_provider();
    match Cli::parse().command {
        Command::Producer {
            sizes,
            rows,
            max_queue_depth,
            detection,
        } => {
            suite::producer::run(suite::producer::Args {
                sizes,
                rows,
                max_queue_depth,
                detection,
            })
            .await
        }
        Command::Worker {
            sizes,
            rows,
            max_queue_depth,
            raw_connections,
            detection,
        } => {
            let args = suite::producer::Args {
                sizes,
                rows,
                max_queue_depth,
                detection,
            };
            suite::worker::run(args, raw_connections).await
        }
        Command::E2e {
            size,
            rows,
            workers,
            naive_sample,
            touches,
            touch_count,
            schedule_secs,
            detection,
        } => {
            suite::e2e::run(suite::e2e::Args {
                size,
                rows,
                workers,
                naive_sample,
                touches,
                touch_count,
                schedule_secs,
                detection,
            })
            .await
        }
        Command::Converge { size, extra_keys } => {
            suite::converge::run(suite::converge::Args { size, extra_keys }).await
        }
        Command::Partitions {
            size,
            query_latency_ms,
            row_latency_us,
            cap,
            in_flight,
        } => {
            suite::partitions::run(suite::partitions::Args {
                size,
                query_latency_ms,
                row_latency_us,
                cap,
                in_flight,
            })
            .await
        }
    }
}
