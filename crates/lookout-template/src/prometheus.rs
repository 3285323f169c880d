//! Prometheus' rule and console template functions (as of 2.42) and the
//! alert template data (`$labels`, `$value`, `$externalLabels`,
//! `$externalURL`).
//!
//! `query` reaches PromQL through [`QueryFn`], which the rule engine
//! implements (it knows the evaluation timestamp); tests use a fake.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use regex::Regex;

use crate::func::{Func, FuncMap, GoType, Variadic};
use crate::value::{GoSignature, Kind, Object, SafeKind, Value};
use crate::{MissingKey, ParseError, Template};

/// One query result sample (`*template.sample`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Series labels, `__name__` included.
    pub labels: BTreeMap<String, String>,
    /// Sample value.
    pub value: f64,
}

/// Runs an instant query at the evaluation time for the `query` function.
pub trait QueryFn: Send + Sync {
    /// Evaluates `q`; scalars come back as one sample without labels. The
    /// error text is what the template shows after `error calling query: `.
    fn query(&self, q: &str) -> Result<Vec<Sample>, String>;
}

/// A [`QueryFn`] for templates that must not query (e.g. parse checks).
pub struct NoQuery;
impl QueryFn for NoQuery {
    fn query(&self, _q: &str) -> Result<Vec<Sample>, String> {
        Err("query is not available".into())
    }
}

#[derive(Debug)]
struct SampleObject(Sample);

impl Object for SampleObject {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed("*template.sample")
    }
    fn is_pointer(&self) -> bool {
        true
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
    fn field_names(&self) -> &[&'static str] {
        &["Labels", "Value"]
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Labels" => Some(Value::string_map(
                self.0.labels.iter().map(|(k, v)| (k.clone(), v.as_str())),
            )),
            "Value" => Some(Value::Float(self.0.value)),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct QueryResult(Vec<Arc<SampleObject>>);

impl Object for QueryResult {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed("template.queryResult")
    }
    fn underlying(&self) -> Option<Value> {
        Some(Value::typed_list(
            "[]*template.sample",
            self.0.iter().map(|s| Value::Object(s.clone())),
        ))
    }
}

fn sample_of(v: &Value) -> Option<&SampleObject> {
    match v {
        Value::Object(o) => o.as_any()?.downcast_ref::<SampleObject>(),
        _ => None,
    }
}

fn query_result_of(v: &Value) -> Vec<Sample> {
    match v.basic().as_ref() {
        Value::List(l) => l
            .items
            .iter()
            .filter_map(|i| sample_of(i).map(|s| s.0.clone()))
            .collect(),
        _ => vec![],
    }
}

fn query_result(samples: Vec<Sample>) -> Value {
    Value::object(QueryResult(
        samples
            .into_iter()
            .map(|s| Arc::new(SampleObject(s)))
            .collect(),
    ))
}

/// The data Prometheus expands alert labels and annotations with.
#[derive(Debug, Clone, Default)]
pub struct AlertTemplateData {
    /// Labels of the result sample (before rule labels are applied).
    pub labels: BTreeMap<String, String>,
    /// Configured external labels.
    pub external_labels: BTreeMap<String, String>,
    /// `--web.external-url`.
    pub external_url: String,
    /// The sample value.
    pub value: f64,
}

#[derive(Debug)]
struct AlertDataObject(AlertTemplateData);

impl Object for AlertDataObject {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed("struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }")
    }
    fn field_names(&self) -> &[&'static str] {
        &["Labels", "ExternalLabels", "ExternalURL", "Value"]
    }
    fn field(&self, name: &str) -> Option<Value> {
        let d = &self.0;
        Some(match name {
            "Labels" => Value::string_map(d.labels.iter().map(|(k, v)| (k.clone(), v.as_str()))),
            "ExternalLabels" => Value::string_map(
                d.external_labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str())),
            ),
            "ExternalURL" => Value::from(d.external_url.as_str()),
            "Value" => Value::Float(d.value),
            _ => return None,
        })
    }
}

impl AlertTemplateData {
    /// The template value.
    pub fn to_value(&self) -> Value {
        Value::object(AlertDataObject(self.clone()))
    }
}

