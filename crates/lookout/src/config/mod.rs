//! Loading `lookout.yaml`.
//!
//! A `lookout.yaml` has one section per upstream tool, each in that tool's
//! own format:
//!
//! ```yaml
//! prometheus:            # a verbatim prometheus.yml ...
//!   global: {scrape_interval: 15s}
//!   scrape_configs: [...]
//! # ... or a reference to one, resolved relative to this file:
//! # prometheus: {config_file: prometheus.yml}
//! alertmanager: {...}    # a verbatim alertmanager.yml
//! ```
//!
//! A file without any lookout section (it has `global:`, `scrape_configs:`
//! ... at the top) is read as a plain `prometheus.yml`, so
//! `lookout --config.file=prometheus.yml` works unchanged. `prometheus.yml`
//! has no top-level `config_file` key, so the reference form is unambiguous.
//!
//! The scrape component parses `global` and `scrape_configs`
//! (`lookout_scrape::config`); this module handles the lookout.yaml layout,
//! the `storage` section, and keeps error lines pointing into the file the
//! user edits.

pub mod prometheus;

use std::fmt;
use std::path::{Path, PathBuf};

use lookout_scrape::config::PrometheusConfig;
use serde_yaml_ng::Value;

pub use lookout_scrape::config::ConfigError;
pub use prometheus::StorageConfig;

/// Every error found while loading, displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A loaded, validated configuration.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// Where it came from (`None` = the embedded default).
    pub path: Option<PathBuf>,
    /// The scraping part of the Prometheus section.
    pub prometheus: PrometheusConfig,
    /// `storage:` of the Prometheus section.
    pub storage: StorageConfig,
    /// The Prometheus section as YAML text (shown by `/api/v1/status/config`).
    pub prometheus_yaml: String,
    /// The Alertmanager section as `alertmanager.yml` text (validated), or
    /// lookout's minimal default when the file has none.
    pub alertmanager: AlertmanagerSection,
}

/// The Alertmanager part of a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertmanagerSection {
    /// `alertmanager.yml` text.
    pub text: String,
    /// Directory relative paths in it resolve against.
    pub base: PathBuf,
}

/// What lookout routes alerts with when the config has no `alertmanager:`
/// section: one receiver that does nothing, so the Alertmanager API (and
/// Grafana's Alertmanager data source) work from the start.
pub const DEFAULT_ALERTMANAGER: &str =
    "route:\n  receiver: default\nreceivers:\n  - name: default\n";

impl Default for AlertmanagerSection {
    fn default() -> Self {
        AlertmanagerSection {
            text: DEFAULT_ALERTMANAGER.to_string(),
            base: PathBuf::from("."),
        }
    }
}

/// Parses the section with the alertmanager component's loader (which
/// validates it as Alertmanager does); errors are mapped into `file`.
pub fn load_alertmanager(
    section: &AlertmanagerSection,
    file: &Path,
    line_offset: usize,
) -> Result<lookout_alertmanager::config::LoadedConfig, ConfigError> {
    use lookout_alertmanager::config::load_str_in;
    use lookout_alertmanager::matchers::ParseMode;
    load_str_in(&section.text, &section.base, ParseMode::default()).map_err(|e| ConfigError {
        file: e.file.clone().unwrap_or_else(|| file.to_path_buf()),
        line: e
            .location
            .map(|(l, _)| l + if e.file.is_some() { 0 } else { line_offset }),
        column: None,
        message: format!("alertmanager: {}", e.message),
    })
}

/// Sections a `lookout.yaml` may have.
const LOOKOUT_SECTIONS: &[&str] = &["prometheus", "alertmanager"];

/// Where lookout serves its built-in host collector (node-exporter metrics).
pub const NODE_METRICS_PATH: &str = "/metrics/node";

/// The embedded default configuration: scrape lookout itself and its
/// built-in host collector, both at `target` (the listen address).
pub fn embedded_default(target: &str) -> String {
    format!(
        "# lookout's embedded default configuration (used without --config.file).\n\
         prometheus:\n  \
           global:\n    \
             scrape_interval: 15s\n    \
             evaluation_interval: 15s\n  \
           scrape_configs:\n    \
             - job_name: lookout\n      \
               static_configs:\n        \
                 - targets: ['{target}']\n    \
             - job_name: node\n      \
               metrics_path: {NODE_METRICS_PATH}\n      \
               static_configs:\n        \
                 - targets: ['{target}']\n"
    )
}

