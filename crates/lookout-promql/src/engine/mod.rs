//! PromQL evaluation over the storage `Querier` trait.
//!
//! [`Engine`] evaluates an expression over a grid of steps in one pass
//! (step-vectorised): selectors read each series once for the whole range,
//! label sets are computed per series rather than per step, and matching
//! and grouping use hash maps keyed by label-subset hashes.

pub mod annotations;
pub mod error;
mod eval;
pub mod histogram;
pub mod value;

use std::time::Duration;

use lookout_model::storage::Querier;

pub use annotations::{Annotation, AnnotationKind, Annotations, PosRange};
pub use error::QueryError;
pub use eval::CancelToken;
pub use value::{FPoint, HPoint, Sample, SampleValue, Series, Value};

use crate::parser::{self, Expr, ParseOptions, ValueType};
use eval::{drop_metric_name, Evaluator, Grid, Val, V};

/// Engine configuration.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample, ms (default 5m).
    pub lookback_delta: i64,
    /// Most samples a query may hold in memory at once (default 50,000,000).
    pub max_samples: usize,
    /// Wall-clock budget per query (default 2 minutes).
    pub timeout: Option<Duration>,
    /// Step of subqueries written without one, ms (default 1m, upstream's
    /// default evaluation interval).
    pub default_subquery_step: i64,
    /// Upstream's `promql-delayed-name-removal`: keep `__name__` until the
    /// end of evaluation and drop it from series marked for dropping.
    pub delayed_name_removal: bool,
    /// Parser features.
    pub parse_options: ParseOptions,
    /// Threads one query may use for large per-series loops: 0 = one per
    /// core, 1 = evaluate sequentially.
    pub max_threads: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta: 5 * 60 * 1000,
            max_samples: 50_000_000,
            timeout: Some(Duration::from_secs(120)),
            default_subquery_step: 60 * 1000,
            delayed_name_removal: false,
            parse_options: ParseOptions::default(),
            max_threads: 0,
        }
    }
}

/// A query result with its annotations.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    /// The value.
    pub value: Value,
    /// Warnings and infos raised during evaluation.
    pub annotations: Annotations,
}

