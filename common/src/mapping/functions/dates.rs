//! Date functions: `datetime` turns Kingdee's date text into a value MySQL binds as DATETIME;
//! `date_format` renders it with a strftime pattern parsed once when the mapping compiles.
//! Blank text counts as null (an unset date), anything else that is not a date is an error.

use std::fmt::Write as _;

use chrono::format::{Item, StrftimeItems};
use chrono::{NaiveDate, NaiveDateTime};

use super::{Args, Eval};
use crate::mapping::error::{ArgumentError, FunctionError, shown};
use crate::mapping::value::SqlValue;
use crate::record::parse_datetime;

pub(super) fn datetime(mut args: Args) -> Result<Eval, ArgumentError> {
    let value = args.next();
    Ok(Box::new(move |fields| {
        Ok(date_of(value.eval(fields)?)?.map_or(SqlValue::Null, SqlValue::DateTime))
    }))
}

pub(super) fn date_format(mut args: Args) -> Result<Eval, ArgumentError> {
    let (value, format) = (args.next(), args.next());
    let Some(SqlValue::Text(format)) = format.as_const() else {
        return Err(ArgumentError::NotConstant { what: "the format" });
    };
    let items = StrftimeItems::new(format)
        .parse_to_owned()
        .map_err(|source| ArgumentError::BadDateFormat {
            format: format.clone(),
            source,
        })?;
    // Patterns such as %z format fine in general but not a date without a zone: catch them now.
    let sample = NaiveDate::from_ymd_opt(2024, 3, 12).and_then(|d| d.and_hms_opt(9, 32, 21));
    if sample.is_some_and(|sample| render(sample, &items).is_none()) {
        return Err(ArgumentError::NeedsTimeZone {
            format: format.clone(),
        });
    }
    let format = format.clone();
    Ok(Box::new(move |fields| {
        let Some(date) = date_of(value.eval(fields)?)? else {
            return Ok(SqlValue::Null);
        };
        let text = render(date, &items).ok_or_else(|| FunctionError::DateFormat {
            format: format.clone(),
        })?;
        Ok(SqlValue::Text(text))
    }))
}

fn render(date: NaiveDateTime, items: &[Item<'static>]) -> Option<String> {
    let mut out = String::new();
    write!(out, "{}", date.format_with_items(items.iter())).ok()?;
    Some(out)
}

/// A date from a value: dates pass, blank text and null are `None`, other text is parsed.
fn date_of(value: SqlValue) -> Result<Option<NaiveDateTime>, FunctionError> {
    match value {
        SqlValue::Null => Ok(None),
        SqlValue::DateTime(date) => Ok(Some(date)),
        other => {
            let text = other.into_text().unwrap_or_default();
            if text.trim().is_empty() {
                return Ok(None);
            }
            parse_datetime(&text)
                .map(Some)
                .ok_or_else(|| FunctionError::NotADate {
                    value: shown(&text),
                })
        }
    }
}
