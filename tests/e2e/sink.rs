//! The MySQL sink against the real MariaDB and its `max_allowed_packet` (16 MiB on the test
//! server): a row bigger than that is a row failure of its own and its batch commits; wide but
//! legal rows go in several statements, none refused; a statement the server still refuses for
//! size is split like any permanent failure, never retried as a connection failure.

use std::collections::BTreeMap;
use std::sync::Arc;

use k3sync_common::mapping::{CompiledMapping, MappingSpec};
use k3sync_common::sink::{MappedRow, MySqlSink, RowFailure, RowFailureKind};
use k3sync_tests::TestEnv;
use k3sync_tests::chaos::{self, Row, material};
use k3sync_tests::envelopes::EnvelopeRecord;
use serde_json::{Value, json};

const MIB: usize = 1024 * 1024;

/// The default job's sink on the test's database, its `name` column widened to LONGTEXT so that
/// only the packet limit, not the column, stands in the way of big names (a wide form).
async fn wide_sink(env: &TestEnv) -> MySqlSink {
    sqlx::query("ALTER TABLE wk_wodtop_product MODIFY name LONGTEXT NOT NULL")
        .execute(&env.pool)
        .await
        .expect("widen the name column");
    let spec = MappingSpec::from_target(&env.settings.jobs[0].target).expect("default mapping");
    let mapping = CompiledMapping::compile(&spec).expect("default mapping compiles");
    MySqlSink::new(env.pool.clone(), Arc::new(mapping))
}

/// The server's limit, read apart from the sink.
async fn max_allowed_packet(env: &TestEnv) -> usize {
    let limit: u64 = sqlx::query_scalar("SELECT @@max_allowed_packet")
        .fetch_one(&env.pool)
        .await
        .expect("read max_allowed_packet");
    usize::try_from(limit).expect("limit fits usize")
}

/// Materials `1..=count` named by `name(key)`: the records and their mapped rows.
fn materials(
    sink: &MySqlSink,
    count: i64,
    name: impl Fn(i64) -> String,
) -> (Vec<EnvelopeRecord>, Vec<MappedRow>) {
    let records: Vec<EnvelopeRecord> = (1..=count)
        .map(|key| {
            material(
                key,
                &format!("M{key:05}"),
                json!(name(key)),
                "2024-03-12T09:32:21.125",
            )
        })
        .collect();
    let rows = records
        .iter()
        .map(|r| sink.mapping().apply(&r.record).expect("material maps"))
        .collect();
    (records, rows)
}

fn expected_of(records: &[EnvelopeRecord]) -> BTreeMap<i64, Row> {
    records
        .iter()
        .map(|r| (r.key, chaos::expected_row(&Value::Object(r.record.clone()))))
        .collect()
}

/// A name of about `bytes` bytes, Chinese as names normally are, different for every key.
fn big_name(key: i64, bytes: usize) -> String {
    let mut name = format!("物料{key}-");
    let unit = "螺丝钉六角头";
    name.push_str(&unit.repeat(bytes / unit.len()));
    name
}

