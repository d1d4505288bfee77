//! Parses one column's value expression into a small syntax tree, once, when the mapping
//! compiles: a template (`"{FNumber}-{FName}"`, `{{`/`}}` escape braces) or a
//! `_function name(arg, …)` call whose arguments are quoted templates (`''` escapes a quote),
//! numbers, bare `{Field}`s, `null`, `true`, `false` or nested calls.

use super::convert::normalize_decimal;
use super::error::{ParseError, ParseErrorKind};
use super::ident::is_field_ref;
use super::value::SqlValue;

/// How deeply calls may nest; far beyond any real mapping, and keeps recursion bounded.
const MAX_DEPTH: usize = 32;

/// A parsed value expression.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    /// A number, `null`, `true` or `false` written in a function call.
    Const(SqlValue),
    /// Text with `{Field}` placeholders (a top-level template or a quoted argument).
    Template(Vec<Piece>),
    /// `name(args…)`; the name as written (function names are case-insensitive).
    Call { name: String, args: Vec<Expr> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    Literal(String),
    Field(String),
}

/// Parses a column's expression: `_function …` (the prefix is case-insensitive) or a template.
pub(super) fn parse_expression(src: &str) -> Result<Expr, ParseError> {
    let trimmed = src.trim_start();
    let lead = src.len() - trimmed.len();
    let is_function = trimmed
        .get(..9)
        .is_some_and(|p| p.eq_ignore_ascii_case("_function"))
        && trimmed[9..].chars().next().is_none_or(char::is_whitespace);
    let mut parser = Parser {
        src,
        pos: 0,
        depth: 0,
    };
    if !is_function {
        return Ok(Expr::Template(parser.template(None)?));
    }
    parser.pos = lead + 9;
    parser.skip_whitespace();
    if parser.pos == src.len() {
        return Err(parser.error(lead, ParseErrorKind::MissingFunction));
    }
    let expr = parser.expr()?;
    parser.skip_whitespace();
    match parser.peek() {
        None => Ok(expr),
        found => Err(parser.expected("nothing more after the expression", found)),
    }
}

struct Parser<'s> {
    src: &'s str,
    /// Byte offset of the next unread character.
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.skip_whitespace();
        let start = self.pos;
        match self.peek() {
            Some('\'') => {
                self.pos += 1;
                Ok(Expr::Template(self.template(Some(start))?))
            }
            Some('{') => Ok(Expr::Template(vec![Piece::Field(self.placeholder()?)])),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.word();
                self.skip_whitespace();
                match self.peek() {
                    Some('(') => self.call(name, start),
                    _ if name.eq_ignore_ascii_case("null") => Ok(Expr::Const(SqlValue::Null)),
                    _ if name.eq_ignore_ascii_case("true") => Ok(Expr::Const(SqlValue::Bool(true))),
                    _ if name.eq_ignore_ascii_case("false") => {
                        Ok(Expr::Const(SqlValue::Bool(false)))
                    }
                    found => Err(self.expected("`(` after the function name", found)),
                }
            }
            found => {
                Err(self.expected("a value ('text', a number, {Field}, null or a call)", found))
            }
        }
    }

    /// `name(` has been read up to the `(`; reads the arguments and the `)`.
    fn call(&mut self, name: String, start: usize) -> Result<Expr, ParseError> {
        if self.depth == MAX_DEPTH {
            return Err(self.error(start, ParseErrorKind::TooDeep));
        }
        self.depth += 1;
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                args.push(self.expr()?);
                self.skip_whitespace();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    None => return Err(self.error(start, ParseErrorKind::UnterminatedCall(name))),
                    found => return Err(self.expected("`,` or `)`", found)),
                }
            }
        }
        self.depth -= 1;
        Ok(Expr::Call { name, args })
    }

    /// Text up to the end of the input, or, when `quote` holds the opening quote's offset, up to
    /// the closing quote (consumed).
    fn template(&mut self, quote: Option<usize>) -> Result<Vec<Piece>, ParseError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        loop {
            let rest = &self.src[self.pos..];
            let Some(i) = rest.find(|c| c == '{' || c == '}' || (c == '\'' && quote.is_some()))
            else {
                if let Some(quote) = quote {
                    return Err(self.error(quote, ParseErrorKind::UnterminatedString));
                }
                literal.push_str(rest);
                self.pos = self.src.len();
                break;
            };
            literal.push_str(&rest[..i]);
            self.pos += i;
            let bytes = self.src.as_bytes();
            match (bytes[self.pos], bytes.get(self.pos + 1)) {
                (b'{', Some(b'{')) | (b'}', Some(b'}')) | (b'\'', Some(b'\'')) => {
                    literal.push(char::from(bytes[self.pos]));
                    self.pos += 2;
                }
                (b'\'', _) => {
                    self.pos += 1;
                    break;
                }
                (b'}', _) => return Err(self.error(self.pos, ParseErrorKind::UnmatchedBrace)),
                _ => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Field(self.placeholder()?));
                }
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(pieces)
    }

    /// `{Field}` at the current position; returns the field key.
    fn placeholder(&mut self) -> Result<String, ParseError> {
        let open = self.pos;
        let Some(len) = self.src[open + 1..].find('}') else {
            return Err(self.error(open, ParseErrorKind::UnterminatedPlaceholder));
        };
        let field = &self.src[open + 1..open + 1 + len];
        if !is_field_ref(field) {
            return Err(self.error(open + 1, ParseErrorKind::BadField(field.to_owned())));
        }
        self.pos = open + len + 2;
        Ok(field.to_owned())
    }

    /// `-?digits(.digits)?`: an `Int` when it fits, an exact `Decimal` otherwise.
    fn number(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut end = start + usize::from(bytes[start] == b'-');
        while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
            end += 1;
        }
        let text = &self.src[start..end];
        self.pos = end;
        if let Ok(int) = text.parse::<i64>() {
            return Ok(Expr::Const(SqlValue::Int(int)));
        }
        let valid = text
            .trim_start_matches('-')
            .split('.')
            .all(|p| !p.is_empty())
            && text.matches('.').count() <= 1;
        match normalize_decimal(text, None) {
            Some(decimal) if valid => Ok(Expr::Const(SqlValue::Decimal(decimal))),
            _ => Err(self.error(start, ParseErrorKind::BadNumber(text.to_owned()))),
        }
    }

    /// `[A-Za-z_][A-Za-z0-9_]*` at the current position.
    fn word(&mut self) -> String {
        let start = self.pos;
        let rest = &self.src[start..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.pos += len;
        rest[..len].to_owned()
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn skip_whitespace(&mut self) {
        let rest = &self.src[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn expected(&self, expected: &'static str, found: Option<char>) -> ParseError {
        self.error(self.pos, ParseErrorKind::Expected { expected, found })
    }

    /// An error at byte offset `at`, reported as a 1-based character position.
    fn error(&self, at: usize, kind: ParseErrorKind) -> ParseError {
        let at = self
            .src
            .get(..at)
            .map_or(0, |before| before.chars().count())
            + 1;
        ParseError { at, kind }
    }
}
