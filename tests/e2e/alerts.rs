//! Failures you hear about: the producer and a worker run as processes with a one-second
//! schedule, a real Prometheus scrapes them with the project's configuration and alert rules,
//! and a real Alertmanager notifies a webhook served by the test. Also: a wrong password never
//! makes more logins than the hourly bound, while the producer keeps running.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k3sync_tests::alerting::{AlertStack, Targets};
use k3sync_tests::chaos::{Proc, log_dir, remove_logs, sync_args};
use k3sync_tests::metrics::series;
use k3sync_tests::proxy::free_port;
use k3sync_tests::{TestEnv, matches_job_filter, wait_for};
use reqwest::StatusCode;
use serde_json::json;

const ALERT_WAIT: Duration = Duration::from_secs(90);

/// The test's settings file with a pass every second.
fn fast_config(env: &TestEnv) -> PathBuf {
    let path = env.write_config();
    let text = std::fs::read_to_string(&path).expect("test config");
    assert!(
        text.contains("schedule_secs = 60"),
        "the demo schedule moved"
    );
    std::fs::write(
        &path,
        text.replace("schedule_secs = 60", "schedule_secs = 1"),
    )
    .expect("write test config");
    path
}

fn vars(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// `producer sync --job J` (scheduled) serving metrics on `port`, with extra environment.
fn producer(
    env: &TestEnv,
    config: &Path,
    port: u16,
    label: &str,
    extra: &[(&str, String)],
) -> Proc {
    let args = sync_args(env, config, None, false);
    let mut all = vec![
        ("K3SYNC__PRODUCER__LISTEN", format!("127.0.0.1:{port}")),
        ("K3SYNC__MONITORING__QUEUE_SAMPLE_SECS", "1".to_owned()),
    ];
    all.extend(extra.iter().cloned());
    let log = log_dir(env).join(format!("{label}.log"));
    Proc::spawn(label, "producer", &args, &vars(&all), log)
}

fn worker(env: &TestEnv, config: &Path, port: u16) -> Proc {
    let args = [
        "--config",
        &config.display().to_string(),
        "--job",
        env.job(),
    ]
    .map(str::to_owned)
    .to_vec();
    let listen = [("K3SYNC__WORKER__LISTEN", format!("127.0.0.1:{port}"))];
    Proc::spawn(
        "worker",
        "worker",
        &args,
        &vars(&listen),
        log_dir(env).join("worker.log"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_a_broken_secret_fires_passes_failing_at_the_webhook_and_fixing_it_resolves_it() {
    let env = TestEnv::start(200).await;
    let config = fast_config(&env);
    let (p, w) = (free_port(), free_port());
    let targets = Targets {
        producer: format!("127.0.0.1:{p}"),
        worker: format!("127.0.0.1:{w}"),
    };
    let stack = AlertStack::start(&targets).await;
    let _worker = worker(&env, &config, w);
    let wrong = [("K3SYNC__KINGDEE__APP_SECRET", "f".repeat(32))];
    let mut broken = producer(&env, &config, p, "producer-wrong-secret", &wrong);

    let started = Instant::now();
    let firing = stack
        .webhook
        .wait_for("K3syncPassesFailing", env.job(), "firing", ALERT_WAIT)
        .await;
    eprintln!("K3syncPassesFailing fired after {:?}", started.elapsed());
    let summary = firing["annotations"]["summary"]
        .as_str()
        .unwrap_or_default();
    assert!(
        summary.contains(&format!("ctl status --job {}", env.job())),
        "{summary}"
    );
    assert_eq!(firing["labels"]["severity"], "critical");
    wait_for(
        "K3syncKingdeeAuthRefused at the webhook",
        ALERT_WAIT,
        || async {
            stack.webhook.alerts().into_iter().find(|a| {
                a["labels"]["alertname"] == "K3syncKingdeeAuthRefused"
                    && a["labels"]["instance"] == targets.producer.as_str()
                    && a["status"] == "firing"
            })
        },
    )
    .await;

    // The operator fixes the secret and restarts the producer on the same address.
    broken.kill9().await;
    let fixed_at = Instant::now();
    let _fixed = producer(&env, &config, p, "producer-fixed", &[]);
    stack
        .webhook
        .wait_for("K3syncPassesFailing", env.job(), "resolved", ALERT_WAIT)
        .await;
    eprintln!(
        "K3syncPassesFailing resolved {:?} after the fix",
        fixed_at.elapsed()
    );
    drop(stack);
    remove_logs(&env);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_a_broken_record_fires_the_dead_letter_alert_at_the_webhook() {
    let env = TestEnv::start(200).await;
    let config = fast_config(&env);
    let (p, w) = (free_port(), free_port());
    let targets = Targets {
        producer: format!("127.0.0.1:{p}"),
        worker: format!("127.0.0.1:{w}"),
    };
    let stack = AlertStack::start(&targets).await;
    let _worker = worker(&env, &config, w);
    let producer = producer(&env, &config, p, "producer", &[]);
    let rows = env.mock_rows().await;
    let victim = rows
        .iter()
        .find(|r| matches_job_filter(r))
        .and_then(|r| r["FMaterialId"].as_i64())
        .expect("a row of the job");
    let first_pass = Instant::now();
    loop {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sync_runs WHERE status = 'succeeded'")
                .fetch_one(&env.pool)
                .await
                .unwrap_or(0);
        if n > 0 {
            break;
        }
        assert!(
            first_pass.elapsed() < ALERT_WAIT,
            "no pass succeeded within {ALERT_WAIT:?}; the producer's log ends:\n{}",
            producer.log_tail(40)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("the first pass succeeded after {:?}", first_pass.elapsed());
    assert!(
        !stack
            .webhook
            .alerts()
            .iter()
            .any(|a| a["labels"]["alertname"] == "K3syncDeadLetters"),
        "no dead letters yet"
    );

    // A code longer than the column (VARCHAR(64)): the database refuses the row for good.
    let too_long = "X".repeat(300);
    let edit = json!([{"FMaterialId": victim, "FNumber": too_long}]);
    env.mock_send(reqwest::Method::POST, "/_mock/rows", edit)
        .await;
    let started = Instant::now();
    let firing = stack
        .webhook
        .wait_for("K3syncDeadLetters", env.job(), "firing", ALERT_WAIT)
        .await;
    eprintln!("K3syncDeadLetters fired after {:?}", started.elapsed());
    let summary = firing["annotations"]["summary"]
        .as_str()
        .unwrap_or_default();
    assert!(
        summary.contains(&format!("ctl dlq list --job {}", env.job())),
        "{summary}"
    );
    let classes: Vec<String> = sqlx::query_scalar("SELECT class FROM error_log")
        .fetch_all(&env.pool)
        .await
        .expect("error_log");
    assert_eq!(classes, ["data"]);
    drop(stack);
    remove_logs(&env);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_a_wrong_password_logs_in_at_most_the_hourly_bound_while_the_producer_keeps_running()
{
    let env = TestEnv::start(50).await;
    let config = fast_config(&env);
    let port = free_port();
    let wrong_password = [
        ("K3SYNC__KINGDEE__AUTH", "password".to_owned()),
        ("K3SYNC__KINGDEE__PASSWORD", "not-the-password".to_owned()),
        (
            "K3SYNC__KINGDEE__AUTH_BACKOFF__MIN_PAUSE_SECS",
            "1".to_owned(),
        ),
        (
            "K3SYNC__KINGDEE__AUTH_BACKOFF__MAX_PAUSE_SECS",
            "2".to_owned(),
        ),
        (
            "K3SYNC__KINGDEE__AUTH_BACKOFF__ATTEMPTS_PER_HOUR",
            "3".to_owned(),
        ),
    ];
    let mut producer = producer(
        &env,
        &config,
        port,
        "producer-wrong-password",
        &wrong_password,
    );
    let logins = || async {
        env.mock_get("/_mock/requests?service=ValidateUser")
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    wait_for("three refused logins", Duration::from_secs(30), || async {
        (logins().await.len() >= 3).then_some(())
    })
    .await;
    // Passes go on every second; the hourly bound keeps the logins at three.
    let passes_then = failed_passes(&env).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let seen = logins().await;
    assert_eq!(seen.len(), 3, "logins in the mock's log: {seen:?}");
    assert!(
        seen.iter().all(|r| r["outcome"] == "auth_failed"),
        "{seen:?}"
    );
    assert!(
        failed_passes(&env).await >= passes_then + 4,
        "passes keep running"
    );
    assert!(producer.exited().is_none(), "{}", producer.log_tail(20));
    let queries = env
        .mock_get("/_mock/requests?service=ExecuteBillQuery")
        .await;
    assert_eq!(queries, json!([]), "no query without a session");

    let base = format!("http://127.0.0.1:{port}");
    let health = env.get(&format!("{base}/healthz")).await.map(|(s, _)| s);
    assert_eq!(health, Some(StatusCode::OK));
    let (status, body) = env.get(&format!("{base}/readyz")).await.expect("readyz");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains(&format!("job {} is failing", env.job())),
        "{body}"
    );
    assert!(
        body.contains("passes failed in a row;")
            && body.contains("; last error (authentication): "),
        "{body}"
    );
    assert!(body.contains("Kingdee"), "{body}");
    let (_, text) = env.get(&format!("{base}/metrics")).await.expect("metrics");
    let refused = [
        r#"service="ValidateUser""#,
        r#"outcome="error""#,
        r#"error_class="authentication""#,
    ];
    assert_eq!(
        series(&text, "k3sync_kingdee_requests_total", &refused),
        Some(3.0)
    );
    assert!(series(&text, "k3sync_kingdee_auth_held_total", &[]).is_some_and(|n| n >= 4.0));
    assert!(series(&text, "k3sync_kingdee_auth_backoff_seconds", &[]).is_some_and(|s| s > 0.0));
    let log = std::fs::read_to_string(&producer.log).expect("producer log");
    let pauses = log
        .matches("Kingdee refused authentication, pausing calls")
        .count();
    assert_eq!(pauses, 3, "one log line per refused login");
    producer.terminate(Duration::from_secs(30)).await;
    remove_logs(&env);
    env.cleanup().await;
}

async fn failed_passes(env: &TestEnv) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM sync_runs WHERE status = 'failed'")
        .fetch_one(&env.pool)
        .await
        .expect("sync_runs")
}
