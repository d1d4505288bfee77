//! Declarative mapping: which Kingdee field (or function of fields) goes into which column of the
//! target table. A job's mapping is loaded ([`MappingSpec`]), compiled once at start
//! ([`CompiledMapping::compile`]: every expression parsed, every identifier checked), checked
//! against Kingdee's fields and the live table, then applied to each record on the worker's hot
//! path ([`CompiledMapping::apply`] → one [`SqlValue`] per column).
//!
//! The format is the seed's: a value is a template, `"{FMasterId}"` or `"{FNumber}-{FName}"`
//! (`{{` and `}}` for literal braces), or a function, `"_function trim('{FSpecification}')"`.
//! A template that is exactly one `{Field}` keeps the field's type (number, text, bool, null); any
//! other template is text, with null fields rendered as nothing; a template without fields is a
//! text constant. Function arguments are quoted templates (`''` for a quote), numbers, bare
//! `{Field}`s, `null`, or nested calls: `upper(trim('{FName}'))`. Function names ignore case.
//!
//! The functions are listed in `functions/`. Null follows SQL (`trim(null)` is null); the parsing
//! functions (`datetime`, `date_format`, `to_int`, `to_decimal`) read blank text as null; `lookup`
//! without a match and without a default gives null. A mapping file and `[jobs.target.columns]`
//! merge as `spec.rs` describes: file first, TOML columns override same-named entries.

mod compile;
mod convert;
mod error;
mod functions;
mod ident;
mod lower;
mod node;
mod parse;
mod spec;
mod value;

#[cfg(test)]
mod tests;

pub use compile::{ColumnSource, CompiledMapping};
pub use error::{ArgumentError, FunctionError, MappingError, ParseError, ParseErrorKind};
pub use ident::is_sql_identifier;
pub use spec::MappingSpec;
pub use value::SqlValue;
