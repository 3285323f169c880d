//! Prometheus' canonical one-line form of an expression (its `String()`),
//! as shown by the rules API and `promtool`. Printing a parsed tree and
//! parsing the result gives the same tree (positions aside).

use std::fmt::{self, Display, Formatter, Write};

use lookout_model::{MatchOp, Matcher, METRIC_NAME};

use crate::parser::ast::*;
use crate::parser::literals::{
    format_duration, format_float, format_float_fixed, seconds_to_duration,
};
use crate::parser::quote::{go_quote, go_quote_str};

/// Quotes a string for printing as PromQL. Like Go's `strconv.Quote`, except
/// that U+FFFD is escaped: the lexer (like upstream's) rejects it inside
/// string literals, so the printed query would not parse back.
fn quote_str(s: &str) -> String {
    escape_replacement_char(go_quote_str(s))
}

fn quote_bytes(b: &[u8]) -> String {
    escape_replacement_char(go_quote(b))
}

fn escape_replacement_char(quoted: String) -> String {
    if quoted.contains('\u{fffd}') {
        quoted.replace('\u{fffd}', "\\ufffd")
    } else {
        quoted
    }
}

fn is_legacy_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A label name, quoted when it is not a classic `[a-zA-Z_][a-zA-Z0-9_]*`.
fn write_label_name(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    if is_legacy_label_name(name) {
        f.write_str(name)
    } else {
        f.write_str(&quote_str(name))
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

/// A matcher as upstream prints it: `name="value"`, the name quoted when
/// it is not a classic label name.
pub(crate) fn matcher_string(m: &Matcher) -> String {
    let mut out = if is_legacy_label_name(&m.name) {
        m.name.clone()
    } else {
        quote_str(&m.name)
    };
    out.push_str(match m.op {
        MatchOp::Equal => "=",
        MatchOp::NotEqual => "!=",
        MatchOp::Regex => "=~",
        MatchOp::NotRegex => "!~",
    });
    out.push_str(&quote_str(&m.value));
    out
}

/// Whether the printer leaves `m` out because the selector's name says it.
pub(crate) fn is_name_matcher(vs: &VectorSelector, m: &Matcher) -> bool {
    vs.name.as_deref() == Some(m.value.as_str())
        && m.name == METRIC_NAME
        && m.op == MatchOp::Equal
        && !m.value.is_empty()
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
        Some(DurationArg::Expr(e)) => {
            let text = e.to_string();
            // After `offset`, a leading literal or function term ends the
            // offset (`x offset 5 + 1` is `(x offset 5) + 1`). A binary
            // expression that does not start with `(` or two signs came from
            // such a signed start (`offset - -5 + 1`); two unary pluses keep
            // it one expression when read back.
            let general =
                text.starts_with('(') || matches!(text.as_bytes(), [b'+' | b'-', b'+' | b'-', ..]);
            if matches!(**e, DurationExpr::Binary { .. }) && !general {
                write!(f, " offset + +{text}")
            } else {
                write!(f, " offset {text}")
            }
        }
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
        f.write_str(" anchored")
    } else if vs.smoothed {
        f.write_str(" smoothed")
    } else {
        Ok(())
    }
}

/// The selector's name and matchers, without modifiers. Like upstream,
/// matchers are sorted by their printed form and joined with `,`.
fn write_selector_body(f: &mut Formatter<'_>, vs: &VectorSelector) -> fmt::Result {
    let mut shown: Vec<String> = vs
        .matchers
        .iter()
        .filter(|m| !is_name_matcher(vs, m))
        .map(matcher_string)
        .collect();
    if let Some(name) = &vs.name {
        f.write_str(name)?;
    }
    if shown.is_empty() {
        if vs.name.is_none() {
            // Only reachable for `info()`'s selector argument; upstream
            // prints nothing, which would not parse back.
            f.write_str("{}")?;
        }
        return Ok(());
    }
    shown.sort();
    f.write_char('{')?;
    f.write_str(&shown.join(","))?;
    f.write_char('}')
}

impl Display for VectorSelector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_selector_body(f, self)?;
        write_at(f, &self.at)?;
        write_extended(f, self)?;
        write_offset(f, &self.offset)
    }
}

