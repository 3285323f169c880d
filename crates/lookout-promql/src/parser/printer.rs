//! Prometheus' canonical one-line form of an expression (its `String()`),
//! as shown by the rules API and `promtool`. Printing a parsed tree and
//! parsing the result gives the same tree (positions aside).

use std::fmt::{self, Display, Formatter, Write};

use lookout_model::{MatchOp, Matcher, METRIC_NAME};

use crate::parser::ast::*;
use crate::parser::literals::{format_duration, format_float, seconds_to_duration};
use crate::parser::quote::{go_quote, go_quote_str};

fn is_legacy_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_legacy_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// A label name, quoted when it is not a classic `[a-zA-Z_][a-zA-Z0-9_]*`.
fn write_label_name(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    if is_legacy_label_name(name) {
        f.write_str(name)
    } else {
        f.write_str(&go_quote_str(name))
    }
}

fn write_label_list(f: &mut Formatter<'_>, labels: &[String]) -> fmt::Result {
    f.write_char('(')?;
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_label_name(f, l)?;
    }
    f.write_char(')')
}

fn write_matcher(f: &mut Formatter<'_>, m: &Matcher) -> fmt::Result {
    write_label_name(f, &m.name)?;
    f.write_str(match m.op {
        MatchOp::Equal => "=",
        MatchOp::NotEqual => "!=",
        MatchOp::Regex => "=~",
        MatchOp::NotRegex => "!~",
    })?;
    f.write_str(&go_quote_str(&m.value))
}

fn write_fixed_duration(f: &mut Formatter<'_>, d: Duration) -> fmt::Result {
    f.write_str(&format_duration(d))
}

impl Display for DurationArg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            DurationArg::Fixed(d) => write_fixed_duration(f, *d),
            DurationArg::Expr(e) => e.fmt(f),
        }
    }
}

fn write_offset(f: &mut Formatter<'_>, offset: &Option<DurationArg>) -> fmt::Result {
    match offset {
        None => Ok(()),
        Some(DurationArg::Fixed(d)) if d.0 == 0 => Ok(()),
        Some(DurationArg::Fixed(d)) => {
            f.write_str(" offset ")?;
            write_fixed_duration(f, *d)
        }
        Some(DurationArg::Expr(e)) => write!(f, " offset {e}"),
    }
}

fn write_at(f: &mut Formatter<'_>, at: &Option<AtModifier>) -> fmt::Result {
    match at {
        None => Ok(()),
        Some(AtModifier::Start) => f.write_str(" @ start()"),
        Some(AtModifier::End) => f.write_str(" @ end()"),
        Some(AtModifier::Timestamp(ms)) => write!(f, " @ {:.3}", *ms as f64 / 1000.0),
    }
}

fn write_extended(f: &mut Formatter<'_>, vs: &VectorSelector) -> fmt::Result {
    if vs.anchored {
        f.write_str(" anchored")?;
    }
    if vs.smoothed {
        f.write_str(" smoothed")?;
    }
    Ok(())
}

/// The selector's name and matchers, without modifiers.
fn write_selector_body(f: &mut Formatter<'_>, vs: &VectorSelector) -> fmt::Result {
    let shown: Vec<&Matcher> = vs
        .matchers
        .iter()
        .filter(|m| {
            !(vs.name.as_deref() == Some(m.value.as_str())
                && m.name == METRIC_NAME
                && m.op == MatchOp::Equal
                && !m.value.is_empty())
        })
        .collect();
    let mut quoted_name = None;
    if let Some(name) = &vs.name {
        if is_legacy_metric_name(name) {
            f.write_str(name)?;
        } else {
            quoted_name = Some(name.as_str());
        }
    }
    if shown.is_empty() && quoted_name.is_none() {
        if vs.name.is_none() {
            f.write_str("{}")?;
        }
        return Ok(());
    }
    f.write_char('{')?;
    let mut first = true;
    if let Some(n) = quoted_name {
        f.write_str(&go_quote_str(n))?;
        first = false;
    }
    for m in shown {
        if !first {
            f.write_str(", ")?;
        }
        first = false;
        write_matcher(f, m)?;
    }
    f.write_char('}')
}

impl Display for VectorSelector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_selector_body(f, self)?;
        write_at(f, &self.at)?;
        write_offset(f, &self.offset)?;
        write_extended(f, self)
    }
}

impl Display for MatrixSelector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_selector_body(f, &self.selector)?;
        write!(f, "[{}]", self.range)?;
        write_at(f, &self.selector.at)?;
        write_offset(f, &self.selector.offset)?;
        write_extended(f, &self.selector)
    }
}

