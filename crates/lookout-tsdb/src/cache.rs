//! Bounded cache of read granules and decoded blocks.
//!
//! Dashboards repeat the same queries over the same recent data every few
//! seconds; without a cache each one re-reads granules (`pread`, CRC, zstd)
//! and re-decodes every block (`pco`, delta-of-delta). Entries are keyed by
//! part (a process-unique id, so a merged-away part's entries simply age
//! out), granule and block, charged by their heap size, and evicted least
//! recently used first. Granules are kept as read (headers plus compressed
//! payloads, ~1 B/sample), decoded blocks at ~16 B/sample; only blocks a
//! query actually decodes are cached.

use std::collections::VecDeque;
use std::sync::Arc;

use hashbrown::HashMap;
use lookout_model::FloatHistogram;
use parking_lot::Mutex;

use crate::codec::CodecError;
use crate::part::{BlockMeta, BlockValues, Granule, Part, PartError};

/// Timestamps and values of one block.
pub struct DecodedBlock {
    /// Timestamps.
    pub ts: Vec<i64>,
    /// Values.
    pub values: BlockValues,
}

impl DecodedBlock {
    fn heap_bytes(&self) -> usize {
        let v = match &self.values {
            BlockValues::Floats(v) => v.capacity() * 8,
            BlockValues::Histograms(hs) => hs
                .iter()
                .map(|h| {
                    std::mem::size_of::<FloatHistogram>()
                        + 8 * (h.positive_buckets.len()
                            + h.negative_buckets.len()
                            + h.custom_values.len()
                            + h.positive_spans.len()
                            + h.negative_spans.len())
                })
                .sum(),
        };
        self.ts.capacity() * 8 + v + 64
    }

    /// Decodes block `b` of `g`.
    pub fn decode(g: &Granule, b: &BlockMeta) -> Result<DecodedBlock, CodecError> {
        let mut ts = Vec::with_capacity(b.count as usize);
        g.timestamps(b, &mut ts)?;
        let values = g.values(b)?;
        let n = match &values {
            BlockValues::Floats(v) => v.len(),
            BlockValues::Histograms(h) => h.len(),
        };
        if n != ts.len() {
            return Err(CodecError::Corrupt("block value count"));
        }
        Ok(DecodedBlock { ts, values })
    }
}

/// Block index standing for the granule itself.
const GRANULE: u32 = u32::MAX;

type Key = (u64, u32, u32);

enum Entry {
    Granule(Arc<Granule>),
    Block(Arc<DecodedBlock>),
}

struct Slot {
    entry: Entry,
    bytes: usize,
    tick: u64,
}

#[derive(Default)]
struct State {
    map: HashMap<Key, Slot>,
    /// Use order (key, tick); stale pairs (tick no longer current) are
    /// skipped on eviction.
    order: VecDeque<(Key, u64)>,
    bytes: usize,
    tick: u64,
    hits: u64,
    misses: u64,
}

impl State {
    fn touch(&mut self, key: Key) -> Option<&Entry> {
        self.tick += 1;
        let tick = self.tick;
        let slot = self.map.get_mut(&key)?;
        slot.tick = tick;
        self.order.push_back((key, tick));
        self.hits += 1;
        if self.order.len() > 4 * self.map.len() + 64 {
            let map = &self.map;
            self.order
                .retain(|(k, t)| map.get(k).is_some_and(|s| s.tick == *t));
        }
        self.map.get(&key).map(|s| &s.entry)
    }

    fn insert(&mut self, key: Key, entry: Entry, bytes: usize, budget: usize) {
        self.tick += 1;
        let tick = self.tick;
        if let Some(old) = self.map.insert(key, Slot { entry, bytes, tick }) {
            self.bytes -= old.bytes;
        }
        self.bytes += bytes;
        self.order.push_back((key, tick));
        while self.bytes > budget {
            let Some((k, t)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&k).is_some_and(|s| s.tick == t) {
                if let Some(s) = self.map.remove(&k) {
                    self.bytes -= s.bytes;
                }
            }
        }
    }
}

/// The cache; `budget` 0 disables it.
pub struct ReadCache {
    budget: usize,
    state: Mutex<State>,
}

