//! Network: /proc/net/dev, /sys/class/net, ARP, bonding, netstat/snmp,
//! sockstat, conntrack, UDP queues.

use std::collections::BTreeMap;

use crate::util::{dir_names, num, sys_attr, sys_num};
use crate::{read, Family, NodeConfig, Result};

const RX: [&str; 8] = [
    "bytes",
    "packets",
    "errs",
    "drop",
    "fifo",
    "frame",
    "compressed",
    "multicast",
];
const TX: [&str; 8] = [
    "bytes",
    "packets",
    "errs",
    "drop",
    "fifo",
    "colls",
    "carrier",
    "compressed",
];

/// `node_network_{receive,transmit}_*_total{device}`.
pub(crate) fn netdev(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let text = read(&cfg.proc("net/dev"))?;
    let mut fams: BTreeMap<String, Family> = BTreeMap::new();
    let mut add = |dir: &str, field: &str, dev: &str, v: f64| {
        let key = format!("{dir}_{field}");
        fams.entry(key.clone())
            .or_insert_with(|| {
                Family::counter(
                    format!("node_network_{key}_total"),
                    format!("Network device statistic {key}."),
                )
            })
            .add(&[("device", dev)], v);
    };
    for line in text.lines().skip(2) {
        let Some((dev, rest)) = line.split_once(':') else {
            continue;
        };
        let dev = dev.trim();
        let vals: Vec<f64> = rest.split_whitespace().filter_map(num).collect();
        if vals.len() < 16 {
            continue;
        }
        for (i, f) in RX.iter().enumerate() {
            add("receive", f, dev, vals[i]);
        }
        for (i, f) in TX.iter().enumerate() {
            add("transmit", f, dev, vals[8 + i]);
        }
        // Not in /proc/net/dev; node-exporter reads it over netlink.
        if let Some(v) = sys_num(&cfg.sys(&format!("class/net/{dev}/statistics/rx_nohandler"))) {
            add("receive", "nohandler", dev, v);
        }
    }
    out.extend(fams.into_values());
    Ok(())
}

/// (sysfs attribute, metric suffix, counter?); hex values (`0x...`) are parsed too.
const NETCLASS: [(&str, &str, bool); 16] = [
    ("addr_assign_type", "address_assign_type", false),
    ("carrier", "carrier", false),
    ("carrier_changes", "carrier_changes_total", true),
    ("carrier_up_count", "carrier_up_changes_total", true),
    ("carrier_down_count", "carrier_down_changes_total", true),
    ("dev_id", "device_id", false),
    ("dormant", "dormant", false),
    ("flags", "flags", false),
    ("ifindex", "iface_id", false),
    ("iflink", "iface_link", false),
    ("link_mode", "iface_link_mode", false),
    ("mtu", "mtu_bytes", false),
    ("name_assign_type", "name_assign_type", false),
    ("netdev_group", "net_dev_group", false),
    ("tx_queue_len", "transmit_queue_length", false),
    ("type", "protocol_type", false),
];

