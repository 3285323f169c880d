//! Data directory layout, the flush checkpoint, and part discovery.
//!
//! ```text
//! <dir>/LOCK                     flock'ed while open
//! <dir>/series.log               series id → labels, CRC-framed, append-only
//! <dir>/wal/0000000007           WAL segments (only data not yet in parts)
//! <dir>/checkpoint               last durable flush: seq + first WAL segment to replay
//! <dir>/parts/<day>/<lo>-<hi>.part   parts of UTC day <day> (days since epoch),
//!                                covering flush sequence numbers lo..=hi
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::codec::bytes::{put_uvarint, Reader};
use crate::wal::{put_frame, read_frames};

/// Milliseconds per day.
pub const DAY_MS: i64 = 86_400_000;

/// UTC day number of a timestamp.
#[inline]
pub fn day_of(t: i64) -> i64 {
    t.div_euclid(DAY_MS)
}

/// `<dir>/parts`.
pub fn parts_dir(dir: &Path) -> PathBuf {
    dir.join("parts")
}

/// Directory of day `day`.
pub fn day_dir(dir: &Path, day: i64) -> PathBuf {
    parts_dir(dir).join(day.to_string())
}

/// File name of a part covering flush sequence numbers `lo..=hi`.
pub fn part_file(dir: &Path, day: i64, lo: u64, hi: u64) -> PathBuf {
    day_dir(dir, day).join(format!("{lo:012}-{hi:012}.part"))
}

fn parse_part_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".part")?;
    let (lo, hi) = stem.split_once('-')?;
    Some((lo.parse().ok()?, hi.parse().ok()?))
}

/// The durable flush point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Highest flush sequence number whose parts are all durable.
    pub flush_seq: u64,
    /// First WAL segment holding data not in parts.
    pub wal_start: u64,
}

/// Reads `<dir>/checkpoint` (default when absent or unreadable).
pub fn read_checkpoint(dir: &Path) -> io::Result<Checkpoint> {
    let buf = match fs::read(dir.join("checkpoint")) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Checkpoint::default()),
        Err(e) => return Err(e),
    };
    let (frames, _) = read_frames(&buf);
    let Some(p) = frames.first() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "checkpoint file is corrupt",
        ));
    };
    let mut r = Reader::new(p);
    let bad = |_| io::Error::new(io::ErrorKind::InvalidData, "checkpoint file is corrupt");
    Ok(Checkpoint {
        flush_seq: r.uvarint().map_err(bad)?,
        wal_start: r.uvarint().map_err(bad)?,
    })
}

/// Writes the checkpoint atomically (tmp, fsync, rename, fsync dir).
pub fn write_checkpoint(dir: &Path, c: Checkpoint, sync: bool) -> io::Result<()> {
    let mut p = Vec::new();
    put_uvarint(&mut p, c.flush_seq);
    put_uvarint(&mut p, c.wal_start);
    let mut buf = Vec::new();
    put_frame(&mut buf, &p);
    let tmp = dir.join("checkpoint.tmp");
    let mut f = fs::File::create(&tmp)?;
    f.write_all(&buf)?;
    if sync {
        f.sync_all()?;
    }
    drop(f);
    fs::rename(&tmp, dir.join("checkpoint"))?;
    if sync {
        sync_dir(dir)?;
    }
    Ok(())
}

/// fsyncs a directory so renames and creations in it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// A part file found on disk.
#[derive(Clone, Debug)]
pub struct FoundPart {
    /// Day.
    pub day: i64,
    /// Flush sequence range.
    pub lo: u64,
    /// Flush sequence range.
    pub hi: u64,
    /// File.
    pub path: PathBuf,
}

