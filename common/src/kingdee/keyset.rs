//! Keyset paging: the producer asks for the rows after the last one it saw, ordered on the cursor
//! fields, instead of an offset. A row edited while a run pages moves behind the cursor and is
//! still read; with offsets it could be skipped.

use serde_json::Value;

use super::error::KingdeeError;
use super::query::BillQuery;
use crate::record::{Cursor, Rows, parse_key, version_text};
use crate::settings::filter_and;

/// The cursor fields of a paging mode: the key alone (full), or a time field then the key
/// (incremental: `FModifyDate`; new: `FCreateDate`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyset {
    key_field: String,
    time_field: Option<String>,
}

impl Keyset {
    /// Pages on the integer key alone, e.g. `FMaterialId`.
    pub fn by_key(key_field: impl Into<String>) -> Self {
        Self {
            key_field: key_field.into(),
            time_field: None,
        }
    }

    /// Pages on (time, key), e.g. (`FModifyDate`, `FMaterialId`).
    pub fn by_time(time_field: impl Into<String>, key_field: impl Into<String>) -> Self {
        Self {
            key_field: key_field.into(),
            time_field: Some(time_field.into()),
        }
    }

    /// The cursor fields, to be added to FieldKeys.
    pub fn fields(&self) -> Vec<&str> {
        self.time_field
            .iter()
            .map(String::as_str)
            .chain([self.key_field.as_str()])
            .collect()
    }

    /// `FMaterialId ASC` or `FModifyDate ASC, FMaterialId ASC`.
    pub fn order_string(&self) -> String {
        self.order("ASC")
    }

