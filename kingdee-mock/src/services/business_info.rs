//! QueryBusinessInfo for BD_MATERIAL (§5): the form's metadata with its field list (key,
//! localized name, field type, database column, and the form a base-data field looks up).

use serde_json::{Value, json};

use super::Executed;
use crate::body::{get_ci, service_data};
use crate::data::fields::{Col, catalogue};
use crate::query::FORM_ID;
use crate::reply::KdError;
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
        _ => "",
    }
}

fn field_type(key: &str, col: Col) -> &'static str {
    match col {
        Col::RefId(_) => "BaseDataField",
        Col::MaterialId | Col::MasterId => "IntegerField",
        Col::CreateDate | Col::ModifyDate | Col::ApproveDate | Col::ForbidDate => "DateTimeField",
        Col::Flag(_) => "CheckBoxField",
        Col::NetWeight | Col::GrossWeight => "DecimalField",
        _ if matches!(key, "FDocumentStatus" | "FForbidStatus" | "FErpClsID") => "ComboField",
        Col::Text(crate::data::row::TextField::Name) => "MultiLangTextField",
        _ => "TextField",
    }
}

fn metadata() -> Value {
    let name = |v: &str| json!([{"Key": 2052, "Value": v}]);
    let fields: Vec<Value> = catalogue()
        .iter()
        .filter(|(key, _)| !key.contains('.'))
        .map(|(key, col)| {
            let lookup = match col {
                Col::RefId(r) => json!({"FormId": r.lookup_form()}),
                _ => Value::Null,
            };
            json!({"Key": key, "Name": name(caption(key)), "FieldName": key.to_uppercase(),
                "ElementType": field_type(key, *col), "LookUpObject": lookup,
                "MustInput": matches!(key.as_str(), "FNumber" | "FName" | "FCreateOrgId" | "FUseOrgId")})
        })
        .collect();
    json!({
        "Id": FORM_ID, "Name": name("物料"), "ModelTypeId": 400, "SubSysId": "BD",
        "PkFieldName": "FMATERIALID", "PkFieldType": "Int32", "MasterPKFieldName": "FMASTERID",
        "NumberFieldKey": "FNumber", "NameFieldKey": "FName",
        "Entrys": [{"Id": "FBillHead", "Key": "FBillHead", "Name": name("物料"),
            "EntryPkFieldName": "FMATERIALID", "TableName": "T_BD_MATERIAL", "Fields": fields}]
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
    if !form.trim().eq_ignore_ascii_case(FORM_ID) {
        let err = KdError::new(
            4,
            format!("标识为“{}”的业务对象不存在，或者被删除。", form.trim()),
        );
        return Executed {
            body: err.body(false),
            outcome: Outcome::Error,
            session: None,
        };
    }
    let body = json!({"Result": {
        "ResponseStatus": {"ErrorCode": 0, "IsSuccess": true, "Errors": [], "SuccessEntitys": [],
            "SuccessMessages": [], "MsgCode": 0},
        "NeedReturnData": metadata()
    }});
    Executed {
        body: body.to_string().into_bytes(),
        outcome: Outcome::Ok,
        session: None,
    }
}
