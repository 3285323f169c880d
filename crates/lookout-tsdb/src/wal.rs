//! Write-ahead log and series log: CRC32C-framed records in append-only
//! files.
//!
//! Frame: `len (u32 LE) | crc32c(payload) (u32 LE) | payload`. A commit is
//! one frame, so a batch is either wholly readable after a crash or cut off
//! wholly. Readers stop at the first frame that is short or fails its
//! checksum and report the offset of the last good byte, which the opener
//! truncates to (with a warning), so a torn tail never causes a crash loop.
//!
//! The WAL is a sequence of segment files `wal/0000000001`, ...; a new
//! segment starts at every head flush, so once the flushed parts are durable
//! every older segment can be deleted: the WAL only holds data that is not
//! yet in a part.
//!
//! Durability: a commit `write()`s its frame before it is acknowledged (the
//! page cache survives a killed process). `fdatasync` runs per the
//! configured [`crate::FsyncPolicy`]: in a background group commit every
//! interval (default), after every commit (`Always`), or never; parts are
//! always fsynced before the WAL they replace is deleted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use lookout_model::FloatHistogram;

use crate::codec::bytes::{put_uvarint, put_varint, Reader};
use crate::codec::hist::{get_histogram, put_histogram};
use crate::codec::CodecError;
use crate::registry::SeriesId;

/// Largest frame we accept on read; anything bigger is corruption.
const MAX_FRAME: usize = 1 << 30;
const HEADER: usize = 8;

/// Appends one frame holding `payload` to `out`.
pub fn put_frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Splits a file's bytes into frames. Returns the payloads and the length of
/// the valid prefix (shorter than `buf` when the tail is torn or corrupt).
pub fn read_frames(buf: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut frames = Vec::new();
    let mut pos = 0usize;
    while buf.len() - pos >= HEADER {
        let mut l = [0u8; 4];
        l.copy_from_slice(&buf[pos..pos + 4]);
        let len = u32::from_le_bytes(l) as usize;
        let mut c = [0u8; 4];
        c.copy_from_slice(&buf[pos + 4..pos + 8]);
        let crc = u32::from_le_bytes(c);
        if len > MAX_FRAME || buf.len() - pos - HEADER < len {
            break;
        }
        let payload = &buf[pos + HEADER..pos + HEADER + len];
        if crc32c::crc32c(payload) != crc {
            break;
        }
        frames.push(payload);
        pos += HEADER + len;
    }
    (frames, pos)
}

/// Reads a framed file, truncating a torn or corrupt tail (with a warning).
/// Returns the file's valid bytes.
pub fn read_and_repair(path: &Path) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut buf)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(buf),
        Err(e) => return Err(e),
    }
    let (_, valid) = read_frames(&buf);
    if valid < buf.len() {
        tracing::warn!(
            file = %path.display(),
            valid_bytes = valid,
            dropped_bytes = buf.len() - valid,
            "cutting off torn or corrupt tail"
        );
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(valid as u64)?;
        f.sync_all()?;
        buf.truncate(valid);
    }
    Ok(buf)
}

/// An append-only framed file.
pub struct FramedFile {
    file: File,
    path: PathBuf,
    len: u64,
}

impl FramedFile {
    /// Opens (creating) `path` for appending at `len` (the valid length).
    pub fn open_append(path: &Path, len: u64) -> io::Result<Self> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(path)?;
        file.seek(SeekFrom::Start(len))?;
        Ok(FramedFile {
            file,
            path: path.to_path_buf(),
            len,
        })
    }

    /// Writes already framed bytes with one `write()`-loop. On failure the
    /// file is cut back to its previous length so no partial frame stays.
    pub fn write_frames(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Err(e) = self.file.write_all(bytes) {
            let _ = self.file.set_len(self.len);
            let _ = self.file.seek(SeekFrom::Start(self.len));
            return Err(e);
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Empties the file (and syncs).
    pub fn truncate_all(&mut self, sync: bool) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.len = 0;
        if sync {
            self.file.sync_all()?;
        }
        Ok(())
    }

    /// `fdatasync`.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// A handle for syncing from another thread.
    pub fn try_clone_file(&self) -> io::Result<File> {
        self.file.try_clone()
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Path of WAL segment `n`.
pub fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:010}"))
}

/// Sorted numbers of the WAL segments in `dir`.
pub fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        if let Some(n) = e.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) {
            v.push(n);
        }
    }
    v.sort_unstable();
    Ok(v)
}

const REC_BATCH: u8 = 1;

/// A float sample as logged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WalFloat {
    /// Series.
    pub sid: SeriesId,
    /// Timestamp, ms.
    pub t: i64,
    /// Raw value bits.
    pub bits: u64,
}

/// Encodes one committed batch as a WAL record payload.
pub fn encode_batch(
    out: &mut Vec<u8>,
    floats: &[WalFloat],
    hists: &[(SeriesId, i64, &FloatHistogram)],
) {
    out.push(REC_BATCH);
    put_uvarint(out, floats.len() as u64);
    let mut prev_t = 0i64;
    for f in floats {
        put_uvarint(out, u64::from(f.sid));
        put_varint(out, f.t.wrapping_sub(prev_t));
        prev_t = f.t;
        out.extend_from_slice(&f.bits.to_le_bytes());
    }
    put_uvarint(out, hists.len() as u64);
    for (sid, t, h) in hists {
        put_uvarint(out, u64::from(*sid));
        put_varint(out, *t);
        put_histogram(out, h);
    }
}

