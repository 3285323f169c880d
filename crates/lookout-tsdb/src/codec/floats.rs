//! Float column codec: verified decimal conversion with exceptions, falling
//! back to `pco` on raw floats.
//!
//! Most scraped values are short decimals (`1234.56`) whose binary mantissa
//! looks random, which is why XOR coding does badly on them. We turn a block
//! into integers `m_i` with one shared power-of-ten exponent `E` so that
//! `m_i / 10^E` gives back *exactly* the original bits, and code the
//! integers with [`super::ints`]. Because `|m_i| <= 2^53` and `10^E` (E <= 22)
//! are exact doubles and IEEE division is correctly rounded, decoding is
//! exact whenever the encoder's own check passed; every value is checked
//! anyway. Values that cannot be expressed that way (NaN payloads such as the
//! staleness marker, ±Inf, −0.0, full-precision floats, huge magnitudes) are
//! stored as exceptions with their raw bits. A block with too many
//! exceptions is stored as raw floats (`pco` for longer blocks).
//!
//! | tag | layout |
//! |---|---|
//! | `CONST` | 8 raw bytes (every value has these bits) |
//! | `DECIMAL` | exponent byte, uvarint #exceptions, per exception (uvarint position gap, 8 raw bytes), integer column of mantissas |
//! | `RAW` | n × 8 raw bytes |
//! | `PCO` | uvarint length, `pco` stream of the f64 values |

use super::bytes::{put_uvarint, Reader};
use super::ints::{self, Effort};
use super::CodecError;

const CONST: u8 = 0;
const DECIMAL: u8 = 1;
const RAW: u8 = 2;
const PCO: u8 = 3;

const MAX_EXP: usize = 22;
const MAX_MANTISSA: f64 = 9_007_199_254_740_992.0; // 2^53

