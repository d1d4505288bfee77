//! Partitioned full passes (the producer's `partition` module): the key range read as several
//! keyset streams at once publishes exactly what one stream publishes, through faults, a
//! SIGKILL and a skewed key range, and a skewed range is split until every reader is busy.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k3sync_common::settings::SyncMode;
use k3sync_common::state::RunStatus;
use k3sync_producer::{PassReport, Producer};
use k3sync_tests::chaos::{Proc, log_dir, producer_args};
use k3sync_tests::{TestEnv, matches_job_filter, run_binary, wait_for};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// One partition row of `sync_state`: (name, cursor_key, cursor_until, open).
type PartitionRow = (String, Option<i64>, Option<i64>, bool);

async fn pass(env: &TestEnv) -> PassReport {
    let producer = Producer::connect(env.settings.clone())
        .await
        .expect("producer connects");
    producer
        .run_pass(env.job(), SyncMode::Full, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("the pass failed: {e:#}"))
}

/// Every key on the work queue (taken off it), in the order published.
async fn published(env: &TestEnv) -> Vec<i64> {
    env.drain_work_queue()
        .await
        .iter()
        .flat_map(|e| e.records.iter().map(|r| r.key))
        .collect()
}

fn expected_keys(rows: &[Value]) -> BTreeSet<i64> {
    rows.iter()
        .filter(|r| matches_job_filter(r))
        .map(|r| r["FMaterialId"].as_i64().expect("FMaterialId"))
        .collect()
}

/// The keys published exactly once each; fails on a key published twice.
fn once_each(keys: &[i64]) -> BTreeSet<i64> {
    let unique: BTreeSet<i64> = keys.iter().copied().collect();
    assert_eq!(
        keys.len(),
        unique.len(),
        "{} keys published twice",
        keys.len() - unique.len()
    );
    unique
}

async fn partitions(env: &TestEnv) -> Vec<PartitionRow> {
    sqlx::query_as(
        "SELECT mode, cursor_key, cursor_until, pass_open = 1 FROM sync_state \
         WHERE job = ? AND mode LIKE 'full:part:%' ORDER BY cursor_key",
    )
    .bind(env.job())
    .fetch_all(&env.pool)
    .await
    .expect("sync_state")
}

/// The mock's ExecuteBillQuery log.
async fn requests(env: &TestEnv) -> Vec<Value> {
    match env
        .mock_get("/_mock/requests?service=ExecuteBillQuery")
        .await
    {
        Value::Array(requests) => requests,
        other => panic!("/_mock/requests gave {other}"),
    }
}

