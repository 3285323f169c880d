//! The escaping functions html/template inserts into pipelines
//! (`_html_template_htmlescaper` and friends), over [`Value`]s.

use crate::func::{Func, FuncMap, GoType};
use crate::value::{GoSignature, Kind, SafeKind, Value};

use super::context::{attr_type, ContentType};

const FILTER_FAILSAFE: &str = "ZgotmplZ";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Content {
    Plain,
    Css,
    Html,
    HtmlAttr,
    Js,
    JsStr,
    Url,
    Srcset,
}

/// Go's `stringify`: a single typed string keeps its content type;
/// otherwise untyped nils are skipped and the rest printed with `fmt.Sprint`.
pub(crate) fn stringify(args: &[Value]) -> (String, Content) {
    if let [one] = args {
        match one {
            Value::String(s) => return (s.to_string(), Content::Plain),
            Value::Safe(k, s) => {
                let c = match k {
                    SafeKind::Html => Content::Html,
                    SafeKind::HtmlAttr => Content::HtmlAttr,
                    SafeKind::Js => Content::Js,
                    SafeKind::JsStr => Content::JsStr,
                    SafeKind::Css => Content::Css,
                    SafeKind::Url => Content::Url,
                    SafeKind::Srcset => Content::Srcset,
                };
                return (s.to_string(), c);
            }
            _ => {}
        }
    }
    let kept: Vec<Value> = args
        .iter()
        .filter(|a| !matches!(a, Value::Nil | Value::Invalid))
        .cloned()
        .collect();
    if let [one] = kept.as_slice() {
        return (crate::fmt::sprint_action(one), Content::Plain);
    }
    (crate::fmt::sprint(&kept), Content::Plain)
}

fn html_replacer(s: &str, table: &dyn Fn(char) -> Option<&'static str>, bad_runes: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if let Some(r) = table(c) {
            out.push_str(r);
        } else if !bad_runes
            && ((0xfdd0..=0xfdef).contains(&(c as u32)) || (0xfff0..=0xffff).contains(&(c as u32)))
        {
            out.push_str(&format!("&#x{:x};", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn html_table(c: char) -> Option<&'static str> {
    Some(match c {
        '\0' => "\u{FFFD}",
        '"' => "&#34;",
        '&' => "&amp;",
        '\'' => "&#39;",
        '+' => "&#43;",
        '<' => "&lt;",
        '>' => "&gt;",
        _ => return None,
    })
}

fn html_norm_table(c: char) -> Option<&'static str> {
    if c == '&' {
        return None;
    }
    html_table(c)
}

fn nospace_table(c: char) -> Option<&'static str> {
    Some(match c {
        '\0' => "&#xfffd;",
        '\t' => "&#9;",
        '\n' => "&#10;",
        '\x0b' => "&#11;",
        '\x0c' => "&#12;",
        '\r' => "&#13;",
        ' ' => "&#32;",
        '"' => "&#34;",
        '&' => "&amp;",
        '\'' => "&#39;",
        '+' => "&#43;",
        '<' => "&lt;",
        '=' => "&#61;",
        '>' => "&gt;",
        '`' => "&#96;",
        _ => return None,
    })
}

fn nospace_norm_table(c: char) -> Option<&'static str> {
    if c == '&' {
        return None;
    }
    nospace_table(c)
}

