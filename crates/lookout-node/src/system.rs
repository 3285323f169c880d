//! Time, uname, OS release, adjtimex, SELinux, textfile, build info.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::util::dir_names;
use crate::{read, CollectError, Family, NodeConfig, Result};

fn c_field(buf: &[libc::c_char]) -> String {
    // SAFETY: utsname fields are NUL-terminated within their fixed arrays;
    // CStr::from_bytes_until_nul bounds the search to the slice.
    let bytes: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), buf.len()) };
    CStr::from_bytes_until_nul(bytes)
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `node_uname_info`.
pub(crate) fn uname(_cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    // SAFETY: utsname is plain data; all-zero is valid and uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return Err(CollectError {
            what: "uname".into(),
            source: std::io::Error::last_os_error(),
        });
    }
    let mut f = Family::gauge(
        "node_uname_info",
        "Labeled system information as provided by the uname system call.",
    );
    f.add(
        &[
            ("domainname", &c_field(&u.domainname)),
            ("machine", &c_field(&u.machine)),
            ("nodename", &c_field(&u.nodename)),
            ("release", &c_field(&u.release)),
            ("sysname", &c_field(&u.sysname)),
            ("version", &c_field(&u.version)),
        ],
        1.0,
    );
    out.push(f);
    Ok(())
}

/// `node_time_seconds`, zone offset and clock sources.
pub(crate) fn time(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    out.push(
        Family::gauge(
            "node_time_seconds",
            "System time in seconds since epoch (1970).",
        )
        .with(now.as_secs_f64()),
    );
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: tm is plain data; localtime_r fills it from `secs` and does not
    // keep the pointers.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if ok {
        let zone = if tm.tm_zone.is_null() {
            String::new()
        } else {
            // SAFETY: tm_zone points at a NUL-terminated static zone name.
            unsafe { CStr::from_ptr(tm.tm_zone) }
                .to_string_lossy()
                .into_owned()
        };
        let mut f = Family::gauge(
            "node_time_zone_offset_seconds",
            "System time zone offset in seconds.",
        );
        f.add(&[("time_zone", &zone)], tm.tm_gmtoff as f64);
        out.push(f);
    }
    let base = cfg.sys("devices/system/clocksource");
    let mut avail = Family::gauge(
        "node_time_clocksource_available_info",
        "Available clocksources read from '/sys/devices/system/clocksource'.",
    );
    let mut current = Family::gauge(
        "node_time_clocksource_current_info",
        "Current clocksource read from '/sys/devices/system/clocksource'.",
    );
    for d in dir_names(&base) {
        let Some(id) = d.strip_prefix("clocksource") else {
            continue;
        };
        if let Ok(a) = std::fs::read_to_string(base.join(&d).join("available_clocksource")) {
            for cs in a.split_whitespace() {
                avail.add(&[("clocksource", cs), ("device", id)], 1.0);
            }
        }
        if let Ok(c) = std::fs::read_to_string(base.join(&d).join("current_clocksource")) {
            current.add(&[("clocksource", c.trim()), ("device", id)], 1.0);
        }
    }
    out.push(avail);
    out.push(current);
    Ok(())
}

const OS_LABELS: [(&str, &str); 12] = [
    ("build_id", "BUILD_ID"),
    ("id", "ID"),
    ("id_like", "ID_LIKE"),
    ("image_id", "IMAGE_ID"),
    ("image_version", "IMAGE_VERSION"),
    ("name", "NAME"),
    ("pretty_name", "PRETTY_NAME"),
    ("variant", "VARIANT"),
    ("variant_id", "VARIANT_ID"),
    ("version", "VERSION"),
    ("version_codename", "VERSION_CODENAME"),
    ("version_id", "VERSION_ID"),
];

fn parse_os_release(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                .unwrap_or(v);
            (
                k.trim().to_string(),
                v.replace("\\\"", "\"").replace("\\\\", "\\"),
            )
        })
        .collect()
}

