//! `lookout-promql`'s engine behind the API's [`QueryEngine`] trait.

use std::sync::Arc;

use lookout_api::engine::{
    CancelFlag, QueryEngine, QueryError, QueryErrorKind, QueryOptions, QueryResult, QueryValue,
    SampleValue, VectorSample,
};
use lookout_model::storage::{Querier, SeriesData};
use lookout_model::{FloatSample, HistogramSample, Matcher};
use lookout_promql::engine::{
    self as pe, AnnotationKind, CancelToken, Engine, EngineOptions, Value,
};
use lookout_promql::parser::Expr;

/// The PromQL engine over a store.
pub struct PromqlEngine {
    engine: Engine,
    querier: Arc<dyn Querier>,
}

impl PromqlEngine {
    /// An engine with `opts` reading from `querier`.
    pub fn new(opts: EngineOptions, querier: Arc<dyn Querier>) -> Self {
        PromqlEngine {
            engine: Engine::new(opts),
            querier,
        }
    }

    /// The engine for one query: `lookback_delta=` needs its own options.
    fn engine_for(&self, opts: &QueryOptions) -> std::borrow::Cow<'_, Engine> {
        match opts.lookback_delta_ms {
            Some(lb) if lb > 0 => {
                let mut o = self.engine.options().clone();
                o.lookback_delta = lb;
                std::borrow::Cow::Owned(Engine::new(o))
            }
            _ => std::borrow::Cow::Borrowed(&self.engine),
        }
    }

    fn parse(&self, expr: &str) -> Result<Expr, QueryError> {
        self.engine.parse(expr).map_err(map_error)
    }
}

fn map_error(e: pe::QueryError) -> QueryError {
    let kind = match &e {
        pe::QueryError::BadData(_) => QueryErrorKind::BadData,
        pe::QueryError::Execution(_) | pe::QueryError::TooManySamples(_) => {
            QueryErrorKind::Execution
        }
        pe::QueryError::Timeout(_) => QueryErrorKind::Timeout,
        pe::QueryError::Canceled(_) => QueryErrorKind::Canceled,
        pe::QueryError::Storage(_) => QueryErrorKind::Internal,
    };
    QueryError::new(kind, e.to_string())
}

/// A token the engine polls, tripped when the API's flag is raised.
fn bridge(cancel: &CancelFlag) -> CancelToken {
    let token = CancelToken::new();
    let t = token.clone();
    cancel.on_cancel(move || t.cancel());
    token
}

fn convert(r: pe::QueryResult, query: &str) -> QueryResult {
    let mut warnings = Vec::new();
    let mut infos = Vec::new();
    for a in r.annotations.iter() {
        let text = a.render(query);
        match a.kind {
            AnnotationKind::Warning => warnings.push(text),
            _ => infos.push(text),
        }
    }
    let value = match r.value {
        Value::Scalar { t, v } => QueryValue::Scalar { t, v },
        Value::String { t, s } => QueryValue::String { t, v: s },
        Value::Vector(samples) => QueryValue::Vector(
            samples
                .into_iter()
                .map(|s| VectorSample {
                    labels: s.metric,
                    t: s.t,
                    value: match s.value {
                        pe::SampleValue::Float(f) => SampleValue::Float(f),
                        pe::SampleValue::Histogram(h) => SampleValue::Histogram((*h).clone()),
                    },
                })
                .collect(),
        ),
        Value::Matrix(series) => QueryValue::Matrix(
            series
                .into_iter()
                .map(|s| SeriesData {
                    labels: s.metric,
                    floats: s
                        .floats
                        .iter()
                        .map(|p| FloatSample { t: p.t, v: p.f })
                        .collect(),
                    histograms: s
                        .histograms
                        .iter()
                        .map(|p| HistogramSample {
                            t: p.t,
                            h: (*p.h).clone(),
                        })
                        .collect(),
                })
                .collect(),
        ),
    };
    QueryResult {
        value,
        warnings,
        infos,
        samples: None,
    }
}

/// Every vector selector's matchers in `e`, in source order.
fn collect_selectors(e: &Expr, out: &mut Vec<Vec<Matcher>>) {
    match e {
        Expr::VectorSelector(v) => out.push(v.matchers.clone()),
        Expr::MatrixSelector(m) => out.push(m.selector.matchers.clone()),
        Expr::Subquery(s) => collect_selectors(&s.expr, out),
        Expr::Binary(b) => {
            collect_selectors(&b.lhs, out);
            collect_selectors(&b.rhs, out);
        }
        Expr::Unary(u) => collect_selectors(&u.expr, out),
        Expr::Paren(p) => collect_selectors(&p.expr, out),
        Expr::Call(c) => {
            for a in &c.args {
                collect_selectors(a, out);
            }
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                collect_selectors(p, out);
            }
            collect_selectors(&a.expr, out);
        }
        Expr::StepInvariant(s) => collect_selectors(&s.expr, out),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
    }
}

impl QueryEngine for PromqlEngine {
    fn instant_query(
        &self,
        expr: &str,
        t: i64,
        opts: &QueryOptions,
        cancel: &CancelFlag,
    ) -> Result<QueryResult, QueryError> {
        let token = bridge(cancel);
        let r = self
            .engine_for(opts)
            .instant_query(&*self.querier, expr, t, Some(&token))
            .map_err(map_error)?;
        Ok(convert(r, expr))
    }

    fn range_query(
        &self,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
        opts: &QueryOptions,
        cancel: &CancelFlag,
    ) -> Result<QueryResult, QueryError> {
        let token = bridge(cancel);
        let r = self
            .engine_for(opts)
            .range_query(&*self.querier, expr, start, end, step, Some(&token))
            .map_err(map_error)?;
        Ok(convert(r, expr))
    }

    fn parse_selector(&self, selector: &str) -> Result<Vec<Matcher>, QueryError> {
        match self.parse(selector)? {
            Expr::VectorSelector(v) => Ok(v.matchers),
            other => Err(QueryError::new(
                QueryErrorKind::BadData,
                format!(
                    "1:1: parse error: unexpected {} in series selector, expected a vector selector",
                    expr_kind(&other)
                ),
            )),
        }
    }

    fn selectors(&self, expr: &str) -> Result<Vec<Vec<Matcher>>, QueryError> {
        let e = self.parse(expr)?;
        let mut out = Vec::new();
        collect_selectors(&e, &mut out);
        Ok(out)
    }

    fn format_query(&self, expr: &str) -> Result<String, QueryError> {
        Ok(self.parse(expr)?.to_string())
    }

    fn parse_query(&self, expr: &str) -> Result<serde_json::Value, QueryError> {
        Ok(crate::cmd::server::ast_json::to_json(&self.parse(expr)?))
    }
}

fn expr_kind(e: &Expr) -> &'static str {
    match e {
        Expr::NumberLiteral(_) => "number",
        Expr::StringLiteral(_) => "string",
        Expr::VectorSelector(_) => "vector selector",
        Expr::MatrixSelector(_) => "range selector",
        Expr::Subquery(_) => "subquery",
        Expr::Binary(_) => "binary expression",
        Expr::Unary(_) => "unary expression",
        Expr::Paren(_) => "parenthesised expression",
        Expr::Call(_) => "function call",
        Expr::Aggregate(_) => "aggregation",
        Expr::StepInvariant(_) => "expression",
    }
}
