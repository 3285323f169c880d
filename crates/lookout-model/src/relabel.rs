//! Prometheus relabeling: the `relabel_configs` / `metric_relabel_configs` /
//! `write_relabel_configs` / `alert_relabel_configs` rule language.
//!
//! Semantics follow Prometheus (checked against 2.42 and the 3.x docs):
//! source label values are joined with `separator`, the regex is anchored at
//! both ends and `.` matches newlines (Prometheus 3), `replacement` and
//! `target_label` are expanded with Go's `Regexp.Expand` rules (see
//! [`expand_template`]), and `hashmod` uses the same MD5-based hash so that
//! target sharding agrees with Prometheus. Config validation errors use
//! Prometheus' wording, since users grep for them.

use std::fmt;

use md5::{Digest, Md5};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::labels::{Labels, LabelsBuilder};
use crate::matcher::go_compatible_pattern;

/// What a relabel rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Action {
    /// Writes the expanded `replacement` into the expanded `target_label` when
    /// the regex matches the joined source values.
    #[default]
    Replace,
    /// Keeps the label set only when the regex matches.
    Keep,
    /// Drops the label set when the regex matches.
    Drop,
    /// Keeps the label set only when the joined source values equal `target_label`'s value.
    KeepEqual,
    /// Drops the label set when the joined source values equal `target_label`'s value.
    DropEqual,
    /// Writes `md5(joined) mod modulus` into `target_label`.
    HashMod,
    /// Copies every label whose name matches the regex to the name given by `replacement`.
    LabelMap,
    /// Removes every label whose name matches the regex.
    LabelDrop,
    /// Removes every label whose name does not match the regex.
    LabelKeep,
    /// Writes the lower-cased joined source values into `target_label`.
    Lowercase,
    /// Writes the upper-cased joined source values into `target_label`.
    Uppercase,
}

impl Action {
    /// The action's name as written in configs.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }

    /// Parses an action name case-insensitively, like Prometheus.
    pub fn parse(s: &str) -> Result<Action, RelabelError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return Err(RelabelError(format!("unknown relabel action {s:?}"))),
        })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() {
            return Err(serde::de::Error::custom("relabel action cannot be empty"));
        }
        Action::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An invalid relabel rule; the message is Prometheus' wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RelabelError(pub String);

/// The default regex source, `(.*)`.
pub const DEFAULT_REGEX: &str = "(.*)";
/// The default separator, `;`.
pub const DEFAULT_SEPARATOR: &str = ";";
/// The default replacement, `$1`.
pub const DEFAULT_REPLACEMENT: &str = "$1";

/// A relabel regex: the source as written plus its anchored compilation
/// (`^(?s:SOURCE)$`, with Go's ASCII meaning of `\d`, `\w`, `\s`, `\b`).
#[derive(Clone)]
pub struct RelabelRegex {
    source: String,
    compiled: regex::Regex,
}

impl RelabelRegex {
    /// Compiles `source` anchored. The error reads like Go's
    /// `error parsing regexp: ...`.
    pub fn new(source: &str) -> Result<Self, RelabelError> {
        let pattern = format!("^(?s:{})$", go_compatible_pattern(source));
        let compiled = regex::RegexBuilder::new(&pattern)
            .size_limit(64 << 20)
            .build()
            .map_err(|e| {
                let detail = e
                    .to_string()
                    .lines()
                    .rev()
                    .find_map(|l| l.trim_start().strip_prefix("error:").map(str::trim))
                    .map(str::to_string)
                    .unwrap_or_else(|| e.to_string());
                RelabelError(format!("error parsing regexp: {detail}"))
            })?;
        Ok(RelabelRegex {
            source: source.to_string(),
            compiled,
        })
    }

    /// The regex as written in the config (unanchored).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        self.compiled.is_match(s)
    }

    /// The compiled, anchored regex.
    pub fn compiled(&self) -> &regex::Regex {
        &self.compiled
    }
}

