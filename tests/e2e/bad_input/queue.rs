//! The queue corpus through a real worker process: every case published straight to the work
//! queue, then a normal record last, which must still be written (the queue keeps flowing) by a
//! worker that is still running; then every case is checked against its file.

use std::collections::BTreeMap;
use std::time::Duration;

use k3sync_common::amqp::Envelope;
use k3sync_tests::TestEnv;
use k3sync_tests::chaos::{
    COLUMNS, DeadLetter, QueueWatch, Row, Workers, drain_dead, envelope, poll, publish_raw,
    remove_logs, table,
};
use k3sync_tests::envelopes::EnvelopeRecord;
use serde_json::{Value, json};

use super::queue_cases::{Case, Expect, load_cases, standard};

/// Keys of the corpus records: clear of the mock's (100,001 and on) and of the chaos poison.
const FIRST_KEY: i64 = 9_100_001;
/// The normal record published after the corpus.
const SENTINEL: i64 = 9_199_999;
const WAIT: Duration = Duration::from_secs(90);
const EVERY: Duration = Duration::from_millis(200);

/// Checks one case against the table and the dead letters; returns what is wrong.
fn check(case: &Case, rows: &BTreeMap<i64, Row>, letters: &[&DeadLetter]) -> Option<String> {
    let row = rows.get(&case.key);
    let problem = match &case.expect {
        Expect::Stored(columns) => {
            let data_id = match columns.get("data_id") {
                Some(Value::String(id)) => id.parse().expect("data_id"),
                Some(other) => other.as_i64().expect("data_id"),
                None => case.key,
            };
            match rows.get(&data_id) {
                None => Some(format!(
                    "no row {data_id}; dead letters: {:?}",
                    reasons(letters)
                )),
                Some(row) => columns
                    .iter()
                    .filter(|(c, _)| *c != "data_id")
                    .find_map(|(column, want)| {
                        let at = COLUMNS
                            .iter()
                            .position(|c| c == column)
                            .unwrap_or_else(|| panic!("{}: unknown column {column}", case.name));
                        let want = want.as_str().map(str::to_owned);
                        (row[at] != want)
                            .then(|| format!("{column} is {:?}, want {want:?}", row[at]))
                    })
                    .or_else(|| {
                        (!letters.is_empty())
                            .then(|| format!("also dead-lettered: {:?}", reasons(letters)))
                    }),
            }
        }
        Expect::Dead {
            class,
            error_contains,
        } => match letters {
            [letter]
                if &letter.class == class && letter.error.contains(error_contains.as_str()) =>
            {
                row.map(|r| format!("dead-lettered and also stored: {r:?}"))
            }
            [] => Some(format!("no dead letter; row: {row:?}")),
            many => Some(format!(
                "want one `{class}` letter saying `{error_contains}`, got {:?}",
                reasons(many)
            )),
        },
        Expect::Dropped(why) => (row.is_some() || !letters.is_empty()).then(|| {
            format!(
                "want nothing ({why}), got row {row:?}, letters {:?}",
                reasons(letters)
            )
        }),
    };
    problem.map(|p| format!("{} ({}): {p}", case.name, case.about))
}

fn reasons(letters: &[&DeadLetter]) -> Vec<String> {
    letters
        .iter()
        .map(|l| format!("{}: {}", l.class, l.error))
        .collect()
}

/// Starts one worker process, publishes `bodies` then the sentinel, and waits until the
/// sentinel is written and `letters` dead letters are in; returns the table and the letters.
async fn run_through_a_worker(
    env: &TestEnv,
    bodies: Vec<Vec<u8>>,
    letters: u32,
) -> (BTreeMap<i64, Row>, Vec<DeadLetter>) {
    run_through_a_worker_with(env, bodies, letters, &[]).await
}

