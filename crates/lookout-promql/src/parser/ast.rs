//! The PromQL syntax tree produced by [`crate::parser::parse`].
//!
//! The node set mirrors what Prometheus v3.14 can express. Every node carries
//! its source span ([`PosRange`], byte offsets into the query text) so errors
//! and annotations can point at the text that caused them.
//!
//! Conventions the evaluator relies on:
//! * A unary minus applied directly to a number literal is folded into the
//!   literal (`-1` is `NumberLiteral(-1)`), as upstream does.
//! * A vector selector's `matchers` include the `__name__` matcher implied by a
//!   metric name written outside the braces.
//! * Durations are Go-style signed nanoseconds ([`Duration`]); the engine
//!   works in milliseconds via [`Duration::millis`].
//! * An offset of zero is stored as `None`.

use lookout_model::Matcher;

use crate::parser::functions::Function;

/// A byte range `start..end` into the query text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PosRange {
    /// Offset of the first byte of the node.
    pub start: usize,
    /// Offset one past the last byte of the node.
    pub end: usize,
}

impl PosRange {
    /// A range from `start` to `end`.
    pub const fn new(start: usize, end: usize) -> Self {
        PosRange { start, end }
    }

    /// The smallest range covering both.
    pub fn merge(self, other: PosRange) -> PosRange {
        PosRange {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// A signed span of time in nanoseconds, with the range of Go's
/// `time.Duration` (about ±292 years).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub i64);

impl Duration {
    /// Nanoseconds in one millisecond.
    pub const NANOS_PER_MILLI: i64 = 1_000_000;

    /// The duration in whole milliseconds, truncated toward zero as the
    /// upstream engine does.
    pub const fn millis(self) -> i64 {
        self.0 / Self::NANOS_PER_MILLI
    }

    /// The duration in nanoseconds.
    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// A duration of `ms` milliseconds (saturating).
    pub const fn from_millis(ms: i64) -> Self {
        Duration(ms.saturating_mul(Self::NANOS_PER_MILLI))
    }

    /// The duration in (fractional) seconds.
    pub fn seconds(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

/// The type of value an expression evaluates to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// No value (only used for invalid trees).
    None,
    /// An instant vector.
    Vector,
    /// A scalar.
    Scalar,
    /// A range vector.
    Matrix,
    /// A string.
    String,
}

impl ValueType {
    /// The name upstream uses in messages ("instant vector", "scalar", ...).
    pub fn document_name(self) -> &'static str {
        match self {
            ValueType::None => "none",
            ValueType::Vector => "instant vector",
            ValueType::Scalar => "scalar",
            ValueType::Matrix => "range vector",
            ValueType::String => "string",
        }
    }

    /// The short name used in API responses ("vector", "matrix", ...).
    pub fn api_name(self) -> &'static str {
        match self {
            ValueType::None => "none",
            ValueType::Vector => "vector",
            ValueType::Scalar => "scalar",
            ValueType::Matrix => "matrix",
            ValueType::String => "string",
        }
    }
}

/// A PromQL expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A float literal such as `1`, `0x1f`, `Inf` or a duration literal used
    /// as a number (`5m` is 300).
    NumberLiteral(NumberLiteral),
    /// A string literal.
    StringLiteral(StringLiteral),
    /// An instant vector selector `name{matchers} @ t offset d`.
    VectorSelector(VectorSelector),
    /// A range vector selector `name{matchers}[range] @ t offset d`.
    MatrixSelector(MatrixSelector),
    /// A subquery `expr[range:step] @ t offset d`.
    Subquery(SubqueryExpr),
    /// A binary operation.
    Binary(BinaryExpr),
    /// Unary minus or plus applied to a non-literal.
    Unary(UnaryExpr),
    /// An expression in parentheses.
    Paren(ParenExpr),
    /// A function call.
    Call(Call),
    /// An aggregation such as `sum by (job) (x)`.
    Aggregate(AggregateExpr),
    /// Never produced by the parser: the engine may wrap subtrees whose value
    /// does not change between steps (upstream's `StepInvariantExpr`). The
    /// printer prints the inner expression.
    StepInvariant(StepInvariantExpr),
}

/// A number literal.
#[derive(Clone, Debug, PartialEq)]
pub struct NumberLiteral {
    /// The value (a duration literal's value is in seconds).
    pub value: f64,
    /// Whether it was written as a duration (`5m`), which the printer keeps.
    pub duration: bool,
    /// Source span.
    pub pos: PosRange,
}

/// A string literal, already unescaped.
#[derive(Clone, Debug, PartialEq)]
pub struct StringLiteral {
    /// The value. When the unescaped bytes are not valid UTF-8 (possible with
    /// `\xNN` and octal escapes), this is the lossy conversion and
    /// `invalid_utf8` holds the exact bytes.
    pub value: String,
    /// The exact bytes, present only when they are not valid UTF-8. Upstream
    /// keeps such bytes and later rejects them (e.g. `invalid label name
    /// "a\xc5z"`), so the evaluator needs them.
    pub invalid_utf8: Option<Vec<u8>>,
    /// Source span, including the quotes.
    pub pos: PosRange,
}

/// The `@` modifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtModifier {
    /// `@ <timestamp>`, in milliseconds since the epoch.
    Timestamp(i64),
    /// `@ start()`: the query's start time.
    Start,
    /// `@ end()`: the query's end time.
    End,
}

