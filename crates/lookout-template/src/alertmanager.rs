//! Alertmanager's notification template data (`template.Data`, `Alert`,
//! `Alerts`, `KV`, `Pair(s)`) and function set, as of Alertmanager 0.25
//! (plus the later additions listed on [`funcs`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::func::{FuncMap, GoType, Variadic};
use crate::gotime::Time;
use crate::value::{GoSignature, Kind, Map, Object, SafeKind, Value};

/// One alert in a notification (`template.Alert`).
#[derive(Debug, Clone)]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Alert labels.
    pub labels: BTreeMap<String, String>,
    /// Alert annotations.
    pub annotations: BTreeMap<String, String>,
    /// Start time.
    pub starts_at: Time,
    /// End time (Go's zero time while firing).
    pub ends_at: Time,
    /// Link back to the generating rule.
    pub generator_url: String,
    /// Alert fingerprint (16 hex digits).
    pub fingerprint: String,
}

/// The notification data (`*template.Data`).
#[derive(Debug, Clone, Default)]
pub struct Data {
    /// Receiver name (Alertmanager passes it through `regexp.QuoteMeta`).
    pub receiver: String,
    /// `firing` if any alert fires, else `resolved`.
    pub status: String,
    /// The alerts.
    pub alerts: Vec<Alert>,
    /// Labels the group is keyed on.
    pub group_labels: BTreeMap<String, String>,
    /// Labels equal on all alerts.
    pub common_labels: BTreeMap<String, String>,
    /// Annotations equal on all alerts.
    pub common_annotations: BTreeMap<String, String>,
    /// Alertmanager's external URL.
    pub external_url: String,
}

impl Data {
    /// The template value (`*template.Data`, as Alertmanager's notifiers
    /// pass it). Build it once per notification: field values are
    /// precomputed so templates read them without copying.
    pub fn to_value(&self) -> Value {
        Value::object(DataObject::new(self, true))
    }

    /// The template value as a `template.Data` struct (not a pointer), as
    /// `amtool template render` passes it; only error texts differ.
    pub fn to_value_by_value(&self) -> Value {
        Value::object(DataObject::new(self, false))
    }
}

#[derive(Debug)]
struct DataObject {
    pointer: bool,
    receiver: Value,
    status: Value,
    alerts: Value,
    group_labels: Value,
    common_labels: Value,
    common_annotations: Value,
    external_url: Value,
}

impl DataObject {
    fn new(d: &Data, pointer: bool) -> Self {
        DataObject {
            pointer,
            receiver: Value::from(d.receiver.as_str()),
            status: Value::from(d.status.as_str()),
            alerts: Value::object(AlertsObject(
                d.alerts
                    .iter()
                    .map(|a| Arc::new(AlertObject::new(a)))
                    .collect(),
            )),
            group_labels: kv(&d.group_labels),
            common_labels: kv(&d.common_labels),
            common_annotations: kv(&d.common_annotations),
            external_url: Value::from(d.external_url.as_str()),
        }
    }
}

const DATA_FIELDS: &[&str] = &[
    "Receiver",
    "Status",
    "Alerts",
    "GroupLabels",
    "CommonLabels",
    "CommonAnnotations",
    "ExternalURL",
];

impl Object for DataObject {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed(if self.pointer {
            "*template.Data"
        } else {
            "template.Data"
        })
    }
    fn is_pointer(&self) -> bool {
        self.pointer
    }
    fn field_names(&self) -> &[&'static str] {
        DATA_FIELDS
    }
    fn json_name(&self, field: &str) -> Option<&'static str> {
        Some(match field {
            "Receiver" => "receiver",
            "Status" => "status",
            "Alerts" => "alerts",
            "GroupLabels" => "groupLabels",
            "CommonLabels" => "commonLabels",
            "CommonAnnotations" => "commonAnnotations",
            "ExternalURL" => "externalURL",
            _ => return None,
        })
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Receiver" => self.receiver.clone(),
            "Status" => self.status.clone(),
            "Alerts" => self.alerts.clone(),
            "GroupLabels" => self.group_labels.clone(),
            "CommonLabels" => self.common_labels.clone(),
            "CommonAnnotations" => self.common_annotations.clone(),
            "ExternalURL" => self.external_url.clone(),
            _ => return None,
        })
    }
}

#[derive(Debug)]
struct AlertObject {
    firing: bool,
    resolved: bool,
    status: Value,
    labels: Value,
    annotations: Value,
    starts_at: Value,
    ends_at: Value,
    generator_url: Value,
    fingerprint: Value,
}

impl AlertObject {
    fn new(a: &Alert) -> Self {
        AlertObject {
            firing: a.status == "firing",
            resolved: a.status == "resolved",
            status: Value::from(a.status.as_str()),
            labels: kv(&a.labels),
            annotations: kv(&a.annotations),
            starts_at: Value::from(a.starts_at.clone()),
            ends_at: Value::from(a.ends_at.clone()),
            generator_url: Value::from(a.generator_url.as_str()),
            fingerprint: Value::from(a.fingerprint.as_str()),
        }
    }
}

