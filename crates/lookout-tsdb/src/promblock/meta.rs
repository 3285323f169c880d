//! `meta.json` (tsdb-format.md §2).

use super::BlockError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Block statistics; zero counts are omitted like Prometheus does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    /// Samples in the block.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_samples: u64,
    /// Series in the block.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_series: u64,
    /// Chunks in the block.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_chunks: u64,
    /// Tombstone entries.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_tombstones: u64,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

/// A compaction parent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockDesc {
    /// Parent block ULID.
    pub ulid: String,
    /// Parent min time.
    pub min_time: i64,
    /// Parent max time.
    pub max_time: i64,
}

/// Compaction history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compaction {
    /// 1 for blocks cut from a head or backfilled.
    pub level: u32,
    /// Level-1 blocks that ended up in this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Direct compaction inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<BlockDesc>,
    /// Empty result of a compaction, to be deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deletable: bool,
    /// Compaction failed on this block.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    /// Hints such as `from-out-of-order`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

/// The contents of `meta.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// Block ID, equal to the directory name.
    pub ulid: String,
    /// Inclusive lower time bound (ms).
    pub min_time: i64,
    /// Exclusive upper time bound (ms).
    pub max_time: i64,
    /// Counts.
    #[serde(default)]
    pub stats: BlockStats,
    /// Compaction history.
    #[serde(default)]
    pub compaction: Compaction,
    /// Meta format version; must be 1.
    pub version: u32,
}

impl BlockMeta {
    /// Reads and validates `<dir>/meta.json`.
    pub fn read(dir: &Path) -> Result<Self, BlockError> {
        let data = std::fs::read(dir.join("meta.json"))?;
        let m: BlockMeta = serde_json::from_slice(&data)
            .map_err(|e| BlockError::Corrupt(format!("{}/meta.json: {e}", dir.display())))?;
        if m.version != 1 {
            return Err(BlockError::Corrupt(format!(
                "{}/meta.json: unexpected meta file version {}",
                dir.display(),
                m.version
            )));
        }
        Ok(m)
    }

    /// Writes `<dir>/meta.json` via a temp file, renamed into place and fsynced.
    pub fn write(&self, dir: &Path) -> Result<(), BlockError> {
        let tmp = dir.join("meta.json.tmp");
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| BlockError::InvalidInput(format!("encoding meta.json: {e}")))?;
        std::fs::write(&tmp, json)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dir.join("meta.json"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_promtool_meta_and_omits_zeros() {
        let src = r#"{ "ulid": "01M8ESSD8FTBD21JT6YNXFGP0Y", "minTime": 1795773600000, "maxTime": 1795780785001,
  "stats": { "numSamples": 1440, "numSeries": 3, "numChunks": 12 },
  "compaction": { "level": 1, "sources": [ "01M8ESSD8FTBD21JT6YNXFGP0Y" ] },
  "version": 1 }"#;
        let m: BlockMeta = serde_json::from_str(src).unwrap();
        assert_eq!(m.stats.num_chunks, 12);
        assert_eq!(m.compaction.sources.len(), 1);
        let out = serde_json::to_string(&m).unwrap();
        assert!(!out.contains("numTombstones"));
        assert!(!out.contains("parents"));
        assert!(out.contains("\"minTime\":1795773600000"));
        let dir = tempfile::tempdir().unwrap();
        m.write(dir.path()).unwrap();
        assert_eq!(BlockMeta::read(dir.path()).unwrap(), m);
        std::fs::write(
            dir.path().join("meta.json"),
            src.replace("\"version\": 1", "\"version\": 2"),
        )
        .unwrap();
        assert!(BlockMeta::read(dir.path()).is_err());
    }
}
