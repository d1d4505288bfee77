//! QueryBusinessInfo (§5) for every form the mock serves: the form's metadata with its field
//! list (key, localized name, field type, database column, and the form a base-data field
//! looks up), built from the form's catalogue.

use serde_json::{Value, json};

use super::Executed;
use crate::body::{get_ci, service_data};
use crate::data::fields::Col;
use crate::data::form::Form;
use crate::data::row::{RefField, TextField};
use crate::query::unknown_form;
use crate::stats::Outcome;

fn caption(key: &str) -> &'static str {
    match key {
        "FMaterialId" => "物料内码",
        "FMasterId" => "主数据内码",
        "FNumber" => "编码",
        "FName" => "名称",
        "FSpecification" => "规格型号",
        "FMnemonicCode" => "助记码",
        "FOldNumber" => "旧物料编码",
        "FDescription" => "描述",
        "FMaterialGroup" => "物料分组",
        "FDocumentStatus" => "数据状态",
        "FForbidStatus" => "禁用状态",
        "FCreateOrgId" => "创建组织",
        "FUseOrgId" => "使用组织",
        "FCreatorId" => "创建人",
        "FModifierId" => "修改人",
        "FApproverId" => "审核人",
        "FForbidderId" => "禁用人",
        "FCreateDate" => "创建日期",
        "FModifyDate" => "修改日期",
        "FApproveDate" => "审核日期",
        "FForbidDate" => "禁用日期",
        "FErpClsID" => "物料属性",
        "FBaseUnitId" => "基本单位",
        "FCategoryID" => "存货类别",
        "FTaxRateId" => "默认税率",
        "FIsPurchase" => "允许采购",
        "FIsInventory" => "允许库存",
        "FIsSale" => "允许销售",
        "FBARCODE" => "条码",
        "FNETWEIGHT" => "净重",
        "FGROSSWEIGHT" => "毛重",
        "F_ProductLine" => "产品线",
        "FCUSTID" => "客户内码",
        "FSupplierId" => "供应商内码",
        "FShortName" => "简称",
        "FCOUNTRY" | "FCountry" => "国家",
        "FADDRESS" | "FAddress" => "通讯地址",
        "FTEL" | "FTel" => "联系电话",
        "FTaxRegisterCode" => "纳税登记号",
        "FSELLER" => "销售员",
        "FTRADINGCURRID" | "FPayCurrencyId" => "结算币别",
        "FGroup" => "供应商分组",
        "FSupplyClassify" => "供应类别",
        "FContact" => "联系人",
        _ => "",
    }
}

fn field_type(key: &str, col: Col) -> &'static str {
    match col {
        // 国家 is assistant data (辅助资料) in K3Cloud, not a base-data form.
        Col::RefId(RefField::Country) => "AssistantField",
        Col::RefId(_) => "BaseDataField",
        Col::MaterialId | Col::MasterId => "IntegerField",
        Col::CreateDate | Col::ModifyDate | Col::ApproveDate | Col::ForbidDate => "DateTimeField",
        Col::Flag(_) => "CheckBoxField",
        Col::NetWeight | Col::GrossWeight => "DecimalField",
        _ if matches!(
            key,
            "FDocumentStatus" | "FForbidStatus" | "FErpClsID" | "FSupplyClassify"
        ) =>
        {
            "ComboField"
        }
        Col::Text(TextField::Name | TextField::ShortName) => "MultiLangTextField",
        _ => "TextField",
    }
}

/// The form's caption and its table; the primary key's column is its key in capitals.
fn form_info(form: Form) -> (&'static str, &'static str) {
    match form {
        Form::Material => ("物料", "T_BD_MATERIAL"),
        Form::Customer => ("客户", "T_BD_CUSTOMER"),
        Form::Supplier => ("供应商", "T_BD_SUPPLIER"),
    }
}

