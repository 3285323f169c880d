//! Recursive-descent (Pratt) parser producing the AST.
//!
//! Precedence, associativity and the placement of modifiers follow
//! upstream's yacc grammar: `^` binds tightest and is right-associative,
//! unary `+`/`-` bind like `*` (so `-a^b` is `-(a^b)`), and `offset`, `@`,
//! `[...]`, `anchored` and `smoothed` apply to the operand directly before
//! them.
//!
//! Errors: a syntax error stops parsing. Like yacc's error productions, the
//! innermost construct that has one (label matchers, grouping labels,
//! brackets, `offset`, `@`, aggregations) adds its context to the message.
//! Semantic errors found while parsing are collected and parsing continues,
//! as upstream does; the type checker runs only when there were none.

use lookout_model::{MatchOp, Matcher};

use crate::parser::ast::*;
use crate::parser::error::ParseErr;
use crate::parser::functions::{self, Function};
use crate::parser::lexer::{Lexer, Tok, Token};
use crate::parser::literals::{parse_duration, parse_number};
use crate::parser::quote::{go_quote, go_quote_str, go_quote_truncated, unquote};
use crate::parser::ParseOptions;

mod durations;
use durations::Dur;

/// Placeholder signature for calls to unknown functions. Such calls always
/// come with an error, so the placeholder never reaches a caller.
static UNKNOWN_FUNCTION: Function = Function {
    name: "",
    arg_types: &[],
    variadic: -1,
    return_type: ValueType::None,
    experimental: false,
};

/// A syntax error travelling up to the construct that reports it.
pub(crate) struct Syntax {
    /// The offending token.
    tok: Token,
    /// Whether a construct already attached its context.
    claimed: bool,
    /// Whether the message has been pushed to the error list.
    reported: bool,
}

type PResult<T> = Result<T, Syntax>;

/// Red zone and segment size for growing the stack in deep recursion.
const STACK_RED_ZONE: usize = 128 * 1024;
const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// Deepest tree the parser builds. Upstream has no limit (Go stacks grow),
/// but dropping, cloning or evaluating a tree recurses once per level, so
/// an unbounded depth could overflow a thread's stack. Real queries stay
/// far below this; upstream's own deepest test case needs about 21000.
pub const MAX_DEPTH: u32 = 25_000;

pub(crate) struct Parser<'a> {
    input: &'a str,
    lexer: Lexer<'a>,
    tok: Token,
    peeked: Option<Token>,
    pub(crate) opts: ParseOptions,
    pub(crate) errors: Vec<ParseErr>,
    last_closing: usize,
    /// Depth of the expression most recently returned by a parsing method.
    depth: u32,
    /// Duration-expression nodes built so far (bounds their depth).
    duration_nodes: u32,
}

/// Parses `input` completely; returns the tree (possibly partial) and errors.
pub(crate) fn parse_expr(input: &str, opts: ParseOptions) -> (Option<Expr>, Vec<ParseErr>) {
    parse_expr_bytes(input, input.as_bytes(), opts)
}

/// Like [`parse_expr`] for input that may hold invalid UTF-8 after the valid
/// prefix `input`.
pub(crate) fn parse_expr_bytes(
    input: &str,
    bytes: &[u8],
    opts: ParseOptions,
) -> (Option<Expr>, Vec<ParseErr>) {
    let mut p = Parser::new(input, bytes, opts);
    if p.tok.tok == Tok::Eof {
        p.errors.push(ParseErr::new(
            input,
            PosRange::new(0, 0),
            "no expression found in input",
        ));
        return (None, p.errors);
    }
    let result = p.expr(0).and_then(|e| {
        if p.tok.tok != Tok::Eof {
            Err(p.unexpected())
        } else {
            Ok(e)
        }
    });
    match result {
        Ok(e) => (Some(e), p.errors),
        Err(s) => {
            p.report(&s, None, None);
            (None, p.errors)
        }
    }
}

fn token_desc(input: &str, t: &Token) -> String {
    let text = input.get(t.start..t.end).unwrap_or("");
    match t.tok {
        Tok::Eof => "end of input".to_string(),
        Tok::Identifier => format!("identifier {}", go_quote_str(text)),
        Tok::MetricIdentifier => format!("metric identifier {}", go_quote_str(text)),
        Tok::Number => format!("number {}", short_quote(text)),
        Tok::Duration => format!("duration {}", short_quote(text)),
        Tok::String => format!("string {}", short_quote(text)),
        k if k.is_keyword() => format!("<{text}>"),
        k if k.is_operator() => format!("<op:{text}>"),
        k if k.is_aggregator() => format!("<aggr:{text}>"),
        _ => short_quote(text),
    }
}

