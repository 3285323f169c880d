//! Duration expressions in ranges, subquery steps and offsets.
//!
//! Ranges and steps take a full duration expression (`[5m + step()]`).
//! After `offset`, a bare (signed) literal or function term ends the offset
//! (`x offset 5m + 1` is `(x offset 5m) + 1`) and only a parenthesised start
//! reads a whole expression, which is how upstream's grammar resolves it.

use super::{PResult, Parser, STACK_RED_ZONE, STACK_SEGMENT};
use crate::parser::ast::*;
use crate::parser::lexer::Tok;
use crate::parser::literals::{duration_out_of_range, seconds_to_duration};

/// A parsed duration term with its sign-folding state.
pub(super) enum Dur {
    Fixed(NumberLiteral),
    Expr(DurationExpr),
}

impl Dur {
    pub(super) fn into_expr(self) -> DurationExpr {
        match self {
            Dur::Fixed(n) => DurationExpr::Number(n),
            Dur::Expr(e) => e,
        }
    }

    pub(super) fn pos(&self) -> PosRange {
        match self {
            Dur::Fixed(n) => n.pos,
            Dur::Expr(e) => e.pos(),
        }
    }

    pub(super) fn into_arg(self) -> DurationArg {
        match self {
            Dur::Fixed(n) => DurationArg::Fixed(seconds_to_duration(n.value)),
            Dur::Expr(DurationExpr::Number(n)) => DurationArg::Fixed(seconds_to_duration(n.value)),
            Dur::Expr(e) => DurationArg::Expr(Box::new(e)),
        }
    }
}

