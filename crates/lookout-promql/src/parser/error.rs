//! Parse errors with upstream's wording and positions.
//!
//! Prometheus reports a list of errors; its `Error()` string is the first
//! one, rendered as `<line>:<col>: parse error: <message>` where the line is
//! 1-based and the column is the 1-based byte offset within the line.

use std::fmt;

use crate::parser::ast::PosRange;

/// One parse or type-check error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseErr {
    /// The span the error refers to.
    pub pos: PosRange,
    /// The message without position, e.g. `unexpected end of input`.
    pub message: String,
    /// 1-based line of `pos.start`.
    pub line: usize,
    /// 1-based byte column of `pos.start` within its line.
    pub col: usize,
}

impl ParseErr {
    /// An error at `pos` in `query`.
    pub fn new(query: &str, pos: PosRange, message: impl Into<String>) -> Self {
        let (line, col) = line_col(query, pos.start);
        ParseErr {
            pos,
            message: message.into(),
            line,
            col,
        }
    }
}

impl fmt::Display for ParseErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: parse error: {}",
            self.line, self.col, self.message
        )
    }
}

/// All errors found in a query; never empty when returned by the parser.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// The errors in the order upstream reports them.
    pub errors: Vec<ParseErr>,
}

impl ParseError {
    /// The first error (the one upstream's `Error()` shows).
    pub fn first(&self) -> Option<&ParseErr> {
        self.errors.first()
    }

    /// The bare messages, in order.
    pub fn messages(&self) -> Vec<&str> {
        self.errors.iter().map(|e| e.message.as_str()).collect()
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.first() {
            Some(e) => e.fmt(f),
            None => f.write_str("error contains no error message"),
        }
    }
}

/// Line and column (both 1-based) of byte offset `pos`, the way upstream
/// counts: the column is the byte distance from the previous newline.
pub fn line_col(query: &str, pos: usize) -> (usize, usize) {
    let bytes = query.as_bytes();
    let pos = pos.min(bytes.len());
    let before = bytes.get(..pos).unwrap_or_default();
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_byte_columns() {
        assert_eq!(line_col("foo", 0), (1, 1));
        assert_eq!(line_col("foo", 2), (1, 3));
        assert_eq!(line_col("a\nbc", 3), (2, 2));
        assert_eq!(line_col("a\n", 2), (2, 1));
        let e = ParseErr::new("1 +", PosRange::new(3, 3), "unexpected end of input");
        assert_eq!(e.to_string(), "1:4: parse error: unexpected end of input");
    }
}