async fn records_of_run(env: &TestEnv, report: &PassReport) -> (String, i64, i64) {
    sqlx::query_as("SELECT status, pages, records FROM sync_runs WHERE run_id = ?")
        .bind(report.run_id.to_string())
        .fetch_one(&env.pool)
        .await
        .expect("sync_runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pass_in_four_partitions_publishes_exactly_the_rows_one_stream_publishes() {
    let mut env = TestEnv::start(20_000).await;
    env.settings.jobs[0].page_size = 500;
    let want = expected_keys(&env.mock_rows().await);

    // One reader: the one stream `full`, no range queries, no bound in any request.
    env.settings.kingdee.max_in_flight = 1;
    let single = pass(&env).await;
    let one_stream = once_each(&published(&env).await);
    assert_eq!(one_stream, want);
    assert_eq!(single.records as usize, one_stream.len());
    let asked = requests(&env).await;
    assert!(
        asked
            .iter()
            .all(|r| r["limit"] == 500 && !r["filter"].as_str().unwrap_or("").contains("<=")),
        "one reader pages as one stream"
    );
    assert!(partitions(&env).await.is_empty());
    env.mock_send(Method::POST, "/_mock/reset", json!({})).await;

    env.settings.kingdee.max_in_flight = 4;
    let report = pass(&env).await;
    assert_eq!(report.status, RunStatus::Succeeded);
    let keys = published(&env).await;
    let four = once_each(&keys);
    assert_eq!(four, one_stream, "the same keys as one stream");
    assert_eq!(report.records as usize, keys.len());
    assert_eq!(
        records_of_run(&env, &report).await,
        ("succeeded".into(), report.pages as i64, keys.len() as i64)
    );
    // Four partitions, all read to their end, of which only the last is unbounded; the key
    // range came from two one-row queries.
    let parts = partitions(&env).await;
    assert!(parts.len() >= 4, "{parts:?}");
    assert!(
        parts.iter().all(|p| !p.3),
        "every partition closed: {parts:?}"
    );
    assert_eq!(parts.iter().filter(|p| p.2.is_none()).count(), 1);
    let asked = requests(&env).await;
    let ends: Vec<&Value> = asked.iter().filter(|r| r["limit"] == 1).collect();
    assert_eq!(ends.len(), 2, "the lowest and the highest key");
    let bounded = asked
        .iter()
        .filter(|r| {
            r["filter"]
                .as_str()
                .unwrap_or("")
                .contains("FMaterialId <=")
        })
        .count();
    assert!(bounded >= 3, "partitions page within their bounds");
    let closed: (Option<i64>, bool) = sqlx::query_as(
        "SELECT cursor_key, pass_open = 1 FROM sync_state WHERE job = ? AND mode = 'full'",
    )
    .bind(env.job())
    .fetch_one(&env.pool)
    .await
    .expect("the pass's row");
    assert_eq!(closed, (four.last().copied(), false));

    // A finished partitioned pass starts over: the next one plans anew and reads every row.
    let again = pass(&env).await;
    assert_eq!(once_each(&published(&env).await), want);
    assert_eq!(again.records, report.records);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_partitioned_pass_resumes_its_partitions_with_one_reader_and_sends_nothing_twice()
 {
    let mut env = TestEnv::start(12_000).await;
    env.settings.jobs[0].page_size = 200;
    env.settings.kingdee.max_in_flight = 4;
    env.mock_send(Method::PUT, "/_mock/faults", json!({"latency_ms": 100}))
        .await;
    let producer = std::sync::Arc::new(Producer::connect(env.settings.clone()).await.unwrap());
    let cancel = CancellationToken::new();
    let running = tokio::spawn({
        let (producer, cancel, job) = (producer.clone(), cancel.clone(), env.job().to_owned());
        async move { producer.run_pass(&job, SyncMode::Full, &cancel).await }
    });
    wait_for("six confirmed pages", Duration::from_secs(60), || async {
        let pages: Option<i64> = sqlx::query_scalar("SELECT pages FROM sync_runs WHERE job = ?")
            .bind(env.job())
            .fetch_optional(&env.pool)
            .await
            .unwrap();
        (pages.unwrap_or(0) >= 6).then_some(())
    })
    .await;
    cancel.cancel();
    let first = running.await.unwrap().expect("a cancelled pass");
    assert_eq!(first.status, RunStatus::Cancelled);
    let at_stop = partitions(&env).await;
    assert!(
        at_stop.iter().any(|p| p.3),
        "partitions left open: {at_stop:?}"
    );
    let before = published(&env).await;
    assert_eq!(first.records as usize, before.len());

    // One reader now: it reads the open partitions one after the other, not the one stream.
    env.settings.kingdee.max_in_flight = 1;
    let asked_before = requests(&env).await.len();
    let second = pass(&env).await;
    let after = published(&env).await;
    assert_eq!(second.records as usize, after.len());
    let mut all = before.clone();
    all.extend(&after);
    // A cancelled pass stops after a confirmed and stored page: nothing is sent twice.
    assert_eq!(once_each(&all), expected_keys(&env.mock_rows().await));
    let resumed = &requests(&env).await[asked_before..];
    let bounded_open = at_stop.iter().filter(|p| p.3 && p.2.is_some()).count();
    let bounded_pages = resumed
        .iter()
        .filter(|r| {
            r["limit"] == 200
                && r["filter"]
                    .as_str()
                    .unwrap_or("")
                    .contains("FMaterialId <=")
        })
        .count();
    assert!(
        bounded_open == 0 || bounded_pages >= bounded_open,
        "the resumed pages are the open partitions' pages: {at_stop:?}"
    );
    assert!(partitions(&env).await.iter().all(|p| !p.3));
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pass_in_partitions_whose_requests_fail_and_are_retried_publishes_the_exact_set() {
    let mut env = TestEnv::start(10_000).await;
    env.settings.jobs[0].page_size = 300;
    env.settings.kingdee.max_in_flight = 4;
    env.settings.kingdee.request_timeout_secs = 1;
    env.settings.kingdee.retry_attempts = 12;
    env.mock_send(
        Method::PUT,
        "/_mock/faults",
        json!({"http500": 0.15, "msgcode14": 0.1, "hang": 0.05, "hang_ms": 2500, "seed": 11}),
    )
    .await;
    let report = pass(&env).await;
    let keys = published(&env).await;
    let unique = once_each(&keys);
    assert_eq!(unique, expected_keys(&env.mock_rows().await));
    assert_eq!(report.records as usize, keys.len());
    assert_eq!(records_of_run(&env, &report).await.2, keys.len() as i64);
    let stats = env.mock_get("/_mock/stats").await;
    let bq = &stats["services"]["ExecuteBillQuery"];
    let failed = ["http500", "msgcode14", "hang"]
        .iter()
        .map(|k| bq[k].as_u64().unwrap_or(0))
        .sum::<u64>();
    assert!(failed >= 3, "faults were injected: {stats}");
    // Failures hit the partitions' pages (every request after the two range queries; a failed
    // request is logged without its filter), and those were retried.
    let asked = requests(&env).await;
    let ranged = asked
        .iter()
        .enumerate()
        .filter(|(_, r)| r["outcome"] == "ok" && r["limit"] == 1)
        .map(|(i, _)| i)
        .nth(1)
        .expect("two range queries");
    let failed_pages = asked[ranged..]
        .iter()
        .filter(|r| r["outcome"] != "ok")
        .count();
    assert!(failed_pages > 0, "a partition's request failed: {stats}");
    env.cleanup().await;
}

/// Runs the producer binary on `config`, kills it (SIGKILL) once `killed_when` holds, runs it
/// again to the end, and checks the resumed pass: every key published; the killed pass's row
/// `full` open; no key published twice by one process; the restart's requests start each open
/// partition at its checkpoint; and the keys the restart published again all lie past the
/// checkpoint of a partition open at the kill (its unconfirmed page), at most `page` of them
/// per partition, none in a closed partition. Returns the partitions at the kill.
async fn kill_and_resume<F, Fut>(
    env: &TestEnv,
    config: &std::path::Path,
    page: usize,
    killed_when: F,
) -> Vec<PartitionRow>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<()>>,
{
    let args = producer_args(env, config);
    let log = log_dir(env).join("producer-killed.log");
    let mut producer = Proc::spawn("producer (killed)", "producer", &args, &[], log);
    wait_for("the moment to kill", Duration::from_secs(90), killed_when).await;
    producer.kill9().await;
    let at_kill = partitions(env).await;
    eprintln!("partitions at the kill: {at_kill:?}");
    let open: Vec<&PartitionRow> = at_kill.iter().filter(|p| p.3).collect();
    assert!(
        !open.is_empty(),
        "the pass was killed with partitions open: {at_kill:?}"
    );
    let pass_open: bool =
        sqlx::query_scalar("SELECT pass_open = 1 FROM sync_state WHERE job = ? AND mode = 'full'")
            .bind(env.job())
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(pass_open);
    let before = published(env).await;
    let requests_before = requests(env).await.len();

    let owned: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stderr) = run_binary("producer", &owned, Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(code, 0, "{stderr}");
    let after = published(env).await;
    let want = expected_keys(&env.mock_rows().await);
    let all: BTreeSet<i64> = before.iter().chain(&after).copied().collect();
    assert_eq!(all, want, "no key missing");
    // One process publishes a key once.
    let before_once = once_each(&before);
    let after_once = once_each(&after);
    // The restart planned nothing new: its requests (the range queries aside) start each open
    // partition at that partition's checkpoint.
    let resumed = &requests(env).await[requests_before..];
    for part in &open {
        let from = part.1.map(|k| format!("FMaterialId > {k})"));
        assert!(
            resumed.iter().any(|r| {
                let filter = r["filter"].as_str().unwrap_or("");
                from.as_ref().is_none_or(|f| filter.ends_with(f.as_str()))
            }),
            "partition {} resumed from its checkpoint {:?}",
            part.0,
            part.1
        );
    }
    let twice: Vec<i64> = after_once.intersection(&before_once).copied().collect();
    let mut per_partition: BTreeMap<&str, usize> = BTreeMap::new();
    for key in &twice {
        let owner = at_kill
            .iter()
            .find(|p| p.3 && p.1.is_none_or(|c| *key > c) && p.2.is_none_or(|until| *key <= until));
        let Some(owner) = owner else {
            panic!("key {key} was sent twice but lies in no open partition: {at_kill:?}");
        };
        *per_partition.entry(owner.0.as_str()).or_default() += 1;
    }
    assert!(
        per_partition.values().all(|&n| n <= page),
        "at most one page per partition sent twice: {per_partition:?}"
    );
    eprintln!("sent twice: {per_partition:?}");
    at_kill
}

/// Rows `full:part:%` of the job in `sync_state`.
async fn partition_count(env: &TestEnv) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM sync_state WHERE job = ? AND mode LIKE 'full:part:%'")
        .bind(env.job())
        .fetch_one(&env.pool)
        .await
        .expect("sync_state")
}

/// Adds three matching rows far above the generated ids: the equal-width partitions then put
/// every generated row into the first one. Returns the highest generated key that matches.
async fn skew(env: &TestEnv) -> i64 {
    let outliers = [10_000_000, 20_000_000, 30_000_000];
    let rows: Vec<Value> = outliers
        .iter()
        .map(|id| json!({"FMaterialId": id}))
        .collect();
    env.mock_send(Method::POST, "/_mock/rows", json!(rows))
        .await;
    let want = expected_keys(&env.mock_rows().await);
    assert!(outliers.iter().all(|id| want.contains(id)));
    want.range(..1_000_000).next_back().copied().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_killed_mid_pass_resumes_every_partition_from_its_checkpoint() {
    const PAGE: usize = 400;
    let env = TestEnv::start(24_000).await;
    env.mock_send(Method::PUT, "/_mock/faults", json!({"latency_ms": 250}))
        .await;
    let config = env.write_config_with(&[
        ("page_size = 2000", &format!("page_size = {PAGE}")),
        ("max_in_flight = 4", "max_in_flight = 4"),
    ]);
    let at_kill = kill_and_resume(&env, &config, PAGE, || async {
        let pages: Option<i64> = sqlx::query_scalar("SELECT pages FROM sync_runs WHERE job = ?")
            .bind(env.job())
            .fetch_optional(&env.pool)
            .await
            .unwrap();
        (pages.unwrap_or(0) >= 8).then_some(())
    })
    .await;
    assert!(
        at_kill.iter().filter(|p| p.3).count() >= 2,
        "killed with several partitions open: {at_kill:?}"
    );
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_killed_right_after_a_split_loses_no_range_and_reads_nothing_twice() {
    const PAGE: usize = 200;
    let env = TestEnv::start(12_000).await;
    skew(&env).await;
    env.mock_send(Method::PUT, "/_mock/faults", json!({"latency_ms": 150}))
        .await;
    let config = env.write_config_with(&[("page_size = 2000", &format!("page_size = {PAGE}"))]);
    let at_kill = kill_and_resume(&env, &config, PAGE, || async {
        (partition_count(&env).await > 4).then_some(())
    })
    .await;
    assert!(at_kill.len() > 4, "a split was stored: {at_kill:?}");
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skewed_key_range_is_split_until_every_reader_is_busy_and_read_exactly() {
    const LATENCY_MS: i64 = 200;
    let mut env = TestEnv::start(12_000).await;
    env.settings.jobs[0].page_size = 200;
    env.settings.kingdee.max_in_flight = 4;
    let dense_top = skew(&env).await;
    let want = expected_keys(&env.mock_rows().await);
    env.mock_send(
        Method::PUT,
        "/_mock/faults",
        json!({"latency_ms": LATENCY_MS}),
    )
    .await;

    let report = pass(&env).await;
    let keys = published(&env).await;
    assert_eq!(once_each(&keys), want);
    assert_eq!(report.records as usize, keys.len());

    // The split happened: partitions beyond the four planned, several of them within the
    // generated ids (the first partition's range), all closed.
    let parts = partitions(&env).await;
    eprintln!("partitions: {parts:?}");
    assert!(
        parts.len() > 4,
        "the lagging partition was split: {parts:?}"
    );
    assert!(parts.iter().all(|p| !p.3));
    let in_dense = parts
        .iter()
        .filter(|p| p.1.is_some_and(|k| k <= dense_top) && p.2.is_some_and(|u| u <= dense_top))
        .count();
    assert!(
        in_dense >= 3,
        "the generated ids were shared out: {parts:?}"
    );

    // Every reader busy until near the end: a page request of the generated ids arrives while,
    // typically, three more are in flight (each takes LATENCY_MS at the mock). Measured over the
    // first 80% of those pages; with one partition reading them it would be 1.
    let asked = requests(&env).await;
    let at: Vec<i64> = asked.iter().filter_map(|r| r["at_ms"].as_i64()).collect();
    let pages: Vec<i64> = asked
        .iter()
        .filter(|r| r["rows"].as_u64().unwrap_or(0) > 1)
        .filter_map(|r| r["at_ms"].as_i64())
        .collect();
    let head = &pages[..pages.len() * 4 / 5];
    let mut busy: Vec<usize> = head
        .iter()
        .map(|&t| at.iter().filter(|&&a| a > t - LATENCY_MS && a <= t).count())
        .collect();
    busy.sort_unstable();
    let median = busy[busy.len() / 2];
    eprintln!(
        "{} pages, requests in flight at each: median {median}",
        head.len()
    );
    assert!(median >= 3, "readers sat idle: {busy:?}");
    env.cleanup().await;
}