/// `node_network_info`, `node_network_up` and the numeric device properties.
pub(crate) fn netclass(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let base = cfg.sys("class/net");
    if !base.is_dir() {
        return Err(crate::CollectError {
            what: format!("reading {}", base.display()),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let mut info = Family::gauge(
        "node_network_info",
        "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
    );
    let mut up = Family::gauge(
        "node_network_up",
        "Value is 1 if operstate is 'up', 0 otherwise.",
    );
    let mut props: Vec<Family> = NETCLASS
        .iter()
        .map(|(_, suffix, counter)| {
            let name = format!("node_network_{suffix}");
            let help = format!("Network device property: {suffix}");
            if *counter {
                Family::counter(name, help)
            } else {
                Family::gauge(name, help)
            }
        })
        .collect();
    let mut speed = Family::gauge(
        "node_network_speed_bytes",
        "Network device property: speed_bytes",
    );
    for dev in dir_names(&base) {
        let d = base.join(&dev);
        if !d.join("ifindex").exists() {
            continue; // bonding_masters and other non-device entries
        }
        let attr = |a: &str| sys_attr(&d.join(a)).unwrap_or_default();
        let operstate = attr("operstate");
        info.add(
            &[
                ("address", &attr("address")),
                ("broadcast", &attr("broadcast")),
                ("device", &dev),
                ("duplex", &attr("duplex")),
                ("ifalias", &attr("ifalias")),
                ("operstate", &operstate),
            ],
            1.0,
        );
        up.add(
            &[("device", &dev)],
            if operstate == "up" { 1.0 } else { 0.0 },
        );
        for (fam, (a, _, _)) in props.iter_mut().zip(NETCLASS.iter()) {
            if let Some(v) = sys_num(&d.join(a)) {
                fam.add(&[("device", &dev)], v);
            }
        }
        if let Some(v) = sys_num(&d.join("speed")) {
            speed.add(&[("device", &dev)], v * 1000.0 * 1000.0 / 8.0);
        }
    }
    out.push(info);
    out.push(up);
    out.extend(props);
    out.push(speed);
    Ok(())
}

/// `node_arp_entries{device}`.
pub(crate) fn arp(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let text = read(&cfg.proc("net/arp"))?;
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    for line in text.lines().skip(1) {
        if let Some(dev) = line.split_whitespace().nth(5) {
            *counts.entry(dev.to_string()).or_default() += 1.0;
        }
    }
    let mut f = Family::gauge("node_arp_entries", "ARP entries by device");
    for (dev, n) in counts {
        f.add(&[("device", &dev)], n);
    }
    out.push(f);
    Ok(())
}

/// `node_bonding_slaves{master}` and `node_bonding_active{master}`.
pub(crate) fn bonding(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let masters = read(&cfg.sys("class/net/bonding_masters"))?;
    let mut slaves_f = Family::gauge(
        "node_bonding_slaves",
        "Number of configured slaves per bonding interface.",
    );
    let mut active_f = Family::gauge(
        "node_bonding_active",
        "Number of active slaves per bonding interface.",
    );
    for m in masters.split_whitespace() {
        let slaves = read(&cfg.sys(&format!("class/net/{m}/bonding/slaves")))?;
        let mut total = 0.0;
        let mut active = 0.0;
        for s in slaves.split_whitespace() {
            total += 1.0;
            let st =
                sys_attr(&cfg.sys(&format!("class/net/{m}/lower_{s}/bonding_slave/mii_status")))
                    .or_else(|| {
                        sys_attr(&cfg.sys(&format!("class/net/{s}/bonding_slave/mii_status")))
                    });
            if st.as_deref() == Some("up") {
                active += 1.0;
            }
        }
        slaves_f.add(&[("master", m)], total);
        active_f.add(&[("master", m)], active);
    }
    out.push(slaves_f);
    out.push(active_f);
    Ok(())
}

/// `node_netstat_<Proto>_<Field>` from netstat, snmp and snmp6, filtered.
pub(crate) fn netstat(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let mut stats: BTreeMap<String, (String, f64)> = BTreeMap::new();
    for file in ["net/netstat", "net/snmp"] {
        let text = read(&cfg.proc(file))?;
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.chunks(2) {
            let [names, values] = pair else { continue };
            let (Some((proto, names)), Some((_, values))) =
                (names.split_once(':'), values.split_once(':'))
            else {
                continue;
            };
            for (n, v) in names.split_whitespace().zip(values.split_whitespace()) {
                if let Some(v) = num(v) {
                    stats.insert(format!("{proto}_{n}"), (format!("{proto}{n}"), v));
                }
            }
        }
    }
    if let Ok(text) = read(&cfg.proc("net/snmp6")) {
        for line in text.lines() {
            let mut it = line.split_whitespace();
            let (Some(name), Some(v)) = (it.next(), it.next().and_then(num)) else {
                continue;
            };
            if let Some((proto, field)) = name.split_once('6') {
                stats.insert(format!("{proto}6_{field}"), (name.to_string(), v));
            }
        }
    }
    for (key, (stat, v)) in stats {
        if cfg.netstat_fields.is_match(&key) {
            out.push(
                Family::untyped(format!("node_netstat_{key}"), format!("Statistic {stat}."))
                    .with(v),
            );
        }
    }
    Ok(())
}

/// `node_sockstat_*` from sockstat and sockstat6.
pub(crate) fn sockstat(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64;
    let mut parse = |text: &str| {
        for line in text.lines() {
            let Some((proto, rest)) = line.split_once(':') else {
                continue;
            };
            let f: Vec<&str> = rest.split_whitespace().collect();
            for kv in f.chunks(2) {
                let [k, v] = kv else { continue };
                let Some(v) = num(v) else { continue };
                if proto == "sockets" {
                    out.push(
                        Family::gauge(
                            format!("node_sockstat_sockets_{k}"),
                            "Number of IPv4 sockets in use.",
                        )
                        .with(v),
                    );
                    continue;
                }
                out.push(
                    Family::gauge(
                        format!("node_sockstat_{proto}_{k}"),
                        format!("Number of {proto} sockets in state {k}."),
                    )
                    .with(v),
                );
                if *k == "mem" {
                    out.push(
                        Family::gauge(
                            format!("node_sockstat_{proto}_mem_bytes"),
                            format!("Number of {proto} sockets in state mem_bytes."),
                        )
                        .with(v * page),
                    );
                }
            }
        }
    };
    parse(&read(&cfg.proc("net/sockstat"))?);
    if let Ok(t) = read(&cfg.proc("net/sockstat6")) {
        parse(&t);
    }
    Ok(())
}

const CONNTRACK_STATS: [(&str, &str); 8] = [
    ("found", "Number of searched entries which were successful."),
    ("invalid", "Number of packets seen which can not be tracked."),
    ("ignore", "Number of packets seen which are already connected to a conntrack entry."),
    ("insert", "Number of entries inserted into the list."),
    ("insert_failed", "Number of entries for which list insertion was attempted but failed."),
    ("drop", "Number of packets dropped due to conntrack failure."),
    ("early_drop", "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached."),
    ("search_restart", "Number of conntrack table lookups which had to be restarted due to hashtable resizes."),
];

/// `node_nf_conntrack_entries[_limit]` and the per-CPU stats summed.
pub(crate) fn conntrack(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let count = read(&cfg.proc("sys/net/netfilter/nf_conntrack_count"))?;
    let max = read(&cfg.proc("sys/net/netfilter/nf_conntrack_max"))?;
    if let Some(v) = num(&count) {
        out.push(
            Family::gauge(
                "node_nf_conntrack_entries",
                "Number of currently allocated flow entries for connection tracking.",
            )
            .with(v),
        );
    }
    if let Some(v) = num(&max) {
        out.push(
            Family::gauge(
                "node_nf_conntrack_entries_limit",
                "Maximum size of connection tracking table.",
            )
            .with(v),
        );
    }
    if let Ok(text) = read(&cfg.proc("net/stat/nf_conntrack")) {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
        let mut sums = vec![0.0; header.len()];
        for l in lines {
            for (i, h) in l.split_whitespace().enumerate() {
                if let (Some(s), Ok(v)) = (sums.get_mut(i), u64::from_str_radix(h, 16)) {
                    *s += v as f64;
                }
            }
        }
        for (name, help) in CONNTRACK_STATS {
            if let Some(i) = header.iter().position(|h| *h == name) {
                out.push(
                    Family::gauge(format!("node_nf_conntrack_stat_{name}"), help).with(sums[i]),
                );
            }
        }
    }
    Ok(())
}

/// `node_udp_queues{ip,queue}`: bytes queued in UDP sockets.
pub(crate) fn udp_queues(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let mut f = Family::gauge(
        "node_udp_queues",
        "Number of allocated memory in the kernel for UDP datagrams in bytes.",
    );
    for (file, ip) in [("net/udp", "v4"), ("net/udp6", "v6")] {
        let text = read(&cfg.proc(file))?;
        let (mut tx, mut rx) = (0.0, 0.0);
        for line in text.lines().skip(1) {
            if let Some((t, r)) = line
                .split_whitespace()
                .nth(4)
                .and_then(|q| q.split_once(':'))
            {
                tx += u64::from_str_radix(t, 16).unwrap_or(0) as f64;
                rx += u64::from_str_radix(r, 16).unwrap_or(0) as f64;
            }
        }
        f.add(&[("ip", ip), ("queue", "rx")], rx);
        f.add(&[("ip", ip), ("queue", "tx")], tx);
    }
    out.push(f);
    Ok(())
}
