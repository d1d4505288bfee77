//! Number functions: `to_int` and `to_decimal` turn Kingdee's text (or JSON numbers) into exact
//! values. Decimals stay strings end to end, so nothing passes through a float. Blank text counts
//! as null (an unset number).

use super::{Args, Eval};
use crate::mapping::convert::{normalize_decimal, parse_int};
use crate::mapping::error::{ArgumentError, FunctionError, shown};
use crate::mapping::value::SqlValue;

/// MySQL's largest DECIMAL scale.
const MAX_SCALE: i64 = 30;

pub(super) fn to_int(mut args: Args) -> Result<Eval, ArgumentError> {
    let value = args.next();
    Ok(Box::new(move |fields| {
        Ok(int_of(value.eval(fields)?)?.map_or(SqlValue::Null, SqlValue::Int))
    }))
}

/// `to_decimal(text[, scale])`: with a scale, rounded half away from zero and padded
/// (`to_decimal('0.125', 4)` is `0.1250`); the scale is a constant from 0 to 30.
pub(super) fn to_decimal(mut args: Args) -> Result<Eval, ArgumentError> {
    let value = args.next();
    let scale = match args.optional() {
        None => None,
        Some(node) => {
            let Some(Ok(Some(scale))) = node.as_const().cloned().map(int_of) else {
                return Err(ArgumentError::NotConstant {
                    what: "the scale (an integer)",
                });
            };
            if !(0..=MAX_SCALE).contains(&scale) {
                return Err(ArgumentError::ScaleOutOfRange { scale });
            }
            usize::try_from(scale).ok()
        }
    };
    Ok(Box::new(move |fields| {
        let text = match value.eval(fields)? {
            SqlValue::Null => return Ok(SqlValue::Null),
            SqlValue::Int(i) => i.to_string(),
            SqlValue::Text(s) | SqlValue::Decimal(s) => s,
            other @ (SqlValue::Bool(_) | SqlValue::DateTime(_)) => {
                let value = other.as_text().map(|t| shown(&t)).unwrap_or_default();
                return Err(FunctionError::NotADecimal { value }.into());
            }
        };
        if text.trim().is_empty() {
            return Ok(SqlValue::Null);
        }
        match normalize_decimal(&text, scale) {
            Some(decimal) => Ok(SqlValue::Decimal(decimal)),
            None => Err(FunctionError::NotADecimal {
                value: shown(&text),
            }
            .into()),
        }
    }))
}

/// An integer from a value: `None` for null and blank text; booleans are 1 and 0.
pub(super) fn int_of(value: SqlValue) -> Result<Option<i64>, FunctionError> {
    match value {
        SqlValue::Null => Ok(None),
        SqlValue::Int(i) => Ok(Some(i)),
        SqlValue::Bool(b) => Ok(Some(i64::from(b))),
        SqlValue::DateTime(date) => Err(FunctionError::NotAnInteger {
            value: date.to_string(),
            source: None,
        }),
        SqlValue::Text(text) | SqlValue::Decimal(text) => {
            if text.trim().is_empty() {
                return Ok(None);
            }
            parse_int(&text)
                .map(Some)
                .map_err(|e| FunctionError::NotAnInteger {
                    value: shown(&text),
                    source: Some(e),
                })
        }
    }
}
