//! Per-part label index (`<part>.lki`), written next to a day's final part.
//!
//! It holds the label set of every series with data in that part, so series
//! that have been silent since can be dropped from the in-memory registry
//! (see [`crate::prune`]) and still be found by queries over that day.
//!
//! ```text
//! "LKDIDX01" | zstd stream of records in id order:
//!                uvarint id delta, uvarint label count, (uvarint len, bytes) × 2 per label
//!            | count (u64 LE) | crc32c of the zstd stream (u32 LE) | "LKDIEND1"
//! ```
//!
//! Loaded, it is a small [`Registry`] with local ids (so matchers run on its
//! postings exactly as on the in-memory ones) plus the local → store id map.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lookout_model::{Labels, Matcher};
use parking_lot::Mutex;

use crate::codec::bytes::{put_uvarint, Reader};
use crate::registry::{Registry, SeriesId};

const MAGIC: &[u8; 8] = b"LKDIDX01";
const END: &[u8; 8] = b"LKDIEND1";
const TRAILER: usize = 8 + 4 + 8;

/// The index file of the part at `part_path`.
pub fn path_for(part_path: &Path) -> PathBuf {
    part_path.with_extension("lki")
}

/// Writes the index of `series` (ascending ids with their labels) to
/// `path` atomically.
pub fn write(path: &Path, series: &[(SeriesId, Labels)], sync: bool) -> io::Result<()> {
    let mut raw = Vec::with_capacity(series.len() * 48);
    let mut prev = 0u64;
    for (i, (id, labels)) in series.iter().enumerate() {
        let id = u64::from(*id);
        if i > 0 && id <= prev {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "day index ids must ascend",
            ));
        }
        put_uvarint(&mut raw, id - if i == 0 { 0 } else { prev });
        prev = id;
        put_uvarint(&mut raw, labels.len() as u64);
        for l in labels.iter() {
            put_uvarint(&mut raw, l.name.len() as u64);
            raw.extend_from_slice(l.name.as_bytes());
            put_uvarint(&mut raw, l.value.len() as u64);
            raw.extend_from_slice(l.value.as_bytes());
        }
    }
    let z = zstd::bulk::compress(&raw, 3)?;
    let tmp = path.with_extension("lki.tmp");
    let mut f = BufWriter::new(File::create(&tmp)?);
    f.write_all(MAGIC)?;
    f.write_all(&z)?;
    f.write_all(&(series.len() as u64).to_le_bytes())?;
    f.write_all(&crc32c::crc32c(&z).to_le_bytes())?;
    f.write_all(END)?;
    let f = f.into_inner().map_err(|e| e.into_error())?;
    if sync {
        f.sync_all()?;
    }
    drop(f);
    fs::rename(&tmp, path)
}

/// A loaded index.
pub struct DayIndex {
    reg: Registry,
    /// Store id of each local id (ascending).
    ids: Vec<SeriesId>,
}

