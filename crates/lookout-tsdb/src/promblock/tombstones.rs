//! The `tombstones` file: deleted time ranges per series (tsdb-format.md §6).

use super::varint::{put_uvarint, put_varint, Decbuf};
use super::BlockError;
use std::collections::HashMap;
use std::path::Path;

/// Magic number of the tombstones file.
pub const TOMBSTONES_MAGIC: u32 = 0x0130_BA30;

/// Deleted intervals (inclusive `[mint, maxt]`) keyed by series ID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tombstones {
    /// Intervals per series ID, in file order.
    pub by_series: HashMap<u32, Vec<(i64, i64)>>,
}

impl Tombstones {
    /// Number of (series, interval) entries.
    pub fn len(&self) -> usize {
        self.by_series.values().map(Vec::len).sum()
    }

    /// Whether nothing is deleted.
    pub fn is_empty(&self) -> bool {
        self.by_series.is_empty()
    }

    /// Whether sample time `t` of series `id` is deleted.
    pub fn is_deleted(&self, id: u32, t: i64) -> bool {
        self.by_series
            .get(&id)
            .is_some_and(|iv| iv.iter().any(|&(a, b)| a <= t && t <= b))
    }

    /// Reads `path`; a missing file means no tombstones.
    pub fn read(path: &Path) -> Result<Self, BlockError> {
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e.into()),
        };
        Self::decode(&data)
    }

    /// Decodes the file bytes.
    pub fn decode(data: &[u8]) -> Result<Self, BlockError> {
        if data.len() < 9 {
            return Err(BlockError::Corrupt(
                "tombstones file shorter than 9 bytes".into(),
            ));
        }
        let mut d = Decbuf::new(data);
        if d.be32()? != TOMBSTONES_MAGIC {
            return Err(BlockError::Corrupt(
                "invalid tombstones magic number".into(),
            ));
        }
        let version = d.bytes(1)?[0];
        if version != 1 {
            return Err(BlockError::Corrupt(format!(
                "unsupported tombstones version {version}"
            )));
        }
        let body = data.get(5..data.len() - 4).unwrap_or(&[]);
        let want = Decbuf::new(data.get(data.len() - 4..).unwrap_or(&[])).be32()?;
        let got = crc32c::crc32c(body);
        if want != got {
            return Err(BlockError::Corrupt(format!(
                "tombstones checksum mismatch expected:{want:x}, actual:{got:x}"
            )));
        }
        let mut out = Tombstones::default();
        let mut d = Decbuf::new(body);
        while d.remaining() > 0 {
            let id = d.uvarint32()?;
            let mint = d.varint()?;
            let maxt = d.varint()?;
            out.by_series.entry(id).or_default().push((mint, maxt));
        }
        Ok(out)
    }

    /// Encodes the file bytes (series in ascending ID order).
    pub fn encode(&self) -> Vec<u8> {
        let mut ids: Vec<&u32> = self.by_series.keys().collect();
        ids.sort();
        let mut body = Vec::new();
        for id in ids {
            for &(a, b) in self.by_series.get(id).map(Vec::as_slice).unwrap_or(&[]) {
                put_uvarint(&mut body, *id as u64);
                put_varint(&mut body, a);
                put_varint(&mut body, b);
            }
        }
        let mut out = Vec::with_capacity(body.len() + 9);
        out.extend_from_slice(&TOMBSTONES_MAGIC.to_be_bytes());
        out.push(1);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_documented_9_bytes() {
        assert_eq!(
            Tombstones::default().encode(),
            vec![0x01, 0x30, 0xba, 0x30, 0x01, 0, 0, 0, 0]
        );
    }

    #[test]
    fn round_trip_and_lookup() {
        let mut t = Tombstones::default();
        t.by_series.insert(6, vec![(100, 200), (-5, -1)]);
        t.by_series.insert(9, vec![(i64::MIN, i64::MAX)]);
        let b = t.encode();
        let back = Tombstones::decode(&b).unwrap();
        assert_eq!(back, t);
        assert!(back.is_deleted(6, 150));
        assert!(back.is_deleted(6, -3));
        assert!(!back.is_deleted(6, 201));
        assert!(back.is_deleted(9, 0));
        assert!(!back.is_deleted(7, 0));
        let mut bad = b.clone();
        bad[6] ^= 1;
        assert!(Tombstones::decode(&bad).is_err());
        assert!(Tombstones::decode(&b[..5]).is_err());
    }
}
