//! The ground floor: a Kingdee record as every part of k3sync sees it, and the three rules about
//! its fields that must never be written twice — how a field is found by name, how a Kingdee
//! date-time is read, how a key is read. Nothing here knows about HTTP, RabbitMQ or MySQL.
//!
//! A record is an array of values in the order of its field names, the way ExecuteBillQuery
//! sends rows and the way the envelope carries them; the names travel once per page or message.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A record keyed by field name: only for people (ctl's display) and tests. The pipeline itself
/// keeps records as arrays ([`Rows`]).
pub type Record = Map<String, Value>;

/// Records as Kingdee sends them: the field names once, each record's values in that order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// The FieldKeys exactly as requested.
    pub fields: Vec<String>,
    /// One array per record, each exactly `fields.len()` long.
    pub rows: Vec<Vec<Value>>,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Where `name` sits in [`Rows::fields`] ([`field_position`]).
    pub fn position(&self, name: &str) -> Option<usize> {
        field_position(&self.fields, name)
    }

    /// For each of `wanted`, where it sits among the fields ([`positions`]).
    pub fn positions(&self, wanted: &[String]) -> Vec<Option<usize>> {
        positions(&self.fields, wanted)
    }

    /// Field `name` of row `row`.
    pub fn value(&self, row: usize, name: &str) -> Option<&Value> {
        self.rows.get(row)?.get(self.position(name)?)
    }
}

/// Where paging resumes; stored in `sync_state` after every confirmed page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cursor {
    /// Nothing read yet: every row matching the job's filter.
    Start,
    /// After this key (full mode).
    Key { key: i64 },
    /// After this (time, key) pair. `at` is kept exactly as Kingdee returned it
    /// (`2024-03-12T09:32:21.125`) so the equality tie-break matches to the last digit.
    Timed { at: String, key: i64 },
}

impl Cursor {
    /// The cursor after `key` (by key alone), or the start when there is none.
    pub fn after(key: Option<i64>) -> Self {
        key.map_or(Cursor::Start, |key| Cursor::Key { key })
    }

    /// The key the cursor stands after; `None` at the start.
    pub fn key(&self) -> Option<i64> {
        match self {
            Cursor::Start => None,
            Cursor::Key { key } | Cursor::Timed { key, .. } => Some(*key),
        }
    }
}

/// The one field lookup: the exact spelling first, else the first name that matches ignoring
/// ASCII case (Kingdee matches FieldKeys ignoring case, so `fnumber` asks for `FNumber`).
pub fn field_position<S: AsRef<str>>(names: &[S], wanted: &str) -> Option<usize> {
    names.iter().position(|n| n.as_ref() == wanted).or_else(|| {
        names
            .iter()
            .position(|n| n.as_ref().eq_ignore_ascii_case(wanted))
    })
}

/// Each field once, in the order first named: a field the [`field_position`] lookup already
/// finds among those kept is left out.
pub fn distinct_fields(fields: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for field in fields {
        if field_position(&kept, &field).is_none() {
            kept.push(field);
        }
    }
    kept
}

/// For each of `wanted`, where it sits among `names` ([`field_position`]): worked out once per
/// page or message, then every record is read by position.
pub fn positions<S: AsRef<str>>(names: &[S], wanted: &[String]) -> Vec<Option<usize>> {
    wanted.iter().map(|w| field_position(names, w)).collect()
}

/// The one key parser: keys are integers; Kingdee sends them as JSON numbers, some gateways as
/// numeric strings (surrounding whitespace ignored). Anything else is not a key.
pub fn parse_key(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A record's version (its modification time) exactly as Kingdee sent it, when it is a date-time
/// [`parse_datetime`] reads. The text is kept as it is: cursors compare it to the last digit.
pub fn version_text(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) if parse_datetime(s).is_some() => Some(s),
        _ => None,
    }
}

/// The one Kingdee date-time parser. Every shape Kingdee sends:
/// `2024-03-12T09:32:21.125` (ExecuteBillQuery, 0–9 fraction digits, seven on some servers),
/// `2024-03-12 09:32:21[.fff]`, `2024-03-12` (midnight), and the .NET form of older APIs,
/// `/Date(1710207141125+0800)/` (milliseconds since the epoch, shown at the given offset; none
/// means UTC). Surrounding whitespace is ignored. The result is the server's wall-clock time.
pub fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Some(inner) = text
        .strip_prefix("/Date(")
        .and_then(|t| t.strip_suffix(")/"))
    {
        return parse_dotnet_date(inner);
    }
    let b = text.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(digits(&b[0..4])?).ok()?,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
    )?;
    if b.len() == 10 {
        return date.and_hms_opt(0, 0, 0);
    }
    if b.len() < 19 || !matches!(b[10], b'T' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            digits(fraction)? * 10u32.pow(9 - u32::try_from(fraction.len()).ok()?)
        }
        _ => return None,
    };
    date.and_hms_nano_opt(hour, minute, second, nanos)
}

