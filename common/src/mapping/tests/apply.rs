//! Applying a compiled mapping to records: values in column order, field lookup, and the errors
//! that become a dead letter's reason.

use serde_json::json;

use super::{datetime, error, spec, text};
use crate::mapping::{CompiledMapping, SqlValue};

#[test]
fn apply_returns_one_value_per_column_in_mapping_order() {
    let mapping = CompiledMapping::compile(&spec(&[
        ("data_id", "{FMasterId}"),
        ("name", "{FName}"),
        ("specification_model", "_function trim('{FSpecification}')"),
        ("modify_date", "_function datetime('{FModifyDate}')"),
        ("source", "kingdee"),
    ]))
    .unwrap();
    let record = json!({
        "FMasterId": 100001, "FName": "六角螺栓", "FSpecification": " M8×20 ",
        "FModifyDate": "2024-03-12T09:32:21.125", "FExtra": "ignored"
    });
    let values = mapping.apply(record.as_object().unwrap()).unwrap();
    assert_eq!(
        values,
        [
            SqlValue::Int(100001),
            text("六角螺栓"),
            text("M8×20"),
            datetime("2024-03-12 09:32:21.125"),
            text("kingdee"),
        ]
    );
}

#[test]
fn a_missing_field_is_an_error_naming_the_field_and_its_column() {
    let mapping = CompiledMapping::compile(&spec(&[
        ("data_id", "{FMasterId}"),
        ("specification_model", "_function trim('{FSpecification}')"),
    ]))
    .unwrap();
    let record = json!({"FMasterId": 1});
    let message = mapping
        .apply(record.as_object().unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "record has no field `FSpecification` (column specification_model)"
    );
}

#[test]
fn a_field_present_with_null_is_a_null_value_not_a_missing_field() {
    assert_eq!(
        super::value("{FName}", json!({"FName": null})),
        SqlValue::Null
    );
}

#[test]
fn field_names_fall_back_to_a_case_insensitive_match() {
    assert_eq!(
        super::value("{FNumber}", json!({"FNUMBER": "1.01"})),
        text("1.01")
    );
}

#[test]
fn an_exact_field_name_wins_over_a_case_insensitive_one() {
    let record = json!({"FNUMBER": "upper", "FNumber": "exact"});
    assert_eq!(super::value("{FNumber}", record), text("exact"));
}

#[test]
fn a_bad_date_is_an_error_naming_the_column_the_function_and_the_value() {
    let message = error(
        "_function datetime('{FCreateDate}')",
        json!({"FCreateDate": "yesterday"}),
    );
    assert_eq!(
        message,
        "column v: function datetime: `yesterday` is not a date \
         (expected 2024-03-12T09:32:21.125, 2024-03-12 09:32:21 or 2024-03-12)"
    );
}

#[test]
fn to_int_on_text_is_an_error_with_the_parse_failure_as_its_source() {
    let mapping = super::compile_one("_function to_int({FQty})").unwrap();
    let error = mapping
        .apply(json!({"FQty": "abc"}).as_object().unwrap())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "column v: function to_int: `abc` is not an integer"
    );
    let crate::mapping::MappingError::Function { error: inner, .. } = &error else {
        panic!("expected a function error, got {error:?}");
    };
    assert!(std::error::Error::source(inner).is_some());
}

#[test]
fn an_error_in_a_nested_call_names_the_inner_function() {
    let message = error("_function upper(to_int({FQty}))", json!({"FQty": "x"}));
    assert_eq!(message, "column v: function to_int: `x` is not an integer");
}

#[test]
fn a_long_bad_value_is_cut_short_in_the_message() {
    let long = "x".repeat(500);
    let message = error("_function datetime({FDate})", json!({"FDate": long}));
    assert!(message.len() < 250, "{message}");
    assert!(message.contains("x…`"), "{message}");
}
