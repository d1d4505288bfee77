//! OrderString: `key [ASC|DESC], …`, keys case-insensitive. The mock always ends the order
//! with the primary key ASC (FMaterialId, FCUSTID, FSupplierId; unless it is already a key) so that every order is total and
//! paging is repeatable; the real server promises no order at all without an OrderString.

use std::cmp::Ordering;

use crate::data::fields::{Col, Value};
use crate::data::form::Form;
use crate::data::row::{Arena, Row};
use crate::filter::FilterError;
use crate::filter::eval::cmp_values;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderKey {
    pub col: Col,
    pub desc: bool,
}

/// Parses a BD_MATERIAL OrderString and appends the FMaterialId tie-break.
pub fn parse(src: &str) -> Result<Vec<OrderKey>, FilterError> {
    parse_for(Form::Material, src)
}

/// Parses an OrderString over the fields of `form` and appends the primary-key tie-break.
pub fn parse_for(form: Form, src: &str) -> Result<Vec<OrderKey>, FilterError> {
    let mut keys = Vec::new();
    for part in src.split(',') {
        let words: Vec<&str> = part.split_whitespace().collect();
        let (name, desc) = match words.as_slice() {
            [] => continue,
            [name] => (*name, false),
            [name, dir] if dir.eq_ignore_ascii_case("ASC") => (*name, false),
            [name, dir] if dir.eq_ignore_ascii_case("DESC") => (*name, true),
            _ => {
                return Err(FilterError::Syntax(format!(
                    "invalid OrderString item \"{}\"",
                    part.trim()
                )));
            }
        };
        let col = form
            .resolve(name)
            .ok_or_else(|| FilterError::UnknownField(name.to_owned()))?;
        keys.push(OrderKey { col, desc });
        if col == Col::MaterialId {
            // A unique key: nothing after it can change the order.
            return Ok(keys);
        }
    }
    keys.push(OrderKey {
        col: Col::MaterialId,
        desc: false,
    });
    Ok(keys)
}

/// NULL sorts before every value, as in SQL Server.
fn sort_cmp(a: Value<'_>, b: Value<'_>) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (a, b) => cmp_values(a, b).unwrap_or(Ordering::Equal),
    }
}

pub fn compare(keys: &[OrderKey], a: &Row, b: &Row, arena: &Arena) -> Ordering {
    for k in keys {
        let o = sort_cmp(k.col.get(a, arena), k.col.get(b, arena));
        let o = if k.desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::row::TextField;

    #[test]
    fn keys_parse_with_directions_and_gain_the_id_tie_break() {
        let keys = parse("FModifyDate ASC, fnumber desc,FName").expect("parses");
        assert_eq!(
            keys,
            [
                OrderKey {
                    col: Col::ModifyDate,
                    desc: false
                },
                OrderKey {
                    col: Col::Text(TextField::Number),
                    desc: true
                },
                OrderKey {
                    col: Col::Text(TextField::Name),
                    desc: false
                },
                OrderKey {
                    col: Col::MaterialId,
                    desc: false
                },
            ]
        );
        assert_eq!(parse("FMaterialId DESC, FName").expect("parses").len(), 1);
        assert_eq!(parse("").expect("parses").len(), 1);
    }

    #[test]
    fn bad_order_strings_are_refused() {
        assert_eq!(
            parse("FNope ASC"),
            Err(FilterError::UnknownField("FNope".into()))
        );
        assert!(matches!(parse("FName UP"), Err(FilterError::Syntax(_))));
        assert!(matches!(
            parse("FName ASC DESC"),
            Err(FilterError::Syntax(_))
        ));
    }
}
