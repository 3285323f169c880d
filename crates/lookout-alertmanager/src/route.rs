//! The routing tree: which routes (and so receivers and grouping options) an
//! alert's labels reach.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::config::{route_matchers, RouteConfig};
use crate::labels::LabelSet;
use crate::matchers::{matchers_string, Matcher, ParseMode};

/// Options a route node resolved from its own config and its ancestors.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteOpts {
    /// Receiver name.
    pub receiver: String,
    /// Grouping labels.
    pub group_by: BTreeSet<String>,
    /// Group by every label (`...`).
    pub group_by_all: bool,
    /// First-notification delay.
    pub group_wait: Duration,
    /// Delay between notifications for a changed group.
    pub group_interval: Duration,
    /// Delay before repeating an unchanged notification.
    pub repeat_interval: Duration,
    /// Mute intervals (not inherited).
    pub mute_time_intervals: Vec<String>,
    /// Active intervals (not inherited).
    pub active_time_intervals: Vec<String>,
}

impl Default for RouteOpts {
    fn default() -> Self {
        RouteOpts {
            receiver: String::new(),
            group_by: BTreeSet::new(),
            group_by_all: false,
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(300),
            repeat_interval: Duration::from_secs(4 * 3600),
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
        }
    }
}

/// One node of the tree.
#[derive(Clone, Debug)]
pub struct Route {
    /// Depth-first index, unique in the tree (sibling routes with the same
    /// matchers share a key but not an id).
    pub id: usize,
    /// Alertmanager's route key: parent key, `/`, matcher list.
    pub key: String,
    /// Resolved options.
    pub opts: RouteOpts,
    /// Matchers, sorted.
    pub matchers: Vec<Matcher>,
    /// Continue with siblings after a match.
    pub continue_matching: bool,
    /// Children.
    pub routes: Vec<Route>,
}

impl Route {
    /// Builds the tree from a validated root config.
    pub fn build(root: &RouteConfig, mode: ParseMode) -> Result<Route, String> {
        let mut next_id = 0;
        Self::build_node(root, None, mode, &mut next_id)
    }

    fn build_node(
        cfg: &RouteConfig,
        parent: Option<(&RouteOpts, &str)>,
        mode: ParseMode,
        next_id: &mut usize,
    ) -> Result<Route, String> {
        let mut opts = parent.map(|p| p.0.clone()).unwrap_or_default();
        if let Some(r) = cfg.receiver.as_deref() {
            if !r.is_empty() {
                opts.receiver = r.to_string();
            }
        }
        if let Some(gb) = &cfg.group_by {
            // An explicit list replaces the parent's grouping, `[]` included
            // (Alertmanager ≥ 0.31; 0.25 treated `[]` as absent).
            opts.group_by_all = gb.iter().any(|l| l == "...");
            opts.group_by = gb.iter().filter(|l| *l != "...").cloned().collect();
        }
        if let Some(d) = cfg.group_wait {
            opts.group_wait = d.std();
        }
        if let Some(d) = cfg.group_interval {
            opts.group_interval = d.std();
        }
        if let Some(d) = cfg.repeat_interval {
            opts.repeat_interval = d.std();
        }
        opts.mute_time_intervals = cfg.mute_time_intervals.clone();
        opts.active_time_intervals = cfg.active_time_intervals.clone();
        let matchers = route_matchers(cfg, mode)?;
        let own = matchers_string(&matchers);
        let key = match parent {
            Some((_, pk)) => format!("{pk}/{own}"),
            None => own,
        };
        let id = *next_id;
        *next_id += 1;
        let mut routes = Vec::with_capacity(cfg.routes.len());
        for c in &cfg.routes {
            routes.push(Self::build_node(c, Some((&opts, &key)), mode, next_id)?);
        }
        Ok(Route {
            id,
            key,
            opts,
            matchers,
            continue_matching: cfg.continue_matching,
            routes,
        })
    }

