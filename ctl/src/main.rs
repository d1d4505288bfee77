//! `ctl`: k3sync's operations tool. Parses the command line and hands it to the library.

use std::process::ExitCode;

use clap::Parser;
use k3sync_ctl::cli::{Cli, run};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("ctl: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// ctl prints its own findings; logs go to stderr and default to warnings. lapin is silenced by
/// default because every passive declare of a missing queue (an expected answer for ctl) makes
/// it log a channel error. `RUST_LOG` overrides both.
fn init_logging() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,lapin=off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
