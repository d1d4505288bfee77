//! The FilterString language of ExecuteBillQuery: SQL-like comparisons, LIKE, IN, IS NULL,
//! BETWEEN, AND/OR/NOT with parentheses, over one form's fields (dotted references too).
//! A filter is compiled once per request into a typed [`Pred`] and then evaluated per row.
//!
//! Semantics chosen where the real server (SQL Server underneath) could differ: keywords and
//! field names are case-insensitive; string comparison is exact and case-sensitive (byte order,
//! trailing spaces count); LIKE knows `%` and `_` but not `[…]` classes or ESCAPE; a string
//! compared with a date field is parsed as `yyyy-MM-dd[( |T)HH:mm[:ss[.fff]]]`, exact to the
//! millisecond; NULL compares as unknown, as in SQL.

pub mod bounds;
pub mod compile;
pub mod eval;
pub mod lexer;
pub mod parser;

pub use eval::Pred;

use crate::data::form::Form;

/// Why a FilterString (or OrderString) was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    /// MsgCode 9, naming the field as it was written.
    #[error("元数据中标识为{0}的字段不存在")]
    UnknownField(String),
    /// MsgCode 4.
    #[error("GetRealExpress error: {0}")]
    Syntax(String),
}

/// Compiles a BD_MATERIAL FilterString; a blank one selects every row.
pub fn compile(src: &str) -> Result<Pred, FilterError> {
    compile_for(Form::Material, src)
}

/// Compiles a FilterString over the fields of `form`; a blank one selects every row.
pub fn compile_for(form: Form, src: &str) -> Result<Pred, FilterError> {
    let toks = lexer::lex(src)?;
    match parser::parse(src, toks)? {
        Some(e) => compile::compile(&e, form),
        None => Ok(Pred::Const(Some(true))),
    }
}

#[cfg(test)]
mod tests;
