//! Test doubles for the HTTP layer: an in-memory store and a scripted engine.
//! They exist only so the HTTP behaviour can be tested without the real
//! storage and PromQL crates; the server's own tests use the real ones.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use http_body_util::BodyExt;
use lookout_api::engine::*;
use lookout_api::remote_write::AppendableSink;
use lookout_api::sources::*;
use lookout_api::{Api, ApiSettings, Components, StatusInfo};
use lookout_metrics::Registry;
use lookout_model::storage::*;
use lookout_model::*;
use parking_lot::Mutex;
use tower::ServiceExt;

/// Series kept in a sorted map; append refuses out-of-order samples.
#[derive(Default)]
pub struct MemStore {
    pub series: Mutex<BTreeMap<Labels, Vec<FloatSample>>>,
}

impl Querier for MemStore {
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<SeriesSet, StorageError> {
        if matchers.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let out: Vec<_> = self
            .series
            .lock()
            .iter()
            .filter(|(l, _)| matcher::matches_all(matchers, l))
            .filter_map(|(l, s)| {
                let floats: Vec<_> = s
                    .iter()
                    .filter(|p| p.t >= hints.mint && p.t <= hints.maxt)
                    .copied()
                    .collect();
                (!floats.is_empty()).then(|| {
                    Ok(SeriesData {
                        labels: l.clone(),
                        floats,
                        histograms: vec![],
                    })
                })
            })
            .collect();
        Ok(Box::new(out.into_iter()))
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut names = std::collections::BTreeSet::new();
        for (l, s) in self.series.lock().iter() {
            if matcher::matches_all(matchers, l) && s.iter().any(|p| p.t >= mint && p.t <= maxt) {
                names.extend(l.iter().map(|x| x.name.clone()));
            }
        }
        Ok(names.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut vals = std::collections::BTreeSet::new();
        for (l, s) in self.series.lock().iter() {
            if matcher::matches_all(matchers, l) && s.iter().any(|p| p.t >= mint && p.t <= maxt) {
                if let Some(v) = l.get(name) {
                    vals.insert(v.to_string());
                }
            }
        }
        Ok(vals.into_iter().collect())
    }
}

pub struct MemAppender<'a> {
    store: &'a MemStore,
    pending: Vec<(Labels, FloatSample)>,
}

impl Appender for MemAppender<'_> {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        let last = self
            .pending
            .iter()
            .rev()
            .find(|(l, _)| l == labels)
            .map(|(_, s)| s.t)
            .or_else(|| {
                self.store
                    .series
                    .lock()
                    .get(labels)
                    .and_then(|s| s.last().map(|p| p.t))
            });
        if let Some(last) = last {
            if t < last {
                return Err(AppendError::OutOfOrder);
            }
        }
        self.pending.push((labels.clone(), FloatSample { t, v }));
        Ok(())
    }
    fn append_histogram(
        &mut self,
        _: &Labels,
        _: i64,
        _: &FloatHistogram,
    ) -> Result<(), AppendError> {
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<(), StorageError> {
        let mut map = self.store.series.lock();
        for (l, s) in self.pending {
            map.entry(l).or_default().push(s);
        }
        Ok(())
    }
    fn rollback(self: Box<Self>) {}
}

impl Appendable for MemStore {
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(MemAppender {
            store: self,
            pending: vec![],
        })
    }
}

