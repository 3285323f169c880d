//! Warnings and infos attached to query results, with Prometheus' exact
//! texts. Annotations are deduplicated by text, as upstream does.

use std::collections::BTreeMap;

/// Severity of an annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnnotationKind {
    /// `PromQL warning: ...`
    Warning,
    /// `PromQL info: ...`
    Info,
}

pub use crate::parser::ast::PosRange;

/// One annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    /// Warning or info.
    pub kind: AnnotationKind,
    /// Message including the `PromQL warning: ` / `PromQL info: ` prefix.
    pub message: String,
    /// Where in the query the cause is.
    pub pos: PosRange,
}

impl Annotation {
    /// The API-rendered form, which appends `(line:col)` of the cause.
    pub fn render(&self, query: &str) -> String {
        let (line, col) = line_col(query, self.pos.start);
        format!("{} ({line}:{col})", self.message)
    }
}

fn line_col(query: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for (i, c) in query.char_indices() {
        if i >= offset {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// A deduplicated set of annotations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Annotations {
    items: BTreeMap<String, Annotation>,
}

impl Annotations {
    /// Adds one; an identical message is kept once (first position wins).
    pub fn add(&mut self, a: Annotation) {
        self.items.entry(a.message.clone()).or_insert(a);
    }

    /// Adds a warning with the given text (prefix added here).
    pub fn warn(&mut self, text: impl AsRef<str>, pos: PosRange) {
        self.add(Annotation {
            kind: AnnotationKind::Warning,
            message: format!("PromQL warning: {}", text.as_ref()),
            pos,
        });
    }

    /// Adds an info with the given text (prefix added here).
    pub fn info(&mut self, text: impl AsRef<str>, pos: PosRange) {
        self.add(Annotation {
            kind: AnnotationKind::Info,
            message: format!("PromQL info: {}", text.as_ref()),
            pos,
        });
    }

    /// Merges another set into this one.
    pub fn merge(&mut self, other: Annotations) {
        for (_, a) in other.items {
            self.add(a);
        }
    }

    /// Every annotation.
    pub fn iter(&self) -> impl Iterator<Item = &Annotation> {
        self.items.values()
    }

    /// Annotations of one kind.
    pub fn of_kind(&self, kind: AnnotationKind) -> impl Iterator<Item = &Annotation> {
        self.items.values().filter(move |a| a.kind == kind)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Number of annotations.
    pub fn len(&self) -> usize {
        self.items.len()
    }
}

/// `for metric name "x"` suffix, only when the name is known.
pub(crate) fn with_metric_name(msg: &str, metric: &str) -> String {
    if metric.is_empty() {
        msg.to_string()
    } else {
        format!("{msg} for metric name {}", go_quote(metric))
    }
}

/// Go's `%q` quoting of a string (ASCII printable kept, others escaped).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%g` formatting of a float (shortest representation, exponent for
/// large/small magnitudes).
pub(crate) fn go_float_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest round-trip digits via Rust's `{:e}`.
    let e = format!("{v:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g_formatting() {
        assert_eq!(go_float_g(1.1), "1.1");
        assert_eq!(go_float_g(-1.0), "-1");
        assert_eq!(go_float_g(f64::NAN), "NaN");
        assert_eq!(go_float_g(1e21), "1e+21");
        assert_eq!(go_float_g(0.00001), "1e-05");
        assert_eq!(go_float_g(123456.0), "123456");
        assert_eq!(go_float_g(1e6), "1e+06");
    }

    #[test]
    fn dedup_by_message() {
        let mut a = Annotations::default();
        a.warn("x", PosRange::default());
        a.warn("x", PosRange { start: 3, end: 4 });
        a.info("y", PosRange::default());
        assert_eq!(a.len(), 2);
        assert_eq!(a.of_kind(AnnotationKind::Info).count(), 1);
    }

    #[test]
    fn render_position() {
        let a = Annotation {
            kind: AnnotationKind::Info,
            message: "PromQL info: z".into(),
            pos: PosRange { start: 4, end: 6 },
        };
        assert_eq!(a.render("ab\ncdef"), "PromQL info: z (2:2)");
    }
}
