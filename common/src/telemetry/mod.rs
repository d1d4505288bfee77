//! What the binaries tell operators: logs (human-readable on a terminal, JSON lines otherwise, so
//! log shippers can index the fields; filtered by `RUST_LOG`, default `info`) and the catalogue
//! of Prometheus series ([`series`]).

pub mod series;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.json().init();
    }
}

/// How a long-running binary ends: success, or the error with its causes printed (the line an
/// operator sees when the process stops at start) and, off a terminal, also logged as JSON for
/// log shippers. On a terminal the log line would only repeat the printed one.
pub fn exit_code(binary: &str, result: anyhow::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            if !std::io::stderr().is_terminal() {
                tracing::error!(
                    binary,
                    error = format!("{error:#}"),
                    "Stopped with an error"
                );
            }
            eprintln!("{binary}: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
