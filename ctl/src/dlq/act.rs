//! The loop replay and purge share: walk each selected job's dead queue, gather the selected
//! letters in chunks, let the action deal with a chunk, and ack the chunk's letters only after
//! the action succeeded. A failure or a kill at any point leaves every letter that was not
//! acked in the dead queue, in its place; unselected letters are never acked.

use std::time::Duration;

use anyhow::Context;
use k3sync_common::amqp::Topology;
use k3sync_common::settings::Settings;
use lapin::options::BasicAckOptions;
use lapin::{Acker, Connection};
use tokio::time::Instant;

use super::letter::Letter;
use super::select::Selection;
use super::walk::Walk;

/// What replay and purge do with a chunk of selected letters.
pub(crate) trait Action {
    /// Past tense for messages ("replayed").
    fn verb(&self) -> &'static str;
    /// Whether the letters leave the dead queue once [`Action::apply`] succeeded.
    fn acks(&self) -> bool {
        true
    }
    /// Deals with the letters of one job; they are acked only if this returns `Ok`.
    async fn apply(&mut self, job: &str, letters: &[Letter]) -> anyhow::Result<()>;
}

/// How fast to go.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Letters per chunk (one confirm round when replaying).
    pub batch: usize,
    /// At most this many letters per second.
    pub rate: Option<u32>,
}

impl Pace {
    fn chunk(&self) -> usize {
        let batch = self.batch.max(1);
        match self.rate {
            // Ten small chunks a second keep the flow even.
            Some(rate) => batch.min((rate as usize / 10).max(1)),
            None => batch,
        }
    }

    async fn wait(&self, started: Instant, done: usize) {
        if let Some(rate) = self.rate {
            let due = started + Duration::from_secs_f64(done as f64 / f64::from(rate.max(1)));
            tokio::time::sleep_until(due).await;
        }
    }
}

/// What a walk did: the letters acted on, and how many stayed in the dead queues.
#[derive(Debug, Default)]
pub struct Outcome {
    pub done: Vec<Letter>,
    pub kept: usize,
}

pub(crate) async fn act(
    connection: &Connection,
    settings: &Settings,
    selection: &Selection,
    pace: Pace,
    action: &mut impl Action,
) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let verb = action.verb();
    let (started, chunk_size) = (Instant::now(), pace.chunk());
    let walked: anyhow::Result<()> = async {
        for job in &selection.jobs {
            let queue = Topology::new(job, &settings.amqp).dead_queue();
            let Some(mut walk) = Walk::begin(connection, &queue)
                .await
                .with_context(|| format!("cannot read dead queue {queue}"))?
            else {
                continue;
            };
            let mut chunk = Chunk::default();
            while !selection.full(outcome.done.len() + chunk.letters.len())
                && let Some((position, delivery)) = walk.next().await?
            {
                let letter = Letter::from_delivery(job, position, &delivery);
                if !selection.matches(&letter) {
                    outcome.kept += 1;
                    continue;
                }
                chunk.letters.push(letter);
                chunk.ackers.push(delivery.acker);
                if chunk.letters.len() >= chunk_size {
                    chunk.settle(job, action, &mut outcome).await?;
                    pace.wait(started, outcome.done.len()).await;
                }
            }
            chunk.settle(job, action, &mut outcome).await?;
            outcome.kept += walk.unread();
            walk.end().await?;
        }
        Ok(())
    }
    .await;
    walked.with_context(|| {
        format!(
            "stopped after {} letters were {verb}; every other letter is still in its dead queue",
            outcome.done.len()
        )
    })?;
    Ok(outcome)
}

#[derive(Default)]
struct Chunk {
    letters: Vec<Letter>,
    ackers: Vec<Acker>,
}

impl Chunk {
    async fn settle(
        &mut self,
        job: &str,
        action: &mut impl Action,
        outcome: &mut Outcome,
    ) -> anyhow::Result<()> {
        if self.letters.is_empty() {
            return Ok(());
        }
        action.apply(job, &self.letters).await?;
        let acks = action.acks();
        for acker in self.ackers.drain(..).filter(|_| acks) {
            let acked = acker.ack(BasicAckOptions::default()).await?;
            anyhow::ensure!(acked, "the broker channel closed before a letter was acked");
        }
        for mut letter in self.letters.drain(..) {
            if acks {
                letter.forget_payload();
            }
            outcome.done.push(letter);
        }
        Ok(())
    }
}
