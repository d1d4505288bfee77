//! Where a benchmark leaves things: a scratch folder per run under `target/bench-runs/` (the
//! generated settings and every process's log) and its figures as JSON under `bench/results/`,
//! the source of the tables in `bench/README.md`.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::Value;

use crate::world::workspace_root;

/// A fresh scratch folder `target/bench-runs/<name>-<unix seconds>`.
pub fn run_dir(name: &str) -> anyhow::Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let dir = workspace_root()
        .join("target/bench-runs")
        .join(format!("{name}-{stamp}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// `bench/results/` (or `$K3SYNC_BENCH_RESULTS`, for experiments), created if needed.
pub fn results_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("K3SYNC_BENCH_RESULTS")
        .map_or_else(|| workspace_root().join("bench/results"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Writes `bench/results/<name>.json` and prints it.
pub fn save(name: &str, value: &Value) -> anyhow::Result<PathBuf> {
    let path = results_dir()?.join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(&path, format!("{text}\n"))?;
    println!("{text}");
    println!("saved {}", path.display());
    Ok(path)
}

/// Records per second, rounded to a whole number.
pub fn rate(records: u64, seconds: f64) -> f64 {
    (records as f64 / seconds.max(1e-9)).round()
}

/// A ratio to two decimals.
pub fn ratio(a: f64, b: f64) -> f64 {
    (a / b.max(1e-9) * 100.0).round() / 100.0
}

/// Megabytes to one decimal.
pub fn mib(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Seconds to three decimals.
pub fn secs(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}
