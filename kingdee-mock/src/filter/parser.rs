//! Parses FilterString tokens into an untyped syntax tree with SQL precedence
//! (NOT binds tighter than AND, AND tighter than OR). Field names are resolved later.

use super::FilterError;
use super::lexer::{CmpOp, Spanned, Tok, syntax};

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    /// The number's text, so integer columns compare exactly.
    Num(String),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Field(String),
    Lit(Literal),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, CmpOp, Operand),
    Like {
        operand: Operand,
        pattern: String,
        negated: bool,
    },
    In {
        operand: Operand,
        list: Vec<Literal>,
        negated: bool,
    },
    IsNull {
        operand: Operand,
        negated: bool,
    },
    Between {
        operand: Operand,
        low: Operand,
        high: Operand,
        negated: bool,
    },
}

const KEYWORDS: &[&str] = &["AND", "OR", "NOT", "LIKE", "IN", "IS", "NULL", "BETWEEN"];

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Spanned>,
    i: usize,
}

/// Parses a whole FilterString; `None` when it is blank.
pub fn parse(src: &str, toks: Vec<Spanned>) -> Result<Option<Expr>, FilterError> {
    if toks.is_empty() {
        return Ok(None);
    }
    let mut p = Parser { src, toks, i: 0 };
    let e = p.or()?;
    match p.toks.get(p.i) {
        None => Ok(Some(e)),
        Some((_, pos)) => Err(syntax(src, *pos, "unexpected token")),
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(t, _)| t)
    }

    fn err(&self, what: &str) -> FilterError {
        let pos = self.toks.get(self.i).map_or(self.src.len(), |&(_, p)| p);
        syntax(self.src, pos, what)
    }

    fn keyword(&mut self, kw: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Name(n)) if n.eq_ignore_ascii_case(kw));
        if hit {
            self.i += 1;
        }
        hit
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<(), FilterError> {
        if self.peek() == Some(tok) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected {what}")))
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.keyword("OR") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.not()?;
        while self.keyword("AND") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        if self.keyword("NOT") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, FilterError> {
        if self.peek() == Some(&Tok::LParen) {
            self.i += 1;
            let e = self.or()?;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(e);
        }
        let operand = self.operand()?;
        if let Some(Tok::Op(op)) = self.peek() {
            let op = *op;
            self.i += 1;
            return Ok(Expr::Cmp(operand, op, self.operand()?));
        }
        if self.keyword("IS") {
            let negated = self.keyword("NOT");
            if !self.keyword("NULL") {
                return Err(self.err("expected NULL after IS"));
            }
            return Ok(Expr::IsNull { operand, negated });
        }
        let negated = self.keyword("NOT");
        if self.keyword("LIKE") {
            return match self.operand()? {
                Operand::Lit(Literal::Str(pattern)) => Ok(Expr::Like {
                    operand,
                    pattern,
                    negated,
                }),
                _ => Err(self.err("LIKE needs a string pattern")),
            };
        }
        if self.keyword("IN") {
            self.expect(&Tok::LParen, "'(' after IN")?;
            let mut list = Vec::new();
            loop {
                match self.operand()? {
                    Operand::Lit(l) => list.push(l),
                    Operand::Field(_) => return Err(self.err("IN lists take literals only")),
                }
                if self.peek() == Some(&Tok::Comma) {
                    self.i += 1;
                } else {
                    break;
                }
            }
            self.expect(&Tok::RParen, "')' closing the IN list")?;
            return Ok(Expr::In {
                operand,
                list,
                negated,
            });
        }
        if self.keyword("BETWEEN") {
            let low = self.operand()?;
            if !self.keyword("AND") {
                return Err(self.err("expected AND in BETWEEN"));
            }
            let high = self.operand()?;
            return Ok(Expr::Between {
                operand,
                low,
                high,
                negated,
            });
        }
        Err(self.err("expected a comparison operator"))
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        let op = match self.peek() {
            Some(Tok::Str(s)) => Operand::Lit(Literal::Str(s.clone())),
            Some(Tok::Num(n)) => Operand::Lit(Literal::Num(n.clone())),
            Some(Tok::Name(n)) if n.eq_ignore_ascii_case("NULL") => Operand::Lit(Literal::Null),
            Some(Tok::Name(n)) if !KEYWORDS.iter().any(|k| n.eq_ignore_ascii_case(k)) => {
                Operand::Field(n.clone())
            }
            _ => return Err(self.err("expected a field or a value")),
        };
        self.i += 1;
        Ok(op)
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::*;

    fn p(src: &str) -> Result<Option<Expr>, FilterError> {
        parse(src, lex(src)?)
    }

    fn field(n: &str) -> Operand {
        Operand::Field(n.into())
    }

    fn eq(f: &str, n: &str) -> Expr {
        Expr::Cmp(field(f), CmpOp::Eq, Operand::Lit(Literal::Num(n.into())))
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_tighter_than_and() {
        let e = p("a = 1 OR b = 2 AND NOT c = 3").expect("parses");
        let want = Expr::Or(
            Box::new(eq("a", "1")),
            Box::new(Expr::And(
                Box::new(eq("b", "2")),
                Box::new(Expr::Not(Box::new(eq("c", "3")))),
            )),
        );
        assert_eq!(e, Some(want));
    }

    #[test]
    fn parentheses_override_precedence() {
        let e = p("(a = 1 or b = 2) and c = 3").expect("parses");
        assert!(matches!(e, Some(Expr::And(l, _)) if matches!(*l, Expr::Or(..))));
    }

    #[test]
    fn dangling_operators_and_missing_parts_are_errors() {
        for bad in [
            "a =",
            "a = 1 AND",
            "OR a = 1",
            "(a = 1",
            "a = 1)",
            "a LIKE b",
            "a IN ()",
            "a IS 1",
            "a",
            "a = 1 b = 2",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn blank_filters_parse_to_nothing() {
        assert_eq!(p("   ").expect("parses"), None);
    }
}
