//! Recording and alerting rules: evaluation of one rule at one timestamp,
//! the alert state machine, and the per-rule health the API reports.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lookout_model::storage::{Appendable, Querier};
use lookout_model::{FloatHistogram, Labels, LabelsBuilder, METRIC_NAME};
use lookout_promql::engine::{Engine, SampleValue, Value};
use lookout_promql::parser::Expr;
use lookout_template::prometheus::{funcs, AlertTemplateData, QueryFn, Sample as TmplSample};
use lookout_template::Template;
use parking_lot::Mutex;

use crate::rulefmt::parse_rule_template;

/// How long a resolved alert is kept (and re-sent) before it is forgotten.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// Everything rules need from the rest of the process.
#[derive(Clone)]
pub struct RuleEnv {
    /// Where rule queries read.
    pub querier: Arc<dyn Querier>,
    /// Where recording results and `ALERTS` series are written.
    pub appendable: Arc<dyn Appendable>,
    /// The PromQL engine.
    pub engine: Engine,
    /// `global.external_labels`, offered to templates as `$externalLabels`.
    pub external_labels: Labels,
    /// `--web.external-url`, offered to templates and used in generator URLs.
    pub external_url: String,
}

/// A rule's health as the API reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Health {
    /// Not evaluated yet.
    #[default]
    Unknown,
    /// Last evaluation succeeded.
    Ok,
    /// Last evaluation failed.
    Err,
}

impl Health {
    /// `unknown`, `ok` or `err`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// What the last evaluation of a rule left behind.
#[derive(Clone, Debug, Default)]
pub struct RuleStatus {
    /// Health.
    pub health: Health,
    /// Last error text (empty when healthy).
    pub last_error: String,
    /// Wall-clock start of the last evaluation, ms (None = never).
    pub last_evaluation: Option<i64>,
    /// How long the last evaluation took.
    pub evaluation_time: Duration,
}

/// Alert state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    /// No longer active; kept for resending the resolution.
    Inactive,
    /// Active, waiting for `for` to pass.
    Pending,
    /// Active and firing.
    Firing,
}

impl AlertState {
    /// `inactive`, `pending` or `firing`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of an alerting rule. Times are Unix milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// State.
    pub state: AlertState,
    /// Labels (sample labels without `__name__`, rule labels, `alertname`).
    pub labels: Labels,
    /// Expanded annotations (empty values kept, like Prometheus).
    pub annotations: BTreeMap<String, String>,
    /// Value of the sample that produced the alert, at the last evaluation.
    pub value: f64,
    /// When the alert became active (pending).
    pub active_at: i64,
    /// When it started firing (0 = never).
    pub fired_at: i64,
    /// When it was resolved (0 = not resolved).
    pub resolved_at: i64,
    /// When it was last sent (0 = never).
    pub last_sent_at: i64,
    /// `endsAt` promised to Alertmanager while firing.
    pub valid_until: i64,
    /// First evaluation at which the expression stopped returning the alert
    /// while `keep_firing_for` kept it firing (0 = not set).
    pub keep_firing_since: i64,
}

impl Alert {
    /// Prometheus' sending rule: never pending; always after a resolution
    /// not yet sent; otherwise when the resend delay has strictly passed.
    pub fn needs_sending(&self, ts: i64, resend_delay_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        if self.resolved_at > self.last_sent_at {
            return true;
        }
        self.last_sent_at + resend_delay_ms < ts
    }
}

/// The `query` template function at the rule's evaluation time.
pub(crate) struct TemplateQuery {
    querier: Arc<dyn Querier>,
    engine: Engine,
    ts: AtomicI64,
}

impl QueryFn for TemplateQuery {
    fn query(&self, q: &str) -> Result<Vec<TmplSample>, String> {
        let t = self.ts.load(Ordering::Relaxed);
        let res = self
            .engine
            .instant_query(&*self.querier, q, t, None)
            .map_err(|e| e.to_string())?;
        match res.value {
            Value::Vector(v) => Ok(v
                .into_iter()
                .map(|s| TmplSample {
                    labels: labels_map(&s.metric),
                    value: match s.value {
                        SampleValue::Float(f) => f,
                        SampleValue::Histogram(_) => 0.0,
                    },
                })
                .collect()),
            Value::Scalar { v, .. } => Ok(vec![TmplSample {
                labels: BTreeMap::new(),
                value: v,
            }]),
            _ => Err("rule result is not a vector or scalar".into()),
        }
    }
}

pub(crate) fn labels_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// A result sample of a rule: what gets appended.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSample {
    /// Series labels.
    pub labels: Labels,
    /// Timestamp, ms.
    pub t: i64,
    /// Value.
    pub value: OutValue,
}

