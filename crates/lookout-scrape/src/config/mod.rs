//! The scraping parts of `prometheus.yml`: `global` and `scrape_configs`
//! (plus `scrape_config_files`), with Prometheus' field names, defaults,
//! inheritance from `global`, and validation messages.
//!
//! Errors carry the file and, where the YAML parser knows it, the line and
//! column. Checks that need the global section (timeouts, duplicate jobs)
//! run after parsing; their line is found by locating the job's `job_name`.

pub mod http;
pub mod units;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use lookout_discovery::{check_target_address, ConfigDuration, FileSdConfig, StaticConfig};
use lookout_model::relabel::{is_valid_label_name, RelabelConfig};
use lookout_model::Labels;
use serde::{Deserialize, Serialize};

pub use http::{Authorization, BasicAuth, HttpClientConfig, TlsConfig};
pub use lookout_model::Secret;
pub use units::ByteSize;

/// A config problem, located as precisely as we can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file the problem is in (empty for in-memory text).
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong, in Prometheus' words where it has some.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = if self.file.as_os_str().is_empty() {
            "<config>".to_string()
        } else {
            self.file.display().to_string()
        };
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{file}:{l}:{c}: {}", self.message),
            (Some(l), None) => write!(f, "{file}:{l}: {}", self.message),
            _ => write!(f, "{file}: {}", self.message),
        }
    }
}

impl ConfigError {
    fn from_yaml(file: &Path, text: &str, e: serde_yaml_ng::Error) -> Self {
        let loc = e.location();
        // serde_yaml_ng appends " at line X column Y"; the location fields carry it.
        let mut message = e.to_string();
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        let mut line = loc.as_ref().map(|l| l.line());
        let mut column = loc.as_ref().map(|l| l.column());
        // Errors raised by a value's own parser (durations, sizes...) are
        // placed at the enclosing mapping; when the message quotes the bad
        // value, point at the first line from there on that contains it.
        if let (Some(start), Some(q)) = (line, quoted_value(&message)) {
            if let Some(off) = text.lines().skip(start - 1).position(|l| l.contains(q)) {
                if off > 0 {
                    line = Some(start + off);
                    column = None;
                }
            }
        }
        ConfigError {
            file: file.to_path_buf(),
            line,
            column,
            message,
        }
    }
}

/// The exposition formats a scrape may ask for (`scrape_protocols`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScrapeProtocol {
    /// Protobuf (not parsed by lookout yet; left out of the Accept header).
    PrometheusProto,
    /// Text format 0.0.4.
    PrometheusText0_0_4,
    /// Text format 1.0.0 (0.0.4 plus UTF-8 names).
    PrometheusText1_0_0,
    /// OpenMetrics 0.0.1.
    OpenMetricsText0_0_1,
    /// OpenMetrics 1.0.0.
    OpenMetricsText1_0_0,
}

impl ScrapeProtocol {
    const ALL: [ScrapeProtocol; 5] = [
        ScrapeProtocol::OpenMetricsText0_0_1,
        ScrapeProtocol::OpenMetricsText1_0_0,
        ScrapeProtocol::PrometheusProto,
        ScrapeProtocol::PrometheusText0_0_4,
        ScrapeProtocol::PrometheusText1_0_0,
    ];

    /// The config name.
    pub fn name(&self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => "PrometheusProto",
            ScrapeProtocol::PrometheusText0_0_4 => "PrometheusText0.0.4",
            ScrapeProtocol::PrometheusText1_0_0 => "PrometheusText1.0.0",
            ScrapeProtocol::OpenMetricsText0_0_1 => "OpenMetricsText0.0.1",
            ScrapeProtocol::OpenMetricsText1_0_0 => "OpenMetricsText1.0.0",
        }
    }

    /// The media type offered in `Accept`.
    pub fn media_type(&self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => {
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
            }
            ScrapeProtocol::PrometheusText0_0_4 => "text/plain;version=0.0.4",
            ScrapeProtocol::PrometheusText1_0_0 => "text/plain;version=1.0.0",
            ScrapeProtocol::OpenMetricsText0_0_1 => "application/openmetrics-text;version=0.0.1",
            ScrapeProtocol::OpenMetricsText1_0_0 => "application/openmetrics-text;version=1.0.0",
        }
    }

    /// Parses a config name; the error lists the supported names like Prometheus.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown scrape protocol {s}, supported: [{}]",
                    names.join(" ")
                )
            })
    }

    /// Prometheus' default preference order.
    pub fn defaults() -> Vec<ScrapeProtocol> {
        vec![
            ScrapeProtocol::OpenMetricsText1_0_0,
            ScrapeProtocol::OpenMetricsText0_0_1,
            ScrapeProtocol::PrometheusText1_0_0,
            ScrapeProtocol::PrometheusText0_0_4,
        ]
    }
}

