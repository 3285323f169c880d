//! `file_sd_configs`: target groups read from YAML or JSON files.
//!
//! Like Prometheus, files are re-read when their directory reports a change
//! (inotify through `notify`) and every `refresh_interval` regardless, so a
//! missed event or an unwatchable directory only delays an update. A file
//! that fails to parse keeps its previous groups; a file that disappears
//! yields empty groups for its old sources so consumers drop its targets.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lookout_model::Labels;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::duration::ConfigDuration;
use crate::group::{GroupError, StaticConfig, TargetGroup};

/// The label carrying the file a target came from.
pub const FILEPATH_LABEL: &str = "__meta_filepath";

fn default_refresh() -> ConfigDuration {
    ConfigDuration::from_secs(300)
}

/// One `file_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// File paths or patterns (`*` allowed in the last path element only).
    pub files: Vec<String>,
    /// How often files are re-read even without change events (default 5m).
    #[serde(default = "default_refresh")]
    pub refresh_interval: ConfigDuration,
}

impl FileSdConfig {
    /// Prometheus' checks: at least one path, each ending in `.json`,
    /// `.yml` or `.yaml`, with at most one `*`, in the last path element.
    pub fn validate(&self) -> Result<(), GroupError> {
        if self.files.is_empty() {
            return Err(GroupError(
                "file service discovery config must contain at least one path name".into(),
            ));
        }
        for f in &self.files {
            if !valid_file_sd_name(f) {
                return Err(GroupError(format!(
                    "path name {f:?} is not valid for file discovery"
                )));
            }
        }
        Ok(())
    }

    /// The patterns made absolute against the config file's directory.
    pub fn resolved(&self, base_dir: &Path) -> Vec<PathBuf> {
        self.files
            .iter()
            .map(|f| {
                let p = Path::new(f);
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    base_dir.join(p)
                }
            })
            .collect()
    }
}

/// `^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`
fn valid_file_sd_name(name: &str) -> bool {
    let ext_ok = ["json", "yml", "yaml", "JSON", "YML", "YAML"]
        .iter()
        .any(|e| name.strip_suffix(e).is_some_and(|s| s.ends_with('.')));
    if !ext_ok {
        return false;
    }
    match name.find('*') {
        None => true,
        Some(i) => {
            let rest = &name[i + 1..];
            !rest.contains('*') && !rest.contains('/')
        }
    }
}

/// Reads one file SD file into groups sourced `path:index`.
pub fn read_file(path: &Path) -> Result<Vec<TargetGroup>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let configs: Vec<StaticConfig> = if ext == "json" {
        serde_json::from_str(&text).map_err(|e| e.to_string())?
    } else {
        // An empty YAML file is an empty list.
        if text.trim().is_empty() {
            Vec::new()
        } else {
            serde_yaml_ng::from_str(&text).map_err(|e| e.to_string())?
        }
    };
    let file = path.display().to_string();
    let mut out = Vec::with_capacity(configs.len());
    for (i, c) in configs.iter().enumerate() {
        c.validate().map_err(|e| e.to_string())?;
        let mut g = c.to_group(format!("{file}:{i}"));
        let mut b = g.labels.builder();
        b.set(FILEPATH_LABEL, file.clone());
        g.labels = b.into_labels();
        out.push(g);
    }
    Ok(out)
}

/// A running file discoverer for one `file_sd_configs` entry.
pub struct FileDiscovery {
    patterns: Vec<PathBuf>,
    interval: Duration,
    /// Number of groups last sent per file, to retract vanished sources.
    last: HashMap<PathBuf, usize>,
}

impl FileDiscovery {
    /// A discoverer for `cfg`, with relative paths resolved against `base_dir`.
    pub fn new(cfg: &FileSdConfig, base_dir: &Path) -> Self {
        FileDiscovery {
            patterns: cfg.resolved(base_dir),
            interval: cfg.refresh_interval.to_std().max(Duration::from_millis(10)),
            last: HashMap::new(),
        }
    }

