//! Software RAID state from /proc/mdstat (node-exporter's mdadm collector).

use crate::{read, Family, NodeConfig, Result};

/// One array.
#[derive(Debug, PartialEq)]
struct MdArray {
    name: String,
    state: &'static str,
    disks_total: f64,
    disks_active: f64,
    disks_failed: f64,
    disks_spare: f64,
    blocks: f64,
    blocks_synced: f64,
}

fn parse_mdstat(text: &str) -> Vec<MdArray> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 || f[1] != ":" || !f[0].starts_with("md") {
            continue;
        }
        let inactive = f[2] == "inactive";
        let members = f.iter().skip(3).filter(|t| t.contains('['));
        let (mut listed, mut failed, mut spare) = (0.0, 0.0, 0.0);
        for m in members {
            listed += 1.0;
            if m.ends_with("(F)") {
                failed += 1.0;
            } else if m.ends_with("(S)") {
                spare += 1.0;
            }
        }
        let status = lines.get(i + 1).copied().unwrap_or("");
        let blocks = status
            .split_whitespace()
            .next()
            .and_then(|b| b.parse::<f64>().ok())
            .unwrap_or(0.0);
        // "[total/active]" when the personality reports it (not raid0/linear).
        let counts = status.split_whitespace().find_map(|t| {
            let inner = t.strip_prefix('[')?.strip_suffix(']')?;
            let (a, b) = inner.split_once('/')?;
            Some((a.parse::<f64>().ok()?, b.parse::<f64>().ok()?))
        });
        let (total, active) = counts.unwrap_or((listed - spare, listed - failed - spare));
        let mut state = if inactive { "inactive" } else { "active" };
        let mut synced = blocks;
        if let Some(progress) = lines.get(i + 2) {
            let p = progress.trim();
            let kind = ["recovery", "resync", "check"]
                .into_iter()
                .find(|k| p.contains(&format!("{k} =")) || p.contains(&format!("{k}=")));
            if let Some(k) = kind {
                state = match k {
                    "recovery" => "recovering",
                    "resync" => "resync",
                    _ => "check",
                };
                synced = p
                    .split('(')
                    .nth(1)
                    .and_then(|s| s.split('/').next())
                    .and_then(|n| n.trim().parse::<f64>().ok())
                    .unwrap_or(if p.contains("DELAYED") || p.contains("PENDING") {
                        blocks
                    } else {
                        0.0
                    });
            }
        }
        out.push(MdArray {
            name: f[0].to_string(),
            state,
            disks_total: total,
            disks_active: active,
            disks_failed: failed,
            disks_spare: spare,
            blocks,
            blocks_synced: synced,
        });
    }
    out
}

/// `node_md_{disks,disks_required,state,blocks,blocks_synced}{device}`.
pub(crate) fn mdadm(cfg: &NodeConfig, out: &mut Vec<Family>) -> Result<()> {
    let text = read(&cfg.proc("mdstat"))?;
    let mut disks = Family::gauge(
        "node_md_disks",
        "Number of active/failed/spare disks of device.",
    );
    let mut required = Family::gauge("node_md_disks_required", "Total number of disks of device.");
    let mut state = Family::gauge("node_md_state", "Indicates the state of md-device.");
    let mut blocks = Family::gauge("node_md_blocks", "Total number of blocks on device.");
    let mut synced = Family::gauge(
        "node_md_blocks_synced",
        "Number of blocks synced on device.",
    );
    for a in parse_mdstat(&text) {
        let d = a.name.as_str();
        disks.add(&[("device", d), ("state", "active")], a.disks_active);
        disks.add(&[("device", d), ("state", "failed")], a.disks_failed);
        disks.add(&[("device", d), ("state", "spare")], a.disks_spare);
        required.add(&[("device", d)], a.disks_total);
        for s in ["active", "inactive", "recovering", "resync", "check"] {
            state.add(
                &[("device", d), ("state", s)],
                if a.state == s { 1.0 } else { 0.0 },
            );
        }
        blocks.add(&[("device", d)], a.blocks);
        synced.add(&[("device", d)], a.blocks_synced);
    }
    out.extend([disks, required, state, blocks, synced]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_healthy_degraded_and_recovering_arrays() {
        let text = "Personalities : [raid1] [raid0]\n\
md0 : active raid1 sdb1[1] sda1[0]\n      1046528 blocks super 1.2 [2/2] [UU]\n      \n\
md1 : active raid1 sdd1[2] sdc1[0](F) sde1[3](S)\n      293039488 blocks super 1.2 [2/1] [U_]\n      [==>..................]  recovery = 12.6% (37043392/293039488) finish=127.5min speed=33440K/sec\n      \n\
md2 : active raid0 sdf1[0] sdg1[1]\n      2000 blocks super 1.2 512k chunks\n\n\
unused devices: <none>\n";
        let a = parse_mdstat(text);
        assert_eq!(a.len(), 3);
        assert_eq!(
            (a[0].disks_total, a[0].disks_active, a[0].state),
            (2.0, 2.0, "active")
        );
        assert_eq!(a[0].blocks_synced, 1046528.0);
        assert_eq!(
            (
                a[1].disks_total,
                a[1].disks_active,
                a[1].disks_failed,
                a[1].disks_spare
            ),
            (2.0, 1.0, 1.0, 1.0)
        );
        assert_eq!(a[1].state, "recovering");
        assert_eq!(a[1].blocks_synced, 37043392.0);
        assert_eq!((a[2].disks_total, a[2].disks_active), (2.0, 2.0));
    }
}
