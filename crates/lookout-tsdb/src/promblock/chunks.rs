//! Chunk segment files `<block>/chunks/NNNNNN` (tsdb-format.md §4).

use super::varint::{put_uvarint, Decbuf};
use super::BlockError;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Magic number at the start of every chunk segment file.
pub const CHUNKS_MAGIC: u32 = 0x85BD_40DD;
/// Segment format version.
pub const CHUNKS_VERSION: u8 = 1;
/// Chunk encoding byte for XOR float chunks.
pub const ENCODING_XOR: u8 = 1;
/// Segment size at which the writer starts a new file (Prometheus' default).
pub const DEFAULT_SEGMENT_SIZE: u64 = 512 * 1024 * 1024;
const HEADER_LEN: u64 = 8;

/// Segment file name for a 0-based index (`000001` for index 0).
pub fn segment_name(index: u32) -> String {
    format!("{:06}", index as u64 + 1)
}

/// Writes chunk records into numbered segment files.
pub struct ChunkWriter {
    dir: PathBuf,
    segment_size: u64,
    file: Option<BufWriter<File>>,
    seq: u32,
    offset: u64,
    scratch: Vec<u8>,
    written: u64,
}

impl ChunkWriter {
    /// Creates `dir` (the block's `chunks/` directory) and writes there.
    pub fn create(dir: &Path) -> Result<Self, BlockError> {
        std::fs::create_dir_all(dir)?;
        Ok(ChunkWriter {
            dir: dir.to_path_buf(),
            segment_size: DEFAULT_SEGMENT_SIZE,
            file: None,
            seq: 0,
            offset: 0,
            scratch: Vec::with_capacity(64),
            written: 0,
        })
    }

    /// Overrides the segment size (tests use small ones to force several files).
    pub fn with_segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes.max(HEADER_LEN + 1);
        self
    }

    fn start_segment(&mut self) -> Result<(), BlockError> {
        if let Some(mut f) = self.file.take() {
            f.flush()?;
            f.get_ref().sync_all()?;
            self.seq += 1;
        }
        let f = File::create(self.dir.join(segment_name(self.seq)))?;
        let mut f = BufWriter::with_capacity(1 << 20, f);
        f.write_all(&CHUNKS_MAGIC.to_be_bytes())?;
        f.write_all(&[CHUNKS_VERSION, 0, 0, 0])?;
        self.file = Some(f);
        self.offset = HEADER_LEN;
        self.written += HEADER_LEN;
        Ok(())
    }

    /// Appends one chunk record and returns its reference
    /// `(segment index << 32) | offset`.
    pub fn write_chunk(&mut self, encoding: u8, data: &[u8]) -> Result<u64, BlockError> {
        self.scratch.clear();
        put_uvarint(&mut self.scratch, data.len() as u64);
        let rec_len = self.scratch.len() as u64 + 1 + data.len() as u64 + 4;
        if self.file.is_none()
            || (self.offset + rec_len > self.segment_size && self.offset > HEADER_LEN)
        {
            self.start_segment()?;
        }
        let reference = ((self.seq as u64) << 32) | self.offset;
        let crc = crc32c::crc32c_append(crc32c::crc32c(&[encoding]), data);
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| BlockError::InvalidInput("chunk writer has no open segment".into()))?;
        f.write_all(&self.scratch)?;
        f.write_all(&[encoding])?;
        f.write_all(data)?;
        f.write_all(&crc.to_be_bytes())?;
        self.offset += rec_len;
        self.written += rec_len;
        Ok(reference)
    }

    /// Bytes written to all segments.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Flushes and fsyncs the last segment.
    pub fn finish(mut self) -> Result<u64, BlockError> {
        if let Some(mut f) = self.file.take() {
            f.flush()?;
            f.get_ref().sync_all()?;
        }
        Ok(self.written)
    }
}

/// Reads chunks of one block by reference with positioned reads (no
/// mmap, so a file truncated underneath us is an I/O error, not a crash).
pub struct ChunkReader {
    dir: PathBuf,
    segments: Vec<(File, u64)>,
}