impl Default for RelabelRegex {
    fn default() -> Self {
        // The default pattern is a fixed valid literal; compiling it cannot fail.
        RelabelRegex::new(DEFAULT_REGEX).unwrap_or_else(|_| unreachable!("default regex compiles"))
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for RelabelRegex {}

impl fmt::Debug for RelabelRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

impl Serialize for RelabelRegex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for RelabelRegex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RelabelRegex::new(&s).map_err(serde::de::Error::custom)
    }
}

/// One relabel rule, with prometheus.yml's field names and defaults.
/// Deserialising validates the rule as Prometheus does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRelabelConfig")]
pub struct RelabelConfig {
    /// Labels whose values are joined to form the input string.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_labels: Vec<String>,
    /// Joins the source values (default `;`).
    pub separator: String,
    /// Anchored regex (default `(.*)`).
    pub regex: RelabelRegex,
    /// Modulus for `hashmod` (0 when unused).
    #[serde(skip_serializing_if = "is_zero")]
    pub modulus: u64,
    /// Label written by `replace`, `hashmod`, `lowercase`, `uppercase`, or
    /// compared by `keepequal` / `dropequal`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target_label: String,
    /// Template for `replace` and `labelmap` (default `$1`).
    pub replacement: String,
    /// The action (default `replace`).
    pub action: Action,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.to_string(),
            regex: RelabelRegex::default(),
            modulus: 0,
            target_label: String::new(),
            replacement: DEFAULT_REPLACEMENT.to_string(),
            action: Action::Replace,
        }
    }
}

/// The YAML shape before validation; absent fields take Prometheus' defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelabelConfig {
    #[serde(default)]
    source_labels: Option<Vec<String>>,
    #[serde(default)]
    separator: Option<String>,
    #[serde(default)]
    regex: Option<RelabelRegex>,
    #[serde(default)]
    modulus: Option<u64>,
    #[serde(default)]
    target_label: Option<String>,
    #[serde(default)]
    replacement: Option<String>,
    #[serde(default)]
    action: Option<Action>,
}

impl TryFrom<RawRelabelConfig> for RelabelConfig {
    type Error = RelabelError;

    fn try_from(raw: RawRelabelConfig) -> Result<Self, RelabelError> {
        let source_labels_given = raw.source_labels.is_some();
        let cfg = RelabelConfig {
            source_labels: raw.source_labels.unwrap_or_default(),
            separator: raw
                .separator
                .unwrap_or_else(|| DEFAULT_SEPARATOR.to_string()),
            regex: raw.regex.unwrap_or_default(),
            modulus: raw.modulus.unwrap_or(0),
            target_label: raw.target_label.unwrap_or_default(),
            replacement: raw
                .replacement
                .unwrap_or_else(|| DEFAULT_REPLACEMENT.to_string()),
            action: raw.action.unwrap_or_default(),
        };
        for name in &cfg.source_labels {
            if !is_valid_label_name(name) {
                return Err(RelabelError(format!("{name:?} is not a valid label name")));
            }
        }
        cfg.validate_with(source_labels_given)?;
        Ok(cfg)
    }
}

impl RelabelConfig {
    /// Checks the rule like Prometheus' config loader does; the messages are
    /// Prometheus' own.
    pub fn validate(&self) -> Result<(), RelabelError> {
        self.validate_with(!self.source_labels.is_empty())
    }

