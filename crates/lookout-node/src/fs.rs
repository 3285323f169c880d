//! Filesystem sizes from the mount table and statfs(2).

use std::ffi::CString;
use std::path::Path;

use crate::{read, Family, NodeConfig, Result};

/// One mount from /proc/1/mounts (falling back to /proc/self/mounts).
struct Mount {
    device: String,
    mount_point: String,
    fs_type: String,
    options: String,
}

/// Octal escapes (`\040` for space) used by the kernel in mount tables.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mounts(cfg: &NodeConfig) -> Result<Vec<Mount>> {
    let text = read(&cfg.proc("1/mounts")).or_else(|_| read(&cfg.proc("self/mounts")))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some(Mount {
                device: unescape(it.next()?),
                mount_point: unescape(it.next()?),
                fs_type: it.next()?.to_string(),
                options: it.next()?.to_string(),
            })
        })
        .collect())
}

struct FsStats {
    size: f64,
    free: f64,
    avail: f64,
    files: f64,
    files_free: f64,
}

fn statfs(path: &Path) -> Option<FsStats> {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    let mut st: libc::statfs = unsafe {
        // SAFETY: statfs is a plain C struct for which all-zero bytes is a
        // valid value; the kernel fills it below.
        std::mem::zeroed()
    };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a valid, writable
    // statfs; the call does not retain either pointer.
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return None;
    }
    // node-exporter multiplies block counts by f_bsize; so do we.
    let bsize = st.f_bsize as f64;
    Some(FsStats {
        size: st.f_blocks as f64 * bsize,
        free: st.f_bfree as f64 * bsize,
        avail: st.f_bavail as f64 * bsize,
        files: st.f_files as f64,
        files_free: st.f_ffree as f64,
    })
}

/// `node_filesystem_*{device,fstype,mountpoint}` with node-exporter's
/// default mount point and type exclusions.
pub(crate) fn filesystem(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let mut size = Family::gauge("node_filesystem_size_bytes", "Filesystem size in bytes.");
    let mut free = Family::gauge(
        "node_filesystem_free_bytes",
        "Filesystem free space in bytes.",
    );
    let mut avail = Family::gauge(
        "node_filesystem_avail_bytes",
        "Filesystem space available to non-root users in bytes.",
    );
    let mut files = Family::gauge("node_filesystem_files", "Filesystem total file nodes.");
    let mut files_free = Family::gauge(
        "node_filesystem_files_free",
        "Filesystem total free file nodes.",
    );
    let mut ro = Family::gauge("node_filesystem_readonly", "Filesystem read-only status.");
    let mut dev_err = Family::gauge(
        "node_filesystem_device_error",
        "Whether an error occurred while getting statistics for the given device.",
    );
    let rootfs = cfg.rootfs_path.display().to_string();
    let mut seen = std::collections::HashSet::new();
    for m in mounts(cfg)? {
        // Mount points are reported relative to the host root, so a
        // containerised lookout sees the host's paths.
        let shown = if rootfs == "/" {
            m.mount_point.clone()
        } else {
            match m.mount_point.strip_prefix(rootfs.trim_end_matches('/')) {
                Some("") => "/".to_string(),
                Some(rest) if rest.starts_with('/') => rest.to_string(),
                _ => continue,
            }
        };
        if cfg.fs_mount_points_exclude.is_match(&shown) || cfg.fs_types_exclude.is_match(&m.fs_type)
        {
            continue;
        }
        if !seen.insert((m.device.clone(), shown.clone(), m.fs_type.clone())) {
            continue;
        }
        let labels = [
            ("device", m.device.as_str()),
            ("fstype", m.fs_type.as_str()),
            ("mountpoint", shown.as_str()),
        ];
        let readonly = m.options.split(',').any(|o| o == "ro");
        ro.add(&labels, if readonly { 1.0 } else { 0.0 });
        match statfs(Path::new(&m.mount_point)) {
            Some(s) => {
                dev_err.add(&labels, 0.0);
                size.add(&labels, s.size);
                free.add(&labels, s.free);
                avail.add(&labels, s.avail);
                files.add(&labels, s.files);
                files_free.add(&labels, s.files_free);
            }
            None => dev_err.add(&labels, 1.0),
        }
    }
    out.extend([avail, dev_err, files, files_free, free, ro, size]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn mount_escapes() {
        assert_eq!(unescape("/mnt/with\\040space"), "/mnt/with space");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("trailing\\"), "trailing\\");
    }
}
