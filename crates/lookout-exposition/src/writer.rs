//! Text format 0.0.4 writer (what `/federate` serves): `# TYPE` lines and
//! samples with Go-style float formatting and millisecond timestamps.

use crate::number::push_go_float;
use crate::MetricType;

/// Escapes a label value for the text format (`\\`, `\"`, newline).
pub fn push_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Appends `# HELP name text` with `\\` and newline escaped.
pub fn write_help(out: &mut String, name: &str, help: &str) {
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('\n');
}

/// Appends `# TYPE name type`.
pub fn write_type(out: &mut String, name: &str, kind: MetricType) {
    out.push_str("# TYPE ");
    out.push_str(name);
    out.push(' ');
    out.push_str(kind.text004_word());
    out.push('\n');
}

/// Appends one sample line `name{a="b",...} value [timestamp]`. Pairs named
/// `__name__` are skipped (the name goes first).
pub fn write_sample<'l>(
    out: &mut String,
    name: &str,
    labels: impl IntoIterator<Item = (&'l str, &'l str)>,
    value: f64,
    timestamp_ms: Option<i64>,
) {
    out.push_str(name);
    let mut first = true;
    for (n, v) in labels {
        if n == "__name__" {
            continue;
        }
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(n);
        out.push_str("=\"");
        push_label_value(out, v);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
    out.push(' ');
    push_go_float(out, value);
    if let Some(t) = timestamp_ms {
        out.push(' ');
        out.push_str(&t.to_string());
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_samples, Format};

    #[test]
    fn writes_and_reparses() {
        let mut s = String::new();
        write_help(&mut s, "up", "a \\ b\nc");
        write_type(&mut s, "up", MetricType::Gauge);
        write_sample(
            &mut s,
            "up",
            [("__name__", "up"), ("job", "a\"b\\c\nd"), ("x", "y")],
            1e6,
            Some(1700000000000),
        );
        write_sample(&mut s, "bare", [], f64::NEG_INFINITY, None);
        assert_eq!(
            s,
            "# HELP up a \\\\ b\\nc\n# TYPE up gauge\nup{job=\"a\\\"b\\\\c\\nd\",x=\"y\"} 1e+06 1700000000000\nbare -Inf\n"
        );
        let samples = parse_samples(s.as_bytes(), Format::Text004).unwrap();
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].labels[0].value, "a\"b\\c\nd");
        assert_eq!(samples[0].value, 1e6);
        assert_eq!(samples[0].timestamp_ms, Some(1700000000000));
        assert_eq!(samples[0].kind, MetricType::Gauge);
    }
}