/// [`run_through_a_worker`] with settings overridden through the environment.
async fn run_through_a_worker_with(
    env: &TestEnv,
    bodies: Vec<Vec<u8>>,
    letters: u32,
    vars: &[(String, String)],
) -> (BTreeMap<i64, Row>, Vec<DeadLetter>) {
    let config = env.write_config();
    let mut worker = Workers::start(env, &config, 1, vars);
    let mut all = bodies;
    all.push(envelope(env.job(), vec![standard(SENTINEL)]));
    publish_raw(env, all).await;
    poll(
        "the record published last to be written",
        WAIT,
        EVERY,
        || async {
            let rows = table(&env.pool).await.ok()?;
            rows.contains_key(&SENTINEL).then_some(())
        },
    )
    .await;
    let mut watch = QueueWatch::new(env);
    let mut dead = 0;
    for _ in 0..(WAIT.as_millis() / EVERY.as_millis()) {
        dead = watch.dead().await.unwrap_or(0);
        if dead >= letters {
            break;
        }
        tokio::time::sleep(EVERY).await;
    }
    assert!(dead >= letters, "{dead} dead letters, want {letters}");
    assert_eq!(watch.backlog().await, Some(0), "nothing left in the queues");
    watch.close().await;
    worker.assert_running();
    worker.stop().await;
    remove_logs(env);
    (
        table(&env.pool).await.expect("table"),
        drain_dead(env).await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_queue_corpus_case_ends_as_its_file_says_and_the_queue_keeps_flowing() {
    let env = TestEnv::start(100).await;
    let cases = load_cases(env.job(), FIRST_KEY);
    assert!(cases.len() >= 50, "the corpus has {} cases", cases.len());
    let dead = cases
        .iter()
        .filter(|c| matches!(c.expect, Expect::Dead { .. }))
        .count() as u32;
    let bodies = cases.iter().map(|c| c.body.clone()).collect();
    let (rows, letters) = run_through_a_worker(&env, bodies, dead).await;

    let mut problems = Vec::new();
    let mut claimed = vec![false; letters.len()];
    for case in &cases {
        let mine: Vec<&DeadLetter> = letters
            .iter()
            .enumerate()
            .filter(|(_, l)| l.key == Some(case.key) || l.body == case.body)
            .map(|(i, l)| {
                claimed[i] = true;
                l
            })
            .collect();
        problems.extend(check(case, &rows, &mine));
    }
    for (letter, claimed) in letters.iter().zip(&claimed) {
        if !claimed {
            problems.push(format!(
                "a dead letter no case expects: {}: {}",
                letter.class, letter.error
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} corpus cases ended otherwise than their files say:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM wk_wodtop_product")
        .fetch_one(&env.pool)
        .await
        .expect("the table is still there");
    assert_eq!(count as usize, rows.len());
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_of_five_thousand_records_is_written_whole_except_its_one_bad_record() {
    const RECORDS: i64 = 5_000;
    const BAD: i64 = FIRST_KEY + 2_500;
    let env = TestEnv::start(100).await;
    let records: Vec<EnvelopeRecord> = (FIRST_KEY..FIRST_KEY + RECORDS)
        .map(|key| {
            let mut r = standard(key);
            if key == BAD {
                r.record.insert("FName".into(), json!("长".repeat(10_000)));
            }
            r
        })
        .collect();
    let body = envelope(env.job(), records);
    assert!(
        body.len() > 1_000_000,
        "a big message: {} bytes",
        body.len()
    );
    assert!(Envelope::from_json(&body).is_ok());
    // Over the default message limit (1 MiB): this worker accepts messages up to 4 MiB.
    let vars = [(
        "K3SYNC__AMQP__MAX_MESSAGE_BYTES".to_owned(),
        (4 * 1024 * 1024).to_string(),
    )];
    let (rows, letters) = run_through_a_worker_with(&env, vec![body], 1, &vars).await;
    let written = rows
        .keys()
        .filter(|k| (FIRST_KEY..FIRST_KEY + RECORDS).contains(k))
        .count();
    assert_eq!(written as i64, RECORDS - 1, "every good record written");
    assert!(!rows.contains_key(&BAD));
    assert_eq!(
        letters.len(),
        1,
        "{:?}",
        letters.iter().map(|l| &l.error).collect::<Vec<_>>()
    );
    assert_eq!(
        (letters[0].class.as_str(), letters[0].key),
        ("data", Some(BAD))
    );
    assert!(
        letters[0].error.contains("Data too long for column 'name'"),
        "{}",
        letters[0].error
    );
    env.cleanup().await;
}