impl ChunkReader {
    /// Opens the `chunks/` directory of a block and checks every segment header.
    pub fn open(dir: &Path) -> Result<Self, BlockError> {
        let mut names: Vec<(u32, PathBuf)> = Vec::new();
        if dir.is_dir() {
            for e in std::fs::read_dir(dir)? {
                let e = e?;
                let name = e.file_name();
                let Some(name) = name.to_str() else { continue };
                if name.len() == 6 {
                    if let Ok(n) = name.parse::<u32>() {
                        if n >= 1 {
                            names.push((n, e.path()));
                        }
                    }
                }
            }
        }
        names.sort();
        let mut segments = Vec::with_capacity(names.len());
        for (i, (n, path)) in names.iter().enumerate() {
            if *n as usize != i + 1 {
                return Err(BlockError::Corrupt(format!(
                    "chunk segments in {} are not numbered contiguously from 000001",
                    dir.display()
                )));
            }
            let f = File::open(path)?;
            let size = f.metadata()?.len();
            let mut hdr = [0u8; 8];
            read_exact_at(&f, &mut hdr, 0).map_err(|_| {
                BlockError::Corrupt(format!("{}: shorter than its header", path.display()))
            })?;
            let magic = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            if magic != CHUNKS_MAGIC {
                return Err(BlockError::Corrupt(format!(
                    "{}: invalid magic number {magic:#x}",
                    path.display()
                )));
            }
            if hdr[4] != CHUNKS_VERSION {
                return Err(BlockError::Corrupt(format!(
                    "{}: unsupported chunk format version {}",
                    path.display(),
                    hdr[4]
                )));
            }
            segments.push((f, size));
        }
        Ok(ChunkReader {
            dir: dir.to_path_buf(),
            segments,
        })
    }

    /// Number of segment files.
    pub fn segments(&self) -> usize {
        self.segments.len()
    }

    /// The encoding byte and data of the chunk at `reference`, CRC-checked.
    pub fn chunk(&self, reference: u64) -> Result<(u8, Vec<u8>), BlockError> {
        let seq = (reference >> 32) as usize;
        let off = reference & 0xffff_ffff;
        let (f, size) = self.segments.get(seq).ok_or_else(|| {
            BlockError::Corrupt(format!(
                "chunk reference {reference:#x} to segment {} but {} has {} segments",
                seq + 1,
                self.dir.display(),
                self.segments.len()
            ))
        })?;
        if off < HEADER_LEN || off >= *size {
            return Err(BlockError::Corrupt(format!(
                "chunk reference {reference:#x} outside its segment"
            )));
        }
        let mut head = [0u8; 10];
        let n = ((*size - off) as usize).min(head.len());
        read_exact_at(f, &mut head[..n], off)?;
        let mut d = Decbuf::new(&head[..n]);
        let len = d.uvarint()?;
        let vlen = d.pos() as u64;
        let rec = len
            .checked_add(5)
            .filter(|r| off + vlen + r <= *size)
            .ok_or_else(|| {
                BlockError::Corrupt(format!("chunk {reference:#x} runs past its segment"))
            })?;
        let mut buf = vec![0u8; rec as usize];
        read_exact_at(f, &mut buf, off + vlen)?;
        let split = buf.len() - 4;
        let want = u32::from_be_bytes([buf[split], buf[split + 1], buf[split + 2], buf[split + 3]]);
        let actual = crc32c::crc32c(&buf[..split]);
        if want != actual {
            return Err(BlockError::Corrupt(format!(
                "checksum mismatch expected:{want:x}, actual:{actual:x} (chunk {reference:#x})"
            )));
        }
        buf.truncate(split);
        let enc = buf.remove(0);
        Ok((enc, buf))
    }
}

fn read_exact_at(f: &File, buf: &mut [u8], off: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    f.read_exact_at(buf, off)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ChunkWriter::create(&dir.path().join("chunks"))
            .unwrap()
            .with_segment_size(64);
        let mut refs = Vec::new();
        for i in 0..10u8 {
            refs.push(
                w.write_chunk(ENCODING_XOR, &vec![i; 20 + i as usize])
                    .unwrap(),
            );
        }
        w.finish().unwrap();
        assert!(
            refs.iter().any(|r| r >> 32 > 0),
            "expected several segments"
        );
        assert_eq!(refs[0], 8);
        let r = ChunkReader::open(&dir.path().join("chunks")).unwrap();
        for (i, reference) in refs.iter().enumerate() {
            let (enc, data) = r.chunk(*reference).unwrap();
            assert_eq!(enc, ENCODING_XOR);
            assert_eq!(data, vec![i as u8; 20 + i]);
        }
        // Flip a data byte: CRC error, not garbage.
        let p = dir.path().join("chunks").join("000001");
        let mut b = std::fs::read(&p).unwrap();
        b[12] ^= 0xff;
        std::fs::write(&p, b).unwrap();
        let r = ChunkReader::open(&dir.path().join("chunks")).unwrap();
        let e = r.chunk(refs[0]).unwrap_err().to_string();
        assert!(e.contains("checksum mismatch"), "{e}");
        assert!(r.chunk(99 << 32).is_err());
    }
}
