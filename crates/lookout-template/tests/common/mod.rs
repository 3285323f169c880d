//! Shared by the golden test and the golden regenerator
//! (`examples/regen_goldens.rs`): case and golden file formats, data
//! conversion, and how our engine renders a case.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lookout_template::alertmanager::{Alert, Data};
use lookout_template::gotime::Time;
use lookout_template::prometheus::{AlertTemplateData, QueryFn, RuleTemplate, Sample};
use lookout_template::{MissingKey, Template};
use serde::{Deserialize, Serialize};

/// Where Debian installs Alertmanager's default templates.
pub const AM_TEMPLATE_DIR: &str = "/usr/share/prometheus/alertmanager";
/// File names amtool is given (in this order) when a case wants them.
pub const AM_DEFAULT_FILES: [&str; 2] = ["default.tmpl", "email.tmpl"];
/// External URL the Prometheus regen server runs with.
pub const PROM_EXTERNAL_URL: &str = "http://prom.example:9090/prefix";

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------- Alertmanager

#[derive(Debug, Deserialize)]
pub struct AmCases {
    pub data: BTreeMap<String, serde_json::Value>,
    pub cases: Vec<AmCase>,
}

#[derive(Debug, Deserialize, Clone)]
pub struct AmCase {
    pub name: String,
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub html: bool,
    /// Load Alertmanager's default.tmpl and email.tmpl first.
    #[serde(default)]
    pub defaults: bool,
    /// An extra template file (passed as case.tmpl).
    #[serde(default)]
    pub defines: Option<String>,
    pub template: String,
}

impl AmCase {
    pub fn data_name(&self) -> &str {
        self.data.as_deref().unwrap_or("one")
    }
    pub fn fingerprint(&self, cases: &AmCases) -> String {
        let data = cases
            .data
            .get(self.data_name())
            .map(|d| d.to_string())
            .unwrap_or_default();
        fnv(&[
            &self.template,
            &data,
            if self.html { "html" } else { "text" },
            if self.defaults { "defaults" } else { "" },
            self.defines.as_deref().unwrap_or(""),
        ])
    }
}