const POW10: [f64; MAX_EXP + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Smallest decimal exponent `e >= from` at which `v` is exactly
/// `round(v·10^e) / 10^e`, or `None`.
#[inline]
fn decimal_exp(v: f64, from: usize) -> Option<usize> {
    if !v.is_finite() || (v == 0.0 && v.is_sign_negative()) {
        return None;
    }
    for (e, &p) in POW10.iter().enumerate().skip(from) {
        let s = v * p;
        if s.abs() > MAX_MANTISSA {
            return None;
        }
        let m = s.round();
        if (m / p).to_bits() == v.to_bits() {
            return Some(e);
        }
    }
    None
}

/// Appends the encoding of `values` (at least one value).
pub fn encode(values: &[f64], effort: Effort, out: &mut Vec<u8>) {
    let Some(first) = values.first() else {
        out.push(CONST);
        out.extend_from_slice(&0u64.to_le_bytes());
        return;
    };
    let b0 = first.to_bits();
    if values.iter().all(|v| v.to_bits() == b0) {
        out.push(CONST);
        out.extend_from_slice(&b0.to_le_bytes());
        return;
    }
    if encode_decimal(values, effort, out) {
        return;
    }
    encode_float_fallback(values, effort, out);
}

/// More exceptions than this share of the block makes raw coding cheaper.
fn exceptions_allowed(n: usize) -> usize {
    n / 4
}

fn encode_decimal(values: &[f64], effort: Effort, out: &mut Vec<u8>) -> bool {
    let allowed = exceptions_allowed(values.len());
    // Pass 1: the block exponent is the largest exponent any value needs.
    let mut exp = 0usize;
    let mut misses = 0usize;
    for &v in values {
        let p = POW10[exp];
        let s = v * p;
        if v.is_finite() && s.abs() <= MAX_MANTISSA && (s.round() / p).to_bits() == v.to_bits() {
            continue;
        }
        match decimal_exp(v, exp + 1) {
            Some(e) => exp = e,
            None => {
                misses += 1;
                if misses > allowed {
                    return false;
                }
            }
        }
    }
    // Pass 2: mantissas at the block exponent, verified bit for bit.
    let p = POW10[exp];
    let mut mantissas = Vec::with_capacity(values.len());
    let mut exceptions: Vec<(usize, u64)> = Vec::new();
    let mut prev = 0i64;
    for (i, &v) in values.iter().enumerate() {
        let s = v * p;
        let ok = v.is_finite()
            && !(v == 0.0 && v.is_sign_negative())
            && s.abs() <= MAX_MANTISSA
            && (s.round() / p).to_bits() == v.to_bits();
        if ok {
            prev = s.round() as i64;
            mantissas.push(prev);
        } else {
            exceptions.push((i, v.to_bits()));
            if exceptions.len() > allowed {
                return false;
            }
            // Repeat the neighbour so deltas stay small around the hole.
            mantissas.push(prev);
        }
    }
    out.push(DECIMAL);
    out.push(exp as u8);
    put_uvarint(out, exceptions.len() as u64);
    let mut last = 0usize;
    for &(i, bits) in &exceptions {
        put_uvarint(out, (i - last) as u64);
        out.extend_from_slice(&bits.to_le_bytes());
        last = i;
    }
    ints::encode(&mantissas, effort, out);
    true
}

/// Blocks at least this long use `pco` instead of raw bytes.
const PCO_MIN_LEN: usize = 32;

fn encode_float_fallback(values: &[f64], effort: Effort, out: &mut Vec<u8>) {
    if values.len() >= PCO_MIN_LEN {
        let level = match effort {
            Effort::Fast => 2,
            Effort::Compact(l) => usize::from(l),
        };
        let cfg = pco::ChunkConfig::default().with_compression_level(level);
        if let Ok(p) = pco::standalone::simple_compress(values, &cfg) {
            if p.len() + 4 < values.len() * 8 {
                out.push(PCO);
                put_uvarint(out, p.len() as u64);
                out.extend_from_slice(&p);
                return;
            }
        }
    }
    out.push(RAW);
    for v in values {
        out.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

/// Decodes `n` values written by [`encode`], appending them to `out`.
pub fn decode(r: &mut Reader<'_>, n: usize, out: &mut Vec<f64>) -> Result<(), CodecError> {
    match r.u8()? {
        CONST => {
            let v = f64::from_bits(r.u64_le()?);
            out.extend(std::iter::repeat_n(v, n));
        }
        DECIMAL => {
            let exp = usize::from(r.u8()?);
            let p = *POW10
                .get(exp)
                .ok_or(CodecError::Corrupt("decimal exponent"))?;
            let nexc = r.len(n)?;
            let mut exceptions = Vec::with_capacity(nexc);
            let mut pos = 0usize;
            for _ in 0..nexc {
                pos = pos
                    .checked_add(r.len(n)?)
                    .filter(|&p| p < n)
                    .ok_or(CodecError::Corrupt("exception position"))?;
                exceptions.push((pos, r.u64_le()?));
            }
            let mut ms = Vec::with_capacity(n);
            ints::decode(r, n, &mut ms)?;
            let base = out.len();
            out.extend(ms.iter().map(|&m| m as f64 / p));
            for (i, bits) in exceptions {
                out[base + i] = f64::from_bits(bits);
            }
        }
        RAW => {
            out.reserve(n);
            for _ in 0..n {
                out.push(f64::from_bits(r.u64_le()?));
            }
        }
        PCO => {
            let len = r.len(r.remaining())?;
            let bytes = r.bytes(len)?;
            let vals: Vec<f64> = pco::standalone::simple_decompress(bytes)
                .map_err(|_| CodecError::Corrupt("pco stream"))?;
            if vals.len() != n {
                return Err(CodecError::Corrupt("pco value count"));
            }
            out.extend_from_slice(&vals);
        }
        _ => return Err(CodecError::Corrupt("unknown float codec")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_model::STALE_NAN;
    use proptest::prelude::*;

    fn round_trip(vs: &[f64], effort: Effort) -> Vec<u8> {
        let mut b = Vec::new();
        encode(vs, effort, &mut b);
        let mut r = Reader::new(&b);
        let mut out = Vec::new();
        decode(&mut r, vs.len(), &mut out).unwrap();
        assert_eq!(r.remaining(), 0);
        let got: Vec<u64> = out.iter().map(|v| v.to_bits()).collect();
        let want: Vec<u64> = vs.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, want);
        b
    }

    fn special() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(STALE_NAN),
            Just(f64::NAN),
            Just(f64::from_bits(0x7ff8_dead_beef_0001)),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(0.0),
            Just(f64::MIN_POSITIVE),
            Just(f64::MAX),
            Just(5e-324),
        ]
    }

    fn decimalish() -> impl Strategy<Value = f64> {
        (any::<i32>(), 0usize..8).prop_map(|(m, e)| f64::from(m) / POW10[e])
    }

    proptest! {
        #[test]
        fn any_bits_round_trip(vs in proptest::collection::vec(any::<u64>().prop_map(f64::from_bits), 1..200)) {
            round_trip(&vs, Effort::Fast);
            round_trip(&vs, Effort::Compact(4));
        }

        #[test]
        fn mixed_round_trip(vs in proptest::collection::vec(prop_oneof![3 => decimalish(), 1 => special(), 1 => any::<f64>()], 1..300)) {
            round_trip(&vs, Effort::Fast);
            round_trip(&vs, Effort::Compact(2));
        }

        #[test]
        fn decimals_are_compact(ms in proptest::collection::vec(-100_000i64..100_000, 64..300), e in 0usize..4) {
            let vs: Vec<f64> = ms.iter().map(|&m| m as f64 / POW10[e]).collect();
            let b = round_trip(&vs, Effort::Fast);
            // 200k distinct mantissas need at most 18 bits + header each.
            prop_assert!(b.len() < vs.len() * 3 + 32, "{} bytes", b.len());
        }
    }

    #[test]
    fn stale_markers_are_exceptions_not_fallbacks() {
        let mut vs: Vec<f64> = (0..100).map(|i| f64::from(i) * 0.25).collect();
        vs[50] = STALE_NAN;
        vs[99] = -0.0;
        let b = round_trip(&vs, Effort::Fast);
        assert_eq!(b[0], DECIMAL);
        assert!(b.len() < 100, "{}", b.len());
    }

    #[test]
    fn full_precision_falls_back() {
        let vs: Vec<f64> = (1..100).map(|i| (f64::from(i)).sqrt()).collect();
        let b = round_trip(&vs, Effort::Fast);
        assert_ne!(b[0], DECIMAL);
    }
}
