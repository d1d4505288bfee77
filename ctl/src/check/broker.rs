//! RabbitMQ checks: the broker's version (and where 3.x and 4.x behave differently), the login,
//! and each job's exchanges and queues. Queue arguments cannot be read over AMQP, so once every
//! queue is known to exist the topology is declared again, exactly as the producer and worker
//! declare it, on a throwaway channel: a no-op when the arguments match, PRECONDITION_FAILED
//! (naming the argument) when they do not, which is what would stop those binaries at start.

use k3sync_common::amqp::topology::{DEAD_LETTER_EXCHANGE, EXCHANGE};
use k3sync_common::amqp::{self, Topology};
use k3sync_common::settings::Settings;
use lapin::Connection;

use super::version::server_info;
use super::{Report, error_chain};
use crate::probe::{Probe, QueueState, broker_message, reply_code};

/// The oldest broker k3sync supports: quorum queues with delivery limits, TTL and
/// at-least-once dead-lettering.
const OLDEST: (u32, u32) = (3, 10);

pub async fn check(settings: &Settings, report: &mut Report) {
    let limit = settings.amqp.delivery_limit;
    match server_info(&settings.amqp).await {
        Ok(info) => match info.major_minor {
            Some(v) if v < OLDEST => report.fail(
                "rabbitmq version",
                format!(
                    "{} {} is older than {}.{}, the oldest k3sync supports",
                    info.product, info.version, OLDEST.0, OLDEST.1
                ),
            ),
            // Supported, so no warning: k3sync sets x-delivery-limit itself (3.x has no
            // default, 4.x defaults to 20) and counts retries in x-k3sync-attempt (4.x ignores
            // a client-set x-death), so it behaves the same on both.
            Some(_) => report.ok(
                "rabbitmq version",
                format!(
                    "{} {} (supported: {}.{} or newer; x-delivery-limit = {limit} set by k3sync)",
                    info.product, info.version, OLDEST.0, OLDEST.1
                ),
            ),
            None => report.warn(
                "rabbitmq version",
                format!("{} reports version `{}`", info.product, info.version),
            ),
        },
        Err(error) => report.warn(
            "rabbitmq version",
            format!("unknown: {}", error_chain(&error)),
        ),
    }
    let connection = match amqp::connect(&settings.amqp, "k3sync-ctl-check").await {
        Ok(connection) => connection,
        Err(error) => {
            return report.fail(
                "rabbitmq",
                format!("cannot connect or log in (amqp.url): {error}"),
            );
        }
    };
    report.ok(
        "rabbitmq",
        format!(
            "logged in as {} on vhost {}",
            connection.status().username(),
            connection.status().vhost()
        ),
    );
    for job in &settings.jobs {
        let topology = Topology::new(&job.name, &settings.amqp);
        if let Err(error) = queues(&connection, &topology, report).await {
            report.fail(
                format!("queues {}", job.name),
                format!("broker error: {error}"),
            );
        }
    }
    let _ = connection.close(200, "ctl check done".into()).await;
}

async fn queues(
    connection: &Connection,
    topology: &Topology,
    report: &mut Report,
) -> Result<(), lapin::Error> {
    let what = format!("queues {}", topology.job);
    let mut probe = Probe::new(connection);
    let mut missing = Vec::new();
    for exchange in [EXCHANGE, DEAD_LETTER_EXCHANGE] {
        if !probe.exchange(exchange).await? {
            missing.push(format!("exchange {exchange}"));
        }
    }
    let mut consumers = 0;
    for queue in topology.all_queues() {
        match probe.queue(&queue).await? {
            QueueState::Present { consumers: c, .. } if queue == topology.work_queue() => {
                consumers = c;
            }
            QueueState::Present { .. } => {}
            QueueState::Missing => missing.push(queue),
        }
    }
    if !missing.is_empty() {
        report.warn(
            what,
            format!(
                "missing: {} (the producer and the worker declare them on start)",
                missing.join(", ")
            ),
        );
        return Ok(());
    }
    match amqp::declare(connection, topology).await {
        Ok(()) => {
            let tiers: Vec<String> = topology
                .tier_delays_ms
                .iter()
                .map(|ms| format!("{}s", ms / 1000))
                .collect();
            report.ok(
                what,
                format!(
                    "{} (quorum, x-delivery-limit {}), retry tiers {}, {}: arguments match the settings",
                    topology.work_queue(),
                    topology.delivery_limit,
                    tiers.join("/"),
                    topology.dead_queue()
                ),
            );
        }
        Err(error) if reply_code(&error) == Some(406) => report.fail(
            what,
            format!(
                "arguments differ from the settings, so the producer and worker cannot \
                 declare them: {}; delete the queue (after draining it) or match the settings",
                broker_message(&error)
            ),
        ),
        Err(error) => return Err(error),
    }
    if consumers == 0 {
        report.warn(
            format!("consumers {}", topology.job),
            format!("no worker consumes {}", topology.work_queue()),
        );
    } else {
        report.ok(
            format!("consumers {}", topology.job),
            format!("{consumers} consumer(s) on {}", topology.work_queue()),
        );
    }
    Ok(())
}
