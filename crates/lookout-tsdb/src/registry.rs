//! The series registry: label sets ↔ dense `u32` series ids, interned
//! symbols, and the in-memory inverted index (postings).
//!
//! Nothing here is per-series heap data: label sets live as symbol-id pairs
//! in one arena, symbols in one byte arena, and the hash tables store only
//! ids (hashes are recomputed from the arenas when a table grows). A label
//! pair held by one series keeps its single id inline; only shared pairs
//! own a `Vec`.

use hashbrown::{HashMap, HashTable};
use lookout_model::{Label, Labels, MatchOp, Matcher};

/// Dense series id, assigned in creation order from 0.
pub type SeriesId = u32;

fn hash_bytes(b: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(b)
}

/// Interned strings: one byte arena, `u32` ids.
#[derive(Default)]
pub struct Symbols {
    bytes: Vec<u8>,
    offsets: Vec<u32>,
    table: HashTable<u32>,
}

impl Symbols {
    fn get_str(&self, id: u32) -> &str {
        let i = id as usize;
        let start = self.offsets[i] as usize;
        let end = self
            .offsets
            .get(i + 1)
            .map_or(self.bytes.len(), |&e| e as usize);
        // SAFETY: only `&str` data is ever appended, and offsets mark the
        // boundaries between whole strings.
        unsafe { std::str::from_utf8_unchecked(&self.bytes[start..end]) }
    }

    /// The string with id `id`.
    pub fn resolve(&self, id: u32) -> &str {
        self.get_str(id)
    }

    /// The id of `s`, if interned.
    pub fn lookup(&self, s: &str) -> Option<u32> {
        let h = hash_bytes(s.as_bytes());
        self.table.find(h, |&id| self.get_str(id) == s).copied()
    }

    /// Interns `s`.
    pub fn intern(&mut self, s: &str) -> Result<u32, RegistryError> {
        if let Some(id) = self.lookup(s) {
            return Ok(id);
        }
        let start = u32::try_from(self.bytes.len()).map_err(|_| RegistryError::Full)?;
        if self.bytes.len() + s.len() > u32::MAX as usize {
            return Err(RegistryError::Full);
        }
        let id = u32::try_from(self.offsets.len()).map_err(|_| RegistryError::Full)?;
        self.bytes.extend_from_slice(s.as_bytes());
        self.offsets.push(start);
        let h = hash_bytes(s.as_bytes());
        let (bytes, offsets) = (&self.bytes, &self.offsets);
        self.table.insert_unique(h, id, |&other| {
            let i = other as usize;
            let st = offsets[i] as usize;
            let en = offsets.get(i + 1).map_or(bytes.len(), |&e| e as usize);
            hash_bytes(&bytes[st..en])
        });
        Ok(id)
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Whether there are no symbols.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.offsets.capacity() * 4 + self.table.capacity() * 5
    }
}

/// Series ids sharing one label pair.
enum Postings {
    One(SeriesId),
    Many(Vec<SeriesId>),
}

impl Postings {
    fn as_slice(&self) -> &[SeriesId] {
        match self {
            Postings::One(id) => std::slice::from_ref(id),
            Postings::Many(v) => v,
        }
    }

    fn push(&mut self, id: SeriesId) {
        match self {
            Postings::One(first) => *self = Postings::Many(vec![*first, id]),
            Postings::Many(v) => v.push(id),
        }
    }
}

/// Registry failures.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// More than 2^32 symbols, series or label pairs.
    #[error("series registry is full (2^32 ids)")]
    Full,
}

/// Label sets by id, ids by label set, and postings.
#[derive(Default)]
pub struct Registry {
    symbols: Symbols,
    /// Flattened (name symbol, value symbol) pairs of every series.
    pairs: Vec<u32>,
    /// Start of each series' pairs in `pairs` (len = series count).
    starts: Vec<u32>,
    by_labels: HashTable<SeriesId>,
    postings: HashMap<(u32, u32), Postings>,
    /// Value symbols seen per name symbol, in first-seen order.
    values_by_name: HashMap<u32, Vec<u32>>,
    /// Live (non-dead) series.
    live: usize,
}