/// A float or histogram output value.
#[derive(Clone, Debug, PartialEq)]
pub enum OutValue {
    /// Float sample.
    Float(f64),
    /// Native histogram sample.
    Histogram(Box<FloatHistogram>),
}

/// Runs a rule's query and turns a scalar into a one-sample vector, like
/// Prometheus' `EngineQueryFunc`.
fn run_query(env: &RuleEnv, expr: &Expr, t: i64) -> Result<Vec<(Labels, SampleValue)>, String> {
    let res = env
        .engine
        .instant_query_expr(&*env.querier, expr, t, None)
        .map_err(|e| e.to_string())?;
    match res.value {
        Value::Vector(v) => Ok(v.into_iter().map(|s| (s.metric, s.value)).collect()),
        Value::Scalar { v, .. } => Ok(vec![(Labels::empty(), SampleValue::Float(v))]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

/// A recording rule.
pub struct RecordingRule {
    /// The recorded metric name.
    pub name: String,
    /// The parsed expression.
    pub expr: Expr,
    /// Labels set on every result (an empty value removes the label).
    pub labels: BTreeMap<String, String>,
    pub(crate) status: Mutex<RuleStatus>,
}

impl RecordingRule {
    /// A recording rule.
    pub fn new(name: &str, expr: Expr, labels: BTreeMap<String, String>) -> RecordingRule {
        RecordingRule {
            name: name.to_string(),
            expr,
            labels,
            status: Mutex::new(RuleStatus::default()),
        }
    }

    /// Evaluates at `t` (already shifted by the query offset).
    pub fn eval(&self, env: &RuleEnv, t: i64, limit: usize) -> Result<Vec<RuleSample>, String> {
        let res = run_query(env, &self.expr, t)?;
        let mut out = Vec::with_capacity(res.len());
        let mut seen = std::collections::HashSet::with_capacity(res.len());
        for (metric, v) in res {
            let mut b = metric.builder();
            b.set(METRIC_NAME, self.name.as_str());
            for (k, v) in &self.labels {
                if v.is_empty() {
                    b.del(k);
                } else {
                    b.set(k.as_str(), v.as_str());
                }
            }
            let labels = b.into_labels();
            if !seen.insert(labels.clone()) {
                return Err(
                    "vector contains metrics with the same labelset after applying rule labels"
                        .into(),
                );
            }
            out.push(RuleSample {
                labels,
                t,
                value: match v {
                    SampleValue::Float(f) => OutValue::Float(f),
                    SampleValue::Histogram(h) => OutValue::Histogram(Box::new((*h).clone())),
                },
            });
        }
        if limit > 0 && out.len() > limit {
            return Err(format!(
                "exceeded limit of {limit} with {} series",
                out.len()
            ));
        }
        Ok(out)
    }
}

/// Mutable state of an alerting rule.
#[derive(Default)]
pub(crate) struct AlertingState {
    pub active: HashMap<Labels, Alert>,
    /// Whether the `for` state has been restored (only then are `ALERTS`
    /// and `ALERTS_FOR_STATE` written).
    pub restored: bool,
}

/// An alerting rule.
pub struct AlertingRule {
    /// The alert name.
    pub name: String,
    /// The parsed expression.
    pub expr: Expr,
    /// `for`, ms.
    pub hold_ms: i64,
    /// `keep_firing_for`, ms.
    pub keep_firing_for_ms: i64,
    /// Label templates as written.
    pub labels: BTreeMap<String, String>,
    /// Annotation templates as written.
    pub annotations: BTreeMap<String, String>,
    label_tmpls: Vec<(String, Result<Template, String>)>,
    annotation_tmpls: Vec<(String, Result<Template, String>)>,
    query: Arc<TemplateQuery>,
    external_labels: BTreeMap<String, String>,
    external_url: String,
    pub(crate) state: Mutex<AlertingState>,
    pub(crate) status: Mutex<RuleStatus>,
}

/// Parameters of a new alerting rule.
pub struct AlertingRuleSpec<'a> {
    /// Alert name.
    pub name: &'a str,
    /// Expression.
    pub expr: Expr,
    /// `for`, ms.
    pub hold_ms: i64,
    /// `keep_firing_for`, ms.
    pub keep_firing_for_ms: i64,
    /// Label templates.
    pub labels: BTreeMap<String, String>,
    /// Annotation templates.
    pub annotations: BTreeMap<String, String>,
    /// Whether ALERTS series are written from the first evaluation (rules
    /// loaded after start-up) or only after the restore step.
    pub restored: bool,
}

impl AlertingRule {
    /// Builds the rule; templates are parsed once here.
    pub fn new(spec: AlertingRuleSpec<'_>, env: &RuleEnv) -> AlertingRule {
        let query = Arc::new(TemplateQuery {
            querier: env.querier.clone(),
            engine: env.engine.clone(),
            ts: AtomicI64::new(0),
        });
        let f = funcs(query.clone(), &env.external_url);
        let compile = |m: &BTreeMap<String, String>| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        parse_rule_template(spec.name, v, f.clone()).map_err(|e| e.to_string()),
                    )
                })
                .collect::<Vec<_>>()
        };
        let label_tmpls = compile(&spec.labels);
        let annotation_tmpls = compile(&spec.annotations);
        AlertingRule {
            name: spec.name.to_string(),
            expr: spec.expr,
            hold_ms: spec.hold_ms,
            keep_firing_for_ms: spec.keep_firing_for_ms,
            labels: spec.labels,
            annotations: spec.annotations,
            label_tmpls,
            annotation_tmpls,
            query,
            external_labels: labels_map(&env.external_labels),
            external_url: env.external_url.clone(),
            state: Mutex::new(AlertingState {
                active: HashMap::new(),
                restored: spec.restored,
            }),
            status: Mutex::new(RuleStatus::default()),
        }
    }

    fn expand(&self, tmpl: &Result<Template, String>, data: &lookout_template::Value) -> String {
        let name = format!("__alert_{}", self.name);
        let res = match tmpl {
            Err(e) => Err(format!("error parsing template {name}: {e}")),
            Ok(t) => t
                .execute(data)
                .map_err(|e| format!("error executing template {name}: {e}")),
        };
        match res {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(alert = %self.name, error = %e, "expanding alert template failed");
                format!("<error expanding template: {e}>")
            }
        }
    }

    /// Evaluates at `ts` (the group's evaluation time), querying at
    /// `ts - offset_ms`; returns the `ALERTS`/`ALERTS_FOR_STATE` samples
    /// when the rule's state is restored.
    pub fn eval(
        &self,
        env: &RuleEnv,
        ts: i64,
        offset_ms: i64,
        limit: usize,
    ) -> Result<Vec<RuleSample>, String> {
        let qt = ts - offset_ms;
        let res = run_query(env, &self.expr, qt)?;
        self.query.ts.store(qt, Ordering::Relaxed);
        let mut current: HashMap<Labels, Alert> = HashMap::with_capacity(res.len());
        for (metric, v) in res {
            let value = match v {
                SampleValue::Float(f) => f,
                SampleValue::Histogram(_) => 0.0,
            };
            let data = AlertTemplateData {
                labels: labels_map(&metric),
                external_labels: self.external_labels.clone(),
                external_url: self.external_url.clone(),
                value,
            }
            .to_value();
            let mut b: LabelsBuilder = metric.builder();
            b.del(METRIC_NAME);
            for (k, t) in &self.label_tmpls {
                let v = self.expand(t, &data);
                b.set(k.as_str(), v);
            }
            b.set("alertname", self.name.as_str());
            let mut annotations = BTreeMap::new();
            for (k, t) in &self.annotation_tmpls {
                annotations.insert(k.clone(), self.expand(t, &data));
            }
            let labels = b.into_labels();
            if current.contains_key(&labels) {
                return Err(
                    "vector contains metrics with the same labelset after applying alert labels"
                        .into(),
                );
            }
            current.insert(
                labels.clone(),
                Alert {
                    state: AlertState::Pending,
                    labels,
                    annotations,
                    value,
                    active_at: ts,
                    fired_at: 0,
                    resolved_at: 0,
                    last_sent_at: 0,
                    valid_until: 0,
                    keep_firing_since: 0,
                },
            );
        }

        let mut st = self.state.lock();
        let present: std::collections::HashSet<Labels> = current.keys().cloned().collect();
        for (k, a) in current {
            match st.active.get_mut(&k) {
                Some(old) if old.state != AlertState::Inactive => {
                    old.value = a.value;
                    old.annotations = a.annotations;
                }
                _ => {
                    st.active.insert(k, a);
                }
            }
        }
        let mut out = Vec::new();
        let mut active_count = 0usize;
        let restored = st.restored;
        let hold = self.hold_ms;
        let keep_for = self.keep_firing_for_ms;
        st.active.retain(|k, a| {
            if !present.contains(k) {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && keep_for > 0 {
                    if a.keep_firing_since == 0 {
                        a.keep_firing_since = ts;
                    }
                    if ts - a.keep_firing_since < keep_for {
                        keep_firing = true;
                    }
                }
                let remove = a.state == AlertState::Pending
                    || (a.resolved_at != 0 && ts - a.resolved_at > RESOLVED_RETENTION_MS);
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at = ts;
                }
                if remove {
                    return false;
                }
                if !keep_firing {
                    return true;
                }
            } else {
                a.keep_firing_since = 0;
            }
            active_count += 1;
            if a.state == AlertState::Pending && ts - a.active_at >= hold {
                a.state = AlertState::Firing;
                a.fired_at = ts;
            }
            if restored {
                out.push(alert_series(&self.name, &self.labels, a, qt, false));
                out.push(alert_series(&self.name, &self.labels, a, qt, true));
            }
            true
        });
        if limit > 0 && active_count > limit {
            st.active.clear();
            return Err(format!(
                "exceeded limit of {limit} with {active_count} alerts"
            ));
        }
        Ok(out)
    }

    /// Alerts to send at `ts`, marking them sent (Prometheus' `sendAlerts`).
    pub fn alerts_to_send(&self, ts: i64, resend_delay_ms: i64, interval_ms: i64) -> Vec<Alert> {
        let mut st = self.state.lock();
        let mut out = Vec::new();
        for a in st.active.values_mut() {
            if a.needs_sending(ts, resend_delay_ms) {
                a.last_sent_at = ts;
                a.valid_until = ts + 4 * resend_delay_ms.max(interval_ms);
                out.push(a.clone());
            }
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// Current alerts (pending, firing and resolved-but-kept), sorted by labels.
    pub fn alerts(&self) -> Vec<Alert> {
        let st = self.state.lock();
        let mut v: Vec<Alert> = st.active.values().cloned().collect();
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    }

    /// Whether the `for` state counts as restored.
    pub fn restored(&self) -> bool {
        self.state.lock().restored
    }

    /// Marks the rule restored (or not).
    pub fn set_restored(&self, v: bool) {
        self.state.lock().restored = v;
    }

    /// The rule's overall state: the highest state of its alerts.
    pub fn state(&self) -> AlertState {
        self.state
            .lock()
            .active
            .values()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive)
    }
}

