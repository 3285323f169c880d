//! The notification data every notifier and template sees (Alertmanager's
//! `template.Data`), and its JSON form, which is also the webhook payload.

use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::alert::{is_zero, Alert};
use crate::labels::LabelSet;

/// One alert as notifiers see it.
#[derive(Clone, Debug, PartialEq)]
pub struct NotificationAlert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Labels.
    pub labels: LabelSet,
    /// Annotations.
    pub annotations: LabelSet,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End; Go's zero time for firing alerts.
    pub ends_at: DateTime<Utc>,
    /// Source link.
    pub generator_url: String,
    /// Fingerprint, 16 hex digits.
    pub fingerprint: String,
}

/// Notification data (`template.Data`).
#[derive(Clone, Debug, PartialEq)]
pub struct Data {
    /// Receiver name passed through Go's `regexp.QuoteMeta`, as upstream does.
    pub receiver: String,
    /// `firing` if any alert fires, else `resolved`.
    pub status: String,
    /// Alerts in notification order.
    pub alerts: Vec<NotificationAlert>,
    /// The group's labels.
    pub group_labels: LabelSet,
    /// Labels with the same value on every alert.
    pub common_labels: LabelSet,
    /// Annotations with the same value on every alert.
    pub common_annotations: LabelSet,
    /// Where the UI lives.
    pub external_url: String,
}

/// Go's `regexp.QuoteMeta`: backslash before each of `\.+*?()|[]{}^$`.
pub fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Builds notification data for alerts (already copied by the flush, so a
/// firing alert's `ends_at` is zero).
pub fn build_data(
    receiver: &str,
    group_labels: &LabelSet,
    alerts: &[Alert],
    external_url: &str,
    now: DateTime<Utc>,
) -> Data {
    let alerts_out: Vec<NotificationAlert> = alerts
        .iter()
        .map(|a| NotificationAlert {
            status: a.status_at(now).to_string(),
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            generator_url: a.generator_url.clone(),
            fingerprint: a.fingerprint().to_string(),
        })
        .collect();
    let status = if alerts_out.iter().any(|a| a.status == "firing") {
        "firing"
    } else {
        "resolved"
    };
    let mut common_labels = alerts.first().map(|a| a.labels.clone()).unwrap_or_default();
    let mut common_annotations = alerts
        .first()
        .map(|a| a.annotations.clone())
        .unwrap_or_default();
    for a in alerts.iter().skip(1) {
        common_labels.retain(|k, v| a.labels.get(k) == Some(v));
        common_annotations.retain(|k, v| a.annotations.get(k) == Some(v));
    }
    Data {
        receiver: quote_meta(receiver),
        status: status.to_string(),
        alerts: alerts_out,
        group_labels: group_labels.clone(),
        common_labels,
        common_annotations,
        external_url: external_url.to_string(),
    }
}

/// Go's `time.RFC3339Nano` text (fraction with trailing zeros trimmed).
pub fn go_rfc3339_nano(t: &DateTime<Utc>) -> String {
    if is_zero(t) {
        return "0001-01-01T00:00:00Z".into();
    }
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        format!("{base}Z")
    } else {
        let frac = format!("{nanos:09}");
        format!("{base}.{}Z", frac.trim_end_matches('0'))
    }
}

struct GoTime<'a>(&'a DateTime<Utc>);

impl Serialize for GoTime<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&go_rfc3339_nano(self.0))
    }
}

impl Serialize for NotificationAlert {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Alert", 7)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("labels", &self.labels)?;
        st.serialize_field("annotations", &self.annotations)?;
        st.serialize_field("startsAt", &GoTime(&self.starts_at))?;
        st.serialize_field("endsAt", &GoTime(&self.ends_at))?;
        st.serialize_field("generatorURL", &self.generator_url)?;
        st.serialize_field("fingerprint", &self.fingerprint)?;
        st.end()
    }
}

/// The webhook payload (`version` "4").
pub struct WebhookMessage<'a> {
    /// Data (alerts possibly truncated).
    pub data: &'a Data,
    /// Group key.
    pub group_key: &'a str,
    /// Alerts left out because of `max_alerts`.
    pub truncated_alerts: u64,
}

impl Serialize for WebhookMessage<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.data;
        let mut st = s.serialize_struct("Message", 10)?;
        st.serialize_field("receiver", &d.receiver)?;
        st.serialize_field("status", &d.status)?;
        st.serialize_field("alerts", &d.alerts)?;
        st.serialize_field("groupLabels", &d.group_labels)?;
        st.serialize_field("commonLabels", &d.common_labels)?;
        st.serialize_field("commonAnnotations", &d.common_annotations)?;
        st.serialize_field("externalURL", &d.external_url)?;
        st.serialize_field("version", "4")?;
        st.serialize_field("groupKey", self.group_key)?;
        st.serialize_field("truncatedAlerts", &self.truncated_alerts)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn go_time_text() {
        let t = Utc.timestamp_opt(1_795_000_000, 79_442_251).unwrap();
        assert_eq!(go_rfc3339_nano(&t), "2026-11-18T08:26:40.079442251Z");
        let t = Utc.timestamp_opt(1_795_000_000, 500_000_000).unwrap();
        assert_eq!(go_rfc3339_nano(&t), "2026-11-18T08:26:40.5Z");
        assert_eq!(
            go_rfc3339_nano(&crate::alert::zero_time()),
            "0001-01-01T00:00:00Z"
        );
        assert_eq!(quote_meta("team.a"), "team\\.a");
    }
}

impl Data {
    /// Reads a webhook payload (as written by Alertmanager or lookout) back
    /// into notification data.
    pub fn from_webhook_json(raw: &[u8]) -> Result<Data, String> {
        use serde_json::Value;
        let v: Value = serde_json::from_slice(raw).map_err(|e| e.to_string())?;
        let kv = |v: Option<&Value>| -> LabelSet {
            v.and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                        .collect()
                })
                .unwrap_or_default()
        };
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
        let t = |v: Option<&Value>| -> DateTime<Utc> {
            v.and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(crate::alert::zero_time)
        };
        let alerts = v
            .get("alerts")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|a| NotificationAlert {
                        status: s(a.get("status")),
                        labels: kv(a.get("labels")),
                        annotations: kv(a.get("annotations")),
                        starts_at: t(a.get("startsAt")),
                        ends_at: t(a.get("endsAt")),
                        generator_url: s(a.get("generatorURL")),
                        fingerprint: s(a.get("fingerprint")),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Data {
            receiver: s(v.get("receiver")),
            status: s(v.get("status")),
            alerts,
            group_labels: kv(v.get("groupLabels")),
            common_labels: kv(v.get("commonLabels")),
            common_annotations: kv(v.get("commonAnnotations")),
            external_url: s(v.get("externalURL")),
        })
    }
}
