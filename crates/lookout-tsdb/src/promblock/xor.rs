//! Prometheus' XOR ("Gorilla") float chunk encoding, bit-exact per
//! tsdb-format.md §5: 2-byte sample count, then a bit stream of
//! delta-of-delta timestamps (buckets 0/14/17/20/64 bits) and XOR'd values.

use super::bstream::{BitReader, BitWriter};
use super::varint::{put_uvarint, put_varint};
use super::BlockError;

/// Builds one XOR chunk sample by sample.
#[derive(Clone, Debug)]
pub struct XorEncoder {
    w: BitWriter,
    num: u16,
    t: i64,
    t_delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorEncoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `x` fits an `n`-bit dod bucket: −(2^(n−1)−1) … +2^(n−1).
fn fits(x: i64, n: u32) -> bool {
    let half = 1i64 << (n - 1);
    -(half - 1) <= x && x <= half
}

impl XorEncoder {
    /// An empty chunk.
    pub fn new() -> Self {
        XorEncoder {
            w: BitWriter::from_bytes(vec![0, 0]),
            num: 0,
            t: 0,
            t_delta: 0,
            v: 0,
            leading: 0xff,
            trailing: 0,
        }
    }

    /// Samples appended so far.
    pub fn num_samples(&self) -> u16 {
        self.num
    }

    /// Current encoded size in bytes.
    pub fn len_bytes(&self) -> usize {
        self.w.bytes().len()
    }

    /// Appends a sample. Timestamps must not decrease (not checked: the
    /// encoding itself tolerates it, readers may not). Returns an error when
    /// the chunk already holds 65535 samples.
    pub fn append(&mut self, t: i64, v: f64) -> Result<(), BlockError> {
        if self.num == u16::MAX {
            return Err(BlockError::InvalidInput(
                "XOR chunk is full (65535 samples)".into(),
            ));
        }
        let vb = v.to_bits();
        match self.num {
            0 => {
                let mut buf = Vec::with_capacity(10);
                put_varint(&mut buf, t);
                for b in buf {
                    self.w.write_byte(b);
                }
                self.w.write_bits(vb, 64);
            }
            1 => {
                let delta = t.wrapping_sub(self.t);
                let mut buf = Vec::with_capacity(10);
                put_uvarint(&mut buf, delta as u64);
                for b in buf {
                    self.w.write_byte(b);
                }
                self.write_value(vb);
                self.t_delta = delta;
            }
            _ => {
                let delta = t.wrapping_sub(self.t);
                let dod = delta.wrapping_sub(self.t_delta);
                if dod == 0 {
                    self.w.write_bit(false);
                } else if fits(dod, 14) {
                    self.w.write_bits(0b10, 2);
                    self.w.write_bits(dod as u64, 14);
                } else if fits(dod, 17) {
                    self.w.write_bits(0b110, 3);
                    self.w.write_bits(dod as u64, 17);
                } else if fits(dod, 20) {
                    self.w.write_bits(0b1110, 4);
                    self.w.write_bits(dod as u64, 20);
                } else {
                    self.w.write_bits(0b1111, 4);
                    self.w.write_bits(dod as u64, 64);
                }
                self.write_value(vb);
                self.t_delta = delta;
            }
        }
        self.t = t;
        self.v = vb;
        self.num += 1;
        let n = self.num.to_be_bytes();
        let hdr = self.w.bytes_mut();
        if let Some(h) = hdr.get_mut(..2) {
            h.copy_from_slice(&n);
        }
        Ok(())
    }

    fn write_value(&mut self, vb: u64) {
        let x = vb ^ self.v;
        if x == 0 {
            self.w.write_bit(false);
            return;
        }
        self.w.write_bit(true);
        let lead = (x.leading_zeros() as u8).min(31);
        let trail = x.trailing_zeros() as u8;
        if self.leading != 0xff && lead >= self.leading && trail >= self.trailing {
            self.w.write_bit(false);
            let sig = 64 - self.leading - self.trailing;
            self.w.write_bits(x >> self.trailing, sig);
        } else {
            self.leading = lead;
            self.trailing = trail;
            self.w.write_bit(true);
            self.w.write_bits(lead as u64, 5);
            let sig = 64 - lead - trail;
            // 64 significant bits are written as 0 (6-bit field) and read back as 64.
            self.w.write_bits(sig as u64, 6);
            self.w.write_bits(x >> trail, sig);
        }
    }

