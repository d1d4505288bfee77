//! The worker against the real broker and database: the table ends up exactly as the mapping of
//! Kingdee's rows says, through poison, lock waits, crashes, several workers and stale replays.

use std::collections::BTreeMap;
use std::time::Duration;

use k3sync_common::settings::SyncMode;
use k3sync_producer::Producer;
use k3sync_tests::chaos::{self, Row, expected, material, publish_raw};
use k3sync_tests::envelopes::{EnvelopeRecord, envelope_of};
use k3sync_tests::{InProcessWorker, TestEnv, wait_for};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Every row of the target table, dates to the millisecond.
async fn table(env: &TestEnv) -> BTreeMap<i64, Row> {
    chaos::table(&env.pool)
        .await
        .expect("read the target table")
}

async fn row_count(env: &TestEnv) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM wk_wodtop_product")
        .fetch_one(&env.pool)
        .await
        .unwrap()
}

async fn full_pass(env: &TestEnv) -> u64 {
    let producer = Producer::connect(env.settings.clone())
        .await
        .expect("producer connects");
    let report = producer
        .run_pass(env.job(), SyncMode::Full, &CancellationToken::new())
        .await
        .expect("pass succeeds");
    report.records
}

async fn wait_for_count(env: &TestEnv, count: usize, timeout: Duration) {
    wait_for(&format!("{count} rows in the table"), timeout, || async {
        (row_count(env).await as usize >= count).then_some(())
    })
    .await;
}

fn envelope(env: &TestEnv, records: Vec<EnvelopeRecord>) -> Vec<u8> {
    envelope_of(env.job(), records).to_json()
}

/// Takes every dead letter: (class, error, key of its single record, attempt).
/// The dead letters as (class, reason, key), sorted; the queue is emptied.
async fn drain_dead(env: &TestEnv) -> Vec<(String, String, Option<i64>)> {
    let mut out: Vec<_> = chaos::drain_dead(env)
        .await
        .into_iter()
        .map(|l| (l.class, l.error, l.key))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)));
    out
}