    fn validate_with(&self, source_labels_given: bool) -> Result<(), RelabelError> {
        use Action::*;
        let a = self.action;
        let err = |m: String| Err(RelabelError(m));
        if self.modulus == 0 && a == HashMod {
            return err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        if matches!(
            a,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        ) && self.target_label.is_empty()
        {
            return err(format!(
                "relabel configuration for {a} action requires 'target_label' value"
            ));
        }
        if matches!(a, Replace | Lowercase | Uppercase)
            && !is_valid_relabel_target(&self.target_label)
        {
            return err(format!(
                "{:?} is invalid 'target_label' for {a} action",
                self.target_label
            ));
        }
        if matches!(a, Lowercase | Uppercase | KeepEqual | DropEqual)
            && self.replacement != DEFAULT_REPLACEMENT
        {
            return err(format!("'replacement' can not be set for {a} action"));
        }
        if a == LabelMap && !is_valid_relabel_target(&self.replacement) {
            return err(format!(
                "{:?} is invalid 'replacement' for {a} action",
                self.replacement
            ));
        }
        if a == HashMod && !is_valid_label_name(&self.target_label) {
            return err(format!(
                "{:?} is invalid 'target_label' for {a} action",
                self.target_label
            ));
        }
        if matches!(a, KeepEqual | DropEqual)
            && (self.regex.as_str() != DEFAULT_REGEX
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return err(format!(
                "{a} action requires only 'source_labels' and `target_label`, and no other fields"
            ));
        }
        if matches!(a, LabelDrop | LabelKeep)
            && (source_labels_given
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return err(format!(
                "{a} action requires only 'regex', and no other fields"
            ));
        }
        Ok(())
    }
}

/// Whether `name` is a valid (legacy, ASCII) Prometheus label name:
/// `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `s` is an allowed `target_label` (or `labelmap` replacement):
/// label-name characters and `$name` / `${name}` references, i.e.
/// Prometheus' `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`.
pub fn is_valid_relabel_target(s: &str) -> bool {
    fn is_word(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'_'
    }
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    // The pattern requires the string to start with a letter, `_` or a `$`
    // reference; after that any mix of word characters and references.
    let mut i = 0;
    let mut first = true;
    while i < b.len() {
        if b[i] == b'$' {
            let rest = &b[i + 1..];
            if rest.first() == Some(&b'{') {
                let n = rest[1..].iter().take_while(|&&c| is_word(c)).count();
                if n == 0 || rest.get(1 + n) != Some(&b'}') {
                    return false;
                }
                i += 1 + 1 + n + 1;
            } else {
                let n = rest.iter().take_while(|&&c| is_word(c)).count();
                if n == 0 {
                    return false;
                }
                i += 1 + n;
            }
        } else if first {
            if !(b[i].is_ascii_alphabetic() || b[i] == b'_') {
                return false;
            }
            i += 1;
        } else if is_word(b[i]) {
            i += 1;
        } else {
            return false;
        }
        first = false;
    }
    true
}

/// Expands `template` against a regex match the way Go's `Regexp.Expand`
/// does: `$name` takes the longest run of letters, digits and `_` as the
/// name (so `$1x` is group `1x`, usually empty), `${name}` delimits it, a
/// purely numeric name is a group index, `$$` is a literal `$`, unknown or
/// unmatched groups expand to nothing, and a `$` not followed by a valid
/// name is copied literally.
pub fn expand_template(
    out: &mut String,
    template: &str,
    re: &regex::Regex,
    caps: &regex::Captures<'_>,
) {
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        match extract_name(rest) {
            Some((name, after)) => {
                if let Some(m) = lookup_group(name, re, caps) {
                    out.push_str(m);
                }
                rest = after;
            }
            None => out.push('$'),
        }
    }
    out.push_str(rest);
}

/// Parses a `$` reference body: `name...` or `{name}...`. Returns the name
/// and the text after it, or `None` when malformed (Go then emits `$`).
fn extract_name(s: &str) -> Option<(&str, &str)> {
    let (brace, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let len: usize = body
        .chars()
        .take_while(|c| c.is_alphabetic() || c.is_numeric() || *c == '_')
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let name = &body[..len];
    let after = &body[len..];
    if brace {
        let after = after.strip_prefix('}')?;
        return Some((name, after));
    }
    Some((name, after))
}

fn lookup_group<'h>(name: &str, re: &regex::Regex, caps: &regex::Captures<'h>) -> Option<&'h str> {
    // Go: an all-digit name below 1e8 is an index; otherwise a group name.
    let mut num: Option<usize> = Some(0);
    for b in name.bytes() {
        num = match num {
            Some(n) if b.is_ascii_digit() && n < 100_000_000 => {
                Some(n * 10 + usize::from(b - b'0'))
            }
            _ => None,
        };
    }
    match num {
        Some(i) => caps.get(i).map(|m| m.as_str()),
        None => {
            // Names are looked up in group order; the first matched wins.
            re.capture_names()
                .enumerate()
                .filter(|(_, n)| *n == Some(name))
                .find_map(|(i, _)| caps.get(i))
                .map(|m| m.as_str())
        }
    }
}

