//! The type checker run after a successful parse (upstream's `checkAST`):
//! argument counts and types, aggregation parameters, operand types of
//! binary and unary operators, vector matching rules, subquery operands and
//! selector rules. It also normalises the tree the way upstream does (set
//! operators become many-to-many, matching is dropped unless both operands
//! are instant vectors, `info()`'s label selector skips the empty-matcher
//! rule).

use crate::parser::ast::*;
use crate::parser::error::ParseErr;
use crate::parser::quote::go_quote_str;

pub(crate) struct Checker<'a> {
    input: &'a str,
    pub(crate) errors: Vec<ParseErr>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(input: &'a str) -> Self {
        Checker {
            input,
            errors: Vec::new(),
        }
    }

    fn err(&mut self, pos: PosRange, msg: impl Into<String>) {
        self.errors.push(ParseErr::new(self.input, pos, msg));
    }

    fn expect_type(&mut self, e: &mut Expr, want: ValueType, context: &str) {
        let t = self.check(e);
        if t != want {
            let msg = format!(
                "expected type {} in {}, got {}",
                want.document_name(),
                context,
                t.document_name()
            );
            self.err(e.pos(), msg);
        }
    }

    /// The span of a binary operator and its modifiers, without surrounding
    /// whitespace.
    fn op_range(&self, b: &BinaryExpr) -> PosRange {
        let bytes = self.input.as_bytes();
        let is_space = |i: usize| matches!(bytes.get(i), Some(b' ' | b'\t' | b'\n' | b'\r'));
        let mut start = b.lhs.pos().end;
        while is_space(start) {
            start += 1;
        }
        let mut end = b.rhs.pos().start.saturating_sub(1);
        while end > start && is_space(end) {
            end -= 1;
        }
        PosRange::new(start, end)
    }

    /// Checks `e` and returns its type.
    pub(crate) fn check(&mut self, e: &mut Expr) -> ValueType {
        stacker::maybe_grow(128 * 1024, 2 * 1024 * 1024, || self.check_inner(e))
    }

    fn check_inner(&mut self, e: &mut Expr) -> ValueType {
        let mut typ = match e {
            Expr::Binary(_) | Expr::Paren(_) | Expr::Unary(_) | Expr::StepInvariant(_) => {
                ValueType::None
            }
            ref other => other.value_type(),
        };
        match e {
            Expr::Aggregate(a) => {
                self.expect_type(&mut a.expr, ValueType::Vector, "aggregation expression");
                match a.op {
                    AggregateOp::Topk
                    | AggregateOp::Bottomk
                    | AggregateOp::Quantile
                    | AggregateOp::Limitk
                    | AggregateOp::LimitRatio => {
                        if let Some(p) = a.param.as_deref_mut() {
                            self.expect_type(p, ValueType::Scalar, "aggregation parameter");
                        }
                    }
                    AggregateOp::CountValues => {
                        if let Some(p) = a.param.as_deref_mut() {
                            self.expect_type(p, ValueType::String, "aggregation parameter");
                        }
                    }
                    _ => {}
                }
            }
            Expr::Binary(b) => typ = self.check_binary(b),
            Expr::Call(c) => self.check_call(c),
            Expr::Paren(p) => typ = self.check(&mut p.expr),
            Expr::Unary(u) => {
                let t = self.check(&mut u.expr);
                typ = t;
                if t != ValueType::Scalar && t != ValueType::Vector {
                    let msg = format!(
                        "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                        go_quote_str(t.document_name())
                    );
                    self.err(u.pos, msg);
                }
            }
            Expr::Subquery(s) => {
                let t = self.check(&mut s.expr);
                if t != ValueType::Vector {
                    let msg = format!(
                        "subquery is only allowed on instant vector, got {} instead",
                        t.api_name()
                    );
                    self.err(s.pos, msg);
                }
            }
            Expr::MatrixSelector(m) => self.check_selector(&mut m.selector),
            Expr::VectorSelector(v) => self.check_selector(v),
            Expr::StepInvariant(s) => typ = self.check(&mut s.expr),
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
        }
        typ
    }

    /// Checks a binary operation and returns its type.
    fn check_binary(&mut self, b: &mut BinaryExpr) -> ValueType {
        let lt = self.check(&mut b.lhs);
        let rt = self.check(&mut b.rhs);
        let typ = if lt == ValueType::Scalar && rt == ValueType::Scalar {
            ValueType::Scalar
        } else {
            ValueType::Vector
        };
        let op = b.op;
        if b.return_bool && !op.is_comparison() {
            let r = self.op_range(b);
            self.err(r, "bool modifier can only be used on comparison operators");
        }
        if op.is_comparison()
            && !b.return_bool
            && rt == ValueType::Scalar
            && lt == ValueType::Scalar
        {
            let r = self.op_range(b);
            self.err(r, "comparisons between scalars must use BOOL modifier");
        }
        let mut conflicts = Vec::new();
        if let Some(vm) = b.matching.as_mut() {
            if op.is_set_operator() && vm.card == VectorMatchCardinality::OneToOne {
                vm.card = VectorMatchCardinality::ManyToMany;
            }
            if vm.on {
                for l1 in &vm.matching_labels {
                    for l2 in &vm.include {
                        if l1 == l2 {
                            conflicts.push(l1.clone());
                        }
                    }
                }
            }
        }
        for l in conflicts {
            let r = self.op_range(b);
            self.err(
                r,
                format!(
                    "label {} must not occur in ON and GROUP clause at once",
                    go_quote_str(&l)
                ),
            );
        }
        if lt != ValueType::Scalar && lt != ValueType::Vector {
            self.err(
                b.lhs.pos(),
                "binary expression must contain only scalar and instant vector types",
            );
        }
        if rt != ValueType::Scalar && rt != ValueType::Vector {
            self.err(
                b.rhs.pos(),
                "binary expression must contain only scalar and instant vector types",
            );
        }
        let both_vectors = lt == ValueType::Vector && rt == ValueType::Vector;
        if let Some(vm) = b.matching.as_ref() {
            let has_fill = vm.fill.lhs.is_some() || vm.fill.rhs.is_some();
            if !both_vectors {
                if !vm.matching_labels.is_empty() {
                    self.err(
                        b.pos,
                        "vector matching only allowed between instant vectors",
                    );
                }
                if has_fill {
                    self.err(
                        b.pos,
                        "filling in missing series only allowed between instant vectors",
                    );
                }
                b.matching = None;
            } else if op.is_set_operator() {
                if matches!(
                    vm.card,
                    VectorMatchCardinality::OneToMany | VectorMatchCardinality::ManyToOne
                ) {
                    self.err(
                        b.pos,
                        format!(
                            "no grouping allowed for {} operation",
                            go_quote_str(op.as_str())
                        ),
                    );
                }
                if vm.card != VectorMatchCardinality::ManyToMany {
                    self.err(b.pos, "set operations must always be many-to-many");
                }
                if has_fill {
                    self.err(
                        b.pos,
                        "filling in missing series not allowed for set operators",
                    );
                }
            }
        }
        if (lt == ValueType::Scalar || rt == ValueType::Scalar) && op.is_set_operator() {
            self.err(
                b.pos,
                format!(
                    "set operator {} not allowed in binary scalar expression",
                    go_quote_str(op.as_str())
                ),
            );
        }
        typ
    }

    fn check_call(&mut self, c: &mut Call) {
        let f = c.func;
        let nargs = f.arg_types.len();
        let got = c.args.len();
        if f.variadic == 0 {
            if nargs != got {
                self.err(
                    c.pos,
                    format!(
                        "expected {nargs} argument(s) in call to {}, got {got}",
                        go_quote_str(f.name)
                    ),
                );
            }
        } else {
            let na = nargs.saturating_sub(1);
            if na > got {
                self.err(
                    c.pos,
                    format!(
                        "expected at least {na} argument(s) in call to {}, got {got}",
                        go_quote_str(f.name)
                    ),
                );
            } else if f.variadic > 0 && na + (f.variadic as usize) < got {
                self.err(
                    c.pos,
                    format!(
                        "expected at most {} argument(s) in call to {}, got {got}",
                        na + f.variadic as usize,
                        go_quote_str(f.name)
                    ),
                );
            }
        }
        if f.name == "info" && got > 1 {
            let pos = c.pos;
            if let Some(arg) = c.args.get_mut(1) {
                let t = arg.value_type();
                if t != ValueType::Vector {
                    self.err(
                        pos,
                        format!(
                            "expected type instant vector in call to function \"info\", got {}",
                            t.document_name()
                        ),
                    );
                }
                let arg_pos = arg.pos();
                match arg {
                    Expr::VectorSelector(vs) if vs.name.is_some() => self.err(
                        arg_pos,
                        "expected label selectors only, got vector selector instead",
                    ),
                    Expr::VectorSelector(vs) => vs.bypass_empty_matcher_check = true,
                    _ => self.err(arg_pos, "expected label selectors only"),
                }
            }
        }
        for (i, arg) in c.args.iter_mut().enumerate() {
            let want = if i >= nargs {
                if f.variadic == 0 {
                    break;
                }
                f.arg_types.last().copied()
            } else {
                f.arg_types.get(i).copied()
            };
            let Some(want) = want else { break };
            let t = self.check(arg);
            if t != want {
                let msg = format!(
                    "expected type {} in call to function {}, got {}",
                    want.document_name(),
                    go_quote_str(f.name),
                    t.document_name()
                );
                self.err(arg.pos(), msg);
            }
        }
    }

    fn check_selector(&mut self, v: &mut VectorSelector) {
        if let Some(name) = &v.name {
            // The last matcher is the one for the name outside the braces.
            let inner = v.matchers.len().saturating_sub(1);
            for m in v.matchers.iter().take(inner) {
                if m.name == lookout_model::METRIC_NAME {
                    let msg = format!(
                        "metric name must not be set twice: {} or {}",
                        go_quote_str(name),
                        go_quote_str(&m.value)
                    );
                    self.errors.push(ParseErr::new(self.input, v.pos, msg));
                }
            }
            return;
        }
        if !v.bypass_empty_matcher_check && v.matchers.iter().all(|m| m.matches_empty()) {
            self.err(
                v.pos,
                "vector selector must contain at least one non-empty matcher",
            );
        }
    }
}
