//! Inhibition: an alert matching a rule's target side is muted while a
//! firing alert matching the source side has equal values for the rule's
//! `equal` labels. An alert matching both sides is never inhibited by
//! another alert that also matches both sides (so an alert cannot inhibit
//! itself or its twins).

use chrono::{DateTime, Utc};

use crate::alert::Alert;
use crate::config::InhibitRule;
use crate::labels::{Fingerprint, LabelSet};
use crate::matchers::matches_all;

/// Fingerprints of the source alerts inhibiting `target` (empty when not
/// inhibited). Like Alertmanager, the first rule that inhibits wins and
/// names one source alert.
pub fn inhibited_by(
    rules: &[InhibitRule],
    sources: &[Alert],
    target: &LabelSet,
    now: DateTime<Utc>,
) -> Vec<Fingerprint> {
    for rule in rules {
        if !matches_all(&rule.target, target) {
            continue;
        }
        let target_is_source_too = matches_all(&rule.source, target);
        let mut found: Option<Fingerprint> = None;
        for s in sources {
            if s.resolved_at(now) || !matches_all(&rule.source, &s.labels) {
                continue;
            }
            let equal = rule.equal.iter().all(|n| {
                s.labels.get(n).map(String::as_str).unwrap_or("")
                    == target.get(n).map(String::as_str).unwrap_or("")
            });
            if !equal {
                continue;
            }
            if target_is_source_too && matches_all(&rule.target, &s.labels) {
                continue;
            }
            let fp = s.fingerprint();
            // Deterministic choice among several sources.
            if found.is_none_or(|f| fp < f) {
                found = Some(fp);
            }
        }
        if let Some(fp) = found {
            return vec![fp];
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::zero_time;
    use crate::matchers::{MatchType, Matcher};

    fn alert(p: &[(&str, &str)]) -> Alert {
        Alert {
            labels: p
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            annotations: LabelSet::new(),
            starts_at: Utc::now(),
            ends_at: zero_time(),
            generator_url: String::new(),
            updated_at: Utc::now(),
            timeout: false,
        }
    }

    fn rule() -> InhibitRule {
        InhibitRule {
            name: None,
            source: vec![Matcher::new(MatchType::Equal, "alertname", "JobDown").unwrap()],
            target: vec![Matcher::new(MatchType::Equal, "alertname", "InstanceDown").unwrap()],
            equal: vec!["job".into(), "zone".into()],
        }
    }

    #[test]
    fn equal_labels_and_missing_ones() {
        let src = alert(&[("alertname", "JobDown"), ("job", "j"), ("zone", "aa")]);
        let hit = alert(&[("alertname", "InstanceDown"), ("job", "j"), ("zone", "aa")]);
        let miss = alert(&[("alertname", "InstanceDown"), ("job", "j"), ("zone", "ab")]);
        let now = Utc::now();
        let sources = vec![src.clone()];
        assert_eq!(
            inhibited_by(&[rule()], &sources, &hit.labels, now),
            vec![src.fingerprint()]
        );
        assert!(inhibited_by(&[rule()], &sources, &miss.labels, now).is_empty());
    }

    #[test]
    fn no_self_inhibition_for_two_sided_matches() {
        let r = InhibitRule {
            name: None,
            source: vec![Matcher::new(MatchType::Equal, "severity", "critical").unwrap()],
            target: vec![Matcher::new(MatchType::Regexp, "severity", ".*").unwrap()],
            equal: vec!["alertname".into()],
        };
        let a = alert(&[("alertname", "A"), ("severity", "critical")]);
        assert!(inhibited_by(&[r], &[a.clone()], &a.labels, Utc::now()).is_empty());
    }
}
