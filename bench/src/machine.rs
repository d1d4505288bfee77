//! What the figures were measured on (cores, CPU, memory, server and compiler versions), and how
//! busy the machine was just before a measurement: other people's builds share these two cores,
//! so every phase waits briefly for quiet and records what it found.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::world::World;

/// Cores, CPU model, RAM, MariaDB, RabbitMQ and rustc versions, kernel.
pub async fn describe(world: &World) -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    let ram_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")?
                    .split_whitespace()
                    .next()?
                    .parse::<f64>()
                    .ok()
            })
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let mariadb: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&world.pool)
        .await
        .unwrap_or_default();
    json!({
        "nproc": std::thread::available_parallelism().map_or(0, usize::from),
        "cpu": cpu,
        "ram_gib": (ram_gib * 10.0).round() / 10.0,
        "mariadb": mariadb,
        "rabbitmq": command_line("rabbitmqctl", &["version"]),
        "rustc": command_line("rustc", &["--version"]),
        "kernel": command_line("uname", &["-r"]),
    })
}

fn command_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Share of the machine's CPU time busy during `window`.
async fn busy_share(window: Duration) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    let before = crate::cpu::machine_busy_ticks().unwrap_or(0);
    tokio::time::sleep(window).await;
    let after = crate::cpu::machine_busy_ticks().unwrap_or(0);
    after.saturating_sub(before) as f64 / 100.0 / window.as_secs_f64() / cores
}

/// Waits (at most `patience`) until the machine is mostly idle; returns the busy share found
/// last, so the report can say how quiet the start was.
pub async fn settle(label: &str, patience: Duration) -> f64 {
    let started = Instant::now();
    loop {
        let busy = busy_share(Duration::from_secs(1)).await;
        if busy < 0.15 || started.elapsed() > patience {
            let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
            tracing::info!(
                phase = label,
                busy_pct = (busy * 100.0).round(),
                loadavg = load.trim(),
                "Starting a measurement"
            );
            return busy;
        }
    }
}