/// The variable definitions Prometheus prepends to every alert template.
pub const ALERT_TEMPLATE_DEFS: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// An alerting rule's label or annotation template, parsed once.
#[derive(Clone, Debug)]
pub struct RuleTemplate {
    name: String,
    tmpl: Result<Template, ParseError>,
}

impl RuleTemplate {
    /// Parses `text` for the alerting rule `rule_name` the way Prometheus
    /// does (name `__alert_<rule>`, definitions prepended, `missingkey=zero`).
    pub fn new(rule_name: &str, text: &str, funcs: FuncMap) -> RuleTemplate {
        let name = format!("__alert_{rule_name}");
        let full = format!("{ALERT_TEMPLATE_DEFS}{text}");
        let tmpl = Template::new(&name)
            .funcs(funcs)
            .missing_key(MissingKey::Zero)
            .parse(&full);
        RuleTemplate { name, tmpl }
    }

    /// Expands the template; errors are Prometheus' texts
    /// (`error parsing template __alert_X: ...` / `error executing template ...`).
    pub fn expand(&self, data: &AlertTemplateData) -> Result<String, String> {
        match &self.tmpl {
            Err(e) => Err(format!("error parsing template {}: {}", self.name, e)),
            Ok(t) => t
                .execute(&data.to_value())
                .map_err(|e| format!("error executing template {}: {}", self.name, e)),
        }
    }

    /// What Prometheus stores: the expansion, or
    /// `<error expanding template: ...>` on failure.
    pub fn expand_or_error_text(&self, data: &AlertTemplateData) -> String {
        match self.expand(data) {
            Ok(s) => s,
            Err(e) => format!("<error expanding template: {e}>"),
        }
    }
}

/// A cache of compiled Go-syntax regular expressions shared by a function
/// map, so `match`/`reReplaceAll` do not recompile per call.
#[derive(Default)]
struct RegexCache(Mutex<HashMap<String, Result<Regex, String>>>);

impl RegexCache {
    fn get(&self, pattern: &str) -> Result<Regex, String> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = m.get(pattern) {
            return r.clone();
        }
        let r = compile_go_regex(pattern);
        if m.len() > 1000 {
            m.clear();
        }
        m.insert(pattern.to_string(), r.clone());
        r
    }
}

/// Compiles a Go (RE2) pattern; on failure returns Go's error text
/// (`error parsing regexp: missing closing ): `(``) for the common cases.
pub fn compile_go_regex(pattern: &str) -> Result<Regex, String> {
    if let Some(e) = go_regex_syntax_error(pattern) {
        return Err(format!("error parsing regexp: {e}"));
    }
    let translated = lookout_model::matcher::go_compatible_pattern(pattern);
    Regex::new(&translated).map_err(|e| {
        let msg = e.to_string();
        let last = msg
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with("error:"))
            .map(|l| {
                l.trim_start()
                    .trim_start_matches("error:")
                    .trim()
                    .to_string()
            })
            .unwrap_or(msg);
        format!("error parsing regexp: {last}: `{pattern}`")
    })
}

/// Go's messages for the syntax errors templates commonly hit.
fn go_regex_syntax_error(p: &str) -> Option<String> {
    let b = p.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    let mut prev_repeatable = false;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                if i + 1 >= b.len() {
                    return Some("trailing backslash at end of expression: ``".into());
                }
                i += 2;
                prev_repeatable = true;
                continue;
            }
            b'[' => {
                let start = i;
                i += 1;
                if i < b.len() && b[i] == b'^' {
                    i += 1;
                }
                if i < b.len() && b[i] == b']' {
                    i += 1;
                }
                while i < b.len() && b[i] != b']' {
                    if b[i] == b'\\' {
                        i += 1;
                    } else if b[i] == b'[' && b.get(i + 1) == Some(&b':') {
                        if let Some(e) = p[i..].find(":]") {
                            i += e + 1;
                        }
                    }
                    i += 1;
                }
                if i >= b.len() {
                    return Some(format!("missing closing ]: `{}`", &p[start..]));
                }
                prev_repeatable = true;
            }
            b'(' => {
                depth += 1;
                prev_repeatable = false;
                if b.get(i + 1) == Some(&b'?') {
                    i += 1;
                }
                i += 1;
                continue;
            }
            b')' => {
                depth -= 1;
                if depth < 0 {
                    return Some(format!("unexpected ): `{p}`"));
                }
                prev_repeatable = true;
            }
            b'*' | b'+' | b'?' => {
                if !prev_repeatable {
                    let op = &p[i..(i + 1 + usize::from(b.get(i + 1) == Some(&b'?')))];
                    return Some(format!("missing argument to repetition operator: `{op}`"));
                }
                if i + 1 < b.len() && matches!(b[i + 1], b'*' | b'+') {
                    return Some(format!(
                        "invalid nested repetition operator: `{}`",
                        &p[i..i + 2]
                    ));
                }
                prev_repeatable = false;
                if b.get(i + 1) == Some(&b'?') {
                    i += 1;
                }
            }
            b'|' => prev_repeatable = false,
            _ => prev_repeatable = true,
        }
        i += 1;
    }
    if depth > 0 {
        return Some(format!("missing closing ): `{p}`"));
    }
    None
}

