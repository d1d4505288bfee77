//! The local three-node RabbitMQ cluster of `scripts/cluster.sh`, for the cluster scenarios: it
//! is started by [`Cluster::start`] and stopped (its data deleted) when the value is dropped, so a
//! failed test leaves no broker node behind. Nodes are numbered 1 to 3, as in the script.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::workspace_root;

/// The running cluster.
pub struct Cluster {
    urls: String,
}

fn script(args: &[&str]) -> std::process::Output {
    let output = Command::new("bash")
        .arg(workspace_root().join("scripts/cluster.sh"))
        .args(args)
        .output()
        .expect("run scripts/cluster.sh");
    assert!(
        output.status.success(),
        "scripts/cluster.sh {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

impl Cluster {
    /// Starts the three nodes (a no-op for nodes already up) and waits until they form one
    /// cluster.
    pub fn start() -> Self {
        script(&["start"]);
        let urls = String::from_utf8_lossy(&script(&["urls"]).stdout)
            .trim()
            .to_owned();
        Self { urls }
    }

    /// Every node's AMQP URL, comma-separated (the form `K3SYNC__AMQP__URL` takes).
    pub fn urls(&self) -> &str {
        &self.urls
    }

    /// `rabbitmqctl stop` of node `n`: a clean shutdown.
    pub fn stop_node(&self, n: usize) {
        script(&["stop-node", &n.to_string()]);
    }

    /// Starts node `n` again; it rejoins with its data.
    pub fn start_node(&self, n: usize) {
        script(&["start-node", &n.to_string()]);
    }

    /// SIGKILL of node `n`'s Erlang VM.
    pub fn kill_node(&self, n: usize) {
        script(&["kill-node", &n.to_string()]);
    }

    /// The node (1-3) holding `queue`'s leader, asked of any node in `ask`, or `None` while
    /// none of them knows one.
    pub fn leader(&self, queue: &str, ask: &[usize]) -> Option<usize> {
        ask.iter().find_map(|n| {
            let output = Command::new("bash")
                .arg(workspace_root().join("scripts/cluster.sh"))
                .args(["ctl", &n.to_string(), "-q", "list_queues", "name", "leader"])
                .args(["--formatter", "json"])
                .output()
                .ok()?;
            let queues: Value = serde_json::from_slice(&output.stdout).ok()?;
            let leader = queues.as_array()?.iter().find(|q| q["name"] == queue)?["leader"]
                .as_str()?
                .to_owned();
            leader
                .strip_prefix("k3sync-c")?
                .split('@')
                .next()?
                .parse()
                .ok()
        })
    }

    /// Waits up to `timeout` for [`Cluster::leader`].
    pub async fn wait_for_leader(&self, queue: &str, ask: &[usize], timeout: Duration) -> usize {
        crate::poll(
            &format!("a leader of {queue}"),
            timeout,
            Duration::from_millis(500),
            || async { self.leader(queue, ask) },
        )
        .await
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(workspace_root().join("scripts/cluster.sh"))
            .arg("stop")
            .status();
    }
}
