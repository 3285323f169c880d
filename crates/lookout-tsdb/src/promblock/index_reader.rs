//! Index file reader for format v2 (and v3, which shares the layout).
//! Loads the file into memory and checks every section's CRC32C on use.

use super::index_writer::{ChunkMeta, INDEX_MAGIC};
use super::varint::Decbuf;
use super::BlockError;
use lookout_model::labels::Labels;
use std::collections::BTreeMap;
use std::path::Path;

/// The six section offsets at the end of the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Toc {
    /// Symbol table.
    pub symbols: u64,
    /// Series section (before alignment padding).
    pub series: u64,
    /// Deprecated label indices (0 when absent).
    pub label_indices: u64,
    /// Deprecated label offset table (0 when absent).
    pub label_indices_table: u64,
    /// First postings list.
    pub postings: u64,
    /// Postings offset table.
    pub postings_table: u64,
}

/// A read-only, fully loaded index.
pub struct IndexReader {
    data: Vec<u8>,
    version: u8,
    toc: Toc,
    symbols: Vec<String>,
    /// name → value → postings list offset.
    postings: BTreeMap<String, BTreeMap<String, u64>>,
}

fn corrupt(m: impl Into<String>) -> BlockError {
    BlockError::Corrupt(m.into())
}

/// Reads `len (4B) | body | crc` at `off`, checks the CRC, returns the body.
fn checked_section<'a>(data: &'a [u8], off: u64, what: &str) -> Result<&'a [u8], BlockError> {
    let off = usize::try_from(off).map_err(|_| corrupt(format!("{what}: offset too large")))?;
    let mut d = Decbuf::new(
        data.get(off..)
            .ok_or_else(|| corrupt(format!("{what}: offset beyond end of file")))?,
    );
    let len = d
        .be32()
        .map_err(|_| corrupt(format!("{what}: truncated length")))? as usize;
    let body = d
        .bytes(len)
        .map_err(|_| corrupt(format!("{what}: truncated section")))?;
    let want = d
        .be32()
        .map_err(|_| corrupt(format!("{what}: truncated checksum")))?;
    let got = crc32c::crc32c(body);
    if want != got {
        return Err(corrupt(format!("read {what}: invalid checksum")));
    }
    Ok(body)
}