fn short_quote(text: &str) -> String {
    go_quote_truncated(text, 10)
}

fn binary_op(t: Tok) -> Option<BinaryOp> {
    Some(match t {
        Tok::Add => BinaryOp::Add,
        Tok::Sub => BinaryOp::Sub,
        Tok::Mul => BinaryOp::Mul,
        Tok::Div => BinaryOp::Div,
        Tok::Mod => BinaryOp::Mod,
        Tok::Pow => BinaryOp::Pow,
        Tok::Atan2 => BinaryOp::Atan2,
        Tok::EqlC => BinaryOp::Eql,
        Tok::Neq => BinaryOp::Neq,
        Tok::Gtr => BinaryOp::Gtr,
        Tok::Lss => BinaryOp::Lss,
        Tok::Gte => BinaryOp::Gte,
        Tok::Lte => BinaryOp::Lte,
        Tok::Land => BinaryOp::And,
        Tok::Lor => BinaryOp::Or,
        Tok::Lunless => BinaryOp::Unless,
        Tok::TrimUpper => BinaryOp::TrimUpper,
        Tok::TrimLower => BinaryOp::TrimLower,
        _ => return None,
    })
}

fn aggregate_op(t: Tok) -> Option<AggregateOp> {
    Some(match t {
        Tok::Sum => AggregateOp::Sum,
        Tok::Avg => AggregateOp::Avg,
        Tok::Count => AggregateOp::Count,
        Tok::Min => AggregateOp::Min,
        Tok::Max => AggregateOp::Max,
        Tok::Group => AggregateOp::Group,
        Tok::Stddev => AggregateOp::Stddev,
        Tok::Stdvar => AggregateOp::Stdvar,
        Tok::Topk => AggregateOp::Topk,
        Tok::Bottomk => AggregateOp::Bottomk,
        Tok::CountValues => AggregateOp::CountValues,
        Tok::Quantile => AggregateOp::Quantile,
        Tok::Limitk => AggregateOp::Limitk,
        Tok::LimitRatio => AggregateOp::LimitRatio,
        _ => return None,
    })
}

/// Tokens that may name a metric (upstream's `metric_identifier`).
fn is_metric_identifier(t: Tok) -> bool {
    t.is_aggregator()
        || matches!(
            t,
            Tok::Identifier
                | Tok::MetricIdentifier
                | Tok::By
                | Tok::Without
                | Tok::Offset
                | Tok::Land
                | Tok::Lor
                | Tok::Lunless
                | Tok::Start
                | Tok::End
                | Tok::Step
                | Tok::Range
                | Tok::Anchored
                | Tok::Smoothed
        )
}

/// Tokens that may be a label in a grouping list (upstream's `maybe_label`).
fn is_grouping_label(t: Tok) -> bool {
    is_metric_identifier(t)
        || matches!(
            t,
            Tok::Bool | Tok::GroupLeft | Tok::GroupRight | Tok::Ignoring | Tok::On | Tok::Atan2
        )
}

fn match_op(t: Tok) -> Option<MatchOp> {
    Some(match t {
        Tok::Eql => MatchOp::Equal,
        Tok::Neq => MatchOp::NotEqual,
        Tok::EqlRegex => MatchOp::Regex,
        Tok::NeqRegex => MatchOp::NotRegex,
        _ => return None,
    })
}

