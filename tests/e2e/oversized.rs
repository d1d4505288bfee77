//! Oversized input must not stall a job: a record larger than one statement may be, a message
//! larger than the worker accepts, a batch of wide rows, and a corpus of hostile messages — each
//! against the real broker and database, with the worker's memory read from `/proc`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use k3sync_tests::chaos::{self, Row, expected_row, material, publish_raw};
use k3sync_tests::envelopes::{EnvelopeRecord, envelope_of};
use k3sync_tests::{InProcessWorker, TestEnv, wait_for};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const MIB: usize = 1024 * 1024;

fn good(key: i64) -> EnvelopeRecord {
    material(
        key,
        &format!("G-{key}"),
        json!(format!("好的{key}")),
        "2024-05-01T10:00:00.5",
    )
}

fn expected_of(records: &[EnvelopeRecord]) -> BTreeMap<i64, Row> {
    records
        .iter()
        .map(|r| (r.key, expected_row(&Value::Object(r.record.clone()))))
        .collect()
}

async fn wait_for_rows(env: &TestEnv, count: usize) -> BTreeMap<i64, Row> {
    wait_for(
        &format!("{count} rows"),
        Duration::from_secs(180),
        || async {
            let table = chaos::table(&env.pool).await.ok()?;
            (table.len() >= count).then_some(table)
        },
    )
    .await
}

/// Messages waiting in the job's retry tiers (none may be used here).
async fn in_retry_tiers(env: &TestEnv) -> usize {
    let topology = env.topology();
    let mut total = 0;
    for tier in 1..=topology.tier_delays_ms.len() {
        total += env.take_all(&topology.retry_queue(tier)).await.len();
    }
    total
}

