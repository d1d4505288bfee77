//! Helpers of the ctl tests: poison that the worker dead-letters with each class, a broker
//! handle for looking at and feeding queues, the worker in-process, and the built `ctl` binary.

use std::time::Duration;

use k3sync_common::amqp::topology::{DEAD_LETTER_EXCHANGE, EXCHANGE, queue_depth};
use k3sync_common::amqp::{self, Outgoing, Publisher};
use k3sync_common::dlq::names as headers;
use k3sync_common::record::Record;
use k3sync_common::settings::Settings;
use k3sync_ctl::dlq::{self, Selection};
use k3sync_tests::envelopes::{EnvelopeRecord, envelope_of};
use k3sync_tests::{InProcessWorker, TestEnv, binary};
use lapin::Connection;
use lapin::options::BasicGetOptions;
use lapin::types::{AMQPValue, FieldTable};
use serde_json::json;

pub(super) const WAIT: Duration = Duration::from_secs(60);

/// A test environment with `rows` mock materials.
pub(super) async fn start(rows: usize) -> TestEnv {
    TestEnv::start(rows).await
}

/// A record the demo mapping reads in full; keys from 9_000_000 up stay clear of the mock's.
pub(super) fn record(key: i64, number: &str, with_name: bool) -> EnvelopeRecord {
    let mut r = Record::new();
    for (field, value) in [
        ("FMaterialId", json!(key)),
        ("FMasterId", json!(key)),
        ("FNumber", json!(number)),
        ("FName", json!("螺丝M3")),
        ("FSpecification", json!(" M3x8 ")),
        ("F_ProductLine", json!("PL1")),
        ("FMaterialGroup.FNumber", json!("G01")),
        ("FBaseUnitId.FNumber", json!("Pcs")),
        ("FErpClsID", json!("1")),
        ("FUseOrgId.FNumber", json!("T00")),
        ("FDocumentStatus", json!("C")),
        ("FForbidStatus", json!("A")),
        ("FCreateDate", json!("2024-01-01T00:00:00")),
        ("FModifyDate", json!("2024-03-12T09:32:21.125")),
    ] {
        if with_name || field != "FName" {
            r.insert(field.into(), value);
        }
    }
    EnvelopeRecord {
        key,
        modified: "2024-03-12T09:32:21.125".into(),
        record: r,
    }
}

/// The poison of the tests: how a letter is made, and the class the worker gives it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Poison {
    /// FNumber of 300 characters: `Data too long for column 'code'`.
    TooLong(i64),
    /// No FName: the mapping refuses it.
    NoName(i64),
    /// Not JSON at all.
    NotJson(u32),
    /// JSON, but `{"v":3}`: an unknown envelope version.
    FutureVersion(u32),
}

impl Poison {
    pub(super) fn class(self) -> &'static str {
        match self {
            Poison::TooLong(_) => "data",
            Poison::NoName(_) => "mapping",
            Poison::NotJson(_) | Poison::FutureVersion(_) => "decode",
        }
    }

    /// Message id and body as the producer (or a broken producer) would publish it.
    pub(super) fn message(self, job: &str) -> (String, Vec<u8>) {
        let envelope = |r| envelope_of(job, vec![r]);
        match self {
            Poison::TooLong(key) => {
                let e = envelope(record(key, &long_code(key), true));
                (e.message_id().to_string(), e.to_json())
            }
            Poison::NoName(key) => {
                let e = envelope(record(key, &format!("N.{key}"), false));
                (e.message_id().to_string(), e.to_json())
            }
            Poison::NotJson(n) => (format!("not-json-{n}"), b"this is not json".to_vec()),
            Poison::FutureVersion(n) => (format!("version-3-{n}"), br#"{"v":3}"#.to_vec()),
        }
    }
}

pub(super) fn long_code(key: i64) -> String {
    format!("{key}-{}", "X".repeat(300 - 8))
}

/// One broker connection for a test's own looks at the queues.
pub(super) struct Broker {
    pub(super) connection: Connection,
    publisher: Publisher,
}

impl Broker {
    /// Connects and declares the test job's topology (as the producer and worker do).
    pub(super) async fn declare(settings: &Settings, job: &str) -> Self {
        let connection = amqp::connect(&settings.amqp, "k3sync-test-ctl")
            .await
            .unwrap();
        let channel = amqp::open_channel(&connection, true).await.unwrap();
        amqp::declare(&connection, &amqp::Topology::new(job, &settings.amqp))
            .await
            .unwrap();
        Self {
            connection,
            publisher: Publisher::new(channel),
        }
    }

    pub(super) async fn depth(&self, queue: &str) -> u32 {
        let channel = amqp::open_channel(&self.connection, false).await.unwrap();
        let (ready, _) = queue_depth(&channel, queue).await.unwrap();
        let _ = channel.close(200, "done".into()).await;
        ready
    }

    pub(super) async fn consumers(&self, queue: &str) -> u32 {
        let channel = amqp::open_channel(&self.connection, false).await.unwrap();
        let (_, consumers) = queue_depth(&channel, queue).await.unwrap();
        let _ = channel.close(200, "done".into()).await;
        consumers
    }