impl Display for MatrixSelector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_selector_body(f, &self.selector)?;
        write!(f, "[{}]", self.range)?;
        write_extended(f, &self.selector)?;
        write_at(f, &self.selector.at)?;
        write_offset(f, &self.selector.offset)
    }
}

impl Display for NumberLiteral {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.duration && self.value.is_finite() {
            if self.value.is_sign_negative() {
                // Also keeps `-0s` distinct from `0s` when read back.
                f.write_char('-')?;
                return write_fixed_duration(f, seconds_to_duration(-self.value));
            }
            return write_fixed_duration(f, seconds_to_duration(self.value));
        }
        f.write_str(&format_float_fixed(self.value))
    }
}

impl Display for StringLiteral {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.invalid_utf8 {
            Some(bytes) => f.write_str(&quote_bytes(bytes)),
            None => f.write_str(&quote_str(&self.value)),
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
        (Some(l), Some(r)) if same(l, r) => write!(f, " fill ({})", format_float(l)),
        (l, r) => {
            if let Some(l) = l {
                write!(f, " fill_left ({})", format_float(l))?;
            }
            if let Some(r) = r {
                write!(f, " fill_right ({})", format_float(r))?;
            }
            Ok(())
        }
    }
}

impl Display for BinaryExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &*self.lhs {
            // `+Inf ^ 2` would read back as `+(Inf ^ 2)`: `^` binds tighter
            // than a sign, so drop the `+` upstream prints.
            Expr::NumberLiteral(n)
                if self.op == BinaryOp::Pow && n.value == f64::INFINITY && !n.duration =>
            {
                f.write_str("Inf")?
            }
            lhs => lhs.fmt(f)?,
        }
        write!(f, " {}", self.op.as_str())?;
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

impl Expr {
    /// Clears positions and puts every selector's matchers in the order the
    /// printer writes them (sorted, the metric name's matcher last), so two
    /// trees that print the same compare equal. Used to check round trips.
    pub fn canonicalize(&mut self) {
        self.clear_positions();
        sort_matchers(self);
    }
}

fn sort_selector(vs: &mut VectorSelector) {
    let mut named = Vec::new();
    let mut rest = Vec::new();
    for m in vs.matchers.drain(..) {
        if vs.name.as_deref() == Some(m.value.as_str())
            && m.name == METRIC_NAME
            && m.op == MatchOp::Equal
            && !m.value.is_empty()
        {
            named.push(m);
        } else {
            rest.push((matcher_string(&m), m));
        }
    }
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    vs.matchers = rest.into_iter().map(|(_, m)| m).chain(named).collect();
}

fn sort_matchers(e: &mut Expr) {
    stacker::maybe_grow(128 * 1024, 2 * 1024 * 1024, || match e {
        Expr::VectorSelector(vs) => sort_selector(vs),
        Expr::MatrixSelector(m) => sort_selector(&mut m.selector),
        Expr::Subquery(s) => sort_matchers(&mut s.expr),
        Expr::Binary(b) => {
            sort_matchers(&mut b.lhs);
            sort_matchers(&mut b.rhs);
        }
        Expr::Unary(u) => sort_matchers(&mut u.expr),
        Expr::Paren(p) => sort_matchers(&mut p.expr),
        Expr::Call(c) => c.args.iter_mut().for_each(sort_matchers),
        Expr::Aggregate(a) => {
            sort_matchers(&mut a.expr);
            if let Some(p) = &mut a.param {
                sort_matchers(p);
            }
        }
        Expr::StepInvariant(s) => sort_matchers(&mut s.expr),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
    })
}