/// A record of `bytes` bytes of name among 98 good ones, then ten messages of 100 good records:
/// the big one is dead-lettered alone (`too_large`, naming the limit and its size), everything
/// else is written, no retry tier is used, and the worker goes on consuming.
async fn one_huge_record_does_not_hold_up_the_rest(bytes: usize) {
    let env = TestEnv::start(10).await;
    let mut settings = env.settings.clone();
    // The message carrying the record must itself be accepted to be decoded record by record.
    settings.amqp.max_message_bytes = 96 * MIB;
    const BAD: i64 = 9_000_050;
    let mut first: Vec<EnvelopeRecord> = (9_000_001..9_000_100).map(good).collect();
    let huge = material(
        BAD,
        "HUGE",
        json!("大".repeat(bytes / 3)),
        "2024-05-01T10:00:00.5",
    );
    first[(BAD - 9_000_001) as usize] = huge;
    let mut bodies = vec![envelope_of(env.job(), first.clone()).to_json()];
    let mut written: Vec<EnvelopeRecord> = first.into_iter().filter(|r| r.key != BAD).collect();
    for m in 0..10 {
        let records: Vec<_> = (0..100).map(|i| good(9_100_000 + m * 100 + i)).collect();
        bodies.push(envelope_of(env.job(), records.clone()).to_json());
        written.extend(records);
    }
    publish_raw(&env, bodies).await;
    let worker = InProcessWorker::start(&env, &settings);
    let table = wait_for_rows(&env, written.len()).await;
    assert_eq!(
        table,
        expected_of(&written),
        "every other record is written"
    );

    let dead = wait_for("the dead letter", Duration::from_secs(60), || async {
        let d = chaos::drain_dead(&env).await;
        (!d.is_empty()).then_some(d)
    })
    .await;
    assert_eq!(
        dead.len(),
        1,
        "{:?}",
        dead.iter().map(|d| &d.error).collect::<Vec<_>>()
    );
    assert_eq!(
        (dead[0].class.as_str(), dead[0].key),
        ("too_large", Some(BAD))
    );
    assert!(
        dead[0].error.contains("max_allowed_packet") && dead[0].error.contains("bytes"),
        "{}",
        dead[0].error
    );
    assert!(
        dead[0].body.len() > bytes,
        "the dead letter keeps the whole record"
    );
    assert_eq!(in_retry_tiers(&env).await, 0, "no retry tier is used");

    // The error_log row is bounded: an excerpt, the full size and a digest.
    let (class, payload_len, payload_bytes, digest): (String, i64, i64, String) = sqlx::query_as(
        "SELECT class, LENGTH(payload), payload_bytes, payload_sha256 FROM error_log WHERE job = ?",
    )
    .bind(env.job())
    .fetch_one(&env.pool)
    .await
    .expect("one error_log row");
    assert_eq!(class, "too_large");
    assert!(payload_len <= 64 * 1024, "{payload_len}");
    assert_eq!(payload_bytes as usize, dead[0].body.len());
    assert_eq!(digest.len(), 64);

    // Still consuming: a message published now is written.
    let later = vec![good(9_200_001)];
    publish_raw(&env, vec![envelope_of(env.job(), later).to_json()]).await;
    let table = wait_for_rows(&env, written.len() + 1).await;
    assert!(table.contains_key(&9_200_001));
    worker.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_twenty_megabyte_record_is_dead_lettered_alone_and_everything_behind_it_is_written() {
    one_huge_record_does_not_hold_up_the_rest(20 * 1_000_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forty_megabyte_record_is_dead_lettered_alone_and_its_error_log_row_stays_small() {
    one_huge_record_does_not_hold_up_the_rest(40 * 1_000_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_size_limit_is_dead_lettered_undecoded_with_its_size() {
    let env = TestEnv::start(10).await;
    let limit = env.settings.amqp.max_message_bytes;
    let records: Vec<_> = (0..100)
        .map(|i| {
            let key = 9_300_000 + i;
            material(
                key,
                &format!("W-{key}"),
                json!("宽".repeat(limit / 150)),
                "2024-05-01T10:00:00.5",
            )
        })
        .collect();
    let big = envelope_of(env.job(), records).to_json();
    assert!(big.len() > limit);
    let after = vec![good(9_300_500)];
    publish_raw(
        &env,
        vec![big.clone(), envelope_of(env.job(), after.clone()).to_json()],
    )
    .await;
    let worker = InProcessWorker::start(&env, &env.settings);
    let table = wait_for_rows(&env, 1).await;
    assert_eq!(table, expected_of(&after));
    let dead = wait_for("the dead letter", Duration::from_secs(60), || async {
        let d = chaos::drain_dead(&env).await;
        (!d.is_empty()).then_some(d)
    })
    .await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].class, "too_large");
    assert!(
        dead[0]
            .error
            .contains(&format!("message of {} bytes", big.len()))
            && dead[0].error.contains("max_message_bytes"),
        "{}",
        dead[0].error
    );
    assert_eq!(dead[0].body, big, "kept verbatim, not decoded");
    worker.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_a_thousand_fifty_kilobyte_rows_is_written_without_a_refusal() {
    let env = TestEnv::start(10).await;
    // A wide form: the specification column holds 50 KB.
    sqlx::query("ALTER TABLE wk_wodtop_product MODIFY specification_model MEDIUMTEXT NULL")
        .execute(&env.pool)
        .await
        .expect("widen the column");
    let mut settings = env.settings.clone();
    settings.amqp.max_message_bytes = 8 * MIB;
    let spec = |key: i64| format!("{key}-{}", "规".repeat(50_000 / 3));
    let records: Vec<EnvelopeRecord> = (0..1_000)
        .map(|i| {
            let key = 9_400_000 + i;
            let mut r = good(key);
            r.record.insert("FSpecification".into(), json!(spec(key)));
            r
        })
        .collect();
    let bodies = records
        .chunks(100)
        .map(|c| envelope_of(env.job(), c.to_vec()).to_json())
        .collect();
    publish_raw(&env, bodies).await;
    let worker = InProcessWorker::start(&env, &settings);
    let table = wait_for_rows(&env, 1_000).await;
    worker.stop().await;
    assert_eq!(table, expected_of(&records), "all 1,000 wide rows, exactly");
    assert!(chaos::drain_dead(&env).await.is_empty(), "none refused");
    assert_eq!(in_retry_tiers(&env).await, 0);
    env.cleanup().await;
}

/// `VmHWM` (peak resident set) of a process, bytes.
fn peak_rss(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .expect("VmHWM")
        * 1024
}

/// The documented bound (README, "Operations"): a worker with the default settings stays under
/// 100 MiB whatever the messages it accepts (`amqp.max_message_bytes` and under).
const WORKER_RSS_BOUND: usize = 100 * MIB;

/// A body of about `bytes` bytes that is valid JSON but no envelope: `{"v":2,"x":[[[…]]]}`.
fn deeply_nested(bytes: usize) -> Vec<u8> {
    let depth = bytes / 2;
    format!(
        r#"{{"v":2,"x":{}{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workers_peak_memory_stays_under_the_documented_bound_for_hostile_messages() {
    let env = TestEnv::start(10).await;
    let limit = env.settings.amqp.max_message_bytes;
    let job = env.job().to_owned();
    let mut bodies = Vec::new();
    let mut good_rows = 0;
    let mut dead = 0;
    for round in 0..4 {
        let base = 9_500_000 + round * 100_000;
        // A huge field: one record as large as a message may be (MySQL refuses the name).
        let name = "巨".repeat((limit - 4_096) / 3);
        let huge = material(
            base,
            &format!("H-{base}"),
            json!(name),
            "2024-05-01T10:00:00.5",
        );
        bodies.push(envelope_of(&job, vec![huge]).to_json());
        dead += 1;
        // Very many records: as many small, valid records as fit in one message.
        let mut many = Vec::new();
        let mut size = 0;
        let mut key = base + 1;
        while size + 600 < limit {
            many.push(good(key));
            size += envelope_of(&job, vec![good(key)]).to_json().len() - 150;
            key += 1;
        }
        let body = envelope_of(&job, many.clone()).to_json();
        assert!(body.len() <= limit, "{} > {limit}", body.len());
        good_rows += many.len();
        bodies.push(body);
        // Deep nesting, a key as a long number, long field names.
        bodies.push(deeply_nested(limit - 64));
        dead += 1;
        let long_key = format!(
            r#"{{"v":2,"job":"{job}","form_id":"BD_MATERIAL","run_id":"6f1f0f54-7c1e-4c52-9a39-0c1d8f0e2a01","fields":["FMaterialId"],"records":[{{"key":{},"modified":"2024-01-01T00:00:00","values":[1]}}]}}"#,
            "9".repeat(limit / 2)
        );
        bodies.push(long_key.into_bytes());
        dead += 1;
        let mut odd = good(base + 99_999);
        odd.record.insert("F".repeat(limit / 2), json!(1));
        bodies.push(envelope_of(&job, vec![odd]).to_json());
        good_rows += 1;
    }
    assert!(bodies.iter().all(|b| b.len() <= limit));
    publish_raw(&env, bodies).await;

    let config = env.write_config();
    let workers = chaos::Workers::start(&env, &config, 1, &[]);
    let pid = workers.pids()[0];
    let peak = AtomicUsize::new(0);
    wait_for(
        "every hostile message settled",
        Duration::from_secs(300),
        || async {
            peak.fetch_max(peak_rss(pid), Ordering::Relaxed);
            let rows = chaos::row_count(&env.pool).await.unwrap_or(0);
            let settled = chaos::QueueWatch::new(&env).dead().await.unwrap_or(0) as usize;
            (rows >= good_rows && settled >= dead).then_some(())
        },
    )
    .await;
    let peak = peak.into_inner().max(peak_rss(pid));
    workers.stop().await;
    assert_eq!(chaos::row_count(&env.pool).await, Some(good_rows));
    let letters = chaos::drain_dead(&env).await;
    assert_eq!(
        letters.len(),
        dead,
        "{:?}",
        letters.iter().map(|l| &l.class).collect::<Vec<_>>()
    );
    eprintln!(
        "worker peak RSS {} MiB under {} hostile messages",
        peak / MIB,
        letters.len()
    );
    assert!(
        peak < WORKER_RSS_BOUND,
        "peak RSS {} MiB over the documented {} MiB",
        peak / MIB,
        WORKER_RSS_BOUND / MIB
    );
    chaos::remove_logs(&env);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_record_too_large_to_publish_is_recorded_with_its_key_and_the_pass_goes_on() {
    let env = TestEnv::start(300).await;
    let rows = env.mock_rows().await;
    let matching: Vec<&Value> = rows
        .iter()
        .filter(|r| k3sync_tests::matches_job_filter(r))
        .collect();
    let big = matching[7]["FMaterialId"].as_i64().expect("FMaterialId");
    // A name larger than a whole message may be (amqp.max_message_bytes, 1 MiB by default).
    let name = "巨".repeat(env.settings.amqp.max_message_bytes / 3 + 1_000);
    env.mock_send(
        reqwest::Method::POST,
        "/_mock/rows",
        json!([{"FMaterialId": big, "FName": name}]),
    )
    .await;
    let producer = k3sync_producer::Producer::connect(env.settings.clone())
        .await
        .expect("producer");
    let report = producer
        .run_pass(
            env.job(),
            k3sync_common::settings::SyncMode::Full,
            &CancellationToken::new(),
        )
        .await
        .expect("the pass goes on past the record");
    assert_eq!(report.status.as_str(), "succeeded");
    assert_eq!(report.records as usize, matching.len());
    let published: Vec<i64> = env
        .drain_work_queue()
        .await
        .iter()
        .flat_map(|e| e.records.iter().map(|r| r.key))
        .collect();
    assert_eq!(published.len(), matching.len() - 1, "every other record");
    assert!(!published.contains(&big));

    let logged: Vec<(String, Option<i64>, String, i64)> = sqlx::query_as(
        "SELECT class, record_key, error, payload_bytes FROM error_log WHERE job = ?",
    )
    .bind(env.job())
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(
        (logged[0].0.as_str(), logged[0].1),
        ("too_large", Some(big))
    );
    assert!(
        logged[0].2.contains("amqp.max_message_bytes"),
        "{}",
        logged[0].2
    );
    assert!(logged[0].3 as usize > env.settings.amqp.max_message_bytes);

    let config = env.write_config();
    let output = tokio::process::Command::new(k3sync_tests::binary("ctl"))
        .args([
            "--config",
            &config.display().to_string(),
            "status",
            "--json",
        ])
        .output()
        .await
        .expect("ctl status");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        doc["jobs"][0]["unresolved_dead_letters"],
        json!({"too_large": 1})
    );
    env.cleanup().await;
}
