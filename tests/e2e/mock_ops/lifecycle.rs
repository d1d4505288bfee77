//! The mock as a living ERP, over HTTP: lifecycle operations seen through ExecuteBillQuery
//! with the demo job's filter, deletions, allocation, late commits, a clamping server, NULL
//! dates, and the churn endpoint with its log.

use std::collections::{BTreeSet, HashMap};

use super::*;

const JOB: &str = "FUseOrgId.FNumber = 'T00' AND FDocumentStatus = 'C' AND FForbidStatus = 'A'";
const KEYS: &str = "FMaterialId,FName,FModifyDate,FApproveDate,FDocumentStatus";

impl Mock {
    /// The row as the demo job sees it: `None` when the job's filter leaves it out.
    async fn in_job(&self, id: i64) -> Option<Value> {
        let filter = format!("({JOB}) AND FMaterialId = {id}");
        let rows = self
            .query(json!({"FormId": "BD_MATERIAL", "FieldKeys": KEYS, "FilterString": filter}))
            .await;
        assert!(rows.len() <= 1);
        rows.into_iter().next()
    }

    /// The first FMaterialIds the job selects.
    async fn job_ids(&self, n: usize) -> Vec<i64> {
        let rows = self
            .query(json!({"FormId": "BD_MATERIAL", "FieldKeys": "FMaterialId",
                "FilterString": JOB, "OrderString": "FMaterialId", "Limit": n}))
            .await;
        rows.iter().map(|r| r[0].as_i64().expect("id")).collect()
    }

    /// A row in the job that is its master's only row (so deleting it is not refused for
    /// allocated copies).
    async fn lonely_job_id(&self) -> i64 {
        let rows = self.get("/_mock/rows").await;
        let rows = rows.as_array().expect("rows");
        let mut per_master: HashMap<i64, usize> = HashMap::new();
        for r in rows {
            *per_master
                .entry(r["FMasterId"].as_i64().expect("master"))
                .or_default() += 1;
        }
        rows.iter()
            .find(|r| {
                r["FUseOrgId.FNumber"] == "T00"
                    && r["FDocumentStatus"] == "C"
                    && r["FForbidStatus"] == "A"
                    && per_master[&r["FMasterId"].as_i64().expect("master")] == 1
            })
            .and_then(|r| r["FMaterialId"].as_i64())
            .expect("a lonely job row")
    }

    async fn op(&self, body: Value) -> Value {
        self.ok(Method::POST, "/_mock/ops", body).await
    }

    /// Ids of a FilterString's rows, every page of `limit` followed by FMaterialId.
    async fn all_ids(&self, filter: &str, limit: usize) -> Vec<i64> {
        let (mut ids, mut after) = (Vec::new(), 0);
        loop {
            let page = self
                .query(json!({"FormId": "BD_MATERIAL", "FieldKeys": "FMaterialId",
                    "FilterString": format!("({}) AND FMaterialId > {after}",
                        if filter.is_empty() { "1 = 1" } else { filter }),
                    "OrderString": "FMaterialId", "Limit": limit}))
                .await;
            let Some(last) = page.last() else { break ids };
            after = last[0].as_i64().expect("id");
            ids.extend(page.iter().map(|r| r[0].as_i64().expect("id")));
        }
    }
}

fn date(v: &Value) -> String {
    v.as_str().expect("a date").to_owned()
}

