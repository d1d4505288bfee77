//! How a batch is settled, decided without touching the broker or the database: a pure function
//! from what the batch's deliveries brought and what the write did, to what is committed, what
//! goes to which retry tier, what is dead-lettered and why. [`crate::settle`] carries it out;
//! the tests below cover every mix.
//!
//! Rows are numbered in batch order — each decoded delivery's mapped records, in order — which
//! is how the batch hands them to the sink, so a row refused by the database is found again
//! without carrying its origin around.

use k3sync_common::dlq::DeadClass;

/// One delivery of the batch, as the plan needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received<'a> {
    /// Retry tiers the message has been through.
    pub attempt: u32,
    /// Per record: `None` when mapped, else why the mapping refused it. `Err`: the body was
    /// refused as a whole.
    pub records: Result<Vec<Option<&'a str>>, (DeadClass, &'a str)>,
}

/// A row the database would not take.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// Its position among the rows written (batch order).
    pub row: usize,
    pub class: DeadClass,
    pub reason: String,
}

/// What the write of the mapped rows did.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Everything committed but these rows.
    Committed(Vec<Refusal>),
    /// Nothing may have stuck; every row is to be tried again later (the upsert is idempotent).
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
    /// Rows committed.
    pub written: usize,
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
            if let Some(reason) = refused {
                plan.dead.push(dead(DeadClass::Mapping, reason));
                continue;
            }
            match written {
                Written::Committed(refusals) => match refusals.iter().find(|r| r.row == row) {
                    Some(refusal) => plan.dead.push(dead(refusal.class, &refusal.reason)),
                    None => plan.written += 1,
                },
                Written::Transient(_) => to_retry.push(record),
            }
            row += 1;
        }
        let Written::Transient(error) = written else {
            continue;
        };
        if to_retry.is_empty() {
            continue;
        }
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
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(n: usize) -> Received<'static> {
        Received {
            attempt: 0,
            records: Ok(vec![None; n]),
        }
    }

    fn dead(delivery: usize, record: Option<usize>, class: DeadClass, reason: &str) -> Dead {
        Dead {
            delivery,
            record,
            class,
            reason: reason.into(),
        }
    }

    #[test]
    fn a_clean_batch_is_all_written() {
        let plan = plan(&[mapped(3), mapped(2)], &Written::Committed(vec![]), 3);
        assert_eq!(
            plan,
            Plan {
                written: 5,
                ..Plan::default()
            }
        );
    }

    #[test]
    fn refused_rows_are_found_again_by_batch_order_and_the_rest_is_written() {
        // Delivery 1's record 1 is unmapped, so it is no row: rows are 0,1 | 2,3 | 4.
        let batch = [
            mapped(2),
            Received {
                attempt: 1,
                records: Ok(vec![None, Some("missing field `FName`"), None]),
            },
            mapped(1),
        ];
        let refusals = vec![
            Refusal {
                row: 3,
                class: DeadClass::Data,
                reason: "1406 (22001): Data too long".into(),
            },
            Refusal {
                row: 4,
                class: DeadClass::TooLarge,
                reason: "row of 20971620 bytes".into(),
            },
        ];
        let plan = plan(&batch, &Written::Committed(refusals), 3);
        assert_eq!(plan.written, 3);
        assert!(plan.retries.is_empty());
        assert_eq!(
            plan.dead,
            vec![
                dead(1, Some(1), DeadClass::Mapping, "missing field `FName`"),
                dead(1, Some(2), DeadClass::Data, "1406 (22001): Data too long"),
                dead(2, Some(0), DeadClass::TooLarge, "row of 20971620 bytes"),
            ]
        );
    }

    #[test]
    fn a_transient_failure_retries_each_delivery_in_its_next_tier_and_exhausts_the_last() {
        let batch = [
            mapped(2),
            Received {
                attempt: 2,
                records: Ok(vec![None, Some("bad date")]),
            },
            Received {
                attempt: 3,
                records: Ok(vec![None, None]),
            },
        ];
        let plan = plan(&batch, &Written::Transient("deadlock".into()), 3);
        assert_eq!(plan.written, 0);
        assert_eq!(
            plan.retries,
            vec![
                Retry {
                    delivery: 0,
                    records: vec![0, 1],
                    tier: 1,
                    reason: "deadlock".into()
                },
                Retry {
                    delivery: 1,
                    records: vec![0],
                    tier: 3,
                    reason: "deadlock".into()
                },
            ]
        );
        assert_eq!(plan.retried(), 3);
        let gave_up = "gave up after 3 retry tiers: deadlock";
        assert_eq!(
            plan.dead,
            vec![
                dead(1, Some(1), DeadClass::Mapping, "bad date"),
                dead(2, Some(0), DeadClass::Exhausted, gave_up),
                dead(2, Some(1), DeadClass::Exhausted, gave_up),
            ]
        );
    }

    #[test]
    fn a_refused_body_is_dead_lettered_whole_and_counts_no_row() {
        let batch = [
            Received {
                attempt: 0,
                records: Err((DeadClass::Decode, "not json")),
            },
            mapped(1),
        ];
        let refusals = vec![Refusal {
            row: 0,
            class: DeadClass::Data,
            reason: "1048: Column 'name' cannot be null".into(),
        }];
        let plan = plan(&batch, &Written::Committed(refusals), 3);
        assert_eq!(
            plan.dead,
            vec![
                dead(0, None, DeadClass::Decode, "not json"),
                dead(
                    1,
                    Some(0),
                    DeadClass::Data,
                    "1048: Column 'name' cannot be null"
                ),
            ]
        );
        // Nothing to write at all: a transient outcome cannot apply, nothing is retried.
        let unmapped = [Received {
            attempt: 0,
            records: Ok(vec![Some("bad")]),
        }];
        let plan = super::plan(&unmapped, &Written::Transient("gone".into()), 3);
        assert!(plan.retries.is_empty());
        assert_eq!(plan.dead.len(), 1);
    }

    #[test]
    fn without_retry_tiers_a_transient_failure_exhausts_at_once() {
        let plan = plan(&[mapped(1)], &Written::Transient("lock wait".into()), 0);
        assert_eq!(
            plan.dead,
            vec![dead(
                0,
                Some(0),
                DeadClass::Exhausted,
                "gave up after 0 retry tiers: lock wait"
            )]
        );
    }
}
