//! Turning discovered target groups into scrape targets, exactly like
//! Prometheus' `PopulateLabels` (3.x: no default port is appended).

use std::fmt::Write as _;
use std::sync::Arc;

use lookout_discovery::{check_target_address, TargetGroup};
use lookout_model::relabel::process_builder;
use lookout_model::{parse_duration, Labels};

use crate::config::ScrapeConfig;

/// Reserved target label names.
pub mod names {
    /// Target address.
    pub const ADDRESS: &str = "__address__";
    /// URL scheme.
    pub const SCHEME: &str = "__scheme__";
    /// URL path.
    pub const METRICS_PATH: &str = "__metrics_path__";
    /// Scrape interval.
    pub const SCRAPE_INTERVAL: &str = "__scrape_interval__";
    /// Scrape timeout.
    pub const SCRAPE_TIMEOUT: &str = "__scrape_timeout__";
    /// Prefix of URL parameter labels.
    pub const PARAM_PREFIX: &str = "__param_";
    /// Prefix of discovery meta labels, removed after relabeling.
    pub const META_PREFIX: &str = "__meta_";
    /// Job label.
    pub const JOB: &str = "job";
    /// Instance label.
    pub const INSTANCE: &str = "instance";
}

use names::*;

/// A scrape target after relabeling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Labels before relabeling (what the API calls `discoveredLabels`).
    pub discovered: Labels,
    /// Labels after relabeling, including `__`-prefixed internal labels.
    pub labels: Labels,
    /// Query parameters from the scrape config (before `__param_*` overrides).
    pub params: Vec<(String, Vec<String>)>,
}

impl Target {
    /// The public labels (no `__` prefix): attached to every scraped series
    /// and shown as `labels` by the API.
    pub fn public_labels(&self) -> Labels {
        let kept: Vec<_> = self
            .labels
            .iter()
            .filter(|l| !l.name.starts_with("__"))
            .cloned()
            .collect();
        Labels::from_sorted(kept)
    }

    /// The scrape URL: scheme, address, path and query (config params with
    /// `__param_<name>` labels overriding their first value), query keys sorted
    /// and escaped like Go's `url.Values.Encode`.
    pub fn url(&self) -> String {
        let mut params: Vec<(String, Vec<String>)> = self.params.clone();
        for l in self.labels.iter() {
            if let Some(k) = l.name.strip_prefix(PARAM_PREFIX) {
                match params.iter_mut().find(|(pk, _)| pk == k) {
                    Some((_, vs)) if !vs.is_empty() => vs[0] = l.value.clone(),
                    Some((_, vs)) => vs.push(l.value.clone()),
                    None => params.push((k.to_string(), vec![l.value.clone()])),
                }
            }
        }
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let mut url = format!(
            "{}://{}{}",
            self.labels.get_or_empty(SCHEME),
            self.labels.get_or_empty(ADDRESS),
            escape_path(self.labels.get_or_empty(METRICS_PATH))
        );
        let mut first = true;
        for (k, vs) in &params {
            for v in vs {
                url.push(if first { '?' } else { '&' });
                first = false;
                url.push_str(&query_escape(k));
                url.push('=');
                url.push_str(&query_escape(v));
            }
        }
        url
    }

    /// The URL with a loopback or unspecified host replaced by this
    /// machine's host name (Prometheus' `globalUrl`).
    pub fn global_url(&self) -> String {
        let url = self.url();
        let addr = self.labels.get_or_empty(ADDRESS);
        let (host, port) = split_host_port(addr);
        let local = matches!(host, "localhost" | "127.0.0.1" | "::1" | "0.0.0.0" | "::")
            || host.starts_with("127.");
        if !local {
            return url;
        }
        let Some(hostname) = hostname() else {
            return url;
        };
        let new_addr = match port {
            Some(p) => format!("{hostname}:{p}"),
            None => hostname,
        };
        url.replacen(addr, &new_addr, 1)
    }

    /// Scrape interval in milliseconds (validated at build time).
    pub fn interval_ms(&self) -> i64 {
        parse_duration(self.labels.get_or_empty(SCRAPE_INTERVAL)).unwrap_or(60_000)
    }

    /// Scrape timeout in milliseconds (validated at build time).
    pub fn timeout_ms(&self) -> i64 {
        parse_duration(self.labels.get_or_empty(SCRAPE_TIMEOUT)).unwrap_or(10_000)
    }

    /// Identity of the target within its pool: its final labels plus URL.
    /// Prometheus hashes the same two things (FNV-64a over the label hash
    /// and URL); it also drives the scrape offset.
    pub fn hash(&self) -> u64 {
        let mut h = Fnv64a::new();
        h.write(format!("{:016}", prometheus_labels_hash(&self.labels)).as_bytes());
        h.write(self.url().as_bytes());
        h.finish()
    }
}

/// A target that relabeling dropped (kept for the API's `droppedTargets`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedTarget {
    /// Labels before relabeling.
    pub discovered: Labels,
}

/// What target building produced from one job's groups.
#[derive(Clone, Debug, Default)]
pub struct BuiltTargets {
    /// Targets to scrape, deduplicated by hash.
    pub active: Vec<Arc<Target>>,
    /// Targets relabeling dropped.
    pub dropped: Vec<DroppedTarget>,
    /// Targets rejected with an error (bad address, interval, label value).
    pub failed: Vec<(Labels, String)>,
}