#[tokio::test]
async fn an_audited_row_edited_by_unaudit_save_submit_audit_leaves_the_job_and_comes_back() {
    let mock = Mock::start(2_000).await;
    let id = mock.job_ids(1).await[0];
    let before = mock.in_job(id).await.expect("in the job");

    let unaudit = mock.op(json!({"op": "unaudit", "ids": [id]})).await;
    assert_eq!(unaudit["changes"][0]["FDocumentStatus"], "D");
    assert_eq!(unaudit["rows"][0]["FApproveDate"], Value::Null);
    assert_eq!(unaudit["rows"][0]["FApproverId"], 0);
    assert_eq!(mock.in_job(id).await, None, "D is not in the job");

    let save = mock
        .op(json!({"op": "save", "ids": [id], "fields": {"FName": "改名物料"}}))
        .await;
    let saved = date(&save["changes"][0]["dates"]["FModifyDate"]);
    assert!(saved.as_str() > before[2].as_str().expect("date"));
    assert_eq!(save["rows"][0]["FModifyDate"], saved.as_str());
    assert_eq!(mock.in_job(id).await, None);

    let early = mock.op(json!({"op": "audit", "ids": [id]})).await;
    assert_eq!(early["IsSuccess"], false);
    assert_eq!(early["errors"][0]["MsgCode"], 11);
    assert_eq!(early["errors"][0]["FMaterialId"], id);
    mock.op(json!({"op": "submit", "ids": [id]})).await;
    assert_eq!(mock.in_job(id).await, None, "B is not in the job");

    let audit = mock.op(json!({"op": "audit", "ids": [id]})).await;
    let approved = date(&audit["changes"][0]["dates"]["FApproveDate"]);
    assert!(approved > saved);
    let after = mock.in_job(id).await.expect("back in the job");
    assert_eq!(
        after,
        json!([id, "改名物料", saved, approved, "C"]),
        "audit moves FApproveDate, not FModifyDate"
    );
    // Only a cursor on FApproveDate sees the audit.
    let since = |field: &str| format!("({JOB}) AND {field} > '{saved}'");
    assert_eq!(mock.all_ids(&since("FApproveDate"), 500).await, [id]);
    assert!(mock.all_ids(&since("FModifyDate"), 500).await.is_empty());
}

#[tokio::test]
async fn a_deleted_row_is_gone_from_every_query_and_an_audited_one_cannot_be_deleted() {
    let mock = Mock::start(1_500).await;
    let id = mock.lonely_job_id().await;
    let refused = mock.op(json!({"op": "delete", "ids": [id]})).await;
    let message = refused["errors"][0]["Message"].as_str().expect("message");
    assert!(message.contains("已审核，不允许删除"), "{message}");
    assert!(mock.in_job(id).await.is_some());

    mock.op(json!({"op": "unaudit", "ids": [id]})).await;
    let deleted = mock.op(json!({"op": "delete", "ids": [id]})).await;
    assert_eq!(deleted["IsSuccess"], true);
    assert_eq!(deleted["rows"][0]["FMaterialId"], id);

    let by_id = format!("FMaterialId = {id}");
    assert!(mock.all_ids(&by_id, 10).await.is_empty());
    let all = mock.all_ids("", 400).await;
    assert_eq!(all.len(), 1_499);
    assert!(!all.contains(&id));
    let r = mock
        .call(
            BQ,
            json!({"data": {"FormId": "BD_MATERIAL", "FieldKeys": "FMaterialId",
                "FilterString": by_id}}),
            Auth::Signed,
        )
        .await;
    assert_eq!(r.json::<Value>().await.expect("JSON"), json!([]));
    assert!(mock.rows_by_id(&[id]).await.is_empty());
    assert_eq!(
        mock.get("/_mock/rows").await.as_array().map(Vec::len),
        Some(1_499)
    );
    assert_eq!(mock.get("/_mock/health").await["rows"], 1_499);
    let again = mock.op(json!({"op": "delete", "ids": [id]})).await;
    assert_eq!(again["errors"][0]["MsgCode"], 10);
}

#[tokio::test]
async fn allocation_adds_a_row_of_the_same_master_in_another_org_only() {
    let mock = Mock::start(1_000).await;
    let id = mock.job_ids(30).await[29];
    let master = mock.rows_by_id(&[id]).await[0]["FMasterId"].clone();
    let filter = format!("FMasterId = {master}");
    let before: BTreeSet<i64> = mock.all_ids(&filter, 10).await.into_iter().collect();
    let orgs: Vec<Value> = mock
        .rows_by_id(&before.iter().copied().collect::<Vec<_>>())
        .await
        .iter()
        .map(|r| r["FUseOrgId.FNumber"].clone())
        .collect();
    let free = ["100", "101", "102"]
        .into_iter()
        .find(|o| !orgs.contains(&json!(o)))
        .expect("a free org");

    let answer = mock
        .op(json!({"op": "allocate", "ids": [id], "org": free}))
        .await;
    let copy = &answer["rows"][0];
    let copy_id = copy["FMaterialId"].as_i64().expect("id");
    assert!(!before.contains(&copy_id));
    assert_eq!(copy["FMasterId"], master);
    assert_eq!(copy["FUseOrgId.FNumber"], free);
    assert_eq!(copy["FDocumentStatus"], "C");
    let after: BTreeSet<i64> = mock.all_ids(&filter, 10).await.into_iter().collect();
    assert_eq!(after.len(), before.len() + 1);
    let t00 = format!("{filter} AND FUseOrgId.FNumber = 'T00'");
    assert_eq!(mock.all_ids(&t00, 10).await, [id], "still one T00 row");

    let twice = mock
        .op(json!({"op": "allocate", "ids": [id], "org": free}))
        .await;
    assert_eq!(twice["errors"][0]["MsgCode"], 11);
    assert_eq!(mock.all_ids(&filter, 10).await.len(), after.len());
}

