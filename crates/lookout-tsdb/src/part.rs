//! Immutable on-disk parts.
//!
//! A part is one file holding per-series blocks sorted by (series id, kind,
//! time). Blocks are grouped into *granules* (≤ 512 blocks, ≤ ~256 KiB of
//! data), the unit of I/O and verification:
//!
//! ```text
//! "LKOUTPT1"
//! granule 0: index blob | data blob      (each optionally zstd'ed)
//! granule 1: ...
//! sparse index: one entry per granule (series range, time range, offsets,
//!               CRC32C over the granule's stored bytes)
//! meta: level, seq range, counts, byte breakdown
//! trailer (32 B): sparse offset/len, meta len, CRC32C(sparse|meta), "LKOUTEND"
//! ```
//!
//! Opening a part reads only the trailer, sparse index and meta (tens of
//! bytes per granule); granules are read with `pread` when a query or merge
//! needs them. Block index columns per granule: series-id delta, value kind,
//! sample count, min-time delta, time span, timestamp payload offset/len,
//! value payload offset/len. A timestamp payload of length 0 means the
//! timestamps are regular (`min + i·(max−min)/(count−1)`), the common case
//! for scrapes, so it costs nothing; other timestamp payloads are shared by
//! every block of the granule with identical timestamps.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use hashbrown::HashMap;
use lookout_model::FloatHistogram;

use crate::codec::bytes::{put_uvarint, put_varint, Reader};
use crate::codec::{floats, hist, ints, CodecError, Effort};
use crate::registry::SeriesId;

const MAGIC: &[u8; 8] = b"LKOUTPT1";
const END_MAGIC: &[u8; 8] = b"LKOUTEND";
const TRAILER: usize = 32;
const FORMAT_VERSION: u64 = 1;

/// No block holds more samples than this (writers cut at `max_block_samples`,
/// far below); bounds allocations when decoding a damaged part.
pub const MAX_BLOCK_SAMPLES: u32 = 1 << 24;

/// Blocks per granule.
pub const GRANULE_BLOCKS: usize = 512;
/// Data bytes after which a granule is closed early.
pub const GRANULE_DATA: usize = 256 << 10;

/// Value kind of a block.
pub const KIND_FLOAT: u8 = 0;
/// Native float histograms.
pub const KIND_HISTOGRAM: u8 = 1;

const FLAG_INDEX_ZSTD: u8 = 1;
const FLAG_DATA_ZSTD: u8 = 2;

/// A part could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PartError {
    /// I/O failure.
    #[error("part {path}: {source}")]
    Io {
        /// The part file.
        path: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
    /// Checksum mismatch or undecodable content.
    #[error("part {path}: corrupt: {what}")]
    Corrupt {
        /// The part file.
        path: PathBuf,
        /// What failed.
        what: String,
    },
}

/// Summary of a part, stored in its meta section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartMeta {
    /// 0 for head flushes, +1 per merge generation.
    pub level: u8,
    /// Whether blocks were coded with the compact (final) effort.
    pub compact: bool,
    /// First flush sequence number covered.
    pub seq_lo: u64,
    /// Last flush sequence number covered.
    pub seq_hi: u64,
    /// Smallest timestamp.
    pub min_t: i64,
    /// Largest timestamp.
    pub max_t: i64,
    /// Distinct series.
    pub series: u64,
    /// Float samples.
    pub float_samples: u64,
    /// Histogram samples.
    pub hist_samples: u64,
    /// Blocks.
    pub blocks: u64,
    /// Bytes of timestamp payloads (before granule compression).
    pub bytes_ts: u64,
    /// Bytes of value payloads (before granule compression).
    pub bytes_values: u64,
    /// Bytes of stored block indexes.
    pub bytes_index: u64,
    /// Whole file size.
    pub bytes_total: u64,
}