    /// Every route the label set reaches, depth first.
    pub fn matches<'a>(&'a self, labels: &LabelSet) -> Vec<&'a Route> {
        if !self.matchers.iter().all(|m| m.matches_labels(labels)) {
            return Vec::new();
        }
        let mut all = Vec::new();
        for c in &self.routes {
            let got = c.matches(labels);
            let matched = !got.is_empty();
            all.extend(got);
            if matched && !c.continue_matching {
                break;
            }
        }
        if all.is_empty() {
            all.push(self);
        }
        all
    }

    /// Visits every node, depth first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Route)) {
        f(self);
        for c in &self.routes {
            c.walk(f);
        }
    }

    /// The node with `id`.
    pub fn find(&self, id: usize) -> Option<&Route> {
        if self.id == id {
            return Some(self);
        }
        self.routes.iter().find_map(|c| c.find(id))
    }

    /// The grouping labels of an alert under this route.
    pub fn group_labels(&self, labels: &LabelSet) -> LabelSet {
        labels
            .iter()
            .filter(|(k, _)| self.opts.group_by_all || self.opts.group_by.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    const USERS: &str = r#"
route:
  receiver: pushover-warning
  group_by: [alertname, namespace]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 12h
  routes:
    - receiver: "null"
      matchers: [alertname = Watchdog]
    - receiver: pushover-critical
      matchers: [severity = critical]
    - receiver: pushover-warning
      matchers: [severity = warning]
receivers:
  - name: "null"
  - name: pushover-critical
  - name: pushover-warning
"#;

    fn ls(p: &[(&str, &str)]) -> LabelSet {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn users_tree() {
        let cfg = load_str(USERS, ParseMode::Fallback).unwrap();
        let root = Route::build(cfg.route(), ParseMode::Fallback).unwrap();
        let recv = |l: &[(&str, &str)]| -> Vec<String> {
            root.matches(&ls(l))
                .iter()
                .map(|r| r.opts.receiver.clone())
                .collect()
        };
        assert_eq!(recv(&[("alertname", "Watchdog")]), ["null"]);
        assert_eq!(
            recv(&[("alertname", "X"), ("severity", "critical")]),
            ["pushover-critical"]
        );
        assert_eq!(
            recv(&[("alertname", "X"), ("severity", "warning")]),
            ["pushover-warning"]
        );
        assert_eq!(
            recv(&[("alertname", "X"), ("severity", "error")]),
            ["pushover-warning"]
        );
        let crit = root.matches(&ls(&[("severity", "critical")]))[0];
        assert_eq!(crit.key, r#"{}/{severity="critical"}"#);
        assert_eq!(crit.opts.repeat_interval, Duration::from_secs(12 * 3600));
        assert_eq!(root.key, "{}");
    }

    #[test]
    fn unquoted_null_receiver_inherits() {
        let cfg = load_str(
            "route:\n  receiver: a\n  routes:\n    - receiver: null\n      matchers: [x=y]\nreceivers:\n  - name: a\n",
            ParseMode::Fallback,
        )
        .unwrap();
        let root = Route::build(cfg.route(), ParseMode::Fallback).unwrap();
        assert_eq!(root.matches(&ls(&[("x", "y")]))[0].opts.receiver, "a");
    }

    #[test]
    fn continue_collects_several_routes() {
        let cfg = load_str(
            "route:\n  receiver: a\n  routes:\n    - receiver: b\n      matchers: [x=y]\n      continue: true\n    - receiver: c\n      matchers: [x=~\".*\"]\n    - receiver: a\nreceivers:\n  - name: a\n  - name: b\n  - name: c\n",
            ParseMode::Fallback,
        )
        .unwrap();
        let root = Route::build(cfg.route(), ParseMode::Fallback).unwrap();
        let got: Vec<_> = root
            .matches(&ls(&[("x", "y")]))
            .iter()
            .map(|r| r.opts.receiver.clone())
            .collect();
        assert_eq!(got, ["b", "c"]);
    }
}
