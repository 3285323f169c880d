//! Remote write into the native store through its batch API.
//!
//! Looking a series up by its label set costs a sort and string
//! allocations; remote-write senders repeat the same series in every
//! request. So the sink keeps a cache from a 128-bit hash of the labels *as
//! sent* (names and values in wire order) to the store's series handle, and
//! only builds a `Labels` for series it has not seen. A 128-bit xxh3 makes a
//! collision between two distinct label sets practically impossible (about
//! 1e-26 at a million series); senders that reorder labels only cost an
//! extra cache entry pointing at the same series.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use lookout_api::remote_write::{
    to_labels, validate_labels, SampleSink, WriteOutcome, WriteRequest,
};
use lookout_model::storage::{AppendError, StorageError};
use lookout_model::FloatHistogram;
use lookout_tsdb::{Db, SeriesRef};
use parking_lot::RwLock;

const SHARDS: usize = 32;
/// Entries per shard before the shard is cleared (bounds memory under
/// churn; a cleared entry only costs one slow lookup).
const SHARD_CAP: usize = 1 << 17;

/// The cache key is already a hash; no need to hash it again.
#[derive(Default)]
struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

type Shard = RwLock<HashMap<u128, SeriesRef, BuildHasherDefault<IdentityHasher>>>;

/// A [`SampleSink`] over [`Db`]'s batch API.
pub struct TsdbSink {
    db: Arc<Db>,
    cache: Vec<Shard>,
}

impl TsdbSink {
    /// A sink writing into `db`.
    pub fn new(db: Arc<Db>) -> Self {
        TsdbSink {
            db,
            cache: (0..SHARDS)
                .map(|_| RwLock::new(HashMap::default()))
                .collect(),
        }
    }

    fn shard(&self, key: u128) -> &Shard {
        // High bits pick the shard; the map uses the low bits.
        &self.cache[((key >> 64) as usize) % SHARDS]
    }

    fn remember(&self, key: u128, r: SeriesRef) {
        let mut m = self.shard(key).write();
        if m.len() >= SHARD_CAP {
            m.clear();
        }
        m.insert(key, r);
    }
}

fn key_of(labels: &[lookout_api::remote_write::LabelRef<'_>]) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for l in labels {
        h.update(l.name.as_bytes());
        h.update(&[0xff]);
        h.update(l.value.as_bytes());
        h.update(&[0xfe]);
    }
    h.digest128()
}

/// Refusals answered with 400 (senders drop, not retry).
fn is_client_refusal(e: &AppendError) -> bool {
    !matches!(e, AppendError::Storage(_))
}

impl SampleSink for TsdbSink {
    fn write(&self, req: &WriteRequest<'_>) -> Result<WriteOutcome, StorageError> {
        let mut out = WriteOutcome::default();
        let mut floats: Vec<(SeriesRef, i64, f64)> = Vec::with_capacity(req.samples.len());
        let mut hists: Vec<(SeriesRef, i64, FloatHistogram)> = Vec::new();
        for s in req.iter() {
            if s.samples.is_empty() && s.histograms.is_empty() {
                continue;
            }
            let key = key_of(s.labels);
            let cached = self.shard(key).read().get(&key).copied();
            let r = match cached {
                Some(r) => r,
                None => {
                    if let Err(e) = validate_labels(s.labels) {
                        out.series_invalid += 1;
                        out.first_error.get_or_insert(e);
                        continue;
                    }
                    match self.db.series_ref(&to_labels(s.labels)) {
                        Ok(r) => {
                            self.remember(key, r);
                            r
                        }
                        Err(e) => {
                            out.series_invalid += 1;
                            out.first_error.get_or_insert(e.to_string());
                            continue;
                        }
                    }
                }
            };
            floats.extend(s.samples.iter().map(|p| (r, p.t, p.v)));
            hists.extend(s.histograms.iter().map(|h| (r, h.t, h.h.clone())));
        }
        if floats.is_empty() && hists.is_empty() {
            return Ok(out);
        }
        let report = self.db.append_batch(&floats, &hists)?;
        let mut rejected_floats = 0u64;
        let mut rejected_hists = 0u64;
        for (idx, e) in &report.rejected {
            if *idx < floats.len() {
                rejected_floats += 1;
            } else {
                rejected_hists += 1;
            }
            if !is_client_refusal(e) {
                return Err(StorageError::Io(std::io::Error::other(e.to_string())));
            }
            out.first_error.get_or_insert_with(|| e.to_string());
        }
        out.samples_written = floats.len() as u64 - rejected_floats;
        out.histograms_written = hists.len() as u64 - rejected_hists;
        out.samples_rejected = rejected_floats + rejected_hists;
        Ok(out)
    }
}