impl PartMeta {
    fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, FORMAT_VERSION);
        out.push(self.level);
        out.push(u8::from(self.compact));
        put_uvarint(out, self.seq_lo);
        put_uvarint(out, self.seq_hi);
        put_varint(out, self.min_t);
        put_varint(out, self.max_t);
        for v in [
            self.series,
            self.float_samples,
            self.hist_samples,
            self.blocks,
            self.bytes_ts,
            self.bytes_values,
            self.bytes_index,
        ] {
            put_uvarint(out, v);
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        if r.uvarint()? != FORMAT_VERSION {
            return Err(CodecError::Corrupt("unsupported part format version"));
        }
        Ok(PartMeta {
            level: r.u8()?,
            compact: r.u8()? != 0,
            seq_lo: r.uvarint()?,
            seq_hi: r.uvarint()?,
            min_t: r.varint()?,
            max_t: r.varint()?,
            series: r.uvarint()?,
            float_samples: r.uvarint()?,
            hist_samples: r.uvarint()?,
            blocks: r.uvarint()?,
            bytes_ts: r.uvarint()?,
            bytes_values: r.uvarint()?,
            bytes_index: r.uvarint()?,
            bytes_total: 0,
        })
    }
}

/// One granule's entry in the sparse index (kept in memory).
#[derive(Clone, Debug)]
pub struct GranuleRef {
    /// Smallest series id in the granule.
    pub first_sid: SeriesId,
    /// Largest series id in the granule.
    pub last_sid: SeriesId,
    /// Time range covered.
    pub min_t: i64,
    /// Time range covered.
    pub max_t: i64,
    offset: u64,
    index_len: u32,
    data_len: u32,
    index_raw_len: u32,
    data_raw_len: u32,
    blocks: u32,
    crc: u32,
    flags: u8,
}

/// A block's header, decoded from a granule index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockMeta {
    /// Series.
    pub sid: SeriesId,
    /// [`KIND_FLOAT`] or [`KIND_HISTOGRAM`].
    pub kind: u8,
    /// Samples in the block.
    pub count: u32,
    /// First timestamp.
    pub min_t: i64,
    /// Last timestamp.
    pub max_t: i64,
    ts_off: u32,
    ts_len: u32,
    val_off: u32,
    val_len: u32,
}

/// A decoded granule: block headers and the (decompressed) data.
pub struct Granule {
    /// Block headers in (series, kind, time) order.
    pub blocks: Vec<BlockMeta>,
    data: Vec<u8>,
}

/// Decoded samples of one block.
pub enum BlockValues {
    /// Float values.
    Floats(Vec<f64>),
    /// Histograms.
    Histograms(Vec<FloatHistogram>),
}

impl Granule {
    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.blocks.capacity() * std::mem::size_of::<BlockMeta>() + self.data.capacity() + 64
    }

    /// Decodes the timestamps of `b`.
    pub fn timestamps(&self, b: &BlockMeta, out: &mut Vec<i64>) -> Result<(), CodecError> {
        let n = b.count as usize;
        if b.ts_len == 0 {
            if n == 1 {
                out.push(b.min_t);
                return Ok(());
            }
            let span = b.max_t.wrapping_sub(b.min_t);
            let step = span / (n as i64 - 1);
            out.extend((0..n as i64).map(|i| b.min_t.wrapping_add(step.wrapping_mul(i))));
            return Ok(());
        }
        let bytes = self
            .data
            .get(b.ts_off as usize..(b.ts_off as usize + b.ts_len as usize))
            .ok_or(CodecError::Truncated)?;
        let start = out.len();
        ints::decode(&mut Reader::new(bytes), n, out)?;
        if out.get(start) != Some(&b.min_t) || out.last() != Some(&b.max_t) {
            return Err(CodecError::Corrupt("block timestamps disagree with header"));
        }
        Ok(())
    }

    /// Decodes the values of `b`.
    pub fn values(&self, b: &BlockMeta) -> Result<BlockValues, CodecError> {
        let bytes = self
            .data
            .get(b.val_off as usize..(b.val_off as usize + b.val_len as usize))
            .ok_or(CodecError::Truncated)?;
        let mut r = Reader::new(bytes);
        let n = b.count as usize;
        match b.kind {
            KIND_FLOAT => {
                let mut v = Vec::with_capacity(n);
                floats::decode(&mut r, n, &mut v)?;
                Ok(BlockValues::Floats(v))
            }
            KIND_HISTOGRAM => {
                let mut v = Vec::with_capacity(n);
                hist::decode(&mut r, n, &mut v)?;
                Ok(BlockValues::Histograms(v))
            }
            _ => Err(CodecError::Corrupt("unknown value kind")),
        }
    }
}

/// Source of [`Part::uid`].
static NEXT_PART_UID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// An open part: file handle plus sparse index.
pub struct Part {
    path: PathBuf,
    file: File,
    uid: u64,
    /// Summary.
    pub meta: PartMeta,
    /// Granules in series order.
    pub granules: Vec<GranuleRef>,
}

