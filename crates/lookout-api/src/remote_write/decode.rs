//! Decoder for remote-write 1.0's `prometheus.WriteRequest` protobuf.
//!
//! Hand-written rather than generated with `prost`: prost would allocate a
//! `String` per label name and value and a `Vec` per series; this decoder
//! borrows every string from the (already snappy-decoded) body and lays the
//! request out in a few flat arrays that are reused across requests. Remote
//! write is lookout's hottest ingest path and is benchmarked against
//! VictoriaMetrics, so the allocation-free layout matters.
//!
//! Wire schema (field numbers are part of the protocol):
//! `WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }`
//! `TimeSeries { repeated Label labels = 1; repeated Sample samples = 2;
//!   repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }`
//! `Label { string name = 1; string value = 2; }`
//! `Sample { double value = 1; int64 timestamp = 2; }`
//! `Histogram { uint64 count_int = 1 | double count_float = 2; double sum = 3;
//!   sint32 schema = 4; double zero_threshold = 5; uint64 zero_count_int = 6 |
//!   double zero_count_float = 7; BucketSpan negative_spans = 8;
//!   sint64 negative_deltas = 9; double negative_counts = 10;
//!   BucketSpan positive_spans = 11; sint64 positive_deltas = 12;
//!   double positive_counts = 13; ResetHint reset_hint = 14; int64 timestamp = 15;
//!   double custom_values = 16; }`
//! `BucketSpan { sint32 offset = 1; uint32 length = 2; }`
//! `MetricMetadata { MetricType type = 1; string metric_family_name = 2;
//!   string help = 4; string unit = 5; }`

use std::ops::Range;

use lookout_model::{CounterResetHint, FloatHistogram, FloatSample, HistogramSample, Span};

/// Why a body is not a valid `WriteRequest`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The message ended inside a field.
    #[error("unexpected end of protobuf message")]
    Truncated,
    /// A varint ran over ten bytes.
    #[error("protobuf varint overflow")]
    VarintOverflow,
    /// A wire type this schema never uses (groups, or an unknown number).
    #[error("invalid protobuf wire type {0}")]
    WireType(u8),
    /// A known field arrived with the wrong wire type.
    #[error("protobuf field {field} has wire type {wire}, expected {expected}")]
    FieldType {
        /// Field number.
        field: u32,
        /// Wire type seen.
        wire: u8,
        /// Wire type the schema defines.
        expected: u8,
    },
    /// A string field is not valid UTF-8.
    #[error("invalid UTF-8 in label or metadata string")]
    Utf8,
}

/// A label borrowed from the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelRef<'a> {
    /// Label name.
    pub name: &'a str,
    /// Label value.
    pub value: &'a str,
}

/// Where one series' parts sit in the flat arrays of [`WriteRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRanges {
    /// Range into [`WriteRequest::labels`].
    pub labels: Range<usize>,
    /// Range into [`WriteRequest::samples`].
    pub samples: Range<usize>,
    /// Range into [`WriteRequest::histograms`].
    pub histograms: Range<usize>,
}

/// One metadata entry borrowed from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetadataRef<'a> {
    /// Metric type number (0 unknown, 1 counter, 2 gauge, 3 histogram,
    /// 4 gaugehistogram, 5 summary, 6 info, 7 stateset).
    pub kind: u64,
    /// Family name.
    pub family: &'a str,
    /// Help text.
    pub help: &'a str,
    /// Unit.
    pub unit: &'a str,
}

/// A decoded `WriteRequest` whose strings borrow from the body.
#[derive(Debug, Default)]
pub struct WriteRequest<'a> {
    /// Per-series ranges.
    pub series: Vec<SeriesRanges>,
    /// Every label of every series, in order.
    pub labels: Vec<LabelRef<'a>>,
    /// Every float sample of every series, in order.
    pub samples: Vec<FloatSample>,
    /// Every histogram sample of every series, in order.
    pub histograms: Vec<HistogramSample>,
    /// Number of exemplars seen (lookout does not store exemplars yet).
    pub exemplars: usize,
    /// Metadata entries.
    pub metadata: Vec<MetadataRef<'a>>,
}

