//! `ctl dlq replay`: only the selection goes back, confirmed before it leaves the dead queue;
//! the rest keeps its order; a kill loses nothing.

use std::collections::BTreeMap;
use std::process::Stdio;

use k3sync_common::amqp;
use k3sync_common::dlq::names as headers;
use k3sync_ctl::dlq::{self, ReplayOptions, Selection};
use k3sync_ctl::status::{StatusOptions, StatusSource};
use k3sync_tests::{binary, wait_for};
use lapin::options::{BasicGetOptions, BasicNackOptions};
use lapin::types::AMQPValue;

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_the_data_class_lands_those_records_once_the_column_is_widened_and_keeps_the_rest_in_order()
 {
    let env = start(50).await;
    let broker = Broker::declare(&env.settings, env.job()).await;
    let worker = start_worker(&env);
    broker.inject(env.job(), &POISON).await;
    let dead_queue = env.topology().dead_queue();
    wait_for("seven dead letters", WAIT, || async {
        (broker.depth(&dead_queue).await == 7).then_some(())
    })
    .await;
    let before = dlq::list(&env.settings, &Selection::all(&env.settings))
        .await
        .unwrap();
    let classes: Vec<&str> = before.iter().map(|l| l.class.as_str()).collect();
    assert_eq!(
        classes.iter().filter(|c| **c == "data").count(),
        3,
        "{classes:?}"
    );
    let decode: Vec<_> = before.iter().filter(|l| l.class == "decode").collect();
    assert!(decode.iter().any(|l| {
        l.error
            .as_deref()
            .unwrap_or("")
            .contains("unknown envelope version 3")
    }));
    assert!(before.iter().filter(|l| l.class == "data").all(|l| {
        l.error
            .as_deref()
            .unwrap_or("")
            .contains("Data too long for column 'code'")
    }));

    // A dry run says what it would do and changes nothing.
    let dry = ReplayOptions {
        dry_run: true,
        ..ReplayOptions::default()
    };
    let summary = dlq::replay(&env.settings, &selection(&env, &["data"], None), &dry)
        .await
        .unwrap();
    assert_eq!((summary.letters.len(), summary.kept), (3, 4));
    assert_eq!(dead_ids(&env).await, ids(&before));

    sqlx::query("ALTER TABLE wk_wodtop_product MODIFY code VARCHAR(512) NOT NULL")
        .execute(&env.pool)
        .await
        .unwrap();
    let summary = dlq::replay(
        &env.settings,
        &selection(&env, &["data"], None),
        &ReplayOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!((summary.letters.len(), summary.kept), (3, 4));
    assert_eq!(summary.render(false), "replayed 3 (data 3), kept 4\n");

    wait_for("the replayed records to land", WAIT, || async {
        let landed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM wk_wodtop_product WHERE data_id IN (9000001, 9000003, 9000005) \
             AND CHAR_LENGTH(code) = 300",
        )
        .fetch_one(&env.pool)
        .await
        .unwrap();
        (landed == 3).then_some(())
    })
    .await;
    let code: String =
        sqlx::query_scalar("SELECT code FROM wk_wodtop_product WHERE data_id = 9000003")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(code, long_code(9_000_003));

    let kept: Vec<String> = before
        .iter()
        .filter(|l| l.class != "data")
        .map(|l| l.id.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        dead_ids(&env).await,
        kept,
        "the other classes stay, in order"
    );
    assert_eq!(
        broker.depth(&dead_queue).await,
        4,
        "nothing was dead-lettered again"
    );
    let replayed: BTreeMap<String, i64> = sqlx::query_as(
        "SELECT class, COUNT(*) FROM error_log WHERE replayed_at IS NOT NULL GROUP BY class",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(replayed, BTreeMap::from([("data".into(), 3)]));
    let status = StatusSource::new(&env.settings)
        .unwrap()
        .snapshot(&StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(
        status.jobs[0].unresolved_dead_letters,
        Some(BTreeMap::from([
            ("decode".into(), 2),
            ("mapping".into(), 2)
        ]))
    );
    worker.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_stopped_by_its_limit_resets_the_attempt_and_leaves_every_other_letter_in_order() {
    let env = start(50).await;
    let broker = Broker::declare(&env.settings, env.job()).await;
    let published = broker.dead_letters(&env, &twenty()).await;
    let summary = dlq::replay(
        &env.settings,
        &selection(&env, &["data"], Some(4)),
        &ReplayOptions::default(),
    )
    .await
    .unwrap();
    // data letters sit at 0, 3, 6, 9, 12, 15, 18: the first four go.
    let gone: Vec<String> = [0, 3, 6, 9].iter().map(|i| published[*i].clone()).collect();
    assert_eq!(ids(&summary.letters), gone);
    assert_eq!(summary.kept, 16);
    let rest: Vec<String> = published
        .iter()
        .filter(|id| !gone.contains(id))
        .cloned()
        .collect();
    assert_eq!(dead_ids(&env).await, rest);

    let replayed = broker.drain(&env.topology().work_queue()).await;
    assert_eq!(
        replayed
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>(),
        gone
    );
    for (_, h) in &replayed {
        assert_eq!(
            h.inner().get(headers::ATTEMPT),
            Some(&AMQPValue::LongLongInt(0))
        );
        for removed in [
            headers::ERROR_CLASS,
            headers::ERROR,
            headers::FAILED_AT,
            headers::WORKER,
        ] {
            assert!(!h.contains_key(removed), "{removed} is removed");
        }
        assert!(h.contains_key(headers::JOB));
    }
    let marked = scalar(
        &env,
        "SELECT COUNT(*) FROM error_log WHERE replayed_at IS NOT NULL",
    )
    .await;
    assert_eq!(marked, 4);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_killed_halfway_loses_no_dead_letter() {
    let env = start(50).await;
    let broker = Broker::declare(&env.settings, env.job()).await;
    let poison: Vec<Poison> = (0..200).map(|i| Poison::TooLong(9_200_000 + i)).collect();
    let published = broker.dead_letters(&env, &poison).await;
    let (work, dead) = (env.topology().work_queue(), env.topology().dead_queue());

    let config = env.write_config();
    let mut child = tokio::process::Command::new(binary("ctl"))
        .arg("--config")
        .arg(&config)
        .args(["dlq", "replay", "--rate", "40"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ctl runs (build it first: cargo build -p ctl)");
    wait_for("some letters replayed", WAIT, || async {
        (broker.depth(&work).await >= 20).then_some(())
    })
    .await;
    child.kill().await.unwrap();

    // The broker requeues what the dead process held; every letter is in one queue or the other.
    wait_for("every letter accounted for", WAIT, || async {
        (broker.depth(&work).await + broker.depth(&dead).await >= 200).then_some(())
    })
    .await;
    let still_dead = dead_ids(&env).await;
    let replayed: Vec<String> = broker
        .drain(&work)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(
        !replayed.is_empty() && !still_dead.is_empty(),
        "killed halfway"
    );
    for id in &published {
        assert!(
            still_dead.contains(id) || replayed.contains(id),
            "{id} was lost"
        );
    }
    let order: Vec<String> = published
        .iter()
        .filter(|id| still_dead.contains(id))
        .cloned()
        .collect();
    assert_eq!(still_dead, order, "the letters left keep their order");
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_letter_the_broker_dead_lettered_shows_as_delivery_limit_and_replays_without_death_headers()
 {
    let mut env = start(50).await;
    env.settings.amqp.delivery_limit = 1;
    let broker = Broker::declare(&env.settings, env.job()).await;
    let ids = broker
        .inject(env.job(), &[Poison::TooLong(9_300_001)])
        .await;
    let (work, dead) = (env.topology().work_queue(), env.topology().dead_queue());
    // A consumer that keeps giving the message back, as a crash-looping worker would.
    let channel = amqp::open_channel(&broker.connection, false).await.unwrap();
    wait_for("the broker to dead-letter it", WAIT, || async {
        if let Some(m) = channel
            .basic_get(work.as_str().into(), BasicGetOptions::default())
            .await
            .unwrap()
        {
            m.delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await
                .unwrap();
        }
        (broker.depth(&dead).await == 1).then_some(())
    })
    .await;
    let letters = dlq::list(&env.settings, &Selection::all(&env.settings))
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].class, dlq::DELIVERY_LIMIT);
    assert_eq!(letters[0].keys, vec![9_300_001]);
    assert_eq!(letters[0].id.as_ref(), Some(&ids[0]));
    assert!(letters[0].failed_at.is_some());

    let summary = dlq::replay(
        &env.settings,
        &selection(&env, &[dlq::DELIVERY_LIMIT], None),
        &ReplayOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(summary.letters.len(), 1);
    let replayed = broker.drain(&work).await;
    assert_eq!(replayed.len(), 1);
    let h = &replayed[0].1;
    assert!(
        !h.inner()
            .keys()
            .any(|k| k.as_str().starts_with("x-death") || k.as_str().starts_with("x-first-death")),
        "{h:?}"
    );
    assert_eq!(
        h.inner().get(headers::ATTEMPT),
        Some(&AMQPValue::LongLongInt(0))
    );
    env.cleanup().await;
}
