//! Functions that choose: coalesce, default, nullif, lookup (and its default).

use serde_json::json;

use super::{compile_error, text, value};
use crate::mapping::SqlValue;

#[test]
fn coalesce_returns_the_first_non_null_value_with_its_type() {
    let record = json!({"FA": null, "FB": 5, "FC": "x"});
    assert_eq!(
        value("_function coalesce({FA}, {FB}, {FC})", record.clone()),
        SqlValue::Int(5)
    );
    assert_eq!(
        value("_function coalesce({FA}, null)", record),
        SqlValue::Null
    );
}

#[test]
fn default_replaces_null_and_empty_text_but_not_spaces() {
    let call = "_function default('{FProductLine}', '未分类')";
    assert_eq!(value(call, json!({"FProductLine": null})), text("未分类"));
    assert_eq!(value(call, json!({"FProductLine": ""})), text("未分类"));
    assert_eq!(value(call, json!({"FProductLine": " "})), text(" "));
    assert_eq!(value(call, json!({"FProductLine": "PL1"})), text("PL1"));
}

#[test]
fn nullif_turns_a_placeholder_value_into_null() {
    let call = "_function nullif({FQty}, '0')";
    assert_eq!(value(call, json!({"FQty": 0})), SqlValue::Null);
    assert_eq!(value(call, json!({"FQty": 5})), SqlValue::Int(5));
    assert_eq!(value(call, json!({"FQty": null})), SqlValue::Null);
}

#[test]
fn lookup_translates_document_status_codes() {
    let call =
        "_function lookup('{FDocumentStatus}', 'Z','暂存','A','创建','B','审核中','C','已审核')";
    assert_eq!(value(call, json!({"FDocumentStatus": "C"})), text("已审核"));
    assert_eq!(value(call, json!({"FDocumentStatus": "Z"})), text("暂存"));
}

#[test]
fn lookup_without_a_match_and_without_a_default_is_null() {
    let call = "_function lookup('{FDocumentStatus}', 'C', '已审核')";
    assert_eq!(value(call, json!({"FDocumentStatus": "X"})), SqlValue::Null);
    assert_eq!(
        value(call, json!({"FDocumentStatus": null})),
        SqlValue::Null
    );
}

#[test]
fn lookup_with_an_odd_number_of_pairs_uses_the_last_as_default() {
    let call = "_function lookup('{FForbidStatus}', 'A', '启用', 'B', '禁用', '未知')";
    assert_eq!(value(call, json!({"FForbidStatus": "B"})), text("禁用"));
    assert_eq!(value(call, json!({"FForbidStatus": "Q"})), text("未知"));
}

#[test]
fn lookup_can_pass_unknown_codes_through_with_the_value_as_default() {
    let call = "_function lookup({FErpClsID}, 1, '外购', 2, '自制', {FErpClsID})";
    assert_eq!(value(call, json!({"FErpClsID": "1"})), text("外购"));
    assert_eq!(value(call, json!({"FErpClsID": 2})), text("自制"));
    assert_eq!(value(call, json!({"FErpClsID": "9"})), text("9"));
}

#[test]
fn lookup_matches_null_with_a_null_key() {
    let call = "_function lookup({FIsBatch}, null, '未设置', true, '是', false, '否')";
    assert_eq!(value(call, json!({"FIsBatch": null})), text("未设置"));
    assert_eq!(value(call, json!({"FIsBatch": true})), text("是"));
}

#[test]
fn lookup_keys_must_be_constants() {
    let message = compile_error("_function lookup('{FA}', '{FB}', 'x')");
    assert_eq!(
        message,
        "column v: function lookup: a lookup key must be a constant"
    );
}