/// Lists the live parts per day. Removes leftovers of interrupted work:
/// temporary files, parts of flushes newer than the checkpoint, and parts
/// whose sequence range is covered by a merged part.
pub fn discover_parts(dir: &Path, ckpt: Checkpoint) -> io::Result<BTreeMap<i64, Vec<FoundPart>>> {
    let mut out: BTreeMap<i64, Vec<FoundPart>> = BTreeMap::new();
    let pdir = parts_dir(dir);
    let entries = match fs::read_dir(&pdir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for e in entries {
        let e = e?;
        let Some(day) = e.file_name().to_str().and_then(|s| s.parse::<i64>().ok()) else {
            if e.file_name().to_string_lossy().ends_with(".deleting") {
                let _ = fs::remove_dir_all(e.path());
            }
            continue;
        };
        let mut parts = Vec::new();
        for f in fs::read_dir(e.path())? {
            let f = f?;
            let name = f.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".tmp") {
                let _ = fs::remove_file(f.path());
                continue;
            }
            let Some((lo, hi)) = parse_part_name(&name) else {
                continue;
            };
            if hi > ckpt.flush_seq {
                tracing::warn!(part = %f.path().display(), "removing part of an unfinished flush");
                let _ = fs::remove_file(f.path());
                continue;
            }
            parts.push(FoundPart {
                day,
                lo,
                hi,
                path: f.path(),
            });
        }
        // Widest ranges first; a part inside an earlier one is a merge source
        // whose deletion was interrupted.
        parts.sort_by(|a, b| a.lo.cmp(&b.lo).then(b.hi.cmp(&a.hi)));
        let mut kept: Vec<FoundPart> = Vec::new();
        for p in parts {
            if let Some(k) = kept.last() {
                if p.lo >= k.lo && p.hi <= k.hi {
                    let _ = fs::remove_file(&p.path);
                    continue;
                }
            }
            kept.push(p);
        }
        // Label indexes of parts that are gone (a merge's sources).
        for f in fs::read_dir(e.path())? {
            let path = f?.path();
            if path.extension().is_some_and(|x| x == "lki")
                && !kept.iter().any(|k| k.path == path.with_extension("part"))
            {
                let _ = fs::remove_file(&path);
            }
        }
        if kept.is_empty() {
            let _ = fs::remove_dir(e.path());
        } else {
            out.insert(day, kept);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trip() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read_checkpoint(d.path()).unwrap(), Checkpoint::default());
        let c = Checkpoint {
            flush_seq: 7,
            wal_start: 9,
        };
        write_checkpoint(d.path(), c, true).unwrap();
        assert_eq!(read_checkpoint(d.path()).unwrap(), c);
    }

    #[test]
    fn discovery_drops_leftovers() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(day_dir(d.path(), 3)).unwrap();
        for (lo, hi) in [(1, 4), (2, 2), (5, 5), (6, 6), (9, 9)] {
            fs::write(part_file(d.path(), 3, lo, hi), b"x").unwrap();
        }
        fs::write(day_dir(d.path(), 3).join("x.tmp"), b"x").unwrap();
        fs::write(part_file(d.path(), 3, 2, 2).with_extension("lki"), b"x").unwrap();
        fs::write(part_file(d.path(), 3, 1, 4).with_extension("lki"), b"x").unwrap();
        let found = discover_parts(
            d.path(),
            Checkpoint {
                flush_seq: 6,
                wal_start: 1,
            },
        )
        .unwrap();
        let ranges: Vec<(u64, u64)> = found[&3].iter().map(|p| (p.lo, p.hi)).collect();
        assert_eq!(ranges, vec![(1, 4), (5, 5), (6, 6)]);
        assert!(!part_file(d.path(), 3, 2, 2).exists());
        assert!(!part_file(d.path(), 3, 9, 9).exists());
        assert!(!day_dir(d.path(), 3).join("x.tmp").exists());
        assert!(!part_file(d.path(), 3, 2, 2).with_extension("lki").exists());
        assert!(part_file(d.path(), 3, 1, 4).with_extension("lki").exists());
    }

    #[test]
    fn days() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(-1), -1);
        assert_eq!(day_of(DAY_MS), 1);
    }
}