fn err_at(file: &Path, line: Option<usize>, message: String) -> ConfigError {
    ConfigError {
        file: file.to_path_buf(),
        line,
        column: None,
        message,
    }
}

fn yaml_error(file: &Path, e: &serde_yaml_ng::Error) -> ConfigError {
    let loc = e.location();
    // serde_yaml_ng appends " at line N column M"; the fields carry it.
    let mut message = e.to_string();
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    ConfigError {
        file: file.to_path_buf(),
        line: loc.as_ref().map(|l| l.line()),
        column: loc.as_ref().map(|l| l.column()),
        message,
    }
}

/// 1-based line of the first line containing `needle`.
fn locate(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// The block under a top-level `name:` key, dedented, with the number of
/// lines before it (to translate line numbers back), when the section is
/// written in block style.
fn block_section(text: &str, name: &str) -> Option<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let head = lines.iter().position(|l| {
        l.strip_prefix(name)
            .and_then(|r| r.strip_prefix(':'))
            .is_some_and(|r| {
                let r = r.trim();
                r.is_empty() || r.starts_with('#')
            })
    })?;
    let mut body = Vec::new();
    for l in &lines[head + 1..] {
        let t = l.trim_start();
        if !t.is_empty() && !t.starts_with('#') && l.len() == t.len() {
            break;
        }
        body.push(*l);
    }
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let dedented: Vec<&str> = body
        .iter()
        .map(|l| l.get(indent..).unwrap_or_else(|| l.trim_start()))
        .collect();
    Some((dedented.join("\n") + "\n", head + 1))
}

/// Loads a config file (lookout.yaml or prometheus.yml).
pub fn load_file(path: &Path) -> Result<LoadedConfig, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![err_at(
            path,
            None,
            format!("cannot read config file: {e}"),
        )])
    })?;
    let mut cfg = load_str(&text, path)?;
    cfg.path = Some(path.to_path_buf());
    Ok(cfg)
}

/// Parses a prometheus.yml text. `line_offset` lines precede it in `file`
/// (for sections inside a lookout.yaml); `indent` columns were removed.
fn parse_prometheus(
    text: &str,
    file: &Path,
    base: &Path,
    line_offset: usize,
    indent: usize,
) -> Result<(PrometheusConfig, StorageConfig), ConfigErrors> {
    // The scrape component anchors relative paths at the text's directory.
    let anchor = base.join(
        file.file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config")),
    );
    let pc = PrometheusConfig::load_str(text, &anchor).map_err(|mut e| {
        if e.file == anchor {
            e.file = file.to_path_buf();
            e.line = e.line.map(|l| l + line_offset);
            e.column = e.column.map(|c| c + indent);
        }
        ConfigErrors(vec![e])
    })?;
    let storage = StorageConfig::from_value(pc.other_sections.get("storage")).map_err(|m| {
        let line = locate(text, "out_of_order_time_window")
            .or_else(|| locate(text, "storage:"))
            .map(|l| l + line_offset);
        ConfigErrors(vec![err_at(file, line, m)])
    })?;
    Ok((pc, storage))
}

