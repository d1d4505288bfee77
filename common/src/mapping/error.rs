//! What can go wrong with a mapping: loading it, compiling it at start, checking it against the
//! live table, and applying it to a record (a dead letter's reason).
//!
//! Every message is complete on its own (`to_string()` is what a dead letter and `error_log`
//! carry), so nested mapping details are fields rendered into the message, not `source()`;
//! foreign causes (I/O, JSON, chrono, integer parsing) are real `source()`s.

use std::num::ParseIntError;
use std::path::PathBuf;

/// A mapping that cannot be loaded, compiled or applied.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("cannot read mapping file `{}`", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid mapping file `{}`", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: Box<MappingError>,
    },
    #[error("the mapping is not valid JSON")]
    Json(#[source] serde_json::Error),
    #[error(
        "the mapping must be {{\"field\": …, \"children\": [{{\"field\": …, \"value\": …}}, …]}} \
         or a bare array of {{\"field\": …, \"value\": …}} entries"
    )]
    SeedShape,
    #[error(
        "mapping entry {number} is not {{\"field\": \"<column>\", \"value\": \"<expression>\"}}"
    )]
    SeedEntry {
        /// 1-based position among the entries.
        number: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("the mapping has no columns")]
    NoColumns,
    #[error("`{name}` is not a valid {kind} name")]
    InvalidIdentifier { kind: &'static str, name: String },
    #[error("column `{column}` is mapped twice")]
    DuplicateColumn { column: String },
    #[error("the {role} column `{column}` is not among the mapped columns")]
    NotMapped { role: &'static str, column: String },
    #[error("column `{column}`: cannot parse `{expression}`: {error}")]
    Parse {
        column: String,
        expression: String,
        error: ParseError,
    },
    #[error("unknown function `{function}` in column `{column}`")]
    UnknownFunction { function: String, column: String },
    #[error(
        "function `{function}` is called as {usage}, got {got} argument(s) (column `{column}`)"
    )]
    Arity {
        function: &'static str,
        usage: &'static str,
        got: usize,
        column: String,
    },
    #[error("column {column}: function {function}: {error}")]
    Argument {
        column: String,
        function: &'static str,
        error: ArgumentError,
    },
    #[error("column `{column}` does not exist in table `{table}`")]
    UnknownColumn { column: String, table: String },
    #[error("record has no field `{field}` (column {column})")]
    MissingField { field: String, column: String },
    #[error("column {column}: function {function}: {error}")]
    Function {
        column: String,
        function: &'static str,
        error: FunctionError,
    },
}

/// A syntax error in a template or a `_function` expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at character {at}")]
pub struct ParseError {
    /// 1-based character position in the expression.
    pub at: usize,
    pub kind: ParseErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("unterminated string (missing closing `'`; write `''` for a quote inside)")]
    UnterminatedString,
    #[error("unterminated placeholder (missing `}}`)")]
    UnterminatedPlaceholder,
    #[error("unmatched `}}` (write `}}}}` for a literal brace)")]
    UnmatchedBrace,
    #[error("`{0}` is not a valid field reference (like FNumber or FUseOrgId.FNumber)")]
    BadField(String),
    #[error("missing `)` to close `{0}(`")]
    UnterminatedCall(String),
    #[error("expected {expected}, found {}", found.map_or_else(|| "the end".to_owned(), |c| format!("`{c}`")))]
    Expected {
        expected: &'static str,
        found: Option<char>,
    },
    #[error("`{0}` is not a number")]
    BadNumber(String),
    #[error("nothing follows `_function`")]
    MissingFunction,
    #[error("functions are nested too deeply")]
    TooDeep,
}

/// A function's arguments that are wrong before any record is seen.
#[derive(Debug, thiserror::Error)]
pub enum ArgumentError {
    #[error("{what} must be a constant")]
    NotConstant { what: &'static str },
    #[error("`{format}` is not a valid date format")]
    BadDateFormat {
        format: String,
        #[source]
        source: chrono::format::ParseError,
    },
    #[error("date format `{format}` needs a time zone, which Kingdee dates do not carry")]
    NeedsTimeZone { format: String },
    #[error("scale {scale} is outside 0..=30")]
    ScaleOutOfRange { scale: i64 },
}

/// A function that cannot handle one record's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunctionError {
    #[error(
        "`{value}` is not a date (expected 2024-03-12T09:32:21.125, 2024-03-12 09:32:21 or 2024-03-12)"
    )]
    NotADate { value: String },
    #[error("`{value}` is not an integer")]
    NotAnInteger {
        value: String,
        #[source]
        source: Option<ParseIntError>,
    },
    #[error("`{value}` is not a decimal number")]
    NotADecimal { value: String },
    #[error("a date cannot be formatted with `{format}`")]
    DateFormat { format: String },
}

/// A value quoted in a message, cut short so one bad record cannot flood a log line.
pub(super) fn shown(value: &str) -> String {
    const MAX_CHARS: usize = 80;
    match value.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}
