//! Functions that choose between values: the first non-null, a fallback for empty values,
//! null for a placeholder value, and a value lookup (status `C` → `已审核`).

use std::borrow::Cow;

use super::{Args, Eval};
use crate::mapping::error::ArgumentError;
use crate::mapping::node::Node;
use crate::mapping::value::SqlValue;

/// The first argument that is not null (later arguments are not evaluated); null if all are.
pub(super) fn coalesce(args: Args) -> Result<Eval, ArgumentError> {
    let candidates = args.rest();
    Ok(Box::new(move |fields| {
        for candidate in &candidates {
            let value = candidate.eval(fields)?;
            if !value.is_null() {
                return Ok(value);
            }
        }
        Ok(SqlValue::Null)
    }))
}

/// `fallback` when the value is null or the empty text; white space counts as a value.
pub(super) fn default(mut args: Args) -> Result<Eval, ArgumentError> {
    let (value, fallback) = (args.next(), args.next());
    Ok(Box::new(move |fields| match value.eval(fields)? {
        SqlValue::Null => Ok(fallback.eval(fields)?),
        SqlValue::Text(text) if text.is_empty() => Ok(fallback.eval(fields)?),
        present => Ok(present),
    }))
}

/// Null when the two values read the same as text (`nullif({FQty}, '0')` matches the number 0).
pub(super) fn nullif(mut args: Args) -> Result<Eval, ArgumentError> {
    let (value, other) = (args.next(), args.next());
    Ok(Box::new(move |fields| {
        let value = value.eval(fields)?;
        let other = other.eval(fields)?;
        Ok(match (value.as_text(), other.as_text()) {
            (Some(a), Some(b)) if a == b => SqlValue::Null,
            _ => value,
        })
    }))
}

/// `lookup(value, key, result, …[, otherwise])`: the result of the first key equal to the value
/// (compared as text, so the number 1 matches `'1'`; a `null` key matches null). With an odd
/// number of arguments after the value, the last is what an unmatched value gives; without it,
/// an unmatched value gives null, so an unexpected code shows up as an empty column rather than
/// as a raw code passing for a label. Keys must be constants: the table is built once.
pub(super) fn lookup(args: Args) -> Result<Eval, ArgumentError> {
    let mut rest = args.rest().into_iter();
    let value = rest.next().unwrap_or(Node::Const(SqlValue::Null));
    let mut table: Vec<(Option<String>, Node)> = Vec::new();
    let mut otherwise = None;
    while let Some(key) = rest.next() {
        let Some(result) = rest.next() else {
            otherwise = Some(key);
            break;
        };
        let key = key.as_const().ok_or(ArgumentError::NotConstant {
            what: "a lookup key",
        })?;
        table.push((key.as_text().map(Cow::into_owned), result));
    }
    Ok(Box::new(move |fields| {
        let value = value.eval(fields)?;
        let text = value.as_text();
        let matched = table
            .iter()
            .find(|(key, _)| key.as_deref() == text.as_deref())
            .map(|(_, result)| result);
        match matched.or(otherwise.as_ref()) {
            Some(node) => Ok(node.eval(fields)?),
            None => Ok(SqlValue::Null),
        }
    }))
}