    pub(super) async fn publish(
        &self,
        exchange: &str,
        job: &str,
        id: String,
        headers: FieldTable,
        body: Vec<u8>,
    ) {
        let message = Outgoing {
            exchange: exchange.into(),
            routing_key: job.into(),
            message_id: id,
            headers,
            body,
        };
        self.publisher.publish_confirmed(&[message]).await.unwrap();
    }

    /// Poison straight onto the work queue, as a producer would publish it.
    pub(super) async fn inject(&self, job: &str, poison: &[Poison]) -> Vec<String> {
        let mut ids = Vec::new();
        for p in poison {
            let (id, body) = p.message(job);
            let mut h = FieldTable::default();
            h.insert(headers::JOB.into(), AMQPValue::LongString(job.into()));
            self.publish(EXCHANGE, job, id.clone(), h, body).await;
            ids.push(id);
        }
        ids
    }

    /// Dead letters exactly as the worker sends them (headers and `error_log` rows), for tests
    /// about the dead queue's mechanics that need no worker.
    pub(super) async fn dead_letters(&self, env: &TestEnv, poison: &[Poison]) -> Vec<String> {
        let job = env.job();
        let mut ids = Vec::new();
        for p in poison {
            let (id, body) = p.message(job);
            let text = |s: &str| AMQPValue::LongString(s.into());
            let mut h = FieldTable::default();
            h.insert(headers::JOB.into(), text(job));
            h.insert(headers::ATTEMPT.into(), AMQPValue::LongLongInt(0));
            h.insert(headers::ERROR_CLASS.into(), text(p.class()));
            h.insert(headers::ERROR.into(), text("injected by the test"));
            h.insert(
                headers::FAILED_AT.into(),
                text(&chrono::Utc::now().to_rfc3339()),
            );
            h.insert(headers::WORKER.into(), text("test-worker"));
            self.publish(DEAD_LETTER_EXCHANGE, job, id.clone(), h, body.clone())
                .await;
            sqlx::query(
                "INSERT INTO error_log (message_id, job, class, error, payload) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&id)
            .bind(job)
            .bind(p.class())
            .bind("injected by the test")
            .bind(String::from_utf8_lossy(&body).into_owned())
            .execute(&env.pool)
            .await
            .unwrap();
            ids.push(id);
        }
        ids
    }

    /// Takes every message off `queue` (acking it): (message id, headers).
    pub(super) async fn drain(&self, queue: &str) -> Vec<(String, FieldTable)> {
        let channel = amqp::open_channel(&self.connection, false).await.unwrap();
        let mut taken = Vec::new();
        while let Some(m) = channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            let p = m.delivery.properties;
            let id = p
                .message_id()
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default();
            taken.push((id, p.headers().clone().unwrap_or_default()));
        }
        let _ = channel.close(200, "done".into()).await;
        taken
    }
}

pub(super) fn start_worker(env: &TestEnv) -> InProcessWorker {
    InProcessWorker::start(env, &env.settings)
}

/// The dead queue's message ids in order, read through ctl's own non-destructive list.
pub(super) async fn dead_ids(env: &TestEnv) -> Vec<String> {
    let letters = dlq::list(&env.settings, &Selection::all(&env.settings))
        .await
        .unwrap();
    letters
        .into_iter()
        .map(|l| l.id.unwrap_or_default())
        .collect()
}

pub(super) async fn scalar(env: &TestEnv, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&env.pool).await.unwrap()
}

/// Runs the built `ctl` binary with the test's config: (exit code, stdout, stderr).
pub(super) async fn ctl(config: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let output = tokio::time::timeout(
        WAIT,
        tokio::process::Command::new(binary("ctl"))
            .arg("--config")
            .arg(config)
            .args(args)
            .output(),
    )
    .await
    .expect("ctl finishes in time")
    .expect("ctl runs (build it first: cargo build -p ctl)");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub(super) fn selection(env: &TestEnv, classes: &[&str], limit: Option<usize>) -> Selection {
    Selection {
        classes: classes
            .iter()
            .map(|c| c.parse().expect("a known class"))
            .collect(),
        limit,
        ..Selection::all(&env.settings)
    }
}

pub(super) const POISON: [Poison; 7] = [
    Poison::TooLong(9_000_001),
    Poison::NoName(9_000_002),
    Poison::NotJson(1),
    Poison::TooLong(9_000_003),
    Poison::FutureVersion(2),
    Poison::NoName(9_000_004),
    Poison::TooLong(9_000_005),
];

pub(super) fn ids(letters: &[dlq::Letter]) -> Vec<String> {
    letters
        .iter()
        .map(|l| l.id.clone().unwrap_or_default())
        .collect()
}

/// Twenty letters: data, mapping, decode, data, … with distinct ids.
pub(super) fn twenty() -> Vec<Poison> {
    (0..20)
        .map(|i| match i % 3 {
            0 => Poison::TooLong(9_100_000 + i),
            1 => Poison::NoName(9_100_000 + i),
            _ => Poison::NotJson(i as u32),
        })
        .collect()
}
