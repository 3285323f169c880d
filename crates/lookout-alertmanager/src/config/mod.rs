//! `alertmanager.yml`: strict loading, defaults, validation and the
//! normalised, secret-masked form the API reports as `config.original`.
//!
//! Loading follows Alertmanager: unknown keys are errors, `X` and `X_file`
//! are exclusive, integrations inherit the global `http_config`, relative
//! `http_config` and template paths resolve against the config file's
//! directory. Messages use Alertmanager's wording so `lookout check` and
//! `amtool check-config` agree.

pub mod http;
pub mod receivers;
pub mod types;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::labels::is_classic_label_name;
use crate::matchers::{parse_matcher, MatchType, Matcher, ParseMode};
use crate::timeinterval::{TimeInterval, TimeIntervalConfig};
pub use http::HttpClientConfig;
pub use lookout_model::Secret;
pub use receivers::{NtfyConfig, PushoverConfig, Receiver, WebhookConfig};
pub use types::{GoDuration, ModelDuration};

/// A config that cannot be used, with where it came from when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file, when loaded from one.
    pub file: Option<PathBuf>,
    /// 1-based line and column, for YAML syntax and schema errors.
    pub location: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn msg(m: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            location: None,
            message: m.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}:", file.display())?;
            if let Some((l, c)) = self.location {
                write!(f, "{l}:{c}:")?;
            }
            f.write_str(" ")?;
        } else if let Some((l, c)) = self.location {
            write!(f, "line {l} column {c}: ")?;
        }
        f.write_str(&self.message)
    }
}

fn d_resolve_timeout() -> ModelDuration {
    ModelDuration::secs(300)
}

macro_rules! default_str {
    ($name:ident, $v:expr) => {
        fn $name() -> String {
            $v.to_string()
        }
    };
}
default_str!(d_smtp_hello, "localhost");
default_str!(d_pagerduty, "https://events.pagerduty.com/v2/enqueue");
default_str!(d_opsgenie, "https://api.opsgenie.com/");
default_str!(d_wechat, "https://qyapi.weixin.qq.com/cgi-bin/");
default_str!(
    d_victorops,
    "https://alert.victorops.com/integrations/generic/20131114/alert/"
);
default_str!(d_telegram, "https://api.telegram.org");
default_str!(d_webex, "https://webexapis.com/v1/messages");

fn yes() -> bool {
    true
}
fn empty(s: &str) -> bool {
    s.is_empty()
}