/// Parses `name`, `{a="b"}` or `name{a=~"b",c!="d"}` (no escapes).
pub fn parse_selector(s: &str) -> Result<Vec<Matcher>, QueryError> {
    let bad = |m: &str| QueryError::new(QueryErrorKind::BadData, m.to_string());
    let s = s.trim();
    let (name, rest) = match s.find('{') {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    let mut out = Vec::new();
    if !name.is_empty() {
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        {
            return Err(bad("1:1: parse error: unexpected character"));
        }
        out.push(Matcher::equal("__name__", name));
    }
    if let Some(rest) = rest {
        let inner = rest
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .ok_or_else(|| bad("1:1: parse error: unexpected end of input"))?;
        for part in inner.split(',').filter(|p| !p.trim().is_empty()) {
            let ops = [
                ("=~", MatchOp::Regex),
                ("!~", MatchOp::NotRegex),
                ("!=", MatchOp::NotEqual),
                ("=", MatchOp::Equal),
            ];
            let (i, op, len) = ops
                .iter()
                .filter_map(|(t, op)| part.find(t).map(|i| (i, *op, t.len())))
                .min_by_key(|x| x.0)
                .ok_or_else(|| bad("1:1: parse error: unexpected label matcher"))?;
            let n = part[..i].trim();
            let v = part[i + len..].trim().trim_matches('"');
            out.push(Matcher::new(op, n, v).map_err(|e| bad(&format!("1:1: parse error: {e}")))?);
        }
    }
    if out.is_empty() {
        return Err(bad(
            "1:1: parse error: vector selector must contain at least one non-empty matcher",
        ));
    }
    Ok(out)
}

/// A scripted engine: `1+1` → scalar 2; `"str"` → string; a selector → its
/// latest samples; `sleep` waits for cancellation; `too_many` fails with the
/// sample-limit error; anything with `(` fails to parse.
pub struct FakeEngine {
    pub store: Arc<MemStore>,
    pub saw_cancel: Arc<AtomicBool>,
}

impl FakeEngine {
    fn eval(&self, expr: &str, t: i64, cancel: &CancelFlag) -> Result<QueryValue, QueryError> {
        match expr {
            "1+1" => Ok(QueryValue::Scalar { t, v: 2.0 }),
            "1e-7" => Ok(QueryValue::Scalar { t, v: 1e-7 }),
            "\"str\"" => Ok(QueryValue::String { t, v: "str".into() }),
            "sleep" => {
                for _ in 0..500 {
                    if cancel.is_cancelled() {
                        self.saw_cancel.store(true, Ordering::SeqCst);
                        return Err(QueryError::new(
                            QueryErrorKind::Canceled,
                            "query was canceled",
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(QueryValue::Scalar { t, v: 0.0 })
            }
            "too_many" => Err(QueryError::new(
                QueryErrorKind::Execution,
                "query processing would load too many samples into memory in query execution",
            )),
            "" => Err(QueryError::new(
                QueryErrorKind::BadData,
                "1:1: parse error: no expression found in input",
            )),
            e if e.contains('(') => Err(QueryError::new(
                QueryErrorKind::BadData,
                "1:5: parse error: unexpected end of input",
            )),
            sel => {
                let ms = parse_selector(sel)?;
                let hints = SelectHints {
                    mint: t - 300_000,
                    maxt: t,
                    labels_only: false,
                    limit: 0,
                };
                let mut out = Vec::new();
                for s in self
                    .store
                    .select(&ms, &hints)
                    .map_err(|e| QueryError::new(QueryErrorKind::Internal, e.to_string()))?
                {
                    let s = s.unwrap();
                    if let Some(p) = s.floats.last() {
                        out.push(VectorSample {
                            labels: s.labels,
                            t,
                            value: SampleValue::Float(p.v),
                        });
                    }
                }
                Ok(QueryValue::Vector(out))
            }
        }
    }
}

impl QueryEngine for FakeEngine {
    fn instant_query(
        &self,
        expr: &str,
        t: i64,
        _: &QueryOptions,
        cancel: &CancelFlag,
    ) -> Result<QueryResult, QueryError> {
        Ok(QueryResult {
            value: self.eval(expr, t, cancel)?,
            warnings: vec![],
            infos: vec![],
            samples: None,
        })
    }
    fn range_query(
        &self,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
        _: &QueryOptions,
        cancel: &CancelFlag,
    ) -> Result<QueryResult, QueryError> {
        let mut series: BTreeMap<Labels, Vec<FloatSample>> = BTreeMap::new();
        let mut t = start;
        while t <= end {
            match self.eval(expr, t, cancel)? {
                QueryValue::Scalar { v, .. } => series.entry(Labels::empty()).or_default().push(FloatSample { t, v }),
                QueryValue::Vector(vs) => {
                    for s in vs {
                        if let SampleValue::Float(v) = s.value {
                            series.entry(s.labels.without_metric_name()).or_default().push(FloatSample { t, v });
                        }
                    }
                }
                _ => return Err(QueryError::new(QueryErrorKind::BadData, "invalid expression type \"string\" for range query, must be Scalar or instant Vector")),
            }
            t += step;
        }
        let m = series
            .into_iter()
            .map(|(labels, floats)| SeriesData {
                labels,
                floats,
                histograms: vec![],
            })
            .collect();
        Ok(QueryResult {
            value: QueryValue::Matrix(m),
            warnings: vec![],
            infos: vec![],
            samples: None,
        })
    }
    fn parse_selector(&self, s: &str) -> Result<Vec<Matcher>, QueryError> {
        parse_selector(s)
    }
    fn selectors(&self, expr: &str) -> Result<Vec<Vec<Matcher>>, QueryError> {
        if expr.contains('(') {
            return Err(QueryError::new(
                QueryErrorKind::BadData,
                "1:5: parse error: unexpected end of input",
            ));
        }
        if expr == "1+1" {
            return Ok(vec![]);
        }
        Ok(vec![parse_selector(expr)?])
    }
    fn format_query(&self, expr: &str) -> Result<String, QueryError> {
        if expr.contains('(') {
            return Err(QueryError::new(
                QueryErrorKind::BadData,
                "1:5: parse error: unexpected end of input",
            ));
        }
        Ok(expr.replace(' ', ""))
    }
    fn parse_query(&self, expr: &str) -> Result<serde_json::Value, QueryError> {
        Ok(serde_json::json!({"type": "vectorSelector", "name": expr}))
    }
}

pub struct NoTargets;
impl TargetsView for NoTargets {
    fn targets(&self, active: bool, _dropped: bool, pool: Option<&str>) -> TargetsSnapshot {
        let mut t = TargetsSnapshot::default();
        if active && pool.is_none_or(|p| p == "node") {
            t.active_targets = self.active();
        }
        t
    }
    fn metadata(&self) -> Vec<TargetMetricMetadata> {
        self.meta()
    }
    fn scrape_pools(&self) -> Vec<String> {
        vec!["node".into()]
    }
}

impl NoTargets {
    fn active(&self) -> Vec<ActiveTarget> {
        vec![ActiveTarget {
            discovered_labels: [("__address__".to_string(), "127.0.0.1:9100".to_string())].into(),
            labels: [
                ("instance".to_string(), "127.0.0.1:9100".to_string()),
                ("job".to_string(), "node".to_string()),
            ]
            .into(),
            scrape_pool: "node".into(),
            scrape_url: "http://127.0.0.1:9100/metrics".into(),
            global_url: "http://127.0.0.1:9100/metrics".into(),
            last_error: String::new(),
            last_scrape: "2024-01-01T00:00:00Z".into(),
            last_scrape_duration: 0.01,
            health: "up".into(),
            scrape_interval: "15s".into(),
            scrape_timeout: "10s".into(),
        }]
    }
    fn meta(&self) -> Vec<TargetMetricMetadata> {
        let t = Labels::from_pairs([("instance", "127.0.0.1:9100"), ("job", "node")]);
        vec![
            TargetMetricMetadata {
                target: t.clone(),
                metric: "node_load1".into(),
                kind: "gauge".into(),
                help: "1m load average.".into(),
                unit: String::new(),
            },
            TargetMetricMetadata {
                target: t,
                metric: "node_cpu_seconds_total".into(),
                kind: "counter".into(),
                help: "Seconds the CPUs spent in each mode.".into(),
                unit: String::new(),
            },
        ]
    }
}

pub struct Fixture {
    pub api: Arc<Api>,
    pub store: Arc<MemStore>,
    pub saw_cancel: Arc<AtomicBool>,
    pub router: axum::Router,
}

pub fn fixture() -> Fixture {
    fixture_with(ApiSettings::default())
}

pub fn fixture_with(settings: ApiSettings) -> Fixture {
    let store = Arc::new(MemStore::default());
    let saw_cancel = Arc::new(AtomicBool::new(false));
    let engine = Arc::new(FakeEngine {
        store: store.clone(),
        saw_cancel: saw_cancel.clone(),
    });
    let api = Api::new(
        Components {
            engine,
            querier: store.clone(),
            sink: Arc::new(AppendableSink::new(store.clone())),
            targets: Arc::new(NoTargets),
            storage_stats: Arc::new(QuerierStats::new(store.clone(), i64::MAX / 4)),
            reloader: None,
        },
        settings,
        StatusInfo {
            config_yaml: "global: {}\n".into(),
            ..Default::default()
        },
        Arc::new(Registry::new()),
    );
    api.set_ready(true);
    let router = lookout_api::finish(lookout_api::routes(api.clone()));
    Fixture {
        api,
        store,
        saw_cancel,
        router,
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub async fn send(router: &axum::Router, req: Request<Body>) -> Resp {
    let resp: Response<Body> = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get(router: &axum::Router, uri: &str) -> Resp {
    send(router, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub async fn post_form(router: &axum::Router, uri: &str, form: &str) -> Resp {
    send(
        router,
        Request::post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form.to_string()))
            .unwrap(),
    )
    .await
}

pub fn add(store: &MemStore, pairs: &[(&str, &str)], t: i64, v: f64) {
    store
        .series
        .lock()
        .entry(Labels::from_pairs(pairs.iter().copied()))
        .or_default()
        .push(FloatSample { t, v });
}