/// A borrowed view of one series.
#[derive(Debug, Clone, Copy)]
pub struct SeriesView<'r, 'a> {
    /// Labels as sent (unsorted, possibly with duplicates).
    pub labels: &'r [LabelRef<'a>],
    /// Float samples as sent.
    pub samples: &'r [FloatSample],
    /// Histogram samples as sent.
    pub histograms: &'r [HistogramSample],
}

impl<'a> WriteRequest<'a> {
    /// Iterates the series.
    pub fn iter(&self) -> impl Iterator<Item = SeriesView<'_, 'a>> + '_ {
        self.series.iter().map(move |s| SeriesView {
            labels: self.labels.get(s.labels.clone()).unwrap_or(&[]),
            samples: self.samples.get(s.samples.clone()).unwrap_or(&[]),
            histograms: self.histograms.get(s.histograms.clone()).unwrap_or(&[]),
        })
    }

    /// Total float samples.
    pub fn sample_count(&self) -> usize {
        self.samples.len()
    }
}

const WIRE_VARINT: u8 = 0;
const WIRE_I64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_I32: u8 = 5;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = *self.buf.get(self.pos).ok_or(DecodeError::Truncated)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(DecodeError::VarintOverflow)
    }

    #[inline]
    fn fixed64(&mut self) -> Result<u64, DecodeError> {
        let end = self.pos.checked_add(8).ok_or(DecodeError::Truncated)?;
        let bytes = self.buf.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        let mut a = [0u8; 8];
        a.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(a))
    }

    #[inline]
    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = usize::try_from(self.varint()?).map_err(|_| DecodeError::Truncated)?;
        let end = self.pos.checked_add(len).ok_or(DecodeError::Truncated)?;
        let b = self.buf.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(b)
    }

    #[inline]
    fn str(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| DecodeError::Utf8)
    }

    #[inline]
    fn key(&mut self) -> Result<(u32, u8), DecodeError> {
        let k = self.varint()?;
        let wire = (k & 7) as u8;
        let field = (k >> 3) as u32;
        Ok((field, wire))
    }

    fn skip(&mut self, wire: u8) -> Result<(), DecodeError> {
        match wire {
            WIRE_VARINT => {
                self.varint()?;
            }
            WIRE_I64 => {
                self.fixed64()?;
            }
            WIRE_LEN => {
                self.bytes()?;
            }
            WIRE_I32 => {
                let end = self.pos.checked_add(4).ok_or(DecodeError::Truncated)?;
                if end > self.buf.len() {
                    return Err(DecodeError::Truncated);
                }
                self.pos = end;
            }
            w => return Err(DecodeError::WireType(w)),
        }
        Ok(())
    }
}

fn expect(field: u32, wire: u8, expected: u8) -> Result<(), DecodeError> {
    if wire == expected {
        Ok(())
    } else {
        Err(DecodeError::FieldType {
            field,
            wire,
            expected,
        })
    }
}

fn zigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn zigzag32(v: u64) -> i32 {
    zigzag64(v) as i32
}

/// Decodes `buf` into `out`, clearing it first (its vectors keep their
/// capacity, so a reused `WriteRequest` stops allocating after warm-up).
pub fn decode_write_request<'a>(
    buf: &'a [u8],
    out: &mut WriteRequest<'a>,
) -> Result<(), DecodeError> {
    out.series.clear();
    out.labels.clear();
    out.samples.clear();
    out.histograms.clear();
    out.metadata.clear();
    out.exemplars = 0;
    let mut r = Reader::new(buf);
    while !r.done() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(field, wire, WIRE_LEN)?;
                let body = r.bytes()?;
                decode_series(body, out)?;
            }
            3 => {
                expect(field, wire, WIRE_LEN)?;
                let body = r.bytes()?;
                out.metadata.push(decode_metadata(body)?);
            }
            _ => r.skip(wire)?,
        }
    }
    Ok(())
}

