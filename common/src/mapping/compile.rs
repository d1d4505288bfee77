//! `CompiledMapping`: a mapping parsed and checked once at start, then applied to every record
//! on the hot path. Identifiers that reach SQL are whitelisted here; function names, argument
//! counts and constant arguments are checked here; field references become slots.

use std::fmt;

use serde_json::Value;

use super::error::MappingError;
use super::ident::is_sql_identifier;
use super::lower::{Lowering, SourceField};
use super::node::Node;
use super::parse::parse_expression;
use super::spec::MappingSpec;
use super::value::SqlValue;

/// What a mapped column holds ([`CompiledMapping::column_source`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnSource<'a> {
    /// One field's value as Kingdee sends it.
    Field(&'a str),
    /// Text with fields rendered into it.
    Template,
    /// The result of this function.
    Function(&'static str),
    Constant,
}

/// A mapping ready to apply: `Send + Sync`, share it through an `Arc`.
pub struct CompiledMapping {
    table: String,
    columns: Vec<String>,
    expressions: Vec<String>,
    nodes: Vec<Node>,
    key: usize,
    version: usize,
    /// Every field referenced, first-seen order, deduplicated ignoring case (as Kingdee does).
    fields: Vec<SourceField>,
}

impl CompiledMapping {
    /// Parses every expression and checks every name; any mistake is an error before a record
    /// is read. Column names compare ignoring case, as MySQL does.
    pub fn compile(spec: &MappingSpec) -> Result<Self, MappingError> {
        if !is_sql_identifier(&spec.table) {
            return Err(MappingError::InvalidIdentifier {
                kind: "table",
                name: spec.table.clone(),
            });
        }
        if spec.columns.is_empty() {
            return Err(MappingError::NoColumns);
        }
        let mut columns: Vec<String> = Vec::with_capacity(spec.columns.len());
        let mut nodes = Vec::with_capacity(spec.columns.len());
        let mut fields = Vec::new();
        for (column, expression) in &spec.columns {
            if !is_sql_identifier(column) {
                return Err(MappingError::InvalidIdentifier {
                    kind: "column",
                    name: column.clone(),
                });
            }
            if columns.iter().any(|c| c.eq_ignore_ascii_case(column)) {
                return Err(MappingError::DuplicateColumn {
                    column: column.clone(),
                });
            }
            let expr = parse_expression(expression).map_err(|error| MappingError::Parse {
                column: column.clone(),
                expression: expression.clone(),
                error,
            })?;
            let mut lowering = Lowering {
                column,
                fields: &mut fields,
            };
            nodes.push(lowering.lower(expr)?);
            columns.push(column.clone());
        }
        let position = |role: &'static str, wanted: &str| {
            columns
                .iter()
                .position(|c| c.eq_ignore_ascii_case(wanted))
                .ok_or_else(|| MappingError::NotMapped {
                    role,
                    column: wanted.to_owned(),
                })
        };
        let key = position("key", &spec.key)?;
        let version = position("version", &spec.version)?;
        let expressions = spec.columns.iter().map(|(_, e)| e.clone()).collect();
        Ok(Self {
            table: spec.table.clone(),
            columns,
            expressions,
            nodes,
            key,
            version,
            fields,
        })
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The key column, spelled as in [`CompiledMapping::columns`].
    pub fn key_column(&self) -> &str {
        &self.columns[self.key]
    }

    /// The version column, spelled as in [`CompiledMapping::columns`].
    pub fn version_column(&self) -> &str {
        &self.columns[self.version]
    }

    /// Position of the key column in [`CompiledMapping::columns`] and in every applied row.
    pub fn key_index(&self) -> usize {
        self.key
    }

    /// Position of the version column in [`CompiledMapping::columns`] and in every applied row.
    pub fn version_index(&self) -> usize {
        self.version
    }

    /// Target columns in mapping order; [`CompiledMapping::apply`] returns values in this order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Every Kingdee field the mapping reads, in first-seen order, without duplicates (ignoring
    /// case): the FieldKeys the producer asks for.
    pub fn source_fields(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.name.clone()).collect()
    }

    /// What column `index` of [`CompiledMapping::columns`] holds: one Kingdee field as it is
    /// (`{FName}`), or a value computed from a template, a function or a constant. A target
    /// table's DDL types the first from the form's metadata.
    pub fn column_source(&self, index: usize) -> ColumnSource<'_> {
        match &self.nodes[index] {
            Node::Field(slot) => ColumnSource::Field(&self.fields[*slot].name),
            Node::Call { function, .. } => ColumnSource::Function(function),
            Node::Template { .. } => ColumnSource::Template,
            Node::Const(_) => ColumnSource::Constant,
        }
    }

    /// Fails on the first mapped column missing from `table_columns` (the live table's columns
    /// from `information_schema`, compared ignoring case).
    pub fn check_columns(&self, table_columns: &[String]) -> Result<(), MappingError> {
        let present = |c: &str| table_columns.iter().any(|t| t.eq_ignore_ascii_case(c));
        match self.columns.iter().find(|c| !present(c)) {
            Some(column) => Err(MappingError::UnknownColumn {
                column: column.clone(),
                table: self.table.clone(),
            }),
            None => Ok(()),
        }
    }

    /// One value per column, in [`CompiledMapping::columns`] order, for a record as an array of
    /// values: `positions[i]` is where [`CompiledMapping::source_fields`]`[i]` sits in `values`
    /// (worked out once per message by `record::positions`), `None` where the record lacks it — an
    /// error naming the field (a field present with `null` is a null value).
    pub fn apply_row(
        &self,
        positions: &[Option<usize>],
        values: &[Value],
    ) -> Result<Vec<SqlValue>, MappingError> {
        let mut picked = Vec::with_capacity(self.fields.len());
        for (i, field) in self.fields.iter().enumerate() {
            let at = positions.get(i).copied().flatten();
            match at.and_then(|p| values.get(p)) {
                Some(value) => picked.push(value),
                None => return Err(missing(field)),
            }
        }
        self.eval(&picked)
    }

    fn eval(&self, values: &[&Value]) -> Result<Vec<SqlValue>, MappingError> {
        self.nodes
            .iter()
            .zip(&self.columns)
            .map(|(node, column)| {
                node.eval(values).map_err(|e| MappingError::Function {
                    column: column.clone(),
                    function: e.function,
                    error: e.error,
                })
            })
            .collect()
    }

    /// [`CompiledMapping::apply_row`] on a record keyed by field name (tests and tools; the
    /// pipeline keeps records as arrays).
    pub fn apply(&self, record: &crate::record::Record) -> Result<Vec<SqlValue>, MappingError> {
        let names: Vec<&String> = record.keys().collect();
        let values: Vec<Value> = record.values().cloned().collect();
        let positions = crate::record::positions(&names, &self.source_fields());
        self.apply_row(&positions, &values)
    }
}

fn missing(field: &SourceField) -> MappingError {
    MappingError::MissingField {
        field: field.name.clone(),
        column: field.column.clone(),
    }
}

impl fmt::Debug for CompiledMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let columns: Vec<_> = self.columns.iter().zip(&self.expressions).collect();
        f.debug_struct("CompiledMapping")
            .field("table", &self.table)
            .field("key", &self.key_column())
            .field("version", &self.version_column())
            .field("columns", &columns)
            .finish()
    }
}
