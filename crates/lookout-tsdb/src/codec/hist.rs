//! Native histogram column codec (simple first version).
//!
//! Each histogram is serialised field by field (varints for schema and
//! spans, raw 8-byte floats for counts); the concatenation is zstd'ed when
//! that helps. Blocks carry a value-kind byte, so a compact columnar
//! histogram codec can be added later as a new tag without touching floats.
//!
//! | tag | layout |
//! |---|---|
//! | `PLAIN` | serialised histograms back to back |
//! | `ZSTD` | uvarint plain length, uvarint compressed length, zstd frame |

use lookout_model::{CounterResetHint, FloatHistogram, Span};

use super::bytes::{put_uvarint, put_varint, Reader};
use super::CodecError;

const PLAIN: u8 = 0;
const ZSTD: u8 = 1;

/// Histograms are small; a block of them is capped far below this.
const MAX_PLAIN_LEN: usize = 1 << 30;
/// No histogram has more buckets or spans than this.
const MAX_ITEMS: usize = 1 << 20;

fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

fn put_spans(out: &mut Vec<u8>, spans: &[Span]) {
    put_uvarint(out, spans.len() as u64);
    for s in spans {
        put_varint(out, i64::from(s.offset));
        put_uvarint(out, u64::from(s.length));
    }
}

fn put_floats(out: &mut Vec<u8>, vs: &[f64]) {
    put_uvarint(out, vs.len() as u64);
    for &v in vs {
        put_f64(out, v);
    }
}

/// Serialises one histogram (also used by the WAL).
pub fn put_histogram(out: &mut Vec<u8>, h: &FloatHistogram) {
    out.push(match h.counter_reset_hint {
        CounterResetHint::Unknown => 0,
        CounterResetHint::CounterReset => 1,
        CounterResetHint::NotCounterReset => 2,
        CounterResetHint::Gauge => 3,
    });
    put_varint(out, i64::from(h.schema));
    put_f64(out, h.zero_threshold);
    put_f64(out, h.zero_count);
    put_f64(out, h.count);
    put_f64(out, h.sum);
    put_spans(out, &h.positive_spans);
    put_spans(out, &h.negative_spans);
    put_floats(out, &h.positive_buckets);
    put_floats(out, &h.negative_buckets);
    put_floats(out, &h.custom_values);
}

fn get_f64(r: &mut Reader<'_>) -> Result<f64, CodecError> {
    Ok(f64::from_bits(r.u64_le()?))
}

fn get_spans(r: &mut Reader<'_>) -> Result<Vec<Span>, CodecError> {
    let n = r.len(MAX_ITEMS.min(r.remaining()))?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let offset = i32::try_from(r.varint()?).map_err(|_| CodecError::Corrupt("span offset"))?;
        let length = u32::try_from(r.uvarint()?).map_err(|_| CodecError::Corrupt("span length"))?;
        v.push(Span { offset, length });
    }
    Ok(v)
}

fn get_floats(r: &mut Reader<'_>) -> Result<Vec<f64>, CodecError> {
    let n = r.len(MAX_ITEMS.min(r.remaining() / 8))?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(get_f64(r)?);
    }
    Ok(v)
}

/// Reads one histogram written by [`put_histogram`].
pub fn get_histogram(r: &mut Reader<'_>) -> Result<FloatHistogram, CodecError> {
    let counter_reset_hint = match r.u8()? {
        0 => CounterResetHint::Unknown,
        1 => CounterResetHint::CounterReset,
        2 => CounterResetHint::NotCounterReset,
        3 => CounterResetHint::Gauge,
        _ => return Err(CodecError::Corrupt("histogram reset hint")),
    };
    let schema = i32::try_from(r.varint()?).map_err(|_| CodecError::Corrupt("histogram schema"))?;
    Ok(FloatHistogram {
        counter_reset_hint,
        schema,
        zero_threshold: get_f64(r)?,
        zero_count: get_f64(r)?,
        count: get_f64(r)?,
        sum: get_f64(r)?,
        positive_spans: get_spans(r)?,
        negative_spans: get_spans(r)?,
        positive_buckets: get_floats(r)?,
        negative_buckets: get_floats(r)?,
        custom_values: get_floats(r)?,
    })
}

/// Appends the encoding of a block of histograms.
pub fn encode(hs: &[&FloatHistogram], out: &mut Vec<u8>) {
    let mut plain = Vec::with_capacity(hs.len() * 64);
    for h in hs {
        put_histogram(&mut plain, h);
    }
    if plain.len() >= 128 {
        if let Ok(z) = crate::codec::zstd_ctx::compress(&plain, 3) {
            if z.len() + 8 < plain.len() {
                out.push(ZSTD);
                put_uvarint(out, plain.len() as u64);
                put_uvarint(out, z.len() as u64);
                out.extend_from_slice(&z);
                return;
            }
        }
    }
    out.push(PLAIN);
    out.extend_from_slice(&plain);
}

/// Decodes `n` histograms written by [`encode`], appending them to `out`.
pub fn decode(
    r: &mut Reader<'_>,
    n: usize,
    out: &mut Vec<FloatHistogram>,
) -> Result<(), CodecError> {
    match r.u8()? {
        PLAIN => {
            for _ in 0..n {
                out.push(get_histogram(r)?);
            }
        }
        ZSTD => {
            let plain_len = r.len(MAX_PLAIN_LEN)?;
            let zlen = r.len(r.remaining())?;
            let z = r.bytes(zlen)?;
            let plain = crate::codec::zstd_ctx::decompress(z, plain_len)
                .map_err(|_| CodecError::Corrupt("histogram zstd frame"))?;
            let mut pr = Reader::new(&plain);
            for _ in 0..n {
                out.push(get_histogram(&mut pr)?);
            }
        }
        _ => return Err(CodecError::Corrupt("unknown histogram codec")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hist() -> impl Strategy<Value = FloatHistogram> {
        (
            -4i32..9,
            any::<f64>(),
            proptest::collection::vec((0i32..5, 1u32..4), 0..4),
            proptest::collection::vec(any::<f64>(), 0..12),
            0u8..4,
        )
            .prop_map(|(schema, sum, spans, buckets, hint)| FloatHistogram {
                counter_reset_hint: [
                    CounterResetHint::Unknown,
                    CounterResetHint::CounterReset,
                    CounterResetHint::NotCounterReset,
                    CounterResetHint::Gauge,
                ][usize::from(hint)],
                schema,
                zero_threshold: 1e-128,
                zero_count: 3.0,
                count: 42.0,
                sum,
                positive_spans: spans
                    .iter()
                    .map(|&(o, l)| Span {
                        offset: o,
                        length: l,
                    })
                    .collect(),
                negative_spans: vec![],
                positive_buckets: buckets.clone(),
                negative_buckets: buckets.iter().map(|b| -b).collect(),
                custom_values: vec![],
            })
    }

    proptest! {
        #[test]
        fn histograms_round_trip(hs in proptest::collection::vec(hist(), 1..40)) {
            let refs: Vec<&FloatHistogram> = hs.iter().collect();
            let mut b = Vec::new();
            encode(&refs, &mut b);
            let mut r = Reader::new(&b);
            let mut out = Vec::new();
            decode(&mut r, hs.len(), &mut out).unwrap();
            prop_assert_eq!(r.remaining(), 0);
            // Compare bit patterns: NaN != NaN under PartialEq.
            prop_assert_eq!(format!("{:?}", out), format!("{:?}", hs));
        }
    }
}
