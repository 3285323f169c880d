//! A scrape pool: the targets and loops of one job.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use lookout_discovery::TargetGroup;
use lookout_model::storage::Appendable;

use crate::append::{SampleOptions, ScrapeCache};
use crate::client::{ClientError, ScrapeClient};
use crate::config::ScrapeConfig;
use crate::scrape_loop::{LoopHandle, LoopSettings, StopReason};
use crate::state::TargetState;
use crate::target::{targets_from_groups, DroppedTarget, Target};

/// The loops of one job.
pub struct ScrapePool {
    name: String,
    config: Arc<ScrapeConfig>,
    client: ScrapeClient,
    appendable: Arc<dyn Appendable>,
    offset_seed: u64,
    loops: HashMap<u64, LoopHandle>,
    /// Loops stopping in the background (end-of-run staleness).
    retiring: Vec<LoopHandle>,
    dropped: Vec<DroppedTarget>,
    dropped_total: usize,
    groups: Vec<TargetGroup>,
}

impl ScrapePool {
    /// A pool with no targets yet.
    pub fn new(
        config: Arc<ScrapeConfig>,
        appendable: Arc<dyn Appendable>,
        offset_seed: u64,
    ) -> Result<Self, ClientError> {
        Ok(ScrapePool {
            name: config.job_name.clone(),
            client: ScrapeClient::new(&config)?,
            config,
            appendable,
            offset_seed,
            loops: HashMap::new(),
            retiring: Vec::new(),
            dropped: Vec::new(),
            dropped_total: 0,
            groups: Vec::new(),
        })
    }

    /// The job's config.
    pub fn config(&self) -> &Arc<ScrapeConfig> {
        &self.config
    }

    fn settings_for(&self, t: &Target) -> LoopSettings {
        LoopSettings {
            client: self.client.clone(),
            opts: SampleOptions {
                target_labels: t.public_labels(),
                honor_labels: self.config.honor_labels,
                honor_timestamps: self.config.honor_timestamps,
                track_timestamps_staleness: self.config.track_timestamps_staleness,
                metric_relabel: Arc::new(self.config.metric_relabel_configs.clone()),
                limits: self.config.limits.clone(),
                fallback: self.config.fallback_scrape_protocol,
            },
            interval: std::time::Duration::from_millis(t.interval_ms().max(1) as u64),
            timeout: std::time::Duration::from_millis(t.timeout_ms().max(1) as u64),
            offset_seed: self.offset_seed,
        }
    }

    /// Applies a new set of target groups: new targets start, vanished
    /// ones stop with staleness markers, unchanged ones keep running.
    pub fn sync(&mut self, groups: &[TargetGroup]) {
        self.groups = groups.to_vec();
        let built = targets_from_groups(groups, &self.config);
        for (labels, err) in &built.failed {
            tracing::warn!(job = %self.name, target = %labels, error = %err, "dropping invalid target");
        }
        self.dropped_total = built.dropped.len();
        let keep = self.config.limits.keep_dropped_targets as usize;
        self.dropped = if keep > 0 {
            built.dropped.into_iter().take(keep).collect()
        } else {
            built.dropped
        };
        let mut wanted: HashMap<u64, Arc<Target>> = HashMap::new();
        for t in built.active {
            wanted.insert(t.hash(), t);
        }
        let gone: Vec<u64> = self
            .loops
            .keys()
            .filter(|h| !wanted.contains_key(h))
            .copied()
            .collect();
        for h in gone {
            if let Some(l) = self.loops.remove(&h) {
                l.stop(StopReason::Vanished);
                self.retiring.push(l);
            }
        }
        self.retiring.retain(|l| !l.is_finished());
        for (h, t) in wanted {
            if self.loops.contains_key(&h) {
                continue;
            }
            let settings = self.settings_for(&t);
            let state = Arc::new(TargetState::new(t, self.name.clone()));
            let handle = LoopHandle::start(
                state,
                settings,
                self.appendable.clone(),
                Arc::new(Mutex::new(ScrapeCache::new())),
                Arc::new(Mutex::new(None)),
            );
            self.loops.insert(h, handle);
        }
        self.apply_target_limit();
    }

    fn apply_target_limit(&self) {
        let limit = self.config.limits.target_limit as usize;
        let err = (limit > 0 && self.loops.len() > limit).then(|| {
            format!(
                "target_limit exceeded (number of targets: {}, limit: {limit})",
                self.loops.len()
            )
        });
        for l in self.loops.values() {
            *l.forced_error.lock().unwrap_or_else(|e| e.into_inner()) = err.clone();
        }
    }

    /// Switches to a new config: the client is rebuilt, targets are rebuilt
    /// from the last groups, and every loop restarts with its cache (no
    /// staleness for targets that survive).
    pub fn reload(&mut self, config: Arc<ScrapeConfig>) -> Result<(), ClientError> {
        let client = ScrapeClient::new(&config)?;
        self.config = config;
        self.client = client;
        let built = targets_from_groups(&self.groups, &self.config);
        let mut old = std::mem::take(&mut self.loops);
        for t in built.active {
            let h = t.hash();
            let settings = self.settings_for(&t);
            let (cache, forced) = match old.remove(&h) {
                Some(l) => {
                    l.stop(StopReason::Reload);
                    (l.cache.clone(), l.forced_error.clone())
                }
                None => (
                    Arc::new(Mutex::new(ScrapeCache::new())),
                    Arc::new(Mutex::new(None)),
                ),
            };
            let state = Arc::new(TargetState::new(t, self.name.clone()));
            self.loops.insert(
                h,
                LoopHandle::start(state, settings, self.appendable.clone(), cache, forced),
            );
        }
        for (_, l) in old {
            l.stop(StopReason::Vanished);
            self.retiring.push(l);
        }
        self.dropped_total = built.dropped.len();
        self.dropped = built.dropped;
        self.apply_target_limit();
        Ok(())
    }

    /// Stops every loop with staleness markers (job removed from config).
    pub fn stop(&mut self) {
        for (_, l) in self.loops.drain() {
            l.stop(StopReason::Vanished);
            self.retiring.push(l);
        }
    }

    /// Aborts every loop immediately (process shutdown).
    pub fn abort(&mut self) {
        for l in self.loops.values().chain(self.retiring.iter()) {
            l.abort();
        }
        self.loops.clear();
        self.retiring.clear();
    }

    /// Active targets, sorted by scrape URL.
    pub fn active(&self) -> Vec<Arc<TargetState>> {
        let mut v: Vec<_> = self.loops.values().map(|l| l.state.clone()).collect();
        v.sort_by_key(|s| s.target.url());
        v
    }

    /// Dropped targets (at most `keep_dropped_targets` when set) and the total count.
    pub fn dropped(&self) -> (&[DroppedTarget], usize) {
        (&self.dropped, self.dropped_total)
    }
}

impl Drop for ScrapePool {
    fn drop(&mut self) {
        // Background staleness work keeps running only while the pool's
        // retiring handles are alive in a manager; a dropped pool aborts.
        for l in self.loops.values() {
            l.abort();
        }
    }
}
