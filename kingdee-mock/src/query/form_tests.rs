//! Customer and supplier queries: the same engine as materials over each form's catalogue,
//! checked against the full-sort model, plus their own keys and errors.

use serde_json::{Value, json};

use super::tests::pages_equal_a_full_sort_in;
use super::{Query, Shape};
use crate::data::Store;
use crate::data::form::Form;

fn prepare(v: Value) -> Result<Query, crate::reply::KdError> {
    Query::prepare(v.as_object().expect("object"), 10_000)
}

#[test]
fn keyset_pages_of_customers_and_suppliers_equal_a_full_sort() {
    for (form, pk, extra) in [
        (
            Form::Customer,
            "FCUSTID",
            "FCOUNTRY.FNumber, FSELLER.FName DESC",
        ),
        (
            Form::Supplier,
            "FSupplierId",
            "FGroup.FNumber, FPayCurrencyId.FName DESC",
        ),
    ] {
        let mut store = Store::generate_form(form, 1500, 11, 0.05);
        for p in (0..1500).step_by(41) {
            store.delete(p);
        }
        let mid = store.slots()[700].material_id;
        let t = crate::dates::format_ms(store.slots()[900].modify_date.expect("a date"));
        let job = "FUseOrgId.FNumber = 'T00' AND FDocumentStatus = 'C' AND FForbidStatus = 'A'";
        let filters = [
            String::new(),
            job.to_owned(),
            format!("{job} AND {pk} > {mid}"),
            format!("({job}) AND (FModifyDate > '{t}' OR (FModifyDate = '{t}' AND {pk} > {mid}))"),
            format!("FCreateDate >= '{t}' OR FNumber LIKE '%01%'"),
            format!("FApproveDate >= '{t}' OR FApproveDate IS NULL"),
            "FTaxRegisterCode = '' OR FName LIKE '上海%'".to_owned(),
        ];
        let asc = format!("{pk} ASC");
        let desc = format!("{pk} DESC");
        let by_modify = format!("FModifyDate ASC, {pk} ASC");
        let by_modify_desc = format!("FModifyDate DESC, {pk} DESC");
        let orders = [
            "",
            asc.as_str(),
            desc.as_str(),
            by_modify.as_str(),
            by_modify_desc.as_str(),
            "FModifyDate DESC",
            "FNumber DESC",
            "FShortName, FModifyDate DESC",
            extra,
        ];
        let windows = [
            (0, 0, 0),
            (0, 0, 50),
            (0, 100, 50),
            (120, 100, 50),
            (30, 0, 0),
        ];
        let nonempty = pages_equal_a_full_sort_in(form, &store, &filters, &orders, &windows);
        assert!(nonempty > 100, "{form:?}: {nonempty} pages held rows");
    }
}

#[test]
fn customers_answer_their_own_keys_as_written() {
    let store = Store::generate_form(Form::Customer, 50, 42, 0.0);
    let q = prepare(json!({"FormId": "bd_customer",
        "FieldKeys": "fcustid,FNumber,FTRADINGCURRID.FNumber,FCountry.FName,FSELLER,FTel",
        "OrderString": "FCUSTID DESC", "Limit": 2, "StartRow": 1}))
    .expect("valid");
    assert_eq!(q.form, Form::Customer);
    let (body, n) = q.run(&store, Shape::Objects);
    let rows: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(n, 2);
    assert_eq!(rows[0]["fcustid"], 300_049);
    assert_eq!(rows[0]["FNumber"], "CUST0049");
    assert_eq!(rows[1]["fcustid"], 300_048);
    let keys: Vec<&String> = rows[0].as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "fcustid",
            "FNumber",
            "FTRADINGCURRID.FNumber",
            "FCountry.FName",
            "FSELLER",
            "FTel"
        ]
    );
}

#[test]
fn a_field_of_another_form_is_the_real_unknown_field_error() {
    let err = |v: Value| {
        let e = prepare(v).expect_err("must fail");
        (e.msg_code, e.message)
    };
    assert_eq!(
        err(json!({"FormId": "BD_Customer", "FieldKeys": "FCUSTID,FMaterialId"})),
        (9, "元数据中标识为FMaterialId的字段不存在".to_owned())
    );
    assert_eq!(
        err(json!({"FormId": "BD_Supplier", "FieldKeys": "FSupplierId",
            "FilterString": "FCUSTID > 0"})),
        (9, "元数据中标识为FCUSTID的字段不存在".to_owned())
    );
    assert_eq!(
        err(json!({"FormId": "BD_Supplier", "FieldKeys": "FSupplierId",
            "OrderString": "FSpecification"})),
        (9, "元数据中标识为FSpecification的字段不存在".to_owned())
    );
    assert_eq!(
        err(json!({"FormId": "BD_Vendor", "FieldKeys": "FNumber"})),
        (
            4,
            "标识为“BD_Vendor”的业务对象不存在，或者被删除。".to_owned()
        )
    );
}
