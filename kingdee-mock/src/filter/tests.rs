//! Filter language tests over a five-row fixture whose values are chosen so that each wrong
//! precedence, NULL rule or date rounding would select a different set of rows.

use serde_json::json;

use super::bounds::{Range, range_of};
use super::{FilterError, compile};
use crate::data::Store;
use crate::data::fields::Col;
use crate::data::json::{apply_patch, blank_row};
use crate::data::row::Arena;
use crate::dates;

fn fixture() -> Store {
    let rows = json!([
        {"FNumber": "A1", "FName": "螺丝M3", "FDocumentStatus": "C", "FForbidStatus": "A",
         "FUseOrgId.FNumber": "T00", "FModifyDate": "2024-01-01 10:00:00.100",
         "F_ProductLine": "PL-01", "FNETWEIGHT": 0.125, "FApproveDate": null},
        {"FNumber": "A2", "FName": "螺母", "FDocumentStatus": "Z", "FForbidStatus": "A",
         "FUseOrgId.FNumber": "100", "FModifyDate": "2024-01-01 10:00:00.101",
         "F_ProductLine": null, "FNETWEIGHT": 1.5},
        {"FNumber": "B3", "FName": "O'ring", "FDocumentStatus": "C", "FForbidStatus": "B",
         "FUseOrgId.FNumber": "T00", "FModifyDate": "2024-01-02", "F_ProductLine": ""},
        {"FNumber": "B4", "FName": "abc_d", "FDocumentStatus": "D", "FForbidStatus": "A",
         "FUseOrgId.FNumber": "101", "FModifyDate": "2023-12-31 23:59:59.999",
         "F_ProductLine": "PL-12", "FNETWEIGHT": -2},
        {"FNumber": "C5", "FName": "ABC", "FDocumentStatus": "C", "FForbidStatus": "A",
         "FUseOrgId.FNumber": "T00", "FModifyDate": "2024-01-01T10:00:00.100",
         "F_ProductLine": null}
    ]);
    let mut arena = Arena::default();
    let mut out = Vec::new();
    for (i, patch) in rows.as_array().expect("array").iter().enumerate() {
        let mut row = blank_row(i as i64 + 1, 0, &mut arena);
        apply_patch(&mut row, &mut arena, patch.as_object().expect("object")).expect("applies");
        out.push(row);
    }
    Store::from_rows(out, arena)
}

