//! Small parsing helpers shared by the collectors.

use std::path::Path;

/// Parses an unsigned or float field; `None` when it is not a number.
pub(crate) fn num(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}

/// Reads a sysfs attribute as trimmed text, `None` if unreadable (many
/// attributes fail with EINVAL when a device is down; node-exporter skips
/// them too).
pub(crate) fn sys_attr(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Reads a sysfs attribute as a number (decimal or `0x` hex).
pub(crate) fn sys_num(path: &Path) -> Option<f64> {
    let s = sys_attr(path)?;
    if let Some(hex) = s.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(|v| v as f64);
    }
    s.parse::<i64>().ok().map(|v| v as f64)
}

/// `USER_HZ`, the unit of /proc/stat times; 100 on every Linux ABI lookout
/// runs on, and what node-exporter assumes too.
pub(crate) const USER_HZ: f64 = 100.0;

/// Directory entries' names, sorted; empty when the directory is absent.
pub(crate) fn dir_names(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
