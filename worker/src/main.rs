//! `worker`: consumes k3sync jobs' queues and writes the records into MySQL.

use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use k3sync_common::cli::{ConfigArg, DocsCommand, print_docs};
use k3sync_common::health::{self, Readiness};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    version,
    about = "Consumes k3sync queues, maps each Kingdee record and upserts batches into MySQL"
)]
struct Cli {
    #[command(flatten)]
    config: ConfigArg,
    /// Consume only this job (default: every job in the settings).
    #[arg(long)]
    job: Option<String>,
    /// Without a subcommand the worker consumes; the hidden ones print its documentation.
    #[command(subcommand)]
    docs: Option<DocsCommand>,
}

#[tokio::main]
async fn main() -> ExitCode {
    k3sync_common::telemetry::init_logging();
    let cli = Cli::parse();
    k3sync_common::telemetry::exit_code("worker", run(cli).await)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(docs) = &cli.docs {
        return Ok(print_docs(Cli::command(), docs)?);
    }
    let settings = cli.config.load()?;
    let jobs = settings.selected_jobs(cli.job.as_deref())?;
    let pool = settings.mysql.pool().context("mysql.url")?;
    let cancel = CancellationToken::new();
    k3sync_common::shutdown::cancel_on_signal(cancel.clone());
    let readiness = Readiness::new(pool.clone());
    let listen = settings.worker.listen.clone();
    let server = health::start(&listen, readiness.clone(), cancel.clone())
        .await
        .with_context(|| format!("cannot serve metrics on worker.listen = {listen}"))?;
    k3sync_common::telemetry::series::build_info("worker");
    let mut tasks = JoinSet::new();
    for job in jobs {
        let ctx = k3sync_worker::prepare(&settings, &job.name, pool.clone()).await?;
        let ctx = ctx.with_readiness(readiness.clone());
        tasks.spawn(k3sync_worker::run_job(ctx, cancel.clone()));
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    cancel.cancel();
    server.await?.context("metrics server (worker.listen)")?;
    pool.close().await;
    Ok(())
}
