//! Customer and supplier generation: deterministic, realistic, and in step with the catalogue.

use std::collections::HashSet;

use crate::data::Store;
use crate::data::fields::Value;
use crate::data::form::Form;
use crate::data::json::row_object_of;

fn dump(form: Form, s: &Store) -> Vec<String> {
    s.slots()
        .iter()
        .map(|r| row_object_of(form, r, s.arena()).to_string())
        .collect()
}

#[test]
fn same_seed_gives_the_same_partners_and_another_seed_differs() {
    for form in [Form::Customer, Form::Supplier] {
        let a = Store::generate_form(form, 500, 42, 0.0);
        let b = Store::generate_form(form, 500, 42, 0.0);
        let c = Store::generate_form(form, 500, 43, 0.0);
        assert_eq!(dump(form, &a), dump(form, &b));
        assert_ne!(dump(form, &a), dump(form, &c));
        assert_eq!(a.len(), 500);
        assert!(a.indices_consistent());
    }
}

#[test]
fn customers_and_suppliers_look_like_k3cloud_base_data() {
    let customers = Store::generate_form(Form::Customer, 2000, 42, 0.0);
    let first = row_object_of(Form::Customer, &customers.slots()[0], customers.arena());
    assert_eq!(first["FCUSTID"], 300_001);
    assert_eq!(first["FMasterId"], 300_001);
    assert_eq!(first["FNumber"], "CUST0001");
    assert!(first["FName"].as_str().expect("name").ends_with("公司"));
    assert!(
        first["FTRADINGCURRID.FNumber"]
            .as_str()
            .expect("currency")
            .starts_with("PRE")
    );
    let suppliers = Store::generate_form(Form::Supplier, 1000, 42, 0.0);
    let last = row_object_of(Form::Supplier, &suppliers.slots()[999], suppliers.arena());
    assert_eq!(last["FSupplierId"], 500_001 + 999);
    assert_eq!(last["FNumber"], "VEN1000");
    assert!(["CG", "WW", "FW"].contains(&last["FSupplyClassify"].as_str().expect("classify")));

    let col = |form: Form, key: &str| form.resolve(key).expect("known field");
    let statuses = |form: Form, s: &Store| -> Vec<String> {
        let c = col(form, "FDocumentStatus");
        s.live()
            .map(|(_, r)| match c.get(r, s.arena()) {
                Value::Str(v) => v.to_owned(),
                v => panic!("{v:?}"),
            })
            .collect()
    };
    for (form, store) in [(Form::Customer, &customers), (Form::Supplier, &suppliers)] {
        let st = statuses(form, store);
        let audited = st.iter().filter(|s| *s == "C").count();
        assert!(audited * 100 > st.len() * 75, "{form:?}: mostly audited");
        let kinds: HashSet<&String> = st.iter().collect();
        assert!(kinds.len() >= 4, "{form:?}: A, B, C, D and Z all occur");
        let numbers: HashSet<String> = store
            .live()
            .map(|(_, r)| format!("{:?}", col(form, "FNumber").get(r, store.arena())))
            .collect();
        assert_eq!(numbers.len(), store.len(), "{form:?}: FNumber is unique");
        // Only audited rows carry an approval; only forbidden ones a forbid date.
        for (_, r) in store.live() {
            let get = |k: &str| col(form, k).get(r, store.arena());
            let audited = get("FDocumentStatus") == Value::Str("C");
            assert_eq!(audited, get("FApproveDate") != Value::Null);
            assert_eq!(audited, get("FApproverId") != Value::Int(0));
            let forbidden = get("FForbidStatus") == Value::Str("B");
            assert_eq!(forbidden, get("FForbidDate") != Value::Null);
            assert!(matches!(get("FModifyDate"), Value::Date(m) if m >= r.create_date));
            assert!(
                matches!(get("FTaxRegisterCode"), Value::Str(c) if c.is_empty() || c.len() == 18)
            );
        }
        let (lo, hi) = (
            store.slots()[0].create_date,
            store.slots()[store.len() - 1].create_date,
        );
        let years = (hi - lo) / (365 * 86_400_000);
        assert!(
            years >= 4,
            "{form:?}: created over 2019–2024, not {years} years"
        );
    }
}
