//! Engine API behaviour: result shapes and order, error classification,
//! limits, cancellation and timeouts.

use std::time::Duration;

use lookout_model::storage::Appendable;
use lookout_model::Labels;
use lookout_promql::engine::{
    AnnotationKind, CancelToken, Engine, EngineOptions, QueryError, SampleValue, Value,
};
use lookout_promql::promqltest::memstore::MemStore;

/// `n` series `metric{i="k"}` with a sample every 15s for an hour, value
/// growing by k per sample.
fn store(n: usize) -> MemStore {
    let s = MemStore::new();
    let mut app = s.appender();
    for k in 0..n {
        let l = Labels::from_pairs([("__name__", "metric_total"), ("i", k.to_string().as_str())]);
        for j in 0..=240i64 {
            app.append(&l, j * 15_000, (j as f64) * (k as f64 + 1.0))
                .unwrap();
        }
    }
    app.commit().unwrap();
    s
}

fn engine() -> Engine {
    Engine::new(EngineOptions::default())
}

#[test]
fn instant_vector_and_sort_order() {
    let s = store(3);
    let r = engine()
        .instant_query(&s, "sort_desc(metric_total)", 3_600_000, None)
        .unwrap();
    let Value::Vector(v) = r.value else {
        panic!("expected vector")
    };
    let vals: Vec<f64> = v.iter().map(|x| x.value.as_float().unwrap()).collect();
    assert_eq!(vals, vec![720.0, 480.0, 240.0]);
    assert!(v.iter().all(|x| x.t == 3_600_000));
}

#[test]
fn rate_matches_hand_computation() {
    let s = store(1);
    let r = engine()
        .instant_query(&s, "rate(metric_total[5m])", 3_600_000, None)
        .unwrap();
    let Value::Vector(v) = r.value else {
        panic!("expected vector")
    };
    // value grows by 1 every 15s: rate = 1/15 per second.
    let got = v[0].value.as_float().unwrap();
    assert!((got - 1.0 / 15.0).abs() < 1e-12, "{got}");
    assert!(v[0].metric.get("__name__").is_none());
}

#[test]
fn range_query_shape() {
    let s = store(2);
    let r = engine()
        .range_query(&s, "sum(metric_total)", 0, 600_000, 60_000, None)
        .unwrap();
    let Value::Matrix(m) = r.value else {
        panic!("expected matrix")
    };
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].floats.len(), 11);
    assert_eq!(m[0].floats[1].f, 4.0 * 1.0 + 4.0 * 2.0);
}

#[test]
fn scalar_and_string_results() {
    let s = MemStore::new();
    let r = engine().instant_query(&s, "1 + 1", 4000, None).unwrap();
    assert_eq!(r.value, Value::Scalar { t: 4000, v: 2.0 });
    let r = engine().instant_query(&s, "\"x\"", 4000, None).unwrap();
    assert_eq!(r.value.type_name(), "string");
}

#[test]
fn bad_range_query_expression_is_bad_data() {
    let s = MemStore::new();
    let err = engine()
        .range_query(&s, "metric_total[5m]", 0, 60_000, 15_000, None)
        .unwrap_err();
    assert_eq!(err.error_type(), "bad_data");
    let err = engine()
        .range_query(&s, "1", 0, 60_000, 0, None)
        .unwrap_err();
    assert_eq!(err.error_type(), "bad_data");
    let err = engine().instant_query(&s, "sum(", 0, None).unwrap_err();
    assert_eq!(err.error_type(), "bad_data");
}

#[test]
fn sample_limit_fails_with_upstream_text() {
    let s = store(50);
    let e = Engine::new(EngineOptions {
        max_samples: 100,
        ..Default::default()
    });
    let err = e
        .range_query(&s, "metric_total", 0, 3_600_000, 15_000, None)
        .unwrap_err();
    assert!(matches!(err, QueryError::TooManySamples(_)));
    assert_eq!(err.error_type(), "execution");
    assert_eq!(
        err.to_string(),
        "query processing would load too many samples into memory in query execution"
    );
}

#[test]
fn cancelled_query_fails_with_canceled() {
    let s = store(5);
    let token = CancelToken::new();
    token.cancel();
    let err = engine()
        .instant_query(&s, "sum(rate(metric_total[5m]))", 3_600_000, Some(&token))
        .unwrap_err();
    assert_eq!(err.error_type(), "canceled");
    assert_eq!(err.to_string(), "query was canceled in query execution");
}