/// Prometheus' hashmod value: the last 8 bytes of MD5(`value`) as a
/// big-endian integer, modulo `modulus`.
pub fn hashmod(value: &str, modulus: u64) -> u64 {
    let digest = Md5::digest(value.as_bytes());
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&digest[8..16]);
    u64::from_be_bytes(tail) % modulus.max(1)
}

/// Applies the rules in order to `labels`. Returns `None` when a rule drops
/// the set (`keep`/`drop`/`keepequal`/`dropequal`), else the result (which
/// may be empty; callers decide what an empty set means).
pub fn process(labels: &Labels, rules: &[RelabelConfig]) -> Option<Labels> {
    let mut b = labels.builder();
    if process_builder(&mut b, rules) {
        Some(b.into_labels())
    } else {
        None
    }
}

/// Applies the rules to a builder in place; `false` means dropped (the
/// builder is then in an unspecified intermediate state).
pub fn process_builder(b: &mut LabelsBuilder, rules: &[RelabelConfig]) -> bool {
    rules.iter().all(|r| apply_rule(b, r))
}

/// Applies one rule; `false` means the set was dropped.
pub fn apply_rule(b: &mut LabelsBuilder, cfg: &RelabelConfig) -> bool {
    let val = join_sources(b, cfg);
    let re = &cfg.regex;
    match cfg.action {
        Action::Drop => {
            if re.is_match(&val) {
                return false;
            }
        }
        Action::Keep => {
            if !re.is_match(&val) {
                return false;
            }
        }
        Action::DropEqual => {
            if b.get(&cfg.target_label).unwrap_or("") == val {
                return false;
            }
        }
        Action::KeepEqual => {
            if b.get(&cfg.target_label).unwrap_or("") != val {
                return false;
            }
        }
        Action::Replace => {
            let Some(caps) = re.compiled().captures(&val) else {
                return true;
            };
            let mut target = String::new();
            expand_template(&mut target, &cfg.target_label, re.compiled(), &caps);
            if !is_valid_label_name(&target) {
                return true;
            }
            let mut res = String::new();
            expand_template(&mut res, &cfg.replacement, re.compiled(), &caps);
            if res.is_empty() {
                b.del(&target);
            } else {
                b.set(target, res);
            }
        }
        Action::Lowercase => {
            b.set(cfg.target_label.clone(), val.to_lowercase());
        }
        Action::Uppercase => {
            b.set(cfg.target_label.clone(), val.to_uppercase());
        }
        Action::HashMod => {
            let m = hashmod(&val, cfg.modulus);
            b.set(cfg.target_label.clone(), m.to_string());
        }
        Action::LabelMap => {
            let snapshot = b.build();
            for l in snapshot.iter() {
                if let Some(caps) = re.compiled().captures(&l.name) {
                    let mut name = String::new();
                    expand_template(&mut name, &cfg.replacement, re.compiled(), &caps);
                    b.set(name, l.value.clone());
                }
            }
        }
        Action::LabelDrop => {
            b.retain(|l| !re.is_match(&l.name));
        }
        Action::LabelKeep => {
            b.retain(|l| re.is_match(&l.name));
        }
    }
    true
}

fn join_sources(b: &LabelsBuilder, cfg: &RelabelConfig) -> String {
    let mut val = String::new();
    for (i, name) in cfg.source_labels.iter().enumerate() {
        if i > 0 {
            val.push_str(&cfg.separator);
        }
        val.push_str(b.get(name).unwrap_or(""));
    }
    val
}

#[cfg(test)]
#[path = "relabel_tests.rs"]
mod tests;