async fn error_log(env: &TestEnv) -> Vec<(String, String, Option<i64>)> {
    let mut rows: Vec<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT class, error, record_key FROM error_log WHERE job = ?")
            .bind(env.job())
            .fetch_all(&env.pool)
            .await
            .unwrap();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)));
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_thousand_rows_land_in_mysql_exactly_as_the_mapping_says() {
    let env = TestEnv::start(50_000).await;
    let want = expected(&env.mock_rows().await);
    let worker = InProcessWorker::start(&env, &env.settings);
    let published = full_pass(&env).await;
    assert_eq!(published as usize, want.len());
    wait_for_count(&env, want.len(), Duration::from_secs(240)).await;
    worker.stop().await;
    let got = table(&env).await;
    assert_eq!(got.len(), want.len());
    for (key, row) in &want {
        assert_eq!(got.get(key), Some(row), "row {key}");
    }
    assert!(error_log(&env).await.is_empty());
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_at_once_give_the_same_table_without_deadlocks() {
    let env = TestEnv::start(15_000).await;
    let want = expected(&env.mock_rows().await);
    let handle = k3sync_common::health::install_metrics();
    full_pass(&env).await;
    let mut small = env.settings.clone();
    small.worker.batch_size = 300;
    let workers: Vec<_> = (0..3)
        .map(|_| InProcessWorker::start(&env, &small))
        .collect();
    wait_for_count(&env, want.len(), Duration::from_secs(240)).await;
    for w in workers {
        w.stop().await;
    }
    assert_eq!(table(&env).await, want);
    assert!(drain_dead(&env).await.is_empty());
    assert!(error_log(&env).await.is_empty());
    let metrics = handle.render();
    let retried = metrics
        .lines()
        .filter(|l| l.starts_with("k3sync_write_retries_total") && l.contains(env.job()))
        .collect::<Vec<_>>();
    assert!(
        retried.is_empty(),
        "no deadlock or lock wait forced a retry: {retried:?}"
    );
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_records_are_dead_lettered_alone_and_the_rest_of_their_batches_commits() {
    let env = TestEnv::start(500).await;
    let long_code = "X".repeat(300);
    let mut bodies = vec![
        envelope(
            &env,
            vec![
                material(900_001, "P-1", json!("好的一"), "2024-05-01T10:00:00.1"),
                material(900_002, &long_code, json!("太长"), "2024-05-01T10:00:00.2"),
                material(900_003, "P-3", json!("好的三"), "2024-05-01T10:00:00.3"),
            ],
        ),
        envelope(
            &env,
            vec![
                material(900_004, "P-4", json!("坏日期"), "2024-02-30T10:00:00.0"),
                material(900_005, "P-5", json!(null), "2024-05-01T10:00:00.5"),
                material(900_006, "P-6", json!("好的六"), "2024-05-01T10:00:00.6"),
            ],
        ),
        b"this is not json".to_vec(),
        br#"{"v":3,"job":"materials","records":[]}"#.to_vec(),
    ];
    // A record without a field the mapping reads travels in an envelope without that field.
    let mut no_name = material(900_007, "P-7", json!("x"), "2024-05-01T10:00:00.7");
    no_name.record.remove("FSpecification");
    bodies.push(envelope(&env, vec![no_name]));
    bodies.push(envelope(
        &env,
        vec![material(
            900_008,
            "P-8",
            json!("好的八"),
            "2024-05-01T10:00:00.8",
        )],
    ));
    publish_raw(&env, bodies).await;
    let worker = InProcessWorker::start(&env, &env.settings);
    wait_for_count(&env, 4, Duration::from_secs(60)).await;
    let dead = wait_for("six dead letters", Duration::from_secs(60), || async {
        let log = error_log(&env).await;
        (log.len() >= 6).then_some(log)
    })
    .await;
    worker.stop().await;

    let keys: Vec<i64> = table(&env).await.into_keys().collect();
    assert_eq!(
        keys,
        vec![900_001, 900_003, 900_006, 900_008],
        "every good record committed"
    );
    let letters = drain_dead(&env).await;
    assert_eq!(letters.len(), 6, "{letters:#?}");
    let find = |class: &str, key: Option<i64>| {
        letters
            .iter()
            .find(|l| l.0 == class && l.2 == key)
            .unwrap_or_else(|| panic!("no {class} letter for {key:?}: {letters:#?}"))
    };
    assert!(
        find("data", Some(900_002))
            .1
            .contains("Data too long for column 'code'")
    );
    assert!(find("mapping", Some(900_004)).1.contains("2024-02-30"));
    assert!(
        find("data", Some(900_005))
            .1
            .contains("Column 'name' cannot be null")
    );
    assert!(find("mapping", Some(900_007)).1.contains("FSpecification"));
    let decode: Vec<&String> = letters
        .iter()
        .filter(|l| l.0 == "decode")
        .map(|l| &l.1)
        .collect();
    assert_eq!(decode.len(), 2);
    assert!(
        decode
            .iter()
            .any(|e| e.contains("unknown envelope version 3")),
        "{decode:?}"
    );
    assert!(
        decode.iter().any(|e| e.contains("not a k3sync envelope")),
        "{decode:?}"
    );
    // error_log holds the same facts.
    assert_eq!(dead, letters);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_past_the_lock_wait_timeout_sends_the_batch_through_the_retry_tiers() {
    let mut env = TestEnv::start(300).await;
    env.settings.mysql.lock_wait_timeout_secs = 1;
    env.settings.amqp.retry_tiers_secs = vec![1, 2, 60];
    env.settings.worker.retry_attempts = 2;
    let metrics = k3sync_common::health::install_metrics();
    // Recreate the pool so its sessions get the short lock wait.
    env.pool = env.settings.mysql.pool().unwrap();
    use sqlx::Connection;
    let mut blocker = sqlx::MySqlConnection::connect(&format!(
        "{}/{}",
        k3sync_tests::mysql_server_url(),
        env.database
    ))
    .await
    .unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("SELECT * FROM wk_wodtop_product FOR UPDATE")
        .fetch_all(&mut blocker)
        .await
        .unwrap();

    let worker = InProcessWorker::start(&env, &env.settings);
    publish_raw(
        &env,
        vec![envelope(
            &env,
            vec![material(
                800_001,
                "L-1",
                json!("锁"),
                "2024-06-01T00:00:00.0",
            )],
        )],
    )
    .await;
    wait_for(
        "a retry tier to be used",
        Duration::from_secs(30),
        || async {
            let text = metrics.render();
            text.lines()
                .any(|l| l.starts_with("k3sync_records_retried_total") && l.contains(env.job()))
                .then_some(())
        },
    )
    .await;
    assert_eq!(row_count(&env).await, 0);
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    wait_for_count(&env, 1, Duration::from_secs(60)).await;
    worker.stop().await;
    assert!(drain_dead(&env).await.is_empty(), "nothing dead-lettered");
    assert!(error_log(&env).await.is_empty());
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_older_version_leaves_the_newer_row_untouched() {
    let env = TestEnv::start(100).await;
    let worker = InProcessWorker::start(&env, &env.settings);
    let newer = material(700_001, "V-1", json!("新版本"), "2024-07-01T12:00:00.500");
    publish_raw(&env, vec![envelope(&env, vec![newer])]).await;
    wait_for_count(&env, 1, Duration::from_secs(30)).await;
    let before = table(&env).await;

    let older = material(700_001, "V-0", json!("旧版本"), "2024-07-01T11:59:59.999");
    let sentinel = material(700_002, "S-1", json!("哨兵"), "2024-07-01T12:00:00.000");
    publish_raw(
        &env,
        vec![envelope(&env, vec![older]), envelope(&env, vec![sentinel])],
    )
    .await;
    wait_for_count(&env, 2, Duration::from_secs(30)).await;
    let after = table(&env).await;
    assert_eq!(
        after[&700_001], before[&700_001],
        "the older version did not overwrite"
    );
    assert_eq!(after[&700_001][1].as_deref(), Some("新版本"));

    let newest = material(700_001, "V-2", json!("最新"), "2024-07-01T12:00:01.000");
    publish_raw(&env, vec![envelope(&env, vec![newest])]).await;
    wait_for("the newest version", Duration::from_secs(30), || async {
        (table(&env).await[&700_001][1].as_deref() == Some("最新")).then_some(())
    })
    .await;
    worker.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_and_restarted_loses_and_duplicates_nothing() {
    let env = TestEnv::start(20_000).await;
    let want = expected(&env.mock_rows().await);
    full_pass(&env).await;
    let config = env.write_config();
    let args = ["--config", config.to_str().unwrap(), "--job", env.job()];
    let binary = k3sync_tests::binary("worker");
    assert!(
        binary.exists(),
        "build the binaries first (cargo nextest run --workspace): {binary:?}"
    );
    let mut child = tokio::process::Command::new(&binary)
        .args(args)
        .spawn()
        .unwrap();
    wait_for_count(&env, 1_000, Duration::from_secs(120)).await;
    child.kill().await.unwrap();
    let written_at_kill = row_count(&env).await as usize;
    assert!(written_at_kill < want.len(), "killed before the end");
    let mut again = tokio::process::Command::new(&binary)
        .args(args)
        .spawn()
        .unwrap();
    wait_for_count(&env, want.len(), Duration::from_secs(240)).await;
    again.kill().await.unwrap();
    assert_eq!(row_count(&env).await as usize, want.len());
    assert_eq!(table(&env).await, want);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_commits_and_acks_the_batch_in_hand_and_exits_zero() {
    let env = TestEnv::start(20_000).await;
    let total = full_pass(&env).await as usize;
    let config = env.write_config();
    let binary = k3sync_tests::binary("worker");
    let child = tokio::process::Command::new(&binary)
        .args(["--config", config.to_str().unwrap(), "--job", env.job()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_count(&env, 500, Duration::from_secs(120)).await;
    let pid = child.id().unwrap().to_string();
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Every record is either committed or still queued: nothing acked unwritten, nothing
    // written left unacked (it would come back and count twice here).
    let written = row_count(&env).await as usize;
    let queued: usize = env
        .drain_work_queue()
        .await
        .iter()
        .map(|e| e.records.len())
        .sum();
    assert!(written < total, "stopped before the end");
    assert_eq!(written + queued, total);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_mysql_is_unreachable_the_worker_holds_its_batch_and_writes_it_when_mysql_is_back() {
    let mut env = TestEnv::start(100).await;
    let metrics = k3sync_common::health::install_metrics();
    let proxy = k3sync_tests::proxy::TcpProxy::start("127.0.0.1:3306").await;
    let direct = k3sync_tests::mysql_server_url();
    let through_proxy = direct.replace("127.0.0.1:3306", &proxy.addr().to_string());
    env.settings.mysql.url =
        secrecy::SecretString::from(format!("{through_proxy}/{}", env.database));
    let pool = env.settings.mysql.pool().unwrap();
    let worker = {
        let cancel = CancellationToken::new();
        let settings = env.settings.clone();
        let job = env.job().to_owned();
        let token = cancel.clone();
        let handle = tokio::spawn(async move {
            let ctx = k3sync_worker::prepare(&settings, &job, pool).await?;
            k3sync_worker::run_job(ctx, token).await
        });
        (handle, cancel)
    };
    publish_raw(
        &env,
        vec![envelope(
            &env,
            vec![material(
                600_001,
                "U-1",
                json!("可用"),
                "2024-08-01T00:00:00.0",
            )],
        )],
    )
    .await;
    wait_for_count(&env, 1, Duration::from_secs(30)).await;

    proxy.set_up(false);
    publish_raw(
        &env,
        vec![envelope(
            &env,
            vec![material(
                600_002,
                "U-2",
                json!("等待"),
                "2024-08-01T00:00:01.0",
            )],
        )],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        row_count(&env).await,
        1,
        "nothing written while MySQL is away"
    );
    proxy.set_up(true);
    wait_for_count(&env, 2, Duration::from_secs(60)).await;
    worker.1.cancel();
    worker.0.await.unwrap().expect("worker stops cleanly");
    let text = metrics.render();
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("k3sync_records_retried_total") && l.contains(env.job())),
        "an outage is waited out, not sent through the retry tiers"
    );
    assert!(drain_dead(&env).await.is_empty());
    env.cleanup().await;
}