fn decode_series<'a>(buf: &'a [u8], out: &mut WriteRequest<'a>) -> Result<(), DecodeError> {
    let l0 = out.labels.len();
    let s0 = out.samples.len();
    let h0 = out.histograms.len();
    let mut r = Reader::new(buf);
    while !r.done() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(field, wire, WIRE_LEN)?;
                let body = r.bytes()?;
                out.labels.push(decode_label(body)?);
            }
            2 => {
                expect(field, wire, WIRE_LEN)?;
                let body = r.bytes()?;
                out.samples.push(decode_sample(body)?);
            }
            3 => {
                expect(field, wire, WIRE_LEN)?;
                r.bytes()?;
                out.exemplars += 1;
            }
            4 => {
                expect(field, wire, WIRE_LEN)?;
                let body = r.bytes()?;
                out.histograms.push(decode_histogram(body)?);
            }
            _ => r.skip(wire)?,
        }
    }
    out.series.push(SeriesRanges {
        labels: l0..out.labels.len(),
        samples: s0..out.samples.len(),
        histograms: h0..out.histograms.len(),
    });
    Ok(())
}

#[inline]
fn decode_label(buf: &[u8]) -> Result<LabelRef<'_>, DecodeError> {
    let mut r = Reader::new(buf);
    let mut l = LabelRef {
        name: "",
        value: "",
    };
    while !r.done() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(field, wire, WIRE_LEN)?;
                l.name = r.str()?;
            }
            2 => {
                expect(field, wire, WIRE_LEN)?;
                l.value = r.str()?;
            }
            _ => r.skip(wire)?,
        }
    }
    Ok(l)
}

#[inline]
fn decode_sample(buf: &[u8]) -> Result<FloatSample, DecodeError> {
    // Fast path: the canonical 11-byte encoding (value then timestamp) that
    // every Prometheus-compatible sender produces.
    if buf.len() >= 10 && buf[0] == 0x09 && buf[9] == 0x10 {
        let mut r = Reader::new(&buf[10..]);
        let mut a = [0u8; 8];
        a.copy_from_slice(&buf[1..9]);
        let v = f64::from_le_bytes(a);
        let t = r.varint()? as i64;
        if r.done() {
            return Ok(FloatSample { t, v });
        }
    }
    let mut r = Reader::new(buf);
    let mut s = FloatSample { t: 0, v: 0.0 };
    while !r.done() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(field, wire, WIRE_I64)?;
                s.v = f64::from_bits(r.fixed64()?);
            }
            2 => {
                expect(field, wire, WIRE_VARINT)?;
                s.t = r.varint()? as i64;
            }
            _ => r.skip(wire)?,
        }
    }
    Ok(s)
}

fn decode_metadata(buf: &[u8]) -> Result<MetadataRef<'_>, DecodeError> {
    let mut r = Reader::new(buf);
    let mut m = MetadataRef {
        kind: 0,
        family: "",
        help: "",
        unit: "",
    };
    while !r.done() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(field, wire, WIRE_VARINT)?;
                m.kind = r.varint()?;
            }
            2 => {
                expect(field, wire, WIRE_LEN)?;
                m.family = r.str()?;
            }
            4 => {
                expect(field, wire, WIRE_LEN)?;
                m.help = r.str()?;
            }
            5 => {
                expect(field, wire, WIRE_LEN)?;
                m.unit = r.str()?;
            }
            _ => r.skip(wire)?,
        }
    }
    Ok(m)
}

fn decode_span(buf: &[u8]) -> Result<Span, DecodeError> {
    let mut r = Reader::new(buf);
    let mut s = Span::default();
    while !r.done() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(field, wire, WIRE_VARINT)?;
                s.offset = zigzag32(r.varint()?);
            }
            2 => {
                expect(field, wire, WIRE_VARINT)?;
                s.length = r.varint()? as u32;
            }
            _ => r.skip(wire)?,
        }
    }
    Ok(s)
}

/// Reads a repeated sint64 field, packed or not.
fn read_sint64s(r: &mut Reader<'_>, wire: u8, out: &mut Vec<i64>) -> Result<(), DecodeError> {
    if wire == WIRE_LEN {
        let mut p = Reader::new(r.bytes()?);
        while !p.done() {
            out.push(zigzag64(p.varint()?));
        }
        Ok(())
    } else {
        expect(0, wire, WIRE_VARINT)?;
        out.push(zigzag64(r.varint()?));
        Ok(())
    }
}

/// Reads a repeated double field, packed or not.
fn read_doubles(r: &mut Reader<'_>, wire: u8, out: &mut Vec<f64>) -> Result<(), DecodeError> {
    if wire == WIRE_LEN {
        let mut p = Reader::new(r.bytes()?);
        while !p.done() {
            out.push(f64::from_bits(p.fixed64()?));
        }
        Ok(())
    } else {
        expect(0, wire, WIRE_I64)?;
        out.push(f64::from_bits(r.fixed64()?));
        Ok(())
    }
}

