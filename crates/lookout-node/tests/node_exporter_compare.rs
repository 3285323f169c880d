//! Side by side with the real prometheus-node-exporter on this host: same
//! metric names, TYPE, HELP and label sets for the collectors lookout-node
//! implements, and equal values where they change slowly.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lookout_exposition::{Entry, Format, MetricType, Parser};
use lookout_node::NodeCollector;

/// Family prefixes of the node-exporter collectors lookout-node implements.
const COVERED: &[&str] = &[
    "node_arp_",
    "node_bonding_",
    "node_boot_time_seconds",
    "node_context_switches_total",
    "node_cpu_seconds_total",
    "node_cpu_guest_seconds_total",
    "node_disk_",
    "node_entropy_",
    "node_filefd_",
    "node_filesystem_",
    "node_forks_total",
    "node_intr_total",
    "node_load",
    "node_md_",
    "node_memory_",
    "node_netstat_",
    "node_network_",
    "node_nf_conntrack_",
    "node_os_",
    "node_pressure_",
    "node_procs_",
    "node_selinux_enabled",
    "node_sockstat_",
    "node_softnet_",
    "node_textfile_scrape_error",
    "node_time_",
    "node_timex_",
    "node_udp_queues",
    "node_uname_info",
    "node_vmstat_",
];

/// Families under a covered prefix that node-exporter 1.5 derives from
/// udev/device-mapper data lookout does not read.
const KNOWN_UNCOVERED: &[&str] = &["node_disk_device_mapper_info", "node_disk_ata_"];

/// Series whose value must match exactly (or within `tol` relative).
const STABLE: &[(&str, f64)] = &[
    ("node_memory_MemTotal_bytes", 0.0),
    ("node_memory_SwapTotal_bytes", 0.0),
    ("node_memory_Hugepagesize_bytes", 0.0),
    ("node_boot_time_seconds", 1e-9),
    ("node_entropy_pool_size_bits", 0.0),
    ("node_filefd_maximum", 0.0),
    ("node_filesystem_size_bytes", 0.0),
    ("node_filesystem_files", 0.0),
    ("node_filesystem_readonly", 0.0),
    ("node_filesystem_device_error", 0.0),
    ("node_disk_info", 0.0),
    ("node_network_info", 0.0),
    ("node_network_mtu_bytes", 0.0),
    ("node_network_iface_id", 0.0),
    ("node_network_flags", 0.0),
    ("node_network_speed_bytes", 0.0),
    ("node_network_up", 0.0),
    ("node_network_protocol_type", 0.0),
    ("node_network_transmit_queue_length", 0.0),
    ("node_nf_conntrack_entries_limit", 0.0),
    ("node_os_info", 0.0),
    ("node_os_version", 0.0),
    ("node_uname_info", 0.0),
    ("node_time_zone_offset_seconds", 0.0),
    ("node_time_clocksource_current_info", 0.0),
    ("node_time_clocksource_available_info", 0.0),
    ("node_timex_tick_seconds", 0.0),
    ("node_timex_status", 0.0),
    ("node_selinux_enabled", 0.0),
    ("node_textfile_scrape_error", 0.0),
    ("node_softnet_dropped_total", 0.0),
];

/// Counters read by node-exporter first and by us second: ours must not
/// be smaller, and not absurdly larger.
const MONOTONIC: &[&str] = &[
    "node_cpu_seconds_total",
    "node_context_switches_total",
    "node_intr_total",
    "node_forks_total",
    "node_disk_reads_completed_total",
    "node_disk_writes_completed_total",
    "node_disk_read_bytes_total",
    "node_network_receive_packets_total",
    "node_network_transmit_packets_total",
    "node_network_receive_bytes_total",
    "node_pressure_cpu_waiting_seconds_total",
];

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(
        b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: text/plain;version=0.0.4\r\n\r\n",
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8(buf).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_string()))
}

type Series = BTreeMap<Vec<(String, String)>, f64>;

#[derive(Default)]
struct Fam {
    help: String,
    kind: Option<MetricType>,
    series: Series,
}

