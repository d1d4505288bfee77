//! Text functions: trimming, case, pieces by character (not byte: names are Chinese), concat,
//! replace. Positions and lengths follow MySQL's SUBSTRING/LEFT/RIGHT.

use super::numbers::int_of;
use super::{Args, Eval, text_of};
use crate::mapping::error::ArgumentError;
use crate::mapping::node::{Failure, Node};
use crate::mapping::value::SqlValue;

pub(super) fn trim(mut args: Args) -> Result<Eval, ArgumentError> {
    Ok(map_text(args.next(), |s| trimmed(s, str::trim)))
}

pub(super) fn ltrim(mut args: Args) -> Result<Eval, ArgumentError> {
    Ok(map_text(args.next(), |s| trimmed(s, str::trim_start)))
}

pub(super) fn rtrim(mut args: Args) -> Result<Eval, ArgumentError> {
    Ok(map_text(args.next(), |s| trimmed(s, str::trim_end)))
}

pub(super) fn upper(mut args: Args) -> Result<Eval, ArgumentError> {
    Ok(map_text(args.next(), |s| s.to_uppercase()))
}

pub(super) fn lower(mut args: Args) -> Result<Eval, ArgumentError> {
    Ok(map_text(args.next(), |s| s.to_lowercase()))
}

/// Characters, not bytes (MySQL's CHAR_LENGTH): columns are sized in characters.
pub(super) fn length(mut args: Args) -> Result<Eval, ArgumentError> {
    let value = args.next();
    Ok(Box::new(move |fields| {
        Ok(text_of(&value, fields)?.map_or(SqlValue::Null, |s| SqlValue::Int(char_count(&s))))
    }))
}

/// Forces a typed field into text (`to_text({FQty})` binds `"12"` rather than `12`).
pub(super) fn to_text(mut args: Args) -> Result<Eval, ArgumentError> {
    Ok(map_text(args.next(), |s| s))
}

/// Joins the texts; a null adds nothing (as in a template), unlike MySQL's CONCAT.
pub(super) fn concat(args: Args) -> Result<Eval, ArgumentError> {
    let parts = args.rest();
    Ok(Box::new(move |fields| {
        let mut out = String::new();
        for part in &parts {
            if let Some(text) = text_of(part, fields)? {
                out.push_str(&text);
            }
        }
        Ok(SqlValue::Text(out))
    }))
}

pub(super) fn substr(mut args: Args) -> Result<Eval, ArgumentError> {
    let (value, start, length) = (args.next(), args.next(), args.optional());
    Ok(Box::new(move |fields| {
        let Some(text) = text_of(&value, fields)? else {
            return Ok(SqlValue::Null);
        };
        let Some(start) = int_arg(&start, fields)? else {
            return Ok(SqlValue::Null);
        };
        let length = match length.as_ref().map(|n| int_arg(n, fields)).transpose()? {
            Some(None) => return Ok(SqlValue::Null),
            length => length.flatten(),
        };
        Ok(SqlValue::Text(substring(&text, start, length)))
    }))
}

pub(super) fn left(args: Args) -> Result<Eval, ArgumentError> {
    Ok(cut(args, |text, length| substring(&text, 1, Some(length))))
}

pub(super) fn right(args: Args) -> Result<Eval, ArgumentError> {
    Ok(cut(args, |text, length| {
        let count = char_count(&text);
        match length {
            n if n <= 0 => String::new(),
            n if n >= count => text,
            n => substring(&text, count - n + 1, None),
        }
    }))
}

/// Every occurrence of `from` replaced; any null argument gives null (as in MySQL).
pub(super) fn replace(mut args: Args) -> Result<Eval, ArgumentError> {
    let (value, from, to) = (args.next(), args.next(), args.next());
    Ok(Box::new(move |fields| {
        let (Some(text), Some(from), Some(to)) = (
            text_of(&value, fields)?,
            text_of(&from, fields)?,
            text_of(&to, fields)?,
        ) else {
            return Ok(SqlValue::Null);
        };
        Ok(SqlValue::Text(if from.is_empty() {
            text
        } else {
            text.replace(&from, &to)
        }))
    }))
}

/// `left` and `right`: `f` of the text and the length; null when either is null (the length is
/// not evaluated for a null text).
fn cut(mut args: Args, f: fn(String, i64) -> String) -> Eval {
    let (value, length) = (args.next(), args.next());
    Box::new(move |fields| {
        let Some(text) = text_of(&value, fields)? else {
            return Ok(SqlValue::Null);
        };
        let Some(length) = int_arg(&length, fields)? else {
            return Ok(SqlValue::Null);
        };
        Ok(SqlValue::Text(f(text, length)))
    })
}

fn map_text(value: Node, f: fn(String) -> String) -> Eval {
    Box::new(move |fields| {
        Ok(text_of(&value, fields)?.map_or(SqlValue::Null, |s| SqlValue::Text(f(s))))
    })
}

/// Keeps the allocation when there is nothing to trim. Trims Unicode white space, including
/// the full-width space (U+3000) common in Chinese data.
fn trimmed(text: String, trim: fn(&str) -> &str) -> String {
    let kept = trim(&text);
    if kept.len() == text.len() {
        text
    } else {
        kept.to_owned()
    }
}

fn int_arg(node: &Node, fields: &[&serde_json::Value]) -> Result<Option<i64>, Failure> {
    Ok(int_of(node.eval(fields)?)?)
}

fn char_count(text: &str) -> i64 {
    i64::try_from(text.chars().count()).unwrap_or(i64::MAX)
}

/// MySQL's `SUBSTRING(text, start, length)` by characters: `start` is 1-based, negative counts
/// from the end, 0 gives `''`; a missing length means to the end, a length below 1 gives `''`.
fn substring(text: &str, start: i64, length: Option<i64>) -> String {
    let count = char_count(text);
    let from = match start {
        0 => return String::new(),
        s if s > 0 => s - 1,
        s => count + s,
    };
    if from < 0 || from >= count {
        return String::new();
    }
    let take = match length {
        None => count - from,
        Some(n) if n <= 0 => return String::new(),
        Some(n) => n.min(count - from),
    };
    let (Ok(from), Ok(take)) = (usize::try_from(from), usize::try_from(take)) else {
        return String::new();
    };
    text.chars().skip(from).take(take).collect()
}
