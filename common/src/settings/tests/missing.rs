//! Required keys: leaving one out of the file stops the load with a message naming it.

use super::{Scratch, demo_text, without_line, without_section};
use crate::settings::SettingsError;

/// The error of loading `text`, which must fail.
fn load_error(text: &str) -> SettingsError {
    Scratch::new().load(text).expect_err("the load fails")
}

#[test]
fn each_missing_required_key_stops_the_load_and_is_named() {
    let cases = [
        (
            "server_url = \"http://127.0.0.1:8090/k3cloud/\"",
            "kingdee.server_url",
        ),
        ("acct_id = \"5f0c1234abcd12\"", "kingdee.acct_id"),
        ("user_name = \"webapi\"", "kingdee.user_name"),
        (
            "app_id = \"123456_X1bR5mV0cT2kQ9wLz7HsN4pYe8uJa3Df\"",
            "kingdee.app_id",
        ),
        (
            "app_secret = \"0123456789abcdef0123456789abcdef\"",
            "kingdee.app_secret",
        ),
        (
            "url = \"amqp://guest:guest@127.0.0.1:5672/%2f\"",
            "amqp.url",
        ),
        (
            "url = \"mysql://k3sync:k3sync@127.0.0.1:3306/k3sync_demo\"",
            "mysql.url",
        ),
        ("name = \"materials\"", "jobs[0].name"),
        ("form_id = \"BD_MATERIAL\"", "jobs[0].form_id"),
        ("table = \"wk_wodtop_product\"", "jobs[0].target.table"),
        ("key = \"data_id\"", "jobs[0].target.key"),
        ("version = \"modify_date\"", "jobs[0].target.version"),
    ];
    for (line, name) in cases {
        let error = load_error(&without_line(&demo_text(), line));
        assert!(
            matches!(&error, SettingsError::Missing { name: n } if n == name),
            "without `{line}`: {error}"
        );
        assert_eq!(
            error.to_string(),
            format!("setting `{name}` is required: set it in the settings file or the environment")
        );
    }
}

#[test]
fn a_missing_section_names_its_first_required_key() {
    let error = load_error(&without_section(&demo_text(), "[kingdee]"));
    assert!(
        error.to_string().contains("`kingdee.server_url`"),
        "{error}"
    );
    let error = load_error(&without_section(&demo_text(), "[jobs.target]"));
    assert!(
        error.to_string().contains("`jobs[0].target.table`"),
        "{error}"
    );
}

#[test]
fn settings_without_jobs_stop_the_load() {
    let text = demo_text();
    let before_jobs = &text[..text.find("[[jobs]]").expect("the demo has jobs")];
    let error = load_error(before_jobs);
    assert!(error.to_string().contains("`jobs`"), "{error}");
}

#[test]
fn a_blank_required_key_counts_as_missing() {
    let text = demo_text().replace("user_name = \"webapi\"", "user_name = \"  \"");
    assert!(
        load_error(&text)
            .to_string()
            .contains("`kingdee.user_name` is required")
    );
}

#[test]
fn an_unknown_key_stops_the_load_and_is_named() {
    let text = demo_text().replace("[worker]", "[worker]\nbatch_sise = 10");
    let error = load_error(&text);
    let text = crate::error_chain(&error);
    assert!(text.contains("batch_sise"), "{text}");
}

#[test]
fn the_key_field_defaults_to_the_forms_own_and_is_required_for_an_unknown_form() {
    let text = without_line(&demo_text(), "key_field = \"FMaterialId\"");
    let material = Scratch::new().load(&text).expect("materials load");
    assert_eq!(material.jobs[0].key_field, "FMaterialId");
    let customer = text.replace("form_id = \"BD_MATERIAL\"", "form_id = \"BD_Customer\"");
    let customer = Scratch::new().load(&customer).expect("customers load");
    assert_eq!(customer.jobs[0].key_field, "FCUSTID");
    let unknown = text.replace("form_id = \"BD_MATERIAL\"", "form_id = \"SAL_SaleOrder\"");
    let error = load_error(&unknown);
    assert!(
        matches!(&error, SettingsError::Invalid { name, .. } if name == "jobs[0].key_field"),
        "{error}"
    );
    assert!(error.to_string().contains("SAL_SaleOrder"), "{error}");
    let named = unknown.replace(
        "modified_field = \"FModifyDate\"",
        "key_field = \"FID\"\nmodified_field = \"FModifyDate\"",
    );
    assert_eq!(
        Scratch::new().load(&named).expect("named key").jobs[0].key_field,
        "FID"
    );
}