/// Hit and miss counts and size of a [`ReadCache`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that read or decoded.
    pub misses: u64,
    /// Bytes held.
    pub bytes: u64,
}

impl ReadCache {
    /// A cache of at most `budget` bytes (0: no caching).
    pub fn new(budget: usize) -> Self {
        ReadCache {
            budget,
            state: Mutex::new(State::default()),
        }
    }

    /// Granule `gi` of `p`, read on a miss.
    pub fn granule(&self, p: &Part, gi: usize) -> Result<Arc<Granule>, PartError> {
        if self.budget == 0 {
            return p.read_granule(gi).map(Arc::new);
        }
        let key = (p.uid(), gi as u32, GRANULE);
        if let Some(Entry::Granule(g)) = self.state.lock().touch(key) {
            return Ok(Arc::clone(g));
        }
        let g = Arc::new(p.read_granule(gi)?);
        let bytes = g.heap_bytes();
        let mut st = self.state.lock();
        st.misses += 1;
        st.insert(key, Entry::Granule(Arc::clone(&g)), bytes, self.budget);
        Ok(g)
    }

    /// Block `bi` of granule `gi` of `p` decoded, decoding `g` on a miss.
    pub fn block(
        &self,
        p: &Part,
        gi: usize,
        g: &Granule,
        bi: usize,
    ) -> Result<Arc<DecodedBlock>, CodecError> {
        let b = g.blocks.get(bi).ok_or(CodecError::Corrupt("block index"))?;
        if self.budget == 0 {
            return DecodedBlock::decode(g, b).map(Arc::new);
        }
        let key = (p.uid(), gi as u32, bi as u32);
        if let Some(Entry::Block(d)) = self.state.lock().touch(key) {
            return Ok(Arc::clone(d));
        }
        let d = Arc::new(DecodedBlock::decode(g, b)?);
        let bytes = d.heap_bytes();
        let mut st = self.state.lock();
        st.misses += 1;
        st.insert(key, Entry::Block(Arc::clone(&d)), bytes, self.budget);
        Ok(d)
    }

    /// Counters and size.
    pub fn stats(&self) -> CacheStats {
        let st = self.state.lock();
        CacheStats {
            hits: st.hits,
            misses: st.misses,
            bytes: st.bytes as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Effort;
    use crate::part::PartWriter;

    #[test]
    fn hits_evictions_and_results_match_uncached_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.part");
        let mut w = PartWriter::create(&path, 0, Effort::Fast, 100).unwrap();
        for sid in 0..2000u32 {
            let ts: Vec<i64> = (0..50).map(|i| i * 1000).collect();
            let vs: Vec<f64> = (0..50).map(|i| f64::from(sid) + f64::from(i)).collect();
            w.add_floats(sid, &ts, &vs).unwrap();
        }
        w.finish(&path, 1, 1).unwrap();
        let p = Part::open(&path).unwrap();
        assert!(p.granules.len() > 1);
        // Room for about one granule and a few blocks.
        let one = p.read_granule(0).unwrap().heap_bytes();
        let cache = ReadCache::new(one + 4096);
        for round in 0..2 {
            for gi in 0..p.granules.len() {
                let g = cache.granule(&p, gi).unwrap();
                let plain = p.read_granule(gi).unwrap();
                assert_eq!(g.blocks, plain.blocks);
                let d = cache.block(&p, gi, &g, 3).unwrap();
                let want = DecodedBlock::decode(&plain, &plain.blocks[3]).unwrap();
                assert_eq!(d.ts, want.ts);
                match (&d.values, &want.values) {
                    (BlockValues::Floats(a), BlockValues::Floats(b)) => assert_eq!(a, b),
                    _ => panic!("kind"),
                }
                // Repeated lookups of the same granule hit.
                let before = cache.stats().hits;
                cache.granule(&p, gi).unwrap();
                assert_eq!(cache.stats().hits, before + 1, "round {round}");
            }
        }
        let st = cache.stats();
        assert!(st.bytes as usize <= one + 4096, "{st:?}");
        assert!(
            st.misses >= 2 * p.granules.len() as u64,
            "evictions happened: {st:?}"
        );
        let off = ReadCache::new(0);
        off.granule(&p, 0).unwrap();
        assert_eq!(off.stats(), CacheStats::default());
    }
}