impl Serialize for ScrapeProtocol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ScrapeProtocol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ScrapeProtocol::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn check_protocols(p: &[ScrapeProtocol]) -> Result<(), String> {
    if p.is_empty() {
        return Err("scrape_protocols cannot be empty".into());
    }
    let mut seen = BTreeSet::new();
    for x in p {
        if !seen.insert(*x) {
            let names: Vec<&str> = p.iter().map(|p| p.name()).collect();
            return Err(format!(
                "duplicated protocol in scrape_protocols, got [{}]",
                names.join(" ")
            ));
        }
    }
    Ok(())
}

/// The `Accept` header for a protocol preference list, weighted like
/// Prometheus 3 (`q=0.6, 0.5, ...`, then `*/*`). Protobuf is left out until
/// lookout parses it.
pub fn accept_header(protocols: &[ScrapeProtocol]) -> String {
    let mut weight = 6;
    let mut parts = Vec::new();
    for p in protocols {
        if *p == ScrapeProtocol::PrometheusProto {
            continue;
        }
        parts.push(format!("{};q=0.{weight}", p.media_type()));
        weight -= 1;
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

/// `global:` with defaults applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GlobalConfig {
    /// Default scrape interval (1m).
    pub scrape_interval: ConfigDuration,
    /// Default scrape timeout (10s, capped at the interval).
    pub scrape_timeout: ConfigDuration,
    /// Default protocol preference.
    pub scrape_protocols: Vec<ScrapeProtocol>,
    /// Rule evaluation interval (1m).
    pub evaluation_interval: ConfigDuration,
    /// Rule query offset.
    #[serde(skip_serializing_if = "ConfigDuration::is_zero")]
    pub rule_query_offset: ConfigDuration,
    /// Labels added to alerts, federation and remote write.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub external_labels: BTreeMap<String, String>,
    /// Query log path.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub query_log_file: String,
    /// Scrape failure log path.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scrape_failure_log_file: String,
    /// Default per-scrape limits (0 = none).
    #[serde(flatten)]
    pub limits: Limits,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: ConfigDuration::from_secs(60),
            scrape_timeout: ConfigDuration::from_secs(10),
            scrape_protocols: ScrapeProtocol::defaults(),
            evaluation_interval: ConfigDuration::from_secs(60),
            rule_query_offset: ConfigDuration(0),
            external_labels: BTreeMap::new(),
            query_log_file: String::new(),
            scrape_failure_log_file: String::new(),
            limits: Limits::default(),
        }
    }
}

/// Per-scrape limits; 0 means unlimited.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Uncompressed body size limit.
    #[serde(default, skip_serializing_if = "is_zero_size")]
    pub body_size_limit: ByteSize,
    /// Samples per scrape after metric relabeling.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sample_limit: u64,
    /// Labels per sample.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_limit: u64,
    /// Label name length.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_name_length_limit: u64,
    /// Label value length.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_value_length_limit: u64,
    /// Targets per scrape pool after relabeling.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub target_limit: u64,
    /// Dropped targets kept for the API (0 = all).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub keep_dropped_targets: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}
fn is_zero_size(v: &ByteSize) -> bool {
    v.0 == 0
}