/// Go's `stripTags`: the text content of an HTML fragment.
fn strip_tags(html: &str) -> String {
    use super::context::{context_after_text, Context, State};
    let b = html.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut c = Context::default();
    let mut i = 0;
    let mut all_text = true;
    while i < b.len() {
        let (c1, n) = context_after_text(c.clone(), &b[i..]);
        let i1 = i + n;
        if c.state == State::Text || c.state == State::Rcdata {
            let mut j = i1;
            if c1.state != c.state {
                if let Some(k) = b[i..i1].iter().rposition(|&x| x == b'<') {
                    j = i + k;
                }
            }
            out.extend_from_slice(&b[i..j]);
        } else {
            all_text = false;
        }
        if n == 0 && c1 == c {
            break;
        }
        c = c1;
        i = i1;
        if c.state == State::Error {
            break;
        }
    }
    let _ = all_text;
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn html_escaper(args: &[Value]) -> String {
    let (s, t) = stringify(args);
    if t == Content::Html {
        return s;
    }
    html_replacer(&s, &html_table, true)
}

pub(crate) fn attr_escaper(args: &[Value]) -> String {
    let (s, t) = stringify(args);
    if t == Content::Html {
        return html_replacer(&strip_tags(&s), &html_norm_table, true);
    }
    html_replacer(&s, &html_table, true)
}

pub(crate) fn rcdata_escaper(args: &[Value]) -> String {
    let (s, t) = stringify(args);
    if t == Content::Html {
        return html_replacer(&s, &html_norm_table, true);
    }
    html_replacer(&s, &html_table, true)
}

pub(crate) fn nospace_escaper(args: &[Value]) -> String {
    let (s, t) = stringify(args);
    if t == Content::Html {
        return html_replacer(&strip_tags(&s), &nospace_norm_table, false);
    }
    html_replacer(&s, &nospace_table, false)
}

pub(crate) fn html_name_filter(args: &[Value]) -> String {
    let (s, t) = stringify(args);
    if t == Content::HtmlAttr {
        return s;
    }
    if s.is_empty() {
        return FILTER_FAILSAFE.into();
    }
    let s = s.to_lowercase();
    if attr_type(&s) != ContentType::Plain {
        return FILTER_FAILSAFE.into();
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
    {
        return FILTER_FAILSAFE.into();
    }
    s
}

fn is_safe_url(s: &str) -> bool {
    if let Some((proto, _)) = s.split_once(':') {
        if !proto.contains('/') {
            let p = proto.to_ascii_lowercase();
            return p == "http" || p == "https" || p == "mailto";
        }
    }
    true
}

pub(crate) fn url_filter(args: &[Value]) -> String {
    let (s, t) = stringify(args);
    if t == Content::Url {
        return s;
    }
    if !is_safe_url(&s) {
        return format!("#{FILTER_FAILSAFE}");
    }
    s
}

fn process_url(s: &str, norm: bool) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 16);
    for (i, &c) in b.iter().enumerate() {
        let keep = match c {
            b'!' | b'#' | b'$' | b'&' | b'*' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?'
            | b'@' | b'[' | b']' => norm,
            b'-' | b'.' | b'_' | b'~' => true,
            b'%' => {
                norm && i + 2 < b.len()
                    && b[i + 1].is_ascii_hexdigit()
                    && b[i + 2].is_ascii_hexdigit()
            }
            _ => c.is_ascii_alphanumeric(),
        };
        if keep {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02x}"));
        }
    }
    out
}

pub(crate) fn url_escaper(args: &[Value]) -> String {
    let (s, t) = stringify(args);
    process_url(&s, t == Content::Url)
}

pub(crate) fn url_normalizer(args: &[Value]) -> String {
    let (s, _) = stringify(args);
    process_url(&s, true)
}

pub(crate) fn srcset_escaper(args: &[Value]) -> String {
    let (s, t) = stringify(args);
    match t {
        Content::Srcset => return s,
        Content::Url => return process_url(&s, true).replace(',', "%2c"),
        _ => {}
    }
    let mut out = String::with_capacity(s.len());
    let mut written = 0;
    for (i, c) in s.bytes().enumerate() {
        if c == b',' {
            filter_srcset_element(&s, written, i, &mut out);
            out.push(',');
            written = i + 1;
        }
    }
    filter_srcset_element(&s, written, s.len(), &mut out);
    out
}

fn is_html_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')
}

fn filter_srcset_element(s: &str, left: usize, right: usize, out: &mut String) {
    let b = s.as_bytes();
    let mut start = left;
    while start < right && is_html_space(b[start]) {
        start += 1;
    }
    let end = (start..right)
        .find(|&i| is_html_space(b[i]))
        .unwrap_or(right);
    let url = &s[start..end];
    if is_safe_url(url)
        && b[end..right]
            .iter()
            .all(|&c| is_html_space(c) || c.is_ascii_alphanumeric())
    {
        out.push_str(&s[left..start]);
        out.push_str(&process_url(url, true));
        out.push_str(&s[end..right]);
        return;
    }
    out.push('#');
    out.push_str(FILTER_FAILSAFE);
}

