//! Operations: `/metrics` tells what happened, `/readyz` follows MySQL and RabbitMQ going away
//! and coming back (cut with a TCP proxy, so the shared servers stay up for other tests).

use std::time::Duration;

use k3sync_common::settings::SyncMode;
use k3sync_producer::Producer;
use k3sync_tests::metrics::series;
use k3sync_tests::proxy::{TcpProxy, free_port};
use k3sync_tests::{TestEnv, amqp_url, matches_job_filter, mysql_server_url, wait_for};
use reqwest::StatusCode;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

/// Every `k3sync_` series in `metrics` comes with a `# HELP` line.
fn assert_every_series_has_help(metrics: &str) {
    for line in metrics.lines().filter(|l| l.starts_with("k3sync_")) {
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|base| metrics.contains(&format!("# TYPE {base} histogram")))
            .unwrap_or(name);
        assert!(
            metrics.contains(&format!("# HELP {base} ")),
            "no HELP for {base}:\n{metrics}"
        );
    }
}

async fn row_count(env: &TestEnv) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM wk_wodtop_product")
        .fetch_one(&env.pool)
        .await
        .unwrap()
}

fn spawn(env: &TestEnv, binary: &str, args: &[&str], vars: &[(&str, String)]) -> Child {
    let path = k3sync_tests::binary(binary);
    assert!(
        path.exists(),
        "build the binaries first (cargo nextest run --workspace): {path:?}"
    );
    let config = env.write_config();
    let mut command = Command::new(path);
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .kill_on_drop(true);
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (key, value) in vars {
        command.env(key, value);
    }
    command.spawn().expect("spawn")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_the_producer_and_the_worker_did() {
    let env = TestEnv::start(4_000).await;
    let expected = env
        .mock_rows()
        .await
        .iter()
        .filter(|r| matches_job_filter(r))
        .count();
    let producer_port = free_port();
    let worker_port = free_port();
    // `sync_job`, not `job`: Prometheus owns `job` and would rename ours to `exported_job`.
    let job_label = format!("sync_job=\"{}\"", env.job());
    let _producer = spawn(
        &env,
        "producer",
        &["sync", "--job", env.job(), "--mode", "full"],
        &[
            (
                "K3SYNC__PRODUCER__LISTEN",
                format!("127.0.0.1:{producer_port}"),
            ),
            ("K3SYNC__MONITORING__QUEUE_SAMPLE_SECS", "1".to_owned()),
        ],
    );
    let _worker = spawn(
        &env,
        "worker",
        &["--job", env.job()],
        &[("K3SYNC__WORKER__LISTEN", format!("127.0.0.1:{worker_port}"))],
    );
    let worker_metrics = format!("http://127.0.0.1:{worker_port}/metrics");
    let written = wait_for(
        "the worker's metrics to count every row",
        Duration::from_secs(120),
        || async {
            let (_, text) = env.get(&worker_metrics).await?;
            let written = series(&text, "k3sync_records_written_total", &[&job_label])?;
            (written as usize == expected).then_some(text)
        },
    )
    .await;
    assert_eq!(row_count(&env).await as usize, expected);
    let batches = series(&written, "k3sync_batch_records_count", &[&job_label]).unwrap();
    let batch_sum = series(&written, "k3sync_batch_records_sum", &[&job_label]).unwrap();
    assert!(batches >= 1.0);
    assert_eq!(batch_sum as usize, expected);
    assert!(series(&written, "k3sync_write_seconds_count", &[&job_label]).unwrap() >= 1.0);
    assert!(series(&written, "k3sync_record_lag_seconds_count", &[&job_label]).is_some());

    let producer_metrics = format!("http://127.0.0.1:{producer_port}/metrics");
    let succeeded = format!("{job_label},mode=\"full\",result=\"succeeded\"");
    let text = wait_for(
        "the producer to count its pass",
        Duration::from_secs(30),
        || async {
            let (_, text) = env.get(&producer_metrics).await?;
            text.lines()
                .any(|l| {
                    l.starts_with("k3sync_passes_total{")
                        && l.contains(&succeeded)
                        && l.ends_with(" 1")
                })
                .then_some(text)
        },
    )
    .await;
    assert_eq!(
        series(&text, "k3sync_records_published_total", &[&job_label]),
        Some(expected as f64)
    );
    let pages = series(&text, "k3sync_pages_fetched_total", &[&job_label]).unwrap();
    let ok_requests = series(
        &text,
        "k3sync_kingdee_requests_total",
        &[
            "service=\"ExecuteBillQuery\"",
            "outcome=\"ok\"",
            "error_class=\"none\"",
        ],
    )
    .unwrap();
    let stats = env.mock_get("/_mock/stats").await;
    let served = stats["services"]["ExecuteBillQuery"]["ok"]
        .as_f64()
        .unwrap();
    assert_eq!(
        ok_requests, served,
        "every request the mock answered is counted"
    );
    // A partitioned full pass (the demo's max_in_flight 4) first asks for its key range: two
    // one-row queries, which are no pages.
    assert_eq!(pages + 2.0, served, "one page per request");
    assert!(series(&text, "k3sync_kingdee_request_seconds_count", &[]).unwrap() >= served);
    let pass = [job_label.as_str(), "mode=\"full\"", "result=\"succeeded\""];
    assert_eq!(series(&text, "k3sync_passes_total", &pass), Some(1.0));
    let failed = [job_label.as_str(), "mode=\"full\"", "result=\"failed\""];
    assert_eq!(series(&text, "k3sync_passes_total", &failed), Some(0.0));
    assert_eq!(
        series(&text, "k3sync_passes_failed_in_a_row", &[&job_label]),
        Some(0.0)
    );
    assert_eq!(
        series(&text, "k3sync_pass_schedule_seconds", &[&job_label]),
        Some(60.0)
    );
    let success = series(
        &text,
        "k3sync_last_success_timestamp_seconds",
        &[&job_label],
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - 120.0..=now + 1.0).contains(&success),
        "{success} vs {now}"
    );
    let build = [
        "binary=\"producer\"",
        concat!("version=\"", env!("CARGO_PKG_VERSION"), "\""),
    ];
    assert_eq!(series(&text, "k3sync_build_info", &build), Some(1.0));
    assert_every_series_has_help(&text);

    // The producer samples every queue all the time: the worker shows up as the consumer.
    let work = format!("queue=\"k3sync.{}\"", env.job());
    let sampled = wait_for(
        "the sampler to see the worker",
        Duration::from_secs(30),
        || async {
            let (_, text) = env.get(&producer_metrics).await?;
            let labels = [job_label.as_str(), work.as_str(), "kind=\"work\""];
            (series(&text, "k3sync_queue_consumers", &labels)? == 1.0).then_some(text)
        },
    )
    .await;
    let dead = format!("queue=\"k3sync.{}.dead\"", env.job());
    let dead_labels = [job_label.as_str(), dead.as_str(), "kind=\"dead\""];
    assert_eq!(
        series(&sampled, "k3sync_queue_depth", &dead_labels),
        Some(0.0)
    );
    let retry = [job_label.as_str(), "kind=\"retry\""];
    assert_eq!(
        series(&sampled, "k3sync_queue_consumers", &retry),
        Some(0.0)
    );
    wait_for(
        "both processes to report ready",
        Duration::from_secs(30),
        || async {
            let (_, p) = env.get(&producer_metrics).await?;
            let (_, w) = env.get(&worker_metrics).await?;
            (series(&p, "k3sync_ready", &[])? == 1.0 && series(&w, "k3sync_ready", &[])? == 1.0)
                .then_some(())
        },
    )
    .await;
    let (_, text) = env.get(&worker_metrics).await.expect("worker metrics");
    let data = [job_label.as_str(), "class=\"data\""];
    assert_eq!(
        series(&text, "k3sync_records_dead_lettered_total", &data),
        Some(0.0)
    );
    assert_every_series_has_help(&text);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_while_mysql_or_rabbitmq_is_down_and_recovers() {
    let env = TestEnv::start(500).await;
    let mysql = TcpProxy::start("127.0.0.1:3306").await;
    let rabbit = TcpProxy::start("127.0.0.1:5672").await;
    let port = free_port();
    let mysql_url = mysql_server_url().replace("127.0.0.1:3306", &mysql.addr().to_string());
    let amqp = amqp_url().replace("127.0.0.1:5672", &rabbit.addr().to_string());
    let _worker = spawn(
        &env,
        "worker",
        &["--job", env.job()],
        &[
            ("K3SYNC__WORKER__LISTEN", format!("127.0.0.1:{port}")),
            (
                "K3SYNC__MYSQL__URL",
                format!("{mysql_url}/{}", env.database),
            ),
            ("K3SYNC__AMQP__URL", amqp),
        ],
    );
    let ready = format!("http://127.0.0.1:{port}/readyz");
    let health = format!("http://127.0.0.1:{port}/healthz");
    let status = |want: StatusCode| {
        let env = &env;
        let ready = ready.clone();
        move || {
            let ready = ready.clone();
            async move {
                env.get(&ready)
                    .await
                    .filter(|(s, _)| *s == want)
                    .map(|(_, body)| body)
            }
        }
    };
    wait_for("ready", Duration::from_secs(60), status(StatusCode::OK)).await;

    mysql.set_up(false);
    let body = wait_for(
        "not ready without MySQL",
        Duration::from_secs(30),
        status(StatusCode::SERVICE_UNAVAILABLE),
    )
    .await;
    assert!(body.contains("mysql"), "{body}");
    assert_eq!(
        env.get(&health).await.map(|(s, _)| s),
        Some(StatusCode::OK),
        "alive all the same"
    );
    mysql.set_up(true);
    wait_for(
        "ready again with MySQL back",
        Duration::from_secs(60),
        status(StatusCode::OK),
    )
    .await;

    rabbit.set_up(false);
    let body = wait_for(
        "not ready without RabbitMQ",
        Duration::from_secs(30),
        status(StatusCode::SERVICE_UNAVAILABLE),
    )
    .await;
    assert!(body.contains("rabbitmq"), "{body}");
    rabbit.set_up(true);
    wait_for(
        "ready again with RabbitMQ back",
        Duration::from_secs(90),
        status(StatusCode::OK),
    )
    .await;

    // And it works after both came back: a pass's records are written.
    let producer = Producer::connect(env.settings.clone()).await.unwrap();
    let report = producer
        .run_pass(env.job(), SyncMode::Full, &CancellationToken::new())
        .await
        .unwrap();
    wait_for("rows after recovery", Duration::from_secs(60), || async {
        (row_count(&env).await as u64 == report.records).then_some(())
    })
    .await;
    env.cleanup().await;
}
