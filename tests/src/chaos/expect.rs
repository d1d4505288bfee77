//! The target table as it must end up: the demo mapping applied by hand to Kingdee's records (no
//! k3sync code involved), the table as MySQL holds it, and a comparison that names the
//! differing keys instead of printing a hundred thousand rows.

use std::collections::BTreeMap;

use serde_json::Value;
use sqlx::MySqlPool;

use crate::matches_job_filter;

/// A table row as text, one value per [`COLUMNS`] entry (dates to the millisecond).
pub type Row = Vec<Option<String>>;

/// The columns of a [`Row`], in order (`data_id` is the row's key).
pub const COLUMNS: [&str; 12] = [
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
];

/// The rows the default job writes for the mock's `rows`: those its filter selects, by FMasterId.
pub fn expected(rows: &[Value]) -> BTreeMap<i64, Row> {
    rows.iter()
        .filter(|r| matches_job_filter(r))
        .map(|r| {
            let key = r["FMasterId"].as_i64().expect("FMasterId");
            (key, expected_row(r))
        })
        .collect()
}

/// The demo mapping of one record (an object keyed by field name), written out by hand.
pub fn expected_row(r: &Value) -> Row {
    vec![
        text(&r["FNumber"]),
        text(&r["FName"]),
        text(&r["FSpecification"]).map(|s| s.trim().to_owned()),
        text(&r["F_ProductLine"]),
        text(&r["FMaterialGroup.FNumber"]),
        text(&r["FBaseUnitId.FNumber"]),
        text(&r["FErpClsID"]),
        text(&r["FUseOrgId.FNumber"]),
        status(&r["FDocumentStatus"]),
        text(&r["FForbidStatus"]),
        date(&r["FCreateDate"]),
        date(&r["FModifyDate"]),
    ]
}

pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Kingdee's `2024-03-12T09:32:21.125` as the table shows it, to the millisecond.
pub fn date(v: &Value) -> Option<String> {
    v.as_str().map(|s| {
        let d = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .unwrap_or_else(|e| panic!("record date {s}: {e}"));
        d.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
    })
}

fn status(v: &Value) -> Option<String> {
    let label = match v.as_str()? {
        "Z" => "暂存",
        "A" => "创建",
        "B" => "审核中",
        "C" => "已审核",
        "D" => "重新审核",
        _ => return None,
    };
    Some(label.to_owned())
}

type TableRow = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Every row of `wk_wodtop_product`, dates to the millisecond.
pub async fn table(pool: &MySqlPool) -> Result<BTreeMap<i64, Row>, sqlx::Error> {
    table_where(pool, "TRUE").await
}

/// The rows of `wk_wodtop_product` meeting `condition` (SQL text of the test's own), e.g.
/// `left_at IS NULL` for the rows a converging job holds as present.
pub async fn table_where(
    pool: &MySqlPool,
    condition: &str,
) -> Result<BTreeMap<i64, Row>, sqlx::Error> {
    let rows: Vec<TableRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT data_id, code, name, specification_model, product_line, material_group, \
         base_unit, erp_cls, use_org, document_status, forbid_status, \
         DATE_FORMAT(create_date, '%Y-%m-%d %H:%i:%s.%f'), \
         DATE_FORMAT(modify_date, '%Y-%m-%d %H:%i:%s.%f') FROM wk_wodtop_product \
         WHERE {condition}"
    )))
    .fetch_all(pool)
    .await?;
    let millis = |d: Option<String>| d.map(|s| s[..s.len() - 3].to_owned());
    Ok(rows
        .into_iter()
        .map(|r| {
            let row = vec![
                r.1,
                r.2,
                r.3,
                r.4,
                r.5,
                r.6,
                r.7,
                r.8,
                r.9,
                r.10,
                millis(r.11),
                millis(r.12),
            ];
            (r.0, row)
        })
        .collect())
}

/// Rows in the target table; `None` while MySQL does not answer (a restart in progress).
pub async fn row_count(pool: &MySqlPool) -> Option<usize> {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM wk_wodtop_product")
        .fetch_one(pool)
        .await
        .ok()
        .map(|n| n as usize)
}

/// Fails with the first few missing, unexpected and differing keys when the tables differ.
pub fn assert_same_table(got: &BTreeMap<i64, Row>, want: &BTreeMap<i64, Row>) {
    const SHOWN: usize = 10;
    let missing: Vec<&i64> = want.keys().filter(|k| !got.contains_key(k)).collect();
    let extra: Vec<&i64> = got.keys().filter(|k| !want.contains_key(k)).collect();
    let differing: Vec<String> = want
        .iter()
        .filter_map(|(k, row)| {
            let have = got.get(k)?;
            (have != row).then(|| format!("{k}: want {row:?}, got {have:?}"))
        })
        .take(SHOWN)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differing.is_empty(),
        "the table differs from the expected rows ({} rows, {} expected): {} missing {:?}, \
         {} unexpected {:?}, differing: {:#?}",
        got.len(),
        want.len(),
        missing.len(),
        &missing[..missing.len().min(SHOWN)],
        extra.len(),
        &extra[..extra.len().min(SHOWN)],
        differing
    );
}
