//! Loading: the demo, defaults of absent keys and sections, paths, secrets.

use secrecy::ExposeSecret;

use super::{Scratch, demo_text, load_demo, without_section};
use crate::settings::{
    AmqpSettings, AuthMode, JobSettings, KingdeeSettings, MySqlSettings, ProducerSettings,
    SyncMode, WorkerSettings,
};

#[test]
fn the_demo_settings_load_and_their_kingdee_section_builds_a_client() {
    let settings = load_demo(|t| t).unwrap();
    assert_eq!(settings.job_names(), ["materials"]);
    assert_eq!(settings.jobs[0].mode, SyncMode::Incremental);
    crate::kingdee::KingdeeClient::new(&settings.kingdee).unwrap();
}

#[test]
fn absent_producer_and_worker_sections_take_their_defaults() {
    let text = without_section(&without_section(&demo_text(), "[producer]"), "[worker]");
    let settings = Scratch::new().load(&text).unwrap();
    let (producer, want) = (settings.producer, ProducerSettings::default());
    assert_eq!(
        (
            producer.max_queue_depth,
            producer.listen,
            producer.lock_wait_secs
        ),
        (want.max_queue_depth, want.listen, want.lock_wait_secs)
    );
    let (worker, want) = (settings.worker, WorkerSettings::default());
    assert_eq!(
        (
            worker.batch_size,
            worker.flush_interval_ms,
            worker.retry_attempts
        ),
        (want.batch_size, want.flush_interval_ms, want.retry_attempts)
    );
    assert_eq!(
        (worker.shutdown_grace_secs, worker.listen),
        (want.shutdown_grace_secs, want.listen)
    );
}

/// The defaults of the settings reference (README), pinned so that a change is deliberate.
#[test]
fn absent_keys_take_the_documented_defaults() {
    let k = KingdeeSettings::default();
    assert_eq!(
        (k.lcid, k.org_num.as_str(), k.auth),
        (2052, "0", AuthMode::Signature)
    );
    assert_eq!(
        (
            k.request_timeout_secs,
            k.requests_per_second,
            k.max_in_flight
        ),
        (120, 20, 4)
    );
    assert_eq!(
        (
            k.retry_attempts,
            k.retry_min_delay_ms,
            k.retry_max_delay_ms,
            k.retry_max_elapsed_secs
        ),
        (6, 200, 10_000, 300)
    );
    assert_eq!(k.utc_offset, "+08:00");
    assert!(k.password.is_none());
    let a = AmqpSettings::default();
    assert_eq!(a.retry_tiers_secs, [5, 30, 300]);
    assert_eq!((a.delivery_limit, a.records_per_message), (20, 100));
    assert_eq!(a.max_message_bytes, 1024 * 1024);
    let m = MySqlSettings::default();
    assert_eq!((m.max_connections, m.lock_wait_timeout_secs), (4, 50));
    let p = ProducerSettings::default();
    assert_eq!(
        (p.max_queue_depth, p.listen.as_str(), p.lock_wait_secs),
        (100_000, "127.0.0.1:9101", 600)
    );
    let w = WorkerSettings::default();
    assert_eq!(
        (w.batch_size, w.flush_interval_ms, w.retry_attempts),
        (1000, 100, 3)
    );
    assert_eq!(
        (w.shutdown_grace_secs, w.listen.as_str()),
        (20, "127.0.0.1:9102")
    );
    let j = JobSettings::default();
    assert_eq!(
        (
            j.key_field.as_str(),
            j.modified_field.as_str(),
            j.created_field.as_str()
        ),
        ("", "FModifyDate", "FCreateDate")
    );
    assert_eq!(
        (j.page_size, j.schedule_secs, j.mode),
        (2000, 300, SyncMode::Incremental)
    );
    assert!(j.filter.is_empty() && j.target.columns.is_empty());
    assert!(j.target.mapping_file.is_none());
}

