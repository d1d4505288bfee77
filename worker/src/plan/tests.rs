//! Every mix a batch can bring: clean, refused rows, refused bodies, transient failures, leaves.

use super::*;

fn mapped(n: usize) -> Received<'static> {
    Received {
        attempt: 0,
        leaves: false,
        records: Ok(vec![None; n]),
    }
}

fn leaves(attempt: u32, n: usize) -> Received<'static> {
    Received {
        attempt,
        leaves: true,
        records: Ok(vec![None; n]),
    }
}

fn retry(delivery: usize, records: Vec<usize>, tier: u32, reason: &str) -> Retry {
    Retry {
        delivery,
        records,
        tier,
        reason: reason.into(),
    }
}

fn unmapped(reason: &str) -> Option<(DeadClass, &str)> {
    Some((DeadClass::Mapping, reason))
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
            leaves: false,
            records: Ok(vec![None, unmapped("missing field `FName`"), None]),
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
            leaves: false,
            records: Ok(vec![None, unmapped("bad date")]),
        },
        Received {
            attempt: 3,
            leaves: false,
            records: Ok(vec![None, None]),
        },
    ];
    let plan = plan(&batch, &Written::Transient("deadlock".into()), 3);
    assert_eq!(plan.written, 0);
    assert_eq!(
        plan.retries,
        vec![
            retry(0, vec![0, 1], 1, "deadlock"),
            retry(1, vec![0], 3, "deadlock"),
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
            leaves: false,
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
    let refused = [Received {
        attempt: 0,
        leaves: false,
        records: Ok(vec![unmapped("bad")]),
    }];
    let plan = super::plan(&refused, &Written::Transient("gone".into()), 3);
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

#[test]
fn leaves_are_written_with_the_batch_and_take_no_row_number() {
    let key_rule = "converging jobs need an integer target key; `data_id` is M-7";
    // Rows are 0,1 | (three leaves) | 2 | 3: the refusal of row 3 is delivery 3's record.
    let batch = [
        mapped(2),
        leaves(0, 3),
        Received {
            attempt: 0,
            leaves: false,
            records: Ok(vec![None, Some((DeadClass::Data, key_rule))]),
        },
        mapped(1),
    ];
    let refusals = vec![Refusal {
        row: 3,
        class: DeadClass::Data,
        reason: "1406 (22001): Data too long".into(),
    }];
    let plan = plan(&batch, &Written::Committed(refusals), 3);
    assert_eq!(
        plan,
        Plan {
            written: 6,
            left: 3,
            retries: vec![],
            dead: vec![
                dead(2, Some(1), DeadClass::Data, key_rule),
                dead(3, Some(0), DeadClass::Data, "1406 (22001): Data too long"),
            ],
        }
    );
}

#[test]
fn after_a_transient_failure_leaves_go_to_their_next_tier_like_rows_and_exhaust_the_same() {
    let batch = [leaves(0, 2), mapped(1), leaves(3, 1)];
    let plan = plan(&batch, &Written::Transient("deadlock".into()), 3);
    assert_eq!((plan.written, plan.left), (0, 0));
    assert_eq!(
        plan.retries,
        vec![
            retry(0, vec![0, 1], 1, "deadlock"),
            retry(1, vec![0], 1, "deadlock"),
        ]
    );
    assert_eq!(
        plan.dead,
        vec![dead(
            2,
            Some(0),
            DeadClass::Exhausted,
            "gave up after 3 retry tiers: deadlock"
        )]
    );
}