/// The hash of a label set as the registry keys it.
pub fn labels_hash(labels: &Labels) -> u64 {
    labels.stable_hash()
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether no series exist.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The interned symbols.
    pub fn symbols(&self) -> &Symbols {
        &self.symbols
    }

    fn pair_range(&self, id: SeriesId) -> &[u32] {
        let i = id as usize;
        let start = self.starts[i] as usize;
        let end = self
            .starts
            .get(i + 1)
            .map_or(self.pairs.len(), |&e| e as usize);
        &self.pairs[start..end]
    }

    fn stored_hash(&self, id: SeriesId) -> u64 {
        Self::hash_pairs(&self.symbols, self.pair_range(id))
    }

    fn hash_pairs(symbols: &Symbols, pairs: &[u32]) -> u64 {
        // Must equal `Labels::stable_hash` for the same set.
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for p in pairs.chunks_exact(2) {
            h.update(symbols.get_str(p[0]).as_bytes());
            h.update(&[0xff]);
            h.update(symbols.get_str(p[1]).as_bytes());
            h.update(&[0xff]);
        }
        h.digest()
    }

    fn same_labels(&self, id: SeriesId, labels: &Labels) -> bool {
        let pairs = self.pair_range(id);
        pairs.len() == labels.len() * 2
            && pairs.chunks_exact(2).zip(labels.iter()).all(|(p, l)| {
                self.symbols.get_str(p[0]) == l.name && self.symbols.get_str(p[1]) == l.value
            })
    }

    /// The id of `labels`, if registered.
    pub fn lookup(&self, labels: &Labels) -> Option<SeriesId> {
        self.lookup_hashed(labels, labels_hash(labels))
    }

    /// [`Registry::lookup`] with a precomputed [`labels_hash`].
    pub fn lookup_hashed(&self, labels: &Labels, hash: u64) -> Option<SeriesId> {
        self.by_labels
            .find(hash, |&id| self.same_labels(id, labels))
            .copied()
    }

    /// Registers `labels` (which must not be registered yet) as the next id.
    pub fn insert(&mut self, labels: &Labels) -> Result<SeriesId, RegistryError> {
        let id = self.insert_pairs(labels.iter().map(|l| (l.name.as_str(), l.value.as_str())))?;
        debug_assert_eq!(self.stored_hash(id), labels_hash(labels));
        Ok(id)
    }

    /// Registers a label set given as sorted (name, value) pairs as the next id.
    fn insert_pairs<'a>(
        &mut self,
        labels: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    ) -> Result<SeriesId, RegistryError> {
        let id = u32::try_from(self.starts.len()).map_err(|_| RegistryError::Full)?;
        if id == u32::MAX {
            return Err(RegistryError::Full);
        }
        let start = u32::try_from(self.pairs.len()).map_err(|_| RegistryError::Full)?;
        if self.pairs.len() + labels.len() * 2 > u32::MAX as usize {
            return Err(RegistryError::Full);
        }
        for (name, value) in labels {
            let n = self.symbols.intern(name)?;
            let v = self.symbols.intern(value)?;
            self.pairs.push(n);
            self.pairs.push(v);
            match self.postings.entry((n, v)) {
                hashbrown::hash_map::Entry::Occupied(mut e) => e.get_mut().push(id),
                hashbrown::hash_map::Entry::Vacant(e) => {
                    e.insert(Postings::One(id));
                    self.values_by_name.entry(n).or_default().push(v);
                }
            }
        }
        self.starts.push(start);
        self.live += 1;
        let hash = self.stored_hash(id);
        let (symbols, pairs, starts) = (&self.symbols, &self.pairs, &self.starts);
        self.by_labels.insert_unique(hash, id, |&other| {
            let i = other as usize;
            let s = starts[i] as usize;
            let e = starts.get(i + 1).map_or(pairs.len(), |&e| e as usize);
            Self::hash_pairs(symbols, &pairs[s..e])
        });
        Ok(id)
    }

    /// Reserves the next id for a series that is no longer held in memory
    /// (an empty label range marks it; label sets are never empty).
    pub fn insert_dead(&mut self) -> Result<SeriesId, RegistryError> {
        let id = u32::try_from(self.starts.len()).map_err(|_| RegistryError::Full)?;
        if id == u32::MAX {
            return Err(RegistryError::Full);
        }
        let start = u32::try_from(self.pairs.len()).map_err(|_| RegistryError::Full)?;
        self.starts.push(start);
        Ok(id)
    }

    /// A copy holding only the live series for which `keep` holds; the
    /// others become dead ids. Symbols, postings and hash tables are
    /// rebuilt, so memory follows the kept series.
    pub fn rebuild(
        &self,
        mut keep: impl FnMut(SeriesId) -> bool,
    ) -> Result<Registry, RegistryError> {
        let mut out = Registry::new();
        for id in 0..self.len() as SeriesId {
            if self.is_live(id) && keep(id) {
                let pairs = self.pair_range(id);
                out.insert_pairs(
                    pairs
                        .chunks_exact(2)
                        .map(|p| (self.symbols.get_str(p[0]), self.symbols.get_str(p[1]))),
                )?;
            } else {
                out.insert_dead()?;
            }
        }
        Ok(out)
    }

    /// Whether `id` exists and its labels are held in memory.
    pub fn is_live(&self, id: SeriesId) -> bool {
        let i = id as usize;
        match self.starts.get(i) {
            None => false,
            Some(&s) => {
                self.starts
                    .get(i + 1)
                    .map_or(self.pairs.len(), |&e| e as usize)
                    > s as usize
            }
        }
    }

    /// Number of series whose labels are held in memory.
    pub fn live_len(&self) -> usize {
        self.live
    }

    /// The label set of series `id`.
    pub fn labels(&self, id: SeriesId) -> Labels {
        let labels = self
            .pair_range(id)
            .chunks_exact(2)
            .map(|p| Label {
                name: self.symbols.get_str(p[0]).to_string(),
                value: self.symbols.get_str(p[1]).to_string(),
            })
            .collect();
        Labels::from_sorted(labels)
    }

    /// Calls `f(name, value)` for every label of series `id`, in name order.
    pub fn for_each_label(&self, id: SeriesId, mut f: impl FnMut(&str, &str)) {
        for p in self.pair_range(id).chunks_exact(2) {
            f(self.symbols.get_str(p[0]), self.symbols.get_str(p[1]));
        }
    }

    /// Value of label `name` on series `id` (`""` when absent).
    pub fn label_value(&self, id: SeriesId, name: &str) -> &str {
        for p in self.pair_range(id).chunks_exact(2) {
            if self.symbols.get_str(p[0]) == name {
                return self.symbols.get_str(p[1]);
            }
        }
        ""
    }

    /// Whether series `id` exists and is live.
    pub fn contains(&self, id: SeriesId) -> bool {
        self.is_live(id)
    }

    fn postings_for(&self, name: u32, value: u32) -> &[SeriesId] {
        self.postings
            .get(&(name, value))
            .map_or(&[][..], Postings::as_slice)
    }

    /// Union of the postings of every value of `name` for which `keep` holds.
    fn union_values(&self, name: &str, mut keep: impl FnMut(&str) -> bool) -> Vec<SeriesId> {
        let Some(n) = self.symbols.lookup(name) else {
            return Vec::new();
        };
        let Some(values) = self.values_by_name.get(&n) else {
            return Vec::new();
        };
        let mut lists: Vec<&[SeriesId]> = Vec::new();
        for &v in values {
            if keep(self.symbols.get_str(v)) {
                lists.push(self.postings_for(n, v));
            }
        }
        union_sorted(&lists)
    }

    /// Sorted ids of the series whose labels satisfy every matcher. An empty
    /// matcher list selects nothing.
    ///
    /// Matchers that reject the empty string narrow the result by a postings
    /// union (direct lookups for `=` and literal alternations, a scan of the
    /// label's values otherwise); matchers that accept it (so also match
    /// series without the label) subtract the postings of the values they
    /// reject. Only when no matcher narrows does the result start from all
    /// series.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<SeriesId> {
        if matchers.is_empty() {
            return Vec::new();
        }
        let mut result: Option<Vec<SeriesId>> = None;
        let mut subtract: Vec<Vec<SeriesId>> = Vec::new();
        // Narrowing matchers first, cheapest (`=`) before scans.
        let mut order: Vec<&Matcher> = matchers.iter().collect();
        order.sort_by_key(|m| match m.op {
            MatchOp::Equal => 0,
            MatchOp::Regex if m.set_matches().is_some() => 1,
            _ => 2,
        });
        for m in order {
            if m.matches_empty() {
                // Series lacking the label match; remove those whose value is rejected.
                let rejected = self.union_values(&m.name, |v| !m.matches(v));
                subtract.push(rejected);
                continue;
            }
            let ids = match (m.op, m.set_matches()) {
                (MatchOp::Equal, _) => self.equal_postings(&m.name, &m.value),
                (MatchOp::Regex, Some(set)) => {
                    let lists: Vec<Vec<SeriesId>> = set
                        .iter()
                        .map(|v| self.equal_postings(&m.name, v))
                        .collect();
                    let refs: Vec<&[SeriesId]> = lists.iter().map(Vec::as_slice).collect();
                    union_sorted(&refs)
                }
                _ => self.union_values(&m.name, |v| m.matches(v)),
            };
            result = Some(match result {
                None => ids,
                Some(r) => intersect_sorted(&r, &ids),
            });
            if result.as_ref().is_some_and(Vec::is_empty) {
                return Vec::new();
            }
        }
        let mut r = result.unwrap_or_else(|| self.live_ids());
        for s in subtract {
            r = subtract_sorted(&r, &s);
        }
        r
    }

    /// Every live id, ascending.
    pub fn live_ids(&self) -> Vec<SeriesId> {
        (0..self.len() as SeriesId)
            .filter(|&id| self.is_live(id))
            .collect()
    }

    fn equal_postings(&self, name: &str, value: &str) -> Vec<SeriesId> {
        match (self.symbols.lookup(name), self.symbols.lookup(value)) {
            (Some(n), Some(v)) => self.postings_for(n, v).to_vec(),
            _ => Vec::new(),
        }
    }

    /// Approximate heap bytes held by the registry.
    pub fn heap_bytes(&self) -> usize {
        let postings_vecs: usize = self
            .postings
            .values()
            .map(|p| match p {
                Postings::One(_) => 0,
                Postings::Many(v) => v.capacity() * 4,
            })
            .sum();
        let values: usize = self
            .values_by_name
            .values()
            .map(|v| v.capacity() * 4 + 32)
            .sum();
        self.symbols.heap_bytes()
            + self.pairs.capacity() * 4
            + self.starts.capacity() * 4
            + self.by_labels.capacity() * 5
            + self.postings.capacity() * (8 + 32 + 1)
            + postings_vecs
            + values
    }
}

