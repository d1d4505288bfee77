//! Convergence with a living Kingdee (DESIGN §12): 20,000 mock materials, a scheduled producer
//! and three workers (the real binaries), while the mock's churn applies thousands of seeded
//! operations of every kind — saves, submits, audits, un-audits, forbids, enables, deletions,
//! creations, allocations — with late commits. After the churn stops, one incremental pass and
//! one reconciliation; then the table must equal what the mock's final rows say, with the
//! filter and the mapping applied here by hand (`chaos::expected`), never by k3sync's code.
//!
//! Each leave mode runs once, and so does each server kind (audit and forbid moving
//! `FModifyDate` or not); a third run kills a worker and the producer with SIGKILL mid-churn.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

use k3sync_tests::TestEnv;
use k3sync_tests::chaos::{
    Proc, QueueWatch, Row, Workers, assert_same_table, expected, log_dir, poll, remove_logs,
    sync_args, table_where,
};
use reqwest::Method;
use serde_json::{Value, json};

const ROWS: usize = 20_000;
const OPS: u64 = 3_000;
/// A change becomes visible stamped up to this far in the past; the job re-reads 60 s.
const LATE_SECS: u64 = 20;

struct Case {
    /// `mark` or `delete`.
    leave: &'static str,
    audit_moves_modify_date: bool,
    /// SIGKILL a worker and the producer while the churn runs.
    kill: bool,
    seed: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marked_rows_converge_under_churn_when_audit_and_forbid_leave_modify_date_alone() {
    converges_under_churn(Case {
        leave: "mark",
        audit_moves_modify_date: false,
        kill: false,
        seed: 11,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_rows_converge_under_churn_when_audit_and_forbid_move_modify_date() {
    converges_under_churn(Case {
        leave: "delete",
        audit_moves_modify_date: true,
        kill: false,
        seed: 12,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_converge_under_churn_with_a_worker_and_the_producer_killed_mid_churn() {
    converges_under_churn(Case {
        leave: "mark",
        audit_moves_modify_date: false,
        kill: true,
        seed: 13,
    })
    .await;
}

async fn converges_under_churn(case: Case) {
    let env = TestEnv::start(ROWS).await;
    let living = json!({"late_commit_max_secs": LATE_SECS,
        "audit_moves_modify_date": case.audit_moves_modify_date});
    env.mock_send(Method::PUT, "/_mock/living", living).await;
    let leave_mode = format!("mode = \"{}\"", case.leave);
    // The run with kills also reconciles on its schedule, while the churn goes on.
    let reconcile = format!("reconcile_secs = {}", if case.kill { 5 } else { 3600 });
    let config = env.write_config_with(&[
        ("schedule_secs = 60", "schedule_secs = 2"),
        ("overlap_secs = 300", "overlap_secs = 60"),
        ("reconcile_secs = 3600", &reconcile),
        ("mode = \"mark\"", &leave_mode),
    ]);
    let initial = expected(&env.mock_rows().await);
    let mut workers = Workers::start(&env, &config, 3, &[]);
    let mut producer = scheduled_producer(&env, &config, 1);

    let present = if case.leave == "mark" {
        "left_at IS NULL"
    } else {
        "TRUE"
    };
    poll(
        "the initial load",
        Duration::from_secs(180),
        Duration::from_secs(1),
        async || {
            let rows = table_where(&env.pool, present).await.ok()?;
            (rows.len() == initial.len()).then_some(())
        },
    )
    .await;
    assert_same_table(&table_where(&env.pool, present).await.unwrap(), &initial);

    let plan = json!({"ops": OPS, "rate_per_sec": 150, "seed": case.seed});
    env.mock_send(Method::POST, "/_mock/churn", plan).await;
    if case.kill {
        tokio::time::sleep(Duration::from_secs(6)).await;
        workers.kill_and_restart(0).await;
        producer.kill9().await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        producer = scheduled_producer(&env, &config, 2);
    }
    poll(
        "the churn to finish",
        Duration::from_secs(120),
        Duration::from_secs(1),
        async || (env.mock_get("/_mock/churn").await["running"] == false).then_some(()),
    )
    .await;
    let status = env.mock_get("/_mock/churn").await;
    assert_eq!(status["done"].as_u64(), Some(OPS), "{status}");
    assert!(producer.terminate(Duration::from_secs(60)).await.is_some());

    // After the churn: one incremental pass and one reconciliation.
    for (mode, n) in [("incremental", 3), ("reconcile", 4)] {
        let mut pass = Proc::spawn(
            &format!("producer {mode}"),
            "producer",
            &sync_args(&env, &config, Some(mode), true),
            &[],
            log_dir(&env).join(format!("producer-{n}.log")),
        );
        let status = pass.wait(Duration::from_secs(180)).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "{mode} pass: {}",
            pass.log_tail(20)
        );
    }
    let mut queues = QueueWatch::new(&env);
    let mut quiet = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    while quiet < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the workers did not finish"
        );
        quiet = if queues.backlog().await == Some(0) {
            quiet + 1
        } else {
            0
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    workers.stop().await;
    assert_eq!(queues.backlog().await, Some(0), "everything was acked");
    assert_eq!(queues.dead().await, Some(0), "nothing was dead-lettered");
    queues.close().await;

    let reconciliations: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sync_runs WHERE job = ? AND mode = 'reconcile' AND status = 'succeeded'",
    )
    .bind(env.job())
    .fetch_one(&env.pool)
    .await
    .unwrap();
    let scheduled = if case.kill { 2 } else { 1 };
    assert!(
        reconciliations >= scheduled,
        "{reconciliations} reconciliations"
    );
    let log = env.mock_get("/_mock/churn/log").await;
    let ops = op_counts(&log);
    for op in [
        "save", "audit", "unaudit", "forbid", "enable", "delete", "create",
    ] {
        assert!(
            ops.get(op).copied().unwrap_or(0) > 0,
            "the churn did no {op}: {ops:?}"
        );
    }
    let want = expected(&env.mock_rows().await);
    let got = table_where(&env.pool, present).await.unwrap();
    eprintln!(
        "churn: {ops:?}; {} rows expected (from {} at the start)",
        want.len(),
        initial.len()
    );
    assert_same_table(&got, &want);
    let gone: BTreeSet<i64> = initial
        .keys()
        .filter(|k| !want.contains_key(k))
        .copied()
        .collect();
    assert!(!gone.is_empty(), "the churn made some rows leave");
    if case.leave == "mark" {
        let marked: BTreeMap<i64, Row> =
            table_where(&env.pool, "left_at IS NOT NULL").await.unwrap();
        assert!(
            marked.keys().all(|k| !want.contains_key(k)),
            "a marked row is one the job should hold"
        );
        let unmarked: Vec<&i64> = gone.iter().filter(|k| !marked.contains_key(k)).collect();
        assert!(
            unmarked.is_empty(),
            "rows that left were not marked: {unmarked:?}"
        );
    } else {
        let all = table_where(&env.pool, "TRUE").await.unwrap();
        assert_eq!(all.len(), want.len(), "delete mode keeps no row that left");
        let tombstones: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sync_tombstones WHERE job = ?")
                .bind(env.job())
                .fetch_one(&env.pool)
                .await
                .unwrap();
        assert!(
            tombstones as usize >= gone.len(),
            "{tombstones} tombstones for {} rows gone",
            gone.len()
        );
    }
    remove_logs(&env);
    env.cleanup().await;
}

fn scheduled_producer(env: &TestEnv, config: &Path, n: usize) -> Proc {
    Proc::spawn(
        &format!("producer #{n}"),
        "producer",
        &sync_args(env, config, None, false),
        &[],
        log_dir(env).join(format!("producer-{n}.log")),
    )
}

fn op_counts(log: &Value) -> HashMap<String, usize> {
    let mut ops = HashMap::new();
    for entry in log.as_array().expect("the churn log") {
        *ops.entry(entry["op"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
    }
    ops
}
