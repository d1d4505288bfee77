//! `ctl check`: green on a working environment, red and specific on a broken mapping.

use k3sync_ctl::check;
use k3sync_tests::wait_for;

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_on_the_test_environment() {
    let env = start(50).await;
    let broker = Broker::declare(&env.settings, env.job()).await;
    let worker = start_worker(&env);
    wait_for("the worker to consume", WAIT, || async {
        (broker.consumers(&env.topology().work_queue()).await == 1).then_some(())
    })
    .await;
    let report = check::run(&env.settings, "test settings").await;
    let text = report.render();
    assert!(!report.failed(), "{text}");
    for what in ["mysql", "migrations", "rabbitmq"] {
        assert!(
            report
                .lines
                .iter()
                .any(|l| l.what == what && l.level == check::Level::Ok),
            "{what}: {text}"
        );
    }
    let job = env.job();
    for what in [
        format!("mapping {job}"),
        format!("kingdee {job}"),
        format!("queues {job}"),
    ] {
        assert!(
            report
                .lines
                .iter()
                .any(|l| l.what == what && l.level == check::Level::Ok),
            "{what}: {text}"
        );
    }
    assert!(
        text.contains("RabbitMQ 3.") || text.contains("RabbitMQ 4."),
        "{text}"
    );

    let (code, stdout, stderr) = ctl(&env.write_config(), &["check"]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("0 failed"), "{stdout}");
    worker.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_naming_the_column_when_the_mapping_uses_one_the_table_lacks() {
    let mut env = start(50).await;
    env.settings.jobs[0]
        .target
        .columns
        .insert("colour".into(), "{FName}".into());
    let report = check::run(&env.settings, "test settings").await;
    let failures: Vec<String> = report
        .failures()
        .map(|l| format!("{} {}", l.what, l.detail))
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("colour") && failures[0].contains("wk_wodtop_product"),
        "{failures:?}"
    );

    let config = env.write_config();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "code = \"{FNumber}\"",
            "code = \"{FNumber}\"\ncolour = \"{FName}\"",
        ),
    )
    .unwrap();
    let (code, stdout, _) = ctl(&config, &["check"]).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains("`colour`")),
        "{stdout}"
    );
    env.cleanup().await;
}
