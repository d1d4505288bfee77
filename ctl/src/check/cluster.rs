//! The cluster behind `amqp.url`: its nodes, and each job queue's replicas and leader. AMQP tells
//! none of that (a client sees one node, and queue arguments cannot be read back), and the
//! management API is not assumed, so this asks `rabbitmqctl` (`cluster_status`, `list_queues …
//! leader members online`). That works on a broker host, or wherever the CLI reaches a node with
//! its Erlang cookie; the node is `$K3SYNC_RABBITMQ_NODE` (e.g. `rabbit@mq1`), else the CLI's
//! default. Elsewhere the check says it could not look, as a warning: replication is unverified.

use std::collections::BTreeSet;

use k3sync_common::amqp::Topology;
use k3sync_common::settings::Settings;
use serde_json::Value;

use super::Report;

/// The Erlang node `rabbitmqctl` asks.
pub const NODE_VAR: &str = "K3SYNC_RABBITMQ_NODE";

pub async fn check(settings: &Settings, report: &mut Report) {
    let status = match rabbitmqctl(&["cluster_status"]).await {
        Ok(status) => status,
        Err(reason) => {
            return report.warn(
                "rabbitmq cluster",
                format!(
                    "not readable from here ({reason}): AMQP does not expose cluster nodes or \
                     queue replicas; run `ctl check` where `rabbitmqctl` reaches a node (set \
                     {NODE_VAR}), or `rabbitmq-queues quorum_status <queue>` on a broker host"
                ),
            );
        }
    };
    let nodes = Nodes::from_status(&status);
    nodes.report(report);
    let vhost = settings
        .amqp
        .url
        .expose(0)
        .parse::<lapin::uri::AMQPUri>()
        .map(|u| u.vhost)
        .unwrap_or_else(|_| "/".into());
    let queues = match rabbitmqctl(&[
        "list_queues",
        "-p",
        &vhost,
        "name",
        "type",
        "leader",
        "members",
        "online",
    ])
    .await
    {
        Ok(queues) => queues,
        Err(reason) => return report.warn("rabbitmq replicas", format!("not readable: {reason}")),
    };
    for job in &settings.jobs {
        let topology = Topology::new(&job.name, &settings.amqp);
        replicas(&queues, &topology, nodes.all.len(), report);
    }
}

/// `rabbitmqctl -q [-n node] ARGS --formatter json`, parsed.
async fn rabbitmqctl(args: &[&str]) -> Result<Value, String> {
    let mut command = tokio::process::Command::new("rabbitmqctl");
    command.arg("-q");
    if let Ok(node) = std::env::var(NODE_VAR) {
        command.args(["-n", &node]);
    }
    command.args(args).args(["--formatter", "json"]);
    let output = tokio::time::timeout(std::time::Duration::from_secs(30), command.output())
        .await
        .map_err(|_| "rabbitmqctl did not answer within 30 s".to_owned())?
        .map_err(|e| format!("cannot run rabbitmqctl: {e}"))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let first = said.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!("rabbitmqctl failed: {}", first.trim()));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("rabbitmqctl said no JSON: {e}"))
}

/// The strings of a JSON array (none when `value` is no array).
fn strings(value: &Value) -> impl Iterator<Item = String> {
    let items = value.as_array().into_iter().flatten();
    items.filter_map(|item| item.as_str().map(str::to_owned))
}

/// The cluster's members and which of them run.
#[derive(Debug, PartialEq, Eq)]
pub struct Nodes {
    pub all: BTreeSet<String>,
    pub running: BTreeSet<String>,
}

impl Nodes {
    pub fn from_status(status: &Value) -> Self {
        Self {
            all: strings(&status["disk_nodes"])
                .chain(strings(&status["ram_nodes"]))
                .collect(),
            running: strings(&status["running_nodes"]).collect(),
        }
    }

    fn report(&self, report: &mut Report) {
        let down: Vec<String> = self.all.difference(&self.running).cloned().collect();
        let listed = self.all.iter().cloned().collect::<Vec<_>>().join(", ");
        let (what, n) = ("rabbitmq cluster", self.all.len());
        if down.is_empty() {
            report.ok(what, format!("{n} node(s), all running: {listed}"));
        } else {
            let down = down.join(", ");
            report.warn(what, format!("{n} node(s): {listed}; down: {down}"));
        }
    }
}

/// One line per job: the work queue's leader and members, a warning when it has fewer replicas
/// than `amqp.quorum_replicas` allows on a cluster of `cluster_size`, or fewer online than members.
pub fn replicas(queues: &Value, topology: &Topology, cluster_size: usize, report: &mut Report) {
    let what = format!("replicas {}", topology.job);
    let name = topology.work_queue();
    let Some(queue) = queues
        .as_array()
        .into_iter()
        .flatten()
        .find(|q| q["name"] == name.as_str())
    else {
        return report.warn(what, format!("{name} does not exist yet"));
    };
    let members: Vec<String> = strings(&queue["members"]).collect();
    let online = strings(&queue["online"]).count();
    let leader = queue["leader"].as_str().unwrap_or("");
    let want = (topology.quorum_replicas as usize).min(cluster_size.max(1));
    let detail = format!(
        "{name}: leader {}, members {} ({} online), amqp.quorum_replicas {} on {cluster_size} node(s)",
        if leader.is_empty() { "none" } else { leader },
        members.join(", "),
        online,
        topology.quorum_replicas
    );
    let kind = &queue["type"];
    if *kind != "quorum" {
        report.warn(what, format!("{name} is not a quorum queue: {kind}"));
    } else if members.len() < want {
        report.warn(
            what,
            format!(
                "{detail}: fewer replicas than configured (rabbitmq-queues grow <node> all adds them)"
            ),
        );
    } else if online < members.len() || leader.is_empty() {
        report.warn(what, format!("{detail}: not every replica is online"));
    } else {
        report.ok(what, detail);
    }
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
