//! Dates and numbers (datetime, date_format, to_int, to_decimal), nesting, and constant folding.

use serde_json::json;

use super::{compile_error, constant, datetime, decimal, error, text, value};
use crate::mapping::SqlValue;

#[test]
fn datetime_parses_kingdee_timestamps_into_datetime_values() {
    let call = "_function datetime('{FModifyDate}')";
    let record = json!({"FModifyDate": "2024-03-12T09:32:21.125"});
    assert_eq!(value(call, record), datetime("2024-03-12 09:32:21.125"));
}

#[test]
fn datetime_accepts_space_separated_date_only_and_dotnet_forms() {
    assert_eq!(
        constant("_function datetime(' 2024-03-12 09:32:21 ')"),
        datetime("2024-03-12 09:32:21")
    );
    assert_eq!(
        constant("_function datetime('2024-03-12')"),
        datetime("2024-03-12 00:00:00")
    );
    assert_eq!(
        constant("_function datetime('2024-03-12T09:32:21.1234567')"),
        datetime("2024-03-12 09:32:21.1234567")
    );
    // 1710207141125 ms is 2024-03-12 01:32:21.125 UTC, shown at +08:00.
    assert_eq!(
        constant("_function datetime('/Date(1710207141125+0800)/')"),
        datetime("2024-03-12 09:32:21.125")
    );
}

#[test]
fn datetime_of_blank_text_or_null_is_null() {
    assert_eq!(constant("_function datetime('')"), SqlValue::Null);
    assert_eq!(constant("_function datetime('  ')"), SqlValue::Null);
    assert_eq!(
        value("_function datetime({FDate})", json!({"FDate": null})),
        SqlValue::Null
    );
}

#[test]
fn datetime_rejects_impossible_dates_and_other_shapes() {
    for bad in [
        "2024-02-30",
        "2024-03-12T25:00:00",
        "12/03/2024",
        "2024-03-12T09:32",
        "now",
    ] {
        let message = error("_function datetime({FDate})", json!({"FDate": bad}));
        assert!(
            message.contains(&format!("`{bad}` is not a date")),
            "{message}"
        );
    }
}

#[test]
fn date_format_renders_kingdee_dates_with_a_strftime_pattern() {
    let call = "_function date_format('{FCreateDate}', '%Y年%m月%d日 %H:%M')";
    let record = json!({"FCreateDate": "2024-03-12T09:32:21.125"});
    assert_eq!(value(call, record), text("2024年03月12日 09:32"));
    assert_eq!(
        constant("_function date_format('2024-03-12', '%Y%m%d')"),
        text("20240312")
    );
    assert_eq!(
        constant("_function date_format(null, '%Y')"),
        SqlValue::Null
    );
}

#[test]
fn date_format_of_a_non_date_names_the_value_and_the_function() {
    let message = error(
        "_function date_format({FDate}, '%Y')",
        json!({"FDate": "昨天"}),
    );
    assert!(
        message.starts_with("column v: function date_format: `昨天` is not a date"),
        "{message}"
    );
}

#[test]
fn date_format_checks_its_pattern_when_the_mapping_compiles() {
    let message = compile_error("_function date_format({FDate}, '%Y-%')");
    assert_eq!(
        message,
        "column v: function date_format: `%Y-%` is not a valid date format"
    );
    let message = compile_error("_function date_format({FDate}, '%Y %z')");
    assert!(message.contains("needs a time zone"), "{message}");
    let message = compile_error("_function date_format({FDate}, {FFormat})");
    assert!(
        message.contains("the format must be a constant"),
        "{message}"
    );
}

#[test]
fn to_int_accepts_surrounding_spaces_and_zero_fractions() {
    assert_eq!(constant("_function to_int(' 42 ')"), SqlValue::Int(42));
    assert_eq!(constant("_function to_int('-7')"), SqlValue::Int(-7));
    assert_eq!(constant("_function to_int('4.000')"), SqlValue::Int(4));
    assert_eq!(
        value("_function to_int({FQty})", json!({"FQty": 12})),
        SqlValue::Int(12)
    );
    assert_eq!(
        value("_function to_int({FQty})", json!({"FQty": 3.0})),
        SqlValue::Int(3)
    );
    assert_eq!(constant("_function to_int('')"), SqlValue::Null);
}

#[test]
fn to_int_rejects_fractions_and_text() {
    let message = error("_function to_int({FQty})", json!({"FQty": "4.2"}));
    assert_eq!(
        message,
        "column v: function to_int: `4.2` is not an integer"
    );
    let message = error("_function to_int({FQty})", json!({"FQty": "十二"}));
    assert_eq!(
        message,
        "column v: function to_int: `十二` is not an integer"
    );
}

#[test]
fn to_decimal_pads_to_the_scale() {
    assert_eq!(
        constant("_function to_decimal('0.125', 4)"),
        decimal("0.1250")
    );
    assert_eq!(constant("_function to_decimal('12', 2)"), decimal("12.00"));
    assert_eq!(constant("_function to_decimal('12.5', 0)"), decimal("13"));
}

#[test]
fn to_decimal_rounds_half_away_from_zero_like_mysql() {
    assert_eq!(
        constant("_function to_decimal('2.345', 2)"),
        decimal("2.35")
    );
    assert_eq!(
        constant("_function to_decimal('-2.345', 2)"),
        decimal("-2.35")
    );
    assert_eq!(
        constant("_function to_decimal('9.995', 2)"),
        decimal("10.00")
    );
    assert_eq!(
        constant("_function to_decimal('-0.004', 2)"),
        decimal("0.00")
    );
}

#[test]
fn to_decimal_normalizes_without_a_scale() {
    assert_eq!(constant("_function to_decimal(' 007.50 ')"), decimal("7.5"));
    assert_eq!(
        constant("_function to_decimal('1e-7')"),
        decimal("0.0000001")
    );
    assert_eq!(constant("_function to_decimal('1.5E3')"), decimal("1500"));
    assert_eq!(constant("_function to_decimal('-0.0')"), decimal("0"));
    assert_eq!(constant("_function to_decimal('.5')"), decimal("0.5"));
    assert_eq!(
        value("_function to_decimal({FPrice})", json!({"FPrice": 0.1})),
        decimal("0.1")
    );
    assert_eq!(constant("_function to_decimal('')"), SqlValue::Null);
}

#[test]
fn to_decimal_rejects_what_is_not_a_number() {
    for bad in ["12abc", "1,234.5", "--1", "1e", "."] {
        let message = error("_function to_decimal({FPrice})", json!({"FPrice": bad}));
        assert!(
            message.ends_with(&format!("`{bad}` is not a decimal number")),
            "{message}"
        );
    }
}

#[test]
fn to_decimal_checks_its_scale_when_the_mapping_compiles() {
    let message = compile_error("_function to_decimal({FPrice}, 31)");
    assert_eq!(
        message,
        "column v: function to_decimal: scale 31 is outside 0..=30"
    );
    let message = compile_error("_function to_decimal({FPrice}, {FScale})");
    assert!(
        message.contains("the scale (an integer) must be a constant"),
        "{message}"
    );
}

#[test]
fn nested_calls_apply_inside_out() {
    let record = json!({"FName": "  bolt  ", "FNumber": null});
    let call = "_function upper(concat(trim('{FName}'), '-', default({FNumber}, 'none')))";
    assert_eq!(value(call, record), text("BOLT-NONE"));
}

#[test]
fn a_bad_constant_argument_is_a_compile_error() {
    let message = compile_error("_function to_int('abc')");
    assert_eq!(
        message,
        "column v: function to_int: `abc` is not an integer"
    );
}
