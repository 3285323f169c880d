//! One target's scrape loop: scheduling (Prometheus' per-target offset),
//! fetch, append, report, and end-of-run staleness.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lookout_model::storage::Appendable;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::append::{
    append_report, append_report_stale, append_scrape, SampleOptions, ScrapeCache,
};
use crate::client::ScrapeClient;
use crate::state::{MetricMetadata, TargetHealth, TargetState};

/// Why a loop stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Replaced by a loop with a new config: no staleness markers.
    Reload,
    /// The target went away: write staleness markers for all its series.
    Vanished,
}

/// Everything a loop needs besides its target state.
#[derive(Clone)]
pub struct LoopSettings {
    /// HTTP client of the pool.
    pub client: ScrapeClient,
    /// Sample processing options.
    pub opts: SampleOptions,
    /// Scrape interval.
    pub interval: Duration,
    /// Scrape timeout.
    pub timeout: Duration,
    /// Seed mixed into the scrape offset (external labels + host name).
    pub offset_seed: u64,
}

/// A running loop.
pub struct LoopHandle {
    stop: watch::Sender<Option<StopReason>>,
    task: JoinHandle<()>,
    /// Cache handed to a replacement loop on reload.
    pub cache: Arc<Mutex<ScrapeCache>>,
    /// Shared state (API).
    pub state: Arc<TargetState>,
    /// When set, every scrape fails with this error (pool-wide target_limit).
    pub forced_error: Arc<Mutex<Option<String>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LoopHandle {
    /// Starts a loop.
    pub fn start(
        state: Arc<TargetState>,
        settings: LoopSettings,
        appendable: Arc<dyn Appendable>,
        cache: Arc<Mutex<ScrapeCache>>,
        forced_error: Arc<Mutex<Option<String>>>,
    ) -> LoopHandle {
        let (stop, stop_rx) = watch::channel(None);
        let task = tokio::spawn(run_loop(
            state.clone(),
            settings,
            appendable,
            cache.clone(),
            forced_error.clone(),
            stop_rx,
        ));
        LoopHandle {
            stop,
            task,
            cache,
            state,
            forced_error,
        }
    }

    /// Asks the loop to stop; with [`StopReason::Vanished`] it finishes its
    /// staleness work in the background.
    pub fn stop(&self, reason: StopReason) {
        let _ = self.stop.send(Some(reason));
    }

    /// Stops the task immediately (shutdown; no staleness markers).
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Prometheus' scrape offset: where in each interval this target is
/// scraped, fixed by the target's hash so restarts keep the phase and
/// targets spread evenly.
pub fn scrape_offset(target_hash: u64, seed: u64, interval: Duration, now: SystemTime) -> Duration {
    let iv = interval.as_nanos().max(1) as u64;
    let now_ns = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let base = iv - now_ns % iv;
    let offset = (target_hash ^ seed) % iv;
    let mut next = base + offset;
    if next > iv {
        next -= iv;
    }
    Duration::from_nanos(next)
}

fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Appends within 2 ms of a multiple of the interval since the last scrape
/// are snapped onto it (Prometheus' timestamp alignment), which keeps
/// timestamp deltas constant and cheap to store.
const ALIGN_TOLERANCE: Duration = Duration::from_millis(2);

async fn run_loop(
    state: Arc<TargetState>,
    s: LoopSettings,
    appendable: Arc<dyn Appendable>,
    cache: Arc<Mutex<ScrapeCache>>,
    forced: Arc<Mutex<Option<String>>>,
    mut stop_rx: watch::Receiver<Option<StopReason>>,
) {
    let url = state.target.url();
    let offset = scrape_offset(
        state.target.hash(),
        s.offset_seed,
        s.interval,
        SystemTime::now(),
    );
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + offset, s.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last: Option<SystemTime> = None;
    let stopped = loop {
        tokio::select! {
            biased;
            r = stop_rx.changed() => {
                if r.is_err() { break None; }
                break *stop_rx.borrow();
            }
            _ = ticker.tick() => {}
        }
        let start = SystemTime::now();
        let mut append_time = start;
        if let Some(prev) = last {
            let aligned = prev + s.interval;
            let diff = match append_time.duration_since(aligned) {
                Ok(d) => d,
                Err(e) => e.duration(),
            };
            if s.interval > ALIGN_TOLERANCE * 100 && diff <= ALIGN_TOLERANCE {
                append_time = aligned;
            }
        }
        let t0 = Instant::now();
        let forced_err = lock(&forced).clone();
        let fetched = match forced_err {
            Some(e) => Err(e),
            None => tokio::select! {
                r = s.client.fetch(&url, s.timeout) => r.map_err(|e| e.to_string()),
                r = stop_rx.changed() => {
                    if r.is_err() { break None; }
                    break *stop_rx.borrow();
                }
            },
        };
        let duration = t0.elapsed();
        scrape_and_report(
            &state,
            &s,
            appendable.as_ref(),
            &cache,
            fetched,
            millis(append_time),
            start,
            duration,
        );
        last = Some(append_time);
    };
    // A loop that took over a cache on reload and never scraped itself still
    // owns the old loop's series.
    let scraped_before = last.is_some() || lock(&cache).has_history();
    if stopped == Some(StopReason::Vanished) && scraped_before {
        end_of_run_staleness(&state, &s, appendable.as_ref(), &cache, &mut ticker).await;
    }
}

#[allow(clippy::too_many_arguments)]
fn scrape_and_report(
    state: &TargetState,
    s: &LoopSettings,
    appendable: &dyn Appendable,
    cache: &Mutex<ScrapeCache>,
    fetched: Result<crate::client::Fetched, String>,
    t: i64,
    start: SystemTime,
    duration: Duration,
) {
    let mut cache = lock(cache);
    let mut app = appendable.appender();
    let (body, ct, mut err) = match &fetched {
        Ok(f) => (f.body.as_slice(), f.content_type.as_str(), None),
        Err(e) => (&[][..], "", Some(e.clone())),
    };
    let stats = match append_scrape(&mut cache, app.as_mut(), body, ct, t, &s.opts) {
        Ok(st) => st,
        Err((st, e)) => {
            app.rollback();
            app = appendable.appender();
            // An empty scrape marks everything from the last one stale.
            if let Err((_, e2)) = append_scrape(&mut cache, app.as_mut(), b"", "", t, &s.opts) {
                tracing::warn!(target = %state.target.url(), error = %e2, "appending staleness markers failed");
            }
            if err.is_none() {
                err = Some(e);
            }
            st
        }
    };
    let ok = err.is_none();
    if let Err(e) = append_report(
        app.as_mut(),
        &s.opts.target_labels,
        t,
        duration.as_secs_f64(),
        &stats,
        ok,
    ) {
        tracing::warn!(target = %state.target.url(), error = %e, "appending report series failed");
    }
    if let Err(e) = app.commit() {
        tracing::warn!(target = %state.target.url(), error = %e, "committing scrape failed");
        if err.is_none() {
            err = Some(e.to_string());
        }
    }
    let metadata = ok.then(|| Arc::new(cache.metadata()));
    drop(cache);
    let mut st = state.lock();
    st.health = if err.is_none() {
        TargetHealth::Up
    } else {
        TargetHealth::Down
    };
    st.last_error = err.unwrap_or_default();
    st.last_scrape = Some(start);
    st.last_duration = duration;
    st.last_samples = stats.total;
    if let Some(m) = metadata {
        st.metadata = m;
    }
}

/// After a target vanished: wait for when its next scrape would have
/// been (recording that time), one more interval plus 10% in case it comes
/// back under a new loop, then mark its series and report series stale at
/// the recorded time. If it came back, the store rejects these markers as
/// out of order.
async fn end_of_run_staleness(
    state: &TargetState,
    s: &LoopSettings,
    appendable: &dyn Appendable,
    cache: &Mutex<ScrapeCache>,
    ticker: &mut tokio::time::Interval,
) {
    ticker.tick().await;
    let stale_time = millis(SystemTime::now());
    ticker.tick().await;
    tokio::time::sleep(s.interval / 10).await;
    let mut cache = lock(cache);
    let mut app = appendable.appender();
    if let Err((_, e)) = append_scrape(&mut cache, app.as_mut(), b"", "", stale_time, &s.opts) {
        tracing::warn!(target = %state.target.url(), error = %e, "end-of-run staleness failed");
    }
    if let Err(e) = append_report_stale(app.as_mut(), &s.opts.target_labels, stale_time) {
        tracing::warn!(target = %state.target.url(), error = %e, "end-of-run report staleness failed");
    }
    if let Err(e) = app.commit() {
        tracing::warn!(target = %state.target.url(), error = %e, "committing staleness markers failed");
    }
}

/// Metadata of a target as the API lists it.
pub fn metadata_of(state: &TargetState) -> Arc<std::collections::BTreeMap<String, MetricMetadata>> {
    state.lock().metadata.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_within_interval_and_phase_stable() {
        let iv = Duration::from_secs(15);
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let a = scrape_offset(12345, 0, iv, now);
        assert!(a <= iv);
        // The absolute phase (now + offset) mod interval depends only on the hash.
        let later = now + Duration::from_millis(3700);
        let b = scrape_offset(12345, 0, iv, later);
        let phase = |t: SystemTime, o: Duration| {
            (t + o).duration_since(UNIX_EPOCH).unwrap().as_nanos() % iv.as_nanos()
        };
        assert_eq!(phase(now, a), phase(later, b));
        // Different targets spread out.
        let phases: std::collections::BTreeSet<_> = (0..50u64)
            .map(|h| {
                phase(
                    now,
                    scrape_offset(h.wrapping_mul(0x9e37_79b9_7f4a_7c15), 0, iv, now),
                )
            })
            .collect();
        assert!(phases.len() > 45);
    }
}