    /// The chunk bytes (count header + bit stream).
    pub fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    /// Consumes the encoder into the chunk bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.w.into_bytes()
    }
}

fn corrupt(what: &str) -> BlockError {
    BlockError::Corrupt(format!("XOR chunk: {what}"))
}

/// Iterates the samples of one XOR chunk.
#[derive(Clone, Debug)]
pub struct XorDecoder<'a> {
    r: BitReader<'a>,
    total: u16,
    read: u16,
    t: i64,
    t_delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
    failed: bool,
}

impl<'a> XorDecoder<'a> {
    /// A decoder over chunk data (starting at the 2-byte sample count).
    pub fn new(data: &'a [u8]) -> Result<Self, BlockError> {
        let total = match data.get(..2) {
            Some(h) => u16::from_be_bytes([h[0], h[1]]),
            None => return Err(corrupt("shorter than its 2-byte header")),
        };
        Ok(XorDecoder {
            r: BitReader::new(data.get(2..).unwrap_or(&[])),
            total,
            read: 0,
            t: 0,
            t_delta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
            failed: false,
        })
    }

    /// Number of samples the header announces.
    pub fn num_samples(&self) -> u16 {
        self.total
    }

    fn read_uvarint(&mut self) -> Result<u64, BlockError> {
        let mut x = 0u64;
        let mut shift = 0u32;
        for i in 0..10 {
            let b = self
                .r
                .read_byte()
                .ok_or_else(|| corrupt("truncated varint"))?;
            if b < 0x80 {
                if i == 9 && b > 1 {
                    return Err(corrupt("varint overflows 64 bits"));
                }
                return Ok(x | (b as u64) << shift);
            }
            x |= ((b & 0x7f) as u64) << shift;
            shift += 7;
        }
        Err(corrupt("varint overflows 64 bits"))
    }

    fn read_value(&mut self) -> Result<(), BlockError> {
        let eof = || corrupt("truncated value");
        if !self.r.read_bit().ok_or_else(eof)? {
            return Ok(());
        }
        if self.r.read_bit().ok_or_else(eof)? {
            let lead = self.r.read_bits(5).ok_or_else(eof)? as u8;
            let mut sig = self.r.read_bits(6).ok_or_else(eof)? as u8;
            if sig == 0 {
                sig = 64;
            }
            if lead as u32 + sig as u32 > 64 {
                return Err(corrupt("value window exceeds 64 bits"));
            }
            self.leading = lead;
            self.trailing = 64 - lead - sig;
        }
        let sig = 64 - self.leading - self.trailing;
        let bits = self.r.read_bits(sig).ok_or_else(eof)?;
        self.v ^= if self.trailing >= 64 {
            0
        } else {
            bits << self.trailing
        };
        Ok(())
    }

    fn step(&mut self) -> Result<(i64, f64), BlockError> {
        let eof = || corrupt("truncated timestamp");
        match self.read {
            0 => {
                let u = self.read_uvarint()?;
                self.t = ((u >> 1) as i64) ^ -((u & 1) as i64);
                self.v = self
                    .r
                    .read_bits(64)
                    .ok_or_else(|| corrupt("truncated first value"))?;
            }
            1 => {
                self.t_delta = self.read_uvarint()? as i64;
                self.t = self.t.wrapping_add(self.t_delta);
                self.read_value()?;
            }
            _ => {
                let mut prefix = 0u8;
                for _ in 0..4 {
                    if !self.r.read_bit().ok_or_else(eof)? {
                        break;
                    }
                    prefix += 1;
                }
                let nbits = match prefix {
                    0 => 0,
                    1 => 14,
                    2 => 17,
                    3 => 20,
                    _ => 64,
                };
                let dod = if nbits == 0 {
                    0
                } else {
                    let u = self.r.read_bits(nbits).ok_or_else(eof)?;
                    if nbits == 64 {
                        u as i64
                    } else if u > 1u64 << (nbits - 1) {
                        (u as i64) - (1i64 << nbits)
                    } else {
                        u as i64
                    }
                };
                self.t_delta = self.t_delta.wrapping_add(dod);
                self.t = self.t.wrapping_add(self.t_delta);
                self.read_value()?;
            }
        }
        self.read += 1;
        Ok((self.t, f64::from_bits(self.v)))
    }
}