/// Union of sorted id lists.
pub fn union_sorted(lists: &[&[SeriesId]]) -> Vec<SeriesId> {
    match lists.len() {
        0 => Vec::new(),
        1 => lists[0].to_vec(),
        _ => {
            let total: usize = lists.iter().map(|l| l.len()).sum();
            let mut v = Vec::with_capacity(total);
            for l in lists {
                v.extend_from_slice(l);
            }
            v.sort_unstable();
            v.dedup();
            v
        }
    }
}

/// Intersection of two sorted id lists (galloping on the shorter one).
pub fn intersect_sorted(a: &[SeriesId], b: &[SeriesId]) -> Vec<SeriesId> {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::with_capacity(small.len());
    let mut rest = large;
    for &x in small {
        match rest.binary_search(&x) {
            Ok(i) => {
                out.push(x);
                rest = &rest[i + 1..];
            }
            Err(i) => rest = &rest[i..],
        }
        if rest.is_empty() {
            break;
        }
    }
    out
}

/// `a` without the ids in `b` (both sorted).
pub fn subtract_sorted(a: &[SeriesId], b: &[SeriesId]) -> Vec<SeriesId> {
    if b.is_empty() {
        return a.to_vec();
    }
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j < b.len() && b[j] == x {
            continue;
        }
        out.push(x);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    fn reg() -> Registry {
        let mut r = Registry::new();
        for (i, (job, inst)) in [("a", "1"), ("a", "2"), ("b", "1"), ("b", "3")]
            .iter()
            .enumerate()
        {
            let id = r
                .insert(&ls(&[("__name__", "up"), ("job", job), ("instance", inst)]))
                .unwrap();
            assert_eq!(id as usize, i);
        }
        r.insert(&ls(&[("__name__", "other")])).unwrap();
        r
    }

    #[test]
    fn lookup_and_labels_round_trip() {
        let r = reg();
        let l = ls(&[("__name__", "up"), ("job", "b"), ("instance", "1")]);
        assert_eq!(r.lookup(&l), Some(2));
        assert_eq!(r.labels(2), l);
        assert_eq!(r.lookup(&ls(&[("__name__", "up")])), None);
        assert_eq!(r.label_value(2, "job"), "b");
        assert_eq!(r.label_value(4, "job"), "");
    }

    #[test]
    fn matcher_semantics() {
        let r = reg();
        let m = |op, n: &str, v: &str| Matcher::new(op, n, v).unwrap();
        assert_eq!(r.select(&[m(MatchOp::Equal, "job", "a")]), vec![0, 1]);
        assert_eq!(
            r.select(&[
                m(MatchOp::Equal, "job", "a"),
                m(MatchOp::NotEqual, "instance", "1")
            ]),
            vec![1]
        );
        assert_eq!(
            r.select(&[m(MatchOp::Regex, "instance", "1|3")]),
            vec![0, 2, 3]
        );
        assert_eq!(
            r.select(&[m(MatchOp::Regex, "instance", "[23]")]),
            vec![1, 3]
        );
        // `!=` alone keeps series without the label.
        assert_eq!(r.select(&[m(MatchOp::NotEqual, "job", "a")]), vec![2, 3, 4]);
        // `=""` selects series lacking the label.
        assert_eq!(r.select(&[m(MatchOp::Equal, "job", "")]), vec![4]);
        assert_eq!(r.select(&[m(MatchOp::NotRegex, "job", "a|b")]), vec![4]);
        assert_eq!(
            r.select(&[m(MatchOp::Regex, "job", ".*")]),
            vec![0, 1, 2, 3, 4]
        );
        assert!(r.select(&[m(MatchOp::Equal, "job", "zzz")]).is_empty());
        assert!(r.select(&[]).is_empty());
    }

    #[test]
    fn many_series_grow_tables() {
        let mut r = Registry::new();
        for i in 0..20_000 {
            r.insert(&ls(&[("__name__", "m"), ("idx", &i.to_string())]))
                .unwrap();
        }
        for i in (0..20_000).step_by(997) {
            let l = ls(&[("__name__", "m"), ("idx", &i.to_string())]);
            assert_eq!(r.lookup(&l), Some(i));
        }
        assert_eq!(r.select(&[Matcher::equal("idx", "123")]), vec![123]);
    }

    #[test]
    fn rebuild_drops_series_and_their_memory() {
        let mut r = Registry::new();
        for i in 0..10_000 {
            r.insert(&ls(&[
                ("__name__", "m"),
                ("pod", &format!("pod-{i:08}")),
                ("job", "j"),
            ]))
            .unwrap();
        }
        let full = r.heap_bytes();
        let kept = r.rebuild(|id| id % 10 == 0).unwrap();
        assert_eq!(kept.len(), 10_000);
        assert_eq!(kept.live_len(), 1000);
        assert!(
            kept.heap_bytes() * 4 < full,
            "{} vs {full}",
            kept.heap_bytes()
        );
        assert!(kept.is_live(20) && !kept.is_live(21));
        assert_eq!(kept.labels(20), r.labels(20));
        assert_eq!(kept.lookup(&r.labels(21)), None);
        assert_eq!(kept.lookup(&r.labels(30)), Some(30));
        assert!(kept
            .select(&[Matcher::equal("pod", "pod-00000021")])
            .is_empty());
        assert_eq!(kept.select(&[Matcher::equal("job", "j")]).len(), 1000);
        let not = Matcher::new(MatchOp::NotEqual, "job", "x").unwrap();
        assert_eq!(kept.select(&[not]).len(), 1000);
        // A dropped label set registers again under a new id.
        let mut kept = kept;
        assert_eq!(kept.insert(&r.labels(21)).unwrap(), 10_000);
        assert_eq!(kept.lookup(&r.labels(21)), Some(10_000));
    }
}
