//! Query tests: request checks and their MsgCodes, answer shapes, and the page planner checked
//! against a naive "filter everything, sort everything, slice" model.

use serde_json::{Value, json};

use super::order::{self, compare};
use super::plan::{Window, select};
use super::{Query, Shape};
use crate::data::Store;
use crate::data::form::Form;
use crate::filter;

fn data(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().expect("object").clone()
}

fn err(v: Value) -> (i64, String) {
    let e = Query::prepare(&data(v), 10_000).expect_err("must fail");
    (e.msg_code, e.message)
}

#[test]
fn bad_requests_get_the_real_msgcodes() {
    let (c, m) = err(json!({"FormId": "NO_SUCH_FORM", "FieldKeys": "FNumber"}));
    assert_eq!(
        (c, m.as_str()),
        (4, "标识为“NO_SUCH_FORM”的业务对象不存在，或者被删除。")
    );
    let (c, m) = err(json!({"FormId": "BD_MATERIAL", "FieldKeys": " , "}));
    assert_eq!(
        (c, m.as_str()),
        (8, "data数据包中的参数FieldKeys的值不能为空。")
    );
    let (c, m) = err(json!({"FormId": "BD_MATERIAL", "FieldKeys": "FNumber,FNoSuchField"}));
    assert_eq!(
        (c, m.as_str()),
        (9, "元数据中标识为FNoSuchField的字段不存在")
    );
    let (c, m) = err(json!({"FormId": "BD_MATERIAL", "FieldKeys": "FNumber",
        "FilterString": "FGhost = 1"}));
    assert_eq!((c, m.as_str()), (9, "元数据中标识为FGhost的字段不存在"));
    let (c, m) = err(json!({"FormId": "BD_MATERIAL", "FieldKeys": "FNumber",
        "OrderString": "FPhantom DESC"}));
    assert_eq!((c, m.as_str()), (9, "元数据中标识为FPhantom的字段不存在"));
    let (c, m) = err(json!({"FormId": "BD_MATERIAL", "FieldKeys": "FNumber",
        "FilterString": "FNumber = "}));
    assert_eq!(c, 4);
    assert!(m.starts_with("GetRealExpress error"), "{m}");
    let (c, m) = err(json!({"FormId": "BD_MATERIAL", "FieldKeys": "FNumber", "Limit": 10_001}));
    assert_eq!((c, m.as_str()), (4, "Limit不能超过10000"));
    let (c, _) = err(json!({"FormId": "BD_MATERIAL", "FieldKeys": "FNumber", "Limit": "many"}));
    assert_eq!(c, 8);
}

#[test]
fn numbers_sent_as_strings_are_accepted() {
    let q = Query::prepare(
        &data(json!({"FormId": "bd_material", "FieldKeys": "FNumber",
            "TopRowCount": "0", "StartRow": "20", "Limit": "2000"})),
        10_000,
    )
    .expect("valid");
    assert_eq!(
        q.window,
        Window {
            top: 0,
            start: 20,
            limit: 2000
        }
    );
}

#[test]
fn arrays_follow_field_keys_order_and_objects_keep_the_requested_keys() {
    let store = Store::generate(50, 42);
    let q = Query::prepare(
        &data(json!({"FormId": "BD_MATERIAL",
            "FieldKeys": "FNUMBER, fmaterialid,FUseOrgId.FNumber,FModifyDate",
            "OrderString": "FMaterialId", "Limit": 3})),
        10_000,
    )
    .expect("valid");
    let (body, n) = q.run(&store, Shape::Arrays);
    let rows: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(n, 3);
    assert_eq!(rows[0][1], 100_001);
    assert!(rows[0][0].as_str().expect("number").ends_with(".000001"));
    assert!(rows[0][3].as_str().expect("date").contains('T'));
    let (body, _) = q.run(&store, Shape::Objects);
    let objs: Value = serde_json::from_slice(&body).expect("json");
    let keys: Vec<&String> = objs[0].as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        ["FNUMBER", "fmaterialid", "FUseOrgId.FNumber", "FModifyDate"]
    );
    let empty = Query::prepare(
        &data(json!({"FormId": "BD_MATERIAL", "FieldKeys": "FNumber",
            "FilterString": "FMaterialId < 0"})),
        10_000,
    )
    .expect("valid");
    assert_eq!(empty.run(&store, Shape::Arrays).0, b"[]");
}