/// `ALERTS{alertstate=...}` (value 1) or `ALERTS_FOR_STATE` (value
/// `ActiveAt` in whole seconds) for an alert. Like Prometheus, the builder
/// starts from the rule's unexpanded labels, so a label whose template
/// expanded to "" shows its template text here.
fn alert_series(
    rule: &str,
    rule_labels: &BTreeMap<String, String>,
    a: &Alert,
    t: i64,
    for_state: bool,
) -> RuleSample {
    let mut b = LabelsBuilder::new();
    for (k, v) in rule_labels {
        b.set(k.as_str(), v.as_str());
    }
    for l in &a.labels {
        b.set(l.name.as_str(), l.value.as_str());
    }
    if for_state {
        b.set(METRIC_NAME, "ALERTS_FOR_STATE");
    } else {
        b.set(METRIC_NAME, "ALERTS");
        b.set("alertstate", a.state.as_str());
    }
    b.set("alertname", rule);
    RuleSample {
        labels: b.into_labels(),
        t,
        value: OutValue::Float(if for_state {
            a.active_at.div_euclid(1000) as f64
        } else {
            1.0
        }),
    }
}

/// A rule of either kind. Rules live behind `Arc`s in groups, so the
/// size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Rule {
    /// Recording rule.
    Recording(RecordingRule),
    /// Alerting rule.
    Alerting(AlertingRule),
}

