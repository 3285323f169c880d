//! The rule manager: loads rule files (and embedded rule sets), runs each
//! group on its own thread at Prometheus' evaluation slots, reloads without
//! losing state (and keeps the old rules when the new ones are invalid),
//! and hands out snapshots for the API.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use crate::group::{Group, GroupOptions};
use crate::load::{self, LoadError, LoadOptions};
use crate::rule::RuleEnv;

/// Where rules come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleSource {
    /// A rule file on disk.
    File(PathBuf),
    /// Rule-file text compiled into the binary (the default rules); `name`
    /// is shown as the group's file.
    Embedded {
        /// Pseudo file name.
        name: String,
        /// YAML text.
        text: String,
    },
}

/// Settings a configuration reload may change.
#[derive(Clone)]
pub struct RuleConfig {
    /// Storage, engine, external labels and URL.
    pub env: RuleEnv,
    /// Defaults for groups.
    pub load: LoadOptions,
}

struct Running {
    group: Arc<Group>,
    stop: Mutex<Option<mpsc::Sender<()>>>,
    handle: Mutex<Option<std::thread::JoinHandle<()>>>,
    should_restore: bool,
}

impl Running {
    fn stop(&self) {
        drop(self.stop.lock().take());
        if let Some(h) = self.handle.lock().take() {
            let _ = h.join();
        }
    }
}

/// The rule manager.
pub struct RuleManager {
    gopts: GroupOptions,
    groups: RwLock<Vec<Arc<Running>>>,
    /// Prometheus' `m.restored`: only groups of the first load restore their
    /// `for` state; later ones start restored.
    loaded_once: AtomicBool,
    running: AtomicBool,
    env_fingerprint: Mutex<Option<(String, String)>>,
    update_lock: Mutex<()>,
}

fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

impl RuleManager {
    /// A manager whose groups use `gopts` (sender, resend delay, restore
    /// tolerances, metrics).
    pub fn new(gopts: GroupOptions) -> RuleManager {
        RuleManager {
            gopts,
            groups: RwLock::new(Vec::new()),
            loaded_once: AtomicBool::new(false),
            running: AtomicBool::new(false),
            env_fingerprint: Mutex::new(None),
            update_lock: Mutex::new(()),
        }
    }

    /// Loads every source; on any error nothing changes and every error is
    /// returned (the old rules keep running).
    pub fn load(
        &self,
        sources: &[RuleSource],
        cfg: &RuleConfig,
    ) -> Result<Vec<Group>, Vec<LoadError>> {
        let mut lopts = cfg.load.clone();
        lopts.restored = self.loaded_once.load(Ordering::SeqCst);
        let mut groups = Vec::new();
        let mut errs = Vec::new();
        for src in sources {
            let (name, parsed) = match src {
                RuleSource::File(p) => (p.display().to_string(), load::read_rule_file(p)),
                RuleSource::Embedded { name, text } => {
                    (name.clone(), load::parse_rule_text(name, text))
                }
            };
            match parsed
                .and_then(|rgs| load::build_groups(&name, &rgs, &cfg.env, &self.gopts, &lopts))
            {
                Ok(gs) => groups.extend(gs),
                Err(e) => errs.extend(e),
            }
        }
        if errs.is_empty() {
            Ok(groups)
        } else {
            Err(errs)
        }
    }

    /// Applies a new rule set: unchanged groups keep running untouched,
    /// changed groups take over their predecessor's alert state, removed
    /// groups stop and mark their series stale. Invalid input changes
    /// nothing.
    pub fn update(&self, sources: &[RuleSource], cfg: &RuleConfig) -> Result<(), Vec<LoadError>> {
        let _serial = self.update_lock.lock();
        let new_groups = self.load(sources, cfg)?;
        let first = !self.loaded_once.swap(true, Ordering::SeqCst);
        let fp = (
            cfg.env.external_labels.to_string(),
            cfg.env.external_url.clone(),
        );
        let env_same = self.env_fingerprint.lock().as_ref() == Some(&fp);
        *self.env_fingerprint.lock() = Some(fp);

        let mut old: HashMap<(String, String), Arc<Running>> = self
            .groups
            .read()
            .iter()
            .map(|r| (r.group.key(), r.clone()))
            .collect();
        let mut next = Vec::with_capacity(new_groups.len());
        for g in new_groups {
            let key = g.key();
            match old.remove(&key) {
                Some(prev) if env_same && prev.group.same_definition(&g) => next.push(prev),
                Some(prev) => {
                    prev.stop();
                    g.copy_state_from(&prev.group);
                    next.push(self.start_group(Arc::new(g), false));
                }
                None => next.push(self.start_group(Arc::new(g), first)),
            }
        }
        let stale_at = (now_ns() / 1_000_000) as i64;
        for (_, gone) in old {
            gone.stop();
            gone.group.mark_all_stale(stale_at);
        }
        next.sort_by(|a, b| {
            (a.group.file.as_str(), a.group.name.as_str())
                .cmp(&(b.group.file.as_str(), b.group.name.as_str()))
        });
        *self.groups.write() = next;
        Ok(())
    }