/// The page by brute force: every live row of a `form` store filtered, all of them sorted,
/// then sliced.
pub fn naive(
    form: Form,
    store: &Store,
    filter_src: &str,
    order_src: &str,
    w: Window,
) -> Vec<usize> {
    let pred = filter::compile_for(form, filter_src).expect("filter");
    let keys = order::parse_for(form, order_src).expect("order");
    let rows = store.slots();
    let mut all: Vec<usize> = store
        .live()
        .filter(|(_, r)| pred.matches(r, store.arena()))
        .map(|(p, _)| p)
        .collect();
    all.sort_by(|&a, &b| compare(&keys, &rows[a], &rows[b], store.arena()));
    let span = w.span(all.len());
    all[span].to_vec()
}

/// Checks every page of every filter, order and (top, start, limit) window against
/// [`naive`]; answers how many of the pages held rows.
pub fn pages_equal_a_full_sort(
    store: &Store,
    filters: &[String],
    orders: &[&str],
    windows: &[(usize, usize, usize)],
) -> usize {
    pages_equal_a_full_sort_in(Form::Material, store, filters, orders, windows)
}

/// [`pages_equal_a_full_sort`] for a store of `form`.
pub fn pages_equal_a_full_sort_in(
    form: Form,
    store: &Store,
    filters: &[String],
    orders: &[&str],
    windows: &[(usize, usize, usize)],
) -> usize {
    let mut nonempty = 0;
    for f in filters {
        let pred = filter::compile_for(form, f).expect("filter");
        for o in orders {
            let keys = order::parse_for(form, o).expect("order");
            for &(top, start, limit) in windows {
                let w = Window { top, start, limit };
                let page = select(store, &pred, &keys, w);
                nonempty += usize::from(!page.is_empty());
                assert_eq!(
                    page,
                    naive(form, store, f, o, w),
                    "{form:?} filter {f:?} order {o:?} window {w:?}"
                );
            }
        }
    }
    nonempty
}

#[test]
fn every_access_path_gives_the_pages_a_full_sort_would() {
    let mut store = Store::generate_with(4000, 11, 0.05);
    for p in (0..4000).step_by(37) {
        store.delete(p);
    }
    let mid = store.slots()[1500].material_id;
    let t = crate::dates::format_ms(store.slots()[2500].modify_date.expect("a date"));
    let job = "FUseOrgId.FNumber = 'T00' AND FDocumentStatus = 'C' AND FForbidStatus = 'A'";
    let filters = [
        String::new(),
        job.to_owned(),
        format!("{job} AND FMaterialId > {mid}"),
        format!(
            "({job}) AND (FModifyDate > '{t}' OR (FModifyDate = '{t}' AND FMaterialId > {mid}))"
        ),
        format!("FCreateDate >= '{t}' OR FNumber LIKE '1.01.%'"),
        format!("FApproveDate >= '{t}' OR FApproveDate IS NULL"),
        format!("FForbidDate < '{t}'"),
        format!("FModifyDate <= '{t}' OR FForbidStatus = 'B'"),
    ];
    let orders = [
        "",
        "FMaterialId ASC",
        "FMaterialId DESC",
        "FModifyDate ASC, FMaterialId ASC",
        "FModifyDate DESC, FMaterialId DESC",
        "FModifyDate DESC",
        "FCreateDate",
        "FApproveDate, FMaterialId",
        "FForbidDate DESC, FMaterialId DESC",
        "FNumber ASC, FModifyDate DESC",
        "FUseOrgId.FNumber, FName DESC",
        "F_ProductLine DESC, FNETWEIGHT",
    ];
    let windows = [
        (0, 0, 0),
        (0, 0, 50),
        (0, 100, 50),
        (120, 100, 50),
        (0, 10_000, 50),
        (30, 0, 0),
    ];
    assert!(pages_equal_a_full_sort(&store, &filters, &orders, &windows) > 0);
}

