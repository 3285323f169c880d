//! The `process_*` metrics Prometheus' Go client exposes, read from
//! `/proc/self` on Linux (absent elsewhere).

use crate::{Collect, Encoder, Kind};

/// Collects CPU time, memory, file descriptors and start time of this process.
#[derive(Debug, Default)]
pub struct ProcessCollector;

/// Fields of `/proc/self/stat` the collector needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcStat {
    /// User plus system CPU time in seconds.
    pub cpu_seconds: f64,
    /// Virtual memory size in bytes.
    pub virtual_bytes: f64,
    /// Resident set size in bytes.
    pub resident_bytes: f64,
    /// Process start time in seconds since the Unix epoch.
    pub start_time_seconds: f64,
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a configuration value; no memory is shared.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn page_size() -> f64 {
    // SAFETY: as above, a read-only configuration query.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as f64
    } else {
        4096.0
    }
}

fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Parses the text of `/proc/<pid>/stat`. The command name may contain spaces
/// and parentheses, so fields are counted from the last `)`.
pub fn parse_proc_stat(text: &str, ticks: f64, page: f64, boot: f64) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command, field 3 (state) is at index 0: field N is at N-3.
    let num = |n: usize| -> Option<f64> { f.get(n - 3)?.parse::<f64>().ok() };
    Some(ProcStat {
        cpu_seconds: (num(14)? + num(15)?) / ticks,
        start_time_seconds: boot + num(22)? / ticks,
        virtual_bytes: num(23)?,
        resident_bytes: num(24)? * page,
    })
}

/// Reads this process' stat, if `/proc` is available.
pub fn read_self_stat() -> Option<ProcStat> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_proc_stat(&text, clock_ticks(), page_size(), boot_time()?)
}

fn open_fds() -> Option<f64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as f64)
}

fn max_fds() -> Option<f64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, exclusively borrowed rlimit for the call.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    (rc == 0).then_some(lim.rlim_cur as f64)
}

impl Collect for ProcessCollector {
    fn collect(&self, enc: &mut Encoder) {
        if let Some(s) = read_self_stat() {
            enc.family(
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                Kind::Counter,
            );
            enc.sample("process_cpu_seconds_total", &[], s.cpu_seconds);
            if let Some(max) = max_fds() {
                enc.family(
                    "process_max_fds",
                    "Maximum number of open file descriptors.",
                    Kind::Gauge,
                );
                enc.sample("process_max_fds", &[], max);
            }
            if let Some(open) = open_fds() {
                enc.family(
                    "process_open_fds",
                    "Number of open file descriptors.",
                    Kind::Gauge,
                );
                enc.sample("process_open_fds", &[], open);
            }
            enc.family(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                Kind::Gauge,
            );
            enc.sample("process_resident_memory_bytes", &[], s.resident_bytes);
            enc.family(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                Kind::Gauge,
            );
            enc.sample("process_start_time_seconds", &[], s.start_time_seconds);
            enc.family(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                Kind::Gauge,
            );
            enc.sample("process_virtual_memory_bytes", &[], s.virtual_bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let text = "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 1000 123456789 2048 18446744073709551615";
        let s = parse_proc_stat(text, 100.0, 4096.0, 1_700_000_000.0).unwrap();
        assert_eq!(s.cpu_seconds, 3.0);
        assert_eq!(s.start_time_seconds, 1_700_000_010.0);
        assert_eq!(s.virtual_bytes, 123456789.0);
        assert_eq!(s.resident_bytes, 2048.0 * 4096.0);
    }

    #[test]
    fn reads_own_process_on_linux() {
        if !std::path::Path::new("/proc/self/stat").exists() {
            return;
        }
        let s = read_self_stat().expect("own stat");
        assert!(s.resident_bytes > 0.0);
        assert!(s.start_time_seconds > 1_000_000_000.0);
        let mut enc = Encoder::default();
        ProcessCollector.collect(&mut enc);
        let text = enc.finish();
        assert!(text.contains("# TYPE process_cpu_seconds_total counter\n"));
        assert!(text.contains("process_open_fds "));
    }
}