/// A duration in a range, subquery step or offset position.
#[derive(Clone, Debug, PartialEq)]
pub enum DurationArg {
    /// Known at parse time: a number or duration literal, optionally signed.
    Fixed(Duration),
    /// Arithmetic, `step()`, `range()`, `min_of`/`max_of`: computed by the
    /// engine per query (feature `promql-duration-expr`, on by default in
    /// v3.14).
    Expr(Box<DurationExpr>),
}

/// Binary operators allowed inside duration expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DurationOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
}

/// A duration expression such as `5m + 30s`, `step() * 2` or
/// `max_of(range(), 1m)`. Numbers are seconds.
#[derive(Clone, Debug, PartialEq)]
pub enum DurationExpr {
    /// A number or duration literal (signs already folded in).
    Number(NumberLiteral),
    /// Unary minus of a non-literal term (`-step()`); unary plus is dropped.
    Negate {
        /// The negated term.
        expr: Box<DurationExpr>,
        /// Source span.
        pos: PosRange,
    },
    /// A binary operation.
    Binary {
        /// The operator.
        op: DurationOp,
        /// Left operand.
        lhs: Box<DurationExpr>,
        /// Right operand.
        rhs: Box<DurationExpr>,
        /// Source span.
        pos: PosRange,
    },
    /// `step()`: the query's resolution step.
    Step {
        /// Source span.
        pos: PosRange,
    },
    /// `range()`: the query's end minus start.
    Range {
        /// Source span.
        pos: PosRange,
    },
    /// `min_of(a, b)`.
    MinOf {
        /// First operand.
        lhs: Box<DurationExpr>,
        /// Second operand.
        rhs: Box<DurationExpr>,
        /// Source span.
        pos: PosRange,
    },
    /// `max_of(a, b)`.
    MaxOf {
        /// First operand.
        lhs: Box<DurationExpr>,
        /// Second operand.
        rhs: Box<DurationExpr>,
        /// Source span.
        pos: PosRange,
    },
    /// A parenthesised duration expression.
    Paren {
        /// The inner expression.
        expr: Box<DurationExpr>,
        /// Source span, including the parentheses.
        pos: PosRange,
    },
}