impl IndexReader {
    /// Reads and validates `path` (header, TOC, symbols, postings table).
    pub fn open(path: &Path) -> Result<Self, BlockError> {
        let data = std::fs::read(path)?;
        Self::from_bytes(data).map_err(|e| match e {
            BlockError::Corrupt(m) => BlockError::Corrupt(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parses an index held in memory.
    pub fn from_bytes(data: Vec<u8>) -> Result<Self, BlockError> {
        if data.len() < 5 + 52 {
            return Err(corrupt("index file too small"));
        }
        let mut d = Decbuf::new(&data);
        if d.be32()? != INDEX_MAGIC {
            return Err(corrupt("invalid index magic number"));
        }
        let version = d.bytes(1)?[0];
        match version {
            2 | 3 => {}
            1 => {
                return Err(BlockError::Unsupported(
                    "index format v1 (Prometheus < 2.9) is not supported".into(),
                ))
            }
            v => return Err(corrupt(format!("unknown index version {v}"))),
        }
        let toc_bytes = data
            .get(data.len() - 52..)
            .ok_or_else(|| corrupt("no TOC"))?;
        let want = Decbuf::new(toc_bytes.get(48..).unwrap_or(&[])).be32()?;
        if crc32c::crc32c(toc_bytes.get(..48).unwrap_or(&[])) != want {
            return Err(corrupt("read TOC: invalid checksum"));
        }
        let mut t = Decbuf::new(toc_bytes);
        let toc = Toc {
            symbols: t.be64()?,
            series: t.be64()?,
            label_indices: t.be64()?,
            label_indices_table: t.be64()?,
            postings: t.be64()?,
            postings_table: t.be64()?,
        };
        let symbols = {
            let body = checked_section(&data, toc.symbols, "symbols")?;
            let mut d = Decbuf::new(body);
            let n = d.be32()? as usize;
            let mut v = Vec::with_capacity(n.min(body.len()));
            for _ in 0..n {
                v.push(d.uvarint_str()?.to_string());
            }
            v
        };
        let mut postings: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        if toc.postings_table != 0 {
            let body = checked_section(&data, toc.postings_table, "postings offset table")?;
            let mut d = Decbuf::new(body);
            let n = d.be32()? as usize;
            for _ in 0..n {
                if d.uvarint()? != 2 {
                    return Err(corrupt("postings offset table entry without 2 keys"));
                }
                let name = d.uvarint_str()?.to_string();
                let value = d.uvarint_str()?.to_string();
                let off = d.uvarint()?;
                postings.entry(name).or_default().insert(value, off);
            }
        }
        Ok(IndexReader {
            data,
            version,
            toc,
            symbols,
            postings,
        })
    }

    /// Index format version (2 or 3).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Section offsets.
    pub fn toc(&self) -> Toc {
        self.toc
    }

    /// Size of the index file in bytes.
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// The symbol table.
    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }

    fn symbol(&self, r: u32) -> Result<&str, BlockError> {
        self.symbols
            .get(r as usize)
            .map(String::as_str)
            .ok_or_else(|| corrupt(format!("symbol reference {r} out of range")))
    }

    /// Sorted label names (excluding the all-postings key).
    pub fn label_names(&self) -> Vec<&str> {
        self.postings
            .keys()
            .filter(|k| !k.is_empty())
            .map(String::as_str)
            .collect()
    }

    /// Sorted values of label `name`.
    pub fn label_values(&self, name: &str) -> Vec<&str> {
        self.postings
            .get(name)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The series IDs of the postings list for `name="value"` (ascending);
    /// empty when the pair is absent. `("", "")` is every series.
    pub fn postings(&self, name: &str, value: &str) -> Result<Vec<u32>, BlockError> {
        let Some(off) = self.postings.get(name).and_then(|m| m.get(value)) else {
            return Ok(Vec::new());
        };
        let body = checked_section(&self.data, *off, "postings")?;
        let mut d = Decbuf::new(body);
        let n = d.be32()? as usize;
        if n.checked_mul(4) != Some(d.remaining()) {
            return Err(corrupt("postings list length mismatch"));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(d.be32()?);
        }
        Ok(out)
    }

    /// Every series ID (the all-postings list).
    pub fn all_series(&self) -> Result<Vec<u32>, BlockError> {
        self.postings("", "")
    }

    /// Labels and chunk metas of series `id`.
    pub fn series(&self, id: u32) -> Result<(Labels, Vec<ChunkMeta>), BlockError> {
        let off = id as usize * 16;
        let mut d = Decbuf::new(
            self.data
                .get(off..)
                .ok_or_else(|| corrupt(format!("series {id} beyond end of index")))?,
        );
        let len = d.uvarint()? as usize;
        let body = d.bytes(len)?;
        let want = d.be32()?;
        if crc32c::crc32c(body) != want {
            return Err(corrupt(format!("read series {id}: invalid checksum")));
        }
        let mut d = Decbuf::new(body);
        let nl = d.uvarint()? as usize;
        let mut pairs = Vec::with_capacity(nl.min(64));
        for _ in 0..nl {
            let n = self.symbol(d.uvarint32()?)?;
            let v = self.symbol(d.uvarint32()?)?;
            pairs.push((n, v));
        }
        let nc = d.uvarint()? as usize;
        let mut chunks = Vec::with_capacity(nc.min(4096));
        let mut prev: Option<ChunkMeta> = None;
        for _ in 0..nc {
            let c = match prev {
                None => {
                    let mint = d.varint()?;
                    let maxt = mint.wrapping_add(d.uvarint()? as i64);
                    ChunkMeta {
                        mint,
                        maxt,
                        reference: d.uvarint()?,
                    }
                }
                Some(p) => {
                    let mint = p.maxt.wrapping_add(d.uvarint()? as i64);
                    let maxt = mint.wrapping_add(d.uvarint()? as i64);
                    let reference = p.reference.wrapping_add(d.varint()? as u64);
                    ChunkMeta {
                        mint,
                        maxt,
                        reference,
                    }
                }
            };
            chunks.push(c);
            prev = Some(c);
        }
        Ok((Labels::from_pairs(pairs), chunks))
    }
}
