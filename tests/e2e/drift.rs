//! Each way the CRM drifted from a living Kingdee before convergence (issue 11), one small test
//! each: passes run in-process, one worker writes, and the table is compared with the mock's
//! rows mapped by hand (`chaos::expected`). Every one of them failed before: the audit after an
//! edit was never read, a forbid or deletion never left, a late commit behind the cursor was
//! skipped, a clamping server ended a pass after one page, a NULL date stopped the job.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use k3sync_common::settings::{LeaveMode, SyncMode};
use k3sync_common::state::RunStatus;
use k3sync_producer::{PassReport, Producer};
use k3sync_tests::chaos::{Row, assert_same_table, expected, poll, table_where};
use k3sync_tests::{InProcessWorker, TestEnv, matches_job_filter};
use kingdee_mock::MockConfig;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The rows a converging mark-mode job holds as present.
const PRESENT: &str = "left_at IS NULL";

async fn pass(env: &TestEnv, mode: SyncMode) -> PassReport {
    let producer = Producer::connect(env.settings.clone())
        .await
        .expect("producer connects");
    let report = producer
        .run_pass(env.job(), mode, &CancellationToken::new())
        .await
        .expect("pass");
    assert_eq!(report.status, RunStatus::Succeeded);
    report
}

async fn op(env: &TestEnv, body: Value) -> Value {
    let answer = env
        .mock_send(Method::POST, "/_mock/ops", body.clone())
        .await;
    assert_eq!(answer["IsSuccess"], true, "{body} → {answer}");
    answer
}

/// Waits until the rows meeting `condition` equal the job's view of the mock, then checks it.
async fn converged(env: &TestEnv, condition: &str) -> BTreeMap<i64, Row> {
    let want = expected(&env.mock_rows().await);
    let got = poll(
        "the table to match the mock",
        Duration::from_secs(60),
        Duration::from_millis(200),
        async || {
            let got = table_where(&env.pool, condition).await.ok()?;
            (got == want).then_some(got)
        },
    )
    .await;
    assert_same_table(&got, &want);
    got
}

async fn marked(env: &TestEnv) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT data_id FROM wk_wodtop_product WHERE left_at IS NOT NULL ORDER BY data_id",
    )
    .fetch_all(&env.pool)
    .await
    .expect("marked rows")
}

