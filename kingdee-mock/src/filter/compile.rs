//! Turns the syntax tree into a typed predicate: field names are resolved against the form's
//! catalogue (an unknown one is MsgCode 9), and each literal is converted once to the type of
//! the column it meets, so a string compared with a date field is parsed as a date here and
//! never again per row.

use super::FilterError;
use super::eval::{Like, Lit, Pred, cmp_lit};
use super::lexer::CmpOp;
use super::parser::{Expr, Literal, Operand};
use crate::data::fields::{Col, ColKind, Value};
use crate::data::form::Form;
use crate::dates;

pub fn compile(e: &Expr, form: Form) -> Result<Pred, FilterError> {
    Ok(match e {
        Expr::And(a, b) => Pred::And(Box::new(compile(a, form)?), Box::new(compile(b, form)?)),
        Expr::Or(a, b) => Pred::Or(Box::new(compile(a, form)?), Box::new(compile(b, form)?)),
        Expr::Not(a) => Pred::Not(Box::new(compile(a, form)?)),
        Expr::Cmp(l, op, r) => comparison(form, l, *op, r)?,
        Expr::Like {
            operand,
            pattern,
            negated,
        } => match operand {
            Operand::Field(f) => Pred::Like {
                col: field(form, f)?,
                pattern: Like::compile(pattern),
                negated: *negated,
            },
            Operand::Lit(Literal::Null) => Pred::Const(None),
            Operand::Lit(Literal::Str(s) | Literal::Num(s)) => {
                Pred::Const(Some(Like::compile(pattern).matches(s) != *negated))
            }
        },
        Expr::In {
            operand,
            list,
            negated,
        } => {
            let Operand::Field(f) = operand else {
                return Err(FilterError::Syntax("IN needs a field on its left".into()));
            };
            let col = field(form, f)?;
            let mut lits = Vec::with_capacity(list.len());
            for l in list {
                if let Some(lit) = convert(l, col.kind())? {
                    lits.push(lit);
                }
            }
            Pred::In {
                col,
                has_null: lits.len() < list.len(),
                list: lits,
                negated: *negated,
            }
        }
        Expr::IsNull { operand, negated } => match operand {
            Operand::Field(f) => Pred::IsNull {
                col: field(form, f)?,
                negated: *negated,
            },
            Operand::Lit(l) => Pred::Const(Some((*l == Literal::Null) != *negated)),
        },
        Expr::Between {
            operand,
            low,
            high,
            negated,
        } => {
            let range = Pred::And(
                Box::new(comparison(form, operand, CmpOp::Ge, low)?),
                Box::new(comparison(form, operand, CmpOp::Le, high)?),
            );
            if *negated {
                Pred::Not(Box::new(range))
            } else {
                range
            }
        }
    })
}

fn field(form: Form, name: &str) -> Result<Col, FilterError> {
    form.resolve(name)
        .ok_or_else(|| FilterError::UnknownField(name.to_owned()))
}

fn comparison(form: Form, l: &Operand, op: CmpOp, r: &Operand) -> Result<Pred, FilterError> {
    match (l, r) {
        (Operand::Field(a), Operand::Field(b)) => {
            let (left, right) = (field(form, a)?, field(form, b)?);
            let numeric = |k| matches!(k, ColKind::Int | ColKind::Num);
            let (ka, kb) = (left.kind(), right.kind());
            if ka != kb && !(numeric(ka) && numeric(kb)) {
                return Err(FilterError::Syntax(format!(
                    "cannot compare {a} with {b}: their types differ"
                )));
            }
            Ok(Pred::Cols { left, op, right })
        }
        (Operand::Field(f), Operand::Lit(lit)) => column_vs(field(form, f)?, op, lit),
        (Operand::Lit(lit), Operand::Field(f)) => column_vs(field(form, f)?, op.flipped(), lit),
        (Operand::Lit(a), Operand::Lit(b)) => constant(a, op, b),
    }
}

fn column_vs(col: Col, op: CmpOp, lit: &Literal) -> Result<Pred, FilterError> {
    Ok(match convert(lit, col.kind())? {
        Some(lit) => Pred::Cmp { col, op, lit },
        None => Pred::Const(None),
    })
}

/// `1 = 1`, `'a' <> 'b'`: folded now.
fn constant(a: &Literal, op: CmpOp, b: &Literal) -> Result<Pred, FilterError> {
    let (x, y) = match (a, b) {
        (Literal::Null, _) | (_, Literal::Null) => return Ok(Pred::Const(None)),
        (Literal::Str(x), Literal::Str(y)) => {
            (Lit::Str(x.as_str().into()), Lit::Str(y.as_str().into()))
        }
        _ => (
            convert(a, ColKind::Num)?.unwrap_or(Lit::Num(0.0)),
            convert(b, ColKind::Num)?.unwrap_or(Lit::Num(0.0)),
        ),
    };
    let v = match &x {
        Lit::Str(s) => Value::Str(s),
        Lit::Num(n) => Value::Num(*n),
        _ => Value::Null,
    };
    Ok(Pred::Const(cmp_lit(v, &y).map(|o| op.holds(o))))
}

/// Converts a literal to a column type; `None` is NULL.
pub fn convert(lit: &Literal, kind: ColKind) -> Result<Option<Lit>, FilterError> {
    let text = match lit {
        Literal::Null => return Ok(None),
        Literal::Str(s) | Literal::Num(s) => s.as_str(),
    };
    let is_num = matches!(lit, Literal::Num(_));
    let failed = |target: &str| {
        FilterError::Syntax(format!(
            "Conversion failed when converting the value '{text}' to data type {target}"
        ))
    };
    Ok(Some(match kind {
        ColKind::Str => Lit::Str(text.into()),
        ColKind::Int => {
            let t = text.trim();
            match t.parse::<i64>() {
                Ok(i) => Lit::Int(i),
                Err(_) => Lit::Num(t.parse::<f64>().map_err(|_| failed("int"))?),
            }
        }
        ColKind::Num => Lit::Num(text.trim().parse::<f64>().map_err(|_| failed("decimal"))?),
        ColKind::Date if !is_num => Lit::Date(dates::parse(text).ok_or_else(|| {
            FilterError::Syntax(format!("从字符串转换日期和/或时间时，转换失败。('{text}')"))
        })?),
        ColKind::Date => return Err(failed("datetime")),
        ColKind::Bool => match text.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Lit::Bool(true),
            "0" | "false" => Lit::Bool(false),
            _ => return Err(failed("bit")),
        },
    }))
}
