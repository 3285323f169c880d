//! Integer column codec, used for timestamps and for decimal mantissas.
//!
//! The sample count is stored by the caller (block header), so a column
//! carries only a one-byte tag and its payload:
//!
//! | tag | layout |
//! |---|---|
//! | `CONST` | varint v0 |
//! | `DELTA_CONST` | varint v0, varint step |
//! | `PACKED` | order (1 or 2), varint v0, [varint d0], varint min, uvarint gcd, width byte, bit-packed `(r − min) / gcd` of the order-th differences |
//! | `PCO` | uvarint length, `pco` standalone stream of the values |
//!
//! All arithmetic wraps, so any `i64` sequence round-trips bit-exactly.

use super::bytes::{bit_width, pack_bits, put_uvarint, put_varint, unpack_bits, Reader};
use super::CodecError;

const CONST: u8 = 0;
const DELTA_CONST: u8 = 1;
const PACKED: u8 = 2;
const PCO: u8 = 3;

/// How hard an encoder should try.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effort {
    /// Young parts: bit-packing only (tens of millions of values per second).
    Fast,
    /// Final per-day parts: also try `pco` at this level and keep the smaller.
    Compact(u8),
}

/// Blocks shorter than this never try `pco`: its fixed overhead dominates.
const PCO_MIN_LEN: usize = 32;

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

/// Order-th differences with wrapping arithmetic, in place of a fresh Vec.
fn diffs(values: &[i64], order: usize, out: &mut Vec<i64>) {
    out.clear();
    out.extend(values.windows(2).map(|w| w[1].wrapping_sub(w[0])));
    if order == 2 {
        for i in (1..out.len()).rev() {
            out[i] = out[i].wrapping_sub(out[i - 1]);
        }
        if !out.is_empty() {
            out.remove(0);
        }
    }
}

/// (min, gcd, width) describing how residuals would be packed.
fn pack_params(res: &[i64]) -> (i64, u64, u32) {
    let Some(&min) = res.iter().min() else {
        return (0, 1, 0);
    };
    let mut g = 0u64;
    let mut max_u = 0u64;
    for &r in res {
        let u = r.wrapping_sub(min) as u64;
        if g != 1 {
            g = gcd(g, u);
        }
        max_u = max_u.max(u);
    }
    let g = g.max(1);
    (min, g, bit_width(max_u / g))
}

/// Appends the encoding of `values` (at least one value).
pub fn encode(values: &[i64], effort: Effort, out: &mut Vec<u8>) {
    let Some(&v0) = values.first() else {
        out.push(CONST);
        put_varint(out, 0);
        return;
    };
    if values.iter().all(|&v| v == v0) {
        out.push(CONST);
        put_varint(out, v0);
        return;
    }
    let step = values[1].wrapping_sub(v0);
    if values.windows(2).all(|w| w[1].wrapping_sub(w[0]) == step) {
        out.push(DELTA_CONST);
        put_varint(out, v0);
        put_varint(out, step);
        return;
    }
    let start = out.len();
    encode_packed(values, out);
    if let Effort::Compact(level) = effort {
        if values.len() >= PCO_MIN_LEN {
            if let Some(p) = pco_bytes(values, level) {
                let pco_len = 1 + uvarint_len(p.len() as u64) + p.len();
                if pco_len < out.len() - start {
                    out.truncate(start);
                    out.push(PCO);
                    put_uvarint(out, p.len() as u64);
                    out.extend_from_slice(&p);
                }
            }
        }
    }
}

fn uvarint_len(v: u64) -> usize {
    (bit_width(v).max(1) as usize).div_ceil(7)
}

fn pco_bytes(values: &[i64], level: u8) -> Option<Vec<u8>> {
    let cfg = pco::ChunkConfig::default().with_compression_level(usize::from(level));
    pco::standalone::simple_compress(values, &cfg).ok()
}

fn encode_packed(values: &[i64], out: &mut Vec<u8>) {
    let mut d1 = Vec::with_capacity(values.len());
    diffs(values, 1, &mut d1);
    let p1 = pack_params(&d1);
    let mut d2 = Vec::with_capacity(values.len());
    let use2 = values.len() >= 3 && {
        diffs(values, 2, &mut d2);
        let p2 = pack_params(&d2);
        // Order 2 costs one extra varint; prefer it only when it saves bits.
        (p2.2 as usize) * d2.len() + 64 < (p1.2 as usize) * d1.len()
    };
    let (order, res) = if use2 { (2u8, &d2) } else { (1u8, &d1) };
    let (min, g, width) = pack_params(res);
    out.push(PACKED);
    out.push(order);
    put_varint(out, values[0]);
    if order == 2 {
        put_varint(out, d1[0]);
    }
    put_varint(out, min);
    put_uvarint(out, g);
    out.push(width as u8);
    let us: Vec<u64> = res
        .iter()
        .map(|&r| (r.wrapping_sub(min) as u64) / g)
        .collect();
    pack_bits(out, &us, width);
}