impl Limits {
    /// Job limits with zeros filled from the global ones.
    fn inherit(&self, g: &Limits) -> Limits {
        let pick = |a: u64, b: u64| if a == 0 { b } else { a };
        Limits {
            body_size_limit: if self.body_size_limit.0 == 0 {
                g.body_size_limit
            } else {
                self.body_size_limit
            },
            sample_limit: pick(self.sample_limit, g.sample_limit),
            label_limit: pick(self.label_limit, g.label_limit),
            label_name_length_limit: pick(self.label_name_length_limit, g.label_name_length_limit),
            label_value_length_limit: pick(
                self.label_value_length_limit,
                g.label_value_length_limit,
            ),
            target_limit: pick(self.target_limit, g.target_limit),
            keep_dropped_targets: pick(self.keep_dropped_targets, g.keep_dropped_targets),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    scrape_interval: Option<ConfigDuration>,
    scrape_timeout: Option<ConfigDuration>,
    scrape_protocols: Option<Vec<ScrapeProtocol>>,
    evaluation_interval: Option<ConfigDuration>,
    rule_query_offset: Option<ConfigDuration>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    query_log_file: String,
    #[serde(default)]
    scrape_failure_log_file: String,
    body_size_limit: Option<ByteSize>,
    sample_limit: Option<u64>,
    label_limit: Option<u64>,
    label_name_length_limit: Option<u64>,
    label_value_length_limit: Option<u64>,
    target_limit: Option<u64>,
    keep_dropped_targets: Option<u64>,
    // Accepted for compatibility; lookout has no switch for them yet.
    #[allow(dead_code)]
    metric_name_validation_scheme: Option<String>,
    #[allow(dead_code)]
    metric_name_escaping_scheme: Option<String>,
    #[allow(dead_code)]
    always_scrape_classic_histograms: Option<bool>,
    #[allow(dead_code)]
    convert_classic_histograms_to_nhcb: Option<bool>,
    #[allow(dead_code)]
    scrape_native_histograms: Option<bool>,
}

impl RawGlobal {
    fn resolve(self) -> Result<GlobalConfig, String> {
        let d = GlobalConfig::default();
        let scrape_interval = self.scrape_interval.unwrap_or(d.scrape_interval);
        let scrape_interval = if scrape_interval.is_zero() {
            d.scrape_interval
        } else {
            scrape_interval
        };
        let scrape_timeout = match self.scrape_timeout {
            Some(t) if !t.is_zero() => t,
            _ => std::cmp::min(d.scrape_timeout, scrape_interval),
        };
        if scrape_timeout > scrape_interval {
            return Err("global scrape timeout greater than scrape interval".into());
        }
        for (k, v) in &self.external_labels {
            if !is_valid_label_name(k) {
                return Err(format!("{k:?} is not a valid label name"));
            }
            if v.is_empty() {
                return Err(format!("{k:?} has an empty value"));
            }
        }
        let scrape_protocols = self.scrape_protocols.unwrap_or(d.scrape_protocols);
        check_protocols(&scrape_protocols)?;
        let evaluation_interval = match self.evaluation_interval {
            Some(e) if !e.is_zero() => e,
            _ => d.evaluation_interval,
        };
        Ok(GlobalConfig {
            scrape_interval,
            scrape_timeout,
            scrape_protocols,
            evaluation_interval,
            rule_query_offset: self.rule_query_offset.unwrap_or_default(),
            external_labels: self.external_labels,
            query_log_file: self.query_log_file,
            scrape_failure_log_file: self.scrape_failure_log_file,
            limits: Limits {
                body_size_limit: self.body_size_limit.unwrap_or_default(),
                sample_limit: self.sample_limit.unwrap_or(0),
                label_limit: self.label_limit.unwrap_or(0),
                label_name_length_limit: self.label_name_length_limit.unwrap_or(0),
                label_value_length_limit: self.label_value_length_limit.unwrap_or(0),
                target_limit: self.target_limit.unwrap_or(0),
                keep_dropped_targets: self.keep_dropped_targets.unwrap_or(0),
            },
        })
    }
}

impl GlobalConfig {
    /// External labels as a label set.
    pub fn external_labels(&self) -> Labels {
        Labels::from_pairs(
            self.external_labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
    }
}

/// One resolved `scrape_configs` entry: defaults and global values filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScrapeConfig {
    /// The job name (also the scrape pool name).
    pub job_name: String,
    /// Scraped labels win over target labels.
    pub honor_labels: bool,
    /// Use timestamps from the exposition.
    pub honor_timestamps: bool,
    /// Track staleness for series with explicit timestamps.
    pub track_timestamps_staleness: bool,
    /// URL query parameters.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Vec<String>>,
    /// Scrape interval.
    pub scrape_interval: ConfigDuration,
    /// Scrape timeout.
    pub scrape_timeout: ConfigDuration,
    /// Protocol preference for content negotiation.
    pub scrape_protocols: Vec<ScrapeProtocol>,
    /// Parser to use when the response's Content-Type is missing or unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_scrape_protocol: Option<ScrapeProtocol>,
    /// Ask for gzip.
    pub enable_compression: bool,
    /// HTTP path.
    pub metrics_path: String,
    /// `http` or `https`.
    pub scheme: String,
    /// Limits (job values, falling back to global ones).
    #[serde(flatten)]
    pub limits: Limits,
    /// HTTP client settings.
    #[serde(flatten)]
    pub http: HttpClientConfig,
    /// Static target groups.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_configs: Vec<StaticConfig>,
    /// File SD entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Other SD mechanisms present in the file (name → raw value); lookout
    /// does not run them yet and says so at load time.
    #[serde(skip)]
    pub unsupported_sd_configs: BTreeMap<String, serde_yaml_ng::Value>,
    /// Target relabeling.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relabel_configs: Vec<RelabelConfig>,
    /// Sample relabeling.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// Directory relative paths resolve against.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

macro_rules! raw_scrape_config {
    ($($sd:ident),* $(,)?) => {
        // Some fields are accepted for compatibility but not acted on yet.
        #[allow(dead_code)]
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RawScrapeConfig {
            job_name: String,
            #[serde(default)]
            honor_labels: bool,
            honor_timestamps: Option<bool>,
            #[serde(default)]
            track_timestamps_staleness: bool,
            #[serde(default)]
            params: BTreeMap<String, Vec<String>>,
            scrape_interval: Option<ConfigDuration>,
            scrape_timeout: Option<ConfigDuration>,
            scrape_protocols: Option<Vec<ScrapeProtocol>>,
            fallback_scrape_protocol: Option<ScrapeProtocol>,
            enable_compression: Option<bool>,
            metrics_path: Option<String>,
            scheme: Option<String>,
            body_size_limit: Option<ByteSize>,
            sample_limit: Option<u64>,
            label_limit: Option<u64>,
            label_name_length_limit: Option<u64>,
            label_value_length_limit: Option<u64>,
            target_limit: Option<u64>,
            keep_dropped_targets: Option<u64>,
            native_histogram_bucket_limit: Option<u64>,
            native_histogram_min_bucket_factor: Option<f64>,
            scrape_classic_histograms: Option<bool>,
            always_scrape_classic_histograms: Option<bool>,
            convert_classic_histograms_to_nhcb: Option<bool>,
            scrape_native_histograms: Option<bool>,
            metric_name_validation_scheme: Option<String>,
            metric_name_escaping_scheme: Option<String>,
            // HTTP client config, inline like Prometheus.
            basic_auth: Option<BasicAuth>,
            authorization: Option<Authorization>,
            oauth2: Option<serde_yaml_ng::Value>,
            #[serde(default)]
            bearer_token: Secret,
            #[serde(default)]
            bearer_token_file: String,
            #[serde(default)]
            tls_config: TlsConfig,
            #[serde(default)]
            proxy_url: String,
            #[serde(default)]
            no_proxy: String,
            #[serde(default)]
            proxy_from_environment: bool,
            proxy_connect_header: Option<serde_yaml_ng::Value>,
            follow_redirects: Option<bool>,
            enable_http2: Option<bool>,
            http_headers: Option<serde_yaml_ng::Value>,
            #[serde(default)]
            static_configs: Vec<StaticConfig>,
            #[serde(default)]
            file_sd_configs: Vec<FileSdConfig>,
            #[serde(default)]
            relabel_configs: Vec<Option<RelabelConfig>>,
            #[serde(default)]
            metric_relabel_configs: Vec<Option<RelabelConfig>>,
            $($sd: Option<serde_yaml_ng::Value>,)*
        }

        impl RawScrapeConfig {
            fn unsupported_sd(&mut self) -> BTreeMap<String, serde_yaml_ng::Value> {
                let mut m = BTreeMap::new();
                $(if let Some(v) = self.$sd.take() { m.insert(stringify!($sd).to_string(), v); })*
                m
            }
        }
    };
}

raw_scrape_config!(
    azure_sd_configs,
    consul_sd_configs,
    digitalocean_sd_configs,
    docker_sd_configs,
    dockerswarm_sd_configs,
    dns_sd_configs,
    ec2_sd_configs,
    eureka_sd_configs,
    gce_sd_configs,
    hetzner_sd_configs,
    http_sd_configs,
    ionos_sd_configs,
    kubernetes_sd_configs,
    kuma_sd_configs,
    lightsail_sd_configs,
    linode_sd_configs,
    marathon_sd_configs,
    nerve_sd_configs,
    nomad_sd_configs,
    openstack_sd_configs,
    ovhcloud_sd_configs,
    puppetdb_sd_configs,
    scaleway_sd_configs,
    serverset_sd_configs,
    stackit_sd_configs,
    triton_sd_configs,
    uyuni_sd_configs,
    vultr_sd_configs,
);

impl RawScrapeConfig {
    fn resolve(mut self, g: &GlobalConfig, base_dir: &Path) -> Result<ScrapeConfig, String> {
        if self.job_name.is_empty() {
            return Err("job_name is empty".into());
        }
        let job = self.job_name.clone();
        let mut http = HttpClientConfig {
            basic_auth: self.basic_auth.take(),
            authorization: self.authorization.take(),
            oauth2: self.oauth2.take(),
            bearer_token: std::mem::take(&mut self.bearer_token),
            bearer_token_file: std::mem::take(&mut self.bearer_token_file),
            tls_config: std::mem::take(&mut self.tls_config),
            proxy_url: std::mem::take(&mut self.proxy_url),
            no_proxy: std::mem::take(&mut self.no_proxy),
            proxy_from_environment: self.proxy_from_environment,
            follow_redirects: self.follow_redirects.unwrap_or(true),
            enable_http2: self.enable_http2.unwrap_or(true),
        };
        http.validate()?;
        http.set_directory(base_dir);
        if self.http_headers.is_some() || self.proxy_connect_header.is_some() {
            tracing::warn!(job = %job, "http_headers / proxy_connect_header are not supported yet and are ignored");
        }

        let scrape_interval = match self.scrape_interval {
            Some(i) if !i.is_zero() => i,
            _ => g.scrape_interval,
        };
        let scrape_timeout = match self.scrape_timeout {
            Some(t) if !t.is_zero() => {
                if t > scrape_interval {
                    return Err(format!(
                        "scrape timeout greater than scrape interval for scrape config with job name {job:?}"
                    ));
                }
                t
            }
            _ => std::cmp::min(g.scrape_timeout, scrape_interval),
        };
        let scrape_protocols = self
            .scrape_protocols
            .take()
            .unwrap_or_else(|| g.scrape_protocols.clone());
        check_protocols(&scrape_protocols)?;
        let scheme = self.scheme.take().unwrap_or_else(|| "http".into());
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "invalid scheme {scheme:?} in scrape config with job name {job:?}: must be http or https"
            ));
        }
        let mut relabel_configs = Vec::new();
        for r in std::mem::take(&mut self.relabel_configs) {
            relabel_configs.push(r.ok_or_else(|| {
                "empty or null target relabeling rule in scrape config".to_string()
            })?);
        }
        let mut metric_relabel_configs = Vec::new();
        for r in std::mem::take(&mut self.metric_relabel_configs) {
            metric_relabel_configs.push(r.ok_or_else(|| {
                "empty or null metric relabeling rule in scrape config".to_string()
            })?);
        }
        for sc in &self.static_configs {
            sc.validate().map_err(|e| e.0)?;
            // Like Prometheus: URLs as targets are an error unless relabeling may fix them.
            if relabel_configs.is_empty() {
                for t in &sc.targets {
                    check_target_address(t).map_err(|e| e.0)?;
                }
            }
        }
        for f in &self.file_sd_configs {
            f.validate().map_err(|e| e.0)?;
        }
        let unsupported_sd_configs = self.unsupported_sd();
        let limits = Limits {
            body_size_limit: self.body_size_limit.unwrap_or_default(),
            sample_limit: self.sample_limit.unwrap_or(0),
            label_limit: self.label_limit.unwrap_or(0),
            label_name_length_limit: self.label_name_length_limit.unwrap_or(0),
            label_value_length_limit: self.label_value_length_limit.unwrap_or(0),
            target_limit: self.target_limit.unwrap_or(0),
            keep_dropped_targets: self.keep_dropped_targets.unwrap_or(0),
        }
        .inherit(&g.limits);
        Ok(ScrapeConfig {
            job_name: self.job_name,
            honor_labels: self.honor_labels,
            honor_timestamps: self.honor_timestamps.unwrap_or(true),
            track_timestamps_staleness: self.track_timestamps_staleness,
            params: self.params,
            scrape_interval,
            scrape_timeout,
            scrape_protocols,
            fallback_scrape_protocol: self.fallback_scrape_protocol,
            enable_compression: self.enable_compression.unwrap_or(true),
            metrics_path: self.metrics_path.unwrap_or_else(|| "/metrics".into()),
            scheme,
            limits,
            http,
            static_configs: self.static_configs,
            file_sd_configs: self.file_sd_configs,
            unsupported_sd_configs,
            relabel_configs,
            metric_relabel_configs,
            base_dir: base_dir.to_path_buf(),
        })
    }
}

