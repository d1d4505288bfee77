//! Workers killed with SIGKILL mid-batch, again and again: whatever a dead worker held unacked
//! comes back from the broker and is written once more, harmlessly.

use std::time::Duration;

use k3sync_tests::chaos::{Workers, pick, run_producer_until_done};
use reqwest::Method;
use serde_json::json;

use super::{ChaosRun, Letters, one_stream, vars};

/// Workers running at once.
const WORKERS: usize = 3;
/// Time between two kills.
const KILL_EVERY: Duration = Duration::from_secs(1);
/// Most kills in one run (the run may end sooner).
const MAX_KILLS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_random_worker_killed_every_second_and_replaced_loses_and_duplicates_nothing() {
    let mut run = ChaosRun::start().await;
    // A run long enough for many kills: pages come a little slower and batches are smaller.
    run.env
        .mock_send(Method::PUT, "/_mock/faults", json!({"latency_ms": 250}))
        .await;
    let small_batches = vars(&[("K3SYNC__WORKER__BATCH_SIZE", "300".to_owned())]);
    let mut workers = Workers::start(&run.env, &run.config, WORKERS, &small_batches);
    let chaos = async {
        run.wait_for_rows(2_000, Duration::from_secs(60)).await;
        run.publish_poison().await;
        let mut kills = 0;
        while kills < MAX_KILLS && !run.complete().await {
            workers.kill_and_restart(pick(WORKERS)).await;
            kills += 1;
            tokio::time::sleep(KILL_EVERY).await;
        }
        kills
    };
    let one_stream = one_stream();
    let producing =
        run_producer_until_done(&run.env, &run.config, &one_stream, Duration::from_secs(90));
    let (producer, kills) = tokio::join!(producing, chaos);
    eprintln!("{kills} workers killed; producer: {producer:?}");
    assert!(kills >= 5, "the run ended before the chaos did");
    run.wait_until_synced(Duration::from_secs(60)).await;
    workers.stop().await;
    run.assert_exact(Letters::AtLeastOnce).await;
    run.finish().await;
}