#[test]
fn several_order_keys_sort_in_turn() {
    let store = Store::generate(2000, 5);
    let pred = filter::compile("").expect("filter");
    let keys =
        order::parse("FUseOrgId.FNumber DESC, FDocumentStatus, FModifyDate DESC").expect("order");
    let page = select(&store, &pred, &keys, Window::default());
    let arena = store.arena();
    let cols = [
        crate::data::fields::resolve("FUseOrgId.FNumber").expect("col"),
        crate::data::fields::resolve("FDocumentStatus").expect("col"),
        crate::data::fields::resolve("FModifyDate").expect("col"),
    ];
    for pair in page.windows(2) {
        let (a, b) = (&store.slots()[pair[0]], &store.slots()[pair[1]]);
        let va: Vec<_> = cols.iter().map(|c| c.get(a, arena)).collect();
        let vb: Vec<_> = cols.iter().map(|c| c.get(b, arena)).collect();
        let org = va[0].to_text() >= vb[0].to_text();
        assert!(org, "org descending");
        if va[0] == vb[0] {
            assert!(va[1].to_text() <= vb[1].to_text(), "status ascending");
            if va[1] == vb[1] {
                assert!(va[2].to_text() >= vb[2].to_text(), "date descending");
                if va[2] == vb[2] {
                    assert!(a.material_id < b.material_id, "id tie-break");
                }
            }
        }
    }
    assert_eq!(page.len(), 2000);
}

#[test]
fn null_modify_dates_come_first_and_fail_every_date_comparison() {
    let store = Store::generate_with(3000, 8, 0.1);
    let nulls: Vec<i64> = store
        .live()
        .filter(|(_, r)| r.modify_date.is_none())
        .map(|(_, r)| r.material_id)
        .collect();
    assert!(nulls.len() > 200);
    let ids = |filter: &str, order: &str, limit: usize| -> Vec<i64> {
        let q = Query::prepare(
            &data(
                json!({"FormId": "BD_MATERIAL", "FieldKeys": "FMaterialId,FModifyDate",
                "FilterString": filter, "OrderString": order, "Limit": limit}),
            ),
            10_000,
        )
        .expect("valid");
        let rows: Value = serde_json::from_slice(&q.run(&store, Shape::Arrays).0).expect("json");
        let rows = rows.as_array().expect("rows").clone();
        rows.iter().map(|r| r[0].as_i64().expect("id")).collect()
    };
    let first = ids("", "FModifyDate, FMaterialId", nulls.len());
    assert_eq!(first, nulls, "NULL sorts first, in FMaterialId order");
    let last = ids("", "FModifyDate DESC, FMaterialId DESC", 0);
    assert_eq!(
        last[last.len() - nulls.len()..],
        nulls.iter().rev().copied().collect::<Vec<_>>()
    );
    assert_eq!(ids("FModifyDate IS NULL", "", 0), nulls);
    let old = "2000-01-01";
    let dated = ids(&format!("FModifyDate > '{old}'"), "", 0);
    assert_eq!(dated.len(), 3000 - nulls.len(), "NULL > 'T' is unknown");
    assert!(
        ids(
            &format!("FModifyDate <= '{old}' OR FModifyDate = '{old}'"),
            "",
            0
        )
        .is_empty()
    );
    let not = ids(&format!("NOT (FModifyDate > '{old}')"), "", 0);
    assert!(not.is_empty(), "NOT unknown is unknown");
}
