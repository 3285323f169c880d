//! On-disk state in Alertmanager's format: a file of protobuf messages, each
//! prefixed by its uvarint length (`nflog`, `silences` in the storage
//! directory). Using the same bytes lets lookout take over an Alertmanager
//! data volume. Snapshots are written to a temporary file, fsynced and
//! renamed over the old one, so a crash leaves either the old or the new
//! snapshot, never a torn one.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use prost::Message;

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, Message)]
pub struct Timestamp {
    /// Seconds since the epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// From a chrono time.
    pub fn from_time(t: &DateTime<Utc>) -> Self {
        Timestamp {
            seconds: t.timestamp(),
            nanos: t.timestamp_subsec_nanos() as i32,
        }
    }

    /// To a chrono time (clamped to the representable range).
    pub fn to_time(&self) -> DateTime<Utc> {
        Utc.timestamp_opt(self.seconds, self.nanos.max(0) as u32)
            .single()
            .unwrap_or_else(crate::alert::zero_time)
    }
}

/// Converts an optional protobuf timestamp; absent is Go's zero time.
pub fn ts(t: &Option<Timestamp>) -> DateTime<Utc> {
    t.as_ref()
        .map(Timestamp::to_time)
        .unwrap_or_else(crate::alert::zero_time)
}

/// nflogpb.Receiver.
#[derive(Clone, PartialEq, Eq, Hash, Message)]
pub struct PbReceiver {
    /// Receiver name.
    #[prost(string, tag = "1")]
    pub group_name: String,
    /// Integration name, e.g. `webhook`.
    #[prost(string, tag = "2")]
    pub integration: String,
    /// Index among that receiver's integrations of the same kind.
    #[prost(uint32, tag = "3")]
    pub idx: u32,
}

/// nflogpb.Entry.
#[derive(Clone, PartialEq, Message)]
pub struct PbEntry {
    /// Group key bytes.
    #[prost(bytes = "vec", tag = "1")]
    pub group_key: Vec<u8>,
    /// Receiver.
    #[prost(message, optional, tag = "2")]
    pub receiver: Option<PbReceiver>,
    /// Legacy group hash.
    #[prost(bytes = "vec", tag = "3")]
    pub group_hash: Vec<u8>,
    /// Legacy resolved flag.
    #[prost(bool, tag = "4")]
    pub resolved: bool,
    /// When the notification was sent.
    #[prost(message, optional, tag = "5")]
    pub timestamp: Option<Timestamp>,
    /// Hashes of firing alerts.
    #[prost(uint64, repeated, tag = "6")]
    pub firing_alerts: Vec<u64>,
    /// Hashes of resolved alerts.
    #[prost(uint64, repeated, tag = "7")]
    pub resolved_alerts: Vec<u64>,
}

/// nflogpb.MeshEntry.
#[derive(Clone, PartialEq, Message)]
pub struct PbMeshEntry {
    /// The entry.
    #[prost(message, optional, tag = "1")]
    pub entry: Option<PbEntry>,
    /// When it may be dropped.
    #[prost(message, optional, tag = "2")]
    pub expires_at: Option<Timestamp>,
}

/// silencepb.Matcher.
#[derive(Clone, PartialEq, Message)]
pub struct PbMatcher {
    /// 0 EQUAL, 1 REGEXP, 2 NOT_EQUAL, 3 NOT_REGEXP.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// Label name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Value or regex.
    #[prost(string, tag = "3")]
    pub pattern: String,
}

/// silencepb.Comment (legacy).
#[derive(Clone, PartialEq, Message)]
pub struct PbComment {
    /// Author.
    #[prost(string, tag = "1")]
    pub author: String,
    /// Text.
    #[prost(string, tag = "2")]
    pub comment: String,
    /// Time.
    #[prost(message, optional, tag = "3")]
    pub timestamp: Option<Timestamp>,
}

/// silencepb.Silence.
#[derive(Clone, PartialEq, Message)]
pub struct PbSilence {
    /// UUID.
    #[prost(string, tag = "1")]
    pub id: String,
    /// Matchers.
    #[prost(message, repeated, tag = "2")]
    pub matchers: Vec<PbMatcher>,
    /// Start.
    #[prost(message, optional, tag = "3")]
    pub starts_at: Option<Timestamp>,
    /// End.
    #[prost(message, optional, tag = "4")]
    pub ends_at: Option<Timestamp>,
    /// Last update.
    #[prost(message, optional, tag = "5")]
    pub updated_at: Option<Timestamp>,
    /// Legacy comments.
    #[prost(message, repeated, tag = "7")]
    pub comments: Vec<PbComment>,
    /// Author.
    #[prost(string, tag = "8")]
    pub created_by: String,
    /// Comment.
    #[prost(string, tag = "9")]
    pub comment: String,
}

/// silencepb.MeshSilence.
#[derive(Clone, PartialEq, Message)]
pub struct PbMeshSilence {
    /// The silence.
    #[prost(message, optional, tag = "1")]
    pub silence: Option<PbSilence>,
    /// When it may be dropped.
    #[prost(message, optional, tag = "2")]
    pub expires_at: Option<Timestamp>,
}

/// A snapshot that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Corrupt content.
    #[error("{path}: undecodable snapshot: {message}")]
    Decode {
        /// File.
        path: String,
        /// Cause.
        message: String,
    },
}

/// Reads every length-delimited message of a snapshot; a missing file is an
/// empty snapshot.
pub fn read_snapshot<M: Message + Default>(path: &Path) -> Result<Vec<M>, PersistError> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(PersistError::Io {
                path: path.display().to_string(),
                source: e,
            })
        }
    };
    let mut buf = &data[..];
    let mut out = Vec::new();
    while !buf.is_empty() {
        let m = M::decode_length_delimited(&mut buf).map_err(|e| PersistError::Decode {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        out.push(m);
    }
    Ok(out)
}

/// Writes a snapshot atomically (temp file, fsync, rename, fsync dir).
pub fn write_snapshot<M: Message>(path: &Path, msgs: &[M]) -> Result<(), PersistError> {
    let io = |e: std::io::Error| PersistError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let mut buf = Vec::new();
    for m in msgs {
        m.encode_length_delimited(&mut buf)
            .map_err(|e| io(std::io::Error::other(e.to_string())))?;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        "{}.{:016x}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("snapshot"),
        rand::random::<u64>()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&buf)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}
