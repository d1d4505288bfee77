//! Compiling: identifier whitelist, function table errors, key and version, and the check
//! against the live table.

use super::{compile_error, spec};
use crate::mapping::{CompiledMapping, MappingError};

fn compile(columns: &[(&str, &str)]) -> Result<CompiledMapping, MappingError> {
    CompiledMapping::compile(&spec(columns))
}

fn message(result: Result<CompiledMapping, MappingError>) -> String {
    match result {
        Ok(m) => panic!("compiled to {m:?}, expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_unknown_function_names_the_function_and_the_column() {
    let result = compile(&[
        ("data_id", "{FMasterId}"),
        ("specification_model", "_function trimm('{FSpecification}')"),
    ]);
    assert_eq!(
        message(result),
        "unknown function `trimm` in column `specification_model`"
    );
}

#[test]
fn a_wrong_argument_count_names_the_function_its_usage_and_the_column() {
    let result = compile(&[("code", "_function substr('{FNumber}')")]);
    assert_eq!(
        message(result),
        "function `substr` is called as substr(text, start[, length]), got 1 argument(s) (column `code`)"
    );
    assert!(compile_error("_function trim('a', 'b')").contains("got 2 argument(s)"));
    assert!(compile_error("_function concat()").contains("got 0 argument(s)"));
}

#[test]
fn sql_looking_column_names_are_rejected() {
    for bad in ["name; DROP", "name`", "1code", "", "code-name", "名称"] {
        let result = compile(&[("data_id", "{FMasterId}"), (bad, "{FName}")]);
        assert_eq!(
            message(result),
            format!("`{bad}` is not a valid column name")
        );
    }
}

#[test]
fn column_names_may_have_at_most_64_characters() {
    let longest = "c".repeat(64);
    assert!(compile(&[(longest.as_str(), "{FName}")]).is_ok());
    let too_long = "c".repeat(65);
    assert!(
        message(compile(&[(too_long.as_str(), "{FName}")])).contains("not a valid column name")
    );
}

#[test]
fn sql_looking_table_names_are_rejected() {
    let mut spec = spec(&[("data_id", "{FMasterId}")]);
    spec.table = "wk_wodtop_product; DROP TABLE users".into();
    let message = CompiledMapping::compile(&spec)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "`wk_wodtop_product; DROP TABLE users` is not a valid table name"
    );
}

#[test]
fn the_key_and_version_columns_must_be_mapped() {
    let mut spec = spec(&[("data_id", "{FMasterId}"), ("code", "{FNumber}")]);
    spec.version = "modify_date".into();
    let message = CompiledMapping::compile(&spec)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "the version column `modify_date` is not among the mapped columns"
    );
    spec.key = "id".into();
    let message = CompiledMapping::compile(&spec)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "the key column `id` is not among the mapped columns"
    );
}

#[test]
fn a_column_mapped_twice_is_an_error_even_in_another_case() {
    let result = compile(&[("code", "{FNumber}"), ("CODE", "{FName}")]);
    assert_eq!(message(result), "column `CODE` is mapped twice");
}

#[test]
fn an_empty_mapping_is_an_error() {
    assert_eq!(message(compile(&[])), "the mapping has no columns");
}

#[test]
fn columns_keep_mapping_order_and_key_and_version_keep_the_mapped_spelling() {
    let mut spec = spec(&[
        ("Data_Id", "{FMasterId}"),
        ("code", "{FNumber}"),
        ("modify_date", "{FModifyDate}"),
    ]);
    spec.key = "data_id".into();
    spec.version = "MODIFY_DATE".into();
    let mapping = CompiledMapping::compile(&spec).unwrap();
    assert_eq!(mapping.table(), "wk_wodtop_product");
    assert_eq!(mapping.columns(), ["Data_Id", "code", "modify_date"]);
    assert_eq!((mapping.key_column(), mapping.key_index()), ("Data_Id", 0));
    assert_eq!(
        (mapping.version_column(), mapping.version_index()),
        ("modify_date", 2)
    );
}

#[test]
fn source_fields_are_every_referenced_field_in_first_seen_order_without_duplicates() {
    let mapping = compile(&[
        ("data_id", "{FMasterId}"),
        ("label", "{FNumber} {FName}"),
        (
            "name",
            "_function coalesce(trim('{FName}'), '{fnumber}', {FUseOrgId.FNumber})",
        ),
        (
            "flag",
            "_function lookup({FForbidStatus}, 'A', '启用', {FMasterId})",
        ),
        ("constant", "T00"),
    ])
    .unwrap();
    assert_eq!(
        mapping.source_fields(),
        [
            "FMasterId",
            "FNumber",
            "FName",
            "FUseOrgId.FNumber",
            "FForbidStatus"
        ]
    );
}

#[test]
fn check_columns_accepts_the_live_columns_ignoring_case() {
    let mapping = compile(&[("data_id", "{FMasterId}"), ("code", "{FNumber}")]).unwrap();
    let live = [
        "DATA_ID".to_owned(),
        "code".to_owned(),
        "synced_at".to_owned(),
    ];
    assert!(mapping.check_columns(&live).is_ok());
}

#[test]
fn check_columns_names_a_column_missing_from_the_table() {
    let mapping = compile(&[("data_id", "{FMasterId}"), ("colour", "{FColour}")]).unwrap();
    let message = mapping
        .check_columns(&["data_id".to_owned()])
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "column `colour` does not exist in table `wk_wodtop_product`"
    );
}

#[test]
fn a_compiled_mapping_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<CompiledMapping>();
    shareable::<MappingError>();
}
