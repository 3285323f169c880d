//! Text outputs: OpenMetrics (for `promtool tsdb create-blocks-from
//! openmetrics` and `lookout tsdb import --openmetrics`) and the Prometheus
//! text format with millisecond timestamps (VictoriaMetrics'
//! `/api/v1/import/prometheus`).

use crate::dataset::{GenSample, Spec, TimeMajor, ValueKind};
use lookout_model::labels::Labels;
use std::io::{self, Write};

/// Appends a sample value in a form Go's `strconv.ParseFloat` and Rust's
/// `f64::from_str` read back to the same bits (shortest round-trip digits).
pub fn push_value(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if v == v.trunc() && v.abs() < 9.007_199_254_740_992e15 {
        let mut b = itoa::Buffer::new();
        if v == 0.0 && v.is_sign_negative() {
            out.extend_from_slice(b"-0");
        } else {
            out.extend_from_slice(b.format(v as i64).as_bytes());
        }
    } else {
        let mut b = ryu::Buffer::new();
        out.extend_from_slice(b.format_finite(v).as_bytes());
    }
}

/// Appends a millisecond timestamp as OpenMetrics seconds. A trailing `5` is
/// added after the three millisecond digits: parsers that compute
/// `trunc(seconds × 1000)` in float64 (promtool) would otherwise turn e.g.
/// `…600.123` into `…600122` ms; `.1235` truncates to exactly 123 ms both in
/// float64 and in exact decimal parsing.
pub fn push_om_timestamp(out: &mut Vec<u8>, t_ms: i64) {
    let mut b = itoa::Buffer::new();
    if t_ms < 0 {
        out.push(b'-');
    }
    let abs = t_ms.unsigned_abs();
    out.extend_from_slice(b.format(abs / 1000).as_bytes());
    let frac = abs % 1000;
    out.extend_from_slice(&[
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
        b'5',
    ]);
}

/// Text-format label value escaping: only `\\`, `\"` and newline are escaped.
fn push_escaped(out: &mut Vec<u8>, v: &str) {
    for &b in v.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

/// `name{a="b",c="d"}` for a label set (metric name outside the braces).
pub fn series_prefix(labels: &Labels) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(labels.metric_name().unwrap_or("").as_bytes());
    let mut first = true;
    for l in labels.iter().filter(|l| l.name != "__name__") {
        out.push(if first { b'{' } else { b',' });
        first = false;
        out.extend_from_slice(l.name.as_bytes());
        out.extend_from_slice(b"=\"");
        push_escaped(&mut out, &l.value);
        out.push(b'"');
    }
    if !first {
        out.push(b'}');
    }
    out
}

/// Sample order in text outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// All samples of one series, then the next (what OpenMetrics requires:
    /// a metric family's samples are contiguous).
    SeriesMajor,
    /// All series at one timestamp, then the next (scrape order).
    TimeMajor,
}

/// Summary of a write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Samples written.
    pub samples: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Writes the dataset as OpenMetrics 1.0 text: `# TYPE` per family, samples
/// series-major (families contiguous, timestamps ascending per series),
/// seconds timestamps, and the mandatory `# EOF`.
pub fn write_openmetrics<W: Write>(spec: &Spec, mut w: W) -> io::Result<Written> {
    let mut buf = Vec::with_capacity(1 << 16);
    let mut written = Written::default();
    for m in 0..spec.metrics {
        let kind = ValueKind::of_metric(m);
        buf.extend_from_slice(b"# TYPE ");
        buf.extend_from_slice(spec.family_name(m).as_bytes());
        buf.extend_from_slice(if kind.is_counter() {
            b" counter\n"
        } else {
            b" gauge\n"
        });
        for s in 0..spec.series_per_metric {
            let idx = m as u64 * spec.series_per_metric as u64 + s as u64;
            let prefix = series_prefix(&spec.labels(idx));
            for (t, v) in spec.series_gen(idx) {
                buf.extend_from_slice(&prefix);
                buf.push(b' ');
                push_value(&mut buf, v);
                buf.push(b' ');
                push_om_timestamp(&mut buf, t);
                buf.push(b'\n');
                written.samples += 1;
                if buf.len() >= 1 << 16 {
                    w.write_all(&buf)?;
                    written.bytes += buf.len() as u64;
                    buf.clear();
                }
            }
        }
    }
    buf.extend_from_slice(b"# EOF\n");
    w.write_all(&buf)?;
    written.bytes += buf.len() as u64;
    w.flush()?;
    Ok(written)
}