/// Turns integer bucket deltas into absolute counts.
fn deltas_to_counts(deltas: &[i64]) -> Vec<f64> {
    let mut acc: i64 = 0;
    deltas
        .iter()
        .map(|d| {
            acc = acc.wrapping_add(*d);
            acc as f64
        })
        .collect()
}

fn decode_histogram(buf: &[u8]) -> Result<HistogramSample, DecodeError> {
    let mut r = Reader::new(buf);
    let mut h = FloatHistogram::default();
    let mut t = 0i64;
    let (mut neg_deltas, mut pos_deltas) = (Vec::new(), Vec::new());
    let (mut neg_counts, mut pos_counts) = (Vec::new(), Vec::new());
    while !r.done() {
        let (field, wire) = r.key()?;
        match field {
            1 => {
                expect(field, wire, WIRE_VARINT)?;
                h.count = r.varint()? as f64;
            }
            2 => {
                expect(field, wire, WIRE_I64)?;
                h.count = f64::from_bits(r.fixed64()?);
            }
            3 => {
                expect(field, wire, WIRE_I64)?;
                h.sum = f64::from_bits(r.fixed64()?);
            }
            4 => {
                expect(field, wire, WIRE_VARINT)?;
                h.schema = zigzag32(r.varint()?);
            }
            5 => {
                expect(field, wire, WIRE_I64)?;
                h.zero_threshold = f64::from_bits(r.fixed64()?);
            }
            6 => {
                expect(field, wire, WIRE_VARINT)?;
                h.zero_count = r.varint()? as f64;
            }
            7 => {
                expect(field, wire, WIRE_I64)?;
                h.zero_count = f64::from_bits(r.fixed64()?);
            }
            8 => {
                expect(field, wire, WIRE_LEN)?;
                h.negative_spans.push(decode_span(r.bytes()?)?);
            }
            9 => read_sint64s(&mut r, wire, &mut neg_deltas)?,
            10 => read_doubles(&mut r, wire, &mut neg_counts)?,
            11 => {
                expect(field, wire, WIRE_LEN)?;
                h.positive_spans.push(decode_span(r.bytes()?)?);
            }
            12 => read_sint64s(&mut r, wire, &mut pos_deltas)?,
            13 => read_doubles(&mut r, wire, &mut pos_counts)?,
            14 => {
                expect(field, wire, WIRE_VARINT)?;
                h.counter_reset_hint = match r.varint()? {
                    1 => CounterResetHint::CounterReset,
                    2 => CounterResetHint::NotCounterReset,
                    3 => CounterResetHint::Gauge,
                    _ => CounterResetHint::Unknown,
                };
            }
            15 => {
                expect(field, wire, WIRE_VARINT)?;
                t = r.varint()? as i64;
            }
            16 => read_doubles(&mut r, wire, &mut h.custom_values)?,
            _ => r.skip(wire)?,
        }
    }
    // Integer histograms carry deltas, float histograms absolute counts.
    h.negative_buckets = if neg_counts.is_empty() {
        deltas_to_counts(&neg_deltas)
    } else {
        neg_counts
    };
    h.positive_buckets = if pos_counts.is_empty() {
        deltas_to_counts(&pos_deltas)
    } else {
        pos_counts
    };
    Ok(HistogramSample { t, h })
}

/// Encoding helpers for tests and benches: builds `WriteRequest` bodies.
pub mod encode {
    /// Appends a varint.
    pub fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn len_field(out: &mut Vec<u8>, field: u32, body: &[u8]) {
        varint(out, u64::from(field << 3 | 2));
        varint(out, body.len() as u64);
        out.extend_from_slice(body);
    }

