//! Runs discovery providers per scrape job and publishes merged target sets.
//!
//! Consumers watch a [`tokio::sync::watch`] channel holding the latest
//! complete snapshot (job → target groups); a burst of provider updates
//! collapses into whatever the consumer reads next, which is the throttling
//! Prometheus gets from its 5 s update ticker, without the delay.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::file::{FileDiscovery, FileSdConfig};
use crate::group::{static_groups, StaticConfig, TargetGroup};

/// Latest target groups per job name.
pub type TargetSets = BTreeMap<String, Vec<TargetGroup>>;

/// A discovery provider: a future that sends updated groups until the
/// channel closes. Kubernetes discovery will plug in here.
pub type Provider = Box<
    dyn FnOnce(mpsc::Sender<Vec<TargetGroup>>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send,
>;

/// The discovery part of one scrape job's config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobDiscovery {
    /// Fixed target groups.
    pub static_configs: Vec<StaticConfig>,
    /// File-based discovery entries.
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Directory relative file paths are resolved against.
    pub base_dir: PathBuf,
}

struct JobState {
    config: JobDiscovery,
    /// Groups per (provider index, source).
    groups: BTreeMap<(usize, String), TargetGroup>,
    tasks: Vec<JoinHandle<()>>,
    generation: u64,
}

struct Shared {
    jobs: HashMap<String, JobState>,
    next_generation: u64,
}