/// `global`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct GlobalConfig {
    /// Applied to alerts posted without `endsAt`.
    #[serde(default = "d_resolve_timeout")]
    pub resolve_timeout: ModelDuration,
    /// Default HTTP client settings for integrations.
    #[serde(default)]
    pub http_config: HttpClientConfig,
    #[serde(default, skip_serializing_if = "empty")]
    pub smtp_from: String,
    #[serde(default = "d_smtp_hello")]
    pub smtp_hello: String,
    #[serde(default, skip_serializing_if = "empty")]
    pub smtp_smarthost: String,
    #[serde(default, skip_serializing_if = "empty")]
    pub smtp_auth_username: String,
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub smtp_auth_password: Secret,
    #[serde(default, skip_serializing_if = "empty")]
    pub smtp_auth_password_file: String,
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub smtp_auth_secret: Secret,
    #[serde(default, skip_serializing_if = "empty")]
    pub smtp_auth_secret_file: String,
    #[serde(default, skip_serializing_if = "empty")]
    pub smtp_auth_identity: String,
    #[serde(default = "yes")]
    pub smtp_require_tls: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_tls_config: Option<http::TlsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_force_implicit_tls: Option<bool>,
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub slack_api_url: Secret,
    #[serde(default, skip_serializing_if = "empty")]
    pub slack_api_url_file: String,
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub slack_app_token: Secret,
    #[serde(default, skip_serializing_if = "empty")]
    pub slack_app_token_file: String,
    #[serde(default, skip_serializing_if = "empty")]
    pub slack_app_url: String,
    #[serde(default = "d_pagerduty")]
    pub pagerduty_url: String,
    #[serde(default = "d_opsgenie")]
    pub opsgenie_api_url: String,
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub opsgenie_api_key: Secret,
    #[serde(default, skip_serializing_if = "empty")]
    pub opsgenie_api_key_file: String,
    #[serde(default = "d_wechat")]
    pub wechat_api_url: String,
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub wechat_api_secret: Secret,
    #[serde(default, skip_serializing_if = "empty")]
    pub wechat_api_secret_file: String,
    #[serde(default, skip_serializing_if = "empty")]
    pub wechat_api_corp_id: String,
    #[serde(default = "d_victorops")]
    pub victorops_api_url: String,
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub victorops_api_key: Secret,
    #[serde(default, skip_serializing_if = "empty")]
    pub victorops_api_key_file: String,
    #[serde(default = "d_telegram")]
    pub telegram_api_url: String,
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub telegram_bot_token: Secret,
    #[serde(default, skip_serializing_if = "empty")]
    pub telegram_bot_token_file: String,
    #[serde(default = "d_webex")]
    pub webex_api_url: String,
    #[serde(default, skip_serializing_if = "empty")]
    pub rocketchat_api_url: String,
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub rocketchat_token: Secret,
    #[serde(default, skip_serializing_if = "empty")]
    pub rocketchat_token_file: String,
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub rocketchat_token_id: Secret,
    #[serde(default, skip_serializing_if = "empty")]
    pub rocketchat_token_id_file: String,
    #[serde(default, skip_serializing_if = "empty")]
    pub jira_api_url: String,
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub mattermost_webhook_url: Secret,
    #[serde(default, skip_serializing_if = "empty")]
    pub mattermost_webhook_url_file: String,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        // An empty mapping picks up every serde default.
        serde_yaml_ng::from_str("{}").unwrap_or_else(|_| unreachable_global())
    }
}

#[allow(clippy::panic)]
fn unreachable_global() -> GlobalConfig {
    panic!("the empty global config always deserialises")
}

impl GlobalConfig {
    fn validate(&self) -> Result<(), String> {
        let pairs: [(&str, bool, bool); 10] = [
            (
                "smtp_auth_password",
                !self.smtp_auth_password.is_empty(),
                !self.smtp_auth_password_file.is_empty(),
            ),
            (
                "smtp_auth_secret",
                !self.smtp_auth_secret.is_empty(),
                !self.smtp_auth_secret_file.is_empty(),
            ),
            (
                "slack_api_url",
                !self.slack_api_url.is_empty(),
                !self.slack_api_url_file.is_empty(),
            ),
            (
                "slack_app_token",
                !self.slack_app_token.is_empty(),
                !self.slack_app_token_file.is_empty(),
            ),
            (
                "opsgenie_api_key",
                !self.opsgenie_api_key.is_empty(),
                !self.opsgenie_api_key_file.is_empty(),
            ),
            (
                "wechat_api_secret",
                !self.wechat_api_secret.is_empty(),
                !self.wechat_api_secret_file.is_empty(),
            ),
            (
                "victorops_api_key",
                !self.victorops_api_key.is_empty(),
                !self.victorops_api_key_file.is_empty(),
            ),
            (
                "telegram_bot_token",
                !self.telegram_bot_token.is_empty(),
                !self.telegram_bot_token_file.is_empty(),
            ),
            (
                "rocketchat_token",
                !self.rocketchat_token.is_empty(),
                !self.rocketchat_token_file.is_empty(),
            ),
            (
                "mattermost_webhook_url",
                !self.mattermost_webhook_url.is_empty(),
                !self.mattermost_webhook_url_file.is_empty(),
            ),
        ];
        for (name, a, b) in pairs {
            if a && b {
                return Err(format!(
                    "at most one of {name} & {name}_file must be configured"
                ));
            }
        }
        self.http_config.validate()
    }
}

