//! Byte-level primitives shared by every codec: LEB128 varints, zig-zag, a
//! bounds-checked reader, and a variable-width bit packer.
//!
//! The bit packer is hand-written because the `bitpacking` crate packs only
//! `u32` lanes in fixed 128-value blocks, while our deltas can need up to 64
//! bits and blocks have arbitrary lengths.

use super::CodecError;

/// Appends `v` as an unsigned LEB128 varint.
#[inline]
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zig-zag encoded as a varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, zigzag(v));
}

/// Maps signed to unsigned so small magnitudes get small codes.
#[inline]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A cursor over a byte slice whose reads fail cleanly at the end.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Reads one byte.
    #[inline]
    pub fn u8(&mut self) -> Result<u8, CodecError> {
        let b = *self.buf.get(self.pos).ok_or(CodecError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads an unsigned varint.
    #[inline]
    pub fn uvarint(&mut self) -> Result<u64, CodecError> {
        let mut v: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                return Err(CodecError::Corrupt("varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(CodecError::Corrupt("varint too long"));
            }
        }
    }

    /// Reads a zig-zag varint.
    #[inline]
    pub fn varint(&mut self) -> Result<i64, CodecError> {
        Ok(unzigzag(self.uvarint()?))
    }

    /// Reads a varint that must fit a `usize` no larger than `max`.
    pub fn len(&mut self, max: usize) -> Result<usize, CodecError> {
        let v = self.uvarint()?;
        if v > max as u64 {
            return Err(CodecError::Corrupt("length out of range"));
        }
        Ok(v as usize)
    }

    /// Reads 8 little-endian bytes.
    #[inline]
    pub fn u64_le(&mut self) -> Result<u64, CodecError> {
        let s = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }

    /// Reads 4 little-endian bytes.
    pub fn u32_le(&mut self) -> Result<u32, CodecError> {
        let s = self.bytes(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(s);
        Ok(u32::from_le_bytes(a))
    }

    /// Takes the next `n` bytes.
    #[inline]
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self.pos.checked_add(n).ok_or(CodecError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(CodecError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    /// Takes everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }
}

/// Number of bits needed to represent `v` (0 for 0).
#[inline]
pub fn bit_width(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// Packs each value's low `width` bits back to back, little-endian bit order.
pub fn pack_bits(out: &mut Vec<u8>, values: &[u64], width: u32) {
    if width == 0 {
        return;
    }
    let total_bits = values.len() as u64 * u64::from(width);
    let start = out.len();
    out.resize(start + total_bits.div_ceil(8) as usize, 0);
    let dst = &mut out[start..];
    let mut acc: u128 = 0;
    let mut acc_bits = 0u32;
    let mut pos = 0usize;
    let mask: u128 = if width == 64 {
        u64::MAX as u128
    } else {
        (1u128 << width) - 1
    };
    for &v in values {
        acc |= (u128::from(v) & mask) << acc_bits;
        acc_bits += width;
        while acc_bits >= 8 {
            dst[pos] = acc as u8;
            pos += 1;
            acc >>= 8;
            acc_bits -= 8;
        }
    }
    if acc_bits > 0 {
        dst[pos] = acc as u8;
    }
}

/// Unpacks `n` values of `width` bits written by [`pack_bits`]; returns the
/// number of bytes consumed.
pub fn unpack_bits(
    src: &[u8],
    n: usize,
    width: u32,
    out: &mut Vec<u64>,
) -> Result<usize, CodecError> {
    if width > 64 {
        return Err(CodecError::Corrupt("bit width above 64"));
    }
    if width == 0 {
        out.extend(std::iter::repeat_n(0, n));
        return Ok(0);
    }
    let nbytes = (n as u64 * u64::from(width)).div_ceil(8) as usize;
    let src = src.get(..nbytes).ok_or(CodecError::Truncated)?;
    out.reserve(n);
    let mask: u64 = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    if width <= 56 {
        // Fast path: one unaligned 8-byte load per value while 8 bytes
        // remain, a byte-wise loop for the tail.
        let mut bitpos = 0usize;
        let mut done = 0usize;
        while done < n && bitpos / 8 + 8 <= src.len() {
            let at = bitpos / 8;
            let mut w = [0u8; 8];
            w.copy_from_slice(&src[at..at + 8]);
            out.push((u64::from_le_bytes(w) >> (bitpos % 8)) & mask);
            bitpos += width as usize;
            done += 1;
        }
        for _ in done..n {
            let mut v = 0u64;
            let mut got = 0usize;
            while got < width as usize {
                let at = (bitpos + got) / 8;
                let shift = (bitpos + got) % 8;
                let b = u64::from(*src.get(at).ok_or(CodecError::Truncated)?) >> shift;
                v |= b << got;
                got += 8 - shift;
            }
            out.push(v & mask);
            bitpos += width as usize;
        }
        return Ok(nbytes);
    }
    let mut acc: u128 = 0;
    let mut acc_bits = 0u32;
    let mut bytes = src.iter();
    for _ in 0..n {
        while acc_bits < width {
            // The length check above guarantees enough bytes.
            let b = *bytes.next().ok_or(CodecError::Truncated)?;
            acc |= u128::from(b) << acc_bits;
            acc_bits += 8;
        }
        out.push((acc as u64) & mask);
        acc >>= width;
        acc_bits -= width;
    }
    Ok(nbytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(vs in proptest::collection::vec(any::<i64>(), 0..50)) {
            let mut b = Vec::new();
            for &v in &vs { put_varint(&mut b, v); put_uvarint(&mut b, v as u64); }
            let mut r = Reader::new(&b);
            for &v in &vs {
                prop_assert_eq!(r.varint().unwrap(), v);
                prop_assert_eq!(r.uvarint().unwrap(), v as u64);
            }
            prop_assert_eq!(r.remaining(), 0);
        }

        #[test]
        fn bits_round_trip(vs in proptest::collection::vec(any::<u64>(), 0..100), width in 0u32..=64) {
            let mask = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
            let vs: Vec<u64> = vs.into_iter().map(|v| v & mask).collect();
            let mut b = vec![0xAA];
            pack_bits(&mut b, &vs, width);
            let mut out = Vec::new();
            let used = unpack_bits(&b[1..], vs.len(), width, &mut out).unwrap();
            prop_assert_eq!(used, b.len() - 1);
            prop_assert_eq!(out, vs);
        }
    }

    #[test]
    fn truncated_inputs_fail_cleanly() {
        assert!(Reader::new(&[0x80]).uvarint().is_err());
        assert!(Reader::new(&[0xff; 11]).uvarint().is_err());
        let mut out = Vec::new();
        assert!(unpack_bits(&[1, 2], 10, 7, &mut out).is_err());
    }
}
