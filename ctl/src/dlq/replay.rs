//! `ctl dlq replay`: selected dead letters go back to their job's work queue (exchange `k3sync`,
//! routing key = job) with the same body and message id, the attempt counter reset to 0 and the
//! failure headers removed, under publisher confirms. A letter is acked off the dead queue only
//! after its replay is confirmed, so a crash loses nothing; at worst a record is replayed twice,
//! which the upsert absorbs. A letter whose body is not an envelope is replayed verbatim.

use anyhow::Context;
use k3sync_common::amqp::topology::EXCHANGE;
use k3sync_common::amqp::{self, Envelope, Outgoing, Publisher, Route};
use k3sync_common::dlq::Headers;
use k3sync_common::settings::Settings;
use sqlx::MySqlPool;

use super::act::{Action, Pace, act};
use super::letter::Letter;
use super::select::Selection;
use super::summary::Summary;
use super::{Resolution, connect};

/// Options of a replay besides the selection.
#[derive(Debug, Clone, Copy)]
pub struct ReplayOptions {
    /// Only say what would be replayed.
    pub dry_run: bool,
    pub pace: Pace,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        let pace = Pace {
            batch: 100,
            rate: None,
        };
        Self {
            dry_run: false,
            pace,
        }
    }
}

pub async fn replay(
    settings: &Settings,
    selection: &Selection,
    options: &ReplayOptions,
) -> anyhow::Result<Summary> {
    let connection = connect(settings).await?;
    let pace = options.pace;
    let outcome = if options.dry_run {
        act(&connection, settings, selection, pace, &mut DryRun).await?
    } else {
        let publisher = Publisher::new(amqp::open_channel(&connection, true).await?);
        let pool = super::database(settings).await?;
        let mut action = Replay { publisher, pool };
        let outcome = act(&connection, settings, selection, pace, &mut action).await;
        action.pool.close().await;
        outcome?
    };
    let _ = connection.close(200, "ctl done".into()).await;
    Ok(outcome.into())
}

struct DryRun;

impl Action for DryRun {
    fn verb(&self) -> &'static str {
        "listed"
    }

    fn acks(&self) -> bool {
        false
    }

    async fn apply(&mut self, _job: &str, _letters: &[Letter]) -> anyhow::Result<()> {
        Ok(())
    }
}

struct Replay {
    publisher: Publisher,
    pool: MySqlPool,
}

impl Action for Replay {
    fn verb(&self) -> &'static str {
        "replayed"
    }

    async fn apply(&mut self, job: &str, letters: &[Letter]) -> anyhow::Result<()> {
        let messages: Vec<Outgoing> = letters.iter().map(|l| replay_message(l, job)).collect();
        self.publisher
            .publish_confirmed(&messages)
            .await
            .context("the broker did not confirm a replay; its letters stay in the dead queue")?;
        super::mark(&self.pool, job, letters, Resolution::Replayed, self.verb()).await
    }
}

/// The letter as a fresh message of `job`'s work queue: the same body and id, the job and run
/// kept, the attempts and the failure forgotten ([`Headers::replayed`]).
pub fn replay_message(letter: &Letter, job: &str) -> Outgoing {
    let mut headers = Headers::from_table(&letter.headers).replayed();
    headers.job.get_or_insert_with(|| job.to_owned());
    let message_id = letter.id.clone().unwrap_or_else(|| {
        Envelope::from_json(&letter.body)
            .map(|e| e.message_id())
            .unwrap_or_else(|_| uuid::Uuid::new_v4())
            .to_string()
    });
    let route = Route {
        exchange: EXCHANGE.to_owned(),
        routing_key: job.to_owned(),
    };
    Outgoing::new(route, message_id, headers.to_table(), letter.body.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k3sync_common::dlq::names as headers;
    use lapin::types::{AMQPValue, FieldTable};

    #[test]
    fn a_replay_resets_the_attempt_and_drops_the_failure_but_keeps_body_id_and_run() {
        let mut h = FieldTable::default();
        let text = |s: &str| AMQPValue::LongString(s.into());
        h.insert(headers::JOB.into(), text("materials"));
        h.insert(headers::RUN.into(), text("run-1"));
        h.insert(headers::ATTEMPT.into(), AMQPValue::LongLongInt(3));
        h.insert(headers::ERROR_CLASS.into(), text("data"));
        h.insert(headers::ERROR.into(), text("too long"));
        h.insert(headers::FAILED_AT.into(), text("2024-01-01T00:00:00Z"));
        h.insert(headers::WORKER.into(), text("w-1"));
        h.insert("x-first-death-reason".into(), text("delivery_limit"));
        h.insert("x-death".into(), AMQPValue::FieldArray(Default::default()));
        let letter = Letter {
            job: "materials".into(),
            position: 0,
            id: Some("id-1".into()),
            class: "data".into(),
            error: None,
            keys: vec![],
            attempt: Some(3),
            failed_at: None,
            worker: None,
            run: None,
            deaths: None,
            body: b"{\"v\":1}".to_vec(),
            headers: h,
        };
        let m = replay_message(&letter, "materials");
        assert_eq!(m.exchange, "k3sync");
        assert_eq!(m.routing_key, "materials");
        assert_eq!(m.message_id, "id-1");
        assert_eq!(m.body, b"{\"v\":1}");
        let names: Vec<&str> = m.headers.inner().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, vec![headers::ATTEMPT, headers::JOB, headers::RUN]);
        assert_eq!(
            m.headers.inner().get(headers::ATTEMPT),
            Some(&AMQPValue::LongLongInt(0))
        );
    }
}
