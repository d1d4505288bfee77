//! One ExecuteBillQuery page (kingdee-webapi.md §4): the request body the producer sends and the
//! rows that come back, kept as arrays in FieldKeys order ([`Rows`]).

use serde_json::{Value, json};

use super::error::KingdeeError;
use crate::record::Rows;

/// Service name of ExecuteBillQuery, appended to the server URL.
pub(crate) const EXECUTE_BILL_QUERY: &str =
    "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc";

/// The `data` of one ExecuteBillQuery call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillQuery {
    /// Business object, e.g. `BD_MATERIAL`.
    pub form_id: String,
    /// Fields to return; rows come back in this order.
    pub field_keys: Vec<String>,
    /// SQL-like condition (`FDocumentStatus = 'C'`); empty for none.
    pub filter_string: String,
    /// Sort order (`FMaterialId ASC`); empty for the database's order.
    pub order_string: String,
    /// 0-based first row. Keyset paging leaves it at 0.
    pub start_row: u64,
    /// Rows per page (2000 on older servers, up to 10000 on current ones).
    pub limit: u32,
    /// Cap on the absolute end row; 0 for none.
    pub top_row_count: u64,
}

impl BillQuery {
    /// The request body: `{"data": {"FormId": …, "FieldKeys": "a,b,c", …}}`.
    pub(crate) fn body(&self) -> String {
        json!({
            "data": {
                "FormId": self.form_id,
                "FieldKeys": self.field_keys.join(","),
                "FilterString": self.filter_string,
                "OrderString": self.order_string,
                "TopRowCount": self.top_row_count,
                "StartRow": self.start_row,
                "Limit": self.limit,
            }
        })
        .to_string()
    }

    /// Names this request in errors and logs.
    pub fn describe(&self) -> String {
        format!(
            "ExecuteBillQuery on `{}` (filter `{}`, order `{}`, start row {}, limit {})",
            self.form_id, self.filter_string, self.order_string, self.start_row, self.limit
        )
    }

    /// Takes the rows of a successful answer. Anything but an array of arrays of FieldKeys
    /// length is malformed: the page fails rather than lose a row.
    pub(crate) fn rows(&self, answer: Value) -> Result<Rows, KingdeeError> {
        let malformed = |detail: String| KingdeeError::malformed(&self.describe(), detail);
        let Value::Array(rows) = answer else {
            let got = kind(&answer);
            return Err(malformed(format!("expected an array of rows, got {got}")));
        };
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(index, row)| {
                let Value::Array(values) = row else {
                    let got = kind(&row);
                    return Err(malformed(format!("row {index} is {got}, not an array")));
                };
                let (got, width) = (values.len(), self.field_keys.len());
                if got != width {
                    let detail = format!("row {index} has {got} values for {width} FieldKeys");
                    return Err(malformed(detail));
                }
                Ok(values)
            })
            .collect::<Result<_, _>>()?;
        Ok(Rows {
            fields: self.field_keys.clone(),
            rows,
        })
    }

    /// The rows of a successful answer as records keyed by field.
    #[cfg(test)]
    fn records(&self, answer: Value) -> Result<Vec<crate::record::Record>, KingdeeError> {
        let rows = self.rows(answer)?;
        let fields = rows.fields;
        Ok(rows
            .rows
            .into_iter()
            .map(|values| fields.iter().cloned().zip(values).collect())
            .collect())
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> BillQuery {
        BillQuery {
            form_id: "BD_MATERIAL".into(),
            field_keys: vec![
                "FMaterialId".into(),
                "FNumber".into(),
                "FUseOrgId.FNumber".into(),
            ],
            filter_string: "FDocumentStatus = 'C'".into(),
            order_string: "FMaterialId ASC".into(),
            start_row: 0,
            limit: 2000,
            top_row_count: 0,
        }
    }

    #[test]
    fn body_has_the_data_envelope_in_sdk_key_order() {
        assert_eq!(
            query().body(),
            r#"{"data":{"FormId":"BD_MATERIAL","FieldKeys":"FMaterialId,FNumber,FUseOrgId.FNumber","FilterString":"FDocumentStatus = 'C'","OrderString":"FMaterialId ASC","TopRowCount":0,"StartRow":0,"Limit":2000}}"#
        );
    }

    #[test]
    fn rows_become_records_keyed_by_field_keys_in_order() {
        let rows = json!([[100001, "1.01.0001", "T00"], [100002, "螺丝", null]]);
        let records = query().records(rows).unwrap();
        assert_eq!(records.len(), 2);
        let keys: Vec<_> = records[0].keys().cloned().collect();
        assert_eq!(keys, ["FMaterialId", "FNumber", "FUseOrgId.FNumber"]);
        assert_eq!(records[1]["FNumber"], json!("螺丝"));
        assert_eq!(records[1]["FUseOrgId.FNumber"], Value::Null);
        assert!(query().records(json!([])).unwrap().is_empty());
    }

    #[test]
    fn a_row_of_the_wrong_length_fails_the_page_and_names_the_request() {
        let err = query()
            .records(json!([[1, "a", "b"], [2, "c"]]))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("row 1 has 2 values for 3 FieldKeys"),
            "{text}"
        );
        assert!(
            text.contains("BD_MATERIAL") && text.contains("start row 0"),
            "{text}"
        );
        assert!(
            text.contains("FDocumentStatus = 'C'") && text.contains("limit 2000"),
            "{text}"
        );
    }

    #[test]
    fn non_arrays_are_malformed() {
        assert!(matches!(
            query().records(json!({"a": 1})),
            Err(KingdeeError::Malformed { .. })
        ));
        assert!(matches!(
            query().records(json!([{"a": 1}])),
            Err(KingdeeError::Malformed { .. })
        ));
    }
}