#[tokio::test]
async fn late_commits_stamp_changes_behind_dates_already_visible() {
    let mock = Mock::start(500).await;
    let living = json!({"late_commit_max_secs": 60});
    assert_eq!(
        mock.ok(Method::PUT, "/_mock/living", living.clone()).await["late_commit_max_secs"],
        60
    );
    let created = mock.op(json!({"op": "create", "count": 30})).await;
    let changes = created["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 30);
    let mut behind = 0;
    let mut newest = String::new();
    for c in changes {
        let lag = c["lag_ms"].as_i64().expect("lag");
        assert!((0..=60_000).contains(&lag), "{lag}");
        let stamp = date(&c["dates"]["FModifyDate"]);
        assert_eq!(c["dates"]["FCreateDate"], stamp.as_str());
        behind += usize::from(stamp < newest);
        newest = newest.max(stamp);
    }
    assert!(
        behind > 5,
        "a later change stamped before an earlier one: {behind}"
    );
    // A strict cursor that already passed the newest stamp misses the late ones.
    let rows = mock
        .query(json!({"FormId": "BD_MATERIAL", "FieldKeys": "FMaterialId",
            "FilterString": format!("FModifyDate > '{newest}'")}))
        .await;
    assert!(rows.is_empty());
}

#[tokio::test]
async fn a_clamping_server_answers_fewer_rows_than_limit_without_an_error() {
    let mock = Mock::start(1_000).await;
    mock.ok(Method::PUT, "/_mock/living", json!({"clamp_limit": 100}))
        .await;
    // Old or imported rows without a FModifyDate.
    let blank: Vec<Value> = (0..150)
        .map(|i| json!({"FMaterialId": 100_001 + 6 * i, "FModifyDate": null}))
        .collect();
    mock.ok(Method::POST, "/_mock/rows", Value::Array(blank))
        .await;
    let page = |start: usize, limit: usize| {
        json!({"FormId": "BD_MATERIAL", "FieldKeys": "FMaterialId", "OrderString": "FMaterialId",
            "StartRow": start, "Limit": limit})
    };
    let first = mock.query(page(0, 500)).await;
    assert_eq!(first.len(), 100, "clamped silently");
    let second = mock.query(page(100, 500)).await;
    assert_eq!(second[0][0], 100_101);
    assert_eq!(mock.query(page(0, 30)).await.len(), 30);
    assert_eq!(mock.query(page(0, 0)).await.len(), 100);
    let r = mock
        .call(EBQ, json!({"data": page(0, 20_000)}), Auth::Signed)
        .await;
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(
        status_of(&body, true)["MsgCode"],
        4,
        "the cap is still checked"
    );
    // An incremental pager that stops on the first short page would stop here; the rows
    // are all there for one that pages until an empty page.
    assert_eq!(mock.all_ids("", 500).await.len(), 1_000);
    let nulls = mock.all_ids("FModifyDate IS NULL", 500).await.len();
    let dated = mock.all_ids("FModifyDate > '2000-01-01'", 500).await.len();
    assert_eq!(nulls, 150);
    assert_eq!(nulls + dated, 1_000, "a NULL date fails every comparison");

    mock.ok(Method::PUT, "/_mock/living", json!({"clamp_limit": 0}))
        .await;
    assert_eq!(mock.query(page(0, 500)).await.len(), 500);
    assert_eq!(mock.get("/_mock/living").await["clamp_limit"], 0);
}

#[tokio::test]
async fn the_churn_runs_n_operations_logs_each_and_repeats_for_its_seed() {
    let mock = Mock::start(3_000).await;
    let plan = json!({"ops": 400, "rate_per_sec": 0, "seed": 7});
    let run = async || {
        let started = mock.ok(Method::POST, "/_mock/churn", plan.clone()).await;
        assert_eq!(started["plan"]["seed"], 7);
        eventually("the churn to finish", async || {
            mock.get("/_mock/churn").await["running"] == false
        })
        .await;
        let status = mock.get("/_mock/churn").await;
        assert_eq!(
            (status["end"].as_str(), status["done"].as_u64()),
            (Some("completed"), Some(400))
        );
        mock.get("/_mock/churn/log").await
    };
    let log = run().await;
    let log = log.as_array().expect("log").clone();
    assert_eq!(log.len(), 400);
    let seqs: Vec<u64> = log
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, (1..=400).collect::<Vec<_>>());
    let mut ops: HashMap<String, usize> = HashMap::new();
    for e in &log {
        *ops.entry(e["op"].as_str().expect("op").to_owned())
            .or_default() += 1;
        assert!(e["FMaterialId"].is_i64() && e["FMasterId"].is_i64() && e["at_ms"].is_i64());
        assert!(e["dates"].is_object());
    }
    for op in [
        "save", "submit", "audit", "unaudit", "forbid", "create", "allocate",
    ] {
        assert!(ops.contains_key(op), "{op} in {ops:?}");
    }

    // The rows show what the log says: deleted rows are gone, and each row's FModifyDate is
    // the last one the log stamped on it.
    let mut last_modify: HashMap<i64, Value> = HashMap::new();
    let mut deleted = BTreeSet::new();
    for e in &log {
        let id = e["FMaterialId"].as_i64().expect("id");
        if e["op"] == "delete" {
            deleted.insert(id);
        } else if let Some(t) = e["dates"].get("FModifyDate") {
            last_modify.insert(id, t.clone());
        }
    }
    let ids: Vec<i64> = last_modify.keys().copied().collect();
    let rows = mock.rows_by_id(&ids).await;
    assert_eq!(
        rows.len(),
        ids.iter().filter(|i| !deleted.contains(i)).count()
    );
    for r in &rows {
        let id = r["FMaterialId"].as_i64().expect("id");
        assert_eq!(r["FModifyDate"], last_modify[&id], "row {id}");
    }
    let all = mock.get("/_mock/rows").await;
    let live: BTreeSet<i64> = all
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["FMaterialId"].as_i64().expect("id"))
        .collect();
    assert!(deleted.iter().all(|id| !live.contains(id)));

    // The same seed from the same data does the same operations to the same rows.
    mock.ok(Method::POST, "/_mock/reset", json!({})).await;
    assert_eq!(mock.get("/_mock/churn/log").await, json!([]));
    let again = run().await;
    let pick = |log: &[Value]| -> Vec<(Value, Value)> {
        log.iter()
            .map(|e| (e["op"].clone(), e["FMaterialId"].clone()))
            .collect()
    };
    assert_eq!(pick(again.as_array().expect("log")), pick(&log));
}