/// An instant vector selector.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorSelector {
    /// The metric name when written outside the braces (`foo{}`); `None`
    /// for `{job="x"}` and for names written inside them (`{"foo"}`), which
    /// only appear as a `__name__` matcher.
    pub name: Option<String>,
    /// All matchers, including the `__name__` matcher implied by `name`.
    pub matchers: Vec<Matcher>,
    /// `offset`, as written; `None` when absent or zero.
    pub offset: Option<DurationArg>,
    /// `@` modifier.
    pub at: Option<AtModifier>,
    /// `anchored` modifier (feature `promql-extended-range-selectors`).
    pub anchored: bool,
    /// `smoothed` modifier (feature `promql-extended-range-selectors`).
    pub smoothed: bool,
    /// Set for the label-selector argument of `info()`, which is exempt from
    /// the "at least one non-empty matcher" rule.
    pub bypass_empty_matcher_check: bool,
    /// Source span: name and braces, extended over `offset` and `@`
    /// modifiers as upstream does (`anchored`/`smoothed` do not extend it).
    pub pos: PosRange,
}

/// A range vector selector. The range lives here; `@`, `offset`,
/// `anchored` and `smoothed` live on the inner selector, as upstream.
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixSelector {
    /// The selector the range applies to.
    pub selector: VectorSelector,
    /// The range; a fixed range is always greater than zero.
    pub range: DurationArg,
    /// Source span up to and including `]`, extended over `offset`/`@`.
    pub pos: PosRange,
}

