//! Index file writer, format v2 (tsdb-format.md §3). The whole index is
//! built in memory (it is a few percent of a block) and written once.

use super::varint::{put_uvarint, put_varint};
use super::BlockError;
use lookout_model::labels::Labels;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

/// Index file magic number.
pub const INDEX_MAGIC: u32 = 0xBAAA_D700;
/// Index format version this writer produces.
pub const INDEX_VERSION: u8 = 2;

/// Where one chunk of a series lives and which time span it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkMeta {
    /// First sample timestamp (inclusive).
    pub mint: i64,
    /// Last sample timestamp (inclusive).
    pub maxt: i64,
    /// Chunk reference `(segment << 32) | offset`.
    pub reference: u64,
}

/// What [`write_index`] produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexStats {
    /// Bytes in the index file.
    pub bytes: u64,
    /// Symbols in the symbol table.
    pub symbols: u64,
    /// Postings lists (including the all-postings list).
    pub postings: u64,
}

fn pad_to(buf: &mut Vec<u8>, align: usize) {
    while !buf.len().is_multiple_of(align) {
        buf.push(0);
    }
}

/// Appends `len (4B) | body | CRC32C(body)` where `body` is produced by `f`.
fn section(buf: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) -> Result<(), BlockError> {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    f(buf);
    let body = buf.get(start + 4..).unwrap_or(&[]);
    let len = u32::try_from(body.len())
        .map_err(|_| BlockError::InvalidInput("index section larger than 4 GiB".into()))?;
    let crc = crc32c::crc32c(body);
    buf.get_mut(start..start + 4)
        .ok_or_else(|| BlockError::InvalidInput("index buffer".into()))?
        .copy_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// Writes an index for `series`, which must be sorted by label set, strictly
/// increasing, each with its chunks in time order (chunk files already written
/// in this order). Writes to `path` and fsyncs it.
pub fn write_index(
    path: &Path,
    series: &[(Labels, Vec<ChunkMeta>)],
) -> Result<IndexStats, BlockError> {
    let buf = encode_index(series)?;
    let mut f = std::fs::File::create(path)?;
    f.write_all(&buf)?;
    f.sync_all()?;
    Ok(IndexStats {
        bytes: buf.len() as u64,
        symbols: count_symbols(series) as u64,
        postings: count_postings(series) as u64,
    })
}

fn count_symbols(series: &[(Labels, Vec<ChunkMeta>)]) -> usize {
    let mut s: BTreeSet<&str> = BTreeSet::new();
    s.insert("");
    for (l, _) in series {
        for x in l {
            s.insert(&x.name);
            s.insert(&x.value);
        }
    }
    s.len()
}

fn count_postings(series: &[(Labels, Vec<ChunkMeta>)]) -> usize {
    let mut s: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (l, _) in series {
        for x in l {
            s.insert((&x.name, &x.value));
        }
    }
    s.len() + 1
}

/// Encodes the index file bytes (see [`write_index`]).
pub fn encode_index(series: &[(Labels, Vec<ChunkMeta>)]) -> Result<Vec<u8>, BlockError> {
    for w in series.windows(2) {
        if w[0].0 >= w[1].0 {
            return Err(BlockError::InvalidInput(format!(
                "series out of order or duplicated: {} then {}",
                w[0].0, w[1].0
            )));
        }
    }
    // Symbols: every name and value, plus "" as Prometheus writes it.
    let mut symset: BTreeSet<&str> = BTreeSet::new();
    symset.insert("");
    for (l, _) in series {
        for x in l {
            if x.name.is_empty() || x.value.is_empty() {
                return Err(BlockError::InvalidInput(format!(
                    "empty label name or value in {l}"
                )));
            }
            symset.insert(&x.name);
            symset.insert(&x.value);
        }
    }
    let symbols: Vec<&str> = symset.into_iter().collect();
    let sym_ref: HashMap<&str, u32> = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u32))
        .collect();

    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    buf.extend_from_slice(&INDEX_MAGIC.to_be_bytes());
    buf.push(INDEX_VERSION);

    // Symbol table.
    let toc_symbols = buf.len() as u64;
    let n_symbols = u32::try_from(symbols.len())
        .map_err(|_| BlockError::InvalidInput("more than 2^32 symbols".into()))?;
    section(&mut buf, |b| {
        b.extend_from_slice(&n_symbols.to_be_bytes());
        for s in &symbols {
            put_uvarint(b, s.len() as u64);
            b.extend_from_slice(s.as_bytes());
        }
    })?;

    // Series.
    let toc_series = buf.len() as u64;
    let mut postings: BTreeMap<(&str, &str), Vec<u32>> = BTreeMap::new();
    let mut all: Vec<u32> = Vec::with_capacity(series.len());
    let mut body = Vec::with_capacity(256);
    for (labels, chunks) in series {
        pad_to(&mut buf, 16);
        let id = u32::try_from(buf.len() / 16)
            .map_err(|_| BlockError::InvalidInput("series section exceeds 64 GiB".into()))?;
        all.push(id);
        body.clear();
        put_uvarint(&mut body, labels.len() as u64);
        for l in labels {
            let n = sym_ref.get(l.name.as_str()).copied().unwrap_or(0);
            let v = sym_ref.get(l.value.as_str()).copied().unwrap_or(0);
            put_uvarint(&mut body, n as u64);
            put_uvarint(&mut body, v as u64);
            postings
                .entry((l.name.as_str(), l.value.as_str()))
                .or_default()
                .push(id);
        }
        put_uvarint(&mut body, chunks.len() as u64);
        let mut prev: Option<&ChunkMeta> = None;
        for c in chunks {
            if c.maxt < c.mint {
                return Err(BlockError::InvalidInput(format!(
                    "chunk with maxt < mint in {labels}"
                )));
            }
            match prev {
                None => {
                    put_varint(&mut body, c.mint);
                    put_uvarint(&mut body, c.maxt.wrapping_sub(c.mint) as u64);
                    put_uvarint(&mut body, c.reference);
                }
                Some(p) => {
                    if c.mint <= p.maxt || c.reference <= p.reference {
                        return Err(BlockError::InvalidInput(format!(
                            "overlapping or unordered chunks in {labels}"
                        )));
                    }
                    put_uvarint(&mut body, c.mint.wrapping_sub(p.maxt) as u64);
                    put_uvarint(&mut body, c.maxt.wrapping_sub(c.mint) as u64);
                    put_varint(&mut body, c.reference.wrapping_sub(p.reference) as i64);
                }
            }
            prev = Some(c);
        }
        put_uvarint(&mut buf, body.len() as u64);
        buf.extend_from_slice(&body);
        buf.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    }

    // Postings lists: all-postings first, then by (name, value).
    pad_to(&mut buf, 4);
    let toc_postings = buf.len() as u64;
    let mut offsets: Vec<(&str, &str, u64)> = Vec::with_capacity(postings.len() + 1);
    let write_list = |buf: &mut Vec<u8>, ids: &[u32]| -> Result<u64, BlockError> {
        pad_to(buf, 4);
        let off = buf.len() as u64;
        section(buf, |b| {
            b.extend_from_slice(&(ids.len() as u32).to_be_bytes());
            for id in ids {
                b.extend_from_slice(&id.to_be_bytes());
            }
        })?;
        Ok(off)
    };
    offsets.push(("", "", write_list(&mut buf, &all)?));
    for ((n, v), ids) in &postings {
        offsets.push((n, v, write_list(&mut buf, ids)?));
    }

    // Postings offset table.
    let toc_postings_table = buf.len() as u64;
    section(&mut buf, |b| {
        b.extend_from_slice(&(offsets.len() as u32).to_be_bytes());
        for (n, v, off) in &offsets {
            put_uvarint(b, 2);
            put_uvarint(b, n.len() as u64);
            b.extend_from_slice(n.as_bytes());
            put_uvarint(b, v.len() as u64);
            b.extend_from_slice(v.as_bytes());
            put_uvarint(b, *off);
        }
    })?;

    // TOC; label indices and their table are deprecated and left out (0).
    let toc_start = buf.len();
    for x in [
        toc_symbols,
        toc_series,
        0,
        0,
        toc_postings,
        toc_postings_table,
    ] {
        buf.extend_from_slice(&x.to_be_bytes());
    }
    let crc = crc32c::crc32c(buf.get(toc_start..).unwrap_or(&[]));
    buf.extend_from_slice(&crc.to_be_bytes());
    Ok(buf)
}
