//! The rule manager's and notifier's self-monitoring metrics (the default
//! rules alert on them).

use std::sync::Arc;
use std::time::Duration;

use lookout_metrics::{Counter, Family, Gauge, Registry};

/// Rule evaluation metrics, labelled by `rule_group` (`<file>;<name>`).
pub struct RuleMetrics {
    /// `lookout_rule_evaluations_total`.
    pub evaluations: Arc<Family<Counter>>,
    /// `lookout_rule_evaluation_failures_total`.
    pub failures: Arc<Family<Counter>>,
    /// `lookout_rule_group_iterations_total`.
    pub iterations: Arc<Family<Counter>>,
    /// `lookout_rule_group_iterations_missed_total`.
    pub iterations_missed: Arc<Family<Counter>>,
    /// `lookout_rule_group_last_duration_seconds`.
    pub last_duration: Arc<Family<Gauge>>,
    /// `lookout_rule_group_last_evaluation_timestamp_seconds`.
    pub last_evaluation: Arc<Family<Gauge>>,
    /// `lookout_rule_group_interval_seconds`.
    pub interval: Arc<Family<Gauge>>,
    /// `lookout_rule_group_rules`.
    pub rules: Arc<Family<Gauge>>,
}

impl RuleMetrics {
    /// Registers the metrics in `reg`.
    pub fn new(reg: &Registry) -> RuleMetrics {
        let g = &["rule_group"];
        RuleMetrics {
            evaluations: reg.counter_family(
                "lookout_rule_evaluations_total",
                "The total number of rule evaluations.",
                g,
            ),
            failures: reg.counter_family(
                "lookout_rule_evaluation_failures_total",
                "The total number of rule evaluation failures.",
                g,
            ),
            iterations: reg.counter_family(
                "lookout_rule_group_iterations_total",
                "The total number of scheduled rule group evaluations, whether executed or missed.",
                g,
            ),
            iterations_missed: reg.counter_family(
                "lookout_rule_group_iterations_missed_total",
                "The total number of rule group evaluations missed due to slow rule group evaluation.",
                g,
            ),
            last_duration: reg.gauge_family(
                "lookout_rule_group_last_duration_seconds",
                "The duration of the last rule group evaluation.",
                g,
            ),
            last_evaluation: reg.gauge_family(
                "lookout_rule_group_last_evaluation_timestamp_seconds",
                "The timestamp of the last rule group evaluation in seconds.",
                g,
            ),
            interval: reg.gauge_family(
                "lookout_rule_group_interval_seconds",
                "The interval of a rule group.",
                g,
            ),
            rules: reg.gauge_family(
                "lookout_rule_group_rules",
                "The number of rules.",
                g,
            ),
        }
    }

    /// Metrics that are not exported anywhere (tests, tools).
    pub fn unregistered() -> RuleMetrics {
        RuleMetrics::new(&Registry::new())
    }

    pub(crate) fn observe_group(
        &self,
        group: &str,
        took: Duration,
        ts: i64,
        interval_ms: i64,
        rules: usize,
    ) {
        self.last_duration.with(&[group]).set(took.as_secs_f64());
        self.last_evaluation.with(&[group]).set(ts as f64 / 1000.0);
        self.interval
            .with(&[group])
            .set(interval_ms as f64 / 1000.0);
        self.rules.with(&[group]).set(rules as f64);
    }
}

/// Notifier metrics, labelled by `alertmanager` URL where it applies.
pub struct NotifierMetrics {
    /// `lookout_notifications_sent_total`.
    pub sent: Arc<Family<Counter>>,
    /// `lookout_notifications_errors_total`.
    pub errors: Arc<Family<Counter>>,
    /// `lookout_notifications_dropped_total`.
    pub dropped: Arc<Counter>,
    /// `lookout_notifications_queue_length`.
    pub queue_length: Arc<Gauge>,
    /// `lookout_notifications_queue_capacity`.
    pub queue_capacity: Arc<Gauge>,
    /// `lookout_notifications_alertmanagers_discovered`.
    pub alertmanagers: Arc<Gauge>,
}

impl NotifierMetrics {
    /// Registers the metrics in `reg`.
    pub fn new(reg: &Registry) -> NotifierMetrics {
        NotifierMetrics {
            sent: reg.counter_family(
                "lookout_notifications_sent_total",
                "Total number of alerts sent.",
                &["alertmanager"],
            ),
            errors: reg.counter_family(
                "lookout_notifications_errors_total",
                "Total number of errors sending alert notifications.",
                &["alertmanager"],
            ),
            dropped: reg.counter(
                "lookout_notifications_dropped_total",
                "Total number of alerts dropped due to errors when sending to Alertmanager.",
            ),
            queue_length: reg.gauge(
                "lookout_notifications_queue_length",
                "The number of alert notifications in the queue.",
            ),
            queue_capacity: reg.gauge(
                "lookout_notifications_queue_capacity",
                "The capacity of the alert notifications queue.",
            ),
            alertmanagers: reg.gauge(
                "lookout_notifications_alertmanagers_discovered",
                "The number of alertmanagers discovered and active.",
            ),
        }
    }

    /// Metrics that are not exported anywhere.
    pub fn unregistered() -> NotifierMetrics {
        NotifierMetrics::new(&Registry::new())
    }
}