/// A decoded batch record.
#[derive(Debug, Default)]
pub struct Batch {
    /// Float samples.
    pub floats: Vec<WalFloat>,
    /// Histogram samples.
    pub hists: Vec<(SeriesId, i64, FloatHistogram)>,
}

/// Decodes a record written by [`encode_batch`].
pub fn decode_batch(payload: &[u8]) -> Result<Batch, CodecError> {
    let mut r = Reader::new(payload);
    if r.u8()? != REC_BATCH {
        return Err(CodecError::Corrupt("unknown WAL record type"));
    }
    let n = r.len(r.remaining())?;
    let mut b = Batch::default();
    b.floats.reserve(n);
    let mut t = 0i64;
    for _ in 0..n {
        let sid = u32::try_from(r.uvarint()?).map_err(|_| CodecError::Corrupt("series id"))?;
        t = t.wrapping_add(r.varint()?);
        let bits = r.u64_le()?;
        b.floats.push(WalFloat { sid, t, bits });
    }
    let nh = r.len(r.remaining())?;
    for _ in 0..nh {
        let sid = u32::try_from(r.uvarint()?).map_err(|_| CodecError::Corrupt("series id"))?;
        let t = r.varint()?;
        let h = get_histogram(&mut r)?;
        b.hists.push((sid, t, h));
    }
    Ok(b)
}

/// Encodes a series-log record: id and label pairs.
pub fn encode_series(out: &mut Vec<u8>, sid: SeriesId, labels: &lookout_model::Labels) {
    put_uvarint(out, u64::from(sid));
    put_uvarint(out, labels.len() as u64);
    for l in labels.iter() {
        put_uvarint(out, l.name.len() as u64);
        out.extend_from_slice(l.name.as_bytes());
        put_uvarint(out, l.value.len() as u64);
        out.extend_from_slice(l.value.as_bytes());
    }
}

/// Decodes a series-log record.
pub fn decode_series(payload: &[u8]) -> Result<(SeriesId, lookout_model::Labels), CodecError> {
    let mut r = Reader::new(payload);
    let sid = u32::try_from(r.uvarint()?).map_err(|_| CodecError::Corrupt("series id"))?;
    let n = r.len(r.remaining())?;
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let nl = r.len(r.remaining())?;
        let name = std::str::from_utf8(r.bytes(nl)?).map_err(|_| CodecError::Corrupt("utf-8"))?;
        let vl = r.len(r.remaining())?;
        let value = std::str::from_utf8(r.bytes(vl)?).map_err(|_| CodecError::Corrupt("utf-8"))?;
        labels.push(lookout_model::Label {
            name: name.to_string(),
            value: value.to_string(),
        });
    }
    if !labels.windows(2).all(|w| w[0].name < w[1].name)
        || labels.iter().any(|l| l.value.is_empty())
    {
        return Err(CodecError::Corrupt("series labels not canonical"));
    }
    Ok((sid, lookout_model::Labels::from_sorted(labels)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_torn_tails() {
        let mut b = Vec::new();
        put_frame(&mut b, b"hello");
        put_frame(&mut b, b"");
        put_frame(&mut b, b"world");
        let full = b.len();
        let (f, valid) = read_frames(&b);
        assert_eq!(f, vec![&b"hello"[..], b"", b"world"]);
        assert_eq!(valid, full);
        for cut in 0..full {
            let (f, valid) = read_frames(&b[..cut]);
            assert!(valid <= cut);
            assert!(f.len() <= 3);
        }
        let mut bad = b.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let (f, valid) = read_frames(&bad);
        assert_eq!(f.len(), 2);
        assert_eq!(valid, full - 13);
    }

    #[test]
    fn batch_round_trip() {
        let floats = vec![
            WalFloat {
                sid: 3,
                t: 1000,
                bits: 1.5f64.to_bits(),
            },
            WalFloat {
                sid: 0,
                t: -5,
                bits: lookout_model::STALE_NAN_BITS,
            },
        ];
        let h = FloatHistogram {
            count: 3.0,
            sum: 1.0,
            ..Default::default()
        };
        let mut p = Vec::new();
        encode_batch(&mut p, &floats, &[(7, 99, &h)]);
        let b = decode_batch(&p).unwrap();
        assert_eq!(b.floats, floats);
        assert_eq!(b.hists, vec![(7, 99, h)]);
        assert!(decode_batch(&p[..p.len() - 1]).is_err());
    }

    #[test]
    fn series_round_trip() {
        let l = lookout_model::Labels::from_pairs([("a", "1"), ("__name__", "x")]);
        let mut p = Vec::new();
        encode_series(&mut p, 42, &l);
        assert_eq!(decode_series(&p).unwrap(), (42, l));
    }
}