/// `1710207141125+0800` → the UTC instant shifted by the offset; no offset means UTC.
fn parse_dotnet_date(inner: &str) -> Option<NaiveDateTime> {
    let split = inner
        .rfind(['+', '-'])
        .filter(|&i| i > 0)
        .unwrap_or(inner.len());
    let (millis, offset) = inner.split_at(split);
    let utc = DateTime::from_timestamp_millis(millis.parse().ok()?)?.naive_utc();
    if offset.is_empty() {
        return Some(utc);
    }
    let (sign, hhmm) = offset.split_at(1);
    let hhmm = hhmm.as_bytes();
    if hhmm.len() != 4 {
        return None;
    }
    let minutes = i64::from(digits(&hhmm[0..2])? * 60 + digits(&hhmm[2..4])?);
    let minutes = if sign == "-" { -minutes } else { minutes };
    utc.checked_add_signed(Duration::minutes(minutes))
}

/// ASCII digits only (no sign, no spaces) as a number; `None` for anything else.
fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 9 {
        return None;
    }
    bytes.iter().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, nanos: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_nano_opt(h, mi, s, nanos)
            .unwrap()
    }

    #[test]
    fn every_date_time_shape_kingdee_sends_is_read() {
        let cases = [
            ("2024-03-12T09:32:21", at(2024, 3, 12, 9, 32, 21, 0)),
            (
                "2024-03-12T09:32:21.1",
                at(2024, 3, 12, 9, 32, 21, 100_000_000),
            ),
            (
                "2024-03-12T09:32:21.12",
                at(2024, 3, 12, 9, 32, 21, 120_000_000),
            ),
            (
                "2024-03-12T09:32:21.125",
                at(2024, 3, 12, 9, 32, 21, 125_000_000),
            ),
            (
                "2024-03-12T09:32:21.1234",
                at(2024, 3, 12, 9, 32, 21, 123_400_000),
            ),
            (
                "2024-03-12T09:32:21.12345",
                at(2024, 3, 12, 9, 32, 21, 123_450_000),
            ),
            (
                "2024-03-12T09:32:21.123456",
                at(2024, 3, 12, 9, 32, 21, 123_456_000),
            ),
            (
                "2024-03-12T09:32:21.1234567",
                at(2024, 3, 12, 9, 32, 21, 123_456_700),
            ),
            (
                "2024-03-12 09:32:21.125",
                at(2024, 3, 12, 9, 32, 21, 125_000_000),
            ),
            ("2024-03-12 09:32:21", at(2024, 3, 12, 9, 32, 21, 0)),
            ("  2024-03-12T09:32:21 ", at(2024, 3, 12, 9, 32, 21, 0)),
            ("2024-03-12", at(2024, 3, 12, 0, 0, 0, 0)),
            // 1710207141125 ms is 2024-03-12T01:32:21.125Z; shown at +08:00 and -05:30.
            (
                "/Date(1710207141125+0800)/",
                at(2024, 3, 12, 9, 32, 21, 125_000_000),
            ),
            (
                "/Date(1710207141125-0530)/",
                at(2024, 3, 11, 20, 2, 21, 125_000_000),
            ),
            (
                "/Date(1710207141125)/",
                at(2024, 3, 12, 1, 32, 21, 125_000_000),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_datetime(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn text_that_is_not_a_kingdee_date_time_is_refused() {
        for text in [
            "",
            "   ",
            "12/03/2024",
            "2024-3-12",
            "2024-03-12T09:32",
            "2024-03-12T09:32:21.",
            "2024-03-12T09:32:21.1234567890",
            "2024-03-12T09:32:21Z",
            "2024-13-01T00:00:00",
            "2024-02-30",
            "/Date(abc)/",
            "/Date(1710207141125+08)/",
        ] {
            assert_eq!(parse_datetime(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_version_is_a_date_time_string_kept_as_sent() {
        assert_eq!(
            version_text(&json!("2024-03-12T09:32:21.1250000")),
            Some("2024-03-12T09:32:21.1250000")
        );
        for bad in [
            json!(null),
            json!(""),
            json!(" "),
            json!(20240312),
            json!("soon"),
        ] {
            assert_eq!(version_text(&bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_are_integers_as_numbers_or_numeric_strings() {
        assert_eq!(parse_key(&json!(100_001)), Some(100_001));
        assert_eq!(parse_key(&json!(" 42 ")), Some(42));
        for bad in [json!(1.5), json!("abc"), json!(null), json!(""), json!([1])] {
            assert_eq!(parse_key(&bad), None, "{bad}");
        }
    }

    #[test]
    fn fields_are_found_exactly_first_then_ignoring_case() {
        let names = ["fnumber", "FNumber", "FName"];
        assert_eq!(field_position(&names, "FNumber"), Some(1));
        assert_eq!(field_position(&names, "FNUMBER"), Some(0));
        assert_eq!(field_position(&names, "fname"), Some(2));
        assert_eq!(field_position(&names, "FMissing"), None);
        let rows = Rows {
            fields: vec!["FMaterialId".into(), "FName".into()],
            rows: vec![vec![json!(1), json!("螺丝")]],
        };
        assert_eq!(rows.value(0, "fname"), Some(&json!("螺丝")));
        assert_eq!(rows.value(1, "FName"), None);
    }
}