/// One routing-tree node as written.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Receiver; `null`/absent inherits the parent's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// Grouping labels, or `['...']` for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
    /// Deprecated equality matchers.
    #[serde(default, rename = "match", skip_serializing_if = "BTreeMap::is_empty")]
    pub match_eq: BTreeMap<String, String>,
    /// Deprecated regex matchers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_re: BTreeMap<String, String>,
    /// Matcher strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<String>,
    /// Keep matching siblings after this node matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Children.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
    /// Wait before the first notification of a new group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<ModelDuration>,
    /// Wait between notifications about changes of a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<ModelDuration>,
    /// Wait before repeating an unchanged notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<ModelDuration>,
    /// Names of intervals during which this node is muted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mute_time_intervals: Vec<String>,
    /// Names of intervals outside which this node is muted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active_time_intervals: Vec<String>,
}

/// Route matchers in Alertmanager's order (`match`, `match_re`, `matchers`,
/// then sorted by name, value, type).
pub fn route_matchers(r: &RouteConfig, mode: ParseMode) -> Result<Vec<Matcher>, String> {
    let mut out = Vec::new();
    for (k, v) in &r.match_eq {
        check_name(k, mode)?;
        out.push(Matcher::new(MatchType::Equal, k.clone(), v.clone()).map_err(|e| e.0)?);
    }
    for (k, v) in &r.match_re {
        check_name(k, mode)?;
        out.push(Matcher::new(MatchType::Regexp, k.clone(), v.clone()).map_err(|e| e.0)?);
    }
    for m in &r.matchers {
        out.push(parse_matcher(m, mode).map_err(|e| e.0)?);
    }
    out.sort();
    Ok(out)
}

fn check_name(name: &str, _mode: ParseMode) -> Result<(), String> {
    // `match`/`match_re` keys are checked against the classic label-name
    // pattern in every mode (Alertmanager never relaxed these deprecated
    // fields).
    if is_classic_label_name(name) {
        Ok(())
    } else {
        Err(format!("invalid label name {name:?}"))
    }
}

/// One inhibition rule as written.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct InhibitRuleConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_match: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_match_re: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_matchers: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_match: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_match_re: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_matchers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equal: Vec<String>,
}

/// A compiled inhibition rule.
#[derive(Clone, Debug)]
pub struct InhibitRule {
    /// Optional name.
    pub name: Option<String>,
    /// All must match the source alert.
    pub source: Vec<Matcher>,
    /// All must match the target alert.
    pub target: Vec<Matcher>,
    /// Labels that must be equal on source and target.
    pub equal: Vec<String>,
}

impl InhibitRuleConfig {
    fn compile(&self, mode: ParseMode) -> Result<InhibitRule, String> {
        let side = |eq: &BTreeMap<String, String>,
                    re: &BTreeMap<String, String>,
                    ms: &[String]|
         -> Result<Vec<Matcher>, String> {
            let mut out = Vec::new();
            for (k, v) in eq {
                check_name(k, mode)?;
                out.push(Matcher::new(MatchType::Equal, k.clone(), v.clone()).map_err(|e| e.0)?);
            }
            for (k, v) in re {
                check_name(k, mode)?;
                out.push(Matcher::new(MatchType::Regexp, k.clone(), v.clone()).map_err(|e| e.0)?);
            }
            for m in ms {
                out.push(parse_matcher(m, mode).map_err(|e| e.0)?);
            }
            Ok(out)
        };
        for e in &self.equal {
            if !mode.valid_label_name(e) {
                return Err(format!("{e:?} is not a valid label name"));
            }
        }
        Ok(InhibitRule {
            name: self.name.clone(),
            source: side(
                &self.source_match,
                &self.source_match_re,
                &self.source_matchers,
            )?,
            target: side(
                &self.target_match,
                &self.target_match_re,
                &self.target_matchers,
            )?,
            equal: self.equal.clone(),
        })
    }
}

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Global defaults.
    #[serde(default)]
    pub global: Option<GlobalConfig>,
    /// Root of the routing tree.
    #[serde(default)]
    pub route: Option<RouteConfig>,
    /// Inhibition rules (`- ` alone is an empty rule).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "ser_inhibit"
    )]
    pub inhibit_rules: Vec<Option<InhibitRuleConfig>>,
    /// Receivers.
    #[serde(default)]
    pub receivers: Vec<Receiver>,
    /// Template file globs.
    #[serde(default)]
    pub templates: Vec<String>,
    /// Deprecated name for `time_intervals`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mute_time_intervals: Vec<TimeIntervalConfig>,
    /// Named time intervals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub time_intervals: Vec<TimeIntervalConfig>,
}

