//! Loading mappings: the seed's JSON shape, a bare array, `k3sync.toml` columns merged over a
//! file, and the shipped `config/materials.mapping.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{datetime, text};
use crate::mapping::{CompiledMapping, MappingSpec, SqlValue};
use crate::settings::TargetSettings;

fn pairs(columns: &[(&str, &str)]) -> Vec<(String, String)> {
    columns
        .iter()
        .map(|(c, e)| ((*c).to_owned(), (*e).to_owned()))
        .collect()
}

fn target(columns: &[(&str, &str)], mapping_file: Option<&str>) -> TargetSettings {
    TargetSettings {
        table: "wk_wodtop_product".into(),
        key: "data_id".into(),
        version: "modify_date".into(),
        columns: columns
            .iter()
            .map(|(c, e)| ((*c).to_owned(), (*e).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        mapping_file: mapping_file.map(PathBuf::from),
    }
}

/// A directory of its own for one test's files.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("k3sync-mapping-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_seed_json_shape_loads_in_file_order_ignoring_labels_and_types() {
    let text = r#"{"field": "main_params", "label": "主参数", "type": "object", "children": [
        {"field": "data_id", "label": "主键", "type": "string", "value": "{FMasterId}"},
        {"field": "product_line", "value": "{F_ProductLine}"},
        {"field": "specification_model", "value": "_function trim('{FSpecification}')"}
    ]}"#;
    assert_eq!(
        MappingSpec::from_seed_json(text).unwrap(),
        pairs(&[
            ("data_id", "{FMasterId}"),
            ("product_line", "{F_ProductLine}"),
            ("specification_model", "_function trim('{FSpecification}')"),
        ])
    );
}

#[test]
fn a_bare_array_of_entries_loads_too() {
    let text = r#"[{"field": "code", "value": "{FNumber}"}]"#;
    assert_eq!(
        MappingSpec::from_seed_json(text).unwrap(),
        pairs(&[("code", "{FNumber}")])
    );
}

#[test]
fn a_mapping_file_that_is_not_json_or_not_the_seed_shape_is_an_error() {
    let message = |text: &str| MappingSpec::from_seed_json(text).unwrap_err().to_string();
    assert_eq!(message("{\"children\": ["), "the mapping is not valid JSON");
    assert!(message(r#"{"field": "main_params"}"#).starts_with("the mapping must be"));
    assert!(message("42").starts_with("the mapping must be"));
    let entry = r#"[{"field": "code", "value": "{FNumber}"}, {"field": "name"}]"#;
    assert_eq!(
        message(entry),
        r#"mapping entry 2 is not {"field": "<column>", "value": "<expression>"}"#
    );
}

#[test]
fn toml_columns_alone_make_the_mapping_in_name_order() {
    let target = target(&[("data_id", "{FMasterId}"), ("code", "{FNumber}")], None);
    let spec = MappingSpec::from_target(&target).unwrap();
    assert_eq!(
        spec.columns,
        pairs(&[("code", "{FNumber}"), ("data_id", "{FMasterId}")])
    );
    assert_eq!(
        (spec.table.as_str(), spec.key.as_str()),
        ("wk_wodtop_product", "data_id")
    );
}

#[test]
fn toml_columns_override_file_entries_in_place_and_add_new_ones_after_them() {
    let dir = scratch_dir("merge");
    let file = r#"{"field": "main_params", "children": [
        {"field": "data_id", "value": "{FMasterId}"},
        {"field": "name", "value": "{FName}"},
        {"field": "modify_date", "value": "{FModifyDate}"}
    ]}"#;
    let path = dir.join("materials.json");
    std::fs::write(&path, file).unwrap();
    let target = target(
        &[
            ("NAME", "_function trim('{FName}')"),
            ("use_org", "{FUseOrgId.FNumber}"),
        ],
        path.to_str(),
    );
    let spec = MappingSpec::from_target(&target).unwrap();
    assert_eq!(
        spec.columns,
        pairs(&[
            ("data_id", "{FMasterId}"),
            ("NAME", "_function trim('{FName}')"),
            ("modify_date", "{FModifyDate}"),
            ("use_org", "{FUseOrgId.FNumber}"),
        ])
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_missing_mapping_file_is_an_error_naming_its_path() {
    let target = target(&[], Some("/nonexistent-k3sync/nope.mapping.json"));
    let error = MappingSpec::from_target(&target).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot read mapping file `/nonexistent-k3sync/nope.mapping.json`"
    );
    assert!(std::error::Error::source(&error).is_some());
}

#[test]
fn a_broken_mapping_file_is_an_error_naming_its_path_and_the_cause() {
    let dir = scratch_dir("broken");
    std::fs::write(dir.join("broken.json"), "[{\"field\": \"code\"}]").unwrap();
    let absolute = dir.join("broken.json");
    let target = target(&[], absolute.to_str());
    let error = MappingSpec::from_target(&target).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("invalid mapping file `{}`", absolute.display())
    );
    let cause = std::error::Error::source(&error).unwrap().to_string();
    assert!(cause.starts_with("mapping entry 1 is not"), "{cause}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_shipped_materials_mapping_compiles_and_maps_a_material() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/materials.mapping.json");
    let target = target(&[], file.to_str());
    let mapping = CompiledMapping::compile(&MappingSpec::from_target(&target).unwrap()).unwrap();
    assert_eq!(
        mapping.columns(),
        [
            "data_id",
            "code",
            "name",
            "specification_model",
            "product_line",
            "material_group",
            "base_unit",
            "erp_cls",
            "use_org",
            "document_status",
            "forbid_status",
            "create_date",
            "modify_date",
        ]
    );
    assert_eq!(
        (mapping.key_column(), mapping.version_column()),
        ("data_id", "modify_date")
    );
    assert_eq!(
        mapping.source_fields(),
        [
            "FMasterId",
            "FNumber",
            "FName",
            "FSpecification",
            "F_ProductLine",
            "FMaterialGroup.FNumber",
            "FBaseUnitId.FNumber",
            "FErpClsID",
            "FUseOrgId.FNumber",
            "FDocumentStatus",
            "FForbidStatus",
            "FCreateDate",
            "FModifyDate",
        ]
    );
    let record = json!({
        "FMaterialId": 100001, "FMasterId": 100001, "FNumber": "1.01.0001", "FName": "六角螺栓",
        "FSpecification": " M8×20 ", "F_ProductLine": null, "FMaterialGroup.FNumber": "01",
        "FBaseUnitId.FNumber": "Pcs", "FErpClsID": "1", "FUseOrgId.FNumber": "T00",
        "FDocumentStatus": "C", "FForbidStatus": "A", "FCreateDate": "2024-01-05T08:00:00",
        "FModifyDate": "2024-03-12T09:32:21.125"
    });
    let values = mapping.apply(record.as_object().unwrap()).unwrap();
    assert_eq!(
        values,
        [
            SqlValue::Int(100001),
            text("1.01.0001"),
            text("六角螺栓"),
            text("M8×20"),
            SqlValue::Null,
            text("01"),
            text("Pcs"),
            text("1"),
            text("T00"),
            text("已审核"),
            text("A"),
            datetime("2024-01-05 08:00:00"),
            datetime("2024-03-12 09:32:21.125"),
        ]
    );
}
