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
//! alertmanager: {...}    # a verbatim alertmanager.yml (or {config_file: ...})
//! ```
//!
//! A file without any lookout section (it has `global:`, `scrape_configs:`
//! ... at the top) is read as a plain `prometheus.yml`, so
//! `lookout --config.file=prometheus.yml` works unchanged. `prometheus.yml`
//! has no top-level `config_file` key, so the reference form is unambiguous.

pub mod prometheus;

use std::fmt;
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

pub use prometheus::PrometheusConfig;

/// One configuration error with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the error is in (`<embedded>` for the built-in default).
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

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
    /// The Prometheus part.
    pub prometheus: PrometheusConfig,
    /// The Prometheus part as YAML text (shown by `/api/v1/status/config`).
    pub prometheus_yaml: String,
    /// The file the Prometheus part came from (for relative paths in it,
    /// e.g. `file_sd_configs`).
    pub prometheus_dir: PathBuf,
    /// The Alertmanager part, verbatim, for the alertmanager component.
    pub alertmanager: Option<Value>,
}

/// Sections a `lookout.yaml` may have.
const LOOKOUT_SECTIONS: &[&str] = &["prometheus", "alertmanager"];

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

/// Where lookout serves its built-in host collector (node-exporter metrics).
pub const NODE_METRICS_PATH: &str = "/metrics/node";

fn err_at(file: &Path, line: Option<usize>, column: Option<usize>, msg: String) -> ConfigError {
    ConfigError {
        file: file.to_path_buf(),
        line,
        column,
        message: msg,
    }
}

fn yaml_error(file: &Path, e: &serde_yaml_ng::Error) -> ConfigError {
    let loc = e.location();
    // serde_yaml_ng appends " at line N column M" to messages with a
    // location; the location is reported separately, so strip it.
    let mut msg = e.to_string();
    if let Some(i) = msg.find(" at line ") {
        msg.truncate(i);
    }
    err_at(
        file,
        loc.as_ref().map(|l| l.line()),
        loc.as_ref().map(|l| l.column()),
        msg,
    )
}

/// 1-based line of the `nth` line containing `needle` (as a key or text).
fn locate(text: &str, needle: &str, nth: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .map(|(i, _)| i + 1)
}

/// Loads a config file (lookout.yaml or prometheus.yml).
pub fn load_file(path: &Path) -> Result<LoadedConfig, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![err_at(
            path,
            None,
            None,
            format!("cannot read config file: {e}"),
        )])
    })?;
    let mut cfg = load_str(&text, path)?;
    cfg.path = Some(path.to_path_buf());
    Ok(cfg)
}

/// Loads config text; `path` names it in errors and anchors relative paths.
pub fn load_str(text: &str, path: &Path) -> Result<LoadedConfig, ConfigErrors> {
    let dir = path
        .parent()
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
                None,
                "the configuration must be a YAML mapping".into(),
            )]))
        }
    };
    let is_lookout = top.is_empty()
        || top
            .keys()
            .any(|k| k.as_str().is_some_and(|k| LOOKOUT_SECTIONS.contains(&k)));
    if !is_lookout {
        // A plain prometheus.yml.
        let prometheus = parse_prometheus(text, path)?;
        return Ok(LoadedConfig {
            path: None,
            prometheus,
            prometheus_yaml: text.to_string(),
            prometheus_dir: dir,
            alertmanager: None,
        });
    }
    let mut errors = Vec::new();
    for k in top.keys() {
        let name = k.as_str().unwrap_or("?");
        if !LOOKOUT_SECTIONS.contains(&name) {
            errors.push(err_at(
                path,
                locate(text, &format!("{name}:"), 0),
                None,
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
        prometheus_yaml: String::new(),
        prometheus_dir: dir.clone(),
        alertmanager: top.get("alertmanager").cloned(),
    };
    match top.get("prometheus") {
        None | Some(Value::Null) => {}
        Some(Value::Mapping(m)) if m.contains_key("config_file") => {
            let file = m.get("config_file").and_then(Value::as_str);
            match (file, m.len()) {
                (Some(f), 1) => {
                    let p = dir.join(f);
                    match load_prometheus_file(&p) {
                        Ok((pc, yaml)) => {
                            cfg.prometheus = pc;
                            cfg.prometheus_yaml = yaml;
                            cfg.prometheus_dir = p
                                .parent()
                                .map(Path::to_path_buf)
                                .unwrap_or_else(|| dir.clone());
                        }
                        Err(e) => errors.extend(e.0),
                    }
                }
                _ => errors.push(err_at(
                    path,
                    locate(text, "config_file", 0),
                    None,
                    "prometheus.config_file must be a file path and the only key of the section"
                        .into(),
                )),
            }
        }
        Some(section) => {
            // Deserialize the whole file again, typed, so errors keep the
            // line numbers of the original text.
            match serde_yaml_ng::from_str::<LookoutFile>(text) {
                Ok(w) => {
                    for p in w.prometheus.validate() {
                        let line = p.anchor.as_ref().and_then(|(n, i)| locate(text, n, *i));
                        errors.push(err_at(path, line, None, p.message));
                    }
                    cfg.prometheus = w.prometheus;
                    cfg.prometheus_yaml = serde_yaml_ng::to_string(section).unwrap_or_default();
                }
                Err(e) => errors.push(yaml_error(path, &e)),
            }
        }
    }
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// The whole lookout.yaml with the Prometheus section typed and the other
/// sections skipped (they are checked by their own components).
#[derive(serde::Deserialize)]
struct LookoutFile {
    prometheus: PrometheusConfig,
    #[serde(default, rename = "alertmanager")]
    _alertmanager: Option<serde::de::IgnoredAny>,
}

fn parse_prometheus(text: &str, path: &Path) -> Result<PrometheusConfig, ConfigErrors> {
    let pc: PrometheusConfig = if text.trim().is_empty() {
        PrometheusConfig::default()
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| ConfigErrors(vec![yaml_error(path, &e)]))?
    };
    let problems = pc.validate();
    if problems.is_empty() {
        return Ok(pc);
    }
    Err(ConfigErrors(
        problems
            .into_iter()
            .map(|p| {
                let line = p.anchor.as_ref().and_then(|(n, i)| locate(text, n, *i));
                err_at(path, line, None, p.message)
            })
            .collect(),
    ))
}

fn load_prometheus_file(path: &Path) -> Result<(PrometheusConfig, String), ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![err_at(
            path,
            None,
            None,
            format!("cannot read config file: {e}"),
        )])
    })?;
    let pc = parse_prometheus(&text, path)?;
    Ok((pc, text))
}

#[cfg(test)]
mod tests;
