//! `/api/v1/parse_query`: the PromQL AST as JSON in the node shapes
//! Prometheus' API uses (`type` per node, durations in milliseconds,
//! matchers as `{type, name, value}`).

use lookout_metrics::gofloat;
use lookout_promql::parser::{
    AtModifier, DurationArg, Expr, UnaryOp, VectorMatchCardinality, VectorSelector,
};
use serde_json::{json, Value};

fn millis(d: &Option<DurationArg>) -> Value {
    match d {
        None => json!(0),
        Some(DurationArg::Fixed(d)) => json!(d.millis()),
        // Duration expressions are only known at evaluation time.
        Some(DurationArg::Expr(_)) => Value::Null,
    }
}

fn at(a: &Option<AtModifier>) -> (Value, Value) {
    match a {
        None => (Value::Null, Value::Null),
        Some(AtModifier::Timestamp(t)) => (json!(t), Value::Null),
        Some(AtModifier::Start) => (Value::Null, json!("start")),
        Some(AtModifier::End) => (Value::Null, json!("end")),
    }
}

fn matchers(v: &VectorSelector) -> Value {
    Value::Array(
        v.matchers
            .iter()
            .map(|m| json!({"type": m.op.to_string(), "name": m.name, "value": m.value}))
            .collect(),
    )
}

fn selector_name(v: &VectorSelector) -> Value {
    json!(v.name.clone().unwrap_or_default())
}

/// Converts an expression tree.
pub fn to_json(e: &Expr) -> Value {
    match e {
        Expr::NumberLiteral(n) => {
            let mut s = String::new();
            gofloat::write_go_f(n.value, &mut s);
            json!({"type": "numberLiteral", "val": s})
        }
        Expr::StringLiteral(s) => json!({"type": "stringLiteral", "val": s.value}),
        Expr::VectorSelector(v) => {
            let (ts, soe) = at(&v.at);
            json!({"type": "vectorSelector", "name": selector_name(v), "offset": millis(&v.offset),
                   "matchers": matchers(v), "timestamp": ts, "startOrEnd": soe})
        }
        Expr::MatrixSelector(m) => {
            let v = &m.selector;
            let (ts, soe) = at(&v.at);
            json!({"type": "matrixSelector", "name": selector_name(v),
                   "range": millis(&Some(m.range.clone())), "offset": millis(&v.offset),
                   "matchers": matchers(v), "timestamp": ts, "startOrEnd": soe})
        }
        Expr::Subquery(s) => {
            let (ts, soe) = at(&s.at);
            json!({"type": "subquery", "expr": to_json(&s.expr),
                   "range": millis(&Some(s.range.clone())), "offset": millis(&s.offset),
                   "step": millis(&s.step), "timestamp": ts, "startOrEnd": soe})
        }
        Expr::Binary(b) => {
            let matching = b.matching.as_ref().map(|m| {
                let card = match m.card {
                    VectorMatchCardinality::OneToOne => "one-to-one",
                    VectorMatchCardinality::ManyToOne => "many-to-one",
                    VectorMatchCardinality::OneToMany => "one-to-many",
                    VectorMatchCardinality::ManyToMany => "many-to-many",
                };
                json!({"card": card, "labels": m.matching_labels, "on": m.on, "include": m.include})
            });
            json!({"type": "binaryExpr", "op": b.op.as_str(), "lhs": to_json(&b.lhs),
                   "rhs": to_json(&b.rhs), "matching": matching, "bool": b.return_bool})
        }
        Expr::Unary(u) => {
            let op = match u.op {
                UnaryOp::Neg => "-",
                UnaryOp::Plus => "+",
            };
            json!({"type": "unaryExpr", "op": op, "expr": to_json(&u.expr)})
        }
        Expr::Paren(p) => json!({"type": "parenExpr", "expr": to_json(&p.expr)}),
        Expr::Call(c) => {
            let arg_types: Vec<&str> = c.func.arg_types.iter().map(|t| t.document_name()).collect();
            json!({"type": "call",
                   "func": {"name": c.func.name, "argTypes": arg_types, "variadic": c.func.variadic,
                            "returnType": c.func.return_type.document_name()},
                   "args": c.args.iter().map(to_json).collect::<Vec<_>>()})
        }
        Expr::Aggregate(a) => json!({"type": "aggregation", "op": a.op.as_str(),
            "expr": to_json(&a.expr), "param": a.param.as_ref().map(|p| to_json(p)),
            "grouping": a.grouping, "without": a.without}),
        Expr::StepInvariant(s) => to_json(&s.expr),
    }
}