/// 99 good rows and one whose name is `poison_bytes` long: the 99 are written exactly, the big
/// one comes back alone as too large, never sent (so nothing is refused or retried).
async fn one_oversized_row_fails_alone(poison_bytes: usize) {
    let env = TestEnv::start(0).await;
    let sink = wide_sink(&env).await;
    let (records, rows) = materials(&sink, 100, |key| {
        if key == 42 {
            "x".repeat(poison_bytes)
        } else {
            format!("六角螺栓 M{key}")
        }
    });
    let failures = sink
        .write_isolating(&rows)
        .await
        .expect("no transient error");
    let limit = max_allowed_packet(&env).await;
    let [failure] = failures.as_slice() else {
        panic!("want exactly one failure, got {failures:?}");
    };
    assert_eq!(failure.index, 41);
    assert!(failure.is_too_large());
    let RowFailureKind::TooLarge { bytes, limit: got } = failure.kind else {
        panic!("want TooLarge, got {failure:?}");
    };
    assert_eq!(bytes, sink.single_row_bytes(&rows[41]));
    assert!(
        bytes > poison_bytes && bytes < poison_bytes + 4096,
        "{bytes}"
    );
    assert_eq!(got, limit);
    assert_eq!(
        failure.reason(),
        format!("row of {bytes} bytes exceeds the server's max_allowed_packet of {limit} bytes")
    );
    assert_eq!(sink.stats().refused_for_size, 0);

    let mut want = expected_of(&records);
    want.remove(&42);
    let got = chaos::table(&env.pool).await.expect("read the table");
    chaos::assert_same_table(&got, &want);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_of_20_mb_is_a_too_large_failure_and_the_other_99_commit() {
    one_oversized_row_fails_alone(20 * MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_of_40_mb_is_a_too_large_failure_and_the_other_99_commit() {
    one_oversized_row_fails_alone(40 * MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_rows_of_50_kb_go_in_several_statements_none_refused() {
    let env = TestEnv::start(0).await;
    let sink = wide_sink(&env).await;
    let (records, rows) = materials(&sink, 1_000, |key| big_name(key, 50_000));
    let failures = sink
        .write_isolating(&rows)
        .await
        .expect("no transient error");
    assert!(failures.is_empty(), "{failures:?}");
    let stats = sink.stats();
    // 50 MB cannot go in one statement under a 16 MiB limit.
    assert!(stats.statements > 1, "{stats:?}");
    assert_eq!(stats.refused_for_size, 0, "{stats:?}");

    let got = chaos::table(&env.pool).await.expect("read the table");
    assert_eq!(got.len(), 1_000);
    let want = expected_of(&records);
    for key in [1, 2, 314, 315, 500, 999, 1_000] {
        assert_eq!(got.get(&key), want.get(&key), "row {key}");
    }
    chaos::assert_same_table(&got, &want);
    env.cleanup().await;
}

/// `count` rows of 1 MiB planned as if the server took 64 MiB, so they go as one statement of
/// `count` MiB that the server refuses (with 1153, or with a reset while the client still
/// writes, depending on timing), as it would were the estimate wrong: the sink splits it like any
/// permanent failure and every row commits.
async fn a_statement_refused_for_size_is_split(count: i64) {
    let env = TestEnv::start(0).await;
    let sink = wide_sink(&env).await.with_statement_budget(64 * MIB);
    let (records, rows) = materials(&sink, count, |key| big_name(key, MIB));
    let failures: Vec<RowFailure> = sink
        .write_isolating(&rows)
        .await
        .expect("a refusal for size is not a transient error");
    assert!(failures.is_empty(), "{failures:?}");
    let stats = sink.stats();
    assert!(stats.refused_for_size >= 1, "{stats:?}");

    let got = chaos::table(&env.pool).await.expect("read the table");
    chaos::assert_same_table(&got, &expected_of(&records));
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_just_over_the_packet_limit_is_split_and_its_rows_commit() {
    a_statement_refused_for_size_is_split(20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_far_over_the_packet_limit_is_split_and_its_rows_commit() {
    a_statement_refused_for_size_is_split(40).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_value_among_wide_rows_fails_in_the_servers_words_and_the_rest_commits() {
    let env = TestEnv::start(0).await;
    let sink = wide_sink(&env).await;
    let (mut records, mut rows) = materials(&sink, 1_000, |key| big_name(key, 50_000));
    // `code` is VARCHAR(64): the server refuses this row alone, in the middle of a batch that
    // takes several statements in one transaction.
    records.remove(499);
    let poison = material(
        500,
        &"C".repeat(65),
        json!("太长的编码"),
        "2024-03-12T09:32:21.125",
    );
    rows[499] = sink.mapping().apply(&poison.record).expect("material maps");
    let failures = sink
        .write_isolating(&rows)
        .await
        .expect("no transient error");
    let [failure] = failures.as_slice() else {
        panic!("want exactly one failure, got {failures:?}");
    };
    assert_eq!(failure.index, 499);
    assert!(!failure.is_too_large());
    assert!(
        failure
            .reason()
            .starts_with("22001: Data too long for column 'code'"),
        "{}",
        failure.reason()
    );
    assert_eq!(sink.stats().refused_for_size, 0);
    let got = chaos::table(&env.pool).await.expect("read the table");
    chaos::assert_same_table(&got, &expected_of(&records));
    env.cleanup().await;
}