/// FMaterialId and FMasterId of the job's rows whose master has no other row (so a deletion
/// is not refused for allocated copies).
async fn lonely_rows(env: &TestEnv, n: usize) -> Vec<(i64, i64)> {
    let rows = env.mock_rows().await;
    let mut per_master: HashMap<i64, usize> = HashMap::new();
    for r in &rows {
        *per_master
            .entry(r["FMasterId"].as_i64().unwrap())
            .or_default() += 1;
    }
    rows.iter()
        .filter(|r| matches_job_filter(r) && per_master[&r["FMasterId"].as_i64().unwrap()] == 1)
        .map(|r| {
            (
                r["FMaterialId"].as_i64().unwrap(),
                r["FMasterId"].as_i64().unwrap(),
            )
        })
        .take(n)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audited_material_edited_between_two_passes_comes_back_with_its_edit() {
    let env = TestEnv::start(2_000).await;
    let worker = InProcessWorker::start(&env, &env.settings);
    pass(&env, SyncMode::Incremental).await;
    converged(&env, PRESENT).await;

    let (id, master) = lonely_rows(&env, 1).await[0];
    op(&env, json!({"op": "unaudit", "ids": [id]})).await;
    op(
        &env,
        json!({"op": "save", "ids": [id], "fields": {"FName": "改名物料"}}),
    )
    .await;
    // Between the save and the audit the row is out of the filter: it leaves.
    pass(&env, SyncMode::Incremental).await;
    converged(&env, PRESENT).await;
    assert_eq!(marked(&env).await, vec![master]);
    // The audit moves FApproveDate only; the FApproveDate cursor sees it.
    op(&env, json!({"op": "submit", "ids": [id]})).await;
    op(&env, json!({"op": "audit", "ids": [id]})).await;
    pass(&env, SyncMode::Incremental).await;
    let table = converged(&env, PRESENT).await;
    assert_eq!(table[&master][1].as_deref(), Some("改名物料"));
    assert!(marked(&env).await.is_empty());
    worker.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_material_leaves_and_an_enabled_one_comes_back() {
    let env = TestEnv::start(2_000).await;
    let worker = InProcessWorker::start(&env, &env.settings);
    pass(&env, SyncMode::Incremental).await;
    converged(&env, PRESENT).await;
    let rows = lonely_rows(&env, 3).await;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    op(&env, json!({"op": "forbid", "ids": ids})).await;
    pass(&env, SyncMode::Incremental).await;
    converged(&env, PRESENT).await;
    let mut masters: Vec<i64> = rows.iter().map(|r| r.1).collect();
    masters.sort_unstable();
    assert_eq!(marked(&env).await, masters);

    op(&env, json!({"op": "enable", "ids": [ids[0]]})).await;
    pass(&env, SyncMode::Incremental).await;
    converged(&env, PRESENT).await;
    assert_eq!(marked(&env).await.len(), 2);
    worker.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unaudited_and_deleted_materials_leave_at_the_reconciliation_in_both_modes() {
    for mode in [LeaveMode::Mark, LeaveMode::Delete] {
        let mut env = TestEnv::start(2_000).await;
        if let Some(leave) = env.settings.jobs[0].leave.as_mut() {
            leave.mode = mode;
        }
        let worker = InProcessWorker::start(&env, &env.settings);
        pass(&env, SyncMode::Incremental).await;
        let present = if mode == LeaveMode::Mark {
            PRESENT
        } else {
            "TRUE"
        };
        converged(&env, present).await;
        let rows = lonely_rows(&env, 2).await;
        let (unaudited, deleted) = (rows[0], rows[1]);
        op(
            &env,
            json!({"op": "unaudit", "ids": [unaudited.0, deleted.0]}),
        )
        .await;
        op(&env, json!({"op": "delete", "ids": [deleted.0]})).await;
        // Un-audit moves no date and a deletion shows in no query: incremental passes miss both.
        pass(&env, SyncMode::Incremental).await;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM wk_wodtop_product")
            .fetch_one(&env.pool)
            .await
            .unwrap();
        let report = pass(&env, SyncMode::Reconcile).await;
        assert_eq!(
            report.records as usize,
            expected(&env.mock_rows().await).len()
        );
        converged(&env, present).await;
        match mode {
            LeaveMode::Mark => {
                let mut both = vec![unaudited.1, deleted.1];
                both.sort_unstable();
                assert_eq!(marked(&env).await, both);
            }
            LeaveMode::Delete => {
                let now: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM wk_wodtop_product")
                    .fetch_one(&env.pool)
                    .await
                    .unwrap();
                assert_eq!(now, total - 2);
            }
        }
        worker.stop().await;
        env.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_committed_late_behind_the_cursor_is_read_in_the_overlap() {
    let mut env = TestEnv::start(2_000).await;
    env.settings.jobs[0].overlap_secs = 60;
    env.mock_send(
        Method::PUT,
        "/_mock/living",
        json!({"late_commit_max_secs": 30}),
    )
    .await;
    let worker = InProcessWorker::start(&env, &env.settings);
    pass(&env, SyncMode::Incremental).await;
    // Edits of audited rows, each stamped up to 30 s in the past, a pass after each: most
    // land behind the cursor the pass before moved.
    let mut behind = 0;
    let mut newest = String::new();
    for (round, (id, _)) in lonely_rows(&env, 12).await.into_iter().enumerate() {
        op(&env, json!({"op": "unaudit", "ids": [id]})).await;
        op(
            &env,
            json!({"op": "save", "ids": [id], "fields": {"FName": format!("late {round}")}}),
        )
        .await;
        op(&env, json!({"op": "submit", "ids": [id]})).await;
        let audit = op(&env, json!({"op": "audit", "ids": [id]})).await;
        let approved = audit["changes"][0]["dates"]["FApproveDate"]
            .as_str()
            .unwrap()
            .to_owned();
        if approved < newest {
            behind += 1;
        }
        newest = newest.max(approved);
        pass(&env, SyncMode::Incremental).await;
    }
    assert!(behind > 0, "some audits were stamped behind an earlier one");
    let table = converged(&env, PRESENT).await;
    let late = table
        .values()
        .filter(|r| r[1].as_deref().is_some_and(|n| n.starts_with("late ")))
        .count();
    assert_eq!(late, 12);
    worker.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pass_against_a_clamping_server_reads_every_row() {
    let mut env = TestEnv::start(3_000).await;
    env.settings.jobs[0].page_size = 1_000;
    env.mock_send(Method::PUT, "/_mock/living", json!({"clamp_limit": 300}))
        .await;
    let worker = InProcessWorker::start(&env, &env.settings);
    let report = pass(&env, SyncMode::Full).await;
    let want = expected(&env.mock_rows().await);
    assert_eq!(report.records as usize, want.len());
    converged(&env, PRESENT).await;
    worker.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_with_a_null_modify_date_are_synced_by_full_mode_and_stall_nothing() {
    let env = TestEnv::with_mock(MockConfig {
        rows: 2_000,
        null_modify_date_ratio: 0.2,
        ..MockConfig::default()
    })
    .await;
    let nulls = env
        .mock_rows()
        .await
        .iter()
        .filter(|r| matches_job_filter(r) && r["FModifyDate"].is_null())
        .count();
    assert!(nulls > 50, "{nulls} NULL-dated rows in the job");
    let worker = InProcessWorker::start(&env, &env.settings);
    // Incremental passes go on (they leave NULL-dated rows to full mode)…
    pass(&env, SyncMode::Incremental).await;
    pass(&env, SyncMode::Incremental).await;
    // …and a full pass writes them, with no modify_date.
    pass(&env, SyncMode::Full).await;
    let table = converged(&env, PRESENT).await;
    let undated = table.values().filter(|r| r[11].is_none()).count();
    assert_eq!(undated, nulls);
    worker.stop().await;
    env.cleanup().await;
}