/// Converts unquoted bytes to a `String`, replacing invalid UTF-8.
fn lossy(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

impl<'a> Parser<'a> {
    fn new(input: &'a str, bytes: &'a [u8], opts: ParseOptions) -> Self {
        let mut p = Parser {
            input,
            lexer: Lexer::with_bytes(input, bytes),
            tok: Token {
                tok: Tok::Eof,
                start: 0,
                end: 0,
                error: None,
            },
            peeked: None,
            opts,
            errors: Vec::new(),
            last_closing: 0,
            depth: 0,
            duration_nodes: 0,
        };
        p.load_next();
        p
    }

    // ----- token handling -----

    fn load_next(&mut self) {
        let t = match self.peeked.take() {
            Some(t) => t,
            None => self.lexer.next_token(),
        };
        if t.tok == Tok::Error {
            let msg = t.error.clone().unwrap_or_default();
            self.errors.push(ParseErr::new(
                self.input,
                PosRange::new(t.start, self.input.len()),
                msg,
            ));
        }
        self.tok = t;
    }

    fn advance(&mut self) -> Token {
        let t = self.tok.clone();
        if matches!(
            t.tok,
            Tok::RightBrace | Tok::RightParen | Tok::RightBracket | Tok::Duration | Tok::Number
        ) {
            self.last_closing = t.end;
        }
        if !matches!(t.tok, Tok::Eof | Tok::Error) {
            self.load_next();
        }
        t
    }

    fn peek(&mut self) -> Tok {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token());
        }
        self.peeked.as_ref().map(|t| t.tok).unwrap_or(Tok::Eof)
    }

    fn text(&self, t: &Token) -> &'a str {
        self.input.get(t.start..t.end).unwrap_or("")
    }

    fn add_err(&mut self, pos: PosRange, msg: impl Into<String>) {
        self.errors.push(ParseErr::new(self.input, pos, msg));
    }

    /// An unclaimed error at the current token.
    fn unexpected(&self) -> Syntax {
        Syntax {
            tok: self.tok.clone(),
            claimed: false,
            reported: self.tok.tok == Tok::Error,
        }
    }

    /// Reports `s` with a context unless a deeper construct did.
    fn report(&mut self, s: &Syntax, context: Option<&str>, expected: Option<&str>) {
        if s.reported {
            return;
        }
        let mut msg = format!("unexpected {}", token_desc(self.input, &s.tok));
        if let Some(c) = context {
            msg.push_str(" in ");
            msg.push_str(c);
        }
        if let Some(e) = expected {
            msg.push_str(", expected ");
            msg.push_str(e);
        }
        let pos = PosRange::new(s.tok.start, s.tok.end);
        self.add_err(pos, msg);
    }

    /// Lets a construct with an error production claim an error raised
    /// inside it. Returns whether this construct was the one to claim it.
    fn claim(&mut self, mut s: Syntax, context: &str, expected: Option<&str>) -> (Syntax, bool) {
        if s.claimed {
            return (s, false);
        }
        self.report(&s, Some(context), expected);
        s.claimed = true;
        s.reported = true;
        (s, true)
    }

    /// A syntax error at the current token, reported with context now.
    fn fail(&mut self, context: &str, expected: &str) -> Syntax {
        let s = self.unexpected();
        self.claim(s, context, Some(expected)).0
    }

    /// Checks a new tree depth against [`MAX_DEPTH`].
    fn deeper(&mut self, depth: u32) -> PResult<u32> {
        if depth <= MAX_DEPTH {
            return Ok(depth);
        }
        let pos = PosRange::new(self.tok.start, self.tok.end);
        self.add_err(
            pos,
            format!("expression nesting too deep: more than {MAX_DEPTH} levels"),
        );
        Err(Syntax {
            tok: self.tok.clone(),
            claimed: true,
            reported: true,
        })
    }

    /// Counts one duration-expression node against [`MAX_DEPTH`].
    fn duration_node(&mut self) -> PResult<()> {
        self.duration_nodes += 1;
        let n = self.duration_nodes;
        self.deeper(n).map(|_| ())
    }

    fn expect(&mut self, t: Tok) -> PResult<Token> {
        if self.tok.tok == t {
            Ok(self.advance())
        } else {
            Err(self.unexpected())
        }
    }

    // ----- expressions -----

    /// Parses an expression whose binary operators bind at least `min_prec`.
    pub(crate) fn expr(&mut self, min_prec: u8) -> PResult<Expr> {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.expr_inner(min_prec))
    }

    fn expr_inner(&mut self, min_prec: u8) -> PResult<Expr> {
        let mut lhs = self.unary()?;
        let mut depth = self.depth;
        while let Some(op) = binary_op(self.tok.tok) {
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            self.advance();
            let matching = self.bin_modifiers()?;
            let next_min = if op.is_right_associative() {
                prec
            } else {
                prec + 1
            };
            let rhs = self.expr(next_min)?;
            depth = self.deeper(depth.max(self.depth) + 1)?;
            lhs = self.new_binary(lhs, op, matching, rhs);
        }
        self.depth = depth;
        Ok(lhs)
    }

    fn unary(&mut self) -> PResult<Expr> {
        let op = match self.tok.tok {
            Tok::Add => UnaryOp::Plus,
            Tok::Sub => UnaryOp::Neg,
            _ => {
                let e = self.primary()?;
                return self.postfix(e);
            }
        };
        let op_tok = self.advance();
        // Unary operators bind like `*`: only `^` binds tighter.
        let operand = self.expr(BinaryOp::Pow.precedence())?;
        if !matches!(operand, Expr::NumberLiteral(_)) {
            self.depth = self.deeper(self.depth + 1)?;
        }
        Ok(match operand {
            Expr::NumberLiteral(mut n) => {
                if op == UnaryOp::Neg {
                    n.value = -n.value;
                }
                n.pos.start = op_tok.start;
                Expr::NumberLiteral(n)
            }
            e => {
                let end = e.pos().end;
                Expr::Unary(UnaryExpr {
                    op,
                    expr: Box::new(e),
                    pos: PosRange::new(op_tok.start, end),
                })
            }
        })
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.tok.tok;
        self.depth = 1;
        match t {
            Tok::Number | Tok::Duration => {
                let lit = self.number_literal();
                Ok(Expr::NumberLiteral(lit))
            }
            Tok::String => {
                let tok = self.advance();
                Ok(Expr::StringLiteral(self.string_literal(&tok)))
            }
            Tok::LeftParen => {
                let open = self.advance();
                let inner = self.expr(0)?;
                let close = self.expect(Tok::RightParen)?;
                self.depth = self.deeper(self.depth + 1)?;
                Ok(Expr::Paren(ParenExpr {
                    expr: Box::new(inner),
                    pos: PosRange::new(open.start, close.end),
                }))
            }
            Tok::LeftBrace => Ok(Expr::VectorSelector(self.vector_selector(None)?)),
            _ if aggregate_op(t).is_some()
                && matches!(self.peek(), Tok::LeftParen | Tok::By | Tok::Without) =>
            {
                self.aggregation()
            }
            Tok::Identifier | Tok::Start | Tok::End | Tok::Step | Tok::Range
                if self.peek() == Tok::LeftParen =>
            {
                self.call()
            }
            _ if is_metric_identifier(t) => {
                let name = self.advance();
                Ok(Expr::VectorSelector(self.vector_selector(Some(name))?))
            }
            _ => Err(self.unexpected()),
        }
    }

    fn number_literal(&mut self) -> NumberLiteral {
        let tok = self.advance();
        let text = self.text(&tok);
        let pos = PosRange::new(tok.start, tok.end);
        if tok.tok == Tok::Duration {
            let value = match parse_duration(text) {
                Ok(d) => d.seconds(),
                Err(msg) => {
                    self.add_err(pos, msg);
                    0.0
                }
            };
            return NumberLiteral {
                value,
                duration: true,
                pos,
            };
        }
        let value = match parse_number(text) {
            Ok(v) => v,
            Err(msg) => {
                self.add_err(pos, msg);
                0.0
            }
        };
        NumberLiteral {
            value,
            duration: false,
            pos,
        }
    }

    fn string_literal(&mut self, tok: &Token) -> StringLiteral {
        let pos = PosRange::new(tok.start, tok.end);
        let bytes = self.unquote_token(tok);
        let (value, invalid_utf8) = match String::from_utf8(bytes) {
            Ok(s) => (s, None),
            Err(e) => {
                let raw = e.into_bytes();
                (String::from_utf8_lossy(&raw).into_owned(), Some(raw))
            }
        };
        StringLiteral {
            value,
            invalid_utf8,
            pos,
        }
    }

    fn unquote_token(&mut self, tok: &Token) -> Vec<u8> {
        let text = self.text(tok);
        match unquote(text) {
            Some(b) => b,
            None => {
                let msg = format!(
                    "error unquoting string {}: invalid syntax",
                    go_quote_str(text)
                );
                self.add_err(PosRange::new(tok.start, tok.end), msg);
                Vec::new()
            }
        }
    }

    // ----- postfix modifiers -----

    fn postfix(&mut self, mut e: Expr) -> PResult<Expr> {
        let mut depth = self.depth;
        loop {
            e = match self.tok.tok {
                Tok::LeftBracket => {
                    depth = self.deeper(depth + 1)?;
                    self.range_or_subquery(e)?
                }
                Tok::Offset => self.offset(e)?,
                Tok::At => self.at(e)?,
                Tok::Anchored | Tok::Smoothed => {
                    let t = self.advance();
                    self.set_extended(e, t.tok == Tok::Anchored)
                }
                _ => {
                    self.depth = depth;
                    return Ok(e);
                }
            };
        }
    }

    fn range_or_subquery(&mut self, e: Expr) -> PResult<Expr> {
        let open = self.advance();
        let range = match self.positive_duration() {
            Ok(d) => d,
            Err(s) => {
                return Err(self
                    .claim(
                        s,
                        "subquery or range selector",
                        Some("number, duration, step(), or range()"),
                    )
                    .0)
            }
        };
        match self.tok.tok {
            Tok::RightBracket => {
                let close = self.advance();
                Ok(self.new_matrix(e, range, PosRange::new(open.start, close.end)))
            }
            Tok::Colon => {
                self.advance();
                let step = if self.tok.tok == Tok::RightBracket {
                    None
                } else {
                    match self.positive_duration() {
                        Ok(d) => Some(d.into_arg()),
                        Err(s) => {
                            return Err(self
                                .claim(
                                    s,
                                    "subquery selector",
                                    Some("number, duration, step(), range(), or \"]\""),
                                )
                                .0)
                        }
                    }
                };
                if self.tok.tok != Tok::RightBracket {
                    return Err(self.fail("subquery selector", "\"]\""));
                }
                let close = self.advance();
                let start = e.pos().start;
                Ok(Expr::Subquery(SubqueryExpr {
                    expr: Box::new(e),
                    range: range.into_arg(),
                    step,
                    offset: None,
                    at: None,
                    pos: PosRange::new(start, close.end),
                }))
            }
            _ => Err(self.fail("subquery or range", "\":\" or \"]\"")),
        }
    }

    fn new_matrix(&mut self, e: Expr, range: Dur, brackets: PosRange) -> Expr {
        let msg = match &e {
            Expr::VectorSelector(vs) if vs.offset.is_some() => {
                Some("no offset modifiers allowed before range")
            }
            Expr::VectorSelector(vs) if vs.at.is_some() => {
                Some("no @ modifiers allowed before range")
            }
            Expr::VectorSelector(_) => None,
            _ => Some("ranges only allowed for vector selectors"),
        };
        if let Some(msg) = msg {
            self.add_err(brackets, msg);
        }
        let start = e.pos().start;
        let selector = match e {
            Expr::VectorSelector(vs) => vs,
            // Error already recorded; keep a placeholder so parsing goes on.
            _ => VectorSelector {
                name: None,
                matchers: Vec::new(),
                offset: None,
                at: None,
                anchored: false,
                smoothed: false,
                bypass_empty_matcher_check: false,
                pos: PosRange::new(start, start),
            },
        };
        Expr::MatrixSelector(MatrixSelector {
            selector,
            range: range.into_arg(),
            pos: PosRange::new(start, brackets.end),
        })
    }

    fn offset(&mut self, e: Expr) -> PResult<Expr> {
        self.advance();
        let dur = match self.offset_duration() {
            Ok(d) => d,
            Err(s) => {
                return Err(self
                    .claim(s, "offset", Some("number, duration, step(), or range()"))
                    .0)
            }
        };
        Ok(self.add_offset(e, dur.into_arg()))
    }

    fn add_offset(&mut self, mut e: Expr, off: DurationArg) -> Expr {
        let pos = e.pos();
        let end = self.last_closing;
        let (slot, end_slot) = match &mut e {
            Expr::VectorSelector(vs) => (&mut vs.offset, &mut vs.pos.end),
            Expr::MatrixSelector(ms) => (&mut ms.selector.offset, &mut ms.pos.end),
            Expr::Subquery(sq) => (&mut sq.offset, &mut sq.pos.end),
            _ => {
                self.add_err(
                    pos,
                    "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                );
                return e;
            }
        };
        if slot.is_some() {
            self.add_err(pos, "offset may not be set multiple times");
        } else if off != DurationArg::Fixed(Duration(0)) {
            *slot = Some(off);
        }
        *end_slot = end.max(*end_slot);
        e
    }

    fn at(&mut self, e: Expr) -> PResult<Expr> {
        self.advance();
        let at = match self.at_value() {
            Ok(a) => a,
            Err(s) => return Err(self.claim(s, "@", Some("timestamp")).0),
        };
        Ok(self.set_at(e, at))
    }

    fn at_value(&mut self) -> PResult<Result<AtModifier, f64>> {
        match self.tok.tok {
            Tok::Start | Tok::End => {
                let which = self.advance().tok;
                self.expect(Tok::LeftParen)?;
                self.expect(Tok::RightParen)?;
                Ok(Ok(if which == Tok::Start {
                    AtModifier::Start
                } else {
                    AtModifier::End
                }))
            }
            Tok::Add | Tok::Sub => {
                let neg = self.advance().tok == Tok::Sub;
                if !matches!(self.tok.tok, Tok::Number | Tok::Duration) {
                    return Err(self.unexpected());
                }
                let v = self.number_literal().value;
                Ok(Err(if neg { -v } else { v }))
            }
            Tok::Number | Tok::Duration => Ok(Err(self.number_literal().value)),
            _ => Err(self.unexpected()),
        }
    }

    fn set_at(&mut self, mut e: Expr, at: Result<AtModifier, f64>) -> Expr {
        let pos = e.pos();
        let at = match at {
            Ok(a) => a,
            Err(ts) => {
                if !ts.is_finite() || ts >= i64::MAX as f64 || ts <= i64::MIN as f64 {
                    let shown = if ts.is_nan() {
                        "NaN".to_string()
                    } else if ts.is_infinite() {
                        if ts > 0.0 { "+Inf" } else { "-Inf" }.to_string()
                    } else {
                        format!("{ts:.6}")
                    };
                    self.add_err(
                        pos,
                        format!("timestamp out of bounds for @ modifier: {shown}"),
                    );
                    AtModifier::Timestamp(0)
                } else {
                    AtModifier::Timestamp((ts * 1000.0).round() as i64)
                }
            }
        };
        let end = self.last_closing;
        let (slot, end_slot) = match &mut e {
            Expr::VectorSelector(vs) => (&mut vs.at, &mut vs.pos.end),
            Expr::MatrixSelector(ms) => (&mut ms.selector.at, &mut ms.pos.end),
            Expr::Subquery(sq) => (&mut sq.at, &mut sq.pos.end),
            _ => {
                self.add_err(
                    pos,
                    "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                );
                return e;
            }
        };
        if slot.is_some() {
            self.add_err(pos, "@ <timestamp> may not be set multiple times");
            return e;
        }
        *slot = Some(at);
        *end_slot = end.max(*end_slot);
        e
    }

    fn set_extended(&mut self, mut e: Expr, anchored: bool) -> Expr {
        let pos = e.pos();
        let name = if anchored { "anchored" } else { "smoothed" };
        if !self.opts.extended_range_selectors {
            self.add_err(
                pos,
                format!("{name} modifier is experimental and not enabled"),
            );
            return e;
        }
        let vs = match &mut e {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &mut ms.selector,
            Expr::Subquery(_) => {
                self.add_err(
                    pos,
                    format!("{name} modifier is not supported for subqueries"),
                );
                return e;
            }
            _ => {
                self.add_err(pos, format!("{name} modifier not implemented"));
                return e;
            }
        };
        if anchored {
            vs.anchored = true;
        } else {
            vs.smoothed = true;
        }
        if vs.anchored && vs.smoothed {
            self.add_err(
                pos,
                "anchored and smoothed modifiers cannot be used together",
            );
        }
        e
    }

    // ----- vector selectors -----

    fn vector_selector(&mut self, name: Option<Token>) -> PResult<VectorSelector> {
        let mut matchers = Vec::new();
        let mut pos = match &name {
            Some(t) => PosRange::new(t.start, t.end),
            None => PosRange::new(self.tok.start, self.tok.start),
        };
        if self.tok.tok == Tok::LeftBrace {
            let open = self.advance();
            let close = self.label_matchers(&mut matchers)?;
            pos = pos.merge(PosRange::new(open.start, close));
        }
        let name = name.map(|t| self.text(&t).to_string());
        if let Some(n) = &name {
            matchers.push(Matcher::equal(lookout_model::METRIC_NAME, n.clone()));
        }
        Ok(VectorSelector {
            name,
            matchers,
            offset: None,
            at: None,
            anchored: false,
            smoothed: false,
            bypass_empty_matcher_check: false,
            pos,
        })
    }

    /// Parses matchers after `{`; returns the end offset of `}`.
    fn label_matchers(&mut self, out: &mut Vec<Matcher>) -> PResult<usize> {
        if self.tok.tok == Tok::RightBrace {
            return Ok(self.advance().end);
        }
        loop {
            self.label_matcher(out)?;
            match self.tok.tok {
                Tok::Comma => {
                    self.advance();
                    if self.tok.tok == Tok::RightBrace {
                        return Ok(self.advance().end);
                    }
                }
                Tok::RightBrace => return Ok(self.advance().end),
                _ => return Err(self.fail("label matching", "\",\" or \"}\"")),
            }
        }
    }

    fn label_matcher(&mut self, out: &mut Vec<Matcher>) -> PResult<()> {
        let name_tok = match self.tok.tok {
            Tok::Identifier | Tok::String => self.advance(),
            _ => return Err(self.fail("label matching", "identifier or \"}\"")),
        };
        let name = if name_tok.tok == Tok::String {
            let bytes = self.unquote_token(&name_tok);
            let name = lossy(bytes);
            if match_op(self.tok.tok).is_none() {
                // A lone quoted string is the metric name.
                out.push(Matcher::equal(lookout_model::METRIC_NAME, name));
                return Ok(());
            }
            name
        } else {
            self.text(&name_tok).to_string()
        };
        let Some(op) = match_op(self.tok.tok) else {
            return Err(self.fail("label matching", "label matching operator"));
        };
        self.advance();
        if self.tok.tok != Tok::String {
            return Err(self.fail("label matching", "string"));
        }
        let value_tok = self.advance();
        let value = lossy(self.unquote_token(&value_tok));
        match crate::parser::matcher_cache::new_matcher(op, name, value) {
            Ok(m) => out.push(m),
            Err(e) => self.add_err(PosRange::new(name_tok.start, value_tok.end), e.message),
        }
        Ok(())
    }

    // ----- grouping labels -----

    fn grouping_labels(&mut self) -> PResult<Vec<String>> {
        if self.tok.tok != Tok::LeftParen {
            return Err(self.fail("grouping opts", "\"(\""));
        }
        self.advance();
        let mut labels = Vec::new();
        if self.tok.tok == Tok::RightParen {
            self.advance();
            return Ok(labels);
        }
        loop {
            let t = self.tok.tok;
            if t == Tok::String {
                let tok = self.advance();
                let bytes = self.unquote_token(&tok);
                let valid = !bytes.is_empty() && std::str::from_utf8(&bytes).is_ok();
                if !valid {
                    let msg = format!("invalid label name for grouping: {}", go_quote(&bytes));
                    self.add_err(PosRange::new(tok.start, tok.end), msg);
                }
                labels.push(lossy(bytes));
            } else if is_grouping_label(t) {
                let tok = self.advance();
                labels.push(self.text(&tok).to_string());
            } else {
                return Err(self.fail("grouping opts", "label"));
            }
            match self.tok.tok {
                Tok::Comma => {
                    self.advance();
                    if self.tok.tok == Tok::RightParen {
                        self.advance();
                        return Ok(labels);
                    }
                }
                Tok::RightParen => {
                    self.advance();
                    return Ok(labels);
                }
                _ => return Err(self.fail("grouping opts", "\",\" or \")\"")),
            }
        }
    }

    // ----- binary operators -----

    fn bin_modifiers(&mut self) -> PResult<(VectorMatching, bool)> {
        let mut vm = VectorMatching {
            card: VectorMatchCardinality::OneToOne,
            matching_labels: Vec::new(),
            on: false,
            include: Vec::new(),
            fill: FillValues::default(),
        };
        let mut return_bool = false;
        if self.tok.tok == Tok::Bool {
            self.advance();
            return_bool = true;
        }
        if matches!(self.tok.tok, Tok::On | Tok::Ignoring) {
            vm.on = self.advance().tok == Tok::On;
            vm.matching_labels = self.grouping_labels()?;
            if matches!(self.tok.tok, Tok::GroupLeft | Tok::GroupRight) {
                vm.card = if self.advance().tok == Tok::GroupLeft {
                    VectorMatchCardinality::ManyToOne
                } else {
                    VectorMatchCardinality::OneToMany
                };
                if self.tok.tok == Tok::LeftParen {
                    vm.include = self.grouping_labels()?;
                }
            }
        }
        while matches!(self.tok.tok, Tok::Fill | Tok::FillLeft | Tok::FillRight) {
            let which = self.advance().tok;
            self.expect(Tok::LeftParen)?;
            let neg = match self.tok.tok {
                Tok::Add | Tok::Sub => self.advance().tok == Tok::Sub,
                _ => false,
            };
            if !matches!(self.tok.tok, Tok::Number | Tok::Duration) {
                return Err(self.unexpected());
            }
            let mut v = self.number_literal().value;
            if neg {
                v = -v;
            }
            self.expect(Tok::RightParen)?;
            match which {
                Tok::Fill => {
                    vm.fill.lhs = Some(v);
                    vm.fill.rhs = Some(v);
                }
                Tok::FillLeft => vm.fill.lhs = Some(v),
                _ => vm.fill.rhs = Some(v),
            }
        }
        Ok((vm, return_bool))
    }

    fn new_binary(
        &mut self,
        lhs: Expr,
        op: BinaryOp,
        (matching, return_bool): (VectorMatching, bool),
        rhs: Expr,
    ) -> Expr {
        let pos = lhs.pos().merge(rhs.pos());
        if !self.opts.binop_fill_modifiers
            && (matching.fill.lhs.is_some() || matching.fill.rhs.is_some())
        {
            self.add_err(pos, "binop fill modifiers are experimental and not enabled");
        }
        Expr::Binary(BinaryExpr {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            matching: Some(matching),
            return_bool,
            pos,
        })
    }

    // ----- calls and aggregations -----

    fn call(&mut self) -> PResult<Expr> {
        let name_tok = self.advance();
        let name = self.text(&name_tok);
        let name_pos = PosRange::new(name_tok.start, name_tok.end);
        let func = match functions::lookup(name) {
            Some(f) => {
                if f.experimental && !self.opts.experimental_functions {
                    self.add_err(
                        name_pos,
                        format!("function {} is not enabled", go_quote_str(name)),
                    );
                }
                f
            }
            None => {
                self.add_err(
                    name_pos,
                    format!("unknown function with name {}", go_quote_str(name)),
                );
                &UNKNOWN_FUNCTION
            }
        };
        let (args, end) = self.call_body()?;
        self.depth = self.deeper(self.depth + 1)?;
        Ok(Expr::Call(Call {
            func,
            args,
            pos: PosRange::new(name_tok.start, end),
        }))
    }

    /// `( args )`; returns the arguments and the end offset of `)`.
    fn call_body(&mut self) -> PResult<(Vec<Expr>, usize)> {
        self.expect(Tok::LeftParen)?;
        let mut args = Vec::new();
        let mut depth = 0;
        if self.tok.tok == Tok::RightParen {
            self.depth = depth;
            return Ok((args, self.advance().end));
        }
        'args: loop {
            args.push(self.expr(0)?);
            depth = depth.max(self.depth);
            if self.tok.tok != Tok::Comma {
                break;
            }
            loop {
                let comma = self.advance();
                match self.tok.tok {
                    Tok::RightParen => {
                        self.add_err(
                            PosRange::new(comma.start, comma.end),
                            "trailing commas not allowed in function call args",
                        );
                        break 'args;
                    }
                    Tok::Comma => {
                        self.add_err(
                            PosRange::new(comma.start, comma.end),
                            "trailing commas not allowed in function call args",
                        );
                    }
                    _ => continue 'args,
                }
            }
        }
        let close = self.expect(Tok::RightParen)?;
        self.depth = depth;
        Ok((args, close.end))
    }

    fn aggregation(&mut self) -> PResult<Expr> {
        let op_tok = self.advance();
        let op = aggregate_op(op_tok.tok).unwrap_or(AggregateOp::Sum);
        match self.aggregation_body(op, &op_tok) {
            Ok(e) => Ok(e),
            Err(s) => {
                let (s, claimed) = self.claim(s, "aggregation", None);
                if claimed {
                    let pos = PosRange::new(op_tok.start, self.last_closing.max(op_tok.end));
                    self.add_err(pos, "no arguments for aggregate expression provided");
                }
                Err(s)
            }
        }
    }

    fn aggregation_body(&mut self, op: AggregateOp, op_tok: &Token) -> PResult<Expr> {
        let mut grouping = None;
        if matches!(self.tok.tok, Tok::By | Tok::Without) {
            let without = self.advance().tok == Tok::Without;
            grouping = Some((self.grouping_labels()?, without));
        }
        if self.tok.tok != Tok::LeftParen {
            return Err(self.unexpected());
        }
        let (args, mut end) = self.call_body()?;
        let depth = self.deeper(self.depth + 1)?;
        if grouping.is_none() && matches!(self.tok.tok, Tok::By | Tok::Without) {
            let without = self.advance().tok == Tok::Without;
            grouping = Some((self.grouping_labels()?, without));
            end = self.last_closing;
        }
        let (grouping, without) = grouping.unwrap_or_default();
        let pos = PosRange::new(op_tok.start, end);
        self.depth = depth;
        Ok(self.new_aggregate(op, args, grouping, without, pos))
    }

    fn new_aggregate(
        &mut self,
        op: AggregateOp,
        mut args: Vec<Expr>,
        grouping: Vec<String>,
        without: bool,
        pos: PosRange,
    ) -> Expr {
        let placeholder = |pos: PosRange| {
            Box::new(Expr::NumberLiteral(NumberLiteral {
                value: 0.0,
                duration: false,
                pos,
            }))
        };
        let mut agg = AggregateExpr {
            op,
            expr: placeholder(pos),
            param: None,
            grouping,
            without,
            pos,
        };
        if args.is_empty() {
            self.add_err(pos, "no arguments for aggregate expression provided");
            return Expr::Aggregate(agg);
        }
        let desired = if op.takes_param() {
            if op.is_experimental() && !self.opts.experimental_functions {
                self.add_err(
                    pos,
                    format!(
                        "{}() is experimental and must be enabled with --enable-feature=promql-experimental-functions",
                        op.as_str()
                    ),
                );
                return Expr::Aggregate(agg);
            }
            2
        } else {
            1
        };
        if args.len() != desired {
            self.add_err(
                pos,
                format!(
                    "wrong number of arguments for aggregate expression provided, expected {desired}, got {}",
                    args.len()
                ),
            );
            return Expr::Aggregate(agg);
        }
        if let Some(e) = args.pop() {
            agg.expr = Box::new(e);
        }
        if desired == 2 {
            agg.param = args.pop().map(Box::new);
        }
        Expr::Aggregate(agg)
    }
}