    /// The cursor fields in `direction` (`ASC` or `DESC`), as an OrderString.
    fn order(&self, direction: &str) -> String {
        self.fields()
            .iter()
            .map(|f| format!("{f} {direction}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The job's `base` filter (may be empty) narrowed to the rows after `cursor`.
    ///
    /// A cursor of the other shape (one stored by a different mode) is read so that nothing is
    /// skipped: a time keyset treats a key-only cursor as [`Cursor::Start`]; the key keyset uses
    /// the key of a timed cursor. A time keyset never reads rows whose time is NULL.
    pub fn filter_string(&self, base: &str, cursor: &Cursor) -> String {
        let key = &self.key_field;
        let after = match (&self.time_field, cursor) {
            (None, Cursor::Start) => String::new(),
            // A NULL time cannot be placed on the cursor (SQL Server sorts it first, and no
            // `>` ever passes it): a timed stream leaves such rows to full mode.
            (Some(time), Cursor::Start | Cursor::Key { .. }) => format!("{time} IS NOT NULL"),
            (None, Cursor::Key { key: k } | Cursor::Timed { key: k, .. }) => format!("{key} > {k}"),
            (Some(time), Cursor::Timed { at, key: k }) => {
                let t = time_literal(at);
                format!("{time} > {t} OR ({time} = {t} AND {key} > {k})")
            }
        };
        filter_and(base, &after)
    }

    /// The cursor after row `last` of a page (its last row).
    pub fn advance(&self, rows: &Rows, last: usize) -> Result<Cursor, KingdeeError> {
        let key = cursor_field(rows, last, &self.key_field, parse_key, "is not an integer")?;
        let Some(time) = &self.time_field else {
            return Ok(Cursor::Key { key });
        };
        let at = cursor_field(rows, last, time, version_text, "is not a date-time string")?;
        Ok(Cursor::Timed {
            at: at.to_owned(),
            key,
        })
    }

    /// The next page after `cursor`: `field_keys` plus any missing cursor field, the cursor's
    /// filter and order, always from row 0 (keyset, never offset) with no TopRowCount.
    pub fn page(
        &self,
        form_id: &str,
        field_keys: &[String],
        base_filter: &str,
        cursor: &Cursor,
        limit: u32,
    ) -> BillQuery {
        let mut keys = field_keys.to_vec();
        for field in self.fields() {
            if !keys.iter().any(|k| k == field) {
                keys.push(field.to_owned());
            }
        }
        BillQuery {
            form_id: form_id.to_owned(),
            field_keys: keys,
            filter_string: self.filter_string(base_filter, cursor),
            order_string: self.order_string(),
            start_row: 0,
            limit,
            top_row_count: 0,
        }
    }

    /// The `base` filter narrowed to keys up to `until` (inclusive): one partition of a full
    /// pass's key range.
    pub fn up_to(&self, base: &str, until: i64) -> String {
        filter_and(base, &format!("{} <= {until}", self.key_field))
    }

    /// The first row in cursor order (one row): the low end of a full pass's key range.
    pub fn earliest(&self, form_id: &str, base_filter: &str) -> BillQuery {
        self.page(form_id, &[], base_filter, &Cursor::Start, 1)
    }

    /// The last row in cursor order (descending, one row): where a stream that need not read
    /// the past starts.
    pub fn latest(&self, form_id: &str, base_filter: &str) -> BillQuery {
        let mut query = self.page(form_id, &[], base_filter, &Cursor::Start, 1);
        query.order_string = self.order("DESC");
        query
    }
}

/// `'2024-03-12 09:32:21.125'` from `2024-03-12T09:32:21.125`: the `T` becomes a space, every
/// fraction digit stays, and quotes are doubled.
fn time_literal(at: &str) -> String {
    format!("'{}'", at.replacen('T', " ", 1).replace('\'', "''"))
}

/// Field `name` of row `last` as `read` takes it; an error names the field when it is missing
/// or when `read` refuses it (`problem`).
fn cursor_field<'r, T>(
    rows: &'r Rows,
    last: usize,
    name: &str,
    read: impl Fn(&'r Value) -> Option<T>,
    problem: &'static str,
) -> Result<T, KingdeeError> {
    let error = |problem| KingdeeError::Cursor {
        field: name.to_owned(),
        problem,
    };
    let value = rows.value(last, name).ok_or_else(|| error("is missing"))?;
    read(value).ok_or_else(|| error(problem))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::kingdee::ErrorClass;

    /// A page of one row with the fields of `value`'s object.
    fn record(value: Value) -> Rows {
        let object = value.as_object().cloned().unwrap();
        Rows {
            fields: object.keys().cloned().collect(),
            rows: vec![object.values().cloned().collect()],
        }
    }

    fn timed(at: &str, key: i64) -> Cursor {
        Cursor::Timed { at: at.into(), key }
    }

    #[test]
    fn full_mode_pages_on_the_key() {
        let keyset = Keyset::by_key("FMaterialId");
        assert_eq!(keyset.fields(), ["FMaterialId"]);
        assert_eq!(keyset.order_string(), "FMaterialId ASC");
        assert_eq!(
            keyset.filter_string("FForbidStatus = 'A'", &Cursor::Start),
            "FForbidStatus = 'A'"
        );
        assert_eq!(
            keyset.filter_string("FForbidStatus = 'A'", &Cursor::Key { key: 100_250 }),
            "(FForbidStatus = 'A') AND (FMaterialId > 100250)"
        );
        assert_eq!(
            keyset.filter_string("", &Cursor::Key { key: 7 }),
            "FMaterialId > 7"
        );
    }

    #[test]
    fn a_partition_pages_on_the_key_up_to_its_bound_and_the_range_ends_are_one_row_queries() {
        let keyset = Keyset::by_key("FMaterialId");
        let base = keyset.up_to("FForbidStatus = 'A'", 200);
        assert_eq!(base, "(FForbidStatus = 'A') AND (FMaterialId <= 200)");
        assert_eq!(
            keyset.filter_string(&base, &Cursor::Key { key: 100 }),
            "((FForbidStatus = 'A') AND (FMaterialId <= 200)) AND (FMaterialId > 100)"
        );
        assert_eq!(keyset.up_to(" ", 7), "FMaterialId <= 7");
        let first = keyset.earliest("BD_MATERIAL", "FForbidStatus = 'A'");
        assert_eq!(
            (
                first.order_string.as_str(),
                first.limit,
                first.field_keys.len()
            ),
            ("FMaterialId ASC", 1, 1)
        );
        let last = keyset.latest("BD_MATERIAL", "FForbidStatus = 'A'");
        assert_eq!(
            (last.order_string.as_str(), last.limit),
            ("FMaterialId DESC", 1)
        );
        assert_eq!(first.filter_string, "FForbidStatus = 'A'");
    }

    #[test]
    fn incremental_mode_pages_on_modify_date_then_key_keeping_every_fraction_digit() {
        let keyset = Keyset::by_time("FModifyDate", "FMaterialId");
        assert_eq!(keyset.fields(), ["FModifyDate", "FMaterialId"]);
        assert_eq!(keyset.order_string(), "FModifyDate ASC, FMaterialId ASC");
        assert_eq!(
            keyset.filter_string(
                "FDocumentStatus = 'C'",
                &timed("2024-03-12T09:32:21.125", 100_001)
            ),
            "(FDocumentStatus = 'C') AND (FModifyDate > '2024-03-12 09:32:21.125' OR \
             (FModifyDate = '2024-03-12 09:32:21.125' AND FMaterialId > 100001))"
        );
        assert_eq!(
            keyset.filter_string("", &timed("2024-03-12T09:32:21.1234567", 5)),
            "FModifyDate > '2024-03-12 09:32:21.1234567' OR \
             (FModifyDate = '2024-03-12 09:32:21.1234567' AND FMaterialId > 5)"
        );
    }

    #[test]
    fn incremental_start_reads_every_dated_row_the_base_filter_allows() {
        let keyset = Keyset::by_time("FModifyDate", "FMaterialId");
        assert_eq!(
            keyset.filter_string("", &Cursor::Start),
            "FModifyDate IS NOT NULL"
        );
        assert_eq!(
            keyset.filter_string("FNumber like 'A%'", &Cursor::Start),
            "(FNumber like 'A%') AND (FModifyDate IS NOT NULL)"
        );
        // A key-only cursor from a full run cannot place a time keyset: start over, skip nothing.
        assert_eq!(
            keyset.filter_string("", &Cursor::Key { key: 9 }),
            "FModifyDate IS NOT NULL"
        );
    }

    #[test]
    fn new_mode_pages_on_create_date_and_escapes_quotes() {
        let keyset = Keyset::by_time("FCreateDate", "FMaterialId");
        assert_eq!(keyset.order_string(), "FCreateDate ASC, FMaterialId ASC");
        assert_eq!(
            keyset.filter_string("", &timed("2024-01-01T00:00:00'--", 1)),
            "FCreateDate > '2024-01-01 00:00:00''--' OR \
             (FCreateDate = '2024-01-01 00:00:00''--' AND FMaterialId > 1)"
        );
    }

    #[test]
    fn advance_reads_number_and_string_keys() {
        let by_time = Keyset::by_time("FModifyDate", "FMaterialId");
        let last =
            record(json!({"FMaterialId": 100_002, "FModifyDate": "2024-03-12T09:32:21.125"}));
        assert_eq!(
            by_time.advance(&last, 0).unwrap(),
            timed("2024-03-12T09:32:21.125", 100_002)
        );
        let last = record(json!({"FMaterialId": " 100003", "FModifyDate": "2024-03-12T09:32:21"}));
        assert_eq!(
            by_time.advance(&last, 0).unwrap(),
            timed("2024-03-12T09:32:21", 100_003)
        );
        let last = record(json!({"FMaterialId": "42"}));
        assert_eq!(
            Keyset::by_key("FMaterialId").advance(&last, 0).unwrap(),
            Cursor::Key { key: 42 }
        );
    }

    #[test]
    fn advance_names_a_missing_or_ill_typed_cursor_field() {
        let by_time = Keyset::by_time("FModifyDate", "FMaterialId");
        for (value, field) in [
            (json!({"FModifyDate": "2024-03-12T09:32:21"}), "FMaterialId"),
            (
                json!({"FMaterialId": "abc", "FModifyDate": "2024-03-12T09:32:21"}),
                "FMaterialId",
            ),
            (
                json!({"FMaterialId": 1.5, "FModifyDate": "2024-03-12T09:32:21"}),
                "FMaterialId",
            ),
            (json!({"FMaterialId": 1}), "FModifyDate"),
            (
                json!({"FMaterialId": 1, "FModifyDate": null}),
                "FModifyDate",
            ),
        ] {
            let err = by_time.advance(&record(value), 0).unwrap_err();
            assert!(err.to_string().contains(&format!("`{field}`")), "{err}");
            assert_eq!(err.class(), ErrorClass::Malformed);
        }
    }

    #[test]
    fn page_adds_missing_cursor_fields_and_never_uses_offsets() {
        let keyset = Keyset::by_time("FModifyDate", "FMaterialId");
        let fields = vec!["FMaterialId".to_owned(), "FNumber".to_owned()];
        let page = keyset.page(
            "BD_MATERIAL",
            &fields,
            "",
            &timed("2024-03-12T09:32:21", 3),
            2000,
        );
        assert_eq!(page.field_keys, ["FMaterialId", "FNumber", "FModifyDate"]);
        assert_eq!(
            (page.start_row, page.top_row_count, page.limit),
            (0, 0, 2000)
        );
        assert_eq!(page.order_string, "FModifyDate ASC, FMaterialId ASC");
        assert!(
            page.filter_string
                .starts_with("FModifyDate > '2024-03-12 09:32:21'")
        );
    }

    #[test]
    fn cursors_serialize_with_a_kind_tag() {
        let text = serde_json::to_string(&timed("2024-03-12T09:32:21.125", 1)).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"timed","at":"2024-03-12T09:32:21.125","key":1}"#
        );
        assert_eq!(
            serde_json::from_str::<Cursor>(r#"{"kind":"start"}"#).unwrap(),
            Cursor::Start
        );
    }
}