fn ser_inhibit<S: serde::Serializer>(
    v: &[Option<InhibitRuleConfig>],
    s: S,
) -> Result<S::Ok, S::Error> {
    let all: Vec<InhibitRuleConfig> = v.iter().map(|r| r.clone().unwrap_or_default()).collect();
    all.serialize(s)
}

/// A loaded, validated config and everything compiled from it.
#[derive(Clone, Debug)]
pub struct LoadedConfig {
    /// The normalised config (defaults filled in).
    pub config: Config,
    /// The normalised config as YAML with secrets masked (`config.original`).
    pub original: String,
    /// Global settings.
    pub global: GlobalConfig,
    /// Compiled inhibition rules.
    pub inhibit_rules: Vec<InhibitRule>,
    /// Compiled time intervals by name.
    pub time_intervals: BTreeMap<String, TimeInterval>,
    /// Template globs resolved against the config directory.
    pub template_globs: Vec<String>,
    /// Warnings (non-fatal) found while loading.
    pub warnings: Vec<String>,
    /// Matcher parse mode used.
    pub mode: ParseMode,
}

impl LoadedConfig {
    /// The root route config.
    pub fn route(&self) -> &RouteConfig {
        static EMPTY: std::sync::OnceLock<RouteConfig> = std::sync::OnceLock::new();
        self.config
            .route
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(RouteConfig::default))
    }

    /// The receiver named `name`.
    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.config
            .receivers
            .iter()
            .find(|r| r.name.as_deref() == Some(name))
    }
}

/// Loads and validates a file.
pub fn load_file(path: &Path, mode: ParseMode) -> Result<LoadedConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: Some(path.to_path_buf()),
        location: None,
        message: e.to_string(),
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    load_str_in(&text, &base, mode).map_err(|mut e| {
        e.file = Some(path.to_path_buf());
        e
    })
}

/// Loads and validates YAML text; relative paths resolve against the
/// current directory.
pub fn load_str(text: &str, mode: ParseMode) -> Result<LoadedConfig, ConfigError> {
    load_str_in(text, Path::new(""), mode)
}

fn yaml_error(e: serde_yaml_ng::Error, text: &str) -> ConfigError {
    let mut location = e.location().map(|l| (l.line(), l.column()));
    let mut message = e.to_string();
    // serde_yaml appends " at line X column Y"; the location is kept apart.
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    // Errors from a value's own parser (durations, ...) point at the
    // enclosing mapping; when the message quotes the bad value, point at
    // its first occurrence after that instead.
    if let (Some((line, _)), Some(value)) = (location, quoted_value(&message)) {
        let found = text
            .lines()
            .enumerate()
            .skip(line.saturating_sub(1))
            .find_map(|(i, l)| l.find(value.as_str()).map(|c| (i + 1, c + 1)));
        if found.is_some() {
            location = found;
        }
    }
    ConfigError {
        file: None,
        location,
        message,
    }
}