#[test]
fn a_relative_mapping_file_is_resolved_against_the_settings_folder() {
    let scratch = Scratch::new();
    let text = demo_text().replace(
        "version = \"modify_date\"",
        "version = \"modify_date\"\nmapping_file = \"mappings/materials.json\"",
    );
    let settings = scratch.load(&text).unwrap();
    assert_eq!(
        settings.jobs[0].target.mapping_file,
        Some(scratch.0.join("mappings/materials.json"))
    );
}

#[test]
fn an_absolute_mapping_file_is_left_alone() {
    let absolute = std::env::temp_dir().join("elsewhere/materials.json");
    let text = demo_text().replace(
        "version = \"modify_date\"",
        &format!(
            "version = \"modify_date\"\nmapping_file = {:?}",
            absolute.display().to_string()
        ),
    );
    let settings = Scratch::new().load(&text).unwrap();
    assert_eq!(settings.jobs[0].target.mapping_file, Some(absolute));
}

#[test]
fn secrets_are_redacted_in_debug_output() {
    let settings = load_demo(|t| {
        t.replace(
            "[kingdee]",
            "[kingdee]\nauth = \"password\"\npassword = \"pw-visible\"",
        )
    })
    .unwrap();
    assert_eq!(
        settings.kingdee.app_secret.expose_secret(),
        "0123456789abcdef0123456789abcdef"
    );
    let debug = format!("{settings:?}");
    for secret in [
        "0123456789abcdef0123456789abcdef",
        "pw-visible",
        "guest:guest",
        "root@",
    ] {
        assert!(!debug.contains(secret), "`{secret}` shows in {debug}");
    }
}

#[test]
fn kingdee_dates_are_read_as_china_time_unless_told_otherwise() {
    let offset = |line: &str| {
        load_demo(|t| t.replace("utc_offset = \"+08:00\"", line))
            .unwrap()
            .kingdee
            .offset()
            .local_minus_utc()
    };
    assert_eq!(offset(""), 8 * 3600, "the default");
    assert_eq!(offset("utc_offset = \"Z\""), 0);
    assert_eq!(offset("utc_offset = \"-05:30\""), -(5 * 3600 + 1800));
}

#[test]
fn a_bad_utc_offset_stops_the_load_and_names_the_setting() {
    let err = load_demo(|t| t.replace("utc_offset = \"+08:00\"", "utc_offset = \"Beijing\""))
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("kingdee.utc_offset"), "{text}");
    assert!(text.contains("+08:00"), "{text}");
}

#[test]
fn amqp_url_takes_a_list_of_nodes_and_names_a_bad_one_by_index() {
    let one = "url = \"amqp://guest:guest@127.0.0.1:5672/%2f\"";
    let settings = load_demo(|t| {
        t.replace(
            one,
            "url = [\"amqp://guest:guest@127.0.0.1:5681/%2f\", \"amqp://guest:guest@127.0.0.1:5682/%2f\"]",
        )
    })
    .unwrap();
    assert_eq!(settings.amqp.url.len(), 2);
    assert_eq!(
        settings.amqp.url.expose(1),
        "amqp://guest:guest@127.0.0.1:5682/%2f"
    );
    assert!(!format!("{settings:?}").contains("guest:guest"));
    let error = load_demo(|t| {
        t.replace(
            one,
            "url = [\"amqp://guest:guest@127.0.0.1:5681/%2f\", \"\"]",
        )
    })
    .expect_err("an empty address");
    assert!(error.to_string().contains("`amqp.url[1]`"), "{error}");
}

#[test]
fn quorum_replicas_default_to_three() {
    assert_eq!(AmqpSettings::default().quorum_replicas, 3);
}

#[test]
fn a_mode_is_spelt_alike_on_the_command_line_in_the_settings_and_in_the_state_tables() {
    use clap::ValueEnum;
    for mode in SyncMode::value_variants() {
        let value = mode.to_possible_value().expect("no mode is hidden");
        assert_eq!(value.get_name(), mode.as_str());
        let read: SyncMode = serde_json::from_value(serde_json::json!(mode.as_str())).unwrap();
        assert_eq!(read, *mode);
    }
}