impl DayIndex {
    /// Reads and verifies the index at `path`.
    pub fn load(path: &Path) -> io::Result<DayIndex> {
        let buf = fs::read(path)?;
        let bad = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {what}", path.display()),
            )
        };
        if buf.len() < MAGIC.len() + TRAILER || &buf[..8] != MAGIC || &buf[buf.len() - 8..] != END {
            return Err(bad("bad framing"));
        }
        let t = &buf[buf.len() - TRAILER..];
        let mut c8 = [0u8; 8];
        c8.copy_from_slice(&t[..8]);
        let count = u64::from_le_bytes(c8);
        let mut c4 = [0u8; 4];
        c4.copy_from_slice(&t[8..12]);
        let body = &buf[8..buf.len() - TRAILER];
        if crc32c::crc32c(body) != u32::from_le_bytes(c4) {
            return Err(bad("checksum mismatch"));
        }
        let raw = zstd::stream::decode_all(body)?;
        let mut r = Reader::new(&raw);
        let mut reg = Registry::new();
        let mut ids = Vec::new();
        let mut id = 0u64;
        let mut labels = Vec::new();
        for i in 0..count {
            let d = r.uvarint().map_err(|_| bad("id"))?;
            id = if i == 0 { d } else { id.saturating_add(d) };
            let sid = SeriesId::try_from(id).map_err(|_| bad("id"))?;
            if i > 0 && d == 0 {
                return Err(bad("ids not ascending"));
            }
            let n = r.len(r.remaining()).map_err(|_| bad("record"))?;
            labels.clear();
            for _ in 0..n {
                let nl = r.len(r.remaining()).map_err(|_| bad("name"))?;
                let name = std::str::from_utf8(r.bytes(nl).map_err(|_| bad("name"))?)
                    .map_err(|_| bad("utf-8"))?;
                let vl = r.len(r.remaining()).map_err(|_| bad("value"))?;
                let value = std::str::from_utf8(r.bytes(vl).map_err(|_| bad("value"))?)
                    .map_err(|_| bad("utf-8"))?;
                labels.push((name.to_string(), value.to_string()));
            }
            let l = Labels::from_pairs(labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            reg.insert(&l).map_err(|e| bad(&e.to_string()))?;
            ids.push(sid);
        }
        if r.remaining() != 0 {
            return Err(bad("trailing bytes"));
        }
        Ok(DayIndex { reg, ids })
    }

    /// Store ids (ascending) of the series matching every matcher; an empty
    /// list selects every series.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<SeriesId> {
        if matchers.is_empty() {
            return self.ids.clone();
        }
        self.reg
            .select(matchers)
            .into_iter()
            .filter_map(|local| self.ids.get(local as usize).copied())
            .collect()
    }

    /// The labels of store id `id`, if the index holds it.
    pub fn labels(&self, id: SeriesId) -> Option<Labels> {
        let local = self.ids.binary_search(&id).ok()?;
        Some(self.reg.labels(local as SeriesId))
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.reg.heap_bytes() + self.ids.capacity() * 4
    }
}

/// Recently used indexes, bounded by their heap size (queries over old days
/// load them; keeping all would bring back the memory pruning saved).
pub struct DayIndexCache {
    budget: usize,
    entries: Mutex<Vec<(PathBuf, Arc<DayIndex>)>>,
}

impl DayIndexCache {
    /// A cache holding at most about `budget` bytes of indexes (at least one).
    pub fn new(budget: usize) -> Self {
        DayIndexCache {
            budget,
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The index of the part at `part_path`; `None` when it has none.
    pub fn get(&self, part_path: &Path) -> io::Result<Option<Arc<DayIndex>>> {
        let path = path_for(part_path);
        {
            let mut e = self.entries.lock();
            if let Some(i) = e.iter().position(|(p, _)| *p == path) {
                let hit = e.remove(i);
                let idx = Arc::clone(&hit.1);
                e.push(hit);
                return Ok(Some(idx));
            }
        }
        let idx = match DayIndex::load(&path) {
            Ok(i) => Arc::new(i),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut e = self.entries.lock();
        e.push((path, Arc::clone(&idx)));
        let mut total: usize = e.iter().map(|(_, i)| i.heap_bytes()).sum();
        while e.len() > 1 && total > self.budget {
            total -= e[0].1.heap_bytes();
            e.remove(0);
        }
        Ok(Some(idx))
    }

    /// Forgets the index of a removed part.
    pub fn forget(&self, part_path: &Path) {
        let path = path_for(part_path);
        self.entries.lock().retain(|(p, _)| *p != path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_select_and_corruption() {
        let d = tempfile::tempdir().unwrap();
        let part = d.path().join("000000000001-000000000004.part");
        let series: Vec<(SeriesId, Labels)> = (0..500u32)
            .map(|i| {
                (
                    i * 3 + 7,
                    Labels::from_pairs([("__name__", "m".to_string()), ("pod", format!("p{i}"))]),
                )
            })
            .collect();
        write(&path_for(&part), &series, true).unwrap();
        let cache = DayIndexCache::new(1 << 20);
        let idx = cache.get(&part).unwrap().unwrap();
        assert_eq!(idx.len(), 500);
        assert_eq!(idx.select(&[Matcher::equal("pod", "p10")]), vec![37]);
        assert_eq!(idx.labels(37), Some(series[10].1.clone()));
        assert_eq!(idx.labels(38), None);
        assert_eq!(idx.select(&[]).len(), 500);
        assert!(cache.get(&d.path().join("none.part")).unwrap().is_none());
        let p = path_for(&part);
        let mut b = fs::read(&p).unwrap();
        b[12] ^= 1;
        fs::write(&p, &b).unwrap();
        assert!(DayIndex::load(&p).is_err());
    }
}
