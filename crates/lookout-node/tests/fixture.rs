//! A fake /proc + /sys tree, so collectors can be tested deterministically
//! and conditional metrics (bonding, md, conntrack) can be exercised on
//! machines that have none.

#![allow(dead_code)]

use std::path::Path;

use lookout_node::NodeConfig;

fn put(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

pub fn fixture(root: &Path) -> NodeConfig {
    let proc = root.join("proc");
    let sys = root.join("sys");
    put(&proc, "stat", "cpu  100 2 30 4000 5 0 6 7 8 9\ncpu0 100 2 30 4000 5 0 6 7 8 9\nintr 12345 1 2 3\nctxt 999\nbtime 1700000000\nprocesses 4242\nprocs_running 3\nprocs_blocked 1\n");
    put(&proc, "meminfo", "MemTotal:       16384 kB\nMemFree:         8192 kB\nMemAvailable:   10240 kB\nBuffers:          100 kB\nCached:          2000 kB\nSlab:             300 kB\nActive(anon):      10 kB\nHugePages_Total:       0\n");
    put(&proc, "loadavg", "0.50 0.25 0.10 2/300 1234\n");
    put(
        &proc,
        "vmstat",
        "nr_free_pages 10\npgpgin 5\npgmajfault 7\noom_kill 0\n",
    );
    put(&proc, "diskstats", "   8       0 sda 10 1 200 30 20 2 400 50 0 60 80 0 0 0 0 0 0\n   8       1 sda1 1 1 1 1 1 1 1 1 0 1 1\n   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0\n");
    put(&proc, "net/dev", "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n    lo: 50 1 0 0 0 0 0 0 50 1 0 0 0 0 0 0\n");
    put(&proc, "sys/fs/file-nr", "1024\t0\t65536\n");
    put(&proc, "sys/kernel/random/entropy_avail", "256\n");
    put(&proc, "sys/kernel/random/poolsize", "256\n");
    put(&proc, "sys/net/netfilter/nf_conntrack_count", "17\n");
    put(&proc, "sys/net/netfilter/nf_conntrack_max", "262144\n");
    put(
        &proc,
        "net/netstat",
        "TcpExt: SyncookiesSent TCPTimeouts ListenDrops\nTcpExt: 0 3 1\n",
    );
    put(
        &proc,
        "net/snmp",
        "Tcp: ActiveOpens InSegs OutSegs RetransSegs CurrEstab\nTcp: 5 100 90 2 3\n",
    );
    put(
        &proc,
        "net/sockstat",
        "sockets: used 10\nTCP: inuse 2 orphan 0 tw 1 alloc 3 mem 4\n",
    );
    put(&proc, "mdstat", "Personalities : [raid1]\nmd0 : active raid1 sdb1[1] sda1[0]\n      1046528 blocks super 1.2 [2/2] [UU]\n\nunused devices: <none>\n");
    put(
        &proc,
        "1/mounts",
        "/dev/sda1 / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n",
    );
    put(&sys, "class/net/bonding_masters", "bond0\n");
    put(&sys, "class/net/bond0/ifindex", "3\n");
    put(&sys, "class/net/bond0/operstate", "up\n");
    put(&sys, "class/net/bond0/mtu", "1500\n");
    put(&sys, "class/net/bond0/bonding/slaves", "eth0 eth1\n");
    put(
        &sys,
        "class/net/bond0/lower_eth0/bonding_slave/mii_status",
        "up\n",
    );
    put(
        &sys,
        "class/net/bond0/lower_eth1/bonding_slave/mii_status",
        "down\n",
    );
    put(&sys, "class/net/eth0/ifindex", "2\n");
    put(&sys, "class/net/eth0/operstate", "up\n");
    put(&sys, "class/net/eth0/address", "02:00:00:00:00:01\n");
    put(&sys, "class/net/eth0/flags", "0x1003\n");
    put(&sys, "class/net/eth0/speed", "1000\n");
    put(&sys, "class/net/eth0/statistics/rx_nohandler", "0\n");
    NodeConfig {
        proc_path: proc,
        sys_path: sys,
        rootfs_path: root.join("rootfs"),
        udev_data_path: root.join("udev"),
        ..NodeConfig::default()
    }
}