impl Part {
    /// Opens a part, reading only its trailer, sparse index and meta.
    pub fn open(path: &Path) -> Result<Part, PartError> {
        let io = |source| PartError::Io {
            path: path.to_path_buf(),
            source,
        };
        let corrupt = |what: &str| PartError::Corrupt {
            path: path.to_path_buf(),
            what: what.to_string(),
        };
        let file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size < (MAGIC.len() + TRAILER) as u64 {
            return Err(corrupt("file too short"));
        }
        let mut t = [0u8; TRAILER];
        file.read_exact_at(&mut t, size - TRAILER as u64)
            .map_err(io)?;
        if &t[24..32] != END_MAGIC {
            return Err(corrupt("bad trailer magic"));
        }
        let le64 = |b: &[u8]| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        };
        let le32 = |b: &[u8]| {
            let mut a = [0u8; 4];
            a.copy_from_slice(b);
            u32::from_le_bytes(a)
        };
        let sparse_off = le64(&t[0..8]);
        let sparse_len = u64::from(le32(&t[8..12]));
        let meta_len = u64::from(le32(&t[12..16]));
        let crc = le32(&t[16..20]);
        let tail_len = sparse_len + meta_len;
        if sparse_off.checked_add(tail_len) != Some(size - TRAILER as u64) {
            return Err(corrupt("trailer offsets"));
        }
        let mut tail = vec![0u8; tail_len as usize];
        file.read_exact_at(&mut tail, sparse_off).map_err(io)?;
        if crc32c::crc32c(&tail) != crc {
            return Err(corrupt("sparse index checksum"));
        }
        let (sparse, meta_bytes) = tail.split_at(sparse_len as usize);
        let mut meta =
            PartMeta::decode(&mut Reader::new(meta_bytes)).map_err(|e| corrupt(&e.to_string()))?;
        meta.bytes_total = size;
        let granules = decode_sparse(sparse).map_err(|e| corrupt(&e.to_string()))?;
        Ok(Part {
            path: path.to_path_buf(),
            file,
            uid: NEXT_PART_UID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            meta,
            granules,
        })
    }

    /// An id unique to this open part within the process (cache key).
    pub fn uid(&self) -> u64 {
        self.uid
    }

    /// The part's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads, verifies and decodes granule `i`.
    pub fn read_granule(&self, i: usize) -> Result<Granule, PartError> {
        let corrupt = |what: String| PartError::Corrupt {
            path: self.path.clone(),
            what,
        };
        let g = self
            .granules
            .get(i)
            .ok_or_else(|| corrupt("granule index".into()))?;
        let total = g.index_len as usize + g.data_len as usize;
        let mut buf = vec![0u8; total];
        self.file
            .read_exact_at(&mut buf, g.offset)
            .map_err(|source| PartError::Io {
                path: self.path.clone(),
                source,
            })?;
        if crc32c::crc32c(&buf) != g.crc {
            return Err(corrupt(format!("granule {i} checksum")));
        }
        let (ib, db) = buf.split_at(g.index_len as usize);
        let index = if g.flags & FLAG_INDEX_ZSTD != 0 {
            crate::codec::zstd_ctx::decompress(ib, g.index_raw_len as usize)
                .map_err(|e| corrupt(format!("granule {i} index: {e}")))?
        } else {
            ib.to_vec()
        };
        let data = if g.flags & FLAG_DATA_ZSTD != 0 {
            crate::codec::zstd_ctx::decompress(db, g.data_raw_len as usize)
                .map_err(|e| corrupt(format!("granule {i} data: {e}")))?
        } else {
            db.to_vec()
        };
        let blocks = decode_index(&index, g, data.len())
            .map_err(|e| corrupt(format!("granule {i} index: {e}")))?;
        Ok(Granule { blocks, data })
    }

    /// Indexes of granules that may hold series in `[lo, hi]` with samples in
    /// `[mint, maxt]`.
    pub fn granules_for(&self, lo: SeriesId, hi: SeriesId, mint: i64, maxt: i64) -> Vec<usize> {
        let start = self.granules.partition_point(|g| g.last_sid < lo);
        self.granules[start..]
            .iter()
            .enumerate()
            .take_while(|(_, g)| g.first_sid <= hi)
            .filter(|(_, g)| g.max_t >= mint && g.min_t <= maxt)
            .map(|(i, _)| start + i)
            .collect()
    }
}