fn parse(text: &str) -> BTreeMap<String, Fam> {
    let mut out: BTreeMap<String, Fam> = BTreeMap::new();
    for e in Parser::new(text.as_bytes(), Format::Text004) {
        match e.expect("exposition parses") {
            Entry::Help { name, help } => {
                out.entry(name.to_string()).or_default().help = help.into_owned()
            }
            Entry::Type { name, kind } => {
                out.entry(name.to_string()).or_default().kind = Some(kind)
            }
            Entry::Sample(s) => {
                let mut l: Vec<(String, String)> = s
                    .labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect();
                l.sort();
                out.entry(s.name.to_string())
                    .or_default()
                    .series
                    .insert(l, s.value);
            }
            _ => {}
        }
    }
    out
}

fn covered(name: &str) -> bool {
    COVERED.iter().any(|p| name.starts_with(p))
        && !KNOWN_UNCOVERED.iter().any(|p| name.starts_with(p))
}

fn label_names(s: &Series) -> BTreeSet<Vec<String>> {
    s.keys()
        .map(|l| l.iter().map(|(k, _)| k.clone()).collect())
        .collect()
}

#[test]
fn matches_prometheus_node_exporter() {
    let Some(bin) = lookout_testkit::require_tool("prometheus-node-exporter") else {
        return;
    };
    let port = lookout_testkit::free_port();
    let child = Command::new(bin)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting prometheus-node-exporter");
    let _guard = Guard(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    let theirs_text = loop {
        if let Some(t) = http_get(port) {
            break t;
        }
        assert!(
            Instant::now() < deadline,
            "node-exporter did not answer on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let ours_text = NodeCollector::default().render_text();
    let theirs = parse(&theirs_text);
    let ours = parse(&ours_text);

    let mut problems = Vec::new();
    let mut matched = 0;
    let mut uncovered = Vec::new();
    for (name, t) in &theirs {
        if !name.starts_with("node_") || t.series.is_empty() {
            continue;
        }
        if !covered(name) {
            uncovered.push(name.clone());
            continue;
        }
        let Some(o) = ours.get(name) else {
            problems.push(format!("missing family {name}"));
            continue;
        };
        if o.kind != t.kind {
            problems.push(format!(
                "{name}: TYPE {:?} vs node-exporter {:?}",
                o.kind, t.kind
            ));
        }
        if o.help != t.help {
            problems.push(format!(
                "{name}: HELP {:?} vs node-exporter {:?}",
                o.help, t.help
            ));
        }
        if label_names(&o.series) != label_names(&t.series) {
            problems.push(format!(
                "{name}: label names {:?} vs node-exporter {:?}",
                label_names(&o.series),
                label_names(&t.series)
            ));
        }
        matched += 1;
    }
    for name in ours.keys() {
        if covered(name) && !theirs.contains_key(name) {
            problems.push(format!("extra family {name} not in node-exporter's output"));
        }
    }

    let mut value_checks = 0;
    for (name, tol) in STABLE {
        let (Some(t), Some(o)) = (theirs.get(*name), ours.get(*name)) else {
            continue;
        };
        for (labels, tv) in &t.series {
            let Some(ov) = o.series.get(labels) else {
                problems.push(format!("{name}{labels:?}: series missing in ours"));
                continue;
            };
            let ok = if *tol == 0.0 {
                ov == tv
            } else {
                (ov - tv).abs() <= tol * tv.abs().max(1.0)
            };
            if !ok {
                problems.push(format!("{name}{labels:?}: ours {ov} vs node-exporter {tv}"));
            }
            value_checks += 1;
        }
    }
    for name in MONOTONIC {
        let (Some(t), Some(o)) = (theirs.get(*name), ours.get(*name)) else {
            continue;
        };
        for (labels, tv) in &t.series {
            let Some(ov) = o.series.get(labels) else {
                problems.push(format!("{name}{labels:?}: series missing in ours"));
                continue;
            };
            // Read after node-exporter: never smaller; bounded growth.
            if *ov + 1e-6 < *tv || *ov > tv * 1.5 + 1e6 {
                problems.push(format!("{name}{labels:?}: ours {ov} vs node-exporter {tv}"));
            }
            value_checks += 1;
        }
    }
    eprintln!(
        "node-exporter comparison: {matched} families matched by name/TYPE/HELP/labels, {value_checks} values checked, {} node-exporter families outside lookout's collectors: {uncovered:?}",
        uncovered.len()
    );
    assert!(matched > 100, "only {matched} families compared");
    assert!(
        problems.is_empty(),
        "differences from node-exporter:\n{}",
        problems.join("\n")
    );
}