fn js_low(c: char) -> Option<String> {
    let v = c as u32;
    if v < 0x20 {
        return Some(match c {
            '\t' => "\\t".into(),
            '\n' => "\\n".into(),
            '\x0c' => "\\f".into(),
            '\r' => "\\r".into(),
            _ => format!("\\u{v:04x}"),
        });
    }
    match c {
        '\u{2028}' => Some("\\u2028".into()),
        '\u{2029}' => Some("\\u2029".into()),
        _ => None,
    }
}

fn js_str_table(c: char, norm: bool) -> Option<String> {
    if let Some(s) = js_low(c) {
        return Some(s);
    }
    Some(
        match c {
            '"' => "\\u0022",
            '&' => "\\u0026",
            '\'' => "\\u0027",
            '`' => "\\u0060",
            '+' => "\\u002b",
            '/' => "\\/",
            '<' => "\\u003c",
            '>' => "\\u003e",
            '\\' if !norm => "\\\\",
            _ => return None,
        }
        .to_string(),
    )
}

pub(crate) fn js_str_escaper(args: &[Value]) -> String {
    let (s, t) = stringify(args);
    let norm = t == Content::JsStr;
    s.chars()
        .map(|c| js_str_table(c, norm).unwrap_or_else(|| c.to_string()))
        .collect()
}

pub(crate) fn js_regexp_escaper(args: &[Value]) -> String {
    let (s, _) = stringify(args);
    let out: String = s
        .chars()
        .map(|c| {
            if c == '`' {
                return c.to_string();
            }
            if let Some(x) = js_str_table(c, false) {
                return x;
            }
            match c {
                '$' | '(' | ')' | '*' | '-' | '.' | '?' | '[' | ']' | '^' | '{' | '|' | '}' => {
                    format!("\\{c}")
                }
                _ => c.to_string(),
            }
        })
        .collect();
    if out.is_empty() {
        return "(?:)".into();
    }
    out
}