fn decode_sparse(b: &[u8]) -> Result<Vec<GranuleRef>, CodecError> {
    let mut r = Reader::new(b);
    let n = r.len(r.remaining())?;
    let mut v = Vec::with_capacity(n);
    let mut offset = MAGIC.len() as u64;
    for _ in 0..n {
        let first_sid = u32::try_from(r.uvarint()?).map_err(|_| CodecError::Corrupt("sid"))?;
        let last_sid = first_sid
            .checked_add(u32::try_from(r.uvarint()?).map_err(|_| CodecError::Corrupt("sid"))?)
            .ok_or(CodecError::Corrupt("sid range"))?;
        let min_t = r.varint()?;
        let max_t = min_t.wrapping_add(r.varint()?);
        let rd = |r: &mut Reader<'_>| -> Result<u32, CodecError> {
            u32::try_from(r.uvarint()?).map_err(|_| CodecError::Corrupt("granule field"))
        };
        let index_len = rd(&mut r)?;
        let data_len = rd(&mut r)?;
        let index_raw_len = rd(&mut r)?;
        let data_raw_len = rd(&mut r)?;
        let blocks = rd(&mut r)?;
        let crc = r.u32_le()?;
        let flags = r.u8()?;
        v.push(GranuleRef {
            first_sid,
            last_sid,
            min_t,
            max_t,
            offset,
            index_len,
            data_len,
            index_raw_len,
            data_raw_len,
            blocks,
            crc,
            flags,
        });
        offset += u64::from(index_len) + u64::from(data_len);
    }
    Ok(v)
}

fn decode_index(b: &[u8], g: &GranuleRef, data_len: usize) -> Result<Vec<BlockMeta>, CodecError> {
    let mut r = Reader::new(b);
    let n = g.blocks as usize;
    let mut blocks = Vec::with_capacity(n);
    let mut sid = g.first_sid;
    let mut min_t = g.min_t;
    for i in 0..n {
        let d = u32::try_from(r.uvarint()?).map_err(|_| CodecError::Corrupt("sid delta"))?;
        sid = if i == 0 {
            sid
        } else {
            sid.checked_add(d).ok_or(CodecError::Corrupt("sid"))?
        };
        let kind = r.u8()?;
        let count = u32::try_from(r.uvarint()?).map_err(|_| CodecError::Corrupt("count"))?;
        if count == 0 || count > MAX_BLOCK_SAMPLES {
            return Err(CodecError::Corrupt("block sample count out of range"));
        }
        min_t = min_t.wrapping_add(r.varint()?);
        let max_t = min_t.wrapping_add(r.varint()?);
        let rd = |r: &mut Reader<'_>| -> Result<u32, CodecError> {
            u32::try_from(r.uvarint()?).map_err(|_| CodecError::Corrupt("offset"))
        };
        let ts_off = rd(&mut r)?;
        let ts_len = rd(&mut r)?;
        let val_off = rd(&mut r)?;
        let val_len = rd(&mut r)?;
        if ts_off as usize + ts_len as usize > data_len
            || val_off as usize + val_len as usize > data_len
        {
            return Err(CodecError::Corrupt("payload outside granule"));
        }
        blocks.push(BlockMeta {
            sid,
            kind,
            count,
            min_t,
            max_t,
            ts_off,
            ts_len,
            val_off,
            val_len,
        });
    }
    Ok(blocks)
}

/// Writes a part. Series must be added in ascending id order; for one
/// series, floats before histograms, each in time order without repeats.
pub struct PartWriter {
    tmp_path: PathBuf,
    out: BufWriter<File>,
    written: u64,
    effort: Effort,
    max_block: usize,
    meta: PartMeta,
    sparse: Vec<u8>,
    granules: usize,
    last_sid: Option<SeriesId>,
    // current granule
    g_blocks: Vec<BlockMeta>,
    g_data: Vec<u8>,
    g_ts: HashMap<(u64, u32), (u32, u32)>,
    scratch: Vec<u8>,
    sync: bool,
}

