//! Writing and reading whole blocks, and listing a Prometheus data dir.

use super::chunks::{ChunkReader, ChunkWriter, ENCODING_XOR};
use super::index_reader::IndexReader;
use super::index_writer::{write_index, ChunkMeta};
use super::meta::{BlockMeta, BlockStats, Compaction};
use super::tombstones::Tombstones;
use super::xor::{XorDecoder, XorEncoder};
use super::BlockError;
use lookout_model::labels::Labels;
use lookout_model::sample::FloatSample;
use std::path::{Path, PathBuf};

/// Prometheus' default block range (2 h) in milliseconds.
pub const BLOCK_RANGE_MS: i64 = 2 * 3600 * 1000;
/// Samples per chunk the writer aims for (Prometheus' head target).
pub const TARGET_SAMPLES_PER_CHUNK: usize = 120;

/// Start of the `range`-aligned window holding `t`.
pub fn window_start(t: i64, range: i64) -> i64 {
    t - t.rem_euclid(range)
}

/// Writes one block: series are added in label order, then [`finish`]
/// writes index, meta.json and tombstones and renames the directory from
/// `<ulid>.tmp-for-creation` to `<ulid>`.
///
/// [`finish`]: BlockWriter::finish
pub struct BlockWriter {
    parent: PathBuf,
    tmp: PathBuf,
    ulid: ulid::Ulid,
    min_time: i64,
    max_time: i64,
    chunks: ChunkWriter,
    series: Vec<(Labels, Vec<ChunkMeta>)>,
    stats: BlockStats,
    samples_per_chunk: usize,
}

impl BlockWriter {
    /// Starts a block covering `[min_time, max_time)` under `parent`.
    pub fn create(parent: &Path, min_time: i64, max_time: i64) -> Result<Self, BlockError> {
        if max_time <= min_time {
            return Err(BlockError::InvalidInput(format!(
                "block range [{min_time}, {max_time}) is empty"
            )));
        }
        let ulid = ulid::Ulid::new();
        let tmp = parent.join(format!("{ulid}.tmp-for-creation"));
        std::fs::create_dir_all(&tmp)?;
        let chunks = ChunkWriter::create(&tmp.join("chunks"))?;
        Ok(BlockWriter {
            parent: parent.to_path_buf(),
            tmp,
            ulid,
            min_time,
            max_time,
            chunks,
            series: Vec::new(),
            stats: BlockStats::default(),
            samples_per_chunk: TARGET_SAMPLES_PER_CHUNK,
        })
    }

    /// Overrides the chunk size target (1..=65535).
    pub fn with_samples_per_chunk(mut self, n: usize) -> Self {
        self.samples_per_chunk = n.clamp(1, u16::MAX as usize);
        self
    }

    /// Overrides the chunk segment size (tests force several files).
    pub fn with_segment_size(mut self, bytes: u64) -> Self {
        self.chunks = std::mem::replace(
            &mut self.chunks,
            // A placeholder that is replaced immediately; create() cannot fail
            // for the directory that already exists.
            match ChunkWriter::create(&self.tmp.join("chunks")) {
                Ok(w) => w,
                Err(_) => return self,
            },
        )
        .with_segment_size(bytes);
        self
    }

    /// The block's ULID.
    pub fn ulid(&self) -> String {
        self.ulid.to_string()
    }

    /// Adds one series. Labels must sort after the previous series'; samples
    /// must have strictly increasing timestamps inside the block range.
    /// Series without samples are skipped.
    pub fn add_series(
        &mut self,
        labels: Labels,
        samples: &[FloatSample],
    ) -> Result<(), BlockError> {
        if samples.is_empty() {
            return Ok(());
        }
        if let Some((prev, _)) = self.series.last() {
            if *prev >= labels {
                return Err(BlockError::InvalidInput(format!(
                    "series added out of order: {prev} then {labels}"
                )));
            }
        }
        if labels.is_empty() {
            return Err(BlockError::InvalidInput("series without labels".into()));
        }
        for w in samples.windows(2) {
            if w[1].t <= w[0].t {
                return Err(BlockError::InvalidInput(format!(
                    "samples of {labels} not strictly increasing in time at {}",
                    w[1].t
                )));
            }
        }
        let (first, last) = (samples[0].t, samples[samples.len() - 1].t);
        if first < self.min_time || last >= self.max_time {
            return Err(BlockError::InvalidInput(format!(
                "samples of {labels} span [{first}, {last}], outside block [{}, {})",
                self.min_time, self.max_time
            )));
        }
        // Equal-sized chunks of at most `samples_per_chunk` samples.
        let n_chunks = samples.len().div_ceil(self.samples_per_chunk);
        let base = samples.len() / n_chunks;
        let extra = samples.len() % n_chunks;
        let mut metas = Vec::with_capacity(n_chunks);
        let mut at = 0;
        for i in 0..n_chunks {
            let len = base + usize::from(i < extra);
            let part = &samples[at..at + len];
            at += len;
            let mut enc = XorEncoder::new();
            for s in part {
                enc.append(s.t, s.v)?;
            }
            let reference = self.chunks.write_chunk(ENCODING_XOR, enc.bytes())?;
            metas.push(ChunkMeta {
                mint: part[0].t,
                maxt: part[part.len() - 1].t,
                reference,
            });
        }
        self.stats.num_samples += samples.len() as u64;
        self.stats.num_chunks += n_chunks as u64;
        self.stats.num_series += 1;
        self.series.push((labels, metas));
        Ok(())
    }

