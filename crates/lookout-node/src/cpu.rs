//! /proc/stat (cpu, stat), /proc/loadavg, /proc/pressure, /proc/net/softnet_stat.

use crate::util::{num, USER_HZ};
use crate::{read, Family, NodeConfig, Result};

const CPU_MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

/// `node_cpu_seconds_total{cpu,mode}` and `node_cpu_guest_seconds_total{cpu,mode}`.
pub(crate) fn cpu(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let text = read(&cfg.proc("stat"))?;
    let mut secs = Family::counter(
        "node_cpu_seconds_total",
        "Seconds the CPUs spent in each mode.",
    );
    let mut guest = Family::counter(
        "node_cpu_guest_seconds_total",
        "Seconds the CPUs spent in guests (VMs) for each mode.",
    );
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let Some(name) = it.next() else { continue };
        let Some(id) = name.strip_prefix("cpu").filter(|s| !s.is_empty()) else {
            continue;
        };
        let vals: Vec<f64> = it.filter_map(num).collect();
        for (i, mode) in CPU_MODES.iter().enumerate() {
            if let Some(v) = vals.get(i) {
                secs.add(&[("cpu", id), ("mode", mode)], v / USER_HZ);
            }
        }
        if let (Some(g), Some(gn)) = (vals.get(8), vals.get(9)) {
            guest.add(&[("cpu", id), ("mode", "nice")], gn / USER_HZ);
            guest.add(&[("cpu", id), ("mode", "user")], g / USER_HZ);
        }
    }
    out.push(secs);
    out.push(guest);
    Ok(())
}

/// Boot time, context switches, forks, interrupts, running/blocked processes.
pub(crate) fn stat(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let text = read(&cfg.proc("stat"))?;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(key), Some(first)) = (it.next(), it.next()) else {
            continue;
        };
        let Some(v) = num(first) else { continue };
        let fam = match key {
            "btime" => Family::gauge("node_boot_time_seconds", "Node boot time, in unixtime."),
            "ctxt" => Family::counter(
                "node_context_switches_total",
                "Total number of context switches.",
            ),
            "processes" => Family::counter("node_forks_total", "Total number of forks."),
            "intr" => Family::counter("node_intr_total", "Total number of interrupts serviced."),
            "procs_running" => Family::gauge(
                "node_procs_running",
                "Number of processes in runnable state.",
            ),
            "procs_blocked" => Family::gauge(
                "node_procs_blocked",
                "Number of processes blocked waiting for I/O to complete.",
            ),
            _ => continue,
        };
        out.push(fam.with(v));
    }
    Ok(())
}

/// `node_load1`, `node_load5`, `node_load15`.
pub(crate) fn loadavg(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let text = read(&cfg.proc("loadavg"))?;
    let vals: Vec<f64> = text.split_whitespace().take(3).filter_map(num).collect();
    for (i, (name, help)) in [
        ("node_load1", "1m load average."),
        ("node_load5", "5m load average."),
        ("node_load15", "15m load average."),
    ]
    .iter()
    .enumerate()
    {
        if let Some(v) = vals.get(i) {
            out.push(Family::gauge(*name, *help).with(*v));
        }
    }
    Ok(())
}

/// Pressure stall totals from /proc/pressure/{cpu,io,memory}.
pub(crate) fn pressure(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let specs: [(&str, &str, &str, &str); 5] = [
        (
            "cpu",
            "some",
            "node_pressure_cpu_waiting_seconds_total",
            "Total time in seconds that processes have waited for CPU time",
        ),
        (
            "io",
            "some",
            "node_pressure_io_waiting_seconds_total",
            "Total time in seconds that processes have waited due to IO congestion",
        ),
        (
            "io",
            "full",
            "node_pressure_io_stalled_seconds_total",
            "Total time in seconds no process could make progress due to IO congestion",
        ),
        (
            "memory",
            "some",
            "node_pressure_memory_waiting_seconds_total",
            "Total time in seconds that processes have waited for memory",
        ),
        (
            "memory",
            "full",
            "node_pressure_memory_stalled_seconds_total",
            "Total time in seconds no process could make progress due to memory congestion",
        ),
    ];
    for (res, kind, name, help) in specs {
        let text = read(&cfg.proc(&format!("pressure/{res}")))?;
        for line in text.lines() {
            let mut it = line.split_whitespace();
            if it.next() != Some(kind) {
                continue;
            }
            if let Some(total) = it.find_map(|f| f.strip_prefix("total=")).and_then(num) {
                out.push(Family::counter(name, help).with(total / 1e6));
            }
        }
    }
    Ok(())
}

/// Per-CPU packet processing counters from /proc/net/softnet_stat (hex).
pub(crate) fn softnet(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let text = read(&cfg.proc("net/softnet_stat"))?;
    let mut processed = Family::counter(
        "node_softnet_processed_total",
        "Number of processed packets",
    );
    let mut dropped = Family::counter("node_softnet_dropped_total", "Number of dropped packets");
    let mut squeezed = Family::counter(
        "node_softnet_times_squeezed_total",
        "Number of times processing packets ran out of quota",
    );
    for (i, line) in text.lines().enumerate() {
        let f: Vec<f64> = line
            .split_whitespace()
            .map(|h| u64::from_str_radix(h, 16).map(|v| v as f64).unwrap_or(0.0))
            .collect();
        if f.len() < 3 {
            continue;
        }
        let cpu = i.to_string();
        processed.add(&[("cpu", &cpu)], f[0]);
        dropped.add(&[("cpu", &cpu)], f[1]);
        squeezed.add(&[("cpu", &cpu)], f[2]);
    }
    out.extend([processed, dropped, squeezed]);
    Ok(())
}