impl PartWriter {
    /// Starts writing `path` (through `path.tmp`, renamed on finish).
    pub fn create(path: &Path, level: u8, effort: Effort, max_block: usize) -> io::Result<Self> {
        let tmp_path = path.with_extension("tmp");
        let f = File::create(&tmp_path)?;
        let mut out = BufWriter::with_capacity(1 << 20, f);
        out.write_all(MAGIC)?;
        Ok(PartWriter {
            tmp_path,
            out,
            written: MAGIC.len() as u64,
            effort,
            max_block: max_block.clamp(1, MAX_BLOCK_SAMPLES as usize),
            meta: PartMeta {
                level,
                compact: matches!(effort, Effort::Compact(_)),
                min_t: i64::MAX,
                max_t: i64::MIN,
                ..PartMeta::default()
            },
            sparse: Vec::new(),
            granules: 0,
            last_sid: None,
            g_blocks: Vec::new(),
            g_data: Vec::new(),
            g_ts: HashMap::new(),
            scratch: Vec::new(),
            sync: true,
        })
    }

    /// Whether `finish` fsyncs the file (default true; off for throwaway stores).
    pub fn set_sync(&mut self, sync: bool) {
        self.sync = sync;
    }

    fn note_series(&mut self, sid: SeriesId) {
        if self.last_sid != Some(sid) {
            debug_assert!(self.last_sid.is_none_or(|l| l < sid));
            self.meta.series += 1;
            self.last_sid = Some(sid);
        }
    }

    /// Adds float samples of one series (cut into blocks).
    pub fn add_floats(&mut self, sid: SeriesId, ts: &[i64], vs: &[f64]) -> io::Result<()> {
        debug_assert_eq!(ts.len(), vs.len());
        if ts.is_empty() {
            return Ok(());
        }
        self.note_series(sid);
        for (tc, vc) in ts.chunks(self.max_block).zip(vs.chunks(self.max_block)) {
            self.scratch.clear();
            floats::encode(vc, self.effort, &mut self.scratch);
            self.meta.float_samples += tc.len() as u64;
            self.add_block(sid, KIND_FLOAT, tc)?;
        }
        Ok(())
    }

    /// Adds histogram samples of one series (cut into blocks).
    pub fn add_histograms(
        &mut self,
        sid: SeriesId,
        ts: &[i64],
        hs: &[&FloatHistogram],
    ) -> io::Result<()> {
        if ts.is_empty() {
            return Ok(());
        }
        self.note_series(sid);
        for (tc, hc) in ts.chunks(self.max_block).zip(hs.chunks(self.max_block)) {
            self.scratch.clear();
            hist::encode(hc, &mut self.scratch);
            self.meta.hist_samples += tc.len() as u64;
            self.add_block(sid, KIND_HISTOGRAM, tc)?;
        }
        Ok(())
    }

    /// Adds a block whose value payload is in `self.scratch`.
    fn add_block(&mut self, sid: SeriesId, kind: u8, ts: &[i64]) -> io::Result<()> {
        let n = ts.len();
        let (min_t, max_t) = (ts[0], ts[n - 1]);
        let regular = n <= 2 || {
            let step = (max_t.wrapping_sub(min_t)) / (n as i64 - 1);
            ts.windows(2).all(|w| w[1].wrapping_sub(w[0]) == step)
                && min_t.wrapping_add(step.wrapping_mul(n as i64 - 1)) == max_t
        };
        let (ts_off, ts_len) = if regular {
            (0, 0)
        } else {
            let mut enc = Vec::new();
            ints::encode(ts, self.effort, &mut enc);
            let key = (xxhash_rust::xxh3::xxh3_64(&enc), enc.len() as u32);
            if let Some(&loc) = self.g_ts.get(&key) {
                loc
            } else {
                let loc = (self.g_data.len() as u32, enc.len() as u32);
                self.g_data.extend_from_slice(&enc);
                self.meta.bytes_ts += enc.len() as u64;
                self.g_ts.insert(key, loc);
                loc
            }
        };
        let val_off = self.g_data.len() as u32;
        self.g_data.extend_from_slice(&self.scratch);
        self.meta.bytes_values += self.scratch.len() as u64;
        self.meta.blocks += 1;
        self.meta.min_t = self.meta.min_t.min(min_t);
        self.meta.max_t = self.meta.max_t.max(max_t);
        self.g_blocks.push(BlockMeta {
            sid,
            kind,
            count: n as u32,
            min_t,
            max_t,
            ts_off,
            ts_len,
            val_off,
            val_len: self.scratch.len() as u32,
        });
        if self.g_blocks.len() >= GRANULE_BLOCKS || self.g_data.len() >= GRANULE_DATA {
            self.flush_granule()?;
        }
        Ok(())
    }