/// Loads config text; `path` names it in errors and anchors relative paths.
pub fn load_str(text: &str, path: &Path) -> Result<LoadedConfig, ConfigErrors> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let value: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| ConfigErrors(vec![yaml_error(path, &e)]))?
    };
    let top = match &value {
        Value::Null => serde_yaml_ng::Mapping::new(),
        Value::Mapping(m) => m.clone(),
        _ => {
            return Err(ConfigErrors(vec![err_at(
                path,
                Some(1),
                "the configuration must be a YAML mapping".into(),
            )]))
        }
    };
    let is_lookout = top.is_empty()
        || top
            .keys()
            .any(|k| k.as_str().is_some_and(|k| LOOKOUT_SECTIONS.contains(&k)));
    if !is_lookout {
        let (prometheus, storage) = parse_prometheus(text, path, &dir, 0, 0)?;
        return Ok(LoadedConfig {
            path: None,
            prometheus,
            storage,
            prometheus_yaml: text.to_string(),
            alertmanager: AlertmanagerSection::default(),
        });
    }
    let mut errors = Vec::new();
    for k in top.keys() {
        let name = k.as_str().unwrap_or("?");
        if !LOOKOUT_SECTIONS.contains(&name) {
            errors.push(err_at(
                path,
                locate(text, &format!("{name}:")),
                format!(
                    "unknown section {name:?} (lookout.yaml sections: {})",
                    LOOKOUT_SECTIONS.join(", ")
                ),
            ));
        }
    }
    let mut cfg = LoadedConfig {
        path: None,
        prometheus: PrometheusConfig::default(),
        storage: StorageConfig::default(),
        prometheus_yaml: String::new(),
        alertmanager: AlertmanagerSection::default(),
    };
    match top.get("alertmanager") {
        None | Some(Value::Null) => {}
        Some(Value::Mapping(m)) if m.contains_key("config_file") && m.len() == 1 => {
            let f = m.get("config_file").and_then(Value::as_str).unwrap_or("");
            let p = dir.join(f);
            match std::fs::read_to_string(&p) {
                Ok(t) => {
                    cfg.alertmanager = AlertmanagerSection {
                        text: t,
                        base: p
                            .parent()
                            .map(Path::to_path_buf)
                            .unwrap_or_else(|| dir.clone()),
                    };
                    if let Err(e) = load_alertmanager(&cfg.alertmanager, &p, 0) {
                        errors.push(e);
                    }
                }
                Err(e) => errors.push(err_at(&p, None, format!("cannot read config file: {e}"))),
            }
        }
        Some(section) => {
            let (text, offset) = match block_section(text, "alertmanager") {
                Some((s, off)) => (s, off),
                None => (serde_yaml_ng::to_string(section).unwrap_or_default(), 0),
            };
            cfg.alertmanager = AlertmanagerSection {
                text,
                base: dir.clone(),
            };
            if let Err(e) = load_alertmanager(&cfg.alertmanager, path, offset) {
                errors.push(e);
            }
        }
    }
    match top.get("prometheus") {
        None | Some(Value::Null) => {}
        Some(Value::Mapping(m)) if m.contains_key("config_file") => {
            match (m.get("config_file").and_then(Value::as_str), m.len()) {
                (Some(f), 1) => {
                    let p = dir.join(f);
                    match std::fs::read_to_string(&p) {
                        Ok(t) => {
                            let pdir = p
                                .parent()
                                .map(Path::to_path_buf)
                                .unwrap_or_else(|| dir.clone());
                            match parse_prometheus(&t, &p, &pdir, 0, 0) {
                                Ok((pc, st)) => {
                                    cfg.prometheus = pc;
                                    cfg.storage = st;
                                    cfg.prometheus_yaml = t;
                                }
                                Err(e) => errors.extend(e.0),
                            }
                        }
                        Err(e) => {
                            errors.push(err_at(&p, None, format!("cannot read config file: {e}")))
                        }
                    }
                }
                _ => errors.push(err_at(
                    path,
                    locate(text, "config_file"),
                    "prometheus.config_file must be a file path and the only key of the section"
                        .into(),
                )),
            }
        }
        Some(section) => {
            // Hand the section's own text to the parser so error lines can
            // be mapped back into this file; flow-style sections (`{...}` on
            // one line) are re-serialised and lose exact positions.
            let (sub, offset, indent) = match block_section(text, "prometheus") {
                Some((s, off)) => {
                    let ind = text
                        .lines()
                        .nth(off)
                        .map(|l| l.len() - l.trim_start().len())
                        .unwrap_or(0);
                    (s, off, ind)
                }
                None => (serde_yaml_ng::to_string(section).unwrap_or_default(), 0, 0),
            };
            match parse_prometheus(&sub, path, &dir, offset, indent) {
                Ok((pc, st)) => {
                    cfg.prometheus = pc;
                    cfg.storage = st;
                    cfg.prometheus_yaml = sub;
                }
                Err(e) => errors.extend(e.0),
            }
        }
    }
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(errors))
    }
}

#[cfg(test)]
mod tests;