impl Display for NumberLiteral {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.duration && self.value.is_finite() {
            return write_fixed_duration(f, seconds_to_duration(self.value));
        }
        f.write_str(&format_float(self.value))
    }
}

impl Display for StringLiteral {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.invalid_utf8 {
            Some(bytes) => f.write_str(&go_quote(bytes)),
            None => f.write_str(&go_quote_str(&self.value)),
        }
    }
}

impl Display for DurationExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        stacker::maybe_grow(128 * 1024, 2 * 1024 * 1024, || match self {
            DurationExpr::Number(n) => n.fmt(f),
            DurationExpr::Negate { expr, .. } => write!(f, "-{expr}"),
            DurationExpr::Binary { op, lhs, rhs, .. } => {
                let op = match op {
                    DurationOp::Add => "+",
                    DurationOp::Sub => "-",
                    DurationOp::Mul => "*",
                    DurationOp::Div => "/",
                    DurationOp::Mod => "%",
                    DurationOp::Pow => "^",
                };
                write!(f, "{lhs} {op} {rhs}")
            }
            DurationExpr::Step { .. } => f.write_str("step()"),
            DurationExpr::Range { .. } => f.write_str("range()"),
            DurationExpr::MinOf { lhs, rhs, .. } => write!(f, "min_of({lhs}, {rhs})"),
            DurationExpr::MaxOf { lhs, rhs, .. } => write!(f, "max_of({lhs}, {rhs})"),
            DurationExpr::Paren { expr, .. } => write!(f, "({expr})"),
        })
    }
}

fn write_fill(f: &mut Formatter<'_>, fill: &FillValues) -> fmt::Result {
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    match (fill.lhs, fill.rhs) {
        (Some(l), Some(r)) if same(l, r) => write!(f, " fill({})", format_float(l)),
        (l, r) => {
            if let Some(l) = l {
                write!(f, " fill_left({})", format_float(l))?;
            }
            if let Some(r) = r {
                write!(f, " fill_right({})", format_float(r))?;
            }
            Ok(())
        }
    }
}

impl Display for BinaryExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.lhs, self.op.as_str())?;
        if self.return_bool {
            f.write_str(" bool")?;
        }
        if let Some(vm) = &self.matching {
            let grouped = matches!(
                vm.card,
                VectorMatchCardinality::ManyToOne | VectorMatchCardinality::OneToMany
            );
            if !vm.matching_labels.is_empty() || vm.on || grouped {
                f.write_str(if vm.on { " on " } else { " ignoring " })?;
                write_label_list(f, &vm.matching_labels)?;
                if grouped {
                    f.write_str(if vm.card == VectorMatchCardinality::ManyToOne {
                        " group_left "
                    } else {
                        " group_right "
                    })?;
                    write_label_list(f, &vm.include)?;
                }
            }
            write_fill(f, &vm.fill)?;
        }
        write!(f, " {}", self.rhs)
    }
}

impl Display for AggregateExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.as_str())?;
        if self.without {
            f.write_str(" without ")?;
            write_label_list(f, &self.grouping)?;
            f.write_char(' ')?;
        } else if !self.grouping.is_empty() {
            f.write_str(" by ")?;
            write_label_list(f, &self.grouping)?;
            f.write_char(' ')?;
        }
        f.write_char('(')?;
        if let Some(p) = &self.param {
            write!(f, "{p}, ")?;
        }
        write!(f, "{})", self.expr)
    }
}

impl Display for Call {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.func.name)?;
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            a.fmt(f)?;
        }
        f.write_char(')')
    }
}

impl Display for SubqueryExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}:", self.expr, self.range)?;
        if let Some(step) = &self.step {
            step.fmt(f)?;
        }
        f.write_char(']')?;
        write_at(f, &self.at)?;
        write_offset(f, &self.offset)
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        stacker::maybe_grow(128 * 1024, 2 * 1024 * 1024, || match self {
            Expr::NumberLiteral(n) => n.fmt(f),
            Expr::StringLiteral(s) => s.fmt(f),
            Expr::VectorSelector(v) => v.fmt(f),
            Expr::MatrixSelector(m) => m.fmt(f),
            Expr::Subquery(s) => s.fmt(f),
            Expr::Binary(b) => b.fmt(f),
            Expr::Unary(u) => {
                f.write_str(match u.op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Plus => "+",
                })?;
                u.expr.fmt(f)
            }
            Expr::Paren(p) => write!(f, "({})", p.expr),
            Expr::Call(c) => c.fmt(f),
            Expr::Aggregate(a) => a.fmt(f),
            Expr::StepInvariant(s) => s.expr.fmt(f),
        })
    }
}
