//! Text functions with their edge cases: empty text, null, CJK and emoji.

use serde_json::json;

use super::{constant, text, value};
use crate::mapping::SqlValue;

#[test]
fn trim_removes_stray_spaces_from_specifications() {
    let record = json!({"FSpecification": "  M8×20 不锈钢\t"});
    assert_eq!(
        value("_function trim('{FSpecification}')", record),
        text("M8×20 不锈钢")
    );
}

#[test]
fn trim_also_removes_full_width_spaces() {
    assert_eq!(
        constant("_function trim('\u{3000}规格\u{3000}')"),
        text("规格")
    );
}

#[test]
fn ltrim_and_rtrim_trim_one_side_only() {
    assert_eq!(constant("_function ltrim('  a  ')"), text("a  "));
    assert_eq!(constant("_function rtrim('  a  ')"), text("  a"));
}

#[test]
fn text_functions_of_null_are_null_and_of_empty_text_are_empty() {
    for function in [
        "trim", "ltrim", "rtrim", "upper", "lower", "to_text", "length",
    ] {
        let call = format!("_function {function}('{{FSpecification}}')");
        assert_eq!(
            value(&call, json!({"FSpecification": null})),
            SqlValue::Null,
            "{function}"
        );
    }
    assert_eq!(constant("_function trim('')"), text(""));
    assert_eq!(constant("_function upper('')"), text(""));
    assert_eq!(constant("_function length('')"), SqlValue::Int(0));
}

#[test]
fn text_functions_render_numbers_as_text() {
    assert_eq!(
        value("_function trim({FQty})", json!({"FQty": 12})),
        text("12")
    );
    assert_eq!(
        value("_function to_text({FQty})", json!({"FQty": 0.5})),
        text("0.5")
    );
}

#[test]
fn upper_and_lower_change_latin_letters_and_leave_chinese_and_emoji_alone() {
    assert_eq!(
        constant("_function upper('abc规格😀ß')"),
        text("ABC规格😀SS")
    );
    assert_eq!(constant("_function lower('ABC规格😀')"), text("abc规格😀"));
}

#[test]
fn substr_counts_characters_not_bytes() {
    let record = json!({"FName": "螺丝钉😀组件"});
    assert_eq!(
        value("_function substr('{FName}', 2, 3)", record.clone()),
        text("丝钉😀")
    );
    assert_eq!(
        value("_function substr('{FName}', 4)", record),
        text("😀组件")
    );
}

#[test]
fn substr_follows_mysql_for_zero_negative_and_out_of_range_positions() {
    assert_eq!(constant("_function substr('abcdef', 0)"), text(""));
    assert_eq!(constant("_function substr('abcdef', -2)"), text("ef"));
    assert_eq!(constant("_function substr('abcdef', -9)"), text(""));
    assert_eq!(constant("_function substr('abcdef', 7)"), text(""));
    assert_eq!(constant("_function substr('abcdef', 5, 10)"), text("ef"));
    assert_eq!(constant("_function substr('abcdef', 2, 0)"), text(""));
    assert_eq!(constant("_function substr('abcdef', 2, -1)"), text(""));
    assert_eq!(constant("_function substr('', 1, 2)"), text(""));
}

#[test]
fn substr_accepts_positions_written_as_text_and_nulls_give_null() {
    assert_eq!(
        constant("_function substr('abcdef', '3', ' 2 ')"),
        text("cd")
    );
    assert_eq!(constant("_function substr('abcdef', null)"), SqlValue::Null);
    assert_eq!(
        constant("_function substr('abcdef', 1, null)"),
        SqlValue::Null
    );
    assert_eq!(constant("_function substr(null, 1)"), SqlValue::Null);
}

#[test]
fn left_and_right_take_characters_from_either_end() {
    assert_eq!(constant("_function left('物料编码😀', 2)"), text("物料"));
    assert_eq!(constant("_function right('物料编码😀', 2)"), text("码😀"));
    assert_eq!(constant("_function right('ab', 5)"), text("ab"));
    assert_eq!(constant("_function left('ab', 0)"), text(""));
    assert_eq!(constant("_function right('ab', -1)"), text(""));
}

#[test]
fn length_counts_characters() {
    assert_eq!(constant("_function length('规格😀a')"), SqlValue::Int(4));
}

#[test]
fn concat_joins_texts_and_skips_nulls() {
    let record = json!({"FNumber": "1.01", "FName": null, "FQty": 3});
    assert_eq!(
        value(
            "_function concat('{FNumber}', '-', {FName}, {FQty})",
            record
        ),
        text("1.01-3")
    );
}

#[test]
fn replace_replaces_every_occurrence() {
    assert_eq!(
        constant("_function replace('a-b-c', '-', '/')"),
        text("a/b/c")
    );
    assert_eq!(
        constant("_function replace('规格*型号', '*', '×')"),
        text("规格×型号")
    );
}

#[test]
fn replace_with_an_empty_pattern_keeps_the_text_and_null_gives_null() {
    assert_eq!(constant("_function replace('abc', '', 'x')"), text("abc"));
    assert_eq!(
        constant("_function replace('abc', 'b', null)"),
        SqlValue::Null
    );
}
