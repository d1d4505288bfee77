//! MySQL going away mid-run: the workers' connections killed again and again (`KILL` on the ids
//! `information_schema.PROCESSLIST` shows for the workers' own MySQL user), and the server
//! restarted once (gated: it disconnects every test on the machine). Transient failures are
//! retried in process and through the retry tiers; nothing is written twice or lost.

use std::time::Duration;

use k3sync_tests::chaos::{
    WorkerUser, Workers, kill_connections_of, require_restarts_allowed, restart_mariadb,
    run_producer_until_done,
};

use super::{ChaosRun, Letters, one_stream, vars};

const WORKERS: usize = 2;
/// Time between two rounds of `KILL`.
const KILL_EVERY: Duration = Duration::from_millis(250);
/// Most rounds in one run (the run may end sooner).
const MAX_ROUNDS: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workers_mysql_connections_killed_again_and_again_mid_run_lose_nothing() {
    let mut run = ChaosRun::start().await;
    let user = WorkerUser::create(&run.env).await;
    eprintln!(
        "worker user {} ready after {:?}",
        user.name,
        run.started.elapsed()
    );
    let own_user = vars(&[("K3SYNC__MYSQL__URL", user.url())]);
    let workers = Workers::start(&run.env, &run.config, WORKERS, &own_user);
    let chaos = async {
        run.wait_for_rows(2_000, Duration::from_secs(60)).await;
        run.publish_poison().await;
        let (mut rounds, mut killed) = (0, 0);
        while rounds < MAX_ROUNDS && !run.complete().await {
            killed += kill_connections_of(&user).await;
            rounds += 1;
            tokio::time::sleep(KILL_EVERY).await;
        }
        (rounds, killed)
    };
    let one_stream = one_stream();
    let producing =
        run_producer_until_done(&run.env, &run.config, &one_stream, Duration::from_secs(90));
    let (producer, (rounds, killed)) = tokio::join!(producing, chaos);
    eprintln!("{killed} connections killed in {rounds} rounds; producer: {producer:?}");
    assert!(killed >= 10, "the run ended before the chaos did");
    run.wait_until_synced(Duration::from_secs(60)).await;
    workers.stop().await;
    run.assert_exact(Letters::ExactlyOnce).await;
    user.drop_user().await;
    run.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts RabbitMQ/MariaDB; run with --run-ignored only"]
async fn a_mariadb_restart_mid_run_loses_nothing() {
    require_restarts_allowed("a_mariadb_restart_mid_run_loses_nothing");
    let mut run = ChaosRun::start().await;
    let workers = Workers::start(&run.env, &run.config, WORKERS, &[]);
    let chaos = async {
        run.wait_for_rows(2_000, Duration::from_secs(60)).await;
        run.publish_poison().await;
        restart_mariadb().await;
    };
    let producing = run_producer_until_done(&run.env, &run.config, &[], Duration::from_secs(120));
    let (producer, ()) = tokio::join!(producing, chaos);
    eprintln!("producer: {producer:?}");
    run.wait_until_synced(Duration::from_secs(90)).await;
    workers.stop().await;
    run.assert_exact(Letters::ExactlyOnce).await;
    run.finish().await;
}
