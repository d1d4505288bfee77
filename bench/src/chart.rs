//! The end-to-end chart: `bench/chart.py` (matplotlib) turns the sampled CSV into a PNG. Python
//! keeps a plotting stack out of the Rust dependency tree; its venv lives in `target/bench-venv`
//! and is made on first use (`python3 -m venv` + `pip install matplotlib`).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::Command;

use crate::world::workspace_root;

const SETUP_TIMEOUT: Duration = Duration::from_secs(600);
const RENDER_TIMEOUT: Duration = Duration::from_secs(120);

/// Renders `csv` into `png`; `pass_done` and `end` (seconds) are marked on the time axis.
pub async fn render(
    csv: &Path,
    png: &Path,
    title: &str,
    pass_done: f64,
    end: f64,
) -> anyhow::Result<()> {
    let venv = workspace_root().join("target/bench-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            SETUP_TIMEOUT,
        )
        .await?;
        run(
            Command::new(&python).args(["-m", "pip", "install", "--quiet", "matplotlib"]),
            SETUP_TIMEOUT,
        )
        .await?;
    }
    run(
        Command::new(&python)
            .arg(workspace_root().join("bench/chart.py"))
            .arg(csv)
            .arg(png)
            .arg(title)
            .arg(format!("{pass_done:.3}"))
            .arg(format!("{end:.3}")),
        RENDER_TIMEOUT,
    )
    .await
    .context("rendering the chart")
}

async fn run(command: &mut Command, timeout: Duration) -> anyhow::Result<()> {
    let what = format!("{command:?}");
    let status = tokio::time::timeout(timeout, command.kill_on_drop(true).status())
        .await
        .with_context(|| format!("{what} took longer than {timeout:?}"))??;
    if !status.success() {
        bail!("{what} failed with {status}");
    }
    Ok(())
}
