//! Back-pressure: while the job's work queue holds more than `max_queue_depth` messages the
//! producer stops paging, so a slow database never turns into an unbounded queue. (The depth
//! gauges are the sampler's, `crate::sample`.)

use std::time::Duration;

use k3sync_common::amqp::topology::queue_depth;
use lapin::Channel;
use tokio_util::sync::CancellationToken;

/// Returns once the queue is at or below `max_depth`, or when cancelled.
pub async fn wait_for_room(
    channel: &Channel,
    queue: &str,
    max_depth: u32,
    cancel: &CancellationToken,
) -> Result<(), lapin::Error> {
    let mut logged = false;
    loop {
        let (ready, _) = queue_depth(channel, queue).await?;
        if ready <= max_depth {
            return Ok(());
        }
        if !logged {
            tracing::info!(queue, ready, max_depth, "Queue is full, pausing paging");
            logged = true;
        }
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}