    fn flush_granule(&mut self) -> io::Result<()> {
        let Some(first) = self.g_blocks.first() else {
            return Ok(());
        };
        let first_sid = first.sid;
        let last_sid = self.g_blocks.last().map_or(first_sid, |b| b.sid);
        let g_min = self.g_blocks.iter().map(|b| b.min_t).min().unwrap_or(0);
        let g_max = self.g_blocks.iter().map(|b| b.max_t).max().unwrap_or(0);
        // Index columns.
        let mut idx = Vec::with_capacity(self.g_blocks.len() * 12);
        let mut prev_sid = first_sid;
        let mut prev_min = g_min;
        for b in &self.g_blocks {
            put_uvarint(&mut idx, u64::from(b.sid - prev_sid));
            prev_sid = b.sid;
            idx.push(b.kind);
            put_uvarint(&mut idx, u64::from(b.count));
            put_varint(&mut idx, b.min_t.wrapping_sub(prev_min));
            prev_min = b.min_t;
            put_varint(&mut idx, b.max_t.wrapping_sub(b.min_t));
            put_uvarint(&mut idx, u64::from(b.ts_off));
            put_uvarint(&mut idx, u64::from(b.ts_len));
            put_uvarint(&mut idx, u64::from(b.val_off));
            put_uvarint(&mut idx, u64::from(b.val_len));
        }
        let mut flags = 0u8;
        let level = if self.meta.compact { 9 } else { 1 };
        let index_raw_len = idx.len() as u32;
        let index_stored = match crate::codec::zstd_ctx::compress(&idx, level) {
            Ok(z) if z.len() < idx.len() => {
                flags |= FLAG_INDEX_ZSTD;
                z
            }
            _ => idx,
        };
        // Tiny blocks (young parts) leave redundancy across blocks that zstd
        // removes; long blocks are already entropy-coded.
        let samples: usize = self.g_blocks.iter().map(|b| b.count as usize).sum();
        let data_raw_len = self.g_data.len() as u32;
        let data_stored = if samples < self.g_blocks.len() * 32 {
            match crate::codec::zstd_ctx::compress(&self.g_data, level) {
                Ok(z) if z.len() + z.len() / 16 < self.g_data.len() => {
                    flags |= FLAG_DATA_ZSTD;
                    z
                }
                _ => std::mem::take(&mut self.g_data),
            }
        } else {
            std::mem::take(&mut self.g_data)
        };
        let mut crc = crc32c::crc32c(&index_stored);
        crc = crc32c::crc32c_append(crc, &data_stored);
        self.out.write_all(&index_stored)?;
        self.out.write_all(&data_stored)?;
        self.written += (index_stored.len() + data_stored.len()) as u64;
        self.meta.bytes_index += index_stored.len() as u64;
        put_uvarint(&mut self.sparse, u64::from(first_sid));
        put_uvarint(&mut self.sparse, u64::from(last_sid - first_sid));
        put_varint(&mut self.sparse, g_min);
        put_varint(&mut self.sparse, g_max.wrapping_sub(g_min));
        put_uvarint(&mut self.sparse, index_stored.len() as u64);
        put_uvarint(&mut self.sparse, data_stored.len() as u64);
        put_uvarint(&mut self.sparse, u64::from(index_raw_len));
        put_uvarint(&mut self.sparse, u64::from(data_raw_len));
        put_uvarint(&mut self.sparse, self.g_blocks.len() as u64);
        self.sparse.extend_from_slice(&crc.to_le_bytes());
        self.sparse.push(flags);
        self.granules += 1;
        self.g_blocks.clear();
        self.g_data.clear();
        self.g_ts.clear();
        Ok(())
    }

    /// Number of samples added so far.
    pub fn samples(&self) -> u64 {
        self.meta.float_samples + self.meta.hist_samples
    }

