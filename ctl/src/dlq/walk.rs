//! Reading a dead queue without losing or reordering it. Letters are taken with `basic.get`
//! and no auto-ack, so the broker keeps each one until it is acked; whatever is not acked goes
//! back when the walk's channel closes, each letter to its old place (classic queues requeue by
//! position). A walk reads only the letters that were there when it began, so a letter that
//! fails again while we replay (and is dead-lettered anew, at the tail) is not met twice.

use k3sync_common::amqp;
use lapin::message::Delivery;
use lapin::options::BasicGetOptions;
use lapin::{Channel, Connection};

use crate::probe::{Probe, QueueState};

pub struct Walk {
    channel: Channel,
    queue: String,
    /// Letters still to read of those present at the start.
    left: u32,
    position: usize,
}

impl Walk {
    /// Starts a walk of `queue`; `None` when the queue does not exist.
    pub async fn begin(connection: &Connection, queue: &str) -> Result<Option<Self>, lapin::Error> {
        let depth = match Probe::new(connection).queue(queue).await? {
            QueueState::Present { ready, .. } => ready,
            QueueState::Missing => return Ok(None),
        };
        Ok(Some(Self {
            channel: amqp::open_channel(connection, false).await?,
            queue: queue.to_owned(),
            left: depth,
            position: 0,
        }))
    }

    /// The next letter and its place in the queue; `None` at the end of the walk.
    pub async fn next(&mut self) -> Result<Option<(usize, Delivery)>, lapin::Error> {
        if self.left == 0 {
            return Ok(None);
        }
        let got = self
            .channel
            .basic_get(
                self.queue.as_str().into(),
                BasicGetOptions { no_ack: false },
            )
            .await?;
        let Some(message) = got else {
            // Someone else took the rest; nothing more to read.
            self.left = 0;
            return Ok(None);
        };
        self.left -= 1;
        let position = self.position;
        self.position += 1;
        Ok(Some((position, message.delivery)))
    }

    /// Letters of the walk not read yet (they stay where they are).
    pub fn unread(&self) -> usize {
        self.left as usize
    }

    /// Ends the walk: every letter read and not acked returns to its place.
    pub async fn end(self) -> Result<(), lapin::Error> {
        self.channel.close(200, "ctl walk finished".into()).await
    }
}
