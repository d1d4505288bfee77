//! The producer killed with SIGKILL mid-pass, twice, and started again: a full pass resumes from
//! the cursor of its last confirmed page (of each partition), so nothing is skipped and at most a
//! page per partition is sent twice.

use std::time::Duration;

use k3sync_tests::chaos::{Proc, Workers, log_dir, poll, producer_args, run_producer_until_done};

use super::{ChaosRun, Letters};

const WORKERS: usize = 2;
/// Pages the producer confirms before each kill.
const PAGES_BEFORE_KILL: i64 = 8;

/// (status, pages, records) of the job's passes, oldest first.
async fn runs(run: &ChaosRun) -> Vec<(String, i64, i64)> {
    sqlx::query_as("SELECT status, pages, records FROM sync_runs WHERE job = ? ORDER BY id")
        .bind(run.env.job())
        .fetch_all(&run.env.pool)
        .await
        .expect("sync_runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_producer_killed_twice_mid_pass_resumes_from_its_cursor_and_loses_nothing() {
    let mut run = ChaosRun::start().await;
    let workers = Workers::start(&run.env, &run.config, WORKERS, &[]);
    let args = producer_args(&run.env, &run.config);
    for kill in 1..=2 {
        let log = log_dir(&run.env).join(format!("producer-killed-{kill}.log"));
        let mut producer = Proc::spawn(
            &format!("producer (killed) #{kill}"),
            "producer",
            &args,
            &[],
            log,
        );
        poll(
            &format!("{PAGES_BEFORE_KILL} more pages confirmed"),
            Duration::from_secs(60),
            Duration::from_millis(20),
            || async {
                // The pass of this process: one row more than the passes killed before it.
                let passes = runs(&run).await;
                let last = passes.get(kill - 1)?;
                (last.0 == "running" && last.1 >= PAGES_BEFORE_KILL).then_some(())
            },
        )
        .await;
        producer.kill9().await;
        if kill == 1 {
            run.publish_poison().await;
        }
    }
    // A partitioned pass (the demo's max_in_flight 4): `full` holds the low watermark, every
    // key up to it confirmed; NULL while the lowest partition has confirmed no page.
    let open: (Option<i64>, bool) = sqlx::query_as(
        "SELECT cursor_key, pass_open FROM sync_state WHERE job = ? AND mode = 'full'",
    )
    .bind(run.env.job())
    .fetch_one(&run.env.pool)
    .await
    .expect("a stored cursor");
    assert!(open.1, "the killed pass is still open at key {:?}", open.0);

    let finished =
        run_producer_until_done(&run.env, &run.config, &[], Duration::from_secs(60)).await;
    assert_eq!(finished.attempts, 1, "{finished:?}");
    let passes = runs(&run).await;
    eprintln!("passes: {passes:?}");
    assert_eq!(passes.len(), 3);
    let statuses: Vec<&str> = passes.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        statuses,
        ["running", "running", "succeeded"],
        "killed passes stay `running`"
    );
    let total = (run.want.len() - run.poison.good.len()) as i64;
    let resumed: i64 = passes.iter().map(|p| p.2).sum();
    assert!(
        passes.iter().all(|p| p.2 > 0 && p.2 < total),
        "each pass resumed where the one before was killed: {passes:?}"
    );
    // A pass is recorded after its cursor: a kill in between leaves a page uncounted, never
    // one counted twice — a page per partition reading at once (max_in_flight 4).
    assert!(
        resumed <= total && resumed >= total - 2 * 4 * 2000,
        "{resumed} of {total}: {passes:?}"
    );
    let closed: bool =
        sqlx::query_scalar("SELECT pass_open FROM sync_state WHERE job = ? AND mode = 'full'")
            .bind(run.env.job())
            .fetch_one(&run.env.pool)
            .await
            .expect("cursor");
    assert!(!closed, "the finished pass is closed");

    run.wait_until_synced(Duration::from_secs(60)).await;
    workers.stop().await;
    run.assert_exact(Letters::ExactlyOnce).await;
    run.finish().await;
}