impl Iterator for XorDecoder<'_> {
    type Item = Result<(i64, f64), BlockError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.read >= self.total {
            return None;
        }
        let r = self.step();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.total - self.read) as usize;
        (0, Some(n))
    }
}

/// Decodes a whole chunk into `out`.
pub fn decode_into(data: &[u8], out: &mut Vec<(i64, f64)>) -> Result<(), BlockError> {
    let d = XorDecoder::new(data)?;
    out.reserve(d.num_samples() as usize);
    for s in d {
        out.push(s?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(samples: &[(i64, f64)]) -> Vec<u8> {
        let mut e = XorEncoder::new();
        for &(t, v) in samples {
            e.append(t, v).unwrap();
        }
        let bytes = e.into_bytes();
        let mut got = Vec::new();
        decode_into(&bytes, &mut got).unwrap();
        assert_eq!(got.len(), samples.len());
        for (a, b) in got.iter().zip(samples) {
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.to_bits(), b.1.to_bits());
        }
        bytes
    }

    #[test]
    fn known_bytes_for_a_small_chunk() {
        // Hand-computed: t0=1000 (varint 0xd0 0x0f), v0=1.0; t1=+15000
        // (uvarint 0x98 0x75), same value (bit 0); t2 dod 0 (bit 0), same value (bit 0).
        let mut e = XorEncoder::new();
        e.append(1000, 1.0).unwrap();
        e.append(16000, 1.0).unwrap();
        e.append(31000, 1.0).unwrap();
        let b = e.into_bytes();
        assert_eq!(
            b,
            vec![0x00, 0x03, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x98, 0x75, 0x00]
        );
    }

    #[test]
    fn all_dod_buckets_and_special_values() {
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let nan = f64::from_bits(0x7ff8_0000_0000_0001);
        let mut t = 1_700_000_000_000i64;
        let mut s = vec![(t, 0.0)];
        let deltas = [
            15_000,
            15_000,
            15_001,
            15_000 + 8192,
            15_000 - 8191,
            15_000 + 8193,
            15_000 + 65536,
            15_000 - 65535,
            15_000 + 65537,
            15_000 + 524_288,
            600_000,
            15_000 + 524_289,
            1 << 40,
            1,
            0,
            15_000,
        ];
        let values = [
            1.0,
            1.0,
            nan,
            stale,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            1e308,
            5e-324,
            12345.67,
            -1.5,
            stale,
            nan,
            0.1,
            0.2,
            1.0,
        ];
        for (d, v) in deltas.iter().zip(values) {
            t += d;
            s.push((t, v));
        }
        round_trip(&s);
    }

    #[test]
    fn negative_first_timestamp_and_single_sample() {
        round_trip(&[(-5, 3.25)]);
        round_trip(&[(-5, 3.25), (-4, 3.5)]);
        round_trip(&[]);
    }

    #[test]
    fn truncated_chunks_error_not_panic() {
        let mut e = XorEncoder::new();
        for i in 0..50 {
            e.append(i * 15_000 + (i % 3), i as f64 * 1.1).unwrap();
        }
        let b = e.into_bytes();
        for cut in 0..b.len() {
            let mut out = Vec::new();
            let _ = decode_into(&b[..cut], &mut out);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_series_round_trip(
            start in any::<i64>().prop_map(|x| x >> 2),
            steps in prop::collection::vec((0i64..2_000_000, any::<u64>(), 0u8..4), 0..300)
        ) {
            let mut t = start;
            let mut prev = 0u64;
            let mut s = Vec::new();
            for (d, bits, mode) in steps {
                t = t.saturating_add(d);
                let vb = match mode { 0 => prev, 1 => bits, 2 => prev ^ (bits & 0xffff), _ => (bits as f64 / 7.0).to_bits() };
                prev = vb;
                s.push((t, f64::from_bits(vb)));
            }
            round_trip(&s);
        }

        #[test]
        fn garbage_never_panics(b in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(d) = XorDecoder::new(&b) {
                for _ in d {}
            }
        }
    }
}