    /// Series added so far.
    pub fn num_series(&self) -> usize {
        self.series.len()
    }

    /// Finishes the block. Returns `None` (and removes the temp dir) when
    /// no series were added.
    pub fn finish(self) -> Result<Option<(PathBuf, BlockMeta)>, BlockError> {
        self.chunks.finish()?;
        if self.series.is_empty() {
            std::fs::remove_dir_all(&self.tmp)?;
            return Ok(None);
        }
        write_index(&self.tmp.join("index"), &self.series)?;
        std::fs::write(self.tmp.join("tombstones"), Tombstones::default().encode())?;
        let ulid = self.ulid.to_string();
        let meta = BlockMeta {
            ulid: ulid.clone(),
            min_time: self.min_time,
            max_time: self.max_time,
            stats: self.stats,
            compaction: Compaction {
                level: 1,
                sources: vec![ulid.clone()],
                ..Compaction::default()
            },
            version: 1,
        };
        meta.write(&self.tmp)?;
        let dst = self.parent.join(&ulid);
        std::fs::rename(&self.tmp, &dst)?;
        std::fs::File::open(&self.parent)?.sync_all()?;
        Ok(Some((dst, meta)))
    }
}

/// One series read from a block, tombstones applied.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockSeries {
    /// Series labels.
    pub labels: Labels,
    /// Float samples in time order.
    pub samples: Vec<FloatSample>,
    /// Chunks skipped because their encoding is not XOR (native histograms).
    pub skipped_chunks: u32,
}

/// An opened Prometheus block.
pub struct BlockReader {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkReader,
    tombstones: Tombstones,
}

impl BlockReader {
    /// Opens the block in `dir` (meta.json, index, chunks, tombstones).
    pub fn open(dir: &Path) -> Result<Self, BlockError> {
        let meta = BlockMeta::read(dir)?;
        let index = IndexReader::open(&dir.join("index"))?;
        let chunks = ChunkReader::open(&dir.join("chunks"))?;
        let tombstones = Tombstones::read(&dir.join("tombstones"))?;
        Ok(BlockReader {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            tombstones,
        })
    }

    /// The block directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Parsed meta.json.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// The index.
    pub fn index(&self) -> &IndexReader {
        &self.index
    }

    /// The tombstones.
    pub fn tombstones(&self) -> &Tombstones {
        &self.tombstones
    }

    /// Reads series `id` with samples in `[mint, maxt]` (inclusive), tombstones applied.
    pub fn read_series(&self, id: u32, mint: i64, maxt: i64) -> Result<BlockSeries, BlockError> {
        let (labels, metas) = self.index.series(id)?;
        let mut samples = Vec::new();
        let mut skipped = 0;
        for m in metas {
            if m.maxt < mint || m.mint > maxt {
                continue;
            }
            let (enc, data) = self.chunks.chunk(m.reference)?;
            if enc != ENCODING_XOR {
                skipped += 1;
                continue;
            }
            for s in XorDecoder::new(&data)? {
                let (t, v) = s?;
                if t < mint || t > maxt || self.tombstones.is_deleted(id, t) {
                    continue;
                }
                samples.push(FloatSample { t, v });
            }
        }
        Ok(BlockSeries {
            labels,
            samples,
            skipped_chunks: skipped,
        })
    }

    /// Every series of the block in label order with all its samples.
    pub fn series(
        &self,
    ) -> Result<impl Iterator<Item = Result<BlockSeries, BlockError>> + '_, BlockError> {
        let ids = self.index.all_series()?;
        Ok(ids
            .into_iter()
            .map(move |id| self.read_series(id, i64::MIN, i64::MAX)))
    }
}

/// Whether `name` is a ULID (26 Crockford base32 characters).
pub fn is_ulid(name: &str) -> bool {
    name.len() == 26 && ulid::Ulid::from_string(name).is_ok()
}

/// The block directories of a Prometheus data dir, sorted by min time.
/// Names that are not ULIDs (`wal`, `chunks_head`, `*.tmp-for-*`, ...) are
/// skipped like Prometheus does.
pub fn list_blocks(data_dir: &Path) -> Result<Vec<(PathBuf, BlockMeta)>, BlockError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(data_dir)? {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_ulid(name) || !e.path().is_dir() {
            continue;
        }
        let meta = BlockMeta::read(&e.path())?;
        out.push((e.path(), meta));
    }
    out.sort_by(|a, b| (a.1.min_time, &a.1.ulid).cmp(&(b.1.min_time, &b.1.ulid)));
    Ok(out)
}