#[tokio::test]
async fn a_timed_churn_runs_until_stopped_and_then_changes_nothing() {
    let mock = Mock::start(1_000).await;
    mock.ok(
        Method::POST,
        "/_mock/churn",
        json!({"rate_per_sec": 200, "seed": 3, "mix": {"edit": 1, "unaudit": 0, "forbid": 1,
            "enable": 0, "delete": 0, "allocate": 0, "create": 0}}),
    )
    .await;
    eventually("20 churn operations", async || {
        mock.get("/_mock/churn").await["done"].as_u64() >= Some(20)
    })
    .await;
    let stopped = mock.ok(Method::DELETE, "/_mock/churn", Value::Null).await;
    assert_eq!(
        (stopped["running"].as_bool(), stopped["end"].as_str()),
        (Some(false), Some("stopped"))
    );
    let done = stopped["done"].as_u64().expect("done");
    let rows = mock.get("/_mock/rows").await;
    for _ in 0..5 {
        mock.query(page("", "FMaterialId")).await;
    }
    assert_eq!(mock.get("/_mock/churn").await["done"].as_u64(), Some(done));
    assert_eq!(mock.get("/_mock/rows").await, rows);
    let log = mock.get("/_mock/churn/log?last=5").await;
    assert_eq!(log.as_array().map(Vec::len), Some(5));
    assert_eq!(log[4]["seq"].as_u64(), Some(done));
    let kinds: BTreeSet<&str> = log
        .as_array()
        .expect("log")
        .iter()
        .map(|e| e["op"].as_str().expect("op"))
        .collect();
    assert!(
        kinds
            .iter()
            .all(|k| ["unaudit", "save", "submit", "audit", "forbid", "enable"].contains(k))
    );
}