/// The last `"..."` in an error message, unescaped naively.
fn quoted_value(msg: &str) -> Option<String> {
    let end = msg.rfind('"')?;
    let start = msg[..end].rfind('"')?;
    let v = &msg[start + 1..end];
    (!v.is_empty()).then(|| v.replace("\\\"", "\""))
}

/// Loads YAML text with `base` as the directory for relative paths.
pub fn load_str_in(text: &str, base: &Path, mode: ParseMode) -> Result<LoadedConfig, ConfigError> {
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(ConfigError::msg("no route provided in config"));
    }
    let mut cfg: Config = serde_yaml_ng::from_str(text).map_err(|e| yaml_error(e, text))?;
    let warnings = validate(&mut cfg, base, mode).map_err(ConfigError::msg)?;
    let original = serde_yaml_ng::to_string(&cfg)
        .map_err(|e| ConfigError::msg(format!("serialising config: {e}")))?;
    let global = cfg.global.clone().unwrap_or_default();
    let inhibit_rules = cfg
        .inhibit_rules
        .iter()
        .map(|r| r.clone().unwrap_or_default().compile(mode))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ConfigError::msg)?;
    let mut time_intervals = BTreeMap::new();
    for ti in cfg
        .mute_time_intervals
        .iter()
        .chain(cfg.time_intervals.iter())
    {
        time_intervals.insert(
            ti.name.clone(),
            TimeInterval::compile(ti).map_err(ConfigError::msg)?,
        );
    }
    let template_globs = cfg
        .templates
        .iter()
        .map(|t| {
            if Path::new(t).is_relative() {
                base.join(t).to_string_lossy().into_owned()
            } else {
                t.clone()
            }
        })
        .collect();
    Ok(LoadedConfig {
        config: cfg,
        original,
        global,
        inhibit_rules,
        time_intervals,
        template_globs,
        warnings,
        mode,
    })
}

fn validate(cfg: &mut Config, base: &Path, mode: ParseMode) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    // Item-level checks first (Alertmanager runs them while decoding).
    for r in &cfg.receivers {
        if r.name.as_deref().unwrap_or("").is_empty() {
            return Err("missing name in receiver".into());
        }
        for p in &r.pushover_configs {
            p.validate()?;
            if let Some(h) = &p.http_config {
                h.validate()?;
            }
        }
        for w in &r.webhook_configs {
            w.validate()?;
            if let Some(h) = &w.http_config {
                h.validate()?;
            }
        }
        for n in &r.ntfy_configs {
            n.validate()?;
            if let Some(h) = &n.http_config {
                h.validate()?;
            }
        }
    }
    if let Some(route) = &mut cfg.route {
        check_route_tree(route, mode)?;
    }
    for r in cfg.inhibit_rules.iter().flatten() {
        r.compile(mode)?;
    }
    for ti in cfg
        .mute_time_intervals
        .iter()
        .chain(cfg.time_intervals.iter())
    {
        TimeInterval::compile(ti)?;
    }

    // Config-level checks.
    let global = cfg.global.get_or_insert_with(GlobalConfig::default);
    global.validate()?;
    global.http_config.resolve_paths(base);
    let global_http = global.http_config.clone();

    for ti in cfg
        .mute_time_intervals
        .iter_mut()
        .chain(cfg.time_intervals.iter_mut())
    {
        crate::timeinterval::normalize_months(ti);
    }
    let mut ti_names = HashSet::new();
    for ti in cfg
        .mute_time_intervals
        .iter()
        .chain(cfg.time_intervals.iter())
    {
        if !ti_names.insert(ti.name.clone()) {
            return Err(format!("time interval {:?} is not unique", ti.name));
        }
    }

    let mut names = HashSet::new();
    for r in &mut cfg.receivers {
        let name = r.name.clone().unwrap_or_default();
        if !names.insert(name.clone()) {
            return Err(format!("notification config name {name:?} is not unique"));
        }
        for p in &mut r.pushover_configs {
            let h = p.http_config.get_or_insert_with(|| global_http.clone());
            h.resolve_paths(base);
            p.apply_defaults();
        }
        for w in &mut r.webhook_configs {
            let h = w.http_config.get_or_insert_with(|| global_http.clone());
            h.resolve_paths(base);
            w.apply_defaults();
        }
        for n in &mut r.ntfy_configs {
            let h = n.http_config.get_or_insert_with(|| global_http.clone());
            h.resolve_paths(base);
            n.apply_defaults();
        }
        for (kind, _) in r.unsupported_integrations() {
            warnings.push(format!(
                "receiver {name:?}: {kind} integrations are not supported by lookout; notifications to them will fail"
            ));
        }
    }

    let Some(route) = &cfg.route else {
        return Err("no routes provided".into());
    };
    if route.receiver.as_deref().unwrap_or("").is_empty() {
        return Err("root route must specify a default receiver".into());
    }
    if !route.match_eq.is_empty() || !route.match_re.is_empty() || !route.matchers.is_empty() {
        return Err("root route must not have any matchers".into());
    }
    if route.continue_matching {
        return Err("cannot have continue in root route".into());
    }
    if !route.mute_time_intervals.is_empty() {
        return Err("root route must not have any mute time intervals".into());
    }
    if !route.active_time_intervals.is_empty() {
        return Err("root route must not have any active time intervals".into());
    }
    check_receivers(route, &names)?;
    check_time_intervals(route, &ti_names)?;
    Ok(warnings)
}

