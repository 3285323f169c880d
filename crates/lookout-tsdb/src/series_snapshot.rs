//! Compressed snapshot of the series registry (`series.snap`).
//!
//! `series.log` grows by one uncompressed record per new series; label sets
//! are highly repetitive, so from time to time the whole registry is
//! written as one zstd stream and the log is emptied. Startup reads the
//! snapshot, then the log (records with ids the snapshot already holds are
//! skipped, which covers a crash between writing the snapshot and emptying
//! the log).
//!
//! ```text
//! "LKSNAP01" | zstd stream of label sets in id order (an empty set is a
//! dead id, see [`crate::prune`]) | count (u64 LE) |
//! crc32c of the zstd stream (u32 LE) | "LKSNPEND"
//! ```

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use lookout_model::{Label, Labels};

use crate::codec::bytes::{put_uvarint, Reader};
use crate::registry::Registry;

const MAGIC: &[u8; 8] = b"LKSNAP01";
const END: &[u8; 8] = b"LKSNPEND";
const TRAILER: usize = 8 + 4 + 8;

/// File name inside the data directory.
pub const FILE: &str = "series.snap";

struct CrcWriter<W: Write> {
    inner: W,
    crc: u32,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc = crc32c::crc32c_append(self.crc, &buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes every series of `reg` to `<dir>/series.snap` atomically; returns
/// the file size.
pub fn write(dir: &Path, reg: &Registry, sync: bool) -> io::Result<u64> {
    let tmp = dir.join("series.snap.tmp");
    let mut f = BufWriter::with_capacity(1 << 16, File::create(&tmp)?);
    f.write_all(MAGIC)?;
    let crc_w = CrcWriter { inner: f, crc: 0 };
    let mut enc = zstd::stream::write::Encoder::new(crc_w, 3)?;
    let mut rec = Vec::with_capacity(256);
    for id in 0..reg.len() as u32 {
        rec.clear();
        let mut n = 0u64;
        reg.for_each_label(id, |_, _| n += 1);
        put_uvarint(&mut rec, n);
        reg.for_each_label(id, |name, value| {
            put_uvarint(&mut rec, name.len() as u64);
            rec.extend_from_slice(name.as_bytes());
            put_uvarint(&mut rec, value.len() as u64);
            rec.extend_from_slice(value.as_bytes());
        });
        enc.write_all(&rec)?;
    }
    let crc_w = enc.finish()?;
    let crc = crc_w.crc;
    let mut f = crc_w.inner;
    f.write_all(&(reg.len() as u64).to_le_bytes())?;
    f.write_all(&crc.to_le_bytes())?;
    f.write_all(END)?;
    let f = f.into_inner().map_err(|e| e.into_error())?;
    if sync {
        f.sync_all()?;
    }
    let len = f.metadata()?.len();
    drop(f);
    fs::rename(&tmp, dir.join(FILE))?;
    if sync {
        crate::layout::sync_dir(dir)?;
    }
    Ok(len)
}

/// Loads `<dir>/series.snap` into `reg` (which must be empty). A missing
/// snapshot loads nothing; a damaged one is an error (the log alone no
/// longer holds those series).
pub fn load(dir: &Path, reg: &mut Registry) -> io::Result<()> {
    let buf = match fs::read(dir.join(FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let bad =
        |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("series.snap: {what}"));
    if buf.len() < MAGIC.len() + TRAILER || &buf[..8] != MAGIC || &buf[buf.len() - 8..] != END {
        return Err(bad("bad framing"));
    }
    let t = &buf[buf.len() - TRAILER..];
    let mut c8 = [0u8; 8];
    c8.copy_from_slice(&t[..8]);
    let count = u64::from_le_bytes(c8);
    let mut c4 = [0u8; 4];
    c4.copy_from_slice(&t[8..12]);
    let crc = u32::from_le_bytes(c4);
    let body = &buf[8..buf.len() - TRAILER];
    if crc32c::crc32c(body) != crc {
        return Err(bad("checksum mismatch"));
    }
    let raw = zstd::stream::decode_all(body)?;
    let mut r = Reader::new(&raw);
    for _ in 0..count {
        let n = r.len(r.remaining()).map_err(|_| bad("record"))?;
        if n == 0 {
            // A series no longer held in memory (its labels are in the day
            // indexes of the parts holding its data); the id stays taken.
            reg.insert_dead().map_err(|e| bad(&e.to_string()))?;
            continue;
        }
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let nl = r.len(r.remaining()).map_err(|_| bad("name"))?;
            let name = r.bytes(nl).map_err(|_| bad("name"))?;
            let vl = r.len(r.remaining()).map_err(|_| bad("value"))?;
            let value = r.bytes(vl).map_err(|_| bad("value"))?;
            labels.push(Label {
                name: String::from_utf8(name.to_vec()).map_err(|_| bad("utf-8"))?,
                value: String::from_utf8(value.to_vec()).map_err(|_| bad("utf-8"))?,
            });
        }
        if !labels.windows(2).all(|w| w[0].name < w[1].name) {
            return Err(bad("labels not sorted"));
        }
        reg.insert(&Labels::from_sorted(labels))
            .map_err(|e| bad(&e.to_string()))?;
    }
    if r.remaining() != 0 {
        return Err(bad("trailing bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_round_trip_and_corruption() {
        let d = tempfile::tempdir().unwrap();
        let mut reg = Registry::new();
        for i in 0..1000 {
            reg.insert(&Labels::from_pairs([
                ("__name__", "m".to_string()),
                ("i", i.to_string()),
            ]))
            .unwrap();
        }
        write(d.path(), &reg, true).unwrap();
        let mut back = Registry::new();
        load(d.path(), &mut back).unwrap();
        assert_eq!(back.len(), 1000);
        for i in [0u32, 17, 999] {
            assert_eq!(back.labels(i), reg.labels(i));
        }
        let p = d.path().join(FILE);
        let mut b = fs::read(&p).unwrap();
        b[20] ^= 1;
        fs::write(&p, &b).unwrap();
        assert!(load(d.path(), &mut Registry::new()).is_err());
    }
}