impl Parser<'_> {
    /// A duration in a range or subquery step: must be positive when fixed.
    pub(super) fn positive_duration(&mut self) -> PResult<Dur> {
        let d = self.duration_expr(0)?;
        if let Dur::Fixed(n) = &d {
            if n.value <= 0.0 {
                let pos = n.pos;
                self.add_err(pos, "duration must be greater than 0");
                return Ok(Dur::Fixed(NumberLiteral {
                    value: 0.0,
                    duration: false,
                    pos,
                }));
            }
        }
        Ok(d)
    }

    pub(super) fn check_literal_range(
        &mut self,
        mut n: NumberLiteral,
        err_pos: PosRange,
    ) -> NumberLiteral {
        if duration_out_of_range(n.value) {
            self.add_err(err_pos, "duration out of range");
            n.value = 0.0;
        }
        n
    }

    pub(super) fn duration_literal(&mut self) -> NumberLiteral {
        let n = self.number_literal();
        let pos = n.pos;
        self.check_literal_range(n, pos)
    }

    pub(super) fn is_min_max(&self) -> Option<bool> {
        match self.tok.tok {
            Tok::MinOf => Some(true),
            Tok::MaxOf => Some(false),
            Tok::Identifier => {
                let t = self.text(&self.tok).to_ascii_lowercase();
                match t.as_str() {
                    "min_of" => Some(true),
                    "max_of" => Some(false),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// `step()`, `range()`, `min_of(a, b)`, `max_of(a, b)`, or `None` when
    /// the current token starts none of them.
    pub(super) fn duration_call(&mut self) -> PResult<Option<DurationExpr>> {
        if matches!(self.tok.tok, Tok::Step | Tok::Range) {
            let t = self.advance();
            self.expect(Tok::LeftParen)?;
            let close = self.expect(Tok::RightParen)?;
            let pos = PosRange::new(t.start, close.end);
            return Ok(Some(if t.tok == Tok::Step {
                DurationExpr::Step { pos }
            } else {
                DurationExpr::Range { pos }
            }));
        }
        if let Some(is_min) = self.is_min_max() {
            let t = self.advance();
            self.expect(Tok::LeftParen)?;
            let lhs = self.duration_expr(0)?.into_expr();
            self.expect(Tok::Comma)?;
            let rhs = self.duration_expr(0)?.into_expr();
            let close = self.expect(Tok::RightParen)?;
            let pos = PosRange::new(t.start, close.end);
            let (lhs, rhs) = (Box::new(lhs), Box::new(rhs));
            return Ok(Some(if is_min {
                DurationExpr::MinOf { lhs, rhs, pos }
            } else {
                DurationExpr::MaxOf { lhs, rhs, pos }
            }));
        }
        Ok(None)
    }

    /// The offset grammar: a bare (signed) literal or function term ends the
    /// offset, so `x offset 5m + 1` is `(x offset 5m) + 1`; a parenthesised
    /// start reads a whole duration expression.
    pub(super) fn offset_duration(&mut self) -> PResult<Dur> {
        self.duration_node()?;
        match self.tok.tok {
            Tok::Number | Tok::Duration => Ok(Dur::Fixed(self.duration_literal())),
            Tok::Add | Tok::Sub => {
                let next = self.peek();
                let is_min_max = next == Tok::Identifier && {
                    let t = self
                        .peeked
                        .as_ref()
                        .map(|t| self.text(t).to_ascii_lowercase());
                    matches!(t.as_deref(), Some("min_of" | "max_of"))
                };
                if !(matches!(
                    next,
                    Tok::Number | Tok::Duration | Tok::Step | Tok::Range | Tok::LeftParen
                ) || is_min_max)
                {
                    return self.duration_expr(0);
                }
                let op = self.advance();
                let neg = op.tok == Tok::Sub;
                match self.tok.tok {
                    Tok::Number | Tok::Duration => {
                        let mut n = self.number_literal();
                        if neg {
                            n.value = -n.value;
                        }
                        n.pos.start = op.start;
                        Ok(Dur::Fixed(
                            self.check_literal_range(n, PosRange::new(op.start, op.end)),
                        ))
                    }
                    Tok::LeftParen => {
                        let open = self.advance();
                        let inner = self.duration_expr(0)?.into_expr();
                        let close = self.expect(Tok::RightParen)?;
                        let paren = DurationExpr::Paren {
                            expr: Box::new(inner),
                            pos: PosRange::new(open.start, close.end),
                        };
                        Ok(Dur::Expr(Self::signed(paren, neg, op.start)))
                    }
                    _ => {
                        let term = self.duration_call()?.ok_or_else(|| self.unexpected())?;
                        Ok(Dur::Expr(Self::signed(term, neg, op.start)))
                    }
                }
            }
            Tok::LeftParen => self.duration_expr(0),
            _ => match self.duration_call()? {
                Some(e) => Ok(Dur::Expr(e)),
                None => Err(self.unexpected()),
            },
        }
    }

    pub(super) fn signed(e: DurationExpr, neg: bool, start: usize) -> DurationExpr {
        // Callers count the node (see `duration_node`).
        if !neg {
            return e;
        }
        let end = e.pos().end;
        DurationExpr::Negate {
            expr: Box::new(e),
            pos: PosRange::new(start, end),
        }
    }

    pub(super) fn duration_expr(&mut self, min_prec: u8) -> PResult<Dur> {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || {
            self.duration_expr_inner(min_prec)
        })
    }

    pub(super) fn duration_expr_inner(&mut self, min_prec: u8) -> PResult<Dur> {
        let mut lhs = self.duration_unary()?;
        loop {
            let op = match self.tok.tok {
                Tok::Add => DurationOp::Add,
                Tok::Sub => DurationOp::Sub,
                Tok::Mul => DurationOp::Mul,
                Tok::Div => DurationOp::Div,
                Tok::Mod => DurationOp::Mod,
                Tok::Pow => DurationOp::Pow,
                _ => break,
            };
            let prec = match op {
                DurationOp::Add | DurationOp::Sub => 4,
                DurationOp::Mul | DurationOp::Div | DurationOp::Mod => 5,
                DurationOp::Pow => 6,
            };
            if prec < min_prec {
                break;
            }
            let op_tok = self.advance();
            self.experimental_duration_expr(lhs.pos());
            let next_min = if op == DurationOp::Pow {
                prec
            } else {
                prec + 1
            };
            let rhs = self.duration_expr(next_min)?;
            if matches!(op, DurationOp::Div | DurationOp::Mod) {
                if let Dur::Fixed(n) = &rhs {
                    if n.value == 0.0 {
                        let msg = if op == DurationOp::Div {
                            "division by zero"
                        } else {
                            "modulo by zero"
                        };
                        self.add_err(PosRange::new(op_tok.start, op_tok.end), msg);
                        lhs = Dur::Fixed(NumberLiteral {
                            value: 0.0,
                            duration: false,
                            pos: lhs.pos().merge(n.pos),
                        });
                        continue;
                    }
                }
            }
            let pos = lhs.pos().merge(rhs.pos());
            self.duration_node()?;
            lhs = Dur::Expr(DurationExpr::Binary {
                op,
                lhs: Box::new(lhs.into_expr()),
                rhs: Box::new(rhs.into_expr()),
                pos,
            });
        }
        Ok(lhs)
    }

    pub(super) fn experimental_duration_expr(&mut self, pos: PosRange) {
        if !self.opts.duration_expr {
            self.add_err(pos, "experimental duration expression is not enabled");
        }
    }

    pub(super) fn duration_unary(&mut self) -> PResult<Dur> {
        self.duration_node()?;
        match self.tok.tok {
            Tok::Add | Tok::Sub => {
                let op = self.advance();
                let operand = self.duration_expr(6)?;
                Ok(match operand {
                    Dur::Fixed(mut n) => {
                        if op.tok == Tok::Sub {
                            n.value = -n.value;
                        }
                        n.pos.start = op.start;
                        Dur::Fixed(self.check_literal_range(n, PosRange::new(op.start, op.end)))
                    }
                    Dur::Expr(e) => Dur::Expr(Self::signed(e, op.tok == Tok::Sub, op.start)),
                })
            }
            Tok::Number | Tok::Duration => Ok(Dur::Fixed(self.duration_literal())),
            Tok::LeftParen => {
                let open = self.advance();
                let inner = self.duration_expr(0)?;
                let close = self.expect(Tok::RightParen)?;
                self.experimental_duration_expr(inner.pos());
                Ok(Dur::Expr(DurationExpr::Paren {
                    expr: Box::new(inner.into_expr()),
                    pos: PosRange::new(open.start, close.end),
                }))
            }
            _ => match self.duration_call()? {
                Some(e) => Ok(Dur::Expr(e)),
                None => Err(self.unexpected()),
            },
        }
    }
}
