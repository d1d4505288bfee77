//! `ctl dlq list|show|purge`: looking never consumes or reorders; purging asks first.

use k3sync_ctl::dlq;

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_dead_letters_neither_takes_them_off_the_queue_nor_reorders_them() {
    let env = start(50).await;
    let broker = Broker::declare(&env.settings, env.job()).await;
    let published = broker.dead_letters(&env, &twenty()).await;
    let dead_queue = env.topology().dead_queue();

    assert_eq!(dead_ids(&env).await, published);
    let first_mapping = dlq::list(&env.settings, &selection(&env, &["mapping"], Some(3)))
        .await
        .unwrap();
    let expected: Vec<String> = [1, 4, 7].iter().map(|i| published[*i].clone()).collect();
    assert_eq!(ids(&first_mapping), expected);
    assert_eq!(first_mapping[0].keys, vec![9_100_001]);
    assert_eq!(first_mapping[0].worker.as_deref(), Some("test-worker"));
    assert_eq!(
        dead_ids(&env).await,
        published,
        "listing twice gives the same order"
    );
    assert_eq!(broker.depth(&dead_queue).await, 20);

    let config = env.write_config();
    let (code, stdout, stderr) = ctl(&config, &["dlq", "show", &published[3]]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("class      data"), "{stdout}");
    assert!(
        stdout.contains(&long_code(9_100_003)),
        "the record is printed: {stdout}"
    );
    assert!(
        stdout.contains("failures recorded in error_log: 1"),
        "{stdout}"
    );
    let (code, stdout, _) = ctl(&config, &["dlq", "list", "--class", "decode"]).await;
    assert_eq!(code, 0);
    assert!(stdout.contains("6 dead letters shown"), "{stdout}");
    let (code, _, _) = ctl(&config, &["dlq", "show", "no-such-id"]).await;
    assert_ne!(code, 0);
    assert_eq!(dead_ids(&env).await, published);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_refuses_without_yes_and_with_it_deletes_only_the_selection() {
    let env = start(50).await;
    let broker = Broker::declare(&env.settings, env.job()).await;
    let published = broker.dead_letters(&env, &twenty()).await;
    let config = env.write_config();

    let (code, stdout, stderr) = ctl(&config, &["dlq", "purge", "--class", "mapping"]).await;
    assert_ne!(code, 0);
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(dead_ids(&env).await, published, "nothing purged");

    let (code, stdout, stderr) =
        ctl(&config, &["dlq", "purge", "--class", "mapping", "--yes"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "purged 7 (mapping 7), kept 13\n");
    let rest: Vec<String> = published
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 1)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(dead_ids(&env).await, rest);
    let purged = scalar(
        &env,
        "SELECT COUNT(*) FROM error_log WHERE purged_at IS NOT NULL AND class = 'mapping'",
    )
    .await;
    assert_eq!(purged, 7);
    env.cleanup().await;
}