pub fn metadata(form: Form) -> Value {
    let name = |v: &str| json!([{"Key": 2052, "Value": v}]);
    let (caption_of_form, table) = form_info(form);
    let pk = form.pk_key().to_uppercase();
    let fields: Vec<Value> = form
        .scalars()
        .iter()
        .map(|&(key, col)| {
            let lookup = match col {
                Col::RefId(r) => json!({"FormId": r.lookup_form()}),
                _ => Value::Null,
            };
            json!({"Key": key, "Name": name(caption(key)), "FieldName": key.to_uppercase(),
                "ElementType": field_type(key, col), "LookUpObject": lookup,
                "MustInput": matches!(key, "FNumber" | "FName" | "FCreateOrgId" | "FUseOrgId")})
        })
        .collect();
    json!({
        "Id": form.id(), "Name": name(caption_of_form), "ModelTypeId": 400, "SubSysId": "BD",
        "PkFieldName": pk, "PkFieldType": "Int32", "MasterPKFieldName": "FMASTERID",
        "NumberFieldKey": "FNumber", "NameFieldKey": "FName",
        "Entrys": [{"Id": "FBillHead", "Key": "FBillHead", "Name": name(caption_of_form),
            "EntryPkFieldName": pk, "TableName": table, "Fields": fields}]
    })
}

pub fn run(parsed: &Value) -> Executed {
    let form = service_data(parsed)
        .ok()
        .and_then(|d| {
            get_ci(&d, "FormId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let Some(form) = Form::parse(&form) else {
        return Executed {
            body: unknown_form(&form).body(false),
            outcome: Outcome::Error,
            session: None,
        };
    };
    let body = json!({"Result": {
        "ResponseStatus": {"ErrorCode": 0, "IsSuccess": true, "Errors": [], "SuccessEntitys": [],
            "SuccessMessages": [], "MsgCode": 0},
        "NeedReturnData": metadata(form)
    }});
    Executed {
        body: body.to_string().into_bytes(),
        outcome: Outcome::Ok,
        session: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(meta: &Value) -> Vec<String> {
        meta["Entrys"][0]["Fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| f["Key"].as_str().expect("key").to_owned())
            .collect()
    }

    #[test]
    fn each_form_describes_its_own_fields_key_and_table() {
        let meta = metadata(Form::Customer);
        assert_eq!(meta["Id"], "BD_Customer");
        assert_eq!(meta["Name"][0]["Value"], "客户");
        assert_eq!(meta["PkFieldName"], "FCUSTID");
        assert_eq!(meta["Entrys"][0]["TableName"], "T_BD_CUSTOMER");
        assert_eq!(meta["Entrys"][0]["EntryPkFieldName"], "FCUSTID");
        let fields = &meta["Entrys"][0]["Fields"];
        let field = |key: &str| {
            fields
                .as_array()
                .expect("fields")
                .iter()
                .find(|f| f["Key"] == key)
                .unwrap_or_else(|| panic!("{key}"))
                .clone()
        };
        assert_eq!(field("FSELLER")["LookUpObject"]["FormId"], "BD_Saler");
        assert_eq!(field("FTRADINGCURRID")["ElementType"], "BaseDataField");
        assert_eq!(
            field("FTRADINGCURRID")["LookUpObject"]["FormId"],
            "BD_Currency"
        );
        assert_eq!(field("FCOUNTRY")["ElementType"], "AssistantField");
        assert_eq!(field("FModifyDate")["ElementType"], "DateTimeField");
        assert_eq!(field("FTEL")["Name"][0]["Value"], "联系电话");
        assert_eq!(field("FTEL")["LookUpObject"], Value::Null);
        let scalars: Vec<&str> = Form::Customer.scalars().iter().map(|(k, _)| *k).collect();
        assert_eq!(keys(&meta), scalars);

        let meta = metadata(Form::Supplier);
        assert_eq!(meta["PkFieldName"], "FSUPPLIERID");
        assert_eq!(meta["Entrys"][0]["TableName"], "T_BD_SUPPLIER");
        assert!(keys(&meta).iter().any(|k| k == "FPayCurrencyId"));
        let meta = metadata(Form::Material);
        assert_eq!(meta["PkFieldName"], "FMATERIALID");
        assert_eq!(keys(&meta).len(), 32);
    }

    #[test]
    fn query_business_info_answers_any_served_form_and_refuses_others() {
        let ok = run(&json!({"data": {"FormId": "bd_supplier"}}));
        assert_eq!(ok.outcome, Outcome::Ok);
        let body: Value = serde_json::from_slice(&ok.body).expect("json");
        assert_eq!(body["Result"]["NeedReturnData"]["Id"], "BD_Supplier");
        let refused = run(&json!({"data": {"FormId": "BD_Nope"}}));
        assert_eq!(refused.outcome, Outcome::Error);
        let body = String::from_utf8(refused.body).expect("utf-8");
        assert!(body.contains("BD_Nope"), "{body}");
    }
}
