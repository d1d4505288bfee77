//! Validation rules, one row each: the demo settings with one value broken fail naming it.

use secrecy::SecretString;

use super::load_demo;
use crate::settings::{AuthMode, Settings};

type Edit = fn(&mut Settings);

/// (what is broken, the edit, the setting the error must name)
const BROKEN: &[(&str, Edit, &str)] = &[
    (
        "ftp scheme",
        |s| s.kingdee.server_url = "ftp://erp/k3cloud/".into(),
        "kingdee.server_url",
    ),
    (
        "not a URL",
        |s| s.kingdee.server_url = "erp/k3cloud".into(),
        "kingdee.server_url",
    ),
    (
        "control character",
        |s| s.kingdee.app_id = "1_x\ny".into(),
        "kingdee.app_id",
    ),
    (
        "no password",
        |s| s.kingdee.auth = AuthMode::Password,
        "kingdee.password",
    ),
    (
        "zone name",
        |s| s.kingdee.utc_offset = "Beijing".into(),
        "kingdee.utc_offset",
    ),
    (
        "no timeout",
        |s| s.kingdee.request_timeout_secs = 0,
        "kingdee.request_timeout_secs",
    ),
    (
        "no slot",
        |s| s.kingdee.max_in_flight = 0,
        "kingdee.max_in_flight",
    ),
    (
        "no attempt",
        |s| s.kingdee.retry_attempts = 0,
        "kingdee.retry_attempts",
    ),
    (
        "empty messages",
        |s| s.amqp.records_per_message = 0,
        "amqp.records_per_message",
    ),
    (
        "tiny messages",
        |s| s.amqp.max_message_bytes = 65_535,
        "amqp.max_message_bytes",
    ),
    (
        "no tier",
        |s| s.amqp.retry_tiers_secs.clear(),
        "amqp.retry_tiers_secs",
    ),
    (
        "zero tier",
        |s| s.amqp.retry_tiers_secs = vec![5, 0],
        "amqp.retry_tiers_secs",
    ),
    (
        "empty batch",
        |s| s.worker.batch_size = 0,
        "worker.batch_size",
    ),
    ("no job", |s| s.jobs.clear(), "jobs"),
    (
        "upper case",
        |s| s.jobs[0].name = "Materials".into(),
        "jobs[0].name",
    ),
    (
        "long name",
        |s| s.jobs[0].name = "m".repeat(65),
        "jobs[0].name",
    ),
    (
        "same name twice",
        |s| s.jobs.push(s.jobs[0].clone()),
        "jobs[1].name",
    ),
    (
        "empty page",
        |s| s.jobs[0].page_size = 0,
        "jobs[0].page_size",
    ),
    (
        "huge page",
        |s| s.jobs[0].page_size = 10_001,
        "jobs[0].page_size",
    ),
    (
        "no schedule",
        |s| s.jobs[0].schedule_secs = 0,
        "jobs[0].schedule_secs",
    ),
    (
        "no mapping",
        |s| s.jobs[0].target.columns.clear(),
        "jobs[0].target.columns",
    ),
    (
        "no watched field",
        |s| s.jobs[0].watch.clear(),
        "jobs[0].watch",
    ),
    (
        "no stamp column",
        |s| s.jobs[0].leave.as_mut().unwrap().stamp_column.clear(),
        "jobs[0].leave.stamp_column",
    ),
    (
        "mark mode without a mark column",
        |s| s.jobs[0].leave.as_mut().unwrap().mark_column.clear(),
        "jobs[0].leave.mark_column",
    ),
    (
        "a mark column that is no identifier",
        |s| s.jobs[0].leave.as_mut().unwrap().mark_column = "left_at; DROP".into(),
        "jobs[0].leave.mark_column",
    ),
    (
        "a reconciliation without [jobs.leave]",
        |s| s.jobs[0].leave = None,
        "jobs[0].leave",
    ),
];

/// Edits at the edge of a rule, still valid.
const FINE: &[(&str, Edit)] = &[
    ("password mode with one", |s| {
        s.kingdee.auth = AuthMode::Password;
        s.kingdee.password = Some(SecretString::from("pw"));
    }),
    ("https without a slash", |s| {
        s.kingdee.server_url = "https://erp.example.com/k3cloud".into()
    }),
    ("unlimited rate", |s| s.kingdee.requests_per_second = 0),
    ("largest page", |s| s.jobs[0].page_size = 10_000),
    ("smallest messages", |s| s.amqp.max_message_bytes = 65_536),
    ("name of 64", |s| {
        s.jobs[0].name = "a-b_9".repeat(12) + "abcd"
    }),
    ("mapping file only", |s| {
        s.jobs[0].target.columns.clear();
        s.jobs[0].target.mapping_file = Some("m.json".into());
    }),
];

fn demo() -> Settings {
    load_demo(|t| t).expect("the demo settings load")
}

#[test]
fn each_rule_names_the_setting_it_refuses() {
    for (what, edit, name) in BROKEN {
        let mut settings = demo();
        edit(&mut settings);
        let error = settings.validate().expect_err(what).to_string();
        assert!(error.contains(&format!("`{name}`")), "{what}: {error}");
    }
}

#[test]
fn values_at_the_edge_of_a_rule_pass() {
    for (what, edit) in FINE {
        let mut settings = demo();
        edit(&mut settings);
        if let Err(error) = settings.validate() {
            panic!("{what}: {error}");
        }
    }
}

#[test]
fn a_broken_value_stops_the_load_itself() {
    let error = load_demo(|t| t.replace("page_size = 2000", "page_size = 20000")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "setting `jobs[0].page_size` is invalid: must be between 1 and 10000"
    );
}
