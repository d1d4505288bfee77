//! The typed values a mapping produces, one per target column, ready for the MySQL sink to bind
//! as parameters. Kingdee's JSON values enter here; numbers stay exact (no floats on the way).

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDateTime;
use serde_json::Value;

use super::convert;

/// One column's value for a bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Int(i64),
    /// An exact decimal in plain notation (`-12.5`, `0.1250`), never a float: MySQL converts it
    /// into the column's DECIMAL without rounding surprises.
    Decimal(String),
    Text(String),
    Bool(bool),
    /// A Kingdee date without a time zone (Kingdee stores the server's local time).
    DateTime(NaiveDateTime),
}

impl SqlValue {
    /// Kingdee's JSON value as a column value: integers → `Int`, other numbers → `Decimal` (from
    /// the JSON text, so `0.1` stays `0.1`), strings → `Text`, arrays and objects → their JSON text.
    pub fn from_json(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Self::Int(i),
                None => {
                    let text = n.to_string();
                    Self::Decimal(convert::normalize_decimal(&text, None).unwrap_or(text))
                }
            },
            Value::String(s) => Self::Text(s.clone()),
            Value::Array(_) | Value::Object(_) => Self::Text(value.to_string()),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The value as text the way a template renders it; `None` for `Null`. Booleans read
    /// `true`/`false`, dates `2024-03-12 09:32:21.125`.
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Self::Null => None,
            Self::Int(i) => Some(Cow::Owned(i.to_string())),
            Self::Decimal(s) | Self::Text(s) => Some(Cow::Borrowed(s)),
            Self::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Self::DateTime(d) => Some(Cow::Owned(d.to_string())),
        }
    }

    /// Like [`SqlValue::as_text`], consuming the value (no copy for `Text`).
    pub fn into_text(self) -> Option<String> {
        match self {
            Self::Text(s) | Self::Decimal(s) => Some(s),
            other => other.as_text().map(Cow::into_owned),
        }
    }
}

/// `NULL` for null, the text form otherwise: what a person reading a dead letter expects.
impl fmt::Display for SqlValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_text() {
            None => f.write_str("NULL"),
            Some(text) => f.write_str(&text),
        }
    }
}

/// Appends a JSON value to a template's output the way [`SqlValue::as_text`] would render it,
/// without building a `SqlValue` first (templates run on the hot path); null appends nothing.
pub(super) fn push_json_text(out: &mut String, value: &Value) {
    use std::fmt::Write as _;
    match value {
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            // Writing to a String cannot fail.
            let _ = write!(out, "{n}");
        }
        Value::Number(_) | Value::Array(_) | Value::Object(_) => {
            if let Some(text) = SqlValue::from_json(value).as_text() {
                out.push_str(&text);
            }
        }
    }
}