fn go_quote_for_panic(s: &str) -> String {
    if s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\x7f')))
    {
        format!("`{s}`")
    } else {
        crate::fmt::quote_go(s)
    }
}

/// `match pattern text` (Go's `regexp.MatchString`, unanchored).
pub fn match_func() -> Func {
    let cache = Arc::new(RegexCache::default());
    Func::new(
        GoSignature::new(vec![GoType::String, GoType::String]),
        move |args| {
            let p = args.first().and_then(|a| a.as_str()).unwrap_or("");
            let s = args.get(1).and_then(|a| a.as_str()).unwrap_or("");
            let re = cache.get(p)?;
            Ok(Value::Bool(re.is_match(s)))
        },
    )
}

/// `reReplaceAll pattern replacement text` (Go's `ReplaceAllString` with
/// `$1`/`${name}` expansion; a bad pattern reports Go's `MustCompile` panic).
pub fn re_replace_all_func() -> Func {
    let cache = Arc::new(RegexCache::default());
    Func::new(
        GoSignature::new(vec![GoType::String, GoType::String, GoType::String]),
        move |args| {
            let p = args.first().and_then(|a| a.as_str()).unwrap_or("");
            let repl = args.get(1).and_then(|a| a.as_str()).unwrap_or("");
            let s = args.get(2).and_then(|a| a.as_str()).unwrap_or("");
            let re = cache
                .get(p)
                .map_err(|e| format!("regexp: Compile({}): {}", go_quote_for_panic(p), e))?;
            Ok(Value::from(re.replace_all(s, repl).into_owned()))
        },
    )
}

/// Go's `strconv.ParseFloat` for strings, with its error text.
pub fn parse_float_go(s: &str) -> Result<f64, String> {
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    let neg = lower.starts_with('-');
    if lower.len() - body.len() <= 1 {
        match body {
            "inf" | "infinity" => {
                return Ok(if neg {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                })
            }
            "nan" => return Ok(f64::NAN),
            _ => {}
        }
    }
    match crate::number::parse_float(s) {
        Some(f) => Ok(f),
        None => {
            // Distinguish range errors (valid syntax, too large).
            let cleaned: String = s.chars().filter(|&c| c != '_').collect();
            if cleaned
                .parse::<f64>()
                .map(f64::is_infinite)
                .unwrap_or(false)
            {
                Err(format!(
                    "strconv.ParseFloat: parsing {}: value out of range",
                    crate::fmt::quote_go(s)
                ))
            } else {
                Err(format!(
                    "strconv.ParseFloat: parsing {}: invalid syntax",
                    crate::fmt::quote_go(s)
                ))
            }
        }
    }
}

/// Prometheus' `convertToFloat`: floats, ints, numeric strings.
pub fn convert_to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::String(s) => parse_float_go(s),
        Value::Int(i, crate::IntType::Int | crate::IntType::Int64) => Ok(*i as f64),
        Value::Uint(u, crate::UintType::Uint | crate::UintType::Uint64) => Ok(*u as f64),
        Value::Nil | Value::Invalid => Err("can't convert <nil> to float".into()),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

fn g4(v: f64) -> String {
    crate::fmt::sprintf("%.4g", &[Value::Float(v)])
}

/// `humanize`: SI prefixes, 4 significant digits.
pub fn humanize(v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    let mut v = v;
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
        return format!("{}{}", g4(v), prefix);
    }
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{}", g4(v), prefix)
}