fn sel(store: &Store, filter: &str) -> Vec<i64> {
    let pred = compile(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    store
        .live()
        .filter(|(_, r)| pred.matches(r, store.arena()))
        .map(|(_, r)| r.material_id)
        .collect()
}

#[test]
fn every_comparison_operator_works_on_integers() {
    let s = fixture();
    assert_eq!(sel(&s, "FMaterialId = 3"), [3]);
    assert_eq!(sel(&s, "FMaterialId <> 3"), [1, 2, 4, 5]);
    assert_eq!(sel(&s, "FMaterialId != 3"), [1, 2, 4, 5]);
    assert_eq!(sel(&s, "FMaterialId > 3"), [4, 5]);
    assert_eq!(sel(&s, "FMaterialId >= 3"), [3, 4, 5]);
    assert_eq!(sel(&s, "FMaterialId < 3"), [1, 2]);
    assert_eq!(sel(&s, "FMaterialId <= 3"), [1, 2, 3]);
    assert_eq!(sel(&s, "3 < FMaterialId"), [4, 5]);
    assert_eq!(sel(&s, "FMaterialId BETWEEN 2 AND 4"), [2, 3, 4]);
    assert_eq!(sel(&s, "FMaterialId NOT BETWEEN 2 AND 4"), [1, 5]);
    assert_eq!(sel(&s, "FMaterialId = '3'"), [3]);
}

#[test]
fn and_binds_tighter_than_or() {
    let s = fixture();
    let f = "FDocumentStatus = 'Z' OR FDocumentStatus = 'C' AND FForbidStatus = 'B'";
    assert_eq!(sel(&s, f), [2, 3]);
    let f = "(FDocumentStatus = 'Z' OR FDocumentStatus = 'C') AND FForbidStatus = 'B'";
    assert_eq!(sel(&s, f), [3]);
}

#[test]
fn not_binds_tighter_than_and() {
    let s = fixture();
    assert_eq!(sel(&s, "NOT FDocumentStatus = 'C'"), [2, 4]);
    let f = "NOT FDocumentStatus = 'C' AND FForbidStatus = 'A'";
    assert_eq!(sel(&s, f), [2, 4]);
    let f = "NOT (FDocumentStatus = 'C' AND FForbidStatus = 'A')";
    assert_eq!(sel(&s, f), [2, 3, 4]);
    assert_eq!(sel(&s, "NOT NOT FMaterialId = 1"), [1]);
}

#[test]
fn like_and_not_like_use_percent_and_underscore() {
    let s = fixture();
    assert_eq!(sel(&s, "FName LIKE '螺%'"), [1, 2]);
    assert_eq!(sel(&s, "FName NOT LIKE '螺%'"), [3, 4, 5]);
    assert_eq!(sel(&s, "FNumber LIKE '_1'"), [1]);
    assert_eq!(sel(&s, "FName LIKE '%c_d'"), [4]);
    assert_eq!(sel(&s, "FName LIKE '%r%'"), [3]);
    assert_eq!(sel(&s, "F_ProductLine LIKE 'PL%'"), [1, 4]);
}

#[test]
fn in_and_not_in_follow_sql_null_rules() {
    let s = fixture();
    assert_eq!(sel(&s, "FUseOrgId.FNumber IN ('100', '101')"), [2, 4]);
    assert_eq!(sel(&s, "FUseOrgId.FNumber NOT IN ('100','101')"), [1, 3, 5]);
    assert_eq!(sel(&s, "FMaterialId IN (1, 3)"), [1, 3]);
    assert_eq!(sel(&s, "FMaterialId IN (1, NULL)"), [1]);
    assert!(sel(&s, "FMaterialId NOT IN (1, NULL)").is_empty());
}

#[test]
fn null_compares_as_unknown() {
    let s = fixture();
    assert_eq!(sel(&s, "F_ProductLine IS NULL"), [2, 5]);
    assert_eq!(sel(&s, "F_ProductLine IS NOT NULL"), [1, 3, 4]);
    assert_eq!(sel(&s, "F_ProductLine = ''"), [3]);
    assert_eq!(sel(&s, "F_ProductLine <> 'PL-01'"), [3, 4]);
    assert_eq!(sel(&s, "NOT F_ProductLine = 'PL-01'"), [3, 4]);
    assert!(sel(&s, "F_ProductLine = NULL").is_empty());
    assert_eq!(sel(&s, "F_ProductLine = 'x' OR FMaterialId = 2"), [2]);
    assert_eq!(sel(&s, "FApproveDate IS NULL"), [1]);
}

#[test]
fn dates_compare_to_the_millisecond_in_every_literal_shape() {
    let s = fixture();
    assert_eq!(sel(&s, "FModifyDate = '2024-01-01 10:00:00.100'"), [1, 5]);
    assert_eq!(sel(&s, "FModifyDate = '2024-01-01T10:00:00.1'"), [1, 5]);
    assert_eq!(sel(&s, "FModifyDate > '2024-01-01T10:00:00.100'"), [2, 3]);
    assert_eq!(sel(&s, "FModifyDate > '2024-01-01 10:00:00'"), [1, 2, 3, 5]);
    assert_eq!(sel(&s, "FModifyDate >= '2024-01-01'"), [1, 2, 3, 5]);
    assert_eq!(sel(&s, "FModifyDate < '2024-01-01'"), [4]);
    let incremental = "(FDocumentStatus = 'C' OR FDocumentStatus = 'Z') AND \
        (FModifyDate > '2024-01-01 10:00:00.100' OR \
        (FModifyDate = '2024-01-01 10:00:00.100' AND FMaterialId > 1))";
    assert_eq!(sel(&s, incremental), [2, 3, 5]);
}

#[test]
fn dotted_references_read_id_number_and_name() {
    let s = fixture();
    assert_eq!(sel(&s, "FUseOrgId.FNumber = 'T00'"), [1, 3, 5]);
    assert_eq!(sel(&s, "FUseOrgId = 1"), [1, 3, 5]);
    assert_eq!(sel(&s, "FUseOrgId.FName = '华信集团'"), [1, 3, 5]);
    assert_eq!(sel(&s, "FMaterialGroup.FNumber = ''"), [1, 2, 3, 4, 5]);
    assert_eq!(sel(&s, "FMaterialGroup = 0"), [1, 2, 3, 4, 5]);
}

#[test]
fn keywords_and_fields_are_case_insensitive_but_strings_are_not() {
    let s = fixture();
    assert_eq!(sel(&s, "fnumber = 'A1' and FDOCUMENTSTATUS = 'C'"), [1]);
    assert_eq!(
        sel(&s, "fuseorgid.fnumber in ('100') or fmaterialid = 5"),
        [2, 5]
    );
    assert!(sel(&s, "FName = 'abc'").is_empty());
    assert_eq!(sel(&s, "FName = 'ABC'"), [5]);
}

#[test]
fn numbers_may_be_decimal_or_negative_and_strings_escape_quotes() {
    let s = fixture();
    assert_eq!(sel(&s, "FNETWEIGHT = 0.125"), [1]);
    assert_eq!(sel(&s, "FNETWEIGHT < 0"), [4]);
    assert_eq!(sel(&s, "FNETWEIGHT > -2.5"), [1, 2, 3, 4, 5]);
    assert_eq!(sel(&s, "FName = 'O''ring'"), [3]);
    assert_eq!(sel(&s, "1 = 1"), [1, 2, 3, 4, 5]);
    assert!(sel(&s, "1 = 0").is_empty());
    assert_eq!(sel(&s, ""), [1, 2, 3, 4, 5]);
}

#[test]
fn an_unknown_field_is_named_in_the_error() {
    for (filter, field) in [
        ("FNoSuchField = 1", "FNoSuchField"),
        ("FNumber = 'a' AND FUseOrgId.FNope = 'x'", "FUseOrgId.FNope"),
        ("FName LIKE 'a%' OR FGhost IS NULL", "FGhost"),
        (
            "FMaterialId IN (1) AND FNumber.FName = 'x'",
            "FNumber.FName",
        ),
    ] {
        let err = compile(filter).expect_err(filter);
        assert_eq!(err, FilterError::UnknownField(field.into()));
        assert_eq!(
            err.to_string(),
            format!("元数据中标识为{field}的字段不存在")
        );
    }
}

#[test]
fn malformed_filters_are_getrealexpress_errors() {
    for bad in [
        "FName = 'abc",
        "FMaterialId >",
        "FMaterialId = 1 AND",
        "AND FMaterialId = 1",
        "(FMaterialId = 1",
        "FModifyDate > '2024-13-01'",
        "FMaterialId = 'abc'",
        "FModifyDate > 5",
        "FModifyDate = FNumber",
    ] {
        let err = compile(bad).expect_err(bad);
        assert!(matches!(err, FilterError::Syntax(_)), "{bad}: {err:?}");
        assert!(err.to_string().starts_with("GetRealExpress error"), "{err}");
    }
    let err = compile("FName = 'abc").expect_err("unterminated");
    assert!(err.to_string().contains("unterminated string"), "{err}");
}

#[test]
fn bounds_are_read_from_keyset_filters() {
    let t = dates::ms_of(2024, 1, 1, 10, 0, 0, 100);
    let full = compile("FUseOrgId.FNumber = 'T00' AND FDocumentStatus = 'C' AND FMaterialId > 7")
        .expect("compiles");
    assert_eq!(
        range_of(&full, Col::MaterialId),
        Range {
            lo: 8,
            hi: i64::MAX
        }
    );
    assert!(range_of(&full, Col::ModifyDate).is_full());
    let inc = compile(
        "(FDocumentStatus = 'C') AND (FModifyDate > '2024-01-01 10:00:00.100' OR \
         (FModifyDate = '2024-01-01 10:00:00.100' AND FMaterialId > 1))",
    )
    .expect("compiles");
    assert_eq!(
        range_of(&inc, Col::ModifyDate),
        Range {
            lo: t,
            hi: i64::MAX
        }
    );
    let or = compile("FMaterialId = 3 OR FNumber = 'x'").expect("compiles");
    assert!(range_of(&or, Col::MaterialId).is_full());
    let list = compile("FMaterialId IN (9, 4, 6)").expect("compiles");
    assert_eq!(range_of(&list, Col::MaterialId), Range { lo: 4, hi: 9 });
    let never = compile("FMaterialId > 5 AND FMaterialId < 3").expect("compiles");
    assert!(range_of(&never, Col::MaterialId).is_empty());
}