    fn start_group(&self, g: Arc<Group>, should_restore: bool) -> Arc<Running> {
        let r = Arc::new(Running {
            group: g,
            stop: Mutex::new(None),
            handle: Mutex::new(None),
            should_restore,
        });
        if self.running.load(Ordering::SeqCst) {
            spawn(&r, &self.gopts);
        }
        r
    }

    /// Starts evaluating (Prometheus holds evaluation until storage is ready).
    pub fn run(&self) {
        if self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        for r in self.groups.read().iter() {
            spawn(r, &self.gopts);
        }
    }

    /// Stops every group and waits for running evaluations to finish.
    pub fn stop(&self) {
        self.running.store(false, Ordering::SeqCst);
        for r in self.groups.read().iter() {
            r.stop();
        }
    }

    /// The current groups, ordered by file then name.
    pub fn groups(&self) -> Vec<Arc<Group>> {
        self.groups.read().iter().map(|r| r.group.clone()).collect()
    }
}

impl Drop for RuleManager {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn(r: &Arc<Running>, gopts: &GroupOptions) {
    let (tx, rx) = mpsc::channel::<()>();
    *r.stop.lock() = Some(tx);
    let group = r.group.clone();
    let should_restore = r.should_restore;
    let metrics = gopts.metrics.clone();
    let handle = std::thread::Builder::new()
        .name(format!("rules-{}", group.name))
        .spawn(move || run_group(&group, should_restore, &rx, &metrics));
    match handle {
        Ok(h) => *r.handle.lock() = Some(h),
        Err(e) => {
            tracing::error!(group = %r.group.name, error = %e, "cannot start rule group thread")
        }
    }
}

/// Waits until `deadline_ns` (wall clock) or a stop signal; true = stop.
fn wait_until(deadline_ns: i128, rx: &mpsc::Receiver<()>) -> bool {
    loop {
        let now = now_ns();
        if now >= deadline_ns {
            return false;
        }
        let d = Duration::from_nanos((deadline_ns - now).min(u64::MAX as i128) as u64);
        match rx.recv_timeout(d) {
            Err(RecvTimeoutError::Timeout) => continue,
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return true,
        }
    }
}

/// Prometheus' group loop: first evaluation at the group's next slot, then
/// every interval; late ticks skip the missed slots (counted); groups of the
/// first load restore their `for` state after their second evaluation.
fn run_group(
    g: &Group,
    should_restore: bool,
    rx: &mpsc::Receiver<()>,
    metrics: &crate::metrics::RuleMetrics,
) {
    let interval = (g.interval_ms.max(1) as i128) * 1_000_000;
    let mut eval_ts = g.eval_timestamp_ns(now_ns()) + interval;
    let key = format!("{};{}", g.file, g.name);
    if wait_until(eval_ts, rx) {
        return;
    }
    let iterate = |ts: i128| {
        metrics.iterations.with(&[&key]).inc();
        g.eval((ts / 1_000_000) as i64);
    };
    iterate(eval_ts);
    let mut restore_pending = should_restore;
    loop {
        if wait_until(eval_ts + interval, rx) {
            return;
        }
        let missed = (now_ns() - eval_ts) / interval - 1;
        if missed > 0 {
            metrics
                .iterations_missed
                .with(&[&key])
                .inc_by(missed as f64);
            metrics.iterations.with(&[&key]).inc_by(missed as f64);
        }
        eval_ts += (missed.max(0) + 1) * interval;
        iterate(eval_ts);
        if restore_pending {
            g.restore_for_state((now_ns() / 1_000_000) as i64);
            restore_pending = false;
        }
    }
}
