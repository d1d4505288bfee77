//! The headers of every k3sync message, typed: built into an AMQP table in one place
//! ([`Headers::to_table`]) and read back in one place ([`Headers::from_table`]). The producer
//! sets job, run and attempt 0; a retry adds its tier as the attempt and the error; a dead letter
//! adds class, time and worker; a replay keeps job and run and starts the attempts afresh.

use lapin::types::{AMQPValue, FieldTable};

use super::DeadClass;

/// Header names. Our own attempt counter: RabbitMQ 4 ignores a client-set `x-death`.
pub mod names {
    pub const JOB: &str = "x-k3sync-job";
    pub const RUN: &str = "x-k3sync-run";
    pub const ATTEMPT: &str = "x-k3sync-attempt";
    pub const ERROR_CLASS: &str = "x-k3sync-error-class";
    pub const ERROR: &str = "x-k3sync-error";
    pub const FAILED_AT: &str = "x-k3sync-failed-at";
    pub const WORKER: &str = "x-k3sync-worker";
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    pub job: Option<String>,
    pub run: Option<String>,
    /// How many retry tiers the message has been through (0: first delivery).
    pub attempt: u32,
    /// Why the last attempt failed (retries and dead letters).
    pub error: Option<String>,
    /// Dead letters only: the class as written (kept as text, so a letter from another build
    /// still reads).
    pub class: Option<String>,
    /// Dead letters only: RFC 3339 time of the failure, and the worker (`host-pid`).
    pub failed_at: Option<String>,
    pub worker: Option<String>,
}

impl Headers {
    /// A fresh message of `job`'s run `run`.
    pub fn new(job: &str, run: impl ToString) -> Self {
        Self {
            job: Some(job.to_owned()),
            run: Some(run.to_string()),
            ..Self::default()
        }
    }

    /// The same message sent to retry tier `tier` after `error`.
    pub fn retried(&self, tier: u32, error: &str) -> Self {
        Self {
            attempt: tier,
            error: Some(error.to_owned()),
            ..self.replayed()
        }
    }

    /// The same message dead-lettered.
    pub fn dead(&self, class: DeadClass, error: &str, failed_at: &str, worker: &str) -> Self {
        Self {
            error: Some(error.to_owned()),
            class: Some(class.as_str().to_owned()),
            failed_at: Some(failed_at.to_owned()),
            worker: Some(worker.to_owned()),
            ..self.clone()
        }
    }

    /// A dead letter sent back to work: job and run kept, attempts and failure forgotten.
    pub fn replayed(&self) -> Self {
        Self {
            job: self.job.clone(),
            run: self.run.clone(),
            ..Self::default()
        }
    }

    pub fn to_table(&self) -> FieldTable {
        let mut table = FieldTable::default();
        let texts = [
            (names::JOB, &self.job),
            (names::RUN, &self.run),
            (names::ERROR_CLASS, &self.class),
            (names::ERROR, &self.error),
            (names::FAILED_AT, &self.failed_at),
            (names::WORKER, &self.worker),
        ];
        for (name, value) in texts {
            if let Some(value) = value {
                table.insert(name.into(), AMQPValue::LongString(value.as_str().into()));
            }
        }
        table.insert(
            names::ATTEMPT.into(),
            AMQPValue::LongLongInt(self.attempt.into()),
        );
        table
    }

    /// Reads our headers from any table; absent or unreadable values stay empty (attempt 0).
    pub fn from_table(table: &FieldTable) -> Self {
        let attempt = integer(table, names::ATTEMPT)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0);
        Self {
            job: text(table, names::JOB),
            run: text(table, names::RUN),
            attempt,
            error: text(table, names::ERROR),
            class: text(table, names::ERROR_CLASS),
            failed_at: text(table, names::FAILED_AT),
            worker: text(table, names::WORKER),
        }
    }
}

/// A text header (long or short string).
pub fn text(table: &FieldTable, name: &str) -> Option<String> {
    match table.inner().get(name)? {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

/// An integer header of any width, or a numeric string.
pub fn integer(table: &FieldTable, name: &str) -> Option<i64> {
    match table.inner().get(name)? {
        AMQPValue::ShortShortInt(n) => Some((*n).into()),
        AMQPValue::ShortShortUInt(n) => Some((*n).into()),
        AMQPValue::ShortInt(n) => Some((*n).into()),
        AMQPValue::ShortUInt(n) => Some((*n).into()),
        AMQPValue::LongInt(n) => Some((*n).into()),
        AMQPValue::LongUInt(n) => Some((*n).into()),
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongString(s) => s.to_string().trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_through_a_table_at_every_stage() {
        let fresh = Headers::new("materials", "run-1");
        let retry = fresh.retried(2, "deadlock");
        let dead = retry.dead(
            DeadClass::Exhausted,
            "gave up",
            "2024-01-01T00:00:00Z",
            "w-1",
        );
        for h in [&fresh, &retry, &dead] {
            assert_eq!(&Headers::from_table(&h.to_table()), h);
        }
        assert_eq!(dead.attempt, 2);
        assert_eq!(dead.class.as_deref(), Some("exhausted"));
        let names: Vec<String> = fresh
            .to_table()
            .inner()
            .keys()
            .map(|k| k.to_string())
            .collect();
        assert_eq!(names, [names::ATTEMPT, names::JOB, names::RUN]);
        assert_eq!(dead.replayed(), fresh);
    }

    #[test]
    fn an_attempt_is_read_from_any_integer_width_or_text() {
        for value in [
            AMQPValue::LongLongInt(3),
            AMQPValue::LongInt(3),
            AMQPValue::ShortInt(3),
            AMQPValue::LongUInt(3),
            AMQPValue::LongString("3".into()),
        ] {
            let mut table = FieldTable::default();
            table.insert(names::ATTEMPT.into(), value);
            assert_eq!(Headers::from_table(&table).attempt, 3);
        }
        let mut table = FieldTable::default();
        table.insert(names::ATTEMPT.into(), AMQPValue::LongLongInt(-1));
        assert_eq!(Headers::from_table(&table).attempt, 0);
    }
}
