//! lookout-node: the built-in host collector.
//!
//! Reads Linux `/proc` and `/sys` directly (no external commands) and
//! produces metric families with prometheus-node-exporter's names, labels,
//! HELP and TYPE, so node-exporter dashboards and the kube-prometheus node
//! rules work unchanged. Output is Prometheus text exposition
//! ([`NodeCollector::render_text`]) or samples fed straight into an
//! `Appender` ([`NodeCollector::append_to`]); the server registers it as the
//! built-in `node` scrape target.
//!
//! Must not know about HTTP, scraping or storage engines: it only reads the
//! kernel's files and returns numbers.

mod cpu;
mod disk;
mod fs;
mod md;
mod memory;
mod net;
mod system;
mod util;

use std::path::{Path, PathBuf};
use std::time::Instant;

use lookout_exposition::MetricType;
use lookout_model::storage::{AppendError, Appender};
use lookout_model::{Labels, LabelsBuilder, METRIC_NAME};

/// One metric family: name, HELP, TYPE and its samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    /// Metric name.
    pub name: String,
    /// HELP text.
    pub help: String,
    /// TYPE.
    pub kind: MetricType,
    /// Samples: label pairs (without the name) and value.
    pub samples: Vec<(Vec<(String, String)>, f64)>,
}

impl Family {
    fn new(name: impl Into<String>, help: impl Into<String>, kind: MetricType) -> Self {
        Family {
            name: name.into(),
            help: help.into(),
            kind,
            samples: Vec::new(),
        }
    }

    fn gauge(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, help, MetricType::Gauge)
    }

    fn counter(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, help, MetricType::Counter)
    }

    fn untyped(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, help, MetricType::Unknown)
    }

    fn add(&mut self, labels: &[(&str, &str)], v: f64) {
        let mut l: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // Exposition output lists labels by name, like client_golang.
        l.sort();
        self.samples.push((l, v));
    }

    fn with(mut self, v: f64) -> Self {
        self.add(&[], v);
        self
    }
}

/// Where the kernel's files are (node-exporter's `--path.*` flags), and
/// the collector switches that matter for what is reported.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// procfs mount (default `/proc`).
    pub proc_path: PathBuf,
    /// sysfs mount (default `/sys`).
    pub sys_path: PathBuf,
    /// Host root filesystem (default `/`); mount points are reported
    /// relative to it, like node-exporter's `--path.rootfs`.
    pub rootfs_path: PathBuf,
    /// udev database (default `/run/udev/data`).
    pub udev_data_path: PathBuf,
    /// Mount points not reported by the filesystem collector.
    pub fs_mount_points_exclude: regex::Regex,
    /// Filesystem types not reported.
    pub fs_types_exclude: regex::Regex,
    /// Block devices not reported by the disk collector.
    pub disk_device_exclude: regex::Regex,
    /// `/proc/net/{netstat,snmp,snmp6}` fields reported.
    pub netstat_fields: regex::Regex,
    /// `/proc/vmstat` fields reported.
    pub vmstat_fields: regex::Regex,
    /// Directory of `*.prom` files (node-exporter's textfile collector); none by default.
    pub textfile_directory: Option<PathBuf>,
}

fn re(s: &str) -> regex::Regex {
    // The defaults below are fixed, valid patterns.
    regex::Regex::new(s).unwrap_or_else(|e| unreachable!("default pattern {s}: {e}"))
}

impl Default for NodeConfig {
    /// node-exporter 1.5's defaults.
    fn default() -> Self {
        NodeConfig {
            proc_path: PathBuf::from("/proc"),
            sys_path: PathBuf::from("/sys"),
            rootfs_path: PathBuf::from("/"),
            udev_data_path: PathBuf::from("/run/udev/data"),
            fs_mount_points_exclude: re(
                "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)",
            ),
            fs_types_exclude: re(
                "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$",
            ),
            disk_device_exclude: re("^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$"),
            netstat_fields: re(
                "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$",
            ),
            vmstat_fields: re("^(oom_kill|pgpg|pswp|pg.*fault).*"),
            textfile_directory: None,
        }
    }
}

impl NodeConfig {
    pub(crate) fn proc(&self, rel: &str) -> PathBuf {
        self.proc_path.join(rel)
    }
    pub(crate) fn sys(&self, rel: &str) -> PathBuf {
        self.sys_path.join(rel)
    }
}

/// A collector's failure: the file or call that failed.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct CollectError {
    /// What was being read.
    pub what: String,
    /// Why it failed.
    #[source]
    pub source: std::io::Error,
}

pub(crate) type Result<T> = std::result::Result<T, CollectError>;

pub(crate) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| CollectError {
        what: format!("reading {}", path.display()),
        source,
    })
}

type CollectFn = fn(&NodeConfig, &mut Vec<Family>) -> Result<()>;

