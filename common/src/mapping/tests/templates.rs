//! Templates, constants, argument syntax and parse errors.

use serde_json::json;

use super::{compile_error, constant, decimal, text, value};
use crate::mapping::SqlValue;

#[test]
fn a_single_placeholder_keeps_the_number_type() {
    assert_eq!(
        value("{FMasterId}", json!({"FMasterId": 100001})),
        SqlValue::Int(100001)
    );
}

#[test]
fn a_single_placeholder_keeps_null_as_null() {
    assert_eq!(
        value("{FSpecification}", json!({"FSpecification": null})),
        SqlValue::Null
    );
}

#[test]
fn a_single_placeholder_keeps_text_bools_and_exact_decimals() {
    let record = json!({"FName": "螺丝", "FIsBatch": true, "FQty": 12.5, "FTiny": 1e-7});
    assert_eq!(value("{FName}", record.clone()), text("螺丝"));
    assert_eq!(value("{FIsBatch}", record.clone()), SqlValue::Bool(true));
    assert_eq!(value("{FQty}", record.clone()), decimal("12.5"));
    assert_eq!(value("{FTiny}", record), decimal("0.0000001"));
}

#[test]
fn a_dotted_field_reference_reads_the_base_data_number() {
    let record = json!({"FUseOrgId.FNumber": "T00"});
    assert_eq!(value("{FUseOrgId.FNumber}", record), text("T00"));
}

#[test]
fn a_template_with_several_fields_renders_text() {
    let record = json!({"FNumber": "1.01.0001", "FName": "螺丝钉", "FMasterId": 7});
    assert_eq!(
        value("{FNumber}-{FName} #{FMasterId}", record),
        text("1.01.0001-螺丝钉 #7")
    );
}

#[test]
fn nulls_render_as_nothing_in_a_mixed_template() {
    let record = json!({"FNumber": "1.01", "FName": null});
    assert_eq!(value("{FNumber}/{FName}/", record), text("1.01//"));
}

#[test]
fn doubled_braces_are_literal_braces() {
    assert_eq!(
        value("{{code}} = {FNumber}}}", json!({"FNumber": "A1"})),
        text("{code} = A1}")
    );
}

#[test]
fn a_constant_stays_text_even_when_it_looks_like_a_number() {
    assert_eq!(constant("42"), text("42"));
    assert_eq!(constant("T00"), text("T00"));
}

#[test]
fn an_empty_expression_is_the_empty_text() {
    assert_eq!(constant(""), text(""));
}

#[test]
fn quotes_inside_quoted_arguments_are_doubled() {
    assert_eq!(
        value(
            "_function concat('it''s ', '{FName}')",
            json!({"FName": "ok"})
        ),
        text("it's ok")
    );
}

#[test]
fn numbers_null_and_bare_fields_are_arguments_too() {
    assert_eq!(constant("_function coalesce(null, 7)"), SqlValue::Int(7));
    assert_eq!(constant("_function coalesce(NULL, -1.50)"), decimal("-1.5"));
    assert_eq!(
        value("_function trim({FName})", json!({"FName": " a "})),
        text("a")
    );
}

#[test]
fn a_quoted_single_placeholder_keeps_its_type_like_a_bare_one() {
    assert_eq!(
        value("_function coalesce('{FQty}')", json!({"FQty": 3})),
        SqlValue::Int(3)
    );
}

#[test]
fn the_function_prefix_needs_a_space_and_ignores_case() {
    assert_eq!(constant("_functionary"), text("_functionary"));
    assert_eq!(constant("  _FUNCTION   upper( 'a' )  "), text("A"));
}

#[test]
fn function_names_ignore_case() {
    assert_eq!(
        value("_function UPPER(Trim('{FName}'))", json!({"FName": " ab "})),
        text("AB")
    );
}

#[test]
fn an_unterminated_quote_is_a_compile_error_with_its_position() {
    let message = compile_error("_function trim('{FSpecification})");
    assert!(message.contains("unterminated string"), "{message}");
    assert!(message.contains("character 16"), "{message}");
    assert!(message.starts_with("column `v`: cannot parse"), "{message}");
}

#[test]
fn an_unterminated_call_is_a_compile_error() {
    let message = compile_error("_function trim('{FSpecification}'");
    assert!(
        message.contains("missing `)` to close `trim(`"),
        "{message}"
    );
}

#[test]
fn an_unterminated_placeholder_is_a_compile_error() {
    assert!(compile_error("{FNumber-{FName").contains("unterminated placeholder"));
}

#[test]
fn a_lone_closing_brace_is_a_compile_error() {
    assert!(compile_error("a}b").contains("unmatched `}`"));
}

#[test]
fn a_field_reference_must_look_like_a_kingdee_field_key() {
    for bad in ["{F Name}", "{}", "{1Field}", "{FUseOrgId.}", "{F;DROP}"] {
        let message = compile_error(bad);
        assert!(
            message.contains("is not a valid field reference"),
            "{bad}: {message}"
        );
    }
}

#[test]
fn text_after_the_expression_is_a_compile_error() {
    let message = compile_error("_function trim('{FName}') x");
    assert!(
        message.contains("expected nothing more after the expression, found `x`"),
        "{message}"
    );
}

#[test]
fn a_trailing_comma_or_missing_comma_is_a_compile_error() {
    assert!(compile_error("_function concat('a',)").contains("expected a value"));
    assert!(compile_error("_function concat('a' 'b')").contains("expected `,` or `)`"));
}

#[test]
fn a_function_prefix_without_a_call_is_a_compile_error() {
    assert!(compile_error("_function ").contains("nothing follows `_function`"));
    assert!(compile_error("_function trim").contains("expected `(` after the function name"));
    assert!(compile_error("_function -").contains("`-` is not a number"));
}

#[test]
fn absurdly_deep_nesting_is_a_compile_error_not_a_stack_overflow() {
    let expression = format!("_function {}'x'{}", "upper(".repeat(100), ")".repeat(100));
    assert!(compile_error(&expression).contains("nested too deeply"));
}