/// The PromQL engine.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    /// An engine with the given options.
    pub fn new(mut opts: EngineOptions) -> Self {
        if opts.lookback_delta <= 0 {
            opts.lookback_delta = 5 * 60 * 1000;
        }
        Engine { opts }
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Parses a query with the engine's parser options.
    pub fn parse(&self, query: &str) -> Result<Expr, QueryError> {
        parser::parse_with_options(query, self.opts.parse_options)
            .map_err(|e| QueryError::BadData(e.to_string()))
    }

    /// Evaluates `query` at time `t` (ms).
    pub fn instant_query(
        &self,
        querier: &dyn Querier,
        query: &str,
        t: i64,
        cancel: Option<&CancelToken>,
    ) -> Result<QueryResult, QueryError> {
        let expr = self.parse(query)?;
        self.instant_query_expr(querier, &expr, t, cancel)
    }

    /// Evaluates a parsed expression at time `t` (ms).
    pub fn instant_query_expr(
        &self,
        querier: &dyn Querier,
        expr: &Expr,
        t: i64,
        cancel: Option<&CancelToken>,
    ) -> Result<QueryResult, QueryError> {
        let grid = Grid::instant(t);
        let mut ev = Evaluator::new(querier, &self.opts, cancel, grid);
        let val = ev.eval(expr, grid)?;
        let value = match val {
            Val::Scalar(s) => Value::Scalar {
                t,
                v: s.first().copied().unwrap_or(f64::NAN),
            },
            Val::Str(s) => Value::String { t, s },
            Val::Vector(mut v) => {
                finalize_names(&mut v, true)?;
                let mut out = Vec::with_capacity(v.len());
                for s in v {
                    if let Some(p) = s.pts.into_iter().next() {
                        out.push(Sample {
                            metric: s.labels,
                            t,
                            value: to_sample_value(p.v),
                        });
                    }
                }
                Value::Vector(out)
            }
            Val::Matrix(rv) => {
                let end = rv.window_end(t);
                let start = end - rv.range;
                let mut out = Vec::new();
                for s in rv.series {
                    let floats: Vec<FPoint> = s
                        .floats
                        .iter()
                        .filter(|p| p.t > start && p.t <= end)
                        .map(|p| FPoint { t: p.t, f: p.v })
                        .collect();
                    let histograms: Vec<HPoint> = s
                        .hists
                        .iter()
                        .filter(|p| p.0 > start && p.0 <= end)
                        .map(|p| HPoint {
                            t: p.0,
                            h: p.1.clone(),
                        })
                        .collect();
                    if floats.is_empty() && histograms.is_empty() {
                        continue;
                    }
                    let metric = if s.drop_name {
                        drop_metric_name(&s.labels)
                    } else {
                        s.labels
                    };
                    out.push(Series {
                        metric,
                        floats,
                        histograms,
                    });
                }
                out.sort_by(|a, b| a.metric.cmp(&b.metric));
                Value::Matrix(out)
            }
        };
        Ok(QueryResult {
            value,
            annotations: ev.annos,
        })
    }

    /// Evaluates `query` from `start` to `end` (inclusive) every `step` ms.
    pub fn range_query(
        &self,
        querier: &dyn Querier,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        cancel: Option<&CancelToken>,
    ) -> Result<QueryResult, QueryError> {
        let expr = self.parse(query)?;
        self.range_query_expr(querier, &expr, start, end, step, cancel)
    }

    /// Range evaluation of a parsed expression.
    pub fn range_query_expr(
        &self,
        querier: &dyn Querier,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
        cancel: Option<&CancelToken>,
    ) -> Result<QueryResult, QueryError> {
        if step <= 0 {
            return Err(QueryError::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if end < start {
            return Err(QueryError::BadData(
                "end timestamp must not be before start time".into(),
            ));
        }
        match expr.value_type() {
            ValueType::Scalar | ValueType::Vector => {}
            other => {
                return Err(QueryError::BadData(format!(
                "invalid expression type {:?} for range query, must be Scalar or instant Vector",
                other.document_name()
            )))
            }
        }
        let grid = Grid { start, end, step };
        let mut ev = Evaluator::new(querier, &self.opts, cancel, grid);
        let val = ev.eval(expr, grid)?;
        let value = match val {
            Val::Scalar(s) => Value::Matrix(vec![Series {
                metric: lookout_model::Labels::empty(),
                floats: s
                    .iter()
                    .enumerate()
                    .map(|(i, v)| FPoint {
                        t: grid.t(i),
                        f: *v,
                    })
                    .collect(),
                histograms: Vec::new(),
            }]),
            Val::Vector(mut v) => {
                finalize_names(&mut v, false)?;
                let mut out: Vec<Series> = v
                    .into_iter()
                    .filter(|s| !s.pts.is_empty())
                    .map(|s| {
                        let mut floats = Vec::new();
                        let mut histograms = Vec::new();
                        for p in s.pts {
                            match p.v {
                                V::F(f) => floats.push(FPoint { t: p.t, f }),
                                V::H(h) => histograms.push(HPoint { t: p.t, h }),
                            }
                        }
                        Series {
                            metric: s.labels,
                            floats,
                            histograms,
                        }
                    })
                    .collect();
                out.sort_by(|a, b| a.metric.cmp(&b.metric));
                Value::Matrix(out)
            }
            other => {
                return Err(QueryError::BadData(format!(
                "invalid expression type {:?} for range query, must be Scalar or instant Vector",
                other.type_name()
            )))
            }
        };
        Ok(QueryResult {
            value,
            annotations: ev.annos,
        })
    }
}

fn to_sample_value(v: V) -> SampleValue {
    match v {
        V::F(f) => SampleValue::Float(f),
        V::H(h) => SampleValue::Histogram(h),
    }
}

/// Final delayed name removal and duplicate check.
fn finalize_names(v: &mut Vec<eval::SeriesV>, instant: bool) -> Result<(), QueryError> {
    for s in v.iter_mut() {
        if s.drop_name {
            s.labels = drop_metric_name(&s.labels);
            s.drop_name = false;
        }
    }
    if instant {
        let mut seen = hashbrown::HashSet::with_capacity(v.len());
        for s in v.iter() {
            if !s.pts.is_empty() && !seen.insert(&s.labels) {
                return Err(QueryError::Execution(
                    "vector cannot contain metrics with the same labelset".into(),
                ));
            }
        }
        Ok(())
    } else {
        eval::merge_same_labels(v)
    }
}