/// One recorded tool result.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq)]
pub struct Golden {
    pub name: String,
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub fn fnv(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

fn kv(v: Option<&serde_json::Value>) -> BTreeMap<String, String> {
    v.and_then(|v| v.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn time(v: Option<&serde_json::Value>) -> Time {
    v.and_then(|v| v.as_str())
        .and_then(Time::parse_rfc3339)
        .unwrap_or_else(Time::zero)
}

/// Go's JSON decoding of `template.Data`.
pub fn am_data(v: &serde_json::Value) -> Data {
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let alerts = v
        .get("alerts")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .map(|a| {
                    let s = |k: &str| a.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
                    Alert {
                        status: s("status"),
                        labels: kv(a.get("labels")),
                        annotations: kv(a.get("annotations")),
                        starts_at: time(a.get("startsAt")),
                        ends_at: time(a.get("endsAt")),
                        generator_url: s("generatorURL"),
                        fingerprint: s("fingerprint"),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Data {
        receiver: s("receiver"),
        status: s("status"),
        alerts,
        group_labels: kv(v.get("groupLabels")),
        common_labels: kv(v.get("commonLabels")),
        common_annotations: kv(v.get("commonAnnotations")),
        external_url: s("externalURL"),
    }
}

/// Renders an Alertmanager case with our engine, the way
/// `amtool template render` does: files parsed in order (named by base
/// name), then the text as template "" with `missingkey=zero`.
pub fn render_am(case: &AmCase, cases: &AmCases, defaults_dir: &Path) -> Result<String, String> {
    let data = cases
        .data
        .get(case.data_name())
        .ok_or_else(|| format!("unknown data set {}", case.data_name()))?;
    let data = am_data(data).to_value_by_value();
    let mut t = if case.html {
        Template::new_html("")
    } else {
        Template::new("")
    }
    .funcs(lookout_template::alertmanager::funcs())
    .missing_key(MissingKey::Zero);
    if case.defaults {
        for f in AM_DEFAULT_FILES {
            let text = std::fs::read_to_string(defaults_dir.join(f)).map_err(|e| e.to_string())?;
            t = t.parse_named(f, &text).map_err(|e| e.to_string())?;
        }
    }
    if let Some(d) = &case.defines {
        t = t.parse_named("case.tmpl", d).map_err(|e| e.to_string())?;
    }
    let t = t.parse(&case.template).map_err(|e| e.to_string())?;
    t.execute(&data).map_err(|e| e.to_string())
}

// ------------------------------------------------------------------ Prometheus

#[derive(Debug, Deserialize)]
pub struct PromCases {
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    pub cases: Vec<PromCase>,
}

#[derive(Debug, Deserialize, Serialize, Clone, PartialEq)]
pub struct FixtureSample {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Debug, Deserialize, Clone)]
pub struct PromCase {
    pub name: String,
    pub template: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// A number, or "NaN", "+Inf", "-Inf".
    #[serde(default = "default_value")]
    pub value: serde_yaml_ng::Value,
    /// Results our fake `query` returns; Prometheus computes the real ones.
    #[serde(default)]
    pub queries: BTreeMap<String, Vec<FixtureSample>>,
}

fn default_value() -> serde_yaml_ng::Value {
    serde_yaml_ng::Value::from(1)
}

pub fn value_text(v: &serde_yaml_ng::Value) -> String {
    match v {
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        serde_yaml_ng::Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

pub fn value_f64(v: &serde_yaml_ng::Value) -> f64 {
    let t = value_text(v);
    match t.as_str() {
        "NaN" => f64::NAN,
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => t.parse().unwrap_or(0.0),
    }
}

impl PromCase {
    pub fn rule_name(&self) -> String {
        self.name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    }
    pub fn fingerprint(&self, ext: &BTreeMap<String, String>) -> String {
        fnv(&[
            &self.template,
            &format!("{:?}", self.labels),
            &value_text(&self.value),
            &format!("{:?}", self.queries),
            &format!("{ext:?}"),
        ])
    }
}

/// Answers `query` from fixtures; with `empty_default`, unknown queries
/// return no samples (what Prometheus with an empty TSDB returns).
pub struct FakeQuery(pub BTreeMap<String, Vec<FixtureSample>>, pub bool);

impl QueryFn for FakeQuery {
    fn query(&self, q: &str) -> Result<Vec<Sample>, String> {
        self.0
            .get(q)
            .map(|v| {
                v.iter()
                    .map(|s| Sample {
                        labels: s.labels.clone(),
                        value: s.value,
                    })
                    .collect()
            })
            .or_else(|| self.1.then(Vec::new))
            .ok_or_else(|| format!("no fixture for query {q:?}"))
    }
}

/// Expands a rule annotation the way Prometheus 2.42 does.
pub fn render_prom(
    rule_name: &str,
    template: &str,
    labels: &BTreeMap<String, String>,
    value: f64,
    queries: &BTreeMap<String, Vec<FixtureSample>>,
    external_labels: &BTreeMap<String, String>,
    empty_default: bool,
) -> String {
    let funcs = lookout_template::prometheus::funcs(
        Arc::new(FakeQuery(queries.clone(), empty_default)),
        PROM_EXTERNAL_URL,
    );
    let rt = RuleTemplate::new(rule_name, template, funcs);
    let data = AlertTemplateData {
        labels: labels.clone(),
        external_labels: external_labels.clone(),
        external_url: PROM_EXTERNAL_URL.to_string(),
        value,
    };
    rt.expand_or_error_text(&data)
}

// ------------------------------------------------------------ kube-prometheus

/// One annotation of one alerting rule in the corpus, with the inputs the
/// regenerator chose and Prometheus' expansion.
#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct CorpusGolden {
    /// Alert rule name the regenerator used (appears in error texts).
    pub rule: String,
    pub file: String,
    pub alert: String,
    /// Index of the rule among the file's rules named `alert`.
    pub nth: usize,
    pub key: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    pub output: String,
}

#[derive(Debug, Clone)]
pub struct CorpusAnnotation {
    pub file: String,
    pub alert: String,
    pub nth: usize,
    pub key: String,
    pub template: String,
}

/// Every templated annotation in the kube-prometheus rule files.
pub fn corpus_annotations(dir: &Path) -> Vec<CorpusAnnotation> {
    let mut out = vec![];
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let Ok(doc) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text) else {
            continue;
        };
        let file = f.file_name().unwrap().to_string_lossy().to_string();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for g in doc["groups"].as_sequence().into_iter().flatten() {
            for r in g["rules"].as_sequence().into_iter().flatten() {
                let Some(alert) = r["alert"].as_str() else {
                    continue;
                };
                let nth = *seen
                    .entry(alert.to_string())
                    .and_modify(|n| *n += 1)
                    .or_insert(0);
                if let Some(ann) = r["annotations"].as_mapping() {
                    for (k, v) in ann {
                        let (Some(k), Some(v)) = (k.as_str(), v.as_str()) else {
                            continue;
                        };
                        if !v.contains("{{") {
                            continue;
                        }
                        out.push(CorpusAnnotation {
                            file: file.clone(),
                            alert: alert.to_string(),
                            nth,
                            key: k.to_string(),
                            template: v.to_string(),
                        });
                    }
                }
            }
        }
    }
    out
}