    /// Encodes one series (labels, then `(timestamp ms, value)` samples) as a
    /// `timeseries` field and appends it to `out`.
    pub fn series(out: &mut Vec<u8>, labels: &[(&str, &str)], samples: &[(i64, f64)]) {
        let mut ts = Vec::new();
        for (n, v) in labels {
            let mut l = Vec::new();
            len_field(&mut l, 1, n.as_bytes());
            len_field(&mut l, 2, v.as_bytes());
            len_field(&mut ts, 1, &l);
        }
        for (t, v) in samples {
            let mut s = Vec::new();
            s.push(0x09);
            s.extend_from_slice(&v.to_le_bytes());
            s.push(0x10);
            varint(&mut s, *t as u64);
            len_field(&mut ts, 2, &s);
        }
        len_field(out, 1, &ts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_series_and_samples() {
        let mut body = Vec::new();
        encode::series(
            &mut body,
            &[("__name__", "up"), ("job", "a")],
            &[(1000, 1.0), (-5, f64::NAN)],
        );
        encode::series(&mut body, &[("__name__", "x")], &[(2000, 2.5)]);
        let mut req = WriteRequest::default();
        decode_write_request(&body, &mut req).unwrap();
        let series: Vec<_> = req.iter().collect();
        assert_eq!(series.len(), 2);
        assert_eq!(
            series[0].labels,
            &[
                LabelRef {
                    name: "__name__",
                    value: "up"
                },
                LabelRef {
                    name: "job",
                    value: "a"
                }
            ]
        );
        assert_eq!(series[0].samples[0], FloatSample { t: 1000, v: 1.0 });
        assert_eq!(series[0].samples[1].t, -5);
        assert!(series[0].samples[1].v.is_nan());
        assert_eq!(series[1].samples, &[FloatSample { t: 2000, v: 2.5 }]);
    }

    #[test]
    fn sample_fields_in_any_order_and_unknown_fields() {
        // Sample with timestamp first, then value, then an unknown varint field 7.
        let mut s = vec![0x10];
        encode::varint(&mut s, 42);
        s.push(0x09);
        s.extend_from_slice(&3.5f64.to_le_bytes());
        s.push(7 << 3);
        s.push(1);
        assert_eq!(decode_sample(&s).unwrap(), FloatSample { t: 42, v: 3.5 });
    }

    #[test]
    fn rejects_garbage() {
        let mut req = WriteRequest::default();
        assert_eq!(
            decode_write_request(&[0x0a, 0x05, 0x01], &mut req),
            Err(DecodeError::Truncated)
        );
        assert!(decode_write_request(&[0x0b], &mut req).is_err()); // wire type 3
        assert!(decode_write_request(&[0x08, 0x01], &mut req).is_err()); // field 1 as varint
        let mut bad_utf8 = Vec::new();
        let mut l = vec![0x0a, 0x02, 0xff, 0xfe];
        l.extend_from_slice(&[0x12, 0x01, b'a']);
        let mut ts = vec![0x0a, l.len() as u8];
        ts.extend_from_slice(&l);
        bad_utf8.push(0x0a);
        bad_utf8.push(ts.len() as u8);
        bad_utf8.extend_from_slice(&ts);
        assert_eq!(
            decode_write_request(&bad_utf8, &mut req),
            Err(DecodeError::Utf8)
        );
    }

    #[test]
    fn decodes_integer_histogram() {
        // count_int=5, sum=3.0, schema=0 (zigzag 0), zero_count_int=1,
        // positive span {offset 0, length 2}, deltas [2, 0] packed, timestamp 7.
        let mut h = Vec::new();
        h.extend_from_slice(&[0x08, 5]);
        h.push(0x19);
        h.extend_from_slice(&3.0f64.to_le_bytes());
        h.extend_from_slice(&[0x20, 0]);
        h.extend_from_slice(&[0x30, 1]);
        h.extend_from_slice(&[0x5a, 0x04, 0x08, 0x00, 0x10, 0x02]);
        h.extend_from_slice(&[0x62, 0x02, 0x04, 0x00]);
        h.extend_from_slice(&[0x78, 7]);
        let hs = decode_histogram(&h).unwrap();
        assert_eq!(hs.t, 7);
        assert_eq!(hs.h.count, 5.0);
        assert_eq!(hs.h.sum, 3.0);
        assert_eq!(hs.h.zero_count, 1.0);
        assert_eq!(
            hs.h.positive_spans,
            vec![Span {
                offset: 0,
                length: 2
            }]
        );
        assert_eq!(hs.h.positive_buckets, vec![2.0, 2.0]);
    }
}
