//! PromQL lexer, parser, AST, printer and the function signature table.
//!
//! Entry points: [`parse`] (Prometheus' default feature set),
//! [`parse_with_options`] and [`parse_bytes`]. The grammar, precedence,
//! type checks and error texts follow Prometheus v3.14; `Display` on
//! [`Expr`] gives upstream's canonical one-line form.
//!
//! Layout: `lexer` (tokens, upstream's lexing contexts and messages),
//! `parser` (Pratt parser, parse-time checks), `check` (upstream's
//! `checkAST` type checker), `printer`, `literals` (numbers and durations
//! with Go's rules), `quote` (Go quoting), `functions` (signatures), `ast`.
//!
//! Where this parser knowingly differs from upstream:
//! * Syntax errors stop parsing; the message and position are upstream's,
//!   but yacc's error recovery can add further messages that we do not
//!   (aggregations do add "no arguments for aggregate expression provided"
//!   as upstream does).
//! * Regex matcher errors carry Rust `regex` wording, not Go's.
//! * Trees deeper than [`parser::MAX_DEPTH`] levels are rejected with
//!   `expression nesting too deep`, to keep dropping and evaluating them
//!   within a thread's stack.
//! * `NaN` offsets are rejected as out of range (upstream accepts them and
//!   produces a meaningless offset).
//! * Durations that are not whole milliseconds print as seconds (`0.0015`)
//!   so printing round-trips; upstream prints them truncated.
//! * The histogram trim operators `</` and `>/` are given the precedence of
//!   `*`; the corpus only uses them alone.

pub mod ast;
mod check;
pub mod error;
pub mod functions;
mod lexer;
pub mod literals;
mod matcher_cache;
#[allow(clippy::module_inception)]
pub mod parser;
mod printer;
pub mod quote;
#[cfg(test)]
mod tests;

pub use ast::*;
pub use error::{ParseErr, ParseError};
pub use functions::Function;

/// Parser feature flags, named after upstream's `--enable-feature` values.
/// The default matches a Prometheus v3.14 server started without flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// `promql-experimental-functions`: experimental functions (`info`,
    /// `sort_by_label`, `mad_over_time`, `start()`/`end()`/`range()`/`step()`
    /// as functions, ...) and the `limitk`/`limit_ratio` aggregations.
    pub experimental_functions: bool,
    /// `promql-duration-expr`: arithmetic, `step()`, `range()`, `min_of`,
    /// `max_of` in ranges, steps and offsets. On by default since v3.14.
    pub duration_expr: bool,
    /// `promql-extended-range-selectors`: the `anchored` and `smoothed`
    /// selector modifiers.
    pub extended_range_selectors: bool,
    /// `promql-binop-fill-modifiers`: `fill`, `fill_left`, `fill_right` on
    /// binary operators.
    pub binop_fill_modifiers: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            experimental_functions: false,
            duration_expr: true,
            extended_range_selectors: false,
            binop_fill_modifiers: false,
        }
    }
}

impl ParseOptions {
    /// Every experimental feature on, as upstream's test runner and parser
    /// tests use.
    pub fn all() -> Self {
        ParseOptions {
            experimental_functions: true,
            duration_expr: true,
            extended_range_selectors: true,
            binop_fill_modifiers: true,
        }
    }
}

/// Parses a PromQL expression with the default feature set.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    parse_with_options(input, ParseOptions::default())
}

/// Parses a PromQL expression with the given feature flags.
pub fn parse_with_options(input: &str, options: ParseOptions) -> Result<Expr, ParseError> {
    finish(input, parser::parse_expr(input, options))
}

/// Parses a query given as bytes, which Prometheus accepts over HTTP without
/// requiring UTF-8. Invalid UTF-8 yields upstream's lexing error
/// (`invalid UTF-8 rune` inside strings, `unexpected character` elsewhere).
pub fn parse_bytes(input: &[u8], options: ParseOptions) -> Result<Expr, ParseError> {
    match std::str::from_utf8(input) {
        Ok(s) => parse_with_options(s, options),
        Err(e) => {
            let valid = input.get(..e.valid_up_to()).unwrap_or_default();
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            finish(prefix, parser::parse_expr_bytes(prefix, input, options))
        }
    }
}

fn finish(input: &str, (expr, errors): (Option<Expr>, Vec<ParseErr>)) -> Result<Expr, ParseError> {
    match expr {
        // Like upstream, type-check only when parsing found no error.
        Some(mut expr) if errors.is_empty() => {
            let mut checker = check::Checker::new(input);
            checker.check(&mut expr);
            if checker.errors.is_empty() {
                Ok(expr)
            } else {
                Err(ParseError {
                    errors: checker.errors,
                })
            }
        }
        _ => Err(ParseError { errors }),
    }
}
