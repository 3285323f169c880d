//! PromQL lexer, parser, AST, printer and the function signature table.
//!
//! Entry points: [`parse`] (Prometheus' default feature set) and
//! [`parse_with_options`]. The grammar, precedence, type checks and error
//! texts follow Prometheus v3.14.

pub mod ast;
mod check;
pub mod error;
pub mod functions;
mod lexer;
pub mod literals;
#[allow(clippy::module_inception)]
mod parser;
mod printer;
pub mod quote;

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
    let (expr, errors) = parser::parse_expr(input, options);
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