/// `node_os_info` and `node_os_version` from os-release.
pub(crate) fn os(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let text = read(&cfg.rootfs_path.join("etc/os-release"))
        .or_else(|_| read(&cfg.rootfs_path.join("usr/lib/os-release")))?;
    let m = parse_os_release(&text);
    let g = |k: &str| m.get(k).cloned().unwrap_or_default();
    let labels: Vec<(&str, String)> = OS_LABELS.iter().map(|(l, k)| (*l, g(k))).collect();
    let pairs: Vec<(&str, &str)> = labels.iter().map(|(l, v)| (*l, v.as_str())).collect();
    let mut info = Family::gauge(
        "node_os_info",
        "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.",
    );
    info.add(&pairs, 1.0);
    out.push(info);
    // major.minor of VERSION_ID as a number, when it has that shape.
    let vid = g("VERSION_ID");
    let mut parts = vid.split('.');
    let major = parts.next().unwrap_or("");
    let minor = parts.next();
    let num_text = match minor {
        Some(mi) => format!("{major}.{mi}"),
        None => major.to_string(),
    };
    if let Ok(v) = num_text.parse::<f64>() {
        let mut f = Family::gauge(
            "node_os_version",
            "Metric containing the major.minor part of the OS version.",
        );
        f.add(
            &[
                ("id", &g("ID")),
                ("id_like", &g("ID_LIKE")),
                ("name", &g("NAME")),
            ],
            v,
        );
        out.push(f);
    }
    Ok(())
}

/// `node_timex_*` from adjtimex(2).
pub(crate) fn timex(_cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    // SAFETY: timex is plain data; modes = 0 makes adjtimex read-only.
    let mut t: libc::timex = unsafe { std::mem::zeroed() };
    // SAFETY: `t` is a valid writable timex with modes 0 (query only).
    let state = unsafe { libc::adjtimex(&mut t) };
    if state < 0 {
        return Err(CollectError {
            what: "adjtimex".into(),
            source: std::io::Error::last_os_error(),
        });
    }
    const TIME_ERROR: i32 = 5;
    const STA_NANO: i32 = 0x2000;
    const PPM16: f64 = 1_000_000.0 * 65536.0;
    let div = if t.status & STA_NANO != 0 { 1e9 } else { 1e6 };
    let g = |n: &str, h: &str, v: f64| Family::gauge(n, h).with(v);
    let c = |n: &str, h: &str, v: f64| Family::counter(n, h).with(v);
    out.extend([
        g(
            "node_timex_sync_status",
            "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
            if state == TIME_ERROR { 0.0 } else { 1.0 },
        ),
        g(
            "node_timex_offset_seconds",
            "Time offset in between local system and reference clock.",
            t.offset as f64 / div,
        ),
        g(
            "node_timex_frequency_adjustment_ratio",
            "Local clock frequency adjustment.",
            1.0 + t.freq as f64 / PPM16,
        ),
        g(
            "node_timex_maxerror_seconds",
            "Maximum error in seconds.",
            t.maxerror as f64 / 1e6,
        ),
        g(
            "node_timex_estimated_error_seconds",
            "Estimated error in seconds.",
            t.esterror as f64 / 1e6,
        ),
        g(
            "node_timex_status",
            "Value of the status array bits.",
            t.status as f64,
        ),
        g(
            "node_timex_loop_time_constant",
            "Phase-locked loop time constant.",
            t.constant as f64,
        ),
        g(
            "node_timex_tick_seconds",
            "Seconds between clock ticks.",
            t.tick as f64 / 1e6,
        ),
        g(
            "node_timex_pps_frequency_hertz",
            "Pulse per second frequency.",
            t.ppsfreq as f64 / PPM16,
        ),
        g(
            "node_timex_pps_jitter_seconds",
            "Pulse per second jitter.",
            t.jitter as f64 / div,
        ),
        g(
            "node_timex_pps_shift_seconds",
            "Pulse per second interval duration.",
            t.shift as f64,
        ),
        g(
            "node_timex_pps_stability_hertz",
            "Pulse per second stability, average of recent frequency changes.",
            t.stabil as f64 / PPM16,
        ),
        c(
            "node_timex_pps_jitter_total",
            "Pulse per second count of jitter limit exceeded events.",
            t.jitcnt as f64,
        ),
        c(
            "node_timex_pps_calibration_total",
            "Pulse per second count of calibration intervals.",
            t.calcnt as f64,
        ),
        c(
            "node_timex_pps_error_total",
            "Pulse per second count of calibration errors.",
            t.errcnt as f64,
        ),
        c(
            "node_timex_pps_stability_exceeded_total",
            "Pulse per second count of stability limit exceeded events.",
            t.stbcnt as f64,
        ),
        g(
            "node_timex_tai_offset_seconds",
            "International Atomic Time (TAI) offset.",
            t.tai as f64,
        ),
    ]);
    Ok(())
}

