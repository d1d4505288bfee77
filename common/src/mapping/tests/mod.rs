//! Unit tests of the mapping: loading, parsing, every function, compiling and applying. They
//! need no services.

mod apply;
mod choice_functions;
mod compile;
mod conversion_functions;
mod spec;
mod templates;
mod text_functions;

use serde_json::{Value, json};

use super::{CompiledMapping, MappingError, MappingSpec, SqlValue};

/// A mapping of the product table with the given (column, expression) pairs; the first column
/// is both key and version.
fn spec(columns: &[(&str, &str)]) -> MappingSpec {
    let first = columns.first().map_or("data_id", |(c, _)| *c).to_owned();
    MappingSpec {
        table: "wk_wodtop_product".into(),
        key: first.clone(),
        version: first,
        columns: columns
            .iter()
            .map(|(c, e)| ((*c).to_owned(), (*e).to_owned()))
            .collect(),
    }
}

fn compile_one(expression: &str) -> Result<CompiledMapping, MappingError> {
    CompiledMapping::compile(&spec(&[("v", expression)]))
}

/// The value of one expression on one record (a JSON object).
fn eval(expression: &str, record: Value) -> Result<SqlValue, MappingError> {
    let mapping = compile_one(expression)?;
    let values = mapping.apply(record.as_object().expect("records are objects"))?;
    Ok(values.into_iter().next().expect("one column, one value"))
}

fn value(expression: &str, record: Value) -> SqlValue {
    eval(expression, record).unwrap_or_else(|e| panic!("`{expression}` failed: {e}"))
}

/// The value of an expression that reads no fields.
fn constant(expression: &str) -> SqlValue {
    value(expression, json!({}))
}

fn error(expression: &str, record: Value) -> String {
    match eval(expression, record) {
        Ok(v) => panic!("`{expression}` gave {v:?}, expected an error"),
        Err(e) => e.to_string(),
    }
}

fn compile_error(expression: &str) -> String {
    match compile_one(expression) {
        Ok(m) => panic!("`{expression}` compiled to {m:?}, expected an error"),
        Err(e) => e.to_string(),
    }
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_owned())
}

fn decimal(s: &str) -> SqlValue {
    SqlValue::Decimal(s.to_owned())
}

fn datetime(s: &str) -> SqlValue {
    SqlValue::DateTime(
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").expect("test date"),
    )
}
