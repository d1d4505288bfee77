//! The compiled form of one column's expression, evaluated against a record's resolved fields on
//! the hot path: constants, field slots, templates and precompiled function closures. No parsing
//! and no name lookups happen here.

use serde_json::Value;

use super::error::FunctionError;
use super::value::{SqlValue, push_json_text};

/// A compiled function call: reads its argument nodes from the captured state, the fields of the
/// record from its parameter. Fields are resolved once per record, in `source_fields` order.
pub(super) type Eval = Box<dyn Fn(&[&Value]) -> Result<SqlValue, Failure> + Send + Sync>;

pub(super) enum Node {
    Const(SqlValue),
    /// The typed value of one field (a template that is exactly `{Field}`).
    Field(usize),
    /// Text with fields rendered into it; null renders as nothing.
    Template {
        segments: Vec<Segment>,
        capacity: usize,
    },
    Call {
        function: &'static str,
        eval: Eval,
    },
}

pub(super) enum Segment {
    Literal(String),
    Field(usize),
}

/// A function that failed on a record's value, named for the message.
#[derive(Debug)]
pub(super) struct EvalError {
    pub function: &'static str,
    pub error: FunctionError,
}

/// What a function body returns: its own failure, or one passed up from a nested call (which
/// keeps the inner function's name).
#[derive(Debug)]
pub(super) enum Failure {
    Nested(EvalError),
    Own(FunctionError),
}

impl From<EvalError> for Failure {
    fn from(error: EvalError) -> Self {
        Self::Nested(error)
    }
}

impl From<FunctionError> for Failure {
    fn from(error: FunctionError) -> Self {
        Self::Own(error)
    }
}

impl Node {
    pub(super) fn eval(&self, fields: &[&Value]) -> Result<SqlValue, EvalError> {
        match self {
            Self::Const(value) => Ok(value.clone()),
            // Slots are assigned when the mapping compiles, so `get` always finds the field.
            Self::Field(slot) => Ok(fields
                .get(*slot)
                .map_or(SqlValue::Null, |v| SqlValue::from_json(v))),
            Self::Template { segments, capacity } => {
                let mut out = String::with_capacity(*capacity);
                for segment in segments {
                    match segment {
                        Segment::Literal(text) => out.push_str(text),
                        Segment::Field(slot) => {
                            if let Some(value) = fields.get(*slot) {
                                push_json_text(&mut out, value);
                            }
                        }
                    }
                }
                Ok(SqlValue::Text(out))
            }
            Self::Call { function, eval } => eval(fields).map_err(|failure| match failure {
                Failure::Nested(error) => error,
                Failure::Own(error) => EvalError { function, error },
            }),
        }
    }

    pub(super) fn as_const(&self) -> Option<&SqlValue> {
        match self {
            Self::Const(value) => Some(value),
            _ => None,
        }
    }
}