/// A subquery.
#[derive(Clone, Debug, PartialEq)]
pub struct SubqueryExpr {
    /// The inner instant-vector expression.
    pub expr: Box<Expr>,
    /// The range.
    pub range: DurationArg,
    /// The resolution step; `None` means the engine's default step.
    pub step: Option<DurationArg>,
    /// `offset`; `None` when absent or zero.
    pub offset: Option<DurationArg>,
    /// `@` modifier.
    pub at: Option<AtModifier>,
    /// Source span up to and including `]`, extended over `offset`/`@`.
    pub pos: PosRange,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^` (right-associative)
    Pow,
    /// `atan2`
    Atan2,
    /// `==`
    Eql,
    /// `!=`
    Neq,
    /// `>`
    Gtr,
    /// `<`
    Lss,
    /// `>=`
    Gte,
    /// `<=`
    Lte,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
    /// `</`: keep the part of each histogram below the cutoff.
    TrimUpper,
    /// `>/`: keep the part of each histogram above the cutoff.
    TrimLower,
}

impl BinaryOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Atan2 => "atan2",
            BinaryOp::Eql => "==",
            BinaryOp::Neq => "!=",
            BinaryOp::Gtr => ">",
            BinaryOp::Lss => "<",
            BinaryOp::Gte => ">=",
            BinaryOp::Lte => "<=",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Unless => "unless",
            BinaryOp::TrimUpper => "</",
            BinaryOp::TrimLower => ">/",
        }
    }

    /// Whether this is a comparison (`==`, `!=`, `>`, `<`, `>=`, `<=`).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eql
                | BinaryOp::Neq
                | BinaryOp::Gtr
                | BinaryOp::Lss
                | BinaryOp::Gte
                | BinaryOp::Lte
        )
    }

    /// Whether this is a set operator (`and`, `or`, `unless`).
    pub fn is_set_operator(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Unless)
    }

    /// Binding strength; higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And | BinaryOp::Unless => 2,
            BinaryOp::Eql
            | BinaryOp::Neq
            | BinaryOp::Gtr
            | BinaryOp::Lss
            | BinaryOp::Gte
            | BinaryOp::Lte => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Mod
            | BinaryOp::Atan2
            | BinaryOp::TrimUpper
            | BinaryOp::TrimLower => 5,
            BinaryOp::Pow => 6,
        }
    }

    /// Whether the operator groups right-to-left (only `^`).
    pub fn is_right_associative(self) -> bool {
        self == BinaryOp::Pow
    }
}

/// How series on both sides of a vector/vector operation are paired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VectorMatchCardinality {
    /// Default for arithmetic and comparisons.
    OneToOne,
    /// `group_left`.
    ManyToOne,
    /// `group_right`.
    OneToMany,
    /// Set operators.
    ManyToMany,
}

/// Values substituted for a missing side of a vector match
/// (`fill`, `fill_left`, `fill_right`; feature `promql-binop-fill-modifiers`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FillValues {
    /// Used when the left-hand side has no match (`fill_left(v)` or `fill(v)`).
    pub lhs: Option<f64>,
    /// Used when the right-hand side has no match (`fill_right(v)` or `fill(v)`).
    pub rhs: Option<f64>,
}

/// Vector matching of a binary operation between two instant vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorMatching {
    /// Cardinality of the match.
    pub card: VectorMatchCardinality,
    /// Labels listed in `on(...)` or `ignoring(...)`.
    pub matching_labels: Vec<String>,
    /// `true` for `on`, `false` for `ignoring` (or no clause).
    pub on: bool,
    /// Extra labels of `group_left(...)`/`group_right(...)`.
    pub include: Vec<String>,
    /// Fill values for unmatched series.
    pub fill: FillValues,
}

/// A binary operation.
#[derive(Clone, Debug, PartialEq)]
pub struct BinaryExpr {
    /// The operator.
    pub op: BinaryOp,
    /// Left operand.
    pub lhs: Box<Expr>,
    /// Right operand.
    pub rhs: Box<Expr>,
    /// Present when both operands are instant vectors.
    pub matching: Option<VectorMatching>,
    /// The `bool` modifier on a comparison.
    pub return_bool: bool,
    /// Source span from the left operand's start to the right's end.
    pub pos: PosRange,
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `+`
    Plus,
}

/// A unary operation on a non-literal.
#[derive(Clone, Debug, PartialEq)]
pub struct UnaryExpr {
    /// The operator.
    pub op: UnaryOp,
    /// The operand.
    pub expr: Box<Expr>,
    /// Source span from the operator to the operand's end.
    pub pos: PosRange,
}

/// An expression in parentheses.
#[derive(Clone, Debug, PartialEq)]
pub struct ParenExpr {
    /// The inner expression.
    pub expr: Box<Expr>,
    /// Source span including the parentheses.
    pub pos: PosRange,
}

/// A function call.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The function's signature (see [`crate::parser::functions`]).
    pub func: &'static Function,
    /// The arguments.
    pub args: Vec<Expr>,
    /// Source span from the name to `)`.
    pub pos: PosRange,
}

/// Aggregation operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggregateOp {
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `count`
    Count,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `group`
    Group,
    /// `stddev`
    Stddev,
    /// `stdvar`
    Stdvar,
    /// `topk(k, v)`
    Topk,
    /// `bottomk(k, v)`
    Bottomk,
    /// `quantile(q, v)`
    Quantile,
    /// `count_values("label", v)`
    CountValues,
    /// `limitk(k, v)` (experimental)
    Limitk,
    /// `limit_ratio(r, v)` (experimental)
    LimitRatio,
}

impl AggregateOp {
    /// The operator's name.
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateOp::Sum => "sum",
            AggregateOp::Avg => "avg",
            AggregateOp::Count => "count",
            AggregateOp::Min => "min",
            AggregateOp::Max => "max",
            AggregateOp::Group => "group",
            AggregateOp::Stddev => "stddev",
            AggregateOp::Stdvar => "stdvar",
            AggregateOp::Topk => "topk",
            AggregateOp::Bottomk => "bottomk",
            AggregateOp::Quantile => "quantile",
            AggregateOp::CountValues => "count_values",
            AggregateOp::Limitk => "limitk",
            AggregateOp::LimitRatio => "limit_ratio",
        }
    }

    /// Whether the operator takes a parameter before the vector.
    pub fn takes_param(self) -> bool {
        matches!(
            self,
            AggregateOp::Topk
                | AggregateOp::Bottomk
                | AggregateOp::Quantile
                | AggregateOp::CountValues
                | AggregateOp::Limitk
                | AggregateOp::LimitRatio
        )
    }

    /// Whether it needs `promql-experimental-functions`.
    pub fn is_experimental(self) -> bool {
        matches!(self, AggregateOp::Limitk | AggregateOp::LimitRatio)
    }
}

/// An aggregation.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregateExpr {
    /// The operator.
    pub op: AggregateOp,
    /// The aggregated vector expression.
    pub expr: Box<Expr>,
    /// The parameter of `topk`, `bottomk`, `quantile`, `count_values`,
    /// `limitk` and `limit_ratio`.
    pub param: Option<Box<Expr>>,
    /// Labels of `by (...)` or `without (...)`.
    pub grouping: Vec<String>,
    /// `true` for `without`.
    pub without: bool,
    /// Source span from the operator to the closing parenthesis (or the end
    /// of a trailing grouping clause).
    pub pos: PosRange,
}

/// A subtree the engine evaluates once for all steps (engine-only node).
#[derive(Clone, Debug, PartialEq)]
pub struct StepInvariantExpr {
    /// The wrapped expression.
    pub expr: Box<Expr>,
}

impl Expr {
    /// The source span of the expression (byte offsets into the query).
    pub fn pos(&self) -> PosRange {
        match self {
            Expr::NumberLiteral(n) => n.pos,
            Expr::StringLiteral(s) => s.pos,
            Expr::VectorSelector(v) => v.pos,
            Expr::MatrixSelector(m) => m.pos,
            Expr::Subquery(s) => s.pos,
            Expr::Binary(b) => b.pos,
            Expr::Unary(u) => u.pos,
            Expr::Paren(p) => p.pos,
            Expr::Call(c) => c.pos,
            Expr::Aggregate(a) => a.pos,
            Expr::StepInvariant(s) => s.expr.pos(),
        }
    }

    /// The type of value the expression evaluates to. Iterative, so very
    /// deep operator chains cannot overflow the stack.
    pub fn value_type(&self) -> ValueType {
        let mut e = self;
        loop {
            e = match e {
                Expr::Paren(p) => &p.expr,
                Expr::Unary(u) => &u.expr,
                Expr::StepInvariant(s) => &s.expr,
                _ => break,
            };
        }
        let Expr::Binary(_) = e else {
            return e.leaf_type();
        };
        // A binary operation is scalar only if every operand reached through
        // operators, parentheses and signs is scalar.
        let mut stack = vec![e];
        while let Some(node) = stack.pop() {
            match node {
                Expr::Binary(b) => {
                    stack.push(&b.lhs);
                    stack.push(&b.rhs);
                }
                Expr::Paren(p) => stack.push(&p.expr),
                Expr::Unary(u) => stack.push(&u.expr),
                Expr::StepInvariant(s) => stack.push(&s.expr),
                leaf => {
                    if leaf.leaf_type() != ValueType::Scalar {
                        return ValueType::Vector;
                    }
                }
            }
        }
        ValueType::Scalar
    }

    /// The type of a node that is not an operator, parenthesis or sign.
    fn leaf_type(&self) -> ValueType {
        match self {
            Expr::NumberLiteral(_) => ValueType::Scalar,
            Expr::StringLiteral(_) => ValueType::String,
            Expr::VectorSelector(_) | Expr::Aggregate(_) => ValueType::Vector,
            Expr::MatrixSelector(_) | Expr::Subquery(_) => ValueType::Matrix,
            Expr::Call(c) => c.func.return_type,
            Expr::Binary(_) | Expr::Paren(_) | Expr::Unary(_) | Expr::StepInvariant(_) => {
                self.value_type()
            }
        }
    }
}

impl DurationExpr {
    /// Source span of the duration expression.
    pub fn pos(&self) -> PosRange {
        match self {
            DurationExpr::Number(n) => n.pos,
            DurationExpr::Negate { pos, .. }
            | DurationExpr::Binary { pos, .. }
            | DurationExpr::Step { pos }
            | DurationExpr::Range { pos }
            | DurationExpr::MinOf { pos, .. }
            | DurationExpr::MaxOf { pos, .. }
            | DurationExpr::Paren { pos, .. } => *pos,
        }
    }
}

impl Expr {
    /// Sets every source position in the tree to `0..0`, so trees parsed
    /// from differently formatted text can be compared.
    pub fn clear_positions(&mut self) {
        stacker::maybe_grow(128 * 1024, 2 * 1024 * 1024, || match self {
            Expr::NumberLiteral(n) => n.pos = PosRange::default(),
            Expr::StringLiteral(s) => s.pos = PosRange::default(),
            Expr::VectorSelector(v) => v.clear_positions(),
            Expr::MatrixSelector(m) => {
                m.pos = PosRange::default();
                m.selector.clear_positions();
                m.range.clear_positions();
            }
            Expr::Subquery(s) => {
                s.pos = PosRange::default();
                s.expr.clear_positions();
                s.range.clear_positions();
                if let Some(st) = &mut s.step {
                    st.clear_positions();
                }
                if let Some(o) = &mut s.offset {
                    o.clear_positions();
                }
            }
            Expr::Binary(b) => {
                b.pos = PosRange::default();
                b.lhs.clear_positions();
                b.rhs.clear_positions();
            }
            Expr::Unary(u) => {
                u.pos = PosRange::default();
                u.expr.clear_positions();
            }
            Expr::Paren(p) => {
                p.pos = PosRange::default();
                p.expr.clear_positions();
            }
            Expr::Call(c) => {
                c.pos = PosRange::default();
                for a in &mut c.args {
                    a.clear_positions();
                }
            }
            Expr::Aggregate(a) => {
                a.pos = PosRange::default();
                a.expr.clear_positions();
                if let Some(p) = &mut a.param {
                    p.clear_positions();
                }
            }
            Expr::StepInvariant(s) => s.expr.clear_positions(),
        })
    }
}

impl VectorSelector {
    fn clear_positions(&mut self) {
        self.pos = PosRange::default();
        if let Some(o) = &mut self.offset {
            o.clear_positions();
        }
    }
}

impl DurationArg {
    fn clear_positions(&mut self) {
        if let DurationArg::Expr(e) = self {
            e.clear_positions();
        }
    }
}

impl DurationExpr {
    /// Sets every source position in the duration expression to `0..0`.
    pub fn clear_positions(&mut self) {
        match self {
            DurationExpr::Number(n) => n.pos = PosRange::default(),
            DurationExpr::Negate { expr, pos } | DurationExpr::Paren { expr, pos } => {
                *pos = PosRange::default();
                expr.clear_positions();
            }
            DurationExpr::Binary { lhs, rhs, pos, .. }
            | DurationExpr::MinOf { lhs, rhs, pos }
            | DurationExpr::MaxOf { lhs, rhs, pos } => {
                *pos = PosRange::default();
                lhs.clear_positions();
                rhs.clear_positions();
            }
            DurationExpr::Step { pos } | DurationExpr::Range { pos } => *pos = PosRange::default(),
        }
    }
}

impl DurationExpr {
    /// Evaluates the expression in seconds for a query with the given step
    /// and range (both in seconds), in float arithmetic like upstream:
    /// `%` is a float remainder, `^` a power, `min_of`/`max_of` the smaller
    /// and larger operand. Range and sign checks are the caller's.
    pub fn eval_seconds(&self, step: f64, range: f64) -> f64 {
        match self {
            DurationExpr::Number(n) => n.value,
            DurationExpr::Negate { expr, .. } => -expr.eval_seconds(step, range),
            DurationExpr::Paren { expr, .. } => expr.eval_seconds(step, range),
            DurationExpr::Step { .. } => step,
            DurationExpr::Range { .. } => range,
            DurationExpr::MinOf { lhs, rhs, .. } => lhs
                .eval_seconds(step, range)
                .min(rhs.eval_seconds(step, range)),
            DurationExpr::MaxOf { lhs, rhs, .. } => lhs
                .eval_seconds(step, range)
                .max(rhs.eval_seconds(step, range)),
            DurationExpr::Binary { op, lhs, rhs, .. } => {
                let (a, b) = (lhs.eval_seconds(step, range), rhs.eval_seconds(step, range));
                match op {
                    DurationOp::Add => a + b,
                    DurationOp::Sub => a - b,
                    DurationOp::Mul => a * b,
                    DurationOp::Div => a / b,
                    DurationOp::Mod => a % b,
                    DurationOp::Pow => a.powf(b),
                }
            }
        }
    }
}
