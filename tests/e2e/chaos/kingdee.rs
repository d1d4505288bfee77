//! Kingdee misbehaving throughout a run: a fifth of the query requests fail (IIS HTTP 500,
//! MsgCode 14, hangs past a short client timeout), every request is slow and sessions are
//! forgotten. The producer's bounded retries carry every page through.

use std::time::Duration;

use k3sync_tests::chaos::{Workers, run_producer_until_done};
use reqwest::Method;
use serde_json::json;

use super::{ChaosRun, Letters, vars};

const WORKERS: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifth_of_kingdee_requests_failing_slow_and_with_lost_sessions_loses_nothing() {
    let mut run = ChaosRun::start().await;
    // Smaller pages: twice the requests, so twice the faults.
    let text = std::fs::read_to_string(&run.config).expect("config");
    std::fs::write(
        &run.config,
        text.replace("page_size = 2000", "page_size = 1000"),
    )
    .expect("config");
    run.env
        .mock_send(
            Method::PUT,
            "/_mock/faults",
            json!({"http500": 0.08, "msgcode14": 0.07, "hang": 0.07, "hang_ms": 2500,
                   "latency_ms": 30, "drop_sessions": 0.1, "seed": 20_240_312}),
        )
        .await;
    let workers = Workers::start(&run.env, &run.config, WORKERS, &[]);
    let impatient = vars(&[("K3SYNC__KINGDEE__REQUEST_TIMEOUT_SECS", "1".to_owned())]);
    let producing =
        run_producer_until_done(&run.env, &run.config, &impatient, Duration::from_secs(90));
    let poisoning = async {
        run.wait_for_rows(2_000, Duration::from_secs(60)).await;
        run.publish_poison().await;
    };
    let (producer, ()) = tokio::join!(producing, poisoning);
    let stats = run.env.mock_get("/_mock/stats").await;
    let query = &stats["services"]["ExecuteBillQuery"];
    eprintln!(
        "producer: {producer:?}; ExecuteBillQuery: {query}; sessions created: {}",
        stats["sessions_created"]
    );
    let count = |outcome: &str| query[outcome].as_u64().unwrap_or(0);
    let faults = count("http500") + count("msgcode14") + count("hang");
    let all = faults + count("ok");
    assert!(
        count("http500") > 0 && count("msgcode14") > 0 && count("hang") > 0,
        "every kind of fault happened: {query}"
    );
    assert!(
        faults * 100 >= all * 12,
        "about a fifth of the requests failed: {query}"
    );
    assert!(
        stats["sessions_created"].as_u64().unwrap_or(0) > 1,
        "sessions were lost: {stats}"
    );
    run.wait_until_synced(Duration::from_secs(60)).await;
    workers.stop().await;
    run.assert_exact(Letters::ExactlyOnce).await;
    run.finish().await;
}
