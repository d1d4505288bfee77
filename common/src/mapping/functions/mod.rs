//! The function table behind `_function …`: each function's name, how it is called (for arity
//! messages) and a builder that turns its argument nodes into a closure when the mapping
//! compiles, doing the per-mapping work (date formats, lookup tables, decimal scale) once.
//!
//! Null follows SQL: a function of a null text is null (`trim(null)` is null, not `''`); the
//! exceptions are the ones whose job is null handling (`concat`, `coalesce`, `default`, `lookup`).

mod choice;
mod dates;
mod numbers;
mod text;

use serde_json::Value;

use super::error::ArgumentError;
use super::node::{Eval, EvalError, Node};
use super::value::SqlValue;

/// Any number of further arguments.
const MANY: usize = usize::MAX;

pub(super) struct Function {
    /// How the function is called, shown when the argument count is wrong; it starts with the
    /// function's name.
    pub usage: &'static str,
    min: usize,
    max: usize,
    build: fn(Args) -> Result<Eval, ArgumentError>,
}

impl Function {
    /// Canonical (lower-case) name, the usage up to its `(`; calls match it ignoring case.
    pub(super) fn name(&self) -> &'static str {
        self.usage
            .split_once('(')
            .map_or(self.usage, |(name, _)| name)
    }

    pub(super) fn accepts(&self, count: usize) -> bool {
        (self.min..=self.max).contains(&count)
    }

    /// The closure for one call; the argument count has been checked with [`Function::accepts`].
    pub(super) fn build(&self, args: Vec<Node>) -> Result<Eval, ArgumentError> {
        (self.build)(Args(args.into_iter()))
    }
}

const fn function(
    usage: &'static str,
    min: usize,
    max: usize,
    build: fn(Args) -> Result<Eval, ArgumentError>,
) -> Function {
    Function {
        usage,
        min,
        max,
        build,
    }
}

static FUNCTIONS: [Function; 20] = [
    function("trim(text)", 1, 1, text::trim),
    function("ltrim(text)", 1, 1, text::ltrim),
    function("rtrim(text)", 1, 1, text::rtrim),
    function("upper(text)", 1, 1, text::upper),
    function("lower(text)", 1, 1, text::lower),
    function("length(text)", 1, 1, text::length),
    function("to_text(value)", 1, 1, text::to_text),
    function("concat(value, …)", 1, MANY, text::concat),
    function("substr(text, start[, length])", 2, 3, text::substr),
    function("left(text, length)", 2, 2, text::left),
    function("right(text, length)", 2, 2, text::right),
    function("replace(text, from, to)", 3, 3, text::replace),
    function("coalesce(value, …)", 1, MANY, choice::coalesce),
    function("default(value, fallback)", 2, 2, choice::default),
    function("nullif(value, other)", 2, 2, choice::nullif),
    function(
        "lookup(value, key, result, …[, otherwise])",
        3,
        MANY,
        choice::lookup,
    ),
    function("date_format(date, 'format')", 2, 2, dates::date_format),
    function("datetime(date)", 1, 1, dates::datetime),
    function("to_int(text)", 1, 1, numbers::to_int),
    function("to_decimal(text[, scale])", 1, 2, numbers::to_decimal),
];

/// The function called `name`, ignoring case.
pub(super) fn find(name: &str) -> Option<&'static Function> {
    FUNCTIONS
        .iter()
        .find(|f| f.name().eq_ignore_ascii_case(name))
}

/// A call's argument nodes, taken in order by the builders.
pub(super) struct Args(std::vec::IntoIter<Node>);

impl Args {
    /// The next required argument (present: the count was checked before building).
    fn next(&mut self) -> Node {
        self.0.next().unwrap_or(Node::Const(SqlValue::Null))
    }

    fn optional(&mut self) -> Option<Node> {
        self.0.next()
    }

    fn rest(self) -> Vec<Node> {
        self.0.collect()
    }
}

/// An argument's value as text; `None` for null.
fn text_of(node: &Node, fields: &[&Value]) -> Result<Option<String>, EvalError> {
    Ok(node.eval(fields)?.into_text())
}
