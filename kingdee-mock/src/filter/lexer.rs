//! Splits a FilterString into tokens: field names (dotted), single-quoted strings with `''`
//! escapes (and SQL Server's `N'…'`), numbers, comparison operators, parentheses and commas.
//! Keywords (AND, OR, NOT, LIKE, IN, IS, NULL, BETWEEN) are names the parser recognises.

use super::FilterError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Name(String),
    Str(String),
    /// The literal text of a number, sign included.
    Num(String),
    Op(CmpOp),
    LParen,
    RParen,
    Comma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    /// The same comparison with its operands swapped (`5 < F` is `F > 5`).
    pub fn flipped(self) -> Self {
        match self {
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            other => other,
        }
    }

    pub fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            CmpOp::Eq => ord == Equal,
            CmpOp::Ne => ord != Equal,
            CmpOp::Gt => ord == Greater,
            CmpOp::Ge => ord != Less,
            CmpOp::Lt => ord == Less,
            CmpOp::Le => ord != Greater,
        }
    }
}

/// A token and the byte offset where it starts, for error messages.
pub type Spanned = (Tok, usize);

pub fn lex(src: &str) -> Result<Vec<Spanned>, FilterError> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    while let Some(&(pos, c)) = chars.get(i) {
        let next = at(i + 1);
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | ',' => {
                out.push((
                    match c {
                        '(' => Tok::LParen,
                        ')' => Tok::RParen,
                        _ => Tok::Comma,
                    },
                    pos,
                ));
                i += 1;
            }
            '=' | '<' | '>' | '!' => {
                let (op, len) = match (c, next) {
                    ('=', _) => (CmpOp::Eq, 1),
                    ('<', Some('>')) | ('!', Some('=')) => (CmpOp::Ne, 2),
                    ('<', Some('=')) => (CmpOp::Le, 2),
                    ('>', Some('=')) => (CmpOp::Ge, 2),
                    ('<', _) => (CmpOp::Lt, 1),
                    ('>', _) => (CmpOp::Gt, 1),
                    _ => return Err(syntax(src, pos, "unexpected '!'")),
                };
                out.push((Tok::Op(op), pos));
                i += len;
            }
            '\'' => {
                let (s, end) = string(&chars, i + 1).ok_or_else(|| unterminated(src, pos))?;
                out.push((Tok::Str(s), pos));
                i = end;
            }
            'N' | 'n' if next == Some('\'') => {
                let (s, end) = string(&chars, i + 2).ok_or_else(|| unterminated(src, pos))?;
                out.push((Tok::Str(s), pos));
                i = end;
            }
            c if c.is_ascii_digit()
                || (matches!(c, '-' | '.') && next.is_some_and(|n| n.is_ascii_digit())) =>
            {
                let mut j = i + 1;
                while at(j).is_some_and(|d| d.is_ascii_digit() || d == '.') {
                    j += 1;
                }
                let text: String = chars[i..j].iter().map(|&(_, c)| c).collect();
                if text.matches('.').count() > 1 || at(j).is_some_and(is_name_char) {
                    return Err(syntax(src, pos, "malformed number"));
                }
                out.push((Tok::Num(text), pos));
                i = j;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while at(j).is_some_and(|d| is_name_char(d) || d == '.') {
                    j += 1;
                }
                let text: String = chars[i..j].iter().map(|&(_, c)| c).collect();
                out.push((Tok::Name(text), pos));
                i = j;
            }
            other => return Err(syntax(src, pos, &format!("unexpected character '{other}'"))),
        }
    }
    Ok(out)
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Reads a string body starting after the opening quote; returns it and the index past the
/// closing quote.
fn string(chars: &[(usize, char)], mut i: usize) -> Option<(String, usize)> {
    let mut s = String::new();
    loop {
        match chars.get(i)?.1 {
            '\'' if chars.get(i + 1).map(|&(_, c)| c) == Some('\'') => {
                s.push('\'');
                i += 2;
            }
            '\'' => return Some((s, i + 1)),
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
}

fn unterminated(src: &str, pos: usize) -> FilterError {
    syntax(src, pos, "unterminated string literal")
}

pub fn syntax(src: &str, pos: usize, what: &str) -> FilterError {
    FilterError::Syntax(format!("{what} at position {pos} in \"{src}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src)
            .expect("lexes")
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    }

    #[test]
    fn lexes_names_strings_numbers_and_operators() {
        assert_eq!(
            toks("FUseOrgId.FNumber<>'it''s' AND x>=-1.5"),
            vec![
                Tok::Name("FUseOrgId.FNumber".into()),
                Tok::Op(CmpOp::Ne),
                Tok::Str("it's".into()),
                Tok::Name("AND".into()),
                Tok::Name("x".into()),
                Tok::Op(CmpOp::Ge),
                Tok::Num("-1.5".into()),
            ]
        );
        assert_eq!(
            toks("a!=N'中文'")[1..],
            [Tok::Op(CmpOp::Ne), Tok::Str("中文".into())]
        );
        assert_eq!(toks("(a,b)").len(), 5);
    }

    #[test]
    fn an_unterminated_string_is_an_error() {
        let err = lex("FName = 'abc").expect_err("must fail");
        assert!(err.to_string().contains("unterminated"), "{err}");
    }

    #[test]
    fn stray_characters_are_errors() {
        assert!(lex("FName = 'a' ; drop").is_err());
        assert!(lex("F ! 1").is_err());
        assert!(lex("1.2.3").is_err());
    }
}