#[test]
fn timeout_fails_with_timeout() {
    let s = store(5);
    let e = Engine::new(EngineOptions {
        timeout: Some(Duration::ZERO),
        ..Default::default()
    });
    let err = e
        .range_query(&s, "rate(metric_total[5m])", 0, 3_600_000, 15_000, None)
        .unwrap_err();
    assert_eq!(err.error_type(), "timeout");
}

#[test]
fn annotations_carry_positions() {
    let s = store(1);
    let q = "rate(metric_total[5m]) + quantile(2, metric_total)";
    let r = engine().instant_query(&s, q, 3_600_000, None).unwrap();
    let w: Vec<_> = r.annotations.of_kind(AnnotationKind::Warning).collect();
    assert_eq!(w.len(), 1);
    assert_eq!(
        w[0].message,
        "PromQL warning: quantile value should be between 0 and 1, got 2"
    );
    assert_eq!(w[0].render(q), format!("{} (1:35)", w[0].message));
}

#[test]
fn many_to_many_error_text() {
    let s = MemStore::new();
    let mut app = s.appender();
    for (n, i) in [("a", "1"), ("a", "2"), ("b", "1")] {
        let l = Labels::from_pairs([("__name__", n), ("i", i), ("j", "x")]);
        app.append(&l, 0, 1.0).unwrap();
    }
    app.commit().unwrap();
    let err = engine()
        .instant_query(&s, "b + on(j) a", 0, None)
        .unwrap_err();
    assert!(
        err.to_string().starts_with("found duplicate series for the match group {j=\"x\"} on the right hand-side of the operation"),
        "{err}"
    );
    let r = engine()
        .instant_query(&s, "b + on(j) group_right a", 0, None)
        .unwrap();
    let Value::Vector(v) = r.value else { panic!() };
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|x| x.value == SampleValue::Float(2.0)));
}

#[test]
fn deeply_nested_query_does_not_overflow_the_stack() {
    let s = store(1);
    let depth = 2000;
    let q = format!("{}metric_total{}", "(".repeat(depth), ")".repeat(depth));
    let r = engine().instant_query(&s, &q, 3_600_000, None).unwrap();
    assert_eq!(r.value.type_name(), "vector");
    let q = format!(
        "{}1",
        "-".repeat(depth)
            .chars()
            .map(|c| format!("{c}("))
            .collect::<String>()
    ) + &")".repeat(depth);
    let r = engine().instant_query(&s, &q, 0, None).unwrap();
    assert_eq!(r.value, Value::Scalar { t: 0, v: 1.0 });
}

/// Large float selections and `rate`/`increase`/`delta` over many series
/// are split over threads; the answer (values, order, annotations) must be
/// the one of the sequential evaluation.
#[test]
fn parallel_evaluation_equals_sequential() {
    let s = MemStore::new();
    let mut app = s.appender();
    for k in 0..3000usize {
        // Odd series are gauges (not `_total`) so the rate annotation fires;
        // every tenth series resets halfway and goes stale near the end.
        let name = if k % 2 == 0 { "c_total" } else { "g" };
        let l = Labels::from_pairs([("__name__", name), ("i", k.to_string().as_str())]);
        for j in 0..=240i64 {
            if k % 10 == 0 && j > 230 {
                app.append(&l, j * 15_000, lookout_model::STALE_NAN)
                    .unwrap();
                break;
            }
            let base = if k % 10 == 0 && j >= 120 { j - 120 } else { j };
            app.append(&l, j * 15_000, (base as f64) * (k as f64 + 1.5))
                .unwrap();
        }
    }
    app.commit().unwrap();
    let sequential = Engine::new(EngineOptions {
        max_threads: 1,
        ..Default::default()
    });
    let parallel = Engine::new(EngineOptions {
        max_threads: 4,
        ..Default::default()
    });
    for q in [
        "c_total",
        "g",
        "timestamp(g)",
        "rate(c_total[5m])",
        "rate({__name__=~\"c_total|g\"}[5m])",
        "increase(g[2m])",
        "delta(g[1m])",
        "sum by (i) (rate(c_total[5m] offset 1m))",
    ] {
        let a = sequential
            .range_query(&s, q, 0, 3_600_000, 15_000, None)
            .unwrap();
        let b = parallel
            .range_query(&s, q, 0, 3_600_000, 15_000, None)
            .unwrap();
        let Value::Matrix(m) = &a.value else {
            panic!("{q}: expected a matrix");
        };
        assert!(m.len() >= 1500, "{q}: only {} series", m.len());
        assert_eq!(a, b, "{q}");
    }
}