/// Owns the running providers of every job.
pub struct DiscoveryManager {
    shared: Arc<Mutex<Shared>>,
    tx: Arc<watch::Sender<Arc<TargetSets>>>,
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl DiscoveryManager {
    /// A manager with no jobs, and the receiver consumers watch.
    pub fn new() -> (Self, watch::Receiver<Arc<TargetSets>>) {
        let (tx, rx) = watch::channel(Arc::new(TargetSets::new()));
        (
            DiscoveryManager {
                shared: Arc::new(Mutex::new(Shared {
                    jobs: HashMap::new(),
                    next_generation: 0,
                })),
                tx: Arc::new(tx),
            },
            rx,
        )
    }

    /// Applies a new job set: removed jobs stop, new or changed jobs
    /// (re)start their providers, unchanged jobs keep running untouched.
    /// Must be called inside a tokio runtime.
    pub fn apply(&self, jobs: BTreeMap<String, JobDiscovery>) {
        self.apply_with_extra(jobs, HashMap::new());
    }

    /// Like [`Self::apply`], plus extra providers per job (e.g. Kubernetes),
    /// which always restart that job.
    pub fn apply_with_extra(
        &self,
        jobs: BTreeMap<String, JobDiscovery>,
        mut extra: HashMap<String, Vec<Provider>>,
    ) {
        let mut sh = lock(&self.shared);
        let removed: Vec<String> = sh
            .jobs
            .keys()
            .filter(|k| !jobs.contains_key(*k))
            .cloned()
            .collect();
        for name in removed {
            if let Some(st) = sh.jobs.remove(&name) {
                st.tasks.iter().for_each(JoinHandle::abort);
            }
        }
        for (name, cfg) in jobs {
            let extras = extra.remove(&name).unwrap_or_default();
            if extras.is_empty() && sh.jobs.get(&name).is_some_and(|st| st.config == cfg) {
                continue;
            }
            // A restarted job keeps its providers' last groups until each new
            // provider reports, so targets do not flap (and go stale) on reload.
            let mut groups = BTreeMap::new();
            if let Some(st) = sh.jobs.remove(&name) {
                st.tasks.iter().for_each(JoinHandle::abort);
                groups = st.groups;
            }
            sh.next_generation += 1;
            let generation = sh.next_generation;
            let mut providers: Vec<Provider> = Vec::new();
            for f in &cfg.file_sd_configs {
                let fd = FileDiscovery::new(f, &cfg.base_dir);
                providers.push(Box::new(move |tx| Box::pin(fd.run(tx))));
            }
            providers.extend(extras);
            let n = providers.len();
            groups.retain(|(idx, _), _| (1..=n).contains(idx));
            // Provider 0 is the static set.
            for g in static_groups(&cfg.static_configs) {
                groups.insert((0, g.source.clone()), g);
            }
            let mut tasks = Vec::new();
            for (i, p) in providers.into_iter().enumerate() {
                tasks.push(self.spawn_provider(name.clone(), i + 1, generation, p));
            }
            sh.jobs.insert(
                name,
                JobState {
                    config: cfg,
                    groups,
                    tasks,
                    generation,
                },
            );
        }
        publish(&sh, &self.tx);
    }

    fn spawn_provider(
        &self,
        job: String,
        idx: usize,
        generation: u64,
        provider: Provider,
    ) -> JoinHandle<()> {
        let (ptx, mut prx) = mpsc::channel::<Vec<TargetGroup>>(4);
        let shared = self.shared.clone();
        let out = self.tx.clone();
        let run = provider(ptx);
        tokio::spawn(async move {
            let runner = tokio::spawn(run);
            let mut first = true;
            while let Some(update) = prx.recv().await {
                let mut sh = lock(&shared);
                let Some(st) = sh.jobs.get_mut(&job) else {
                    break;
                };
                if st.generation != generation {
                    break;
                }
                if first {
                    // The first report is complete: it replaces whatever an
                    // earlier provider at this position left behind.
                    st.groups.retain(|(i, _), _| *i != idx);
                    first = false;
                }
                for g in update {
                    let key = (idx, g.source.clone());
                    if g.targets.is_empty() {
                        st.groups.remove(&key);
                    } else {
                        st.groups.insert(key, g);
                    }
                }
                publish(&sh, &out);
            }
            runner.abort();
        })
    }

    /// The latest snapshot.
    pub fn current(&self) -> Arc<TargetSets> {
        self.tx.borrow().clone()
    }

    /// Stops every provider.
    pub fn stop(&self) {
        let mut sh = lock(&self.shared);
        for (_, st) in sh.jobs.drain() {
            st.tasks.iter().for_each(JoinHandle::abort);
        }
    }
}

impl Drop for DiscoveryManager {
    fn drop(&mut self) {
        self.stop();
    }
}

fn publish(sh: &Shared, tx: &watch::Sender<Arc<TargetSets>>) {
    let mut sets = TargetSets::new();
    for (name, st) in &sh.jobs {
        sets.insert(name.clone(), st.groups.values().cloned().collect());
    }
    tx.send_replace(Arc::new(sets));
}

/// Convenience for callers that only have a config file path.
pub fn base_dir_of(config_file: &Path) -> PathBuf {
    config_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn wait_for(
        rx: &mut watch::Receiver<Arc<TargetSets>>,
        pred: impl Fn(&TargetSets) -> bool,
    ) -> Arc<TargetSets> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let cur = rx.borrow_and_update().clone();
            if pred(&cur) {
                return cur;
            }
            tokio::select! {
                r = rx.changed() => { r.unwrap(); }
                _ = tokio::time::sleep_until(deadline) => panic!("timed out; last: {cur:?}"),
            }
        }
    }

    fn count(sets: &TargetSets, job: &str) -> usize {
        sets.get(job)
            .map(|g| g.iter().map(|g| g.targets.len()).sum())
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn static_and_file_sd_with_changes_picked_up() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t.json");
        std::fs::write(&f, r#"[{"targets": ["a:1"]}]"#).unwrap();
        let (m, mut rx) = DiscoveryManager::new();
        let mut jobs = BTreeMap::new();
        jobs.insert(
            "j".to_string(),
            JobDiscovery {
                static_configs: vec![StaticConfig {
                    targets: vec!["s:1".into()],
                    labels: Default::default(),
                }],
                // A long refresh interval: the update must come from the watcher.
                file_sd_configs: vec![serde_yaml_ng::from_str(
                    "files: ['*.json']\nrefresh_interval: 1h",
                )
                .unwrap()],
                base_dir: dir.path().to_path_buf(),
            },
        );
        m.apply(jobs.clone());
        wait_for(&mut rx, |s| count(s, "j") == 2).await;
        std::fs::write(&f, r#"[{"targets": ["a:1", "b:1", "c:1"]}]"#).unwrap();
        wait_for(&mut rx, |s| count(s, "j") == 4).await;
        std::fs::remove_file(&f).unwrap();
        wait_for(&mut rx, |s| count(s, "j") == 1).await;

        // Re-applying the same config keeps state; removing the job clears it.
        m.apply(jobs.clone());
        assert_eq!(count(&m.current(), "j"), 1);

        // A changed job keeps its file targets visible while the new provider
        // starts, then reflects the new provider's view.
        std::fs::write(&f, r#"[{"targets": ["z:1"]}]"#).unwrap();
        wait_for(&mut rx, |s| count(s, "j") == 2).await;
        let mut changed = jobs.clone();
        let j = changed.get_mut("j").unwrap();
        j.static_configs[0].targets.push("s2:1".into());
        m.apply(changed);
        let right_after = m.current();
        assert_eq!(
            count(&right_after, "j"),
            3,
            "file target kept across the restart: {right_after:?}"
        );
        wait_for(&mut rx, |s| count(s, "j") == 3).await;
        m.apply(BTreeMap::new());
        assert!(m.current().is_empty());
    }
}
