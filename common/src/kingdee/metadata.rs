//! QueryBusinessInfo (kingdee-webapi.md §5): a form's metadata, its primary key and each
//! field's type, for `ctl ddl` to type a target table's columns.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::error::{Exchange, KingdeeError, classify};
use crate::record::field_position;

/// Service name of QueryBusinessInfo, appended to the server URL.
pub(crate) const QUERY_BUSINESS_INFO: &str =
    "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.QueryBusinessInfo.common.kdsvc";

/// A form's metadata as far as k3sync reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormMetadata {
    pub form_id: String,
    /// The header's primary-key column (`PkFieldName`, upper case as Kingdee writes it).
    pub pk_field: String,
    pub fields: Vec<FormField>,
}

/// One field of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    /// The field key a query names (`FName`, `FUseOrgId`).
    pub key: String,
    /// Kingdee's element type: `TextField`, `BaseDataField`, `DateTimeField`, …
    pub element_type: String,
    /// Its caption in the first language Kingdee lists.
    pub caption: String,
}

impl FormMetadata {
    /// The field `key` names, by the one field lookup (exact, then ignoring case as Kingdee does).
    pub fn field(&self, key: &str) -> Option<&FormField> {
        let keys: Vec<&str> = self.fields.iter().map(|f| f.key.as_str()).collect();
        field_position(&keys, key).map(|i| &self.fields[i])
    }
}

pub(crate) fn body(form_id: &str) -> String {
    json!({"data": {"FormId": form_id}}).to_string()
}

/// Reads the answer: the metadata under `Result.NeedReturnData` when Kingdee says yes,
/// otherwise the error [`classify`] makes of it.
pub(crate) fn read(
    status: StatusCode,
    body: &[u8],
    exchange: &Exchange<'_>,
) -> Result<FormMetadata, KingdeeError> {
    let json = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let value: Value = serde_json::from_slice(json).unwrap_or_default();
    let result = &value["Result"];
    let malformed = |detail: &str| Err(KingdeeError::malformed(exchange.request, detail));
    if status != StatusCode::OK || result["ResponseStatus"]["IsSuccess"] != json!(true) {
        classify(status, body, exchange)?;
        return malformed("no ResponseStatus with IsSuccess true");
    }
    let data = &result["NeedReturnData"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let caption = |v: &Value| {
        v.as_array()
            .and_then(|names| names.first())
            .map_or_else(String::new, |name| text(&name["Value"]))
    };
    let fields = data["Entrys"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|entry| entry["Fields"].as_array().into_iter().flatten())
        .map(|field| FormField {
            key: text(&field["Key"]),
            element_type: text(&field["ElementType"]),
            caption: caption(&field["Name"]),
        })
        .filter(|field| !field.key.is_empty())
        .collect::<Vec<_>>();
    if fields.is_empty() {
        return malformed("metadata without fields");
    }
    Ok(FormMetadata {
        form_id: text(&data["Id"]),
        pk_field: text(&data["PkFieldName"]),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXCHANGE: Exchange<'static> = Exchange {
        request: "QueryBusinessInfo of `BD_Customer`",
        form_id: "BD_Customer",
        acct_id: "acct",
        quote_body: true,
    };

    #[test]
    fn the_fields_of_every_entry_are_read_with_their_type_and_caption() {
        let answer = json!({"Result": {"ResponseStatus": {"IsSuccess": true, "MsgCode": 0},
            "NeedReturnData": {"Id": "BD_Customer", "PkFieldName": "FCUSTID", "Entrys": [
                {"Fields": [{"Key": "FCUSTID", "ElementType": "IntegerField", "Name": [{"Key": 2052, "Value": "客户内码"}]},
                            {"Key": "FName", "ElementType": "MultiLangTextField", "Name": [{"Key": 2052, "Value": "客户名称"}]}]},
                {"Fields": [{"Key": "FTEL", "ElementType": "TextField", "Name": []}]}]}}});
        let metadata = read(StatusCode::OK, answer.to_string().as_bytes(), &EXCHANGE).unwrap();
        assert_eq!(metadata.pk_field, "FCUSTID");
        assert_eq!(metadata.fields.len(), 3);
        let name = metadata.field("fname").unwrap();
        assert_eq!(
            (name.element_type.as_str(), name.caption.as_str()),
            ("MultiLangTextField", "客户名称")
        );
        assert_eq!(metadata.field("FTEL").unwrap().caption, "");
    }

    #[test]
    fn an_unknown_form_is_kingdees_refusal() {
        let answer = json!({"Result": {"ResponseStatus": {"IsSuccess": false, "MsgCode": 4,
            "Errors": [{"Message": "标识为“BD_Nope”的业务对象不存在，或者被删除。"}]}}});
        let error = read(StatusCode::OK, answer.to_string().as_bytes(), &EXCHANGE).unwrap_err();
        assert!(
            matches!(error, KingdeeError::Refused { msg_code: 4, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("BD_Nope") || format!("{error:?}").contains("BD_Nope"));
    }
}