/// The collectors, under node-exporter's names (the `collector` label of
/// `node_scrape_collector_*`).
const COLLECTORS: &[(&str, CollectFn)] = &[
    ("arp", net::arp),
    ("bonding", net::bonding),
    ("conntrack", net::conntrack),
    ("cpu", cpu::cpu),
    ("diskstats", disk::diskstats),
    ("entropy", memory::entropy),
    ("filefd", memory::filefd),
    ("filesystem", fs::filesystem),
    ("loadavg", cpu::loadavg),
    ("mdadm", md::mdadm),
    ("meminfo", memory::meminfo),
    ("netclass", net::netclass),
    ("netdev", net::netdev),
    ("netstat", net::netstat),
    ("os", system::os),
    ("pressure", cpu::pressure),
    ("selinux", system::selinux),
    ("sockstat", net::sockstat),
    ("softnet", cpu::softnet),
    ("stat", cpu::stat),
    ("textfile", system::textfile),
    ("time", system::time),
    ("timex", system::timex),
    ("udp_queues", net::udp_queues),
    ("uname", system::uname),
    ("vmstat", memory::vmstat),
];

/// The host collector.
#[derive(Clone, Debug, Default)]
pub struct NodeCollector {
    config: NodeConfig,
}

impl NodeCollector {
    /// A collector with the given paths and filters.
    pub fn new(config: NodeConfig) -> Self {
        NodeCollector { config }
    }

    /// Names of the collectors run on every gather.
    pub fn collector_names() -> Vec<&'static str> {
        COLLECTORS.iter().map(|(n, _)| *n).collect()
    }

    /// Runs every collector. A failing collector is reported through
    /// `node_scrape_collector_success{collector}` = 0, never as an error,
    /// like node-exporter.
    pub fn gather(&self) -> Vec<Family> {
        let mut out = Vec::new();
        let mut dur = Family::gauge(
            "node_scrape_collector_duration_seconds",
            "node_exporter: Duration of a collector scrape.",
        );
        let mut ok = Family::gauge(
            "node_scrape_collector_success",
            "node_exporter: Whether a collector succeeded.",
        );
        for (name, f) in COLLECTORS {
            let t0 = Instant::now();
            let mut fams = Vec::new();
            let success = match f(&self.config, &mut fams) {
                Ok(()) => true,
                Err(e) => {
                    // Missing optional kernel features are normal (no bonding...).
                    if e.source.kind() != std::io::ErrorKind::NotFound {
                        eprintln!("lookout-node: collector {name} failed: {e}");
                    }
                    false
                }
            };
            if success {
                out.extend(fams.into_iter().filter(|f| !f.samples.is_empty()));
            }
            dur.add(&[("collector", name)], t0.elapsed().as_secs_f64());
            ok.add(&[("collector", name)], if success { 1.0 } else { 0.0 });
        }
        out.push(dur);
        out.push(ok);
        out.push(system::build_info());
        merge_same_name(out)
    }

    /// Gathers and renders Prometheus text format 0.0.4, families sorted by
    /// name like node-exporter's output.
    pub fn render_text(&self) -> String {
        render_text(&self.gather())
    }

    /// Gathers and appends every sample at time `t` (ms), with `target`
    /// labels added (they win over collected labels with the same name,
    /// which node metrics never use).
    pub fn append_to(
        &self,
        app: &mut dyn Appender,
        target: &Labels,
        t: i64,
    ) -> std::result::Result<usize, AppendError> {
        let mut n = 0;
        for f in self.gather() {
            for (labels, v) in &f.samples {
                let mut b = LabelsBuilder::new();
                for (k, v) in labels {
                    b.set(k.as_str(), v.as_str());
                }
                for l in target.iter() {
                    b.set(l.name.clone(), l.value.clone());
                }
                b.set(METRIC_NAME, f.name.as_str());
                app.append(&b.into_labels(), t, *v)?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Families of the same name (from different collectors) become one, and
/// the list is sorted by name.
fn merge_same_name(mut fams: Vec<Family>) -> Vec<Family> {
    fams.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out: Vec<Family> = Vec::with_capacity(fams.len());
    for f in fams {
        match out.last_mut() {
            Some(last) if last.name == f.name => last.samples.extend(f.samples),
            _ => out.push(f),
        }
    }
    for f in &mut out {
        f.samples.sort_by(|a, b| a.0.cmp(&b.0));
    }
    out
}

/// Renders families as text format 0.0.4.
pub fn render_text(fams: &[Family]) -> String {
    let mut out = String::new();
    for f in fams {
        lookout_exposition::writer::write_help(&mut out, &f.name, &f.help);
        lookout_exposition::writer::write_type(&mut out, &f.name, f.kind);
        for (labels, v) in &f.samples {
            out.push_str(&f.name);
            if !labels.is_empty() {
                out.push('{');
                for (i, (k, val)) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(k);
                    out.push_str("=\"");
                    lookout_exposition::writer::push_label_value(&mut out, val);
                    out.push('"');
                }
                out.push('}');
            }
            out.push(' ');
            lookout_exposition::push_go_float(&mut out, *v);
            out.push('\n');
        }
    }
    out
}
