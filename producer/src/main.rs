//! `producer`: pages a k3sync job out of Kingdee K3Cloud into RabbitMQ.

use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use k3sync_common::cli::{ConfigArg, DocsCommand, print_docs};
use k3sync_common::health::{self, Readiness};
use k3sync_common::settings::SyncMode;
use k3sync_producer::{Producer, run_scheduled};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    version,
    about = "Pages Kingdee K3Cloud with ExecuteBillQuery and publishes every record to RabbitMQ under publisher confirms"
)]
struct Cli {
    #[command(flatten)]
    config: ConfigArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sync the jobs: one pass each with --once, otherwise each job's pass every schedule_secs
    /// until SIGTERM, all in this process under the one Kingdee rate limit.
    Sync {
        /// Only this job of the settings (default: every job).
        #[arg(long)]
        job: Option<String>,
        /// Which rows the pass reads (default: each job's `mode`).
        #[arg(long, value_enum)]
        mode: Option<SyncMode>,
        /// Run one pass and exit (non-zero when it fails).
        #[arg(long)]
        once: bool,
    },
    #[command(flatten)]
    Docs(DocsCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    k3sync_common::telemetry::init_logging();
    let cli = Cli::parse();
    k3sync_common::telemetry::exit_code("producer", run(cli).await)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let (job, mode, once) = match cli.command {
        Command::Sync { job, mode, once } => (job, mode, once),
        Command::Docs(docs) => return Ok(print_docs(Cli::command(), &docs)?),
    };
    let settings = cli.config.load()?;
    let selected = settings.selected_jobs(job.as_deref())?;
    let jobs: Vec<String> = selected.iter().map(|j| j.name.clone()).collect();
    let cancel = CancellationToken::new();
    k3sync_common::shutdown::cancel_on_signal(cancel.clone());
    if once {
        let producer = Producer::connect(settings).await?;
        return run_once(&producer, &jobs, mode, &cancel).await;
    }
    let pool = settings.mysql.pool().context("mysql.url")?;
    let watched = selected.iter().map(|j| (j.name.clone(), j.schedule_secs));
    let readiness = Readiness::new(pool).watching_jobs(watched.collect(), &settings.monitoring);
    let listen = settings.producer.listen.clone();
    let server = health::start(&listen, readiness.clone(), cancel.clone())
        .await
        .with_context(|| format!("cannot serve metrics on producer.listen = {listen}"))?;
    k3sync_common::telemetry::series::build_info("producer");
    run_scheduled(settings, &jobs, mode, readiness, &cancel).await?;
    cancel.cancel();
    server.await?.context("metrics server (producer.listen)")
}

/// One pass of every job at once; fails naming the jobs whose pass failed.
async fn run_once(
    producer: &Producer,
    jobs: &[String],
    mode: Option<SyncMode>,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let passes = jobs.iter().map(|job| async move {
        let mode = mode.map_or_else(|| producer.settings().job(job).map(|j| j.mode), Ok)?;
        producer.run_pass(job, mode, cancel).await
    });
    let results = futures_util::future::join_all(passes).await;
    let mut failed = Vec::new();
    for (job, result) in jobs.iter().zip(results) {
        if let Err(error) = result {
            if jobs.len() == 1 {
                return Err(error);
            }
            tracing::error!(job, error = format!("{error:#}"), "Pass failed");
            failed.push(job.as_str());
        }
    }
    anyhow::ensure!(
        failed.is_empty(),
        "the pass of job(s) {} failed",
        failed.join(", ")
    );
    Ok(())
}