fn check_route_tree(r: &mut RouteConfig, mode: ParseMode) -> Result<(), String> {
    if let Some(gb) = &r.group_by {
        let mut seen = HashSet::new();
        let mut all = false;
        for l in gb {
            if l == "..." {
                all = true;
            } else {
                if !mode.valid_label_name(l) {
                    return Err(format!("invalid label name {l:?} in group_by list"));
                }
                if !seen.insert(l.clone()) {
                    return Err(format!("duplicated label {l:?} in group_by"));
                }
            }
        }
        if all && gb.len() > 1 {
            return Err(
                "cannot have wildcard group_by (`...`) and other other labels at the same time"
                    .into(),
            );
        }
    }
    if r.group_interval == Some(ModelDuration(0)) {
        return Err("group_interval cannot be zero".into());
    }
    if r.repeat_interval == Some(ModelDuration(0)) {
        return Err("repeat_interval cannot be zero".into());
    }
    route_matchers(r, mode)?;
    // Normalise `matchers` to their canonical text, like Alertmanager's
    // re-serialisation; `match`/`match_re` stay as written.
    // Alertmanager sorts a `matchers` list when it reads it.
    let mut parsed = Vec::with_capacity(r.matchers.len());
    for m in &r.matchers {
        parsed.push(parse_matcher(m, mode).map_err(|e| e.0)?);
    }
    parsed.sort();
    r.matchers = parsed.iter().map(|m| m.to_string()).collect();
    for c in &mut r.routes {
        check_route_tree(c, mode)?;
    }
    Ok(())
}

fn check_receivers(r: &RouteConfig, names: &HashSet<String>) -> Result<(), String> {
    if let Some(rcv) = r.receiver.as_deref() {
        if !rcv.is_empty() && !names.contains(rcv) {
            return Err(format!("undefined receiver {rcv:?} used in route"));
        }
    }
    for c in &r.routes {
        check_receivers(c, names)?;
    }
    Ok(())
}

fn check_time_intervals(r: &RouteConfig, names: &HashSet<String>) -> Result<(), String> {
    for n in r
        .mute_time_intervals
        .iter()
        .chain(r.active_time_intervals.iter())
    {
        if !names.contains(n) {
            return Err(format!("undefined time interval {n:?} used in route"));
        }
    }
    for c in &r.routes {
        check_time_intervals(c, names)?;
    }
    Ok(())
}