const ALERT_FIELDS: &[&str] = &[
    "Status",
    "Labels",
    "Annotations",
    "StartsAt",
    "EndsAt",
    "GeneratorURL",
    "Fingerprint",
];

impl Object for AlertObject {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed("template.Alert")
    }
    fn field_names(&self) -> &[&'static str] {
        ALERT_FIELDS
    }
    fn json_name(&self, field: &str) -> Option<&'static str> {
        Some(match field {
            "Status" => "status",
            "Labels" => "labels",
            "Annotations" => "annotations",
            "StartsAt" => "startsAt",
            "EndsAt" => "endsAt",
            "GeneratorURL" => "generatorURL",
            "Fingerprint" => "fingerprint",
            _ => return None,
        })
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Status" => self.status.clone(),
            "Labels" => self.labels.clone(),
            "Annotations" => self.annotations.clone(),
            "StartsAt" => self.starts_at.clone(),
            "EndsAt" => self.ends_at.clone(),
            "GeneratorURL" => self.generator_url.clone(),
            "Fingerprint" => self.fingerprint.clone(),
            _ => return None,
        })
    }
}

fn alert_list<'a>(alerts: impl Iterator<Item = &'a Arc<AlertObject>>) -> Value {
    Value::typed_list(
        "[]template.Alert",
        alerts.map(|a| Value::Object(a.clone() as Arc<dyn Object>)),
    )
}

#[derive(Debug)]
struct AlertsObject(Vec<Arc<AlertObject>>);

impl Object for AlertsObject {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed("template.Alerts")
    }
    fn underlying(&self) -> Option<Value> {
        Some(alert_list(self.0.iter()))
    }
    fn method(&self, name: &str) -> Option<GoSignature> {
        matches!(name, "Firing" | "Resolved").then(|| GoSignature::new(vec![]))
    }
    fn call_method(&self, name: &str, _args: Vec<Value>) -> Result<Value, String> {
        let firing = name == "Firing";
        Ok(alert_list(self.0.iter().filter(|a| {
            if firing {
                a.firing
            } else {
                a.resolved
            }
        })))
    }
}

/// A `template.KV` value from a label/annotation map.
pub fn kv(m: &BTreeMap<String, String>) -> Value {
    let underlying = Value::Map(Arc::new(Map {
        type_name: Cow::Borrowed("map[string]string"),
        zero: Value::from(""),
        entries: m
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    }));
    Value::object(Kv {
        map: Arc::new(m.clone()),
        underlying,
    })
}

#[derive(Debug, Clone)]
struct Kv {
    map: Arc<BTreeMap<String, String>>,
    underlying: Value,
}

impl Kv {
    /// Pairs sorted by name, `alertname` first (Alertmanager's SortedPairs).
    fn sorted_pairs(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = self
            .map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(i) = pairs.iter().position(|(k, _)| k == "alertname") {
            let p = pairs.remove(i);
            pairs.insert(0, p);
        }
        pairs
    }
}

impl Object for Kv {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed("template.KV")
    }
    fn underlying(&self) -> Option<Value> {
        Some(self.underlying.clone())
    }
    fn method(&self, name: &str) -> Option<GoSignature> {
        match name {
            "SortedPairs" | "Names" | "Values" => Some(GoSignature::new(vec![])),
            "Remove" => Some(GoSignature::new(vec![GoType::named(
                "[]string",
                Kind::Slice,
            )])),
            _ => None,
        }
    }
    fn call_method(&self, name: &str, args: Vec<Value>) -> Result<Value, String> {
        Ok(match name {
            "SortedPairs" => pairs_value(self.sorted_pairs()),
            "Names" => Value::string_list(self.sorted_pairs().into_iter().map(|p| p.0)),
            "Values" => Value::string_list(self.sorted_pairs().into_iter().map(|p| p.1)),
            "Remove" => {
                let keys: Vec<String> = match args.first().map(|v| v.basic().into_owned()) {
                    Some(Value::List(l)) => l
                        .items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                    _ => vec![],
                };
                let mut m = (*self.map).clone();
                for k in keys {
                    m.remove(&k);
                }
                kv(&m)
            }
            _ => return Err(format!("no method {name}")),
        })
    }
}

fn pairs_value(p: Vec<(String, String)>) -> Value {
    Value::object(Pairs(p))
}

#[derive(Debug)]
struct Pairs(Vec<(String, String)>);

