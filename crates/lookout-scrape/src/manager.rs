//! The scrape manager: one pool per job, fed by discovery, reloadable.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use lookout_discovery::{DiscoveryManager, TargetSets};
use lookout_model::storage::Appendable;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::PrometheusConfig;
use crate::pool::ScrapePool;
use crate::target::{prometheus_labels_hash, Fnv64a};

/// Owns the scrape pools.
pub struct ScrapeManager {
    appendable: Arc<dyn Appendable>,
    pools: Mutex<BTreeMap<String, ScrapePool>>,
    offset_seed: Mutex<u64>,
    last_sets: Mutex<Arc<TargetSets>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Prometheus' offset seed: external labels hash XOR the host name's FNV
/// hash, so HA pairs with distinct external labels scrape at different phases.
pub fn offset_seed(cfg: &PrometheusConfig) -> u64 {
    let mut h = Fnv64a::new();
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        h.write(name.trim().as_bytes());
    }
    prometheus_labels_hash(&cfg.global.external_labels()) ^ h.finish()
}

impl ScrapeManager {
    /// A manager writing into `appendable`.
    pub fn new(appendable: Arc<dyn Appendable>) -> Self {
        ScrapeManager {
            appendable,
            pools: Mutex::new(BTreeMap::new()),
            offset_seed: Mutex::new(0),
            last_sets: Mutex::new(Arc::new(TargetSets::new())),
        }
    }

    /// Applies a config: new jobs get pools, changed jobs reload (loops
    /// restart, caches kept), removed jobs stop with staleness markers,
    /// unchanged jobs are not touched. Returns per-job errors (e.g. a CA
    /// file that cannot be read); those jobs keep their previous state.
    /// Must run inside a tokio runtime.
    pub fn apply_config(&self, cfg: &PrometheusConfig) -> Vec<String> {
        let mut errors = Vec::new();
        let seed = offset_seed(cfg);
        let seed_changed = {
            let mut s = lock(&self.offset_seed);
            let changed = *s != seed;
            *s = seed;
            changed
        };
        let sets = lock(&self.last_sets).clone();
        let mut pools = lock(&self.pools);
        let wanted: BTreeMap<&str, _> = cfg
            .scrape_configs
            .iter()
            .map(|c| (c.job_name.as_str(), c))
            .collect();
        let removed: Vec<String> = pools
            .keys()
            .filter(|k| !wanted.contains_key(k.as_str()))
            .cloned()
            .collect();
        for name in removed {
            if let Some(mut p) = pools.remove(&name) {
                p.stop();
            }
        }
        for (name, sc) in wanted {
            for k in sc.unsupported_sd_configs.keys() {
                tracing::warn!(job = name, sd = %k, "service discovery mechanism not supported yet; its targets are ignored");
            }
            match pools.get_mut(name) {
                Some(p) if **p.config() == *sc && !seed_changed => {}
                Some(p) => {
                    if let Err(e) = p.reload(Arc::new(sc.clone())) {
                        errors.push(format!("job {name:?}: {e}"));
                    }
                }
                None => {
                    match ScrapePool::new(Arc::new(sc.clone()), self.appendable.clone(), seed) {
                        Ok(mut p) => {
                            if let Some(groups) = sets.get(name) {
                                p.sync(groups);
                            }
                            pools.insert(name.to_string(), p);
                        }
                        Err(e) => errors.push(format!("job {name:?}: {e}")),
                    }
                }
            }
        }
        errors
    }

    /// Hands new discovery results to the pools.
    pub fn sync(&self, sets: Arc<TargetSets>) {
        *lock(&self.last_sets) = sets.clone();
        let mut pools = lock(&self.pools);
        for (name, p) in pools.iter_mut() {
            let groups = sets.get(name).map(Vec::as_slice).unwrap_or(&[]);
            p.sync(groups);
        }
    }

    /// Follows a discovery channel until it closes.
    pub async fn run(self: Arc<Self>, mut rx: watch::Receiver<Arc<TargetSets>>) {
        loop {
            let sets = rx.borrow_and_update().clone();
            self.sync(sets);
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Runs `f` over the pools (for the API).
    pub fn with_pools<R>(&self, f: impl FnOnce(&BTreeMap<String, ScrapePool>) -> R) -> R {
        f(&lock(&self.pools))
    }

    /// Aborts every loop (shutdown).
    pub fn shutdown(&self) {
        for p in lock(&self.pools).values_mut() {
            p.abort();
        }
    }
}

/// Discovery plus scraping, wired together: what the server runs.
pub struct ScrapeService {
    /// The scrape manager (for the API).
    pub manager: Arc<ScrapeManager>,
    discovery: DiscoveryManager,
    follower: JoinHandle<()>,
}

impl ScrapeService {
    /// Starts scraping `cfg` into `appendable`. Must run inside a tokio runtime.
    pub fn start(appendable: Arc<dyn Appendable>, cfg: &PrometheusConfig) -> (Self, Vec<String>) {
        let manager = Arc::new(ScrapeManager::new(appendable));
        let (discovery, rx) = DiscoveryManager::new();
        let errors = manager.apply_config(cfg);
        discovery.apply(jobs_of(cfg));
        let follower = tokio::spawn(manager.clone().run(rx));
        (
            ScrapeService {
                manager,
                discovery,
                follower,
            },
            errors,
        )
    }

    /// Applies a reloaded config.
    pub fn reload(&self, cfg: &PrometheusConfig) -> Vec<String> {
        let errors = self.manager.apply_config(cfg);
        self.discovery.apply(jobs_of(cfg));
        errors
    }

    /// Stops discovery and aborts every loop.
    pub fn shutdown(&self) {
        self.discovery.stop();
        self.follower.abort();
        self.manager.shutdown();
    }
}

impl Drop for ScrapeService {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn jobs_of(cfg: &PrometheusConfig) -> BTreeMap<String, lookout_discovery::JobDiscovery> {
    cfg.scrape_configs
        .iter()
        .map(|c| (c.job_name.clone(), c.discovery()))
        .collect()
}