/// `humanize1024`: binary prefixes.
pub fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{}", g4(v), prefix)
}

/// `humanizeDuration`: seconds as `1d 2h 3m 4s`, `1.234s`, `100ms`.
pub fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    if v == 0.0 {
        return format!("{}s", g4(v));
    }
    let mut v = v;
    if v.abs() >= 1.0 {
        let mut sign = "";
        if v < 0.0 {
            sign = "-";
            v = -v;
        }
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        if days != 0 {
            return format!("{sign}{days}d {h}h {m}m {s}s");
        }
        if h != 0 {
            return format!("{sign}{h}h {m}m {s}s");
        }
        if m != 0 {
            return format!("{sign}{m}m {s}s");
        }
        return format!("{sign}{}s", g4(v));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{}s", g4(v), prefix)
}

/// Prometheus' `floatToTime` (millisecond precision, UTC).
fn float_to_time(v: f64) -> Result<Option<crate::gotime::Time>, String> {
    if v.is_nan() || v.is_infinite() {
        return Ok(None);
    }
    let ts = v * 1e9;
    if ts > i64::MAX as f64 || ts < i64::MIN as f64 {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            crate::fmt::sprint(&[Value::Float(v)])
        ));
    }
    let ms = (ts as i64) / 1_000_000;
    Ok(Some(crate::gotime::Time::from_unix_millis(ms)))
}

/// Go's `net.SplitHostPort`.
pub fn split_host_port(hp: &str) -> Result<(String, String), String> {
    let missing = || format!("address {hp}: missing port in address");
    let too_many = || format!("address {hp}: too many colons in address");
    let i = hp.rfind(':').ok_or_else(missing)?;
    let (host, port) = if hp.starts_with('[') {
        let end = hp
            .find(']')
            .ok_or_else(|| format!("address {hp}: missing ']' in address"))?;
        if end + 1 == hp.len() {
            return Err(missing());
        }
        if end + 1 != i {
            return Err(if hp.as_bytes()[end + 1] == b':' {
                too_many()
            } else {
                missing()
            });
        }
        (&hp[1..end], &hp[i + 1..])
    } else {
        let host = &hp[..i];
        if host.contains(':') {
            return Err(too_many());
        }
        (host, &hp[i + 1..])
    };
    Ok((host.to_string(), port.to_string()))
}

fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