impl ScrapeConfig {
    /// A config with Prometheus' defaults for `job_name`, for programmatic
    /// jobs (e.g. the built-in `node` job) and tests.
    pub fn with_defaults(job_name: &str, g: &GlobalConfig) -> ScrapeConfig {
        let raw = RawScrapeConfig::empty(job_name);
        // A bare job name with defaults always validates.
        raw.resolve(g, Path::new("."))
            .unwrap_or_else(|e| unreachable!("default scrape config is valid: {e}"))
    }

    /// The discovery part of this job.
    pub fn discovery(&self) -> lookout_discovery::JobDiscovery {
        lookout_discovery::JobDiscovery {
            static_configs: self.static_configs.clone(),
            file_sd_configs: self.file_sd_configs.clone(),
            base_dir: self.base_dir.clone(),
        }
    }
}

impl RawScrapeConfig {
    fn empty(job_name: &str) -> Self {
        // Deserialising a one-key mapping gives every field its default.
        let v = serde_yaml_ng::Value::Mapping(
            [(
                serde_yaml_ng::Value::String("job_name".into()),
                serde_yaml_ng::Value::String(job_name.into()),
            )]
            .into_iter()
            .collect(),
        );
        serde_yaml_ng::from_value(v).unwrap_or_else(|e| unreachable!("empty raw config: {e}"))
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPrometheusConfig {
    #[serde(default)]
    global: Option<RawGlobal>,
    #[serde(default)]
    scrape_configs: Vec<Option<RawScrapeConfig>>,
    #[serde(default)]
    scrape_config_files: Vec<String>,
    // Sections other lookout components own; kept raw.
    rule_files: Option<serde_yaml_ng::Value>,
    alerting: Option<serde_yaml_ng::Value>,
    remote_write: Option<serde_yaml_ng::Value>,
    remote_read: Option<serde_yaml_ng::Value>,
    storage: Option<serde_yaml_ng::Value>,
    tracing: Option<serde_yaml_ng::Value>,
    otlp: Option<serde_yaml_ng::Value>,
    runtime: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScrapeConfigFile {
    #[serde(default)]
    scrape_configs: Vec<Option<RawScrapeConfig>>,
}

/// The scraping view of a `prometheus.yml`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PrometheusConfig {
    /// `global`, defaults applied.
    pub global: GlobalConfig,
    /// Every job, from the file and from `scrape_config_files`.
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Sections owned by other components, untouched (name → raw YAML).
    pub other_sections: BTreeMap<String, serde_yaml_ng::Value>,
}

impl PrometheusConfig {
    /// Reads and validates a config file.
    pub fn load_file(path: &Path) -> Result<PrometheusConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: None,
            column: None,
            message: e.to_string(),
        })?;
        Self::load_str(&text, path)
    }

    /// Parses config text; `path` names the file in errors and anchors
    /// relative paths.
    pub fn load_str(text: &str, path: &Path) -> Result<PrometheusConfig, ConfigError> {
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut raw: RawPrometheusConfig = if text.trim().is_empty() {
            RawPrometheusConfig::default()
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| ConfigError::from_yaml(path, text, e))?
        };
        let at_line = |line: Option<usize>, message: String| ConfigError {
            file: path.to_path_buf(),
            line,
            column: None,
            message,
        };
        let global = raw
            .global
            .take()
            .unwrap_or_default()
            .resolve()
            .map_err(|m| at_line(find_line(text, "global:"), m))?;
        let mut other_sections = BTreeMap::new();
        for (k, v) in [
            ("rule_files", raw.rule_files.take()),
            ("alerting", raw.alerting.take()),
            ("remote_write", raw.remote_write.take()),
            ("remote_read", raw.remote_read.take()),
            ("storage", raw.storage.take()),
            ("tracing", raw.tracing.take()),
            ("otlp", raw.otlp.take()),
            ("runtime", raw.runtime.take()),
        ] {
            if let Some(v) = v {
                other_sections.insert(k.to_string(), v);
            }
        }
        let mut scrape_configs = Vec::new();
        let mut names = BTreeSet::new();
        let mut add =
            |rc: Option<RawScrapeConfig>, file: &Path, text: &str| -> Result<(), ConfigError> {
                let Some(rc) = rc else {
                    return Err(ConfigError {
                        file: file.to_path_buf(),
                        line: None,
                        column: None,
                        message: "empty or null scrape config section".into(),
                    });
                };
                let job = rc.job_name.clone();
                let line = find_job_line(text, &job);
                let sc = rc
                    .resolve(&global, &base_dir)
                    .map_err(|message| ConfigError {
                        file: file.to_path_buf(),
                        line,
                        column: None,
                        message,
                    })?;
                if !names.insert(job.clone()) {
                    return Err(ConfigError {
                        file: file.to_path_buf(),
                        line,
                        column: None,
                        message: format!("found multiple scrape configs with job name {job:?}"),
                    });
                }
                scrape_configs.push(sc);
                Ok(())
            };
        for rc in raw.scrape_configs {
            add(rc, path, text)?;
        }
        for pattern in &raw.scrape_config_files {
            let full = if Path::new(pattern).is_absolute() {
                PathBuf::from(pattern)
            } else {
                base_dir.join(pattern)
            };
            let paths = glob::glob(&full.display().to_string()).map_err(|e| ConfigError {
                file: path.to_path_buf(),
                line: find_line(text, pattern),
                column: None,
                message: format!("error retrieving rule files for {pattern}: {e}"),
            })?;
            for p in paths.filter_map(Result::ok) {
                let t = std::fs::read_to_string(&p).map_err(|e| ConfigError {
                    file: p.clone(),
                    line: None,
                    column: None,
                    message: e.to_string(),
                })?;
                let f: RawScrapeConfigFile =
                    serde_yaml_ng::from_str(&t).map_err(|e| ConfigError::from_yaml(&p, &t, e))?;
                for rc in f.scrape_configs {
                    add(rc, &p, &t)?;
                }
            }
        }
        Ok(PrometheusConfig {
            global,
            scrape_configs,
            other_sections,
        })
    }
}

/// The first `"..."` quoted text in a message, if any.
fn quoted_value(message: &str) -> Option<&str> {
    let start = message.find('"')? + 1;
    let len = message[start..].find('"')?;
    let q = &message[start..start + len];
    (!q.is_empty()).then_some(q)
}

fn find_line(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

fn find_job_line(text: &str, job: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.strip_prefix("job_name:")
                .is_some_and(|rest| rest.trim().trim_matches(|c| c == '"' || c == '\'') == job)
        })
        .map(|i| i + 1)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
