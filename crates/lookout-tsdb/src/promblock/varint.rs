//! LEB128 varints as Go's `encoding/binary` writes them.

use super::BlockError;

/// Appends an unsigned LEB128 varint.
#[inline]
pub fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Appends a zig-zag signed varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, x: i64) {
    put_uvarint(out, ((x << 1) ^ (x >> 63)) as u64);
}

/// A cursor decoding big-endian integers and varints from a byte slice,
/// with every read bounds-checked.
#[derive(Clone, Debug)]
pub struct Decbuf<'a> {
    b: &'a [u8],
    pos: usize,
}

fn short() -> BlockError {
    BlockError::Corrupt("unexpected end of data".into())
}

impl<'a> Decbuf<'a> {
    /// A cursor at the start of `b`.
    pub fn new(b: &'a [u8]) -> Self {
        Decbuf { b, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.b.len().saturating_sub(self.pos)
    }

    /// Current position.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Reads an unsigned varint.
    pub fn uvarint(&mut self) -> Result<u64, BlockError> {
        let mut x = 0u64;
        let mut shift = 0u32;
        for i in 0..10 {
            let b = *self.b.get(self.pos).ok_or_else(short)?;
            self.pos += 1;
            if b < 0x80 {
                if i == 9 && b > 1 {
                    return Err(BlockError::Corrupt("varint overflows 64 bits".into()));
                }
                return Ok(x | (b as u64) << shift);
            }
            x |= ((b & 0x7f) as u64) << shift;
            shift += 7;
        }
        Err(BlockError::Corrupt("varint overflows 64 bits".into()))
    }

    /// Reads a zig-zag signed varint.
    pub fn varint(&mut self) -> Result<i64, BlockError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// Reads an unsigned varint that must fit 32 bits.
    pub fn uvarint32(&mut self) -> Result<u32, BlockError> {
        u32::try_from(self.uvarint()?)
            .map_err(|_| BlockError::Corrupt("varint overflows 32 bits".into()))
    }

    /// Reads `n` raw bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], BlockError> {
        let end = self.pos.checked_add(n).ok_or_else(short)?;
        let s = self.b.get(self.pos..end).ok_or_else(short)?;
        self.pos = end;
        Ok(s)
    }

    /// Reads a uvarint-length-prefixed UTF-8 string.
    pub fn uvarint_str(&mut self) -> Result<&'a str, BlockError> {
        let n = self.uvarint()? as usize;
        let b = self.bytes(n)?;
        std::str::from_utf8(b).map_err(|_| BlockError::Corrupt("string is not UTF-8".into()))
    }

    /// Reads a big-endian u32.
    pub fn be32(&mut self) -> Result<u32, BlockError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a big-endian u64.
    pub fn be64(&mut self) -> Result<u64, BlockError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        let mut b = Vec::new();
        for x in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            i64::MAX,
            i64::MIN,
            1_795_773_600_000,
        ] {
            put_varint(&mut b, x);
        }
        put_uvarint(&mut b, u64::MAX);
        let mut d = Decbuf::new(&b);
        for x in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            i64::MAX,
            i64::MIN,
            1_795_773_600_000,
        ] {
            assert_eq!(d.varint().unwrap(), x);
        }
        assert_eq!(d.uvarint().unwrap(), u64::MAX);
        assert!(d.uvarint().is_err());
        // Go's PutVarint(1000) = 0xd0 0x0f.
        let mut b = Vec::new();
        put_varint(&mut b, 1000);
        assert_eq!(b, [0xd0, 0x0f]);
    }
}
