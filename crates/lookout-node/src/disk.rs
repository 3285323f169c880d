//! /proc/diskstats plus udev properties for `node_disk_info`.

use std::collections::HashMap;

use crate::util::num;
use crate::{read, Family, NodeConfig, Result};

/// (field index after the device name, name, help, divisor, counter?)
const FIELDS: [(usize, &str, &str, f64, bool); 17] = [
    (
        0,
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        1.0,
        true,
    ),
    (
        1,
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        1.0,
        true,
    ),
    (
        2,
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        1.0 / 512.0,
        true,
    ),
    (
        3,
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        1000.0,
        true,
    ),
    (
        4,
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        1.0,
        true,
    ),
    (
        5,
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        1.0,
        true,
    ),
    (
        6,
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        1.0 / 512.0,
        true,
    ),
    (
        7,
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        1000.0,
        true,
    ),
    (
        8,
        "node_disk_io_now",
        "The number of I/Os currently in progress.",
        1.0,
        false,
    ),
    (
        9,
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        1000.0,
        true,
    ),
    (
        10,
        "node_disk_io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        1000.0,
        true,
    ),
    (
        11,
        "node_disk_discards_completed_total",
        "The total number of discards completed successfully.",
        1.0,
        true,
    ),
    (
        12,
        "node_disk_discards_merged_total",
        "The total number of discards merged.",
        1.0,
        true,
    ),
    (
        13,
        "node_disk_discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        1.0,
        true,
    ),
    (
        14,
        "node_disk_discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        1000.0,
        true,
    ),
    (
        15,
        "node_disk_flush_requests_total",
        "The total number of flush requests completed successfully",
        1.0,
        true,
    ),
    (
        16,
        "node_disk_flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        1000.0,
        true,
    ),
];

fn udev_props(cfg: &NodeConfig, major: &str, minor: &str) -> HashMap<String, String> {
    let path = cfg.udev_data_path.join(format!("b{major}:{minor}"));
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    text.lines()
        .filter_map(|l| l.strip_prefix("E:"))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `node_disk_*{device}` for devices not excluded by the configured pattern.
pub(crate) fn diskstats(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let text = read(&cfg.proc("diskstats"))?;
    let mut fams: Vec<Family> = FIELDS
        .iter()
        .map(|(_, n, h, _, counter)| {
            if *counter {
                Family::counter(*n, *h)
            } else {
                Family::gauge(*n, *h)
            }
        })
        .collect();
    let mut info = Family::gauge("node_disk_info", "Info of /sys/block/<block_device>.");
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (Some(major), Some(minor), Some(dev)) = (parts.first(), parts.get(1), parts.get(2))
        else {
            continue;
        };
        if cfg.disk_device_exclude.is_match(dev) {
            continue;
        }
        let vals: Vec<f64> = parts[3..].iter().filter_map(|s| num(s)).collect();
        for (fam, (idx, _, _, div, _)) in fams.iter_mut().zip(FIELDS.iter()) {
            if let Some(v) = vals.get(*idx) {
                fam.add(&[("device", dev)], v / div);
            }
        }
        let p = udev_props(cfg, major, minor);
        let g = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
        info.add(
            &[
                ("device", dev),
                ("major", major),
                ("minor", minor),
                ("path", g("ID_PATH")),
                ("wwn", g("ID_WWN")),
                ("model", g("ID_MODEL")),
                ("serial", g("ID_SERIAL_SHORT")),
                ("revision", g("ID_REVISION")),
            ],
            1.0,
        );
    }
    out.extend(fams);
    out.push(info);
    Ok(())
}
