//! Collectors on a fixed fake /proc and /sys tree.

mod fixture;

use std::collections::BTreeMap;

use lookout_node::{Family, NodeCollector};

fn by_name(fams: &[Family]) -> BTreeMap<String, &Family> {
    fams.iter().map(|f| (f.name.clone(), f)).collect()
}

fn value(f: &Family, labels: &[(&str, &str)]) -> f64 {
    let want: Vec<(String, String)> = {
        let mut v: Vec<_> = labels
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        v.sort();
        v
    };
    f.samples
        .iter()
        .find(|(l, _)| *l == want)
        .unwrap_or_else(|| panic!("{} has no sample {labels:?}: {:?}", f.name, f.samples))
        .1
}

#[test]
fn fixture_values_follow_node_exporter_rules() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture::fixture(dir.path());
    let fams = NodeCollector::new(cfg).gather();
    let m = by_name(&fams);

    // CPU: USER_HZ ticks to seconds; guest split out.
    let cpu = m["node_cpu_seconds_total"];
    assert_eq!(value(cpu, &[("cpu", "0"), ("mode", "user")]), 1.0);
    assert_eq!(value(cpu, &[("cpu", "0"), ("mode", "idle")]), 40.0);
    assert_eq!(value(cpu, &[("cpu", "0"), ("mode", "steal")]), 0.07);
    assert_eq!(cpu.samples.len(), 8, "the aggregate cpu line is skipped");
    assert_eq!(
        value(
            m["node_cpu_guest_seconds_total"],
            &[("cpu", "0"), ("mode", "user")]
        ),
        0.08
    );
    assert_eq!(value(m["node_boot_time_seconds"], &[]), 1_700_000_000.0);
    assert_eq!(value(m["node_intr_total"], &[]), 12345.0);
    assert_eq!(value(m["node_forks_total"], &[]), 4242.0);

    // Memory: kB -> bytes with _bytes; parentheses; unitless kept.
    assert_eq!(
        value(m["node_memory_MemTotal_bytes"], &[]),
        16384.0 * 1024.0
    );
    assert_eq!(value(m["node_memory_Active_anon_bytes"], &[]), 10240.0);
    assert_eq!(value(m["node_memory_HugePages_Total"], &[]), 0.0);
    assert!(
        m.contains_key("node_vmstat_pgmajfault") && !m.contains_key("node_vmstat_nr_free_pages")
    );

    // Disks: sectors -> bytes, ms -> s; loop and partitions excluded.
    let rb = m["node_disk_read_bytes_total"];
    assert_eq!(value(rb, &[("device", "sda")]), 200.0 * 512.0);
    assert_eq!(rb.samples.len(), 1);
    assert_eq!(
        value(m["node_disk_io_time_seconds_total"], &[("device", "sda")]),
        0.06
    );
    assert_eq!(
        value(
            m["node_disk_discards_completed_total"],
            &[("device", "sda")]
        ),
        0.0
    );

    // Network.
    assert_eq!(
        value(m["node_network_receive_bytes_total"], &[("device", "eth0")]),
        1000.0
    );
    assert_eq!(
        value(m["node_network_transmit_drop_total"], &[("device", "eth0")]),
        4.0
    );
    assert_eq!(value(m["node_network_up"], &[("device", "eth0")]), 1.0);
    assert_eq!(
        value(m["node_network_flags"], &[("device", "eth0")]),
        4099.0
    );
    assert_eq!(
        value(m["node_network_speed_bytes"], &[("device", "eth0")]),
        125_000_000.0
    );
    assert_eq!(value(m["node_load1"], &[]), 0.5);

    // Conditional collectors.
    assert_eq!(value(m["node_bonding_slaves"], &[("master", "bond0")]), 2.0);
    assert_eq!(value(m["node_bonding_active"], &[("master", "bond0")]), 1.0);
    assert_eq!(
        value(m["node_md_disks_required"], &[("device", "md0")]),
        2.0
    );
    assert_eq!(
        value(
            m["node_md_disks"],
            &[("device", "md0"), ("state", "active")]
        ),
        2.0
    );
    assert_eq!(value(m["node_nf_conntrack_entries"], &[]), 17.0);
    assert_eq!(value(m["node_nf_conntrack_entries_limit"], &[]), 262144.0);
    assert_eq!(value(m["node_netstat_Tcp_RetransSegs"], &[]), 2.0);
    assert_eq!(value(m["node_sockstat_TCP_inuse"], &[]), 2.0);
    assert!(m.contains_key("node_sockstat_TCP_mem_bytes"));
    assert_eq!(value(m["node_filefd_maximum"], &[]), 65536.0);
    assert_eq!(value(m["node_textfile_scrape_error"], &[]), 0.0);

    // Missing files make a collector fail softly, reported per collector.
    let ok = m["node_scrape_collector_success"];
    assert_eq!(value(ok, &[("collector", "cpu")]), 1.0);
    assert_eq!(value(ok, &[("collector", "pressure")]), 0.0);
}

#[test]
fn text_rendering_parses_back() {
    let dir = tempfile::tempdir().unwrap();
    let text = NodeCollector::new(fixture::fixture(dir.path())).render_text();
    let samples =
        lookout_exposition::parse_samples(text.as_bytes(), lookout_exposition::Format::Text004)
            .unwrap();
    assert!(samples.len() > 50);
    assert!(text.contains("# TYPE node_cpu_seconds_total counter\n"));
    assert!(
        text.contains("node_memory_MemTotal_bytes 1.6777216e+07\n"),
        "Go float formatting"
    );
}

#[test]
fn textfile_directory_is_merged() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = fixture::fixture(dir.path());
    let tf = dir.path().join("textfile");
    std::fs::create_dir(&tf).unwrap();
    std::fs::write(
        tf.join("a.prom"),
        "# HELP backup_ok Last backup ok.\n# TYPE backup_ok gauge\nbackup_ok{job_name=\"x\"} 1\n",
    )
    .unwrap();
    std::fs::write(tf.join("bad.prom"), "broken{\n").unwrap();
    cfg.textfile_directory = Some(tf);
    let fams = NodeCollector::new(cfg).gather();
    let m = by_name(&fams);
    assert_eq!(value(m["backup_ok"], &[("job_name", "x")]), 1.0);
    assert_eq!(value(m["node_textfile_scrape_error"], &[]), 1.0);
    assert_eq!(m["node_textfile_mtime_seconds"].samples.len(), 1);
}
