//! MSB-first bit streams, as Prometheus' XOR chunks use them.

/// Appends bits MSB-first to a byte vector.
#[derive(Clone, Debug, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Unused low bits in the last byte (0 = the last byte is full).
    free: u8,
}

impl BitWriter {
    /// A writer over existing bytes (treated as full bytes).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        BitWriter { bytes, free: 0 }
    }

    /// The bytes written so far (the last byte zero-padded).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Mutable access to the bytes (e.g. to patch a header).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// Consumes the writer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Writes one bit.
    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.bytes.push(0);
            self.free = 8;
        }
        self.free -= 1;
        if bit {
            if let Some(last) = self.bytes.last_mut() {
                *last |= 1 << self.free;
            }
        }
    }

    /// Writes the low `n` bits of `value` (n ≤ 64), most significant first.
    #[inline]
    pub fn write_bits(&mut self, value: u64, n: u8) {
        let mut n = n.min(64);
        let value = if n == 64 {
            value
        } else {
            value & ((1u64 << n) - 1)
        };
        while n > 0 {
            if self.free == 0 {
                self.bytes.push(0);
                self.free = 8;
            }
            let take = self.free.min(n);
            let chunk = ((value >> (n - take)) & ((1u64 << take) - 1)) as u8;
            self.free -= take;
            if let Some(last) = self.bytes.last_mut() {
                *last |= chunk << self.free;
            }
            n -= take;
        }
    }

    /// Writes a whole byte (bit-aligned anywhere).
    #[inline]
    pub fn write_byte(&mut self, b: u8) {
        self.write_bits(b as u64, 8);
    }
}

/// Reads bits MSB-first from a byte slice.
#[derive(Clone, Debug)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// Bit position from the start.
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader at the first bit of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, pos: 0 }
    }

    /// Bits left.
    pub fn remaining(&self) -> usize {
        (self.bytes.len() * 8).saturating_sub(self.pos)
    }

    /// Reads one bit, `None` at the end.
    #[inline]
    pub fn read_bit(&mut self) -> Option<bool> {
        let byte = *self.bytes.get(self.pos / 8)?;
        let bit = (byte >> (7 - (self.pos % 8))) & 1 == 1;
        self.pos += 1;
        Some(bit)
    }

    /// Reads `n` bits (n ≤ 64) as an unsigned integer, `None` if fewer remain.
    #[inline]
    pub fn read_bits(&mut self, n: u8) -> Option<u64> {
        let n = n as usize;
        if n > 64 || self.remaining() < n {
            return None;
        }
        let mut out = 0u64;
        let mut left = n;
        while left > 0 {
            let byte = *self.bytes.get(self.pos / 8)? as u64;
            let avail = 8 - self.pos % 8;
            let take = avail.min(left);
            let shifted = (byte >> (avail - take)) & ((1u64 << take) - 1);
            out = if take == 64 {
                shifted
            } else {
                (out << take) | shifted
            };
            self.pos += take;
            left -= take;
        }
        Some(out)
    }

    /// Reads one byte.
    #[inline]
    pub fn read_byte(&mut self) -> Option<u8> {
        self.read_bits(8).map(|b| b as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip() {
        let mut w = BitWriter::default();
        let items: Vec<(u64, u8)> = vec![
            (1, 1),
            (0, 1),
            (0b101, 3),
            (u64::MAX, 64),
            (0x1234, 14),
            (0, 0),
            (7, 5),
            (0xdead_beef, 32),
            (1, 64),
        ];
        for &(v, n) in &items {
            w.write_bits(v, n);
        }
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes);
        for &(v, n) in &items {
            let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
            assert_eq!(r.read_bits(n), Some(v & mask));
        }
        assert!(r.remaining() < 8);
        assert_eq!(BitReader::new(&[0xff]).read_bits(9), None);
    }

    #[test]
    fn msb_first() {
        let mut w = BitWriter::default();
        w.write_bit(true);
        w.write_bits(0b01, 2);
        assert_eq!(w.bytes(), &[0b1010_0000]);
    }
}