/// Prometheus 2.42's template functions. `query` goes through `query_fn`;
/// `externalURL`/`pathPrefix` report `external_url`.
pub fn funcs(query_fn: Arc<dyn QueryFn>, external_url: &str) -> FuncMap {
    let ext = external_url.to_string();
    let path_prefix = url_path(external_url);
    let mut m = FuncMap::new()
        .func("first", |v: QueryArg| {
            v.0.into_iter()
                .next()
                .map(|s| Value::object(SampleObject(s)))
                .ok_or_else(|| "first() called on vector with no elements".to_string())
        })
        .func("label", |label: String, s: SampleArg| {
            s.0.labels.get(&label).cloned().unwrap_or_default()
        })
        .func("value", |s: SampleArg| s.0.value)
        .func("strvalue", |s: SampleArg| {
            s.0.labels.get("__value__").cloned().unwrap_or_default()
        })
        .func("sortByLabel", |label: String, v: QueryArg| {
            let mut v = v.0;
            v.sort_by(|a, b| {
                a.labels
                    .get(&label)
                    .map(String::as_str)
                    .unwrap_or("")
                    .cmp(b.labels.get(&label).map(String::as_str).unwrap_or(""))
            });
            query_result(v)
        })
        .func("args", |a: Variadic<Value>| {
            Value::map(
                a.0.into_iter()
                    .enumerate()
                    .map(|(i, v)| (format!("arg{i}"), v)),
            )
        })
        .func("title", |s: String| {
            crate::alertmanager::go_strings_title(&s)
        })
        .func("toUpper", |s: String| crate::alertmanager::go_to_upper(&s))
        .func("toLower", |s: String| crate::alertmanager::go_to_lower(&s))
        .func("graphLink", |e: String| {
            format!("/graph?g0.expr={}&g0.tab=0", crate::query_escape(&e))
        })
        .func("tableLink", |e: String| {
            format!("/graph?g0.expr={}&g0.tab=1", crate::query_escape(&e))
        })
        .func("humanize", |v: Value| convert_to_float(&v).map(humanize))
        .func("humanize1024", |v: Value| {
            convert_to_float(&v).map(humanize1024)
        })
        .func("humanizeDuration", |v: Value| {
            convert_to_float(&v).map(humanize_duration)
        })
        .func("humanizePercentage", |v: Value| {
            convert_to_float(&v).map(|f| format!("{}%", g4(f * 100.0)))
        })
        .func("humanizeTimestamp", |v: Value| -> Result<String, String> {
            let f = convert_to_float(&v)?;
            Ok(match float_to_time(f)? {
                None => g4(f),
                Some(t) => t.go_string(),
            })
        })
        .func("toTime", |v: Value| -> Result<Value, String> {
            let f = convert_to_float(&v)?;
            match float_to_time(f)? {
                None => Err("value is NaN or Inf".into()),
                Some(t) => Ok(crate::gotime::time_pointer(t)),
            }
        })
        .func("pathPrefix", move || path_prefix.clone())
        .func("externalURL", move || ext.clone())
        .func("parseDuration", |d: String| -> Result<f64, String> {
            lookout_model::duration::parse_duration(&d)
                .map(|ms| ms as f64 / 1000.0)
                .map_err(|e| e.to_string())
        })
        .func("stripPort", |hp: String| match split_host_port(&hp) {
            Ok((h, _)) => h,
            Err(_) => hp,
        })
        .func("stripDomain", |hp: String| {
            let (host, port) = split_host_port(&hp).unwrap_or_else(|_| (hp.clone(), String::new()));
            if is_ip(&host) {
                return hp;
            }
            let host = host.split('.').next().unwrap_or("").to_string();
            if port.is_empty() {
                host
            } else if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            }
        });
    m.insert(
        "query",
        Func::new(GoSignature::new(vec![GoType::String]), move |args| {
            let q = args.first().and_then(|a| a.as_str()).unwrap_or("");
            query_fn.query(q).map(query_result)
        }),
    );
    m.insert("match", match_func());
    m.insert("reReplaceAll", re_replace_all_func());
    m.insert(
        "safeHtml",
        Func::new(GoSignature::new(vec![GoType::String]), |args| {
            Ok(Value::Safe(
                SafeKind::Html,
                args.first().and_then(|a| a.as_str()).unwrap_or("").into(),
            ))
        }),
    );
    m
}

fn url_path(u: &str) -> String {
    // scheme://host[:port]/path?query#frag -> /path
    let after_scheme = match u.find("://") {
        Some(i) => &u[i + 3..],
        None => return String::new(),
    };
    let path = match after_scheme.find('/') {
        Some(i) => &after_scheme[i..],
        None => "",
    };
    path.split(['?', '#']).next().unwrap_or("").to_string()
}

/// A `queryResult` parameter.
pub struct QueryArg(pub Vec<Sample>);
impl crate::FromArg for QueryArg {
    fn go_type() -> GoType {
        GoType::named("template.queryResult", Kind::Slice)
    }
    fn from_arg(v: Value) -> Result<Self, String> {
        Ok(QueryArg(query_result_of(&v)))
    }
}

/// A `*sample` parameter.
pub struct SampleArg(pub Sample);
impl crate::FromArg for SampleArg {
    fn go_type() -> GoType {
        GoType::named("*template.sample", Kind::Pointer)
    }
    fn from_arg(v: Value) -> Result<Self, String> {
        match sample_of(&v) {
            Some(s) => Ok(SampleArg(s.0.clone())),
            None => Err("invalid memory address or nil pointer dereference".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_vectors() {
        assert_eq!(humanize(1234567.891), "1.235M");
        assert_eq!(humanize(0.12), "120m");
        assert_eq!(humanize(-1.0), "-1");
        assert_eq!(humanize1024(1048576.0), "1Mi");
        assert_eq!(humanize_duration(1234567.891), "14d 6h 56m 7s");
        assert_eq!(humanize_duration(0.12345), "123.5ms");
        assert_eq!(humanize_duration(-183845.0), "-2d 3h 4m 5s");
        assert_eq!(humanize_duration(59.9), "59.9s");
    }
}