/// `node_selinux_enabled`.
pub(crate) fn selinux(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let enabled = cfg.sys("fs/selinux/enforce").exists();
    out.push(
        Family::gauge(
            "node_selinux_enabled",
            "SELinux is enabled, 1 is true, 0 is false",
        )
        .with(if enabled { 1.0 } else { 0.0 }),
    );
    Ok(())
}

/// node-exporter's textfile collector: metrics from `*.prom` files in the
/// configured directory, `node_textfile_mtime_seconds{file}`, and
/// `node_textfile_scrape_error`.
pub(crate) fn textfile(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let mut error = 0.0;
    if let Some(dir) = &cfg.textfile_directory {
        let mut mtime = Family::gauge(
            "node_textfile_mtime_seconds",
            "Unixtime mtime of textfiles successfully read.",
        );
        for name in dir_names(dir).into_iter().filter(|n| n.ends_with(".prom")) {
            let path = dir.join(&name);
            let text = match std::fs::read(&path) {
                Ok(t) => t,
                Err(_) => {
                    error = 1.0;
                    continue;
                }
            };
            match parse_textfile(&text) {
                Ok(fams) => {
                    out.extend(fams);
                    let m = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map(|d| d.as_secs_f64())
                        .unwrap_or(0.0);
                    mtime.add(&[("file", &path.display().to_string())], m);
                }
                Err(_) => error = 1.0,
            }
        }
        out.push(mtime);
    }
    out.push(
        Family::gauge(
            "node_textfile_scrape_error",
            "1 if there was an error opening or reading a file, 0 otherwise",
        )
        .with(error),
    );
    Ok(())
}

fn parse_textfile(text: &[u8]) -> std::result::Result<Vec<Family>, lookout_exposition::ParseError> {
    use lookout_exposition::{Entry, Format, MetricType, Parser};
    let mut fams: BTreeMap<String, Family> = BTreeMap::new();
    let mut helps: BTreeMap<String, String> = BTreeMap::new();
    let mut types: BTreeMap<String, MetricType> = BTreeMap::new();
    for e in Parser::new(text, Format::Text004) {
        match e? {
            Entry::Help { name, help } => {
                helps.insert(name.to_string(), help.into_owned());
            }
            Entry::Type { name, kind } => {
                types.insert(name.to_string(), kind);
            }
            Entry::Sample(s) => {
                let f = fams.entry(s.name.to_string()).or_insert_with(|| {
                    Family::new(
                        s.name,
                        helps
                            .get(s.name)
                            .cloned()
                            .unwrap_or_else(|| format!("Metric read from {}", "textfile")),
                        types.get(s.name).copied().unwrap_or(MetricType::Unknown),
                    )
                });
                let labels: Vec<(&str, &str)> = s
                    .labels
                    .iter()
                    .map(|l| (l.name, l.value.as_ref()))
                    .collect();
                f.add(&labels, s.value);
            }
            _ => {}
        }
    }
    Ok(fams.into_values().collect())
}

/// `lookout_build_info`, the counterpart of `node_exporter_build_info`.
pub(crate) fn build_info() -> Family {
    let mut f = Family::gauge(
        "lookout_build_info",
        "A metric with a constant '1' value labeled by version, revision and branch from which lookout was built.",
    );
    f.add(
        &[
            ("branch", option_env!("LOOKOUT_GIT_BRANCH").unwrap_or("")),
            (
                "revision",
                option_env!("LOOKOUT_GIT_REVISION").unwrap_or(""),
            ),
            ("version", env!("CARGO_PKG_VERSION")),
        ],
        1.0,
    );
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_quotes() {
        let m = parse_os_release("NAME=\"Debian GNU/Linux\"\nVERSION_ID='12'\nID=debian\n");
        assert_eq!(m["NAME"], "Debian GNU/Linux");
        assert_eq!(m["VERSION_ID"], "12");
        assert_eq!(m["ID"], "debian");
    }
}
