//! Lowers one column's syntax tree into evaluation nodes when the mapping compiles: resolves
//! function names and argument counts, builds the function closures, folds calls whose
//! arguments are all constant, and gives every referenced field a slot.

use super::error::MappingError;
use super::functions;
use super::node::{Node, Segment};
use super::parse::{Expr, Piece};
use super::value::SqlValue;

/// A Kingdee field the mapping reads; its index in the list is its slot.
pub(super) struct SourceField {
    pub name: String,
    /// The first column that references the field, for messages.
    pub column: String,
}

/// Turns one column's syntax tree into nodes, registering the fields it reads.
pub(super) struct Lowering<'a> {
    pub column: &'a str,
    pub fields: &'a mut Vec<SourceField>,
}

impl Lowering<'_> {
    pub(super) fn lower(&mut self, expr: Expr) -> Result<Node, MappingError> {
        match expr {
            Expr::Const(value) => Ok(Node::Const(value)),
            Expr::Template(pieces) => Ok(self.template(pieces)),
            Expr::Call { name, args } => {
                let column = self.column.to_owned();
                let Some(function) = functions::find(&name) else {
                    return Err(MappingError::UnknownFunction {
                        function: name,
                        column,
                    });
                };
                if !function.accepts(args.len()) {
                    return Err(MappingError::Arity {
                        function: function.name(),
                        usage: function.usage,
                        got: args.len(),
                        column,
                    });
                }
                let args = args
                    .into_iter()
                    .map(|a| self.lower(a))
                    .collect::<Result<Vec<_>, _>>()?;
                let constant = args.iter().all(|a| a.as_const().is_some());
                let eval = function
                    .build(args)
                    .map_err(|error| MappingError::Argument {
                        column: column.clone(),
                        function: function.name(),
                        error,
                    })?;
                let node = Node::Call {
                    function: function.name(),
                    eval,
                };
                if !constant {
                    return Ok(node);
                }
                // Constant in, constant out: evaluate now, and report a bad constant now.
                node.eval(&[])
                    .map(Node::Const)
                    .map_err(|e| MappingError::Function {
                        column,
                        function: e.function,
                        error: e.error,
                    })
            }
        }
    }

    fn template(&mut self, pieces: Vec<Piece>) -> Node {
        match <[Piece; 1]>::try_from(pieces) {
            Ok([Piece::Field(field)]) => Node::Field(self.slot(field)),
            Ok([Piece::Literal(text)]) => Node::Const(SqlValue::Text(text)),
            Err(pieces) if pieces.is_empty() => Node::Const(SqlValue::Text(String::new())),
            Err(pieces) => {
                let mut capacity = 0;
                let segments = pieces
                    .into_iter()
                    .map(|piece| match piece {
                        Piece::Literal(text) => {
                            capacity += text.len();
                            Segment::Literal(text)
                        }
                        Piece::Field(field) => {
                            // Room for a typical code or name; the String grows if needed.
                            capacity += 16;
                            Segment::Field(self.slot(field))
                        }
                    })
                    .collect();
                Node::Template { segments, capacity }
            }
        }
    }

    fn slot(&mut self, field: String) -> usize {
        if let Some(slot) = self
            .fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(&field))
        {
            return slot;
        }
        self.fields.push(SourceField {
            name: field,
            column: self.column.to_owned(),
        });
        self.fields.len() - 1
    }
}