/// JSON encoding as Go's `encoding/json` does it for template values.
fn json(v: &Value) -> String {
    match v {
        Value::Invalid | Value::Nil => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i, _) => i.to_string(),
        Value::Uint(u, _) => u.to_string(),
        Value::Float(f) => {
            if f.is_nan() || f.is_infinite() {
                return String::new();
            }
            let a = f.abs();
            if a != 0.0 && !(1e-6..1e21).contains(&a) {
                let s = crate::fmt::format_float(*f, 'e', -1);
                // Go trims the exponent's leading zero: e-07 -> e-7.
                if let Some(i) = s.find("e-0").or_else(|| s.find("e+0")) {
                    return format!("{}{}", &s[..i + 2], &s[i + 3..]);
                }
                s
            } else {
                crate::fmt::format_float(*f, 'f', -1)
            }
        }
        Value::Complex(..) | Value::Func(_) => String::new(),
        Value::String(s) | Value::Safe(_, s) => json_string(s),
        Value::List(l) => format!(
            "[{}]",
            l.items.iter().map(json).collect::<Vec<_>>().join(",")
        ),
        Value::Map(m) => format!(
            "{{{}}}",
            m.entries
                .iter()
                .map(|(k, v)| format!("{}:{}", json_string(k), json(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Object(o) => {
            if let Some(t) = crate::gotime::as_time(v) {
                return json_string(&t.format("2006-01-02T15:04:05.999999999Z07:00"));
            }
            if let Some(u) = o.underlying() {
                return json(&u);
            }
            format!(
                "{{{}}}",
                o.field_names()
                    .iter()
                    .map(|n| format!(
                        "{}:{}",
                        json_string(o.json_name(n).unwrap_or(n)),
                        json(&o.field(n).unwrap_or(Value::Nil))
                    ))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn js_val_escaper(args: &[Value]) -> String {
    let v: Value = if let [one] = args {
        match one {
            Value::Safe(SafeKind::Js, s) => return s.to_string(),
            Value::Safe(SafeKind::JsStr, s) => return format!("\"{s}\""),
            Value::Object(o) if crate::gotime::as_time(one).is_none() => match o.go_string() {
                Some(s) => Value::from(s),
                None => one.clone(),
            },
            other => other.clone(),
        }
    } else {
        Value::from(crate::fmt::sprint(args))
    };
    let b = json(&v);
    if b.is_empty() {
        return " null ".into();
    }
    let first = b.as_bytes()[0];
    let last = b.as_bytes()[b.len() - 1];
    let ident = |c: u8| c == b'$' || c == b'_' || c.is_ascii_alphanumeric();
    if ident(first) || ident(last) {
        return format!(" {b} ");
    }
    b
}

pub(crate) fn css_escaper(args: &[Value]) -> String {
    let (s, _) = stringify(args);
    let b: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in b.iter().enumerate() {
        let repl = match c {
            '\0' => "\\0",
            '\t' => "\\9",
            '\n' => "\\a",
            '\x0c' => "\\c",
            '\r' => "\\d",
            '"' => "\\22",
            '&' => "\\26",
            '\'' => "\\27",
            '(' => "\\28",
            ')' => "\\29",
            '+' => "\\2b",
            '/' => "\\2f",
            ':' => "\\3a",
            ';' => "\\3b",
            '<' => "\\3c",
            '>' => "\\3e",
            '\\' => "\\\\",
            '{' => "\\7b",
            '}' => "\\7d",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(repl);
        if repl != "\\\\" {
            match b.get(i + 1) {
                None => out.push(' '),
                Some(n)
                    if n.is_ascii_hexdigit() || matches!(n, ' ' | '\t' | '\n' | '\x0c' | '\r') =>
                {
                    out.push(' ')
                }
                _ => {}
            }
        }
    }
    out
}

pub(crate) fn css_value_filter(args: &[Value]) -> String {
    let (s, t) = stringify(args);
    if t == Content::Css {
        return s;
    }
    let b = s.as_bytes();
    let mut id = Vec::new();
    for (i, &c) in b.iter().enumerate() {
        match c {
            0 | b'"' | b'\'' | b'(' | b')' | b'/' | b';' | b'@' | b'[' | b'\\' | b']' | b'`'
            | b'{' | b'}' | b'<' | b'>' => return FILTER_FAILSAFE.into(),
            b'-' => {
                if i != 0 && b[i - 1] == b'-' {
                    return FILTER_FAILSAFE.into();
                }
                id.push(c);
            }
            _ => {
                if c.is_ascii_alphanumeric() || c == b'_' {
                    id.push(c);
                }
            }
        }
    }
    let id = String::from_utf8_lossy(&id).to_ascii_lowercase();
    if id.contains("expression") || id.contains("mozbinding") {
        return FILTER_FAILSAFE.into();
    }
    s
}

pub(crate) fn comment_escaper(_args: &[Value]) -> String {
    String::new()
}

/// Functions whose Go equivalents are interchangeable for pipeline merging.
pub(crate) fn normalize_esc_fn(name: &str) -> &str {
    match name {
        "_html_template_attrescaper"
        | "_html_template_htmlescaper"
        | "_html_template_rcdataescaper" => "html",
        "_html_template_urlescaper" | "_html_template_urlnormalizer" => "urlquery",
        other => other,
    }
}

/// The escaper functions, registered under Go's internal names.
pub(crate) fn escaper_funcs() -> FuncMap {
    type EscFn = fn(&[Value]) -> String;
    let table: [(&str, EscFn); 16] = [
        ("_html_template_attrescaper", attr_escaper),
        ("_html_template_commentescaper", comment_escaper),
        ("_html_template_cssescaper", css_escaper),
        ("_html_template_cssvaluefilter", css_value_filter),
        ("_html_template_htmlnamefilter", html_name_filter),
        ("_html_template_htmlescaper", html_escaper),
        ("_html_template_jsregexpescaper", js_regexp_escaper),
        ("_html_template_jsstrescaper", js_str_escaper),
        ("_html_template_jsvalescaper", js_val_escaper),
        ("_html_template_nospaceescaper", nospace_escaper),
        ("_html_template_rcdataescaper", rcdata_escaper),
        ("_html_template_srcsetescaper", srcset_escaper),
        ("_html_template_urlescaper", url_escaper),
        ("_html_template_urlfilter", url_filter),
        ("_html_template_urlnormalizer", url_normalizer),
        ("_eval_args_", |a| crate::builtins::eval_args(a)),
    ];
    let mut m = FuncMap::new();
    for (name, f) in table {
        let sig = GoSignature {
            params: vec![],
            variadic: Some(GoType::Any),
        };
        m.insert(name, Func::new(sig, move |args| Ok(Value::from(f(&args)))));
    }
    let _ = Kind::String;
    m
}
