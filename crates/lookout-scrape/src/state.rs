//! What the API shows about a target: health, last error, timing, metadata.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::target::Target;

/// Health as `/api/v1/targets` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TargetHealth {
    /// Not scraped yet.
    #[default]
    Unknown,
    /// Last scrape succeeded.
    Up,
    /// Last scrape failed.
    Down,
}

impl TargetHealth {
    /// `up`, `down` or `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TargetHealth::Unknown => "unknown",
            TargetHealth::Up => "up",
            TargetHealth::Down => "down",
        }
    }
}

/// HELP/TYPE/UNIT of one metric family as last scraped from a target.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MetricMetadata {
    /// `counter`, `gauge`, `histogram`, `gaugehistogram`, `summary`, `info`,
    /// `stateset` or `unknown`.
    pub metric_type: &'static str,
    /// Help text.
    pub help: String,
    /// Unit (OpenMetrics).
    pub unit: String,
}

/// Mutable per-target status, updated after each scrape.
#[derive(Clone, Debug, Default)]
pub struct ScrapeStatus {
    /// Health after the last scrape.
    pub health: TargetHealth,
    /// Error of the last scrape (empty when it succeeded).
    pub last_error: String,
    /// Start of the last scrape.
    pub last_scrape: Option<SystemTime>,
    /// How long the last scrape took.
    pub last_duration: Duration,
    /// Samples the last scrape read.
    pub last_samples: u64,
    /// Metadata per metric family, from the last successful scrape.
    pub metadata: Arc<BTreeMap<String, MetricMetadata>>,
}

/// A target plus its live status, shared by its scrape loop and the API.
#[derive(Debug)]
pub struct TargetState {
    /// The target.
    pub target: Arc<Target>,
    /// Scrape pool (job) name.
    pub pool: String,
    status: Mutex<ScrapeStatus>,
}

impl TargetState {
    /// A target not scraped yet.
    pub fn new(target: Arc<Target>, pool: impl Into<String>) -> Self {
        TargetState {
            target,
            pool: pool.into(),
            status: Mutex::new(ScrapeStatus::default()),
        }
    }

    /// A snapshot of the status.
    pub fn status(&self) -> ScrapeStatus {
        self.lock().clone()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ScrapeStatus> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Formats a time like Go's `time.RFC3339Nano` in UTC (trailing zeros of
/// the fraction trimmed); `None` is Go's zero time.
pub fn rfc3339_nano(t: Option<SystemTime>) -> String {
    let Some(t) = t else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let nanos = d.subsec_nanos();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, day) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_nano(None), "0001-01-01T00:00:00Z");
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_484_665_664, 723_715_405);
        assert_eq!(rfc3339_nano(Some(t)), "2017-01-17T15:07:44.723715405Z");
        let t = SystemTime::UNIX_EPOCH + Duration::new(951_782_400, 500_000_000);
        assert_eq!(rfc3339_nano(Some(t)), "2000-02-29T00:00:00.5Z");
    }
}
