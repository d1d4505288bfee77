//! The producer against the real broker and database with the mock as Kingdee: what lands on the
//! queue is exactly what Kingdee holds, through edits, crashes, faults and bad pages.

use k3sync_tests::envelopes::records_of;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k3sync_common::amqp::Envelope;
use k3sync_common::settings::SyncMode;
use k3sync_common::state::RunStatus;
use k3sync_producer::Producer;
use k3sync_tests::chaos::producer_args;
use k3sync_tests::{TestEnv, matches_job_filter, run_binary, wait_for};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// Every (key, modified) the envelopes carry, in order.
fn published(envelopes: &[Envelope]) -> Vec<(i64, String)> {
    envelopes
        .iter()
        .flat_map(|e| e.records.iter().map(|r| (r.key, r.modified.clone())))
        .collect()
}

fn expected_keys(rows: &[Value]) -> BTreeSet<i64> {
    rows.iter()
        .filter(|r| matches_job_filter(r))
        .map(|r| r["FMaterialId"].as_i64().expect("FMaterialId"))
        .collect()
}

async fn pass(env: &TestEnv, mode: SyncMode) -> k3sync_producer::PassReport {
    let producer = Producer::connect(env.settings.clone())
        .await
        .expect("producer connects");
    producer
        .run_pass(env.job(), mode, &CancellationToken::new())
        .await
        .expect("pass succeeds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_puts_every_matching_row_on_the_queue_once_with_its_fields_intact() {
    let env = TestEnv::start(20_000).await;
    let rows = env.mock_rows().await;
    let report = pass(&env, SyncMode::Full).await;
    assert_eq!(report.status, RunStatus::Succeeded);

    let envelopes = env.drain_work_queue().await;
    let keys: Vec<i64> = published(&envelopes).into_iter().map(|(k, _)| k).collect();
    let unique: BTreeSet<i64> = keys.iter().copied().collect();
    assert_eq!(keys.len(), unique.len(), "a key was published twice");
    assert_eq!(unique, expected_keys(&rows));
    assert_eq!(report.records, keys.len() as u64);
    assert!(
        envelopes
            .iter()
            .all(|e| e.records.len() <= 100 && e.job == env.job())
    );

    // Fields intact: every fetched field equals the mock's value, Chinese text included.
    let by_key: BTreeMap<i64, &Value> = rows
        .iter()
        .map(|r| (r["FMaterialId"].as_i64().unwrap(), r))
        .collect();
    let mut chinese = 0;
    for record in envelopes.iter().flat_map(records_of) {
        let truth = by_key[&record.key];
        for (field, value) in &record.record {
            assert_eq!(
                &truth[field.as_str()],
                value,
                "field {field} of key {}",
                record.key
            );
        }
        assert_eq!(record.modified, truth["FModifyDate"].as_str().unwrap());
        if record.record["FName"]
            .as_str()
            .is_some_and(|n| n.chars().any(|c| c > '\u{2e80}'))
        {
            chinese += 1;
        }
    }
    assert!(chinese > 0, "the data set should carry Chinese names");
    let runs: (String, i64, i64) =
        sqlx::query_as("SELECT status, pages, records FROM sync_runs WHERE run_id = ?")
            .bind(report.run_id.to_string())
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(
        runs,
        ("succeeded".into(), report.pages as i64, keys.len() as i64)
    );
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_pass_after_a_touch_publishes_exactly_the_touched_rows() {
    let mut env = TestEnv::start(5_000).await;
    // No overlap window: with one, the passes re-read the last minutes on purpose.
    env.settings.jobs[0].overlap_secs = 0;
    let first = pass(&env, SyncMode::Incremental).await;
    assert_eq!(
        first.records as usize,
        expected_keys(&env.mock_rows().await).len()
    );
    env.drain_work_queue().await;

    let filter = env.settings.jobs[0].matching();
    let touched = env
        .mock_send(
            Method::POST,
            "/_mock/touch",
            json!({"count": 100, "filter": filter}),
        )
        .await;
    let touched: BTreeSet<i64> = touched_ids(&touched);
    assert_eq!(touched.len(), 100);

    let second = pass(&env, SyncMode::Incremental).await;
    let keys: Vec<i64> = published(&env.drain_work_queue().await)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys.len(), 100, "only the touched rows are published again");
    assert_eq!(keys.into_iter().collect::<BTreeSet<_>>(), touched);
    assert_eq!(second.records, 100);

    let third = pass(&env, SyncMode::Incremental).await;
    assert_eq!(third.records, 0, "nothing changed since the last pass");
    env.cleanup().await;
}

fn touched_ids(answer: &Value) -> BTreeSet<i64> {
    let list = answer
        .get("ids")
        .or_else(|| answer.get("touched"))
        .unwrap_or(answer);
    list.as_array()
        .unwrap_or_else(|| panic!("touch answered {answer}"))
        .iter()
        .map(|v| {
            v.as_i64()
                .or_else(|| v["FMaterialId"].as_i64())
                .expect("an id")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_edited_while_a_pass_is_paging_is_still_delivered() {
    let mut env = TestEnv::start(6_000).await;
    env.settings.jobs[0].page_size = 500;
    env.mock_send(Method::PUT, "/_mock/faults", json!({"latency_ms": 150}))
        .await;
    let rows = env.mock_rows().await;
    // The first matching row in modification order: read on the first page, then edited.
    let mut matching: Vec<&Value> = rows.iter().filter(|r| matches_job_filter(r)).collect();
    matching.sort_by_key(|r| {
        (
            r["FModifyDate"].as_str().unwrap().to_owned(),
            r["FMaterialId"].as_i64(),
        )
    });
    let early = matching[0]["FMaterialId"].as_i64().unwrap();

    let settings = env.settings.clone();
    let job = env.job().to_owned();
    let pass = tokio::spawn(async move {
        let producer = Producer::connect(settings).await.expect("producer");
        producer
            .run_pass(&job, SyncMode::Incremental, &CancellationToken::new())
            .await
    });
    wait_for(
        "the first page to be served",
        Duration::from_secs(30),
        || async {
            let stats = env.mock_get("/_mock/stats").await;
            (stats["services"]["ExecuteBillQuery"]["ok"]
                .as_u64()
                .unwrap_or(0)
                >= 2)
                .then_some(())
        },
    )
    .await;
    let answer = env
        .mock_send(Method::POST, "/_mock/touch", json!({"ids": [early]}))
        .await;
    assert_eq!(touched_ids(&answer), BTreeSet::from([early]));
    let report = pass.await.unwrap().expect("pass");
    assert_eq!(report.status, RunStatus::Succeeded);

    let versions: Vec<String> = published(&env.drain_work_queue().await)
        .into_iter()
        .filter(|(k, _)| *k == early)
        .map(|(_, m)| m)
        .collect();
    let now = env.mock_get(&format!("/_mock/rows?ids={early}")).await;
    let new_version = now[0]["FModifyDate"].as_str().unwrap().to_owned();
    assert_eq!(
        versions.len(),
        2,
        "read once before and once after the edit: {versions:?}"
    );
    assert_eq!(versions.last(), Some(&new_version));
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_producers_on_one_job_never_publish_a_record_twice() {
    let mut env = TestEnv::start(8_000).await;
    // No overlap window: with one, the second pass re-reads the last minutes on purpose.
    env.settings.jobs[0].overlap_secs = 0;
    env.mock_send(Method::PUT, "/_mock/faults", json!({"latency_ms": 50}))
        .await;
    let start = || {
        let settings = env.settings.clone();
        let job = env.job().to_owned();
        tokio::spawn(async move {
            let producer = Producer::connect(settings).await.expect("producer");
            producer
                .run_pass(&job, SyncMode::Incremental, &CancellationToken::new())
                .await
        })
    };
    let (a, b) = (start(), start());
    let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
    let keys: Vec<i64> = published(&env.drain_work_queue().await)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let unique: BTreeSet<i64> = keys.iter().copied().collect();
    assert_eq!(keys.len(), unique.len(), "no record published twice");
    assert_eq!(unique, expected_keys(&env.mock_rows().await));
    // One paged everything; the other waited for the lock and found nothing new.
    let mut records = [a.records, b.records];
    records.sort();
    assert_eq!(records, [0, keys.len() as u64]);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_rate_limit_holds() {
    let mut env = TestEnv::start(3_000).await;
    env.settings.kingdee.requests_per_second = 4;
    env.settings.jobs[0].page_size = 100;
    let report = pass(&env, SyncMode::Full).await;
    assert!(
        report.pages >= 10,
        "enough pages to measure: {}",
        report.pages
    );
    let requests = env.mock_get("/_mock/requests").await;
    let times: Vec<u64> = requests
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["service"] == "ExecuteBillQuery")
        .map(|r| r["at_ms"].as_u64().unwrap())
        .collect();
    assert!(times.len() as u64 >= report.pages);
    // The limiter spaces requests 250 ms apart (burst 1), so the fifth may be sent exactly one
    // second after the first; the mock stamps arrivals, and a first request that took a few ms
    // longer to arrive would put five in one second. A window of 950 ms allows that jitter and
    // still catches any faster rate (5 per second already puts five within 800 ms).
    for (i, t) in times.iter().enumerate() {
        let in_window = times[i..].iter().take_while(|u| **u < t + 950).count();
        assert!(
            in_window <= 4,
            "{in_window} requests within 950 ms from {t}: {:?}",
            &times[i..(i + in_window)]
        );
    }
    env.drain_work_queue().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_thirty_percent_of_requests_failing_the_pass_completes_with_the_exact_set() {
    let mut env = TestEnv::start(10_000).await;
    env.settings.jobs[0].page_size = 500;
    env.settings.kingdee.request_timeout_secs = 1;
    env.settings.kingdee.retry_attempts = 12;
    env.mock_send(
        Method::PUT,
        "/_mock/faults",
        json!({"http500": 0.1, "msgcode14": 0.1, "hang": 0.1, "hang_ms": 2500, "seed": 7}),
    )
    .await;
    let report = pass(&env, SyncMode::Full).await;
    let keys: Vec<i64> = published(&env.drain_work_queue().await)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let unique: BTreeSet<i64> = keys.iter().copied().collect();
    assert_eq!(keys.len(), unique.len());
    assert_eq!(unique, expected_keys(&env.mock_rows().await));
    assert_eq!(report.records as usize, keys.len());
    let stats = env.mock_get("/_mock/stats").await;
    let bq = &stats["services"]["ExecuteBillQuery"];
    let failed = bq["http500"].as_u64().unwrap_or(0)
        + bq["msgcode14"].as_u64().unwrap_or(0)
        + bq["hang"].as_u64().unwrap_or(0);
    assert!(failed > 0, "faults were injected: {stats}");
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_stops_the_producer_with_a_clear_message_after_two_requests() {
    let env = TestEnv::start(1_000).await;
    let config = env.write_config();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "0123456789abcdef0123456789abcdef",
            "ffffffffffffffffffffffffffffffff",
        ),
    )
    .unwrap();
    let (code, stderr) = run_binary(
        "producer",
        &[
            "--config",
            config.to_str().unwrap(),
            "sync",
            "--job",
            env.job(),
            "--once",
        ],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_ne!(code, 0, "{stderr}");
    assert!(
        stderr.contains("MsgCode 1") && stderr.contains("app_secret"),
        "{stderr}"
    );
    let stats = env.mock_get("/_mock/stats").await;
    assert!(stats["total"].as_u64().unwrap() <= 2, "{stats}");
    assert!(
        !stderr.contains("0123456789abcdef") && !stderr.contains("ffffffffffffffff"),
        "secret in logs: {stderr}"
    );
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_pages_fail_the_pass_naming_the_page_and_keep_the_cursor_before_it() {
    for kind in ["html", "truncated", "wrong_row_length"] {
        let mut env = TestEnv::start(3_000).await;
        env.settings.jobs[0].page_size = 200;
        // One stream, so that "page 2" is one page (partitions: tests/e2e/partitions.rs).
        env.settings.kingdee.max_in_flight = 1;
        env.mock_send(
            Method::POST,
            "/_mock/faults/next",
            json!({"after": 2, "kinds": [kind]}),
        )
        .await;
        let producer = Producer::connect(env.settings.clone()).await.unwrap();
        let error = producer
            .run_pass(env.job(), SyncMode::Full, &CancellationToken::new())
            .await
            .expect_err("a malformed page fails the pass");
        let message = format!("{error:#}");
        assert!(message.contains("page 2"), "{kind}: {message}");
        // Two good pages were confirmed: the cursor is the last key of page 1, and no further.
        let envelopes = env.drain_work_queue().await;
        let keys: Vec<i64> = published(&envelopes).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), 400, "{kind}");
        let cursor: Option<i64> =
            sqlx::query_scalar("SELECT cursor_key FROM sync_state WHERE job = ? AND mode = 'full'")
                .bind(env.job())
                .fetch_one(&env.pool)
                .await
                .unwrap();
        assert_eq!(cursor, keys.iter().copied().max(), "{kind}");
        let status: String = sqlx::query_scalar("SELECT status FROM sync_runs WHERE job = ?")
            .bind(env.job())
            .fetch_one(&env.pool)
            .await
            .unwrap();
        assert_eq!(status, "failed");
        env.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_killed_between_pages_resumes_from_its_checkpoint() {
    let env = TestEnv::start(12_000).await;
    env.mock_send(Method::PUT, "/_mock/faults", json!({"latency_ms": 300}))
        .await;
    let config = env.write_config();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("page_size = 2000", "page_size = 1000"),
    )
    .unwrap();
    let owned = producer_args(&env, &config);
    let args: Vec<&str> = owned.iter().map(String::as_str).collect();
    let binary = k3sync_tests::binary("producer");
    assert!(
        binary.exists(),
        "build the binaries first (cargo nextest run --workspace): {binary:?}"
    );
    let mut child = tokio::process::Command::new(&binary)
        .args(&args)
        .spawn()
        .unwrap();
    wait_for("two confirmed pages", Duration::from_secs(60), || async {
        let pages: Option<i64> = sqlx::query_scalar("SELECT pages FROM sync_runs WHERE job = ?")
            .bind(env.job())
            .fetch_optional(&env.pool)
            .await
            .unwrap();
        (pages.unwrap_or(0) >= 2).then_some(())
    })
    .await;
    child.kill().await.unwrap(); // SIGKILL: no chance to clean up
    let (code, stderr) = run_binary("producer", &args, Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(code, 0, "{stderr}");

    let keys: Vec<i64> = published(&env.drain_work_queue().await)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let unique: BTreeSet<i64> = keys.iter().copied().collect();
    assert_eq!(
        unique,
        expected_keys(&env.mock_rows().await),
        "no key missing"
    );
    // The demo's max_in_flight 4: four partitions read at once, each may send its one
    // unconfirmed page again.
    assert!(
        keys.len() - unique.len() <= 4 * 1000,
        "at most one page per partition sent twice: {} extra",
        keys.len() - unique.len()
    );
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_pauses_while_the_work_queue_is_over_its_depth_limit() {
    let mut env = TestEnv::start(6_000).await;
    env.settings.jobs[0].page_size = 200;
    env.settings.amqp.records_per_message = 50;
    env.settings.producer.max_queue_depth = 8;
    let settings = env.settings.clone();
    let job = env.job().to_owned();
    let pass = tokio::spawn(async move {
        let producer = Producer::connect(settings).await.expect("producer");
        producer
            .run_pass(&job, SyncMode::Full, &CancellationToken::new())
            .await
    });
    // Without a consumer the queue fills to the limit plus at most one page (4 messages: the
    // depth is checked before each page is published), then the producer waits: requests stop
    // (the page fetched ahead waits in hand) while the pass is still running.
    let queue = env.topology().work_queue();
    let depth = || async {
        let connection = k3sync_common::amqp::connect(&env.settings.amqp, "k3sync-test")
            .await
            .unwrap();
        let channel = k3sync_common::amqp::open_channel(&connection, false)
            .await
            .unwrap();
        // Not declared yet (the producer is still connecting) counts as empty.
        let ready = k3sync_common::amqp::topology::queue_depth(&channel, &queue)
            .await
            .map_or(0, |(ready, _)| ready);
        let _ = connection.close(200, "done".into()).await;
        ready
    };
    wait_for(
        "the queue to reach its limit",
        Duration::from_secs(30),
        || async { (depth().await > 8).then_some(()) },
    )
    .await;
    let requests = || async {
        env.mock_get("/_mock/stats").await["services"]["ExecuteBillQuery"]["ok"]
            .as_u64()
            .unwrap()
    };
    // The page fetched ahead may be taken from the fetcher just as the limit is seen, which
    // lets it send one more request before the pass blocks: start counting once that settled.
    let before = wait_for(
        "the fetch ahead to settle",
        Duration::from_secs(10),
        || async {
            let first = requests().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            (requests().await == first).then_some(first)
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        requests().await,
        before,
        "no page fetched while the queue is full"
    );
    // The demo's max_in_flight 4: four partitions each see room and publish a page.
    assert!(
        depth().await <= 8 + 4 * 4 + 4,
        "one page in flight per partition and one fetched ahead at most"
    );
    assert!(!pass.is_finished());

    // Draining the queue lets the pass finish with every row published once.
    let mut keys = Vec::new();
    while !pass.is_finished() {
        keys.extend(
            published(&env.drain_work_queue().await)
                .into_iter()
                .map(|(k, _)| k),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let report = pass.await.unwrap().expect("pass");
    keys.extend(
        published(&env.drain_work_queue().await)
            .into_iter()
            .map(|(k, _)| k),
    );
    let unique: BTreeSet<i64> = keys.iter().copied().collect();
    assert_eq!(keys.len(), unique.len());
    assert_eq!(unique, expected_keys(&env.mock_rows().await));
    assert_eq!(report.records as usize, keys.len());
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_mode_publishes_only_rows_created_after_its_watermark() {
    let env = TestEnv::start(3_000).await;
    let first = pass(&env, SyncMode::New).await;
    assert_eq!(
        first.records as usize,
        expected_keys(&env.mock_rows().await).len()
    );
    env.drain_work_queue().await;

    // Two new materials and an edit of an old one: "new" mode takes only the new ones.
    let new_rows: Vec<Value> = (0..2)
        .map(|i| {
            json!({
                "FMasterId": 990_000 + i, "FNumber": format!("9.99.{i:04}"), "FName": format!("新物料{i}"),
                "FDocumentStatus": "C", "FForbidStatus": "A", "FUseOrgId.FNumber": "T00",
                "FCreateDate": format!("2030-01-0{}T08:00:00.123", i + 1),
                "FModifyDate": format!("2030-01-0{}T08:00:00.123", i + 1),
            })
        })
        .collect();
    let inserted = env
        .mock_send(Method::POST, "/_mock/rows", Value::Array(new_rows))
        .await;
    let inserted = touched_ids(&inserted);
    assert_eq!(inserted.len(), 2);
    let filter = env.settings.jobs[0].matching();
    env.mock_send(
        Method::POST,
        "/_mock/touch",
        json!({"count": 5, "filter": filter}),
    )
    .await;

    let second = pass(&env, SyncMode::New).await;
    let keys: BTreeSet<i64> = published(&env.drain_work_queue().await)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, inserted);
    assert_eq!(second.records, 2);
    env.cleanup().await;
}