/// Decodes `n` values written by [`encode`], appending them to `out`.
pub fn decode(r: &mut Reader<'_>, n: usize, out: &mut Vec<i64>) -> Result<(), CodecError> {
    let tag = r.u8()?;
    match tag {
        CONST => {
            let v = r.varint()?;
            out.extend(std::iter::repeat_n(v, n));
        }
        DELTA_CONST => {
            let mut v = r.varint()?;
            let step = r.varint()?;
            out.reserve(n);
            for _ in 0..n {
                out.push(v);
                v = v.wrapping_add(step);
            }
        }
        PACKED => decode_packed(r, n, out)?,
        PCO => {
            let len = r.len(r.remaining())?;
            let bytes = r.bytes(len)?;
            let vals: Vec<i64> = pco::standalone::simple_decompress(bytes)
                .map_err(|_| CodecError::Corrupt("pco stream"))?;
            if vals.len() != n {
                return Err(CodecError::Corrupt("pco value count"));
            }
            out.extend_from_slice(&vals);
        }
        _ => return Err(CodecError::Corrupt("unknown integer codec")),
    }
    Ok(())
}

fn decode_packed(r: &mut Reader<'_>, n: usize, out: &mut Vec<i64>) -> Result<(), CodecError> {
    let order = r.u8()?;
    if !(order == 1 || order == 2) || n < usize::from(order) + 1 {
        return Err(CodecError::Corrupt("bad delta order"));
    }
    let v0 = r.varint()?;
    let d0 = if order == 2 { r.varint()? } else { 0 };
    let min = r.varint()?;
    let g = r.uvarint()?;
    let width = u32::from(r.u8()?);
    let nres = n - usize::from(order);
    let mut us = Vec::with_capacity(nres);
    let rest = r.rest();
    let used = unpack_bits(rest, nres, width, &mut us)?;
    // Give back what we did not consume.
    *r = Reader::new(&rest[used..]);
    out.reserve(n);
    out.push(v0);
    let mut v = v0;
    if order == 1 && g == 1 {
        for u in us {
            v = v.wrapping_add(min.wrapping_add(u as i64));
            out.push(v);
        }
    } else if order == 1 {
        for u in us {
            v = v.wrapping_add(min.wrapping_add(u.wrapping_mul(g) as i64));
            out.push(v);
        }
    } else {
        let mut d = d0;
        v = v.wrapping_add(d);
        out.push(v);
        for u in us {
            d = d.wrapping_add(min.wrapping_add(u.wrapping_mul(g) as i64));
            v = v.wrapping_add(d);
            out.push(v);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(vs: &[i64], effort: Effort) -> usize {
        let mut b = Vec::new();
        encode(vs, effort, &mut b);
        b.push(0x5A); // trailing byte must be left alone
        let mut r = Reader::new(&b);
        let mut out = Vec::new();
        decode(&mut r, vs.len(), &mut out).unwrap();
        assert_eq!(out, vs);
        assert_eq!(r.u8().unwrap(), 0x5A);
        assert_eq!(r.remaining(), 0);
        b.len() - 1
    }

    proptest! {
        #[test]
        fn arbitrary_round_trips(vs in proptest::collection::vec(any::<i64>(), 1..300)) {
            round_trip(&vs, Effort::Fast);
            round_trip(&vs, Effort::Compact(2));
        }

        #[test]
        fn counters_round_trip(start in any::<i64>(), steps in proptest::collection::vec(0i64..5000, 1..600)) {
            let mut v = start;
            let vs: Vec<i64> = steps.iter().map(|s| { v = v.wrapping_add(*s); v }).collect();
            round_trip(&vs, Effort::Fast);
            round_trip(&vs, Effort::Compact(4));
        }
    }

    #[test]
    fn special_shapes_are_small() {
        assert_eq!(round_trip(&[7; 100], Effort::Fast), 2);
        let ts: Vec<i64> = (0..1440).map(|i| 1_700_000_000_000 + i * 15_000).collect();
        assert!(round_trip(&ts, Effort::Fast) < 12);
        let bytes: Vec<i64> = (0..1000).map(|i| 4096 * ((i * 7) % 13)).collect();
        // GCD of 4096 removes 12 bits per value.
        assert!(round_trip(&bytes, Effort::Fast) < 1000);
        round_trip(&[i64::MIN, i64::MAX, 0, -1, 1], Effort::Fast);
    }
}