impl Rule {
    /// Record or alert name.
    pub fn name(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.name,
            Rule::Alerting(r) => &r.name,
        }
    }

    /// The rule's labels as written.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        match self {
            Rule::Recording(r) => &r.labels,
            Rule::Alerting(r) => &r.labels,
        }
    }

    /// The parsed expression.
    pub fn expr(&self) -> &Expr {
        match self {
            Rule::Recording(r) => &r.expr,
            Rule::Alerting(r) => &r.expr,
        }
    }

    pub(crate) fn status_cell(&self) -> &Mutex<RuleStatus> {
        match self {
            Rule::Recording(r) => &r.status,
            Rule::Alerting(r) => &r.status,
        }
    }

    /// A copy of the rule's health and timings.
    pub fn status(&self) -> RuleStatus {
        self.status_cell().lock().clone()
    }

    /// Identity used to carry state over a reload: name plus labels.
    pub fn identity(&self) -> String {
        let mut s = self.name().to_string();
        for (k, v) in self.labels() {
            s.push('\u{ff}');
            s.push_str(k);
            s.push('=');
            s.push_str(v);
        }
        s
    }

    /// Whether two rules have the same definition (for reload equality).
    pub fn same_definition(&self, other: &Rule) -> bool {
        match (self, other) {
            (Rule::Recording(a), Rule::Recording(b)) => {
                a.name == b.name && a.expr.to_string() == b.expr.to_string() && a.labels == b.labels
            }
            (Rule::Alerting(a), Rule::Alerting(b)) => {
                a.name == b.name
                    && a.expr.to_string() == b.expr.to_string()
                    && a.hold_ms == b.hold_ms
                    && a.keep_firing_for_ms == b.keep_firing_for_ms
                    && a.labels == b.labels
                    && a.annotations == b.annotations
            }
            _ => false,
        }
    }
}
