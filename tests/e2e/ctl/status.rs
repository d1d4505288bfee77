//! `ctl status` against a real run: the JSON counts are the broker's and the database's.

use std::collections::BTreeMap;

use k3sync_common::amqp::topology::EXCHANGE;
use k3sync_common::settings::SyncMode;
use k3sync_ctl::probe;
use k3sync_ctl::status::{QueueHealth, StatusOptions, StatusSource};
use k3sync_producer::Producer;
use k3sync_tests::{matches_job_filter, wait_for};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_counts_match_the_broker_and_the_database_after_a_run_with_poison() {
    let env = start(300).await;
    let expected_rows = {
        let rows = env.mock_rows().await;
        let keys: std::collections::BTreeSet<i64> = rows
            .iter()
            .filter(|r| matches_job_filter(r))
            .map(|r| r["FMasterId"].as_i64().unwrap())
            .collect();
        keys.len() as i64
    };
    let producer = Producer::connect(env.settings.clone()).await.unwrap();
    let pass = producer
        .run_pass(env.job(), SyncMode::Full, &CancellationToken::new())
        .await
        .unwrap();
    let broker = Broker::declare(&env.settings, env.job()).await;
    broker.inject(env.job(), &POISON).await;
    let worker = start_worker(&env);
    let topology = env.topology();
    wait_for("the rows and the dead letters", WAIT, || async {
        let rows = scalar(&env, "SELECT COUNT(*) FROM wk_wodtop_product").await;
        let dead = broker.depth(&topology.dead_queue()).await;
        (rows == expected_rows && dead == 7).then_some(())
    })
    .await;

    let config = env.write_config();
    let (code, stdout, stderr) = ctl(&config, &["status", "--json", "--job", env.job()]).await;
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["broker_error"], Value::Null);
    assert_eq!(doc["database_error"], Value::Null);
    let job = &doc["jobs"][0];
    assert_eq!(job["job"], env.job());

    let work = topology.work_queue();
    assert_eq!(job["work"]["name"], work);
    assert_eq!(job["work"]["state"], "ok");
    assert_eq!(job["work"]["ready"], broker.depth(&work).await);
    assert_eq!(job["work"]["consumers"], broker.consumers(&work).await);
    assert_eq!(job["work"]["consumers"], 1, "the worker consumes");
    assert_eq!(job["work"]["unacked"], Value::Null);
    assert_eq!(job["retry"].as_array().unwrap().len(), 3);
    for (i, tier) in job["retry"].as_array().unwrap().iter().enumerate() {
        assert_eq!(tier["tier"], i + 1);
        assert_eq!(tier["name"], topology.retry_queue(i + 1));
        assert_eq!(
            tier["ready"],
            broker.depth(&topology.retry_queue(i + 1)).await
        );
    }
    assert_eq!(job["retry"][0]["delay_secs"], 5);
    assert_eq!(job["dead"]["ready"], 7);
    assert_eq!(
        job["dead"]["ready"],
        broker.depth(&topology.dead_queue()).await
    );

    assert_eq!(job["target"]["table"], "wk_wodtop_product");
    assert_eq!(job["target"]["rows"], expected_rows);
    let newest: String = sqlx::query_scalar(
        "SELECT DATE_FORMAT(MAX(modify_date), '%Y-%m-%dT%H:%i:%s.%f') FROM wk_wodtop_product",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        job["target"]["newest_version"].as_str().unwrap()[..23],
        newest[..23]
    );
    assert!(job["target"]["newest_age_secs"].is_number());

    let by_class: BTreeMap<String, i64> = sqlx::query_as(
        "SELECT class, COUNT(*) FROM error_log WHERE replayed_at IS NULL GROUP BY class",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(
        by_class,
        BTreeMap::from([
            ("data".into(), 3),
            ("decode".into(), 2),
            ("mapping".into(), 2)
        ])
    );
    assert_eq!(job["unresolved_dead_letters"], json!(by_class));

    let run = &job["runs"][0];
    assert_eq!(run["run_id"], pass.run_id.to_string());
    assert_eq!(run["mode"], "full");
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["records"], pass.records);
    assert_eq!(run["pages"], pass.pages);
    assert!(run["duration_secs"].as_f64().unwrap() >= 0.0);
    assert!(run["started_at"].is_string() && run["finished_at"].is_string());
    let health = &job["health"];
    assert_eq!(health["failing"], false);
    assert_eq!(health["reasons"], json!([]));
    assert_eq!(health["failed_in_a_row"], 0);
    assert_eq!(health["last_error_class"], Value::Null);
    assert!(health["last_success_at"].is_string());

    worker.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_queues_that_were_never_declared_as_missing() {
    let env = start(50).await;
    let report = StatusSource::new(&env.settings)
        .unwrap()
        .snapshot(&StatusOptions::default())
        .await
        .unwrap();
    assert_eq!(report.broker_error, None);
    let job = &report.jobs[0];
    assert_eq!(job.work.state, QueueHealth::Missing);
    assert!(
        job.retry
            .iter()
            .all(|t| t.queue.state == QueueHealth::Missing)
    );
    assert_eq!(job.dead.state, QueueHealth::Missing);
    assert_eq!(job.target.rows, Some(0));
    assert!(job.runs.is_empty());
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passive_look_at_a_missing_queue_does_not_break_the_next_one() {
    let env = start(50).await;
    let broker = Broker::declare(&env.settings, env.job()).await;
    let mut look = probe::Probe::new(&broker.connection);
    assert_eq!(
        look.queue("k3sync.no-such-queue").await.unwrap(),
        probe::QueueState::Missing
    );
    assert!(matches!(
        look.queue(&env.topology().dead_queue()).await.unwrap(),
        probe::QueueState::Present { ready: 0, .. }
    ));
    assert!(!look.exchange("k3sync.no-such-exchange").await.unwrap());
    assert!(look.exchange(EXCHANGE).await.unwrap());
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_watch_json_into_head_is_three_json_documents_and_nothing_else() {
    let env = start(50).await;
    let config = env.write_config();
    let ctl = k3sync_tests::binary("ctl");
    let pipeline = format!(
        "'{}' --config '{}' status --watch --json --interval 1 | head -3",
        ctl.display(),
        config.display()
    );
    let started = std::time::Instant::now();
    let output = tokio::time::timeout(
        WAIT,
        tokio::process::Command::new("sh")
            .args(["-c", &pipeline])
            .output(),
    )
    .await
    .expect("the pipeline ends once head has its three lines")
    .expect("sh");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(
        !stdout.contains('\x1b'),
        "no terminal codes off a terminal: {stdout:?}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for line in lines {
        let doc: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(doc["schema"], 1);
        assert_eq!(doc["jobs"][0]["job"], env.job());
    }
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "one report a second"
    );
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_a_job_is_failing_with_the_class_and_text_of_its_last_error() {
    let mut env = start(50).await;
    env.settings.kingdee.app_secret = secrecy::SecretString::from("f".repeat(32));
    let producer = Producer::connect(env.settings.clone()).await.unwrap();
    let cancel = CancellationToken::new();
    for _ in 0..3 {
        producer
            .run_pass(env.job(), SyncMode::Incremental, &cancel)
            .await
            .unwrap_err();
    }
    let config = env.write_config();
    let (code, stdout, stderr) = ctl(&config, &["status", "--json", "--job", env.job()]).await;
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let health = &doc["jobs"][0]["health"];
    assert_eq!(health["failing"], true, "{health}");
    assert_eq!(health["reasons"], json!(["3 passes failed in a row"]));
    assert_eq!(health["failed_in_a_row"], 3);
    assert_eq!(health["last_success_at"], Value::Null);
    assert_eq!(health["last_error_class"], "authentication");
    let error = health["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Kingdee calls paused"),
        "the 2nd and 3rd pass were held: {error}"
    );
    let (_, text, _) = ctl(&config, &["status", "--job", env.job()]).await;
    assert!(
        text.contains("health: FAILING: 3 passes failed in a row; last error (authentication): "),
        "{text}"
    );
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_the_rows_that_left_and_shows_the_last_reconciliation() {
    let env = start(1_000).await;
    let worker = start_worker(&env);
    let producer = Producer::connect(env.settings.clone()).await.unwrap();
    let run = async |mode| {
        producer
            .run_pass(env.job(), mode, &CancellationToken::new())
            .await
            .unwrap()
    };
    run(SyncMode::Incremental).await;
    let rows = env.mock_rows().await;
    let matching: Vec<&Value> = rows.iter().filter(|r| matches_job_filter(r)).collect();
    wait_for("the first load", WAIT, || async {
        let n = scalar(&env, "SELECT COUNT(*) FROM wk_wodtop_product").await;
        (n == matching.len() as i64).then_some(())
    })
    .await;
    // Two rows forbidden (the FForbidDate leave stream reads them), one un-audited (that moves
    // no date: only the reconciliation finds it): three rows leave, marked.
    let ids: Vec<i64> = matching[..3]
        .iter()
        .map(|r| r["FMaterialId"].as_i64().unwrap())
        .collect();
    let ops = [
        json!({"op": "forbid", "ids": [ids[0], ids[1]]}),
        json!({"op": "unaudit", "ids": [ids[2]]}),
    ];
    for op in ops {
        env.mock_send(reqwest::Method::POST, "/_mock/ops", op).await;
    }
    run(SyncMode::Incremental).await;
    let reconciliation = run(SyncMode::Reconcile).await;
    wait_for("three rows marked as left", WAIT, || async {
        let n = scalar(
            &env,
            "SELECT COUNT(*) FROM wk_wodtop_product WHERE left_at IS NOT NULL",
        )
        .await;
        (n == 3).then_some(())
    })
    .await;
    worker.stop().await;

    let report = StatusSource::new(&env.settings)
        .unwrap()
        .snapshot(&StatusOptions::default())
        .await
        .unwrap();
    let target = &report.jobs[0].target;
    assert_eq!(target.rows, Some(matching.len() as i64));
    assert_eq!(target.left, Some(3));
    let last = target
        .last_reconciliation
        .as_ref()
        .expect("a reconciliation");
    assert_eq!(
        (last.mode.as_str(), last.status.as_str(), last.records),
        ("reconcile", "succeeded", matching.len() as i64 - 3)
    );
    assert_eq!(last.run_id, reconciliation.run_id.to_string());
    let text = k3sync_ctl::status::render(&report, false);
    assert!(
        text.contains(&format!("{} rows, 3 left", matching.len())),
        "{text}"
    );
    assert!(text.contains("last reconciliation: "), "{text}");
    assert!(
        text.contains(&format!("succeeded, {} keys listed", matching.len() - 3)),
        "{text}"
    );
    env.cleanup().await;
}
