//! Dead letters: a record (or an undecodable message) that will never be written as it is goes
//! to `k3sync.dlx` with the reason in its headers, under publisher confirms, and the same facts
//! go into `error_log`. Only then is the original acknowledged.

use k3sync_common::amqp::topology::DEAD_LETTER_EXCHANGE;
use k3sync_common::amqp::{Envelope, Outgoing, Publisher, headers};
use lapin::types::{AMQPValue, FieldTable};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use k3sync_common::sink::{WriteErrorClass, classify};
use sqlx::MySqlPool;

use crate::held::Held;
use crate::setup::JobContext;

/// Why a record was dead-lettered; the value of `x-k3sync-error-class`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadClass {
    /// The body is not an envelope this build reads (not JSON, unknown version).
    Decode,
    /// The mapping refused the record (missing field, bad date, bad number).
    Mapping,
    /// The database refused the row (too long, bad value, null, constraint).
    Data,
    /// A transient failure outlasted every retry tier.
    Exhausted,
}

impl DeadClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadClass::Decode => "decode",
            DeadClass::Mapping => "mapping",
            DeadClass::Data => "data",
            DeadClass::Exhausted => "exhausted",
        }
    }
}

/// One dead letter about to be sent.
pub struct DeadLetter {
    pub class: DeadClass,
    pub error: String,
    pub key: Option<i64>,
    pub message_id: String,
    pub run: Option<String>,
    pub attempt: u32,
    pub body: Vec<u8>,
}

impl DeadLetter {
    /// A single record of an envelope, carried alone so it can be replayed alone.
    pub fn record(
        envelope: &Envelope,
        index: usize,
        attempt: u32,
        class: DeadClass,
        error: String,
    ) -> Self {
        let record = envelope.records[index].clone();
        let key = Some(record.key);
        let single = Envelope::new(
            &envelope.job,
            &envelope.form_id,
            envelope.run_id,
            vec![record],
        );
        Self {
            class,
            error,
            key,
            message_id: single.message_id().to_string(),
            run: Some(envelope.run_id.to_string()),
            attempt,
            body: single.to_json(),
        }
    }

    /// Record `index` of a delivery in hand; the whole body verbatim should it not decode.
    pub fn of(held: &Held, index: usize, class: DeadClass, error: String) -> Self {
        match held.full() {
            Some(envelope) if index < envelope.records.len() => {
                Self::record(envelope, index, held.attempt, class, error)
            }
            _ => Self {
                class,
                ..Self::undecodable(held, error)
            },
        }
    }

    /// A message whose body could not be read, kept verbatim.
    pub fn undecodable(held: &Held, error: String) -> Self {
        let message_id = held.delivery.properties.message_id().as_ref();
        Self {
            class: DeadClass::Decode,
            error,
            key: None,
            message_id: message_id
                .map_or_else(|| uuid::Uuid::new_v4().to_string(), |m| m.to_string()),
            run: None,
            attempt: held.attempt,
            body: held.delivery.data.clone(),
        }
    }
}

/// `host-pid`: which worker process did it (for `x-k3sync-worker` and `error_log.worker`).
pub fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "worker".into());
    format!("{host}-{}", std::process::id())
}

/// Publishes the dead letters under confirms, then records them in `error_log`.
pub async fn send(
    ctx: &JobContext,
    publisher: &Publisher,
    letters: &[DeadLetter],
) -> anyhow::Result<()> {
    if letters.is_empty() {
        return Ok(());
    }
    let failed_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let messages: Vec<Outgoing> = letters
        .iter()
        .map(|l| Outgoing {
            exchange: DEAD_LETTER_EXCHANGE.to_owned(),
            routing_key: ctx.topology.routing_key().to_owned(),
            message_id: l.message_id.clone(),
            headers: dead_headers(ctx, l, &failed_at),
            body: l.body.clone(),
        })
        .collect();
    publisher.publish_confirmed(&messages).await?;
    // The letters are already confirmed: a MySQL hiccup here must not fail the batch, or its
    // redelivery would dead-letter the same records a second time.
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(10)
        .with_jitter();
    (|| log_errors(&ctx.pool, &ctx.job.name, &ctx.worker_id, letters))
        .retry(backoff)
        .when(|e| classify(e) == WriteErrorClass::Transient)
        .notify(|e, _| tracing::warn!(job = %ctx.job.name, error = %e, "error_log insert failed, retrying"))
        .await?;
    for letter in letters {
        metrics::counter!("k3sync_dead_letters_total", "job" => ctx.job.name.clone(), "class" => letter.class.as_str())
            .increment(1);
        tracing::warn!(job = %ctx.job.name, key = ?letter.key, class = letter.class.as_str(),
            error = %letter.error, "Record dead-lettered");
    }
    Ok(())
}

fn dead_headers(ctx: &JobContext, letter: &DeadLetter, failed_at: &str) -> FieldTable {
    let text = |s: &str| AMQPValue::LongString(s.into());
    let mut table = FieldTable::default();
    table.insert(headers::JOB.into(), text(&ctx.job.name));
    if let Some(run) = &letter.run {
        table.insert(headers::RUN.into(), text(run));
    }
    table.insert(
        headers::ATTEMPT.into(),
        AMQPValue::LongLongInt(letter.attempt.into()),
    );
    table.insert(headers::ERROR_CLASS.into(), text(letter.class.as_str()));
    table.insert(headers::ERROR.into(), text(&letter.error));
    table.insert(headers::FAILED_AT.into(), text(failed_at));
    table.insert(headers::WORKER.into(), text(&ctx.worker_id));
    table
}

async fn log_errors(
    pool: &MySqlPool,
    job: &str,
    worker: &str,
    letters: &[DeadLetter],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for l in letters {
        sqlx::query(
            "INSERT INTO error_log (message_id, job, record_key, class, error, payload, attempt, worker) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&l.message_id)
        .bind(job)
        .bind(l.key)
        .bind(l.class.as_str())
        .bind(&l.error)
        .bind(String::from_utf8_lossy(&l.body).into_owned())
        .bind(l.attempt)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