/// Builds targets for every group of a job.
pub fn targets_from_groups(groups: &[TargetGroup], cfg: &ScrapeConfig) -> BuiltTargets {
    let mut out = BuiltTargets::default();
    let mut seen = std::collections::HashSet::new();
    for g in groups {
        for t in &g.targets {
            // Target labels win over group labels.
            let mut b = g.labels.builder();
            for l in t.iter() {
                b.set(l.name.clone(), l.value.clone());
            }
            let merged = b.into_labels();
            match populate_labels(&merged, cfg) {
                Ok(Populated::Keep(target)) => {
                    if seen.insert(target.hash()) {
                        out.active.push(Arc::new(target));
                    }
                }
                Ok(Populated::Dropped(discovered)) => {
                    out.dropped.push(DroppedTarget { discovered })
                }
                Err(e) => out.failed.push((merged, e)),
            }
        }
    }
    out
}

/// Outcome of building one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Populated {
    /// A target to scrape.
    Keep(Target),
    /// Relabeling dropped it; the discovered labels.
    Dropped(Labels),
}

/// Prometheus' `PopulateLabels`: add job/interval/timeout/path/scheme
/// defaults and `__param_*`, relabel, validate, drop `__meta_*`, default
/// `instance` to the address. Errors use Prometheus' wording.
pub fn populate_labels(lset: &Labels, cfg: &ScrapeConfig) -> Result<Populated, String> {
    let mut b = lset.builder();
    let defaults = [
        (JOB, cfg.job_name.clone()),
        (SCRAPE_INTERVAL, cfg.scrape_interval.to_string()),
        (SCRAPE_TIMEOUT, cfg.scrape_timeout.to_string()),
        (METRICS_PATH, cfg.metrics_path.clone()),
        (SCHEME, cfg.scheme.clone()),
    ];
    for (name, value) in defaults {
        if lset.get_or_empty(name).is_empty() {
            b.set(name, value);
        }
    }
    for (k, v) in &cfg.params {
        if let Some(first) = v.first() {
            b.set(format!("{PARAM_PREFIX}{k}"), first.clone());
        }
    }
    let pre_relabel = b.build();
    if !process_builder(&mut b, &cfg.relabel_configs) {
        return Ok(Populated::Dropped(pre_relabel));
    }
    let addr = b.get(ADDRESS).unwrap_or("").to_string();
    if addr.is_empty() {
        return Err("no address".into());
    }
    check_target_address(&addr).map_err(|e| e.0)?;
    let interval = b.get(SCRAPE_INTERVAL).unwrap_or("").to_string();
    let interval_ms =
        parse_duration(&interval).map_err(|e| format!("error parsing scrape interval: {e}"))?;
    if interval_ms == 0 {
        return Err("scrape interval cannot be 0".into());
    }
    let timeout = b.get(SCRAPE_TIMEOUT).unwrap_or("").to_string();
    let timeout_ms =
        parse_duration(&timeout).map_err(|e| format!("error parsing scrape timeout: {e}"))?;
    if timeout_ms == 0 {
        return Err("scrape timeout cannot be 0".into());
    }
    if timeout_ms > interval_ms {
        return Err(format!(
            "scrape timeout cannot be greater than scrape interval ({timeout:?} > {interval:?})"
        ));
    }
    b.retain(|l| !l.name.starts_with(META_PREFIX));
    if b.get(INSTANCE).unwrap_or("").is_empty() {
        b.set(INSTANCE, addr);
    }
    let labels = b.into_labels();
    for l in labels.iter() {
        if !lookout_model::relabel::is_valid_label_name(&l.name) {
            return Err(format!("{:?} is not a valid label name", l.name));
        }
    }
    Ok(Populated::Keep(Target {
        discovered: pre_relabel,
        labels,
        params: cfg
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }))
}

fn split_host_port(addr: &str) -> (&str, Option<&str>) {
    if let Some(rest) = addr.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let host = &rest[..end];
            let port = rest[end + 1..].strip_prefix(':');
            return (host, port);
        }
    }
    match addr.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (addr, None),
    }
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Go's `url.QueryEscape`: unreserved bytes stay, space becomes `+`,
/// everything else `%XX`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Escapes a URL path like Go's `url.URL.EscapedPath` for the characters
/// that matter in metrics paths.
fn escape_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'/'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b':'
            | b'@' => out.push(b as char),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Prometheus' `labels.Hash`: xxHash64 over `name 0xff value 0xff ...`.
pub fn prometheus_labels_hash(l: &Labels) -> u64 {
    let mut h = xxhash_rust::xxh64::Xxh64::new(0);
    for x in l.iter() {
        h.update(x.name.as_bytes());
        h.update(&[0xff]);
        h.update(x.value.as_bytes());
        h.update(&[0xff]);
    }
    h.digest()
}

/// FNV-1a 64-bit, as Go's `hash/fnv`.
pub(crate) struct Fnv64a(u64);

impl Fnv64a {
    pub(crate) fn new() -> Self {
        Fnv64a(0xcbf2_9ce4_8422_2325)
    }
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