impl Object for Pairs {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed("template.Pairs")
    }
    fn underlying(&self) -> Option<Value> {
        Some(Value::typed_list(
            "[]template.Pair",
            self.0
                .iter()
                .map(|(n, v)| Value::object(Pair(n.clone(), v.clone()))),
        ))
    }
    fn method(&self, name: &str) -> Option<GoSignature> {
        matches!(name, "Names" | "Values").then(|| GoSignature::new(vec![]))
    }
    fn call_method(&self, name: &str, _args: Vec<Value>) -> Result<Value, String> {
        Ok(if name == "Names" {
            Value::string_list(self.0.iter().map(|p| p.0.clone()))
        } else {
            Value::string_list(self.0.iter().map(|p| p.1.clone()))
        })
    }
}

#[derive(Debug)]
struct Pair(String, String);

impl Object for Pair {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed("template.Pair")
    }
    fn field_names(&self) -> &[&'static str] {
        &["Name", "Value"]
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Name" => Some(Value::from(self.0.as_str())),
            "Value" => Some(Value::from(self.1.as_str())),
            _ => None,
        }
    }
}

/// Go's `regexp.QuoteMeta`, which Alertmanager applies to `.Receiver`.
pub fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Go's deprecated `strings.Title`: upper-cases the first letter of each
/// word (words are separated by non-letter, non-digit, non-`_`, non-`'`
/// characters); the rest is left alone.
pub fn go_strings_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev = ' ';
    for c in s.chars() {
        let sep = |r: char| {
            if r.is_ascii() {
                !(r.is_ascii_alphanumeric() || r == '_')
            } else {
                !(r.is_alphanumeric()) && r.is_whitespace()
            }
        };
        if sep(prev) {
            out.extend(title_case(c));
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn title_case(c: char) -> impl Iterator<Item = char> {
    // Title case equals upper case except for a few digraphs.
    let t = match c {
        'Ǆ' | 'ǅ' | 'ǆ' => Some('ǅ'),
        'Ǉ' | 'ǈ' | 'ǉ' => Some('ǈ'),
        'Ǌ' | 'ǋ' | 'ǌ' => Some('ǋ'),
        'Ǳ' | 'ǲ' | 'ǳ' => Some('ǲ'),
        _ => None,
    };
    let up: Vec<char> = match t {
        Some(t) => vec![t],
        None => {
            let u: Vec<char> = c.to_uppercase().collect();
            if u.len() == 1 {
                u
            } else {
                vec![c]
            }
        }
    };
    up.into_iter()
}

/// Unicode title casing as `golang.org/x/text/cases.Title` does it (used
/// by Alertmanager's `title`): the first letter of each word is
/// title-cased and the rest lower-cased. Words are runs of letters, digits
/// and `_`, joined across a single `'`, `.`, `:` or `’` between letters.
pub fn cases_title(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for (i, &c) in chars.iter().enumerate() {
        if c.is_alphanumeric() || c == '_' {
            if in_word {
                out.push_str(&go_to_lower(&c.to_string()));
            } else {
                out.extend(title_case(c));
                in_word = true;
            }
        } else {
            let joins = matches!(c, '\'' | '.' | ':' | '’')
                && in_word
                && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
            if !joins {
                in_word = false;
            }
            out.push(c);
        }
    }
    out
}

/// Go's `strings.ToUpper`/`ToLower` map rune by rune (no length-changing
/// special casing such as `ß`→`SS`).
pub fn go_to_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut u = c.to_uppercase();
            match (u.next(), u.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        })
        .collect()
}

/// See [`go_to_upper`].
pub fn go_to_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut u = c.to_lowercase();
            match (u.next(), u.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        })
        .collect()
}

/// Functions added after Alertmanager 0.25 that need no host state:
/// `trimSpace` (0.26). Merge with [`funcs`] to emulate newer releases.
pub fn newer_funcs() -> FuncMap {
    FuncMap::new().func("trimSpace", |s: String| {
        s.trim_matches(char::is_whitespace).to_string()
    })
}

/// Alertmanager 0.25's `DefaultFuncs`, exactly: `toUpper`, `toLower`,
/// `title`, `join`, `match`, `safeHtml`, `reReplaceAll`, `stringSlice`.
pub fn funcs() -> FuncMap {
    let mut m = FuncMap::new()
        .func("toUpper", |s: String| go_to_upper(&s))
        .func("toLower", |s: String| go_to_lower(&s))
        .func("title", |s: String| cases_title(&s))
        .func("join", |sep: String, list: Vec<String>| list.join(&sep))
        .func("stringSlice", |v: Variadic<String>| v.0);
    m.insert("match", crate::prometheus::match_func());
    m.insert("reReplaceAll", crate::prometheus::re_replace_all_func());
    m.insert(
        "safeHtml",
        crate::Func::new(GoSignature::new(vec![GoType::String]), |args| {
            Ok(Value::Safe(
                SafeKind::Html,
                args.first().and_then(|a| a.as_str()).unwrap_or("").into(),
            ))
        }),
    );
    m
}
