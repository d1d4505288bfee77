//! How a batch is settled, decided without touching the broker or the database: a pure function
//! from what the batch's deliveries brought and what the write did, to what is committed, what
//! goes to which retry tier, what is dead-lettered and why. [`crate::settle`] carries it out;
//! the tests (`tests.rs`) cover every mix.
//!
//! Rows are numbered in batch order — each decoded delivery's mapped records, in order — which
//! is how the batch hands them to the sink, so a row refused by the database is found again
//! without carrying its origin around. A leave message's records are no rows (they are target
//! keys, written with the batch in a statement of their own) and take no number.

use k3sync_common::dlq::DeadClass;

/// One delivery of the batch, as the plan needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received<'a> {
    /// Retry tiers the message has been through.
    pub attempt: u32,
    /// The records are leaves: written with the batch, but not rows of the sink.
    pub leaves: bool,
    /// Per record: `None` when ready to write, else why it is refused (the mapping, or a rule
    /// of the sink such as a converging job's integer key). `Err`: the body was refused as a
    /// whole.
    pub records: Result<Vec<Option<Refused<'a>>>, Refused<'a>>,
}

/// Why a record or a body is refused before the write: its dead-letter class and reason.
pub type Refused<'a> = (DeadClass, &'a str);

/// A row the database would not take.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// Its position among the rows written (batch order).
    pub row: usize,
    pub class: DeadClass,
    pub reason: String,
}

/// What the write of the mapped rows and the leaves did.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Every leave and every row committed but these rows.
    Committed(Vec<Refusal>),
    /// Nothing may have stuck; every row and leave is to be tried again later (upserts and
    /// leaves are idempotent).
    Transient(String),
}

/// The records of one delivery that go to a retry tier, in one envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    pub delivery: usize,
    pub records: Vec<usize>,
    pub tier: u32,
    pub reason: String,
}

/// A dead letter: one record of a delivery, or (`record: None`) the delivery's whole body.
#[derive(Debug, Clone, PartialEq)]
pub struct Dead {
    pub delivery: usize,
    pub record: Option<usize>,
    pub class: DeadClass,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Records committed, leaves included.
    pub written: usize,
    /// Of [`Plan::written`], the leaves.
    pub left: usize,
    pub retries: Vec<Retry>,
    pub dead: Vec<Dead>,
}

impl Plan {
    /// Records sent to retry tiers.
    pub fn retried(&self) -> usize {
        self.retries.iter().map(|r| r.records.len()).sum()
    }
}

/// Settles a batch. `tiers`: how many retry tiers the job has; a delivery that has been through
/// all of them is dead-lettered (`exhausted`) instead of retried again.
pub fn plan(batch: &[Received<'_>], written: &Written, tiers: usize) -> Plan {
    let mut plan = Plan::default();
    let mut row = 0;
    for (delivery, received) in batch.iter().enumerate() {
        let records = match &received.records {
            Ok(records) => records,
            Err((class, reason)) => {
                plan.dead.push(Dead {
                    delivery,
                    record: None,
                    class: *class,
                    reason: (*reason).to_owned(),
                });
                continue;
            }
        };
        let mut to_retry = Vec::new();
        for (record, refused) in records.iter().enumerate() {
            let dead = |class, reason: &str| Dead {
                delivery,
                record: Some(record),
                class,
                reason: reason.to_owned(),
            };
            if let Some((class, reason)) = refused {
                plan.dead.push(dead(*class, reason));
                continue;
            }
            match written {
                Written::Transient(_) => to_retry.push(record),
                Written::Committed(_) if received.leaves => {
                    plan.written += 1;
                    plan.left += 1;
                }
                Written::Committed(refusals) => match refusals.iter().find(|r| r.row == row) {
                    Some(refusal) => plan.dead.push(dead(refusal.class, &refusal.reason)),
                    None => plan.written += 1,
                },
            }
            // Leaves are no rows of the sink and take no number.
            row += usize::from(!received.leaves);
        }
        if let Written::Transient(error) = written
            && !to_retry.is_empty()
        {
            let tier = received.attempt + 1;
            if tier as usize > tiers {
                let reason = format!("gave up after {tiers} retry tiers: {error}");
                plan.dead.extend(to_retry.into_iter().map(|record| Dead {
                    delivery,
                    record: Some(record),
                    class: DeadClass::Exhausted,
                    reason: reason.clone(),
                }));
            } else {
                plan.retries.push(Retry {
                    delivery,
                    records: to_retry,
                    tier,
                    reason: error.clone(),
                });
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests;
