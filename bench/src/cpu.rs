//! Who used the CPU during a measurement: the machine's busy time from `/proc/stat`, split into
//! the run's own processes (the children, the bench, MariaDB, RabbitMQ) and everyone else. The
//! rest is other people's work on the same two cores, reported as interference next to each
//! figure; the split also shows which process a figure was waiting on.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::process::Spawned;

/// Clock ticks per second of `/proc` CPU times (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// The servers a run loads besides its own children, by process name.
const SERVERS: [&str; 2] = ["mariadbd", "beam.smp"];

/// User + system ticks of a process, from `/proc/<pid>/stat`.
pub fn process_ticks(pid: u32) -> Option<u64> {
    stat_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn stat_ticks(stat: &str) -> Option<u64> {
    // Fields after the `(comm)`: state is field 3; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Busy ticks of the whole machine (all cores), from `/proc/stat`.
pub fn machine_busy_ticks() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = text
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user, nice, system and steal; interrupt time is nobody's process time, so it is left out
    // on both sides of the comparison.
    Some([0, 1, 2, 7].iter().filter_map(|&i| fields.get(i)).sum())
}

/// Ticks of the shared servers (by name) and of the bench itself.
fn fixed_ticks() -> BTreeMap<String, u64> {
    let mut ticks = BTreeMap::new();
    ticks.insert(
        "bench".to_owned(),
        process_ticks(std::process::id()).unwrap_or(0),
    );
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return ticks;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if let Some(server) = SERVERS.iter().find(|s| **s == comm.trim()) {
            *ticks.entry((*server).to_owned()).or_default() += process_ticks(pid).unwrap_or(0);
        }
    }
    ticks
}

/// A CPU account opened at the start of a measurement.
pub struct Ledger {
    started: Instant,
    machine: u64,
    fixed: BTreeMap<String, u64>,
    children: BTreeMap<String, u64>,
}

impl Ledger {
    /// `running` are the run's children already alive (their CPU time so far is not counted).
    pub fn open(running: &[&Spawned]) -> Self {
        Self {
            started: Instant::now(),
            machine: machine_busy_ticks().unwrap_or(0),
            fixed: fixed_ticks(),
            children: running
                .iter()
                .map(|c| (c.name.clone(), c.memory.cpu_ticks()))
                .collect(),
        }
    }

    /// Cores in use on average since `open`: the whole machine, each of the run's processes,
    /// and everyone else. `children` are all the run's children, running at `open` or started
    /// since.
    pub fn close(&self, children: &[&Spawned]) -> Value {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let cores = |ticks: u64| (ticks as f64 / TICKS_PER_SEC / secs * 100.0).round() / 100.0;
        let machine = machine_busy_ticks()
            .unwrap_or(0)
            .saturating_sub(self.machine);
        let mut by_process = Map::new();
        let mut ours = 0;
        for (name, now) in fixed_ticks() {
            let used = now.saturating_sub(self.fixed.get(&name).copied().unwrap_or(now));
            ours += used;
            by_process.insert(name, json!(cores(used)));
        }
        for child in children {
            let before = self.children.get(&child.name).copied().unwrap_or(0);
            let used = child.memory.cpu_ticks().saturating_sub(before);
            ours += used;
            by_process.insert(child.name.clone(), json!(cores(used)));
        }
        json!({
            "seconds": (secs * 10.0).round() / 10.0,
            "machine_cores": cores(machine),
            "run_cores": cores(ours),
            "other_cores": cores(machine.saturating_sub(ours)),
            "run_cores_by_process": by_process,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::stat_ticks;

    #[test]
    fn utime_and_stime_are_read_past_a_command_with_spaces() {
        let stat = "42 (tokio worker) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 1 2 3";
        assert_eq!(stat_ticks(stat), Some(300));
    }
}