    /// Files currently matching the patterns.
    pub fn list_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for p in &self.patterns {
            let Some(s) = p.to_str() else { continue };
            match glob::glob(s) {
                Ok(paths) => out.extend(paths.filter_map(Result::ok)),
                Err(e) => tracing::error!(pattern = s, error = %e, "invalid file SD pattern"),
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Re-reads every matching file. Returns the groups to publish: current
    /// groups of readable files, plus empty groups for sources that vanished.
    pub fn refresh(&mut self) -> Vec<TargetGroup> {
        let mut now: HashMap<PathBuf, usize> = HashMap::new();
        let mut groups = Vec::new();
        for f in self.list_files() {
            match read_file(&f) {
                Ok(gs) => {
                    now.insert(f.clone(), gs.len());
                    groups.extend(gs);
                }
                Err(e) => {
                    tracing::error!(file = %f.display(), error = %e, "error reading file SD file");
                    // Keep what we had: remember the old count so nothing is retracted.
                    if let Some(n) = self.last.get(&f) {
                        now.insert(f.clone(), *n);
                    }
                }
            }
        }
        for (f, &n) in &self.last {
            let m = now.get(f).copied().unwrap_or(0);
            for i in m..n {
                groups.push(TargetGroup {
                    targets: Vec::new(),
                    labels: Labels::empty(),
                    source: format!("{}:{i}", f.display()),
                });
            }
        }
        self.last = now;
        groups
    }

    fn watch_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .patterns
            .iter()
            .filter_map(|p| p.parent().map(Path::to_path_buf))
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }

    /// Sends an initial refresh, then one after every change event and every
    /// `refresh_interval`, until the receiver goes away.
    pub async fn run(mut self, tx: mpsc::Sender<Vec<TargetGroup>>) {
        use notify::Watcher;
        let (ev_tx, mut ev_rx) = mpsc::channel::<()>(1);
        let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if res.is_ok() {
                // A full channel already holds a pending wake-up: coalesce.
                let _ = ev_tx.try_send(());
            }
        });
        let _watcher = match watcher {
            Ok(mut w) => {
                for d in self.watch_dirs() {
                    if let Err(e) = w.watch(&d, notify::RecursiveMode::NonRecursive) {
                        tracing::warn!(dir = %d.display(), error = %e, "cannot watch file SD directory; relying on refresh_interval");
                    }
                }
                Some(w)
            }
            Err(e) => {
                tracing::warn!(error = %e, "file watching unavailable; relying on refresh_interval");
                None
            }
        };
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                Some(()) = ev_rx.recv() => {
                    // Editors write in several steps; let the burst settle.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    while ev_rx.try_recv().is_ok() {}
                }
                _ = tx.closed() => return,
            }
            let groups = self.refresh();
            if tx.send(groups).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_validation() {
        for ok in ["a.json", "dir/*.yml", "/x/y/tg_*.yaml", "x.YAML"] {
            assert!(valid_file_sd_name(ok), "{ok}");
        }
        for bad in ["a.txt", "a", "*/x.json", "a*b*.json", "json"] {
            assert!(!valid_file_sd_name(bad), "{bad}");
        }
        let c = FileSdConfig {
            files: vec!["x.txt".into()],
            refresh_interval: default_refresh(),
        };
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "path name \"x.txt\" is not valid for file discovery"
        );
    }

    #[test]
    fn refresh_reads_yaml_and_json_and_retracts() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yml");
        let b = dir.path().join("b.json");
        std::fs::write(
            &a,
            "- targets: ['h1:1', 'h2:2']\n  labels: {env: x}\n- targets: ['h3:3']\n",
        )
        .unwrap();
        std::fs::write(&b, r#"[{"targets": ["j:1"]}]"#).unwrap();
        let cfg: FileSdConfig = serde_yaml_ng::from_str("files: ['*.yml', '*.json']").unwrap();
        let mut d = FileDiscovery::new(&cfg, dir.path());
        let gs = d.refresh();
        assert_eq!(gs.len(), 3);
        let g0 = gs.iter().find(|g| g.source.ends_with("a.yml:0")).unwrap();
        assert_eq!(g0.targets.len(), 2);
        assert_eq!(g0.labels.get("env"), Some("x"));
        assert_eq!(
            g0.labels.get(FILEPATH_LABEL),
            Some(a.display().to_string().as_str())
        );

        // A broken file keeps its previous groups (nothing retracted).
        std::fs::write(&a, "- targets: [").unwrap();
        let gs = d.refresh();
        assert_eq!(gs.len(), 1);
        assert!(gs.iter().all(|g| !g.targets.is_empty()));

        // One group fewer: the vanished source gets an empty group.
        std::fs::write(&a, "- targets: ['h1:1']\n").unwrap();
        let gs = d.refresh();
        let empty: Vec<_> = gs.iter().filter(|g| g.targets.is_empty()).collect();
        assert_eq!(empty.len(), 1);
        assert!(empty[0].source.ends_with("a.yml:1"));

        // Deleting a file retracts all its sources.
        std::fs::remove_file(&b).unwrap();
        let gs = d.refresh();
        assert!(gs
            .iter()
            .any(|g| g.source.ends_with("b.json:0") && g.targets.is_empty()));
    }

    #[test]
    fn bad_label_name_in_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yml");
        std::fs::write(&a, "- targets: ['h:1']\n  labels: {'bad-name': x}\n").unwrap();
        let e = read_file(&a).unwrap_err();
        assert!(e.contains("\"bad-name\" is not a valid label name"), "{e}");
    }
}