    /// Writes the index and trailer, fsyncs, renames into place; returns the
    /// meta. With `seq_lo`/`seq_hi` the part's flush-sequence range.
    pub fn finish(mut self, path: &Path, seq_lo: u64, seq_hi: u64) -> io::Result<PartMeta> {
        self.flush_granule()?;
        self.meta.seq_lo = seq_lo;
        self.meta.seq_hi = seq_hi;
        if self.meta.blocks == 0 {
            self.meta.min_t = 0;
            self.meta.max_t = 0;
        }
        let mut tail = Vec::new();
        put_uvarint(&mut tail, self.granules as u64);
        tail.extend_from_slice(&self.sparse);
        let sparse_len = tail.len() as u32;
        self.meta.encode(&mut tail);
        let meta_len = tail.len() as u32 - sparse_len;
        let crc = crc32c::crc32c(&tail);
        let sparse_off = self.written;
        self.out.write_all(&tail)?;
        let mut t = [0u8; TRAILER];
        t[0..8].copy_from_slice(&sparse_off.to_le_bytes());
        t[8..12].copy_from_slice(&sparse_len.to_le_bytes());
        t[12..16].copy_from_slice(&meta_len.to_le_bytes());
        t[16..20].copy_from_slice(&crc.to_le_bytes());
        t[24..32].copy_from_slice(END_MAGIC);
        self.out.write_all(&t)?;
        self.written += (tail.len() + TRAILER) as u64;
        let f = self.out.into_inner().map_err(|e| e.into_error())?;
        if self.sync {
            f.sync_all()?;
        }
        drop(f);
        std::fs::rename(&self.tmp_path, path)?;
        self.meta.bytes_total = self.written;
        Ok(self.meta)
    }

    /// Abandons the part, removing the temporary file.
    pub fn abort(self) {
        let tmp = self.tmp_path.clone();
        drop(self);
        let _ = std::fs::remove_file(tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.part");
        let mut w = PartWriter::create(&path, 0, Effort::Fast, 100).unwrap();
        let mut expect = Vec::new();
        for sid in 0..1500u32 {
            let n = (sid % 7 + 1) as usize * 40;
            let ts: Vec<i64> = (0..n as i64)
                .map(|i| i * 15_000 + i64::from(sid % 3))
                .collect();
            let ts: Vec<i64> = if sid % 5 == 0 {
                ts.iter().map(|t| t + (t % 7)).collect()
            } else {
                ts
            };
            let vs: Vec<f64> = (0..n).map(|i| (i as f64) * 0.5 + f64::from(sid)).collect();
            w.add_floats(sid, &ts, &vs).unwrap();
            expect.push((sid, ts, vs));
        }
        let h = FloatHistogram {
            count: 2.0,
            sum: 5.5,
            ..Default::default()
        };
        w.add_histograms(1500, &[5, 6], &[&h, &h]).unwrap();
        let meta = w.finish(&path, 3, 9).unwrap();
        let part = Part::open(&path).unwrap();
        assert_eq!(part.meta, meta);
        assert_eq!(part.meta.series, 1501);
        assert_eq!((part.meta.seq_lo, part.meta.seq_hi), (3, 9));
        let mut got: HashMap<u32, (Vec<i64>, Vec<f64>)> = HashMap::new();
        let mut hists = 0;
        for gi in 0..part.granules.len() {
            let g = part.read_granule(gi).unwrap();
            for b in &g.blocks {
                let mut ts = Vec::new();
                g.timestamps(b, &mut ts).unwrap();
                match g.values(b).unwrap() {
                    BlockValues::Floats(v) => {
                        let e = got.entry(b.sid).or_default();
                        e.0.extend(ts);
                        e.1.extend(v);
                    }
                    BlockValues::Histograms(hs) => {
                        hists += hs.len();
                        assert_eq!(hs[0], h);
                    }
                }
            }
        }
        assert_eq!(hists, 2);
        for (sid, ts, vs) in expect {
            let g = &got[&sid];
            assert_eq!(g.0, ts);
            assert_eq!(g.1, vs);
        }
        assert!(!part.granules_for(700, 700, 0, i64::MAX).is_empty());
        assert!(part
            .granules_for(700, 700, i64::MAX - 1, i64::MAX)
            .is_empty());
    }

    #[test]
    fn corruption_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.part");
        let mut w = PartWriter::create(&path, 0, Effort::Fast, 100).unwrap();
        w.add_floats(1, &[1, 2, 4], &[1.0, 2.0, 3.5]).unwrap();
        w.finish(&path, 1, 1).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[10] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let part = Part::open(&path).unwrap();
        assert!(part.read_granule(0).is_err());
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(Part::open(&path).is_err());
    }
}
