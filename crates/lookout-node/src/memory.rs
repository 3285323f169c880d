//! /proc/meminfo, /proc/vmstat, /proc/sys/fs/file-nr, entropy.

use crate::util::num;
use crate::{read, Family, NodeConfig, Result};

/// `node_memory_<Field>[_bytes]`: `kB` values become bytes with a `_bytes`
/// suffix, `Name(x)` becomes `Name_x`, unitless fields keep their name.
pub(crate) fn meminfo(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let text = read(&cfg.proc("meminfo"))?;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let Some(v) = parts.next().and_then(num) else {
            continue;
        };
        let key = key.replace('(', "_").replace(')', "");
        let (field, v) = match parts.next() {
            Some("kB") => (format!("{key}_bytes"), v * 1024.0),
            _ => (key, v),
        };
        out.push(
            Family::gauge(
                format!("node_memory_{field}"),
                format!("Memory information field {field}."),
            )
            .with(v),
        );
    }
    Ok(())
}

/// `node_vmstat_<field>` for fields matching the configured pattern.
pub(crate) fn vmstat(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let text = read(&cfg.proc("vmstat"))?;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(k), Some(v)) = (it.next(), it.next().and_then(num)) else {
            continue;
        };
        if !cfg.vmstat_fields.is_match(k) {
            continue;
        }
        out.push(
            Family::untyped(
                format!("node_vmstat_{k}"),
                format!("/proc/vmstat information field {k}."),
            )
            .with(v),
        );
    }
    Ok(())
}

/// `node_filefd_allocated` and `node_filefd_maximum`.
pub(crate) fn filefd(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let text = read(&cfg.proc("sys/fs/file-nr"))?;
    let f: Vec<f64> = text.split_whitespace().filter_map(num).collect();
    if let (Some(a), Some(m)) = (f.first(), f.get(2)) {
        out.push(
            Family::gauge(
                "node_filefd_allocated",
                "File descriptor statistics: allocated.",
            )
            .with(*a),
        );
        out.push(
            Family::gauge(
                "node_filefd_maximum",
                "File descriptor statistics: maximum.",
            )
            .with(*m),
        );
    }
    Ok(())
}

/// `node_entropy_available_bits` and `node_entropy_pool_size_bits`.
pub(crate) fn entropy(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let avail = read(&cfg.proc("sys/kernel/random/entropy_avail"))?;
    if let Some(v) = num(&avail) {
        out.push(
            Family::gauge("node_entropy_available_bits", "Bits of available entropy.").with(v),
        );
    }
    let pool = read(&cfg.proc("sys/kernel/random/poolsize"))?;
    if let Some(v) = num(&pool) {
        out.push(Family::gauge("node_entropy_pool_size_bits", "Bits of entropy pool.").with(v));
    }
    Ok(())
}