/// Writes the dataset as Prometheus text format 0.0.4 lines with millisecond
/// timestamps (`name{labels} value ts_ms`), no metadata lines.
pub fn write_prometheus_text<W: Write>(spec: &Spec, order: Order, mut w: W) -> io::Result<Written> {
    let mut buf = Vec::with_capacity(1 << 16);
    let mut written = Written::default();
    let mut emit = |buf: &mut Vec<u8>, prefix: &[u8], s: GenSample, w: &mut W| -> io::Result<()> {
        buf.extend_from_slice(prefix);
        buf.push(b' ');
        push_value(buf, s.v);
        buf.push(b' ');
        buf.extend_from_slice(itoa::Buffer::new().format(s.t).as_bytes());
        buf.push(b'\n');
        written.samples += 1;
        if buf.len() >= 1 << 16 {
            w.write_all(buf)?;
            written.bytes += buf.len() as u64;
            buf.clear();
        }
        Ok(())
    };
    match order {
        Order::SeriesMajor => {
            for idx in 0..spec.series() {
                let prefix = series_prefix(&spec.labels(idx));
                for (t, v) in spec.series_gen(idx) {
                    emit(&mut buf, &prefix, GenSample { series: idx, t, v }, &mut w)?;
                }
            }
        }
        Order::TimeMajor => {
            let prefixes: Vec<Vec<u8>> = (0..spec.series())
                .map(|i| series_prefix(&spec.labels(i)))
                .collect();
            for s in TimeMajor::new(spec) {
                let prefix = prefixes
                    .get(s.series as usize)
                    .map(Vec::as_slice)
                    .unwrap_or(b"");
                emit(&mut buf, prefix, s, &mut w)?;
            }
        }
    }
    w.write_all(&buf)?;
    written.bytes += buf.len() as u64;
    w.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Entropy;

    fn fmt_v(v: f64) -> String {
        let mut b = Vec::new();
        push_value(&mut b, v);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn values_round_trip() {
        for v in [
            0.0,
            -0.0,
            1.0,
            12345.67,
            -0.01,
            1e300,
            5e-324,
            4096.0 * 1e6,
            0.1 + 0.2,
            9.1e15,
        ] {
            let s = fmt_v(v);
            let back: f64 = s.parse().unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{v} -> {s}");
        }
        assert_eq!(fmt_v(f64::NAN), "NaN");
        assert_eq!(fmt_v(f64::INFINITY), "+Inf");
        assert_eq!(fmt_v(f64::NEG_INFINITY), "-Inf");
        assert_eq!(fmt_v(12345.67), "12345.67");
    }

    #[test]
    fn om_timestamps_truncate_to_exact_ms_in_float64() {
        for t in [
            0i64,
            1,
            999,
            1_795_773_600_123,
            1_795_773_600_999,
            1_767_225_600_000,
            -1234,
        ] {
            let mut b = Vec::new();
            push_om_timestamp(&mut b, t);
            let s = String::from_utf8(b).unwrap();
            let secs: f64 = s.parse().unwrap();
            assert_eq!((secs * 1000.0) as i64, t, "{t} -> {s}");
        }
    }

    #[test]
    fn openmetrics_shape() {
        let spec = Spec {
            metrics: 3,
            series_per_metric: 2,
            start_ms: 1_000_000,
            interval_ms: 15_000,
            points: 3,
            seed: 1,
            entropy: Entropy::ScrapeLike,
            idx_label: false,
            metric_prefix: "x".into(),
            job: "j".into(),
        };
        let mut out = Vec::new();
        let w = write_openmetrics(&spec, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(w.samples, 18);
        assert_eq!(w.bytes as usize, text.len());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# TYPE x_0 counter");
        assert!(lines[1].starts_with("x_0_total{instance=\"host-00000:9100\",job=\"j\"} "));
        assert!(lines[1].ends_with(" 1000.0005"), "{}", lines[1]);
        assert_eq!(lines.iter().filter(|l| l.starts_with("# TYPE")).count(), 3);
        assert_eq!(*lines.last().unwrap(), "# EOF");
    }

    #[test]
    fn prometheus_text_orders() {
        let mut spec = Spec::storage_bar(1_000_000, 5);
        spec.metrics = 2;
        spec.series_per_metric = 2;
        spec.points = 3;
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_prometheus_text(&spec, Order::SeriesMajor, &mut a).unwrap();
        write_prometheus_text(&spec, Order::TimeMajor, &mut b).unwrap();
        let mut la: Vec<&str> = std::str::from_utf8(&a).unwrap().lines().collect();
        let mut lb: Vec<&str> = std::str::from_utf8(&b).unwrap().lines().collect();
        assert_eq!(lb[1].split(' ').nth(2), Some("1000000"));
        assert_eq!(la.len(), 12);
        la.sort();
        lb.sort();
        assert_eq!(la, lb);
    }
}
