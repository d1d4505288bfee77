//! The compiled form of a filter and its evaluation over a row, with SQL's three-valued logic:
//! a comparison with NULL is unknown (`None`), and a row is selected only when the whole
//! filter is true.

use std::cmp::Ordering;

use super::lexer::CmpOp;
use crate::data::fields::{Col, Value};
use crate::data::row::{Arena, Row};

/// A literal converted to the type of the column it is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Int(i64),
    Num(f64),
    Str(Box<str>),
    Date(i64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pred {
    Const(Option<bool>),
    And(Box<Pred>, Box<Pred>),
    Or(Box<Pred>, Box<Pred>),
    Not(Box<Pred>),
    Cmp {
        col: Col,
        op: CmpOp,
        lit: Lit,
    },
    Cols {
        left: Col,
        op: CmpOp,
        right: Col,
    },
    Like {
        col: Col,
        pattern: Like,
        negated: bool,
    },
    In {
        col: Col,
        list: Vec<Lit>,
        has_null: bool,
        negated: bool,
    },
    IsNull {
        col: Col,
        negated: bool,
    },
}

/// A LIKE pattern: `%` any run, `_` one character; the common shapes get fast paths.
#[derive(Debug, Clone, PartialEq)]
pub enum Like {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    General(Vec<LikeTok>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LikeTok {
    Char(char),
    One,
    Any,
}

impl Like {
    pub fn compile(pattern: &str) -> Self {
        let lead = pattern.starts_with('%');
        let body = pattern.strip_prefix('%').unwrap_or(pattern);
        let trail = body.ends_with('%');
        let body = body.strip_suffix('%').unwrap_or(body);
        if body.is_empty() || body.contains(['%', '_']) {
            return Like::General(
                pattern
                    .chars()
                    .map(|c| match c {
                        '%' => LikeTok::Any,
                        '_' => LikeTok::One,
                        c => LikeTok::Char(c),
                    })
                    .collect(),
            );
        }
        let s = body.to_owned();
        match (lead, trail) {
            (false, false) => Like::Exact(s),
            (false, true) => Like::Prefix(s),
            (true, false) => Like::Suffix(s),
            (true, true) => Like::Contains(s),
        }
    }

    pub fn matches(&self, text: &str) -> bool {
        match self {
            Like::Exact(s) => text == s,
            Like::Prefix(s) => text.starts_with(s.as_str()),
            Like::Suffix(s) => text.ends_with(s.as_str()),
            Like::Contains(s) => text.contains(s.as_str()),
            Like::General(toks) => glob(toks, &text.chars().collect::<Vec<_>>()),
        }
    }
}

/// Wildcard matching with single-star backtracking: linear in practice.
fn glob(pat: &[LikeTok], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pat.get(p) {
            Some(LikeTok::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(LikeTok::One) => {
                p += 1;
                t += 1;
            }
            Some(LikeTok::Char(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|t| *t == LikeTok::Any)
}

/// Compares a column's value with a literal of the column's type; NULL compares as unknown.
pub fn cmp_lit(v: Value<'_>, lit: &Lit) -> Option<Ordering> {
    match (v, lit) {
        (Value::Int(a), Lit::Int(b)) => Some(a.cmp(b)),
        (Value::Int(a), Lit::Num(b)) => (a as f64).partial_cmp(b),
        (Value::Num(a), Lit::Num(b)) => a.partial_cmp(b),
        (Value::Num(a), Lit::Int(b)) => a.partial_cmp(&(*b as f64)),
        (Value::Str(a), Lit::Str(b)) => Some(a.cmp(b)),
        (Value::Date(a), Lit::Date(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// Compares two values of compatible types; NULL compares as unknown.
pub fn cmp_values(a: Value<'_>, b: Value<'_>) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) | (Value::Date(x), Value::Date(y)) => Some(x.cmp(&y)),
        (Value::Int(x), Value::Num(y)) => (x as f64).partial_cmp(&y),
        (Value::Num(x), Value::Int(y)) => x.partial_cmp(&(y as f64)),
        (Value::Num(x), Value::Num(y)) => x.partial_cmp(&y),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(&y)),
        _ => None,
    }
}

impl Pred {
    /// True when the filter selects `row`.
    #[inline]
    pub fn matches(&self, row: &Row, arena: &Arena) -> bool {
        self.eval(row, arena) == Some(true)
    }

    pub fn eval(&self, row: &Row, arena: &Arena) -> Option<bool> {
        match self {
            Pred::Const(v) => *v,
            Pred::And(a, b) => match a.eval(row, arena) {
                Some(false) => Some(false),
                x => match b.eval(row, arena) {
                    Some(false) => Some(false),
                    y => (x == Some(true) && y == Some(true)).then_some(true),
                },
            },
            Pred::Or(a, b) => match a.eval(row, arena) {
                Some(true) => Some(true),
                x => match b.eval(row, arena) {
                    Some(true) => Some(true),
                    y => (x == Some(false) && y == Some(false)).then_some(false),
                },
            },
            Pred::Not(a) => a.eval(row, arena).map(|b| !b),
            Pred::Cmp { col, op, lit } => cmp_lit(col.get(row, arena), lit).map(|o| op.holds(o)),
            Pred::Cols { left, op, right } => {
                cmp_values(left.get(row, arena), right.get(row, arena)).map(|o| op.holds(o))
            }
            Pred::Like {
                col,
                pattern,
                negated,
            } => {
                let hit = match col.get(row, arena) {
                    Value::Null => return None,
                    Value::Str(s) => pattern.matches(s),
                    v => pattern.matches(&v.to_text().unwrap_or_default()),
                };
                Some(hit != *negated)
            }
            Pred::In {
                col,
                list,
                has_null,
                negated,
            } => {
                let v = col.get(row, arena);
                if v == Value::Null {
                    return None;
                }
                if list.iter().any(|l| cmp_lit(v, l) == Some(Ordering::Equal)) {
                    Some(!negated)
                } else if *has_null {
                    None
                } else {
                    Some(*negated)
                }
            }
            Pred::IsNull { col, negated } => Some((col.get(row, arena) == Value::Null) != *negated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_like_sql() {
        let cases = [
            ("螺丝%", "螺丝M3", true),
            ("螺丝%", "M3螺丝", false),
            ("%螺丝", "M3螺丝", true),
            ("%钢%", "不锈钢螺丝", true),
            ("1.01.%", "1.01.000123", true),
            ("M_*8", "M3*8", true),
            ("M_*8", "M12*8", false),
            ("M%*8", "M12*8", true),
            ("%", "", true),
            ("_", "", false),
            ("a%b%c", "axxbyyc", true),
            ("a%b%c", "axxbyy", false),
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("%%", "x", true),
            ("𠀀%", "𠀀形卡扣", true),
            ("_形卡扣", "𠀀形卡扣", true),
        ];
        for (pat, text, want) in cases {
            assert_eq!(Like::compile(pat).matches(text), want, "{pat} vs {text}");
        }
    }

    #[test]
    fn like_picks_the_fast_path_for_simple_shapes() {
        assert_eq!(Like::compile("ab%"), Like::Prefix("ab".into()));
        assert_eq!(Like::compile("%ab"), Like::Suffix("ab".into()));
        assert_eq!(Like::compile("%ab%"), Like::Contains("ab".into()));
        assert_eq!(Like::compile("ab"), Like::Exact("ab".into()));
    }
}
