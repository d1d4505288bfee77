//! The cluster check's reading of `rabbitmqctl`'s JSON, on answers taken from RabbitMQ 3.10.

use k3sync_common::amqp::Topology;
use k3sync_common::settings::AmqpSettings;
use serde_json::json;

use super::*;
use crate::check::Level;

fn topology(replicas: u32) -> Topology {
    let amqp = AmqpSettings {
        quorum_replicas: replicas,
        ..AmqpSettings::default()
    };
    Topology::new("materials", &amqp)
}

fn queues(members: &[&str], online: &[&str], leader: &str) -> Value {
    json!([
        {"name": "k3sync.materials.dead", "type": "quorum", "leader": "a", "members": ["a"], "online": ["a"]},
        {"name": "k3sync.materials", "type": "quorum", "leader": leader, "members": members, "online": online}
    ])
}

fn level(queues: &Value, replicas: u32, cluster_size: usize) -> (Level, String) {
    let mut report = Report::default();
    replicas_line(queues, replicas, cluster_size, &mut report);
    let line = report.lines.pop().expect("one line");
    (line.level, line.detail)
}

fn replicas_line(queues: &Value, replicas: u32, cluster_size: usize, report: &mut Report) {
    super::replicas(queues, &topology(replicas), cluster_size, report);
}

#[test]
fn cluster_nodes_are_read_with_the_ones_down() {
    let status = json!({
        "disk_nodes": ["c1@h", "c2@h", "c3@h"], "ram_nodes": [],
        "running_nodes": ["c2@h", "c1@h"]
    });
    let nodes = Nodes::from_status(&status);
    assert_eq!(nodes.all.len(), 3);
    let mut report = Report::default();
    nodes.report(&mut report);
    assert_eq!(report.lines[0].level, Level::Warn);
    assert!(report.lines[0].detail.contains("down: c3@h"));
}

#[test]
fn a_work_queue_on_every_node_is_ok_and_names_its_leader() {
    let all = ["c1@h", "c2@h", "c3@h"];
    let (level, detail) = level(&queues(&all, &all, "c2@h"), 3, 3);
    assert_eq!(level, Level::Ok, "{detail}");
    assert!(detail.contains("leader c2@h"), "{detail}");
}

#[test]
fn a_work_queue_with_fewer_replicas_than_configured_warns() {
    let two = ["c1@h", "c2@h"];
    let (level, detail) = level(&queues(&two, &two, "c1@h"), 3, 3);
    assert_eq!(level, Level::Warn);
    assert!(
        detail.contains("fewer replicas than configured"),
        "{detail}"
    );
}

#[test]
fn the_replica_count_is_capped_by_the_cluster_size() {
    let one = ["rabbit@h"];
    assert_eq!(level(&queues(&one, &one, "rabbit@h"), 3, 1).0, Level::Ok);
}

#[test]
fn a_replica_offline_warns() {
    let all = ["c1@h", "c2@h", "c3@h"];
    let (level, detail) = level(&queues(&all, &all[..2], "c1@h"), 3, 3);
    assert_eq!(level, Level::Warn);
    assert!(detail.contains("not every replica is online"), "{detail}");
}

#[test]
fn a_missing_work_queue_warns() {
    let (level, detail) = level(&json!([]), 3, 3);
    assert_eq!(level, Level::Warn);
    assert!(detail.contains("does not exist yet"), "{detail}");
}
